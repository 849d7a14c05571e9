package hooks_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"

	"github.com/stampkit/stampkit/shared/asg"
	"github.com/stampkit/stampkit/shared/clock"
	"github.com/stampkit/stampkit/shared/config"
	"github.com/stampkit/stampkit/shared/event"
	"github.com/stampkit/stampkit/shared/hooks"
	"github.com/stampkit/stampkit/shared/invocation"
	"github.com/stampkit/stampkit/shared/lifecycle"
)

func completion(token, result string) asg.LifecycleCompletion {
	return asg.LifecycleCompletion{Group: group, Hook: "hook", Token: token, InstanceID: "i-1", Result: result}
}

var errNoActive = &smithy.GenericAPIError{Code: "ValidationError",
	Message: "No active Lifecycle Action found with instance ID i-1"}

func TestLaunchGate(t *testing.T) {
	tests := []struct {
		name           string
		script         func(r *rig)
		wantResult     string
		wantDone       time.Duration // from t0
		wantHeartbeats bool
		wantMetric     string
	}{
		{
			name: "ready at once: completed in the first invocation, nothing scheduled",
			script: func(r *rig) {
				r.probe("app", 0, lifecycle.Pass)
				r.probe("status", 0, lifecycle.Pass)
			},
			wantResult: asg.ResultContinue, wantDone: 0, wantMetric: "TimeToReady",
		},
		{
			name: "slow: ready after the app comes up at 95 s",
			script: func(r *rig) {
				r.probe("status", 0, lifecycle.Pass)
				r.probe("app", sec(95), lifecycle.Pass)
			},
			wantResult: asg.ResultContinue, wantDone: sec(100), wantMetric: "TimeToReady",
		},
		{
			name:       "never ready: abandoned at the gate timeout, kept alive by heartbeats",
			script:     func(r *rig) { r.probe("status", 0, lifecycle.Pass) },
			wantResult: asg.ResultAbandon, wantDone: 10 * time.Minute, wantHeartbeats: true, wantMetric: "Abandoned",
		},
		{
			name: "failed probe: abandoned at once",
			script: func(r *rig) {
				r.probe("status", sec(20), lifecycle.Fail)
			},
			wantResult: asg.ResultAbandon, wantDone: sec(20), wantMetric: "Abandoned",
		},
		{
			name:       "probe errors until the timeout: abandoned",
			script:     func(r *rig) { r.probe("app", 0, lifecycle.Error); r.probe("status", 0, lifecycle.Error) },
			wantResult: asg.ResultAbandon, wantDone: 10 * time.Minute, wantHeartbeats: true, wantMetric: "Abandoned",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, testPolicy())
			tt.script(r)
			r.handle(t, launchAction("tok-1").payload(t))
			r.drive(t, 0, 1000)

			if diff := cmp.Diff([]asg.LifecycleCompletion{completion("tok-1", tt.wantResult)}, r.hooks.completions); diff != "" {
				t.Errorf("completions (-want +got):\n%s", diff)
			}
			s, _ := r.state(t, "tok-1")
			if !s.Done() || !s.DoneAt.Equal(t0.Add(tt.wantDone)) {
				t.Errorf("state: got done %v at %v, want done at %v (%s)", s.Done(), s.DoneAt.Sub(t0), tt.wantDone, s.Reason)
			}
			if got := len(r.hooks.heartbeats) > 0; got != tt.wantHeartbeats {
				t.Errorf("heartbeats sent: got %d, want some: %v", len(r.hooks.heartbeats), tt.wantHeartbeats)
			}
			if v, ok := r.metricValue(t, tt.wantMetric); !ok || (tt.wantMetric == "TimeToReady" && v != tt.wantDone.Seconds()) {
				t.Errorf("metric %s: got %v (present %v), want %v; all: %v", tt.wantMetric, v, ok, tt.wantDone.Seconds(), r.metricNames(t))
			}
		})
	}
}

func TestEveryTransitionIsLogged(t *testing.T) {
	r := newRig(t, testPolicy())
	r.probe("app", 0, lifecycle.Pass)
	r.probe("status", 0, lifecycle.Pass)
	r.handle(t, launchAction("tok-1").payload(t))
	var found bool
	for _, line := range strings.Split(r.logs.String(), "\n") {
		if !strings.Contains(line, `"msg":"lifecycle transition"`) {
			continue
		}
		found = true
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		for key, want := range map[string]string{"asg_name": group, "instance_id": "i-1", "token": "tok-1", "fleet": "web",
			"from": "probe", "to": "done", "outcome": "ready"} {
			if rec[key] != want {
				t.Errorf("log %s: got %v, want %q", key, rec[key], want)
			}
		}
		if reason, _ := rec["reason"].(string); !strings.Contains(reason, "app, status passed") {
			t.Errorf("log reason: got %q, want the probes that passed", reason)
		}
	}
	if !found {
		t.Fatal("no lifecycle transition logged")
	}
}

func TestHeartbeatsKeepTheHookAlive(t *testing.T) {
	// Wake-ups are 8 s late (a cold start): the margin still holds.
	p := testPolicy()
	r := newRig(t, p)
	r.probe("status", 0, lifecycle.Pass)
	r.probe("app", 9*time.Minute, lifecycle.Pass)
	r.handle(t, launchAction("tok-1").payload(t))
	r.drive(t, sec(8), 1000)
	if diff := cmp.Diff([]asg.LifecycleCompletion{completion("tok-1", asg.ResultContinue)}, r.hooks.completions); diff != "" {
		t.Fatalf("completions (-want +got):\n%s", diff)
	}
	want := asg.LifecycleAction{Group: group, Hook: "hook", Token: "tok-1", InstanceID: "i-1"}
	if len(r.hooks.heartbeats) < 2 {
		t.Fatalf("heartbeats: got %d, want at least 2 for a 9-minute gate on a 5-minute hook", len(r.hooks.heartbeats))
	}
	if diff := cmp.Diff(want, r.hooks.heartbeats[0]); diff != "" {
		t.Errorf("heartbeat (-want +got):\n%s", diff)
	}
	s, _ := r.state(t, "tok-1")
	if s.Heartbeats != len(r.hooks.heartbeats) {
		t.Errorf("state heartbeats: got %d, want %d", s.Heartbeats, len(r.hooks.heartbeats))
	}
}

func TestDuplicateLifecycleEvent(t *testing.T) {
	r := newRig(t, testPolicy())
	r.probe("status", 0, lifecycle.Pass)
	r.probe("app", sec(30), lifecycle.Pass)
	ev := launchAction("tok-1").payload(t)
	r.handle(t, ev)
	r.handle(t, ev) // EventBridge delivers at least once
	if got := len(r.sched.wakes); got != 1 {
		t.Fatalf("wake-ups scheduled: got %d, want 1 (the duplicate must not start a second chain)", got)
	}
	r.drive(t, 0, 100)
	r.handle(t, ev) // a late duplicate, after the action finished
	r.clock.Set(t0.Add(hooks.ClaimTTL + time.Hour))
	r.handle(t, ev) // later than the claim lasts: the saved state still stops it
	if got := len(r.hooks.completions); got != 1 {
		t.Errorf("completions: got %d, want 1", got)
	}
	if got := strings.Count(strings.Join(r.metricNames(t), " "), "Duplicates"); got != 3 {
		t.Errorf("Duplicates metric records: got %d, want 3", got)
	}
}

func TestWakeUpsThatDoNotMatch(t *testing.T) {
	r := newRig(t, testPolicy())
	r.probe("status", 0, lifecycle.Pass)
	r.probe("app", sec(30), lifecycle.Pass)
	r.handle(t, launchAction("tok-1").payload(t))
	due, _ := r.sched.next()
	before, version := r.state(t, "tok-1")

	r.clock.Set(due.at)
	r.handle(t, tick(t, hooksWake("tok-1", due.at.Add(-sec(3))))) // stale: another due time
	r.handle(t, tick(t, hooksWake("tok-404", due.at)))            // unknown action
	r.handle(t, tick(t, wake{key: "rollout#r-1", at: due.at}))    // another handler's tick
	// Due after the recorded one: its record's save may not have landed
	// yet, so the delivery fails and the queue brings it back; once it is
	// older than any save could take, it is stale.
	ahead := hooksWake("tok-1", due.at.Add(sec(2)))
	r.clock.Set(ahead.at)
	if err := r.h.Handle(t.Context(), tick(t, ahead)); !errors.Is(err, invocation.ErrAheadOfRecord) {
		t.Errorf("wake-up ahead of its record: got %v, want ErrAheadOfRecord", err)
	}
	r.clock.Set(ahead.at.Add(invocation.SaveInFlight))
	r.handle(t, tick(t, ahead))
	r.clock.Set(due.at)
	if after, v := r.state(t, "tok-1"); v != version || after.Steps != before.Steps {
		t.Fatalf("state changed by non-matching wake-ups: version %d -> %d", version, v)
	}
	r.handle(t, tick(t, due))
	_, v1 := r.state(t, "tok-1")
	r.handle(t, tick(t, due)) // SQS delivers at least once
	if _, v2 := r.state(t, "tok-1"); v2 != v1 || v1 != version+1 {
		t.Errorf("versions: first delivery %d -> %d, duplicate -> %d; want one step", version, v1, v2)
	}
}

func hooksWake(token string, at time.Time) wake { return wake{key: hooks.StateKey(token), at: at} }

func TestLongWaitChainsEarlyWakeUps(t *testing.T) {
	// A one-hour deregistration delay: SQS delays a message at most 15
	// minutes, so the wake-up arrives early and is sent on unchanged.
	p := testPolicy()
	p.HeartbeatTimeout = clock.Duration(2 * time.Hour)
	p.Terminate.Interval = clock.Duration(time.Hour)
	r := newRig(t, p)
	r.targets.delays[tgBlue] = time.Hour
	r.targets.drainFor = 50 * time.Minute
	r.handle(t, terminateAction("tok-1").payload(t))
	due, ok := r.sched.next()
	if !ok || !due.at.Equal(t0.Add(time.Hour)) {
		t.Fatalf("first wake-up: got %v, want in one hour", due.at.Sub(t0))
	}
	s0, v0 := r.state(t, "tok-1")
	for _, early := range []time.Duration{15 * time.Minute, 30 * time.Minute, 45 * time.Minute} {
		r.clock.Set(t0.Add(early))
		r.handle(t, tick(t, due))
		again, ok := r.sched.next()
		if !ok || again != due {
			t.Fatalf("at %v: got re-scheduled %v, want the same wake-up %v", early, again, due)
		}
		if s, v := r.state(t, "tok-1"); v != v0 || s.Steps != s0.Steps {
			t.Fatalf("at %v: an early wake-up stepped the action", early)
		}
	}
	r.clock.Set(due.at)
	r.handle(t, tick(t, due))
	if diff := cmp.Diff([]asg.LifecycleCompletion{completion("tok-1", asg.ResultContinue)}, r.hooks.completions); diff != "" {
		t.Errorf("completions (-want +got):\n%s", diff)
	}
}

func TestTerminateDrain(t *testing.T) {
	tests := []struct {
		name           string
		command        bool
		commandAt      time.Duration
		wantDeregister []string
		wantDone       time.Duration
		wantProbed     []string
	}{
		{
			name:           "deregister from the group's target groups, wait for the drain, continue",
			wantDeregister: []string{"deregister " + tgBlue + " i-1"},
			wantDone:       sec(50), // drained after 45 s, seen at the 50 s check
		},
		{
			name:           "then run the drain command",
			command:        true,
			commandAt:      sec(70),
			wantDeregister: []string{"deregister " + tgBlue + " i-1"},
			wantDone:       sec(70),
			// The command phase starts in the invocation that saw the
			// drain (50 s), then looks every 10 s.
			wantProbed: []string{"drain", "drain", "drain"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := testPolicy()
			if tt.command {
				p.Terminate.Command = &lifecycle.Probe{Name: "drain", Kind: lifecycle.SSM, Commands: []string{"systemctl stop app"}}
			}
			r := newRig(t, p)
			r.probe("drain", tt.commandAt, lifecycle.Pass)
			r.handle(t, terminateAction("tok-1").payload(t))
			r.drive(t, 0, 100)
			if diff := cmp.Diff(tt.wantDeregister, r.targets.calls); diff != "" {
				t.Errorf("deregistrations (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]asg.LifecycleCompletion{completion("tok-1", asg.ResultContinue)}, r.hooks.completions); diff != "" {
				t.Errorf("completions (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantProbed, r.prober.calls); diff != "" {
				t.Errorf("probes run (-want +got):\n%s", diff)
			}
			if r.groups.describes != 1 {
				t.Errorf("group described %d times, want once (target groups are kept in state)", r.groups.describes)
			}
			if v, ok := r.metricValue(t, "TimeToDrain"); !ok || v != tt.wantDone.Seconds() {
				t.Errorf("TimeToDrain: got %v (%v), want %v", v, ok, tt.wantDone.Seconds())
			}
		})
	}
}

func TestDrainSurvivesAWSTrouble(t *testing.T) {
	throttled := &smithy.GenericAPIError{Code: "Throttling", Message: "Rate exceeded"}
	t.Run("an unreadable group is looked at again on the next wake-up", func(t *testing.T) {
		r := newRig(t, testPolicy())
		r.groups.errs = []error{throttled}
		r.handle(t, terminateAction("tok-1").payload(t))
		if len(r.targets.calls) != 0 || len(r.sched.wakes) != 1 {
			t.Fatalf("after a failed describe: got %v deregistrations and %d wake-ups, want none and 1", r.targets.calls, len(r.sched.wakes))
		}
		r.drive(t, 0, 100)
		if diff := cmp.Diff([]string{"deregister " + tgBlue + " i-1"}, r.targets.calls); diff != "" {
			t.Errorf("deregistrations (-want +got):\n%s", diff)
		}
		if len(r.hooks.completions) != 1 {
			t.Errorf("completions: got %d, want 1", len(r.hooks.completions))
		}
	})
	t.Run("a group the role may not read is not waited on for hours", func(t *testing.T) {
		r := newRig(t, testPolicy())
		denied := &smithy.GenericAPIError{Code: "AccessDenied", Message: "not authorized to perform: autoscaling:DescribeAutoScalingGroups"}
		r.groups.errs = []error{denied, denied, denied, denied}
		r.handle(t, terminateAction("tok-1").payload(t))
		r.drive(t, 0, 100)
		s, _ := r.state(t, "tok-1")
		if s.Outcome != lifecycle.Unverified || len(r.hooks.completions) != 1 {
			t.Fatalf("outcome %q (%s), %d completions; want %q and one completion", s.Outcome, s.Reason, len(r.hooks.completions), lifecycle.Unverified)
		}
		if elapsed := s.DoneAt.Sub(t0); elapsed > time.Minute {
			t.Errorf("completed %s after the event, want at once: the error will not go away", elapsed)
		}
		if _, ok := r.metricValue(t, "DrainUnverified"); !ok {
			t.Errorf("no DrainUnverified metric; have %v", r.metricNames(t))
		}
	})
	t.Run("a deregistration rejected as not registered (InvalidTarget) is no error", func(t *testing.T) {
		// Auto Scaling deregisters a terminating instance itself, so the
		// drain can lose that race.
		r := newRig(t, testPolicy())
		r.targets.deregErr = &smithy.GenericAPIError{Code: "InvalidTarget", Message: "The following targets are not registered: 'i-1'"}
		r.handle(t, terminateAction("tok-1").payload(t))
		r.drive(t, 0, 100)
		if diff := cmp.Diff([]asg.LifecycleCompletion{completion("tok-1", asg.ResultContinue)}, r.hooks.completions); diff != "" {
			t.Errorf("completions (-want +got):\n%s", diff)
		}
	})
}

func TestWarmPool(t *testing.T) {
	tests := []struct {
		name       string
		action     action
		wantProbed []string
		wantMetric string
	}{
		{
			name:       "launch into the warm pool: boot gate, no HTTP probe",
			action:     action{transition: "autoscaling:EC2_INSTANCE_LAUNCHING", token: "tok-1", instance: "i-1", origin: "EC2", destination: "WarmPool", at: t0},
			wantProbed: []string{"status"},
			wantMetric: "TimeToWarm",
		},
		{
			name:       "warm pool to the group: the full gate",
			action:     action{transition: "autoscaling:EC2_INSTANCE_LAUNCHING", token: "tok-1", instance: "i-1", origin: "WarmPool", destination: "AutoScalingGroup", at: t0},
			wantProbed: []string{"app", "status"},
			wantMetric: "TimeToReady",
		},
		{
			name:       "terminate from the warm pool: released at once",
			action:     action{transition: "autoscaling:EC2_INSTANCE_TERMINATING", token: "tok-1", instance: "i-1", origin: "WarmPool", destination: "EC2", at: t0},
			wantMetric: "",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, testPolicy())
			r.probe("app", 0, lifecycle.Pass)
			r.probe("status", 0, lifecycle.Pass)
			r.handle(t, tt.action.payload(t))
			if diff := cmp.Diff([]asg.LifecycleCompletion{completion("tok-1", asg.ResultContinue)}, r.hooks.completions); diff != "" {
				t.Errorf("completions (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantProbed, r.prober.calls); diff != "" {
				t.Errorf("probes run (-want +got):\n%s", diff)
			}
			if len(r.targets.calls) != 0 || r.groups.describes != 0 {
				t.Errorf("touched target groups: %v, %d describes", r.targets.calls, r.groups.describes)
			}
			if tt.wantMetric != "" {
				if _, ok := r.metricValue(t, tt.wantMetric); !ok {
					t.Errorf("metric %s missing; got %v", tt.wantMetric, r.metricNames(t))
				}
			}
		})
	}
}

func TestCompletionErrors(t *testing.T) {
	throttled := &smithy.GenericAPIError{Code: "Throttling", Message: "Rate exceeded"}
	t.Run("no active lifecycle action: logged and treated as done", func(t *testing.T) {
		r := newRig(t, testPolicy())
		r.probe("app", 0, lifecycle.Pass)
		r.probe("status", 0, lifecycle.Pass)
		r.hooks.completeErr = []error{errNoActive}
		r.handle(t, launchAction("tok-1").payload(t))
		s, _ := r.state(t, "tok-1")
		if s.Outcome != lifecycle.Gone || !s.Done() {
			t.Errorf("state: got outcome %q done %v, want gone", s.Outcome, s.Done())
		}
		if _, ok := r.metricValue(t, "HookGone"); !ok {
			t.Errorf("HookGone metric missing; got %v", r.metricNames(t))
		}
		if !strings.Contains(r.logs.String(), "lifecycle action no longer active") {
			t.Error("the lost action was not logged")
		}
	})
	t.Run("a heartbeat for an action gone ends it too", func(t *testing.T) {
		r := newRig(t, testPolicy())
		r.hooks.beatErr = errNoActive
		r.handle(t, launchAction("tok-1").payload(t))
		r.drive(t, 0, 100)
		s, _ := r.state(t, "tok-1")
		if s.Outcome != lifecycle.Gone || len(r.hooks.completions) != 0 || len(r.sched.wakes) != 0 {
			t.Errorf("got outcome %q, %d completions, %d wake-ups; want gone, none, none", s.Outcome, len(r.hooks.completions), len(r.sched.wakes))
		}
	})
	t.Run("any other error fails the invocation and lets the retry redo it", func(t *testing.T) {
		r := newRig(t, testPolicy())
		r.probe("app", 0, lifecycle.Pass)
		r.probe("status", 0, lifecycle.Pass)
		r.hooks.completeErr = []error{throttled}
		ev := launchAction("tok-1").payload(t)
		err := r.h.Handle(t.Context(), ev)
		var ae smithy.APIError
		if !errors.As(err, &ae) || ae.ErrorCode() != "Throttling" {
			t.Fatalf("Handle: got %v, want the throttling error", err)
		}
		if _, v := r.state(t, "tok-1"); v != 0 {
			t.Fatalf("state saved after a failed completion (version %d)", v)
		}
		r.handle(t, ev) // Lambda's retry: the claim was released
		if got := len(r.hooks.completions); got != 2 {
			t.Fatalf("completions: got %d, want 2 (failed, then retried)", got)
		}
		if s, _ := r.state(t, "tok-1"); s.Outcome != lifecycle.Ready {
			t.Errorf("outcome after retry: got %q, want ready", s.Outcome)
		}
	})
	t.Run("a failed schedule fails the invocation; the retry schedules", func(t *testing.T) {
		r := newRig(t, testPolicy())
		r.sched.err = errors.New("queue unreachable")
		ev := launchAction("tok-1").payload(t)
		if err := r.h.Handle(t.Context(), ev); err == nil || !strings.Contains(err.Error(), "queue unreachable") {
			t.Fatalf("Handle: got %v, want the scheduling error", err)
		}
		if _, v := r.state(t, "tok-1"); v != 0 {
			t.Fatalf("state saved without a wake-up on its way (version %d)", v)
		}
		r.sched.err = nil
		r.handle(t, ev)
		if len(r.sched.wakes) != 1 {
			t.Errorf("wake-ups after retry: got %d, want 1", len(r.sched.wakes))
		}
	})
}

func TestIgnoredEvents(t *testing.T) {
	samples, err := event.Samples()
	if err != nil {
		t.Fatalf("Samples: %v", err)
	}
	tests := []struct {
		name    string
		payload []byte
	}{
		{name: "test notification through EventBridge", payload: samples["autoscaling-test-notification-eventbridge"]},
		{name: "test notification through SQS", payload: samples["autoscaling-test-notification-sqs"]},
		{name: "lifecycle action of an unmanaged group", payload: samples["autoscaling-launch-lifecycle-action"]},
		{name: "an alarm", payload: samples["cloudwatch-alarm-state-change-single-metric"]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if len(tt.payload) == 0 {
				t.Fatal("sample missing")
			}
			r := newRig(t, testPolicy())
			r.handle(t, tt.payload)
			if len(r.hooks.completions)+len(r.prober.calls)+len(r.sched.wakes) != 0 {
				t.Errorf("acted on an ignored event: %d completions, %v probes, %d wake-ups",
					len(r.hooks.completions), r.prober.calls, len(r.sched.wakes))
			}
		})
	}
}

func TestSampleLifecycleActions(t *testing.T) {
	// The real samples, with the sample's group under management.
	samples, err := event.Samples()
	if err != nil {
		t.Fatalf("Samples: %v", err)
	}
	tests := []struct {
		sample, wantResult string
	}{
		{"autoscaling-launch-lifecycle-action", asg.ResultContinue},
		{"autoscaling-launch-lifecycle-action-warm-pool", asg.ResultContinue},
		{"autoscaling-launch-lifecycle-action-sns", asg.ResultContinue},
		{"autoscaling-terminate-lifecycle-action", asg.ResultContinue},
	}
	for _, tt := range tests {
		t.Run(tt.sample, func(t *testing.T) {
			r := newRig(t, testPolicy())
			r.h.Config.Fleets[0].Group = "my-asg"
			r.groups.groups["my-asg"] = asg.Group{Name: "my-asg"}
			r.probe("app", 0, lifecycle.Pass)
			r.probe("status", 0, lifecycle.Pass)
			// The samples are years old; the handler runs in their time.
			evs, err := event.Decode(samples[tt.sample])
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			r.clock.Set(evs[0].Time.Add(sec(1)))
			r.prober.clock = r.clock
			r.prober.script = map[string][]scripted{
				"app": {{from: evs[0].Time, status: lifecycle.Pass}}, "status": {{from: evs[0].Time, status: lifecycle.Pass}},
			}
			r.handle(t, samples[tt.sample])
			if len(r.hooks.completions) != 1 || r.hooks.completions[0].Result != tt.wantResult {
				t.Fatalf("completions: got %+v, want one %s", r.hooks.completions, tt.wantResult)
			}
			a := evs[0].Detail.(*event.LifecycleAction)
			if got := r.hooks.completions[0]; got.Token != a.Token || got.InstanceID != a.InstanceID || got.Hook != a.HookName {
				t.Errorf("completion: got %+v, want token %s instance %s hook %s", got, a.Token, a.InstanceID, a.HookName)
			}
		})
	}
}

func TestDryRunChangesNothing(t *testing.T) {
	r := newRig(t, testPolicy())
	r.h.Config.Fleets[0].DryRun = true
	r.probe("app", 0, lifecycle.Pass)
	r.probe("status", 0, lifecycle.Pass)
	r.handle(t, launchAction("tok-1").payload(t))
	r.handle(t, terminateAction("tok-2").payload(t))
	r.drive(t, 0, 100)
	if len(r.hooks.completions)+len(r.hooks.heartbeats)+len(r.targets.calls) != 0 {
		t.Errorf("dry run applied actions: %v %v %v", r.hooks.completions, r.hooks.heartbeats, r.targets.calls)
	}
	if s, _ := r.state(t, "tok-1"); s.Outcome != lifecycle.Ready {
		t.Errorf("dry run outcome: got %q, want the decision recorded (ready)", s.Outcome)
	}
}

func TestMalformedEventIsAnError(t *testing.T) {
	r := newRig(t, testPolicy())
	if err := r.h.Handle(t.Context(), []byte(`{"detail-type":"EC2 Instance-launch Lifecycle Action","source":"aws.autoscaling"}`)); !errors.Is(err, event.ErrMalformed) {
		t.Errorf("got %v, want ErrMalformed", err)
	}
}

// TestForeignHookIsLeftAlone: another tool's hook on the same group is
// that tool's to complete, even if the event reaches this function.
func TestForeignHookIsLeftAlone(t *testing.T) {
	samples, err := event.Samples()
	if err != nil {
		t.Fatalf("Samples: %v", err)
	}
	r := newRig(t, testPolicy())
	r.h.Config.Fleets[0].Group = "my-asg"
	r.h.Config.Fleets[0].Hooks = config.Hooks{Launch: "stampkit-launch", Terminate: "stampkit-terminate"}
	r.groups.groups["my-asg"] = asg.Group{Name: "my-asg"}
	r.handle(t, samples["autoscaling-launch-lifecycle-action"]) // hook "my-lifecycle-hook"
	if len(r.hooks.completions)+len(r.prober.calls)+len(r.sched.wakes) != 0 {
		t.Errorf("acted on another tool's hook: %d completions, %v probes, %d wake-ups",
			len(r.hooks.completions), r.prober.calls, len(r.sched.wakes))
	}
}

// TestHookAliveBeyondItsRecord: the action's record says its hook timed
// out, but the record can be behind Auto Scaling: a heartbeat sent by an
// invocation that failed before saving (a wake-up it could not schedule)
// kept the hook alive without a trace. The handler asks Auto Scaling with
// a heartbeat before it gives the hook up; a ready instance is continued,
// not left to the launch hook's default result (ABANDON).
func TestHookAliveBeyondItsRecord(t *testing.T) {
	tests := []struct {
		name            string
		beatErr         error
		wantCompletions []asg.LifecycleCompletion
		wantOutcome     lifecycle.Outcome
	}{
		{"alive: a heartbeat the record missed", nil, []asg.LifecycleCompletion{completion("tok-1", asg.ResultContinue)}, lifecycle.Ready},
		{"timed out at Auto Scaling too", &smithy.GenericAPIError{Code: "ValidationError", Message: "No active Lifecycle Action found with instance ID i-1"},
			nil, lifecycle.Expired},
		// The group was deleted or replaced: no heartbeat will ever answer,
		// and failing would carry every wake-up into the dead-letter queue.
		{"its group gone", &smithy.GenericAPIError{Code: "ValidationError", Message: "AutoScalingGroup name not found - AutoScalingGroup web-asg not found"},
			nil, lifecycle.Expired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, testPolicy())
			r.probe("status", 0, lifecycle.Pass)
			r.probe("app", 5*time.Minute, lifecycle.Pass)
			r.handle(t, launchAction("tok-1").payload(t))
			w, ok := r.sched.next()
			if !ok {
				t.Fatal("no wake-up scheduled")
			}
			// The wake-up comes past the recorded expiry (the 300 s
			// heartbeat timeout from the start), redelivered after its
			// invocations failed.
			r.hooks.beatErr = tt.beatErr
			r.clock.Set(t0.Add(5*time.Minute + sec(5)))
			r.handle(t, tick(t, w))
			if diff := cmp.Diff(tt.wantCompletions, r.hooks.completions); diff != "" {
				t.Errorf("completions (-want +got):\n%s", diff)
			}
			if s, _ := r.state(t, "tok-1"); s.Outcome != tt.wantOutcome {
				t.Errorf("outcome: got %q (%s), want %q", s.Outcome, s.Reason, tt.wantOutcome)
			}
			if len(r.hooks.heartbeats) != 1 {
				t.Errorf("heartbeats: got %d, want 1 asking Auto Scaling whether the hook is alive", len(r.hooks.heartbeats))
			}
		})
	}
}
