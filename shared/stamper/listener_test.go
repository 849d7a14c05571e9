package stamper_test

import (
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/stampkit/stampkit/shared/event"
	"github.com/stampkit/stampkit/shared/launchtemplate"
	"github.com/stampkit/stampkit/shared/logging"
	"github.com/stampkit/stampkit/shared/memstore"
	"github.com/stampkit/stampkit/shared/rollout"
)

// stackEvent is AWS's Resource Status Change sample, edited into a change
// of the resource id of the given type to status.
func stackEvent(t *testing.T, id, resourceType, physicalID, status string) []byte {
	t.Helper()
	samples, err := event.Samples()
	if err != nil {
		t.Fatalf("Samples: %v", err)
	}
	var m map[string]any
	if err := json.Unmarshal(samples["cloudformation-resource-status-change"], &m); err != nil {
		t.Fatalf("decoding the sample: %v", err)
	}
	m["id"] = id
	d := m["detail"].(map[string]any)
	d["logical-resource-id"] = "WebFleetAlbHttps"
	d["resource-type"], d["physical-resource-id"] = resourceType, physicalID
	d["status-details"] = map[string]any{"status": status, "status-reason": ""}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// listenerUpdated is the event of a stack update completing on the fleet's
// listener.
func listenerUpdated(t *testing.T, id string) []byte {
	return stackEvent(t, id, event.ResourceTypeListener, listener, event.ResourceUpdateComplete)
}

// tickUntil delivers wake-ups until the rollout record satisfies done.
func tickUntil(t *testing.T, hs *harness, what string, done func(rollout.State) bool) {
	t.Helper()
	for range 90 { // retention looks every minute for an hour
		if s, _ := hs.state(t); done(s) {
			return
		}
		hs.tick(t)
	}
	s, _ := hs.state(t)
	t.Fatalf("rollout never reached %s: phase %q shifted %d outcome %q", what, s.Phase, s.Shifted, s.Outcome)
}

func shiftedTo(pct int) func(rollout.State) bool {
	return func(s rollout.State) bool { return s.Phase == rollout.PhaseShift && s.Shifted == pct }
}

func inPhase(p rollout.Phase) func(rollout.State) bool {
	return func(s rollout.State) bool { return s.Phase == p }
}

// promoted runs the new image's blue/green rollout to its end: green serves.
func promoted(t *testing.T, hs *harness) {
	t.Helper()
	tickUntil(t, hs, "retention", inPhase(rollout.PhaseRetain))
	tickUntil(t, hs, "the end", inPhase(rollout.PhaseDone))
	if s, _ := hs.state(t); s.Outcome != rollout.Succeeded || s.Live != greenASG {
		t.Fatalf("after promotion: outcome %q live %q, want succeeded on %s", s.Outcome, s.Live, greenASG)
	}
}

func TestListenerUpdateRestoresWeights(t *testing.T) {
	const otherListener = "arn:aws:elasticloadbalancing:us-west-2:111122223333:listener/app/other/50dc6c495c0c9188/f2f7dc8efc522ab2"
	tests := []struct {
		name   string
		policy rollout.Policy
		dryRun bool
		// setup brings the fleet to the case's situation (nil: nothing
		// ever rolled out).
		setup   func(t *testing.T, hs *harness)
		payload func(t *testing.T) []byte
		// want is the listener write; empty when the event is ignored.
		want string
	}{
		{
			name: "never rolled out: blue takes all", policy: blueGreenPolicy(),
			payload: func(t *testing.T) []byte { return listenerUpdated(t, "cfn-1") },
			want:    "SetForwardWeights listener-1 tg-blue=100 tg-green=0",
		},
		{
			name: "mid-shift: the current step", policy: blueGreenPolicy(),
			setup: func(t *testing.T, hs *harness) {
				hs.handle(t, amiEvent(t, "ev-1", newAMI, "available"))
				tickUntil(t, hs, "the 50% step", shiftedTo(50))
			},
			payload: func(t *testing.T) []byte { return listenerUpdated(t, "cfn-1") },
			want:    "SetForwardWeights listener-1 tg-blue=50 tg-green=50",
		},
		{
			name: "warming: nothing shifted yet", policy: blueGreenPolicy(),
			setup: func(t *testing.T, hs *harness) {
				hs.handle(t, amiEvent(t, "ev-1", newAMI, "available"))
				tickUntil(t, hs, "warm", inPhase(rollout.PhaseWarm))
			},
			payload: func(t *testing.T) []byte { return listenerUpdated(t, "cfn-1") },
			want:    "SetForwardWeights listener-1 tg-blue=100 tg-green=0",
		},
		{
			name: "promoted, blue retained at zero: green takes all", policy: blueGreenPolicy(),
			setup: func(t *testing.T, hs *harness) {
				hs.handle(t, amiEvent(t, "ev-1", newAMI, "available"))
				tickUntil(t, hs, "retention", inPhase(rollout.PhaseRetain))
			},
			payload: func(t *testing.T) []byte { return listenerUpdated(t, "cfn-1") },
			want:    "SetForwardWeights listener-1 tg-blue=0 tg-green=100",
		},
		{
			name: "after promotion: green serves", policy: blueGreenPolicy(),
			setup: func(t *testing.T, hs *harness) {
				hs.handle(t, amiEvent(t, "ev-1", newAMI, "available"))
				promoted(t, hs)
			},
			payload: func(t *testing.T) []byte { return listenerUpdated(t, "cfn-1") },
			want:    "SetForwardWeights listener-1 tg-green=100 tg-blue=0",
		},
		{
			name: "next rollout mid-shift, from green back to blue", policy: blueGreenPolicy(),
			setup: func(t *testing.T, hs *harness) {
				hs.handle(t, amiEvent(t, "ev-1", newAMI, "available"))
				promoted(t, hs)
				hs.aws.images["ami-newer"] = launchtemplate.Image{ID: "ami-newer", Name: "web-3", State: "available", Architecture: "arm64",
					CreationDate: hs.clock.Now(), RootEncrypted: true, Tags: map[string]string{rollout.FleetTag: fleetName}}
				hs.handle(t, amiEvent(t, "ev-2", "ami-newer", "available"))
				tickUntil(t, hs, "the 10% step", shiftedTo(10))
			},
			payload: func(t *testing.T) []byte { return listenerUpdated(t, "cfn-1") },
			want:    "SetForwardWeights listener-1 tg-green=90 tg-blue=10",
		},
		{
			name: "rolled back: blue serves", policy: blueGreenPolicy(),
			setup: func(t *testing.T, hs *harness) {
				hs.handle(t, amiEvent(t, "ev-1", newAMI, "available"))
				tickUntil(t, hs, "the 10% step", shiftedTo(10))
				hs.handle(t, command(t, event.CommandAbort, "bad canary", hs.clock.Now()))
				tickUntil(t, hs, "the end", inPhase(rollout.PhaseDone))
			},
			payload: func(t *testing.T) []byte { return listenerUpdated(t, "cfn-1") },
			want:    "SetForwardWeights listener-1 tg-blue=100 tg-green=0",
		},
		{
			name: "rolling fleet: no weights to keep", policy: rollingPolicy(),
			payload: func(t *testing.T) []byte { return listenerUpdated(t, "cfn-1") },
		},
		{
			name: "dry-run fleet: logged, not written", policy: blueGreenPolicy(), dryRun: true,
			payload: func(t *testing.T) []byte { return listenerUpdated(t, "cfn-1") },
		},
		{
			name: "another stack's listener", policy: blueGreenPolicy(),
			payload: func(t *testing.T) []byte {
				return stackEvent(t, "cfn-1", event.ResourceTypeListener, otherListener, event.ResourceUpdateComplete)
			},
		},
		{
			name: "listener update still in progress", policy: blueGreenPolicy(),
			payload: func(t *testing.T) []byte {
				return stackEvent(t, "cfn-1", event.ResourceTypeListener, listener, "UPDATE_IN_PROGRESS")
			},
		},
		{
			name: "listener update failed", policy: blueGreenPolicy(),
			payload: func(t *testing.T) []byte {
				return stackEvent(t, "cfn-1", event.ResourceTypeListener, listener, "UPDATE_FAILED")
			},
		},
		{
			name: "another resource type with the listener's id", policy: blueGreenPolicy(),
			payload: func(t *testing.T) []byte {
				return stackEvent(t, "cfn-1", "AWS::ElasticLoadBalancingV2::ListenerRule", listener, event.ResourceUpdateComplete)
			},
		},
		{
			name: "AWS's sample: a bucket created", policy: blueGreenPolicy(),
			payload: func(t *testing.T) []byte {
				samples, err := event.Samples()
				if err != nil {
					t.Fatal(err)
				}
				return samples["cloudformation-resource-status-change"]
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			hs := newHarness(t, tc.policy, tc.dryRun)
			// As in the function: records carry the context's attributes.
			hs.h.Log = logging.New(hs.logs, slog.LevelDebug)
			if tc.setup != nil {
				tc.setup(t, hs)
			}
			hs.aws.Effects()
			// What CloudFormation writes back: the template's weights.
			hs.aws.weights[tgBlue], hs.aws.weights[tgGreen] = 100, 0
			before, _ := hs.state(t)
			restored := hs.metric(t, "WeightsRestored")

			hs.handle(t, tc.payload(t))

			var want []string
			if tc.want != "" {
				want = []string{tc.want}
			}
			if diff := cmp.Diff(want, hs.aws.Effects()); diff != "" {
				t.Errorf("effects (-want +got):\n%s", diff)
			}
			wantRestored := 0.0
			if tc.want != "" {
				wantRestored = 1
			}
			if got := hs.metric(t, "WeightsRestored") - restored; got != wantRestored {
				t.Errorf("WeightsRestored: got %v, want %v", got, wantRestored)
			}
			// The restore changes the listener, never the rollout. (A fleet
			// with no record gets one, with only its name, from the save
			// that takes the rollout lock.)
			if before.Fleet == "" && tc.want != "" {
				before.Fleet = fleetName
			}
			after, _ := hs.state(t)
			if diff := cmp.Diff(before, after); diff != "" {
				t.Errorf("rollout record changed (-before +after):\n%s", diff)
			}
			if tc.want != "" && !loggedRestore(t, hs) {
				t.Errorf("no \"listener weights restored\" log with the fleet and listener:\n%s", hs.logs.String())
			}
		})
	}
}

// loggedRestore reports whether the handler logged a restore naming the
// fleet and the listener.
func loggedRestore(t *testing.T, hs *harness) bool {
	t.Helper()
	for line := range strings.Lines(hs.logs.String()) {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if rec["msg"] == "listener weights restored after a stack update" && rec["fleet"] == fleetName && rec["listener_arn"] == listener {
			return true
		}
	}
	return false
}

func TestListenerUpdateDeliveredTwice(t *testing.T) {
	hs := newHarness(t, blueGreenPolicy(), false)
	hs.handle(t, amiEvent(t, "ev-1", newAMI, "available"))
	promoted(t, hs)
	hs.aws.Effects()

	hs.aws.weights[tgBlue], hs.aws.weights[tgGreen] = 100, 0
	hs.handle(t, listenerUpdated(t, "cfn-1"))
	hs.handle(t, listenerUpdated(t, "cfn-1"))
	wantEffects(t, hs, "SetForwardWeights listener-1 tg-green=100 tg-blue=0")
	if got := hs.metric(t, "Duplicates"); got != 1 {
		t.Errorf("Duplicates: got %v, want 1", got)
	}

	// A later stack update is another event: the weights are written again.
	hs.aws.weights[tgBlue], hs.aws.weights[tgGreen] = 100, 0
	hs.handle(t, listenerUpdated(t, "cfn-2"))
	wantEffects(t, hs, "SetForwardWeights listener-1 tg-green=100 tg-blue=0")
	if got, want := hs.aws.weights, map[string]int{tgBlue: 0, tgGreen: 100}; !cmp.Equal(got, want) {
		t.Errorf("listener weights: got %v, want %v", got, want)
	}
	if got := hs.metric(t, "WeightsRestored"); got != 2 {
		t.Errorf("WeightsRestored: got %v, want 2", got)
	}
}

// TestListenerRestoreTakesTheRolloutLock: a rollout step that saved the
// record between the restore's read and its save wins; the restore fails,
// gives its claim back, and its retry writes the weights of the new record.
func TestListenerRestoreTakesTheRolloutLock(t *testing.T) {
	hs := newHarness(t, blueGreenPolicy(), false)
	hs.handle(t, amiEvent(t, "ev-1", newAMI, "available"))
	tickUntil(t, hs, "the 10% step", shiftedTo(10))
	hs.aws.Effects()
	// The racing writer leaves a record with no rollout: blue serves.
	hs.h.Store = &racingStore{Store: hs.store}

	err := hs.h.Handle(t.Context(), listenerUpdated(t, "cfn-1"))
	if !errors.Is(err, memstore.ErrVersionConflict) {
		t.Fatalf("Handle: got %v, want a version conflict", err)
	}
	wantEffects(t, hs, "SetForwardWeights listener-1 tg-blue=90 tg-green=10")

	hs.handle(t, listenerUpdated(t, "cfn-1"))
	wantEffects(t, hs, "SetForwardWeights listener-1 tg-blue=100 tg-green=0")
}

func TestListenerRestoreFailureIsRetried(t *testing.T) {
	hs := newHarness(t, blueGreenPolicy(), false)
	hs.handle(t, amiEvent(t, "ev-1", newAMI, "available"))
	promoted(t, hs)
	hs.aws.Effects()
	hs.aws.fail("SetForwardWeights", errors.New("throttled"))
	if err := hs.h.Handle(t.Context(), listenerUpdated(t, "cfn-1")); err == nil || !strings.Contains(err.Error(), "throttled") {
		t.Fatalf("Handle: got %v, want the listener's error", err)
	}
	hs.handle(t, listenerUpdated(t, "cfn-1"))
	wantEffects(t, hs, "SetForwardWeights listener-1 tg-green=100 tg-blue=0")
}

func TestListenerRecordOfOtherTargetGroupsIgnored(t *testing.T) {
	hs := newHarness(t, blueGreenPolicy(), false)
	hs.handle(t, amiEvent(t, "ev-1", newAMI, "available"))
	tickUntil(t, hs, "the 10% step", shiftedTo(10))
	hs.aws.Effects()
	// The fleet's green target group was replaced since the rollout began.
	p := blueGreenPolicy()
	p.BlueGreen.PeerTargetGroup = "tg-green-2"
	hs.h.Config.Fleets[0].Rollout = p

	hs.handle(t, listenerUpdated(t, "cfn-1"))
	wantEffects(t, hs)
	if !strings.Contains(hs.logs.String(), "names a target group the fleet no longer has") {
		t.Errorf("no warning about the stale target group:\n%s", hs.logs.String())
	}
}
