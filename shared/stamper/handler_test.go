package stamper_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"

	"github.com/stampkit/stampkit/shared/asg"
	"github.com/stampkit/stampkit/shared/cwalarm"
	"github.com/stampkit/stampkit/shared/elb"
	"github.com/stampkit/stampkit/shared/event"
	"github.com/stampkit/stampkit/shared/imagebuilder"
	"github.com/stampkit/stampkit/shared/launchtemplate"
	"github.com/stampkit/stampkit/shared/memstore"
	"github.com/stampkit/stampkit/shared/rollout"
	"github.com/stampkit/stampkit/shared/scaling"
)

func wantEffects(t *testing.T, hs *harness, want ...string) {
	t.Helper()
	if diff := cmp.Diff(want, hs.aws.Effects()); diff != "" {
		t.Fatalf("effects (-want +got):\n%s", diff)
	}
}

func wantPhase(t *testing.T, hs *harness, phase rollout.Phase, outcome rollout.Outcome) rollout.State {
	t.Helper()
	s, _ := hs.state(t)
	if s.Phase != phase || s.Outcome != outcome {
		t.Fatalf("rollout: got phase %q outcome %q (%s), want %q %q", s.Phase, s.Outcome, s.Reason, phase, outcome)
	}
	return s
}

func command(t *testing.T, action, reason string, at time.Time) []byte {
	t.Helper()
	b, err := event.CommandBody(event.Command{Fleet: fleetName, Action: action, Reason: reason}, at)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// startRolling delivers the new AMI to a rolling fleet and checks the stamp.
func startRolling(t *testing.T) *harness {
	t.Helper()
	hs := newHarness(t, rollingPolicy(), false)
	hs.handle(t, amiEvent(t, "ev-1", newAMI, "available"))
	wantEffects(t, hs,
		"CreateVersionWithImage lt-0123 3 ami-new",
		"SetDefaultVersion lt-0123 4",
		"PutImage /stampkit/web/ami ami-new",
		"StartInstanceRefresh web-blue lt-0123 4",
	)
	wantPhase(t, hs, rollout.PhaseRefresh, "")
	return hs
}

func TestAMIEventStartsRollingRollout(t *testing.T) {
	hs := startRolling(t)
	wantSpec := asg.RefreshSpec{
		Group: blueASG, LaunchTemplate: asg.LaunchTemplate{ID: lt, Version: "4"},
		MinHealthy: new(int32(90)), MaxHealthy: new(int32(120)), WarmupSeconds: 90, Checkpoints: []int32{50, 100}, CheckpointDelay: 5 * time.Minute,
		SkipMatching: true, AutoRollback: true, AlarmNames: []string{alarm5xx},
	}
	if diff := cmp.Diff([]asg.RefreshSpec{wantSpec}, hs.aws.specs); diff != "" {
		t.Errorf("refresh spec (-want +got):\n%s", diff)
	}
	s, version := hs.state(t)
	// Saved twice: on record before the first change, then after it.
	if s.RefreshID != "refresh-1" || s.Version != 4 || version != 2 {
		t.Errorf("state: refresh %q version %d saved %d times; want refresh-1, 4, twice", s.RefreshID, s.Version, version)
	}
	want := scaling.Hold{Rollout: s.ID, LiveGroup: blueASG, Until: t0.Add(time.Minute + 15*time.Minute)}
	if got := hs.hold(t); got == nil || *got != want {
		t.Errorf("hold: got %+v, want %+v", got, want)
	}
	if w := hs.aws.lastWake(t); w.Key != "rollout#web" || !w.At.Equal(t0.Add(time.Minute)) {
		t.Errorf("wake-up: got %+v, want rollout#web at %s", w, t0.Add(time.Minute))
	}
	if got := hs.metric(t, "RolloutsStarted"); got != 1 {
		t.Errorf("RolloutsStarted: got %v, want 1", got)
	}
}

func TestRollingSucceedsOnRefreshEvent(t *testing.T) {
	hs := startRolling(t)
	hs.clock.Add(20 * time.Minute)
	hs.aws.setRefresh("refresh-1", rollout.RefreshSuccessful, 2, "4")
	hs.handle(t, refreshEvent(t, "ev-2", event.DetailTypeRefreshSucceeded, "refresh-1"))
	wantEffects(t, hs, "SetLaunchTemplateVersion web-blue lt-0123 4")
	wantPhase(t, hs, rollout.PhaseDone, rollout.Succeeded)
	if h := hs.hold(t); h.Active(hs.clock.Now()) {
		t.Errorf("hold after success: got %+v, want none", h)
	}
	if got := hs.metric(t, "RolloutsSucceeded"); got != 1 {
		t.Errorf("RolloutsSucceeded: got %v, want 1", got)
	}
	// A late tick of the finished rollout changes nothing.
	hs.handle(t, tickBody(t, "rollout#web", t0.Add(time.Minute)))
	wantEffects(t, hs)
}

func TestRollingRollsBackOnTick(t *testing.T) {
	hs := startRolling(t)
	hs.aws.setRefresh("refresh-1", rollout.RefreshRollbackSuccessful, 0, "4")
	hs.tick(t)
	wantEffects(t, hs, "SetDefaultVersion lt-0123 3", "PutImage /stampkit/web/ami ami-old", "SetLaunchTemplateVersion web-blue lt-0123 3")
	wantPhase(t, hs, rollout.PhaseRevert, "")
	hs.tick(t)
	wantEffects(t, hs, "SetLaunchTemplateVersion web-blue lt-0123 3")
	wantPhase(t, hs, rollout.PhaseDone, rollout.RolledBack)
	if got := hs.aws.params[param]; got != oldAMI {
		t.Errorf("parameter after rollback: got %q, want %q", got, oldAMI)
	}
	if got := hs.aws.template.DefaultVersion; got != 3 {
		t.Errorf("default version after rollback: got %d, want 3", got)
	}
}

func TestRefreshEventOfAnotherRefreshIgnored(t *testing.T) {
	hs := startRolling(t)
	hs.handle(t, refreshEvent(t, "ev-2", event.DetailTypeRefreshFailed, "someone-elses"))
	wantEffects(t, hs)
	wantPhase(t, hs, rollout.PhaseRefresh, "")
}

func TestTicks(t *testing.T) {
	hs := startRolling(t)
	_, before := hs.state(t)
	// Stale: not the wake-up the state expects.
	hs.handle(t, tickBody(t, "rollout#web", t0.Add(30*time.Second)))
	// Another handler's.
	hs.handle(t, tickBody(t, "lifecycle#token", t0.Add(time.Minute)))
	if _, after := hs.state(t); after != before {
		t.Fatalf("stale ticks saved the state: version %d → %d", before, after)
	}
	// Early (a chained long wait): sent on with the same due time.
	n := len(hs.aws.wakes)
	hs.handle(t, tickBody(t, "rollout#web", t0.Add(time.Minute)))
	if len(hs.aws.wakes) != n+1 || !hs.aws.wakes[n].At.Equal(t0.Add(time.Minute)) {
		t.Fatalf("early tick: wakes %+v, want it sent on for %s", hs.aws.wakes[n:], t0.Add(time.Minute))
	}
	// Due: the step runs and looks at the refresh.
	hs.aws.setRefresh("refresh-1", rollout.RefreshInProgress, 1, "4")
	hs.tick(t)
	if w := hs.aws.lastWake(t); !w.At.Equal(t0.Add(2 * time.Minute)) {
		t.Errorf("next wake-up: got %s, want %s", w.At, t0.Add(2*time.Minute))
	}
	// The same tick again is stale now: the state moved on.
	_, before = hs.state(t)
	hs.handle(t, tickBody(t, "rollout#web", t0.Add(time.Minute)))
	if _, after := hs.state(t); after != before {
		t.Errorf("a repeated tick stepped the rollout again: version %d → %d", before, after)
	}
}

func TestImageBuilderEvent(t *testing.T) {
	p := rollingPolicy()
	// Matched by a tag the pipeline's distribution puts on the AMI.
	p.Match.Tags = map[string]string{"app": "web"}
	hs := newHarness(t, p, false)
	img := hs.aws.images[newAMI]
	delete(img.Tags, rollout.FleetTag)
	img.Tags["app"] = "web"
	hs.aws.images[newAMI] = img
	hs.aws.builds[buildARN] = imagebuilder.Image{ARN: buildARN, State: "AVAILABLE", AMIs: []imagebuilder.AMI{
		{ID: "ami-elsewhere", Region: "eu-west-1"}, {ID: newAMI, Region: "us-west-2"},
	}}
	hs.handle(t, buildEvent(t, "ev-1", "AVAILABLE"))
	s := wantPhase(t, hs, rollout.PhaseRefresh, "")
	if s.Image.ID != newAMI || s.Image.Source != buildARN {
		t.Errorf("image: got %+v, want %s from %s", s.Image, newAMI, buildARN)
	}
	// The AMI State Change of the same AMI is a duplicate.
	hs.aws.Effects()
	hs.handle(t, amiEvent(t, "ev-2", newAMI, "available"))
	wantEffects(t, hs)
}

func TestImageBuilderEventWithoutAMIHere(t *testing.T) {
	// An image distributed only to other regions (or a container image):
	// EC2 here has no AMI tagged with its ARN.
	hs := newHarness(t, rollingPolicy(), false)
	hs.handle(t, buildEvent(t, "ev-1", "AVAILABLE"))
	wantEffects(t, hs)
	if s, v := hs.state(t); v != 0 || s.Active() {
		t.Errorf("rollout record: version %d, phase %q; want none", v, s.Phase)
	}
	if !strings.Contains(hs.logs.String(), "no AMI in this region") {
		t.Errorf("logs do not say why nothing was rolled out:\n%s", hs.logs.String())
	}
}

func TestNothingChanges(t *testing.T) {
	tests := []struct {
		name    string
		policy  func() rollout.Policy
		dryRun  bool
		prepare func(*harness)
		payload func(t *testing.T) []byte
		metric  string
		log     string
	}{
		{
			name: "unencrypted image", policy: rollingPolicy, payload: func(t *testing.T) []byte { return amiEvent(t, "e", newAMI, "available") },
			prepare: func(hs *harness) { im := hs.aws.images[newAMI]; im.RootEncrypted = false; hs.aws.images[newAMI] = im },
			metric:  "ImagesRejected", log: "root volume is not encrypted",
		},
		{
			name: "x86 image for t4g", policy: rollingPolicy, payload: func(t *testing.T) []byte { return amiEvent(t, "e", newAMI, "available") },
			prepare: func(hs *harness) { im := hs.aws.images[newAMI]; im.Architecture = "x86_64"; hs.aws.images[newAMI] = im },
			metric:  "ImagesRejected", log: `does not fit \"arm64\"`,
		},
		{
			name: "older image", policy: rollingPolicy, payload: func(t *testing.T) []byte { return amiEvent(t, "e", newAMI, "available") },
			prepare: func(hs *harness) {
				im := hs.aws.images[newAMI]
				im.CreationDate = t0.Add(-48 * time.Hour)
				hs.aws.images[newAMI] = im
			},
			metric: "ImagesRejected", log: "before the current image",
		},
		{
			name: "the current image", policy: rollingPolicy, payload: func(t *testing.T) []byte { return amiEvent(t, "e", oldAMI, "available") },
			prepare: func(hs *harness) {
				im := hs.aws.images[oldAMI]
				im.Tags = map[string]string{rollout.FleetTag: fleetName, "commit": "x"}
				hs.aws.images[oldAMI] = im
			},
			metric: "ImagesRejected", log: "already the fleet's image",
		},
		{
			name: "image of another account", policy: rollingPolicy, payload: func(t *testing.T) []byte { return amiEvent(t, "e", newAMI, "available") },
			prepare: func(hs *harness) {
				hs.aws.fail("Image", fmt.Errorf("describing image %s: owner 999999999999: %w: %w", newAMI, launchtemplate.ErrNotFound, launchtemplate.ErrNotOwned))
			},
			metric: "ImagesRefused", log: "owned by another account",
		},
		{
			name: "failed AMI", policy: rollingPolicy, payload: func(t *testing.T) []byte { return amiEvent(t, "e", newAMI, "failed") },
			metric: "ImageBuildsFailed", log: "AMI failed",
		},
		{
			name: "failed build", policy: rollingPolicy, payload: func(t *testing.T) []byte { return buildEvent(t, "e", "FAILED") },
			metric: "ImageBuildsFailed", log: "image build did not succeed",
		},
		{
			name: "image for no fleet", policy: rollingPolicy, payload: func(t *testing.T) []byte { return amiEvent(t, "e", newAMI, "available") },
			prepare: func(hs *harness) {
				im := hs.aws.images[newAMI]
				im.Tags[rollout.FleetTag] = "api"
				hs.aws.images[newAMI] = im
			},
			log: "image meant for no fleet",
		},
		{
			name: "rollouts off", policy: func() rollout.Policy { return rollout.Policy{} },
			payload: func(t *testing.T) []byte { return amiEvent(t, "e", newAMI, "available") }, log: "image meant for no fleet",
		},
		{
			name: "dry run", policy: rollingPolicy, dryRun: true,
			payload: func(t *testing.T) []byte { return amiEvent(t, "e", newAMI, "available") }, log: "dry run: rollout not started",
		},
		{
			name: "command without a rollout", policy: rollingPolicy, payload: func(t *testing.T) []byte { return command(t, "abort", "", t0) },
			log: "rollout command refused",
		},
		{
			name: "command for an unknown fleet", policy: rollingPolicy, log: "unknown fleet",
			payload: func(t *testing.T) []byte {
				b, _ := event.CommandBody(event.Command{Fleet: "api", Action: "pause"}, t0)
				return b
			},
		},
		{
			name: "unknown event kind", policy: rollingPolicy, log: "unknown kind",
			payload: func(t *testing.T) []byte {
				return eventBridge(t, "e", "aws.ec2", "EC2 Spot Instance Interruption Warning", "us-west-2", map[string]any{})
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hs := newHarness(t, tt.policy(), tt.dryRun)
			if tt.prepare != nil {
				tt.prepare(hs)
			}
			hs.handle(t, tt.payload(t))
			wantEffects(t, hs)
			if s, v := hs.state(t); v != 0 {
				t.Errorf("state saved: %+v", s)
			}
			if tt.metric != "" {
				if got := hs.metric(t, tt.metric); got != 1 {
					t.Errorf("%s: got %v, want 1", tt.metric, got)
				}
			}
			if !strings.Contains(hs.logs.String(), tt.log) {
				t.Errorf("log: want a line containing %q, got:\n%s", tt.log, hs.logs.String())
			}
		})
	}
}

func TestMalformedEventIsAnError(t *testing.T) {
	hs := newHarness(t, rollingPolicy(), false)
	err := hs.h.Handle(t.Context(), []byte(`{"detail-type":"Rollout Command","source":"stampkit","id":"x","time":"2026-11-25T12:00:00Z","detail":{"fleet":"web","action":"reboot"}}`))
	if !errors.Is(err, event.ErrMalformed) {
		t.Errorf("Handle: got %v, want ErrMalformed", err)
	}
}

func TestDuplicateImageEvent(t *testing.T) {
	hs := startRolling(t)
	hs.handle(t, amiEvent(t, "ev-1", newAMI, "available"))
	wantEffects(t, hs)
	if got := hs.metric(t, "Duplicates"); got != 1 {
		t.Errorf("Duplicates: got %v, want 1", got)
	}
}

// TestRetryAfterFailureMidStep: an effect fails part-way through a step;
// the rollout (and what it would restore) was put on record before its
// first change, the step's progress is not saved and the claim is
// released. The retried event finds the rollout running; its wake-up
// repeats the step, and the repeated effects are the idempotent ones.
func TestRetryAfterFailureMidStep(t *testing.T) {
	hs := newHarness(t, rollingPolicy(), false)
	hs.aws.fail("PutImage", errors.New("throttled"))
	err := hs.h.Handle(t.Context(), amiEvent(t, "ev-1", newAMI, "available"))
	if err == nil || !strings.Contains(err.Error(), "put_parameter") {
		t.Fatalf("Handle: got %v, want the put_parameter failure", err)
	}
	wantEffects(t, hs, "CreateVersionWithImage lt-0123 3 ami-new", "SetDefaultVersion lt-0123 4")
	if s, v := hs.state(t); v != 1 || s.Phase != rollout.PhaseStamp || s.Version != 0 {
		t.Fatalf("state after a failed step: version %d phase %q template version %d; want the begun rollout only", v, s.Phase, s.Version)
	}
	hs.handle(t, amiEvent(t, "ev-1", newAMI, "available"))
	wantEffects(t, hs)
	hs.tick(t)
	wantEffects(t, hs,
		"CreateVersionWithImage lt-0123 3 ami-new (repeat)",
		"SetDefaultVersion lt-0123 4",
		"PutImage /stampkit/web/ami ami-new",
		"StartInstanceRefresh web-blue lt-0123 4",
	)
	s := wantPhase(t, hs, rollout.PhaseRefresh, "")
	if s.Version != 4 {
		t.Errorf("version: got %d, want 4 (no second version)", s.Version)
	}
}

// TestAbortAfterRetriedPartialStampRestoresTheOldImage: the stamp moved
// the default version and the parameter, then failed; after the retry an
// abort must restore what ran before the rollout, never what the partial
// stamp left live (issue #15, item 4).
func TestAbortAfterRetriedPartialStampRestoresTheOldImage(t *testing.T) {
	for _, strategy := range []string{"rolling", "bluegreen"} {
		t.Run(strategy, func(t *testing.T) {
			p, failing := rollingPolicy(), "StartInstanceRefresh"
			if strategy == "bluegreen" {
				p, failing = blueGreenPolicy(), "SetLaunchTemplateVersion"
			}
			hs := newHarness(t, p, false)
			hs.aws.fail(failing, errors.New("throttled"))
			if err := hs.h.Handle(t.Context(), amiEvent(t, "ev-1", newAMI, "available")); err == nil {
				t.Fatalf("Handle: got nil, want the %s failure", failing)
			}
			if hs.aws.params[param] != newAMI || hs.aws.template.DefaultVersion != 4 {
				t.Fatalf("setup: parameter %s default %d; want the partial stamp live", hs.aws.params[param], hs.aws.template.DefaultVersion)
			}
			hs.handle(t, amiEvent(t, "ev-1", newAMI, "available")) // the retry
			hs.handle(t, command(t, "abort", "", hs.clock.Now()))
			for range 5 {
				if s, _ := hs.state(t); !s.Active() {
					break
				}
				hs.tick(t)
			}
			s := wantPhase(t, hs, rollout.PhaseDone, rollout.RolledBack)
			if got := hs.aws.params[param]; got != oldAMI {
				t.Errorf("parameter after the abort: got %s, want %s", got, oldAMI)
			}
			if got := hs.aws.template.DefaultVersion; got != 3 {
				t.Errorf("default version after the abort: got %d, want 3", got)
			}
			if s.Base.Image != oldAMI {
				t.Errorf("baseline: got %s, want %s", s.Base.Image, oldAMI)
			}
		})
	}
}

// TestRefreshAlreadyRunningIsFollowed: a refresh started by an invocation
// that died before saving is found and followed, not started twice.
func TestRefreshAlreadyRunningIsFollowed(t *testing.T) {
	hs := newHarness(t, rollingPolicy(), false)
	hs.aws.fail("WakeAt", nil) // the rollout goes on record
	hs.aws.fail("WakeAt", errors.New("queue unavailable"))
	if err := hs.h.Handle(t.Context(), amiEvent(t, "ev-1", newAMI, "available")); err == nil {
		t.Fatal("Handle: got nil, want the scheduling failure")
	}
	hs.aws.Effects()
	hs.aws.fail("StartInstanceRefresh", &smithy.GenericAPIError{Code: "InstanceRefreshInProgress", Message: "An Instance Refresh is already in progress"})
	hs.tick(t)
	s := wantPhase(t, hs, rollout.PhaseRefresh, "")
	if s.RefreshID != "refresh-1" {
		t.Errorf("refresh followed: got %q, want refresh-1", s.RefreshID)
	}
	if !strings.Contains(hs.logs.String(), "instance refresh already running: following it") {
		t.Errorf("log: want the refresh followed")
	}
}

func TestCommandsOnRolling(t *testing.T) {
	hs := startRolling(t)
	hs.aws.setRefresh("refresh-1", rollout.RefreshInProgress, 1, "4")
	hs.handle(t, command(t, "pause", "checking logs", t0.Add(time.Minute)))
	wantEffects(t, hs, "CancelInstanceRefresh web-blue")
	hs.aws.setRefresh("refresh-1", rollout.RefreshCancelled, 1, "4")
	hs.tick(t)
	s := wantPhase(t, hs, rollout.PhaseRefresh, "")
	if !s.Paused || s.RefreshID != "" {
		t.Fatalf("paused: got paused %v refresh %q, want paused with no refresh", s.Paused, s.RefreshID)
	}
	// A promote is refused for a rolling refresh and changes nothing.
	hs.handle(t, command(t, "promote", "", t0.Add(3*time.Minute)))
	wantEffects(t, hs)
	hs.handle(t, command(t, "resume", "", t0.Add(4*time.Minute)))
	wantEffects(t, hs, "StartInstanceRefresh web-blue lt-0123 4")
	if got := hs.aws.specs[1]; !got.SkipMatching {
		t.Errorf("resumed refresh: SkipMatching false, want true")
	}
	hs.handle(t, command(t, "abort", "error budget", t0.Add(5*time.Minute)))
	// The group's version waits for the refresh's rollback to end.
	wantEffects(t, hs, "RollbackInstanceRefresh web-blue", "SetDefaultVersion lt-0123 3",
		"PutImage /stampkit/web/ami ami-old")
	// The first refresh left an instance on version 4; the rollback of the
	// second does not touch it, so the revert refreshes it back.
	hs.aws.setRefresh("refresh-2", rollout.RefreshRollbackSuccessful, 1, "4")
	hs.tick(t)
	wantEffects(t, hs, "StartInstanceRefresh web-blue lt-0123 3")
	if got := hs.aws.specs[2]; got.AutoRollback || len(got.AlarmNames) != 0 {
		t.Errorf("revert refresh: auto-rollback %v alarms %v, want neither", got.AutoRollback, got.AlarmNames)
	}
	hs.aws.setRefresh("refresh-3", rollout.RefreshSuccessful, 0, "4")
	hs.tick(t)
	s = wantPhase(t, hs, rollout.PhaseDone, rollout.RolledBack)
	if !strings.Contains(s.Reason, "error budget") {
		t.Errorf("reason %q: want the operator's", s.Reason)
	}
	if got := hs.metric(t, "Commands"); got != 3 {
		t.Errorf("Commands: got %v, want 3 accepted", got)
	}
}

// startBlueGreen delivers the new AMI to a blue/green fleet and checks the
// stamp.
func startBlueGreen(t *testing.T, p rollout.Policy) *harness {
	t.Helper()
	hs := newHarness(t, p, false)
	hs.handle(t, amiEvent(t, "ev-1", newAMI, "available"))
	wantEffects(t, hs,
		"CreateVersionWithImage lt-0123 3 ami-new",
		"SetDefaultVersion lt-0123 4",
		"PutImage /stampkit/web/ami ami-new",
		"SetLaunchTemplateVersion web-green lt-0123 4",
		"Resize web-green 1/4/2",
	)
	wantPhase(t, hs, rollout.PhaseWarm, "")
	return hs
}

func TestBlueGreenThroughTheHandler(t *testing.T) {
	hs := startBlueGreen(t, blueGreenPolicy())
	// Green's targets are still initial.
	hs.aws.health[tgGreen] = []elb.Target{{ID: "a", State: elb.StateInitial}, {ID: "b", State: elb.StateHealthy}}
	hs.tick(t)
	wantEffects(t, hs)
	delete(hs.aws.health, tgGreen)
	var weights []string
	for range 20 {
		hs.tick(t)
		weights = append(weights, hs.aws.Effects()...)
		if s, _ := hs.state(t); s.Phase == rollout.PhaseRetain {
			break
		}
	}
	want := []string{
		"SetForwardWeights listener-1 tg-blue=90 tg-green=10",
		"SetForwardWeights listener-1 tg-blue=50 tg-green=50",
		"SetForwardWeights listener-1 tg-blue=0 tg-green=100",
		"Resize web-blue 0/0/0",
	}
	if diff := cmp.Diff(want, weights); diff != "" {
		t.Fatalf("shift (-want +got):\n%s", diff)
	}
	if h := hs.hold(t); h == nil || h.LiveGroup != greenASG || !h.Active(hs.clock.Now()) {
		t.Errorf("hold while retaining: got %+v, want green live", h)
	}
	tickUntil(t, hs, "the end of the retention", inPhase(rollout.PhaseDone))
	s := wantPhase(t, hs, rollout.PhaseDone, rollout.Succeeded)
	if s.Live != greenASG || s.Serving(blueASG) != greenASG {
		t.Errorf("live: got %q, want %q", s.Live, greenASG)
	}
	if got := hs.metric(t, "TrafficShifted"); got != 160 {
		t.Errorf("TrafficShifted: got %v, want 10+50+100", got)
	}
}

func TestBlueGreenAlarmRollsBack(t *testing.T) {
	hs := startBlueGreen(t, blueGreenPolicy())
	hs.tick(t)
	wantEffects(t, hs, "SetForwardWeights listener-1 tg-blue=90 tg-green=10")
	hs.tick(t)
	hs.aws.alarms[alarm5xx] = cwalarm.StateAlarm
	hs.tick(t)
	wantEffects(t, hs, "SetDefaultVersion lt-0123 3", "PutImage /stampkit/web/ami ami-old",
		"SetForwardWeights listener-1 tg-blue=100 tg-green=0", "Resize web-green 0/0/0")
	s := wantPhase(t, hs, rollout.PhaseDone, rollout.RolledBack)
	if !strings.Contains(s.Reason, alarm5xx) {
		t.Errorf("reason %q: want the alarm", s.Reason)
	}
	if h := hs.hold(t); h.Active(hs.clock.Now()) {
		t.Errorf("hold after the rollback: got %+v, want none", h)
	}
}

func TestBlueGreenBlindReadWaits(t *testing.T) {
	hs := startBlueGreen(t, blueGreenPolicy())
	hs.tick(t)
	hs.aws.Effects()
	hs.clock.Add(10 * time.Minute)
	hs.aws.fail("Alarms", errors.New("throttled"))
	hs.tick(t)
	wantEffects(t, hs)
	if s, _ := hs.state(t); s.Shifted != 10 {
		t.Errorf("shifted after a blind look: got %d, want 10", s.Shifted)
	}
}

func TestNewerImageQueuesAndStartsAfter(t *testing.T) {
	hs := startBlueGreen(t, blueGreenPolicy())
	hs.aws.images["ami-newer"] = launchtemplate.Image{ID: "ami-newer", Name: "web-3", State: "available", Architecture: "arm64",
		CreationDate: t0, RootEncrypted: true, Tags: map[string]string{rollout.FleetTag: fleetName}}
	hs.handle(t, amiEvent(t, "ev-2", "ami-newer", "available"))
	wantEffects(t, hs)
	s := wantPhase(t, hs, rollout.PhaseWarm, "")
	if s.Queued == nil || s.Queued.ID != "ami-newer" {
		t.Fatalf("queued: got %+v, want ami-newer", s.Queued)
	}
	hs.aws.alarms[alarm5xx] = cwalarm.StateAlarm
	hs.tick(t) // warm: waits out the alarm
	hs.clock.Add(10 * time.Minute)
	hs.tick(t) // health timeout: rolled back, then the queued image starts
	wantEffects(t, hs,
		"SetDefaultVersion lt-0123 3", "PutImage /stampkit/web/ami ami-old",
		"SetForwardWeights listener-1 tg-blue=100 tg-green=0", "Resize web-green 0/0/0",
		"CreateVersionWithImage lt-0123 3 ami-newer",
		"SetDefaultVersion lt-0123 5",
		"PutImage /stampkit/web/ami ami-newer",
		"SetLaunchTemplateVersion web-green lt-0123 5",
		"Resize web-green 1/4/2",
	)
	s = wantPhase(t, hs, rollout.PhaseWarm, "")
	if s.Image.ID != "ami-newer" || s.Queued != nil || s.Count != 2 {
		t.Errorf("second rollout: image %s queued %v count %d; want ami-newer, none, 2", s.Image.ID, s.Queued, s.Count)
	}
}

func TestSupersedeThroughTheHandler(t *testing.T) {
	p := blueGreenPolicy()
	p.OnNewer = rollout.Supersede
	hs := startBlueGreen(t, p)
	hs.tick(t)
	wantEffects(t, hs, "SetForwardWeights listener-1 tg-blue=90 tg-green=10")
	hs.aws.images["ami-newer"] = launchtemplate.Image{ID: "ami-newer", State: "available", Architecture: "arm64",
		CreationDate: t0, RootEncrypted: true, Tags: map[string]string{rollout.FleetTag: fleetName}}
	hs.handle(t, amiEvent(t, "ev-2", "ami-newer", "available"))
	wantEffects(t, hs,
		"SetDefaultVersion lt-0123 3", "PutImage /stampkit/web/ami ami-old",
		"SetForwardWeights listener-1 tg-blue=100 tg-green=0", "Resize web-green 0/0/0",
		"CreateVersionWithImage lt-0123 3 ami-newer", "SetDefaultVersion lt-0123 5", "PutImage /stampkit/web/ami ami-newer",
		"SetLaunchTemplateVersion web-green lt-0123 5", "Resize web-green 1/4/2",
	)
	if got := hs.metric(t, "RolloutsSuperseded"); got != 1 {
		t.Errorf("RolloutsSuperseded: got %v, want 1", got)
	}
}

func TestSaveConflictReleasesTheClaim(t *testing.T) {
	hs := newHarness(t, rollingPolicy(), false)
	hs.h.Store = &racingStore{Store: hs.store}
	err := hs.h.Handle(t.Context(), amiEvent(t, "ev-1", newAMI, "available"))
	if !errors.Is(err, memstore.ErrVersionConflict) {
		t.Fatalf("Handle: got %v, want a version conflict", err)
	}
	if ok, _ := hs.store.Claim(t.Context(), "rollout-image#web#"+newAMI, "retry", time.Hour); !ok {
		t.Errorf("claim not released after the failed save")
	}
}

// racingStore saves the rollout record behind the handler's back between
// its Load and its Save, as a concurrent invocation would.
type racingStore struct {
	*memstore.Store
	raced bool
}

func (r *racingStore) Save(ctx context.Context, key string, data []byte, version int64) error {
	if key == rollout.Key(fleetName) && !r.raced {
		r.raced = true
		if err := r.Store.Save(ctx, key, []byte(`{"fleet":"web"}`), version); err != nil {
			return err
		}
	}
	return r.Store.Save(ctx, key, data, version)
}

// sqsRecord wraps an EventBridge event as the body of an SQS record, as
// anyone allowed to send to the wake-up queue could write it.
func sqsRecord(t *testing.T, body []byte) []byte {
	t.Helper()
	b, err := json.Marshal(map[string]any{"Records": []map[string]any{{
		"messageId": "m-1", "body": string(body), "eventSource": "aws:sqs", "awsRegion": "us-east-1",
		"attributes": map[string]string{"SentTimestamp": "1764079200000"},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestSteeringEventsThroughAQueueAreRefused: commands and image events
// steer only when a rule delivers them (the command bus's policy names who
// may send); the same events written into the wake-up queue change nothing.
func TestSteeringEventsThroughAQueueAreRefused(t *testing.T) {
	t.Run("abort", func(t *testing.T) {
		hs := startRolling(t)
		hs.aws.setRefresh("refresh-1", rollout.RefreshInProgress, 1, "4")
		hs.handle(t, sqsRecord(t, command(t, "abort", "forged", t0.Add(time.Minute))))
		wantEffects(t, hs)
		wantPhase(t, hs, rollout.PhaseRefresh, "")
		if got := hs.metric(t, "EventsRefused"); got != 1 {
			t.Errorf("EventsRefused: got %v, want 1", got)
		}
	})
	t.Run("new image", func(t *testing.T) {
		hs := newHarness(t, rollingPolicy(), false)
		hs.handle(t, sqsRecord(t, amiEvent(t, "ev-1", newAMI, "available")))
		wantEffects(t, hs)
		if got := hs.metric(t, "EventsRefused"); got != 1 {
			t.Errorf("EventsRefused: got %v, want 1", got)
		}
	})
}
