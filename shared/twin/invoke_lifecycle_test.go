package twin_test

import (
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/stampkit/stampkit/shared/event"
	"github.com/stampkit/stampkit/shared/lifecycle"
	"github.com/stampkit/stampkit/shared/twin"
)

// sample returns one of the real AWS sample events.
func sample(t *testing.T, name string) []byte {
	t.Helper()
	samples, err := event.Samples()
	if err != nil {
		t.Fatal(err)
	}
	raw, ok := samples[name]
	if !ok {
		t.Fatalf("no sample %s", name)
	}
	return raw
}

// effectLines renders effects as "+offset what first-word-of-detail",
// offsets from start; wake-ups and phase changes are left out unless all.
func effectLines(effects []twin.Effect, start time.Time, all bool) []string {
	var out []string
	for _, e := range effects {
		if !all && (e.What == twin.EffectWakeUp || e.What == twin.EffectPhase) {
			continue
		}
		first, _, _ := strings.Cut(e.Detail, " ")
		if e.What == twin.EffectPhase || e.What == twin.EffectWakeUp {
			first = e.Detail
		}
		out = append(out, "+"+e.At.Sub(start).String()+" "+e.What+" "+first)
	}
	return out
}

func TestInvokeLifecycleSamples(t *testing.T) {
	const instance = "i-1234567890abcdef0"
	launched := time.Date(2024, 5, 14, 9, 30, 12, 0, time.UTC)
	terminated := time.Date(2024, 5, 14, 10, 2, 45, 0, time.UTC)
	warmPool := time.Date(2021, 1, 13, 0, 12, 37, 214e6, time.UTC)
	sns := time.Date(2019, 4, 30, 20, 42, 11, 305e6, time.UTC)
	tests := []struct {
		name   string
		sample string
		inv    twin.LifecycleInvocation
		start  time.Time
		// want lists the effects but wake-ups and phase changes.
		want            []string
		wantOutcome     lifecycle.Outcome
		wantPhase       lifecycle.Phase
		wantResult      string
		wantWakeUps     int
		wantNoRecord    bool
		wantInvocations int
	}{
		{
			name: "launch of a ready instance continues", sample: "autoscaling-launch-lifecycle-action", start: launched,
			want:        []string{"+0s completed CONTINUE"},
			wantOutcome: lifecycle.Ready, wantPhase: lifecycle.PhaseDone, wantResult: lifecycle.ResultContinue,
		},
		{
			name: "launch through SNS continues", sample: "autoscaling-launch-lifecycle-action-sns", start: sns,
			want:        []string{"+0s completed CONTINUE"},
			wantOutcome: lifecycle.Ready, wantPhase: lifecycle.PhaseDone, wantResult: lifecycle.ResultContinue,
		},
		{
			name: "launch into the warm pool is not gated on the HTTP probe", sample: "autoscaling-launch-lifecycle-action-warm-pool",
			inv: twin.LifecycleInvocation{ReadyAfter: twin.NeverReady}, start: warmPool,
			want:        []string{"+0s completed CONTINUE"},
			wantOutcome: lifecycle.Ready, wantPhase: lifecycle.PhaseDone, wantResult: lifecycle.ResultContinue,
		},
		{
			name: "launch not ready yet waits", sample: "autoscaling-launch-lifecycle-action",
			inv: twin.LifecycleInvocation{ReadyAfter: 2 * time.Minute}, start: launched,
			wantPhase: lifecycle.PhaseProbe, wantWakeUps: 1,
		},
		{
			name: "launch delivered late sends a heartbeat and waits", sample: "autoscaling-launch-lifecycle-action",
			inv: twin.LifecycleInvocation{ReadyAfter: 10 * time.Minute, Delay: 4*time.Minute + 30*time.Second}, start: launched,
			want:      []string{"+4m30s heartbeat " + instance},
			wantPhase: lifecycle.PhaseProbe, wantWakeUps: 1,
		},
		{
			name: "followed launch heartbeats until ready", sample: "autoscaling-launch-lifecycle-action",
			inv: twin.LifecycleInvocation{ReadyAfter: 7 * time.Minute, Follow: true}, start: launched,
			want:        []string{"+4m0s heartbeat " + instance, "+7m0s completed CONTINUE"},
			wantOutcome: lifecycle.Ready, wantPhase: lifecycle.PhaseDone, wantResult: lifecycle.ResultContinue,
			wantWakeUps: 42, wantInvocations: 43,
		},
		{
			name: "followed launch never ready is abandoned at the gate's timeout", sample: "autoscaling-launch-lifecycle-action-sns",
			inv: twin.LifecycleInvocation{ReadyAfter: twin.NeverReady, Follow: true}, start: sns,
			want: []string{"+4m0s heartbeat i-0598c7d356eba48d7", "+8m0s heartbeat i-0598c7d356eba48d7",
				"+12m0s heartbeat i-0598c7d356eba48d7", "+15m0s completed ABANDON"},
			wantOutcome: lifecycle.Abandoned, wantPhase: lifecycle.PhaseDone, wantResult: lifecycle.ResultAbandon,
			wantWakeUps: 90, wantInvocations: 91,
		},
		{
			name: "terminate of a deregistered instance waits for the drain", sample: "autoscaling-terminate-lifecycle-action", start: terminated,
			inv:       twin.LifecycleInvocation{DeregistrationDelay: 30 * time.Second},
			wantPhase: lifecycle.PhaseDeregister, wantWakeUps: 1,
		},
		{
			name: "followed terminate continues once drained", sample: "autoscaling-terminate-lifecycle-action", start: terminated,
			inv:         twin.LifecycleInvocation{DeregistrationDelay: 30 * time.Second, Follow: true},
			want:        []string{"+30s completed CONTINUE"},
			wantOutcome: lifecycle.Drained, wantPhase: lifecycle.PhaseDone, wantResult: lifecycle.ResultContinue, wantWakeUps: 3,
		},
		{
			name: "terminate of a registered instance deregisters it from each target group", sample: "autoscaling-terminate-lifecycle-action", start: terminated,
			inv: twin.LifecycleInvocation{DeregistrationDelay: time.Minute, Registered: true, Follow: true,
				TargetGroups: []string{twin.TargetGroupARN, twin.PeerTargetGroupARN}},
			want:        []string{"+0s deregistered " + instance, "+0s deregistered " + instance, "+1m0s completed CONTINUE"},
			wantOutcome: lifecycle.Drained, wantPhase: lifecycle.PhaseDone, wantResult: lifecycle.ResultContinue, wantWakeUps: 6,
		},
		{
			name: "root volume replacement drains like a termination", sample: "autoscaling-terminate-lifecycle-action-replace-root-volume", start: warmPool,
			inv:         twin.LifecycleInvocation{DeregistrationDelay: 10 * time.Second, Follow: true},
			want:        []string{"+10s completed CONTINUE"},
			wantOutcome: lifecycle.Drained, wantPhase: lifecycle.PhaseDone, wantResult: lifecycle.ResultContinue, wantWakeUps: 1,
		},
		{
			name: "action of a group no fleet manages is left to the hook", sample: "autoscaling-launch-lifecycle-action",
			inv: twin.LifecycleInvocation{GroupName: "another-asg"}, wantNoRecord: true,
		},
		{name: "test notification through SQS is ignored", sample: "autoscaling-test-notification-sqs", wantNoRecord: true},
		{name: "test notification through EventBridge is ignored", sample: "autoscaling-test-notification-eventbridge", wantNoRecord: true},
		{name: "AMI event is another handler's", sample: "ec2-ami-state-change-available", wantNoRecord: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			inv := tc.inv
			inv.Log = io.Discard
			res, err := twin.InvokeLifecycle(t.Context(), sample(t, tc.sample), inv)
			if err != nil {
				t.Fatalf("InvokeLifecycle: %v", err)
			}
			if diff := cmp.Diff(tc.want, effectLines(res.Effects, tc.start, false)); diff != "" {
				t.Errorf("effects (-want +got):\n%s\nall: %v", diff, effectLines(res.Effects, tc.start, true))
			}
			wakeUps := 0
			for _, e := range res.Effects {
				if e.What == twin.EffectWakeUp {
					wakeUps++
				}
			}
			if wakeUps != tc.wantWakeUps {
				t.Errorf("got %d wake-ups, want %d", wakeUps, tc.wantWakeUps)
			}
			if tc.wantInvocations > 0 && res.Invocations != tc.wantInvocations {
				t.Errorf("got %d invocations, want %d", res.Invocations, tc.wantInvocations)
			}
			if tc.wantNoRecord {
				if res.State != nil {
					t.Errorf("got a lifecycle record %+v, want none", res.State)
				}
				return
			}
			if res.State == nil {
				t.Fatal("got no lifecycle record")
			}
			if got := [3]string{string(res.State.Phase), string(res.State.Outcome), res.State.Result}; got != [3]string{string(tc.wantPhase), string(tc.wantOutcome), tc.wantResult} {
				t.Errorf("got phase, outcome, result %q, want %q", got, [3]string{string(tc.wantPhase), string(tc.wantOutcome), tc.wantResult})
			}
		})
	}
}

func TestInvokeLifecycleRejects(t *testing.T) {
	launch := string(sample(t, "autoscaling-launch-lifecycle-action"))
	tests := []struct {
		name          string
		raw           string
		wantMalformed bool
	}{
		{name: "not JSON", raw: "LifecycleActionToken", wantMalformed: true},
		{name: "empty batch", raw: `{"Records":[]}`, wantMalformed: true},
		{name: "lifecycle action without a token", raw: strings.Replace(launch, `"LifecycleActionToken"`, `"Token"`, 1), wantMalformed: true},
		{name: "unknown kind", raw: strings.Replace(launch, "EC2 Instance-launch Lifecycle Action", "EC2 Instance Rebooted", 1)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := twin.InvokeLifecycle(t.Context(), []byte(tc.raw), twin.LifecycleInvocation{Log: io.Discard, Follow: true})
			if got := errors.Is(err, event.ErrMalformed); got != tc.wantMalformed {
				t.Errorf("got error %v, want malformed %t", err, tc.wantMalformed)
			}
			if len(res.Effects) != 0 || res.State != nil {
				t.Errorf("got effects %v and record %v, want none", res.Effects, res.State)
			}
		})
	}
}
