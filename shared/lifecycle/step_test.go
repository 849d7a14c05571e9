package lifecycle_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/stampkit/stampkit/shared/clock"
	"github.com/stampkit/stampkit/shared/lifecycle"
)

var t0 = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

const (
	tgBlue  = "arn:aws:elasticloadbalancing:us-east-1:111111111111:targetgroup/blue/1"
	tgGreen = "arn:aws:elasticloadbalancing:us-east-1:111111111111:targetgroup/green/2"
)

func sec(n int) time.Duration { return time.Duration(n) * time.Second }

func dur(d time.Duration) clock.Duration { return clock.Duration(d) }

// testPolicy: 300 s heartbeat (margin 60 s), 10 s interval, 10 min gate,
// an HTTP, an SSM and an EC2 status probe.
func testPolicy() lifecycle.Policy {
	return lifecycle.Policy{
		HeartbeatTimeout: dur(sec(300)),
		Launch: lifecycle.Launch{
			Timeout:  dur(10 * time.Minute),
			Interval: dur(sec(10)),
			Probes: []lifecycle.Probe{
				{Name: "app", Kind: lifecycle.HTTP, Port: 8080, Path: "/healthz", AllowedFailures: 1},
				{Name: "boot", Kind: lifecycle.SSM, Commands: []string{"cloud-init status --wait"}},
				{Name: "status", Kind: lifecycle.EC2Status},
			},
		},
		Terminate: lifecycle.Terminate{Interval: dur(sec(10)), Slack: dur(sec(30))},
	}
}

func launch() lifecycle.Request {
	return lifecycle.Request{Token: "tok-1", Group: "web", Hook: "launch", InstanceID: "i-1", Transition: lifecycle.Launching, At: t0}
}

func terminate() lifecycle.Request {
	r := launch()
	r.Hook, r.Transition = "terminate", lifecycle.Terminating
	return r
}

// heartbeatAt prepares a state whose hook was last kept alive at d after
// the start, so that a step late in a long gate is not an expired one.
func heartbeatAt(d time.Duration) func(lifecycle.State) lifecycle.State {
	return func(s lifecycle.State) lifecycle.State {
		s.HeartbeatAt = t0.Add(d)
		return s
	}
}

func results(status lifecycle.Status, names ...string) []lifecycle.ProbeResult {
	var out []lifecycle.ProbeResult
	for _, n := range names {
		out = append(out, lifecycle.ProbeResult{Name: n, Status: status, Detail: n + " " + string(status)})
	}
	return out
}

func complete(result string) []lifecycle.Action {
	return []lifecycle.Action{{Kind: lifecycle.Complete, Result: result}}
}

func TestStepLaunchGate(t *testing.T) {
	tests := []struct {
		name        string
		policy      func(*lifecycle.Policy)
		prepare     func(lifecycle.State) lifecycle.State // state before the step under test
		obs         lifecycle.Observation
		wantActions []lifecycle.Action
		wantWake    time.Time
		wantPhase   lifecycle.Phase
		wantOutcome lifecycle.Outcome
		wantReason  string // substring
	}{
		{
			name:        "ready at once",
			obs:         lifecycle.Observation{Now: t0.Add(sec(2)), Probes: results(lifecycle.Pass, "app", "boot", "status")},
			wantActions: complete(lifecycle.ResultContinue),
			wantPhase:   lifecycle.PhaseDone, wantOutcome: lifecycle.Ready,
			wantReason: "app, boot, status passed",
		},
		{
			name:        "no probes is ready at once",
			policy:      func(p *lifecycle.Policy) { p.Launch.Probes = nil },
			obs:         lifecycle.Observation{Now: t0},
			wantActions: complete(lifecycle.ResultContinue),
			wantPhase:   lifecycle.PhaseDone, wantOutcome: lifecycle.Ready,
			wantReason: "no probes",
		},
		{
			name: "slow: some pending waits one interval",
			obs: lifecycle.Observation{Now: t0.Add(sec(5)), Probes: append(results(lifecycle.Pass, "status"),
				results(lifecycle.Pending, "app", "boot")...)},
			wantWake:  t0.Add(sec(15)),
			wantPhase: lifecycle.PhaseProbe,
		},
		{
			name: "slow: the last pending probe passes later",
			prepare: func(s lifecycle.State) lifecycle.State {
				_, s, _ = lifecycle.Step(testPolicy(), s, lifecycle.Observation{Now: t0, Probes: results(lifecycle.Pass, "status", "boot")})
				return s
			},
			// Passed probes are not observed again.
			obs:         lifecycle.Observation{Now: t0.Add(sec(40)), Probes: results(lifecycle.Pass, "app")},
			wantActions: complete(lifecycle.ResultContinue),
			wantPhase:   lifecycle.PhaseDone, wantOutcome: lifecycle.Ready,
			wantReason: "ready after 40s",
		},
		{
			name:        "never ready: abandoned at the gate timeout",
			prepare:     heartbeatAt(9 * time.Minute),
			obs:         lifecycle.Observation{Now: t0.Add(10 * time.Minute), Probes: results(lifecycle.Pending, "app", "boot", "status")},
			wantActions: complete(lifecycle.ResultAbandon),
			wantPhase:   lifecycle.PhaseDone, wantOutcome: lifecycle.Abandoned,
			wantReason: "not ready after 10m0s: waiting on app (app pending)",
		},
		{
			name:      "the wake-up never passes the gate timeout",
			prepare:   heartbeatAt(9 * time.Minute),
			obs:       lifecycle.Observation{Now: t0.Add(10*time.Minute - sec(3)), Probes: results(lifecycle.Pending, "app", "boot", "status")},
			wantWake:  t0.Add(10 * time.Minute),
			wantPhase: lifecycle.PhaseProbe,
		},
		{
			name:      "a failure within the allowance keeps waiting",
			obs:       lifecycle.Observation{Now: t0.Add(sec(1)), Probes: results(lifecycle.Fail, "app")},
			wantWake:  t0.Add(sec(11)),
			wantPhase: lifecycle.PhaseProbe,
		},
		{
			name: "a failure beyond the allowance abandons",
			prepare: func(s lifecycle.State) lifecycle.State {
				_, s, _ = lifecycle.Step(testPolicy(), s, lifecycle.Observation{Now: t0, Probes: results(lifecycle.Fail, "app")})
				return s
			},
			obs:         lifecycle.Observation{Now: t0.Add(sec(10)), Probes: results(lifecycle.Fail, "app")},
			wantActions: complete(lifecycle.ResultAbandon),
			wantPhase:   lifecycle.PhaseDone, wantOutcome: lifecycle.Abandoned,
			wantReason: "probe app failed 2 times (1 allowed): app fail",
		},
		{
			name:        "an SSM failure with no allowance abandons at once",
			obs:         lifecycle.Observation{Now: t0.Add(sec(1)), Probes: results(lifecycle.Fail, "boot")},
			wantActions: complete(lifecycle.ResultAbandon),
			wantPhase:   lifecycle.PhaseDone, wantOutcome: lifecycle.Abandoned,
			wantReason: "probe boot failed 1 times (0 allowed)",
		},
		{
			name:      "a probe error is not a failure",
			obs:       lifecycle.Observation{Now: t0.Add(sec(1)), Probes: results(lifecycle.Error, "app", "boot", "status")},
			wantWake:  t0.Add(sec(11)),
			wantPhase: lifecycle.PhaseProbe,
		},
		{
			name:        "probe errors until the timeout abandon with the error as reason",
			prepare:     heartbeatAt(10 * time.Minute),
			obs:         lifecycle.Observation{Now: t0.Add(11 * time.Minute), Probes: results(lifecycle.Error, "app", "boot", "status")},
			wantActions: complete(lifecycle.ResultAbandon),
			wantPhase:   lifecycle.PhaseDone, wantOutcome: lifecycle.Abandoned,
			wantReason: "status (status error)",
		},
		{
			name: "the gate timeout is capped below the hook's global timeout",
			policy: func(p *lifecycle.Policy) { // global 50 min, margin 10 s
				p.HeartbeatTimeout, p.Launch.Timeout = dur(sec(30)), dur(3*time.Hour)
			},
			prepare:     heartbeatAt(50*time.Minute - sec(15)),
			obs:         lifecycle.Observation{Now: t0.Add(50*time.Minute - sec(10)), Probes: results(lifecycle.Pending, "app", "boot", "status")},
			wantActions: complete(lifecycle.ResultAbandon),
			wantPhase:   lifecycle.PhaseDone, wantOutcome: lifecycle.Abandoned,
		},
		{
			name: "expired: the hook timed out before the step",
			obs:  lifecycle.Observation{Now: t0.Add(sec(300)), Probes: results(lifecycle.Pass, "app", "boot", "status")},
			// Nothing is sent: the hook's default result already applied.
			wantPhase: lifecycle.PhaseDone, wantOutcome: lifecycle.Expired,
			wantReason: "hook timed out at 2026-11-25T12:05:00Z",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := testPolicy()
			if tt.policy != nil {
				tt.policy(&p)
			}
			s := lifecycle.Begin(p, launch())
			if tt.prepare != nil {
				s = tt.prepare(s)
			}
			acts, next, wake := lifecycle.Step(p, s, tt.obs)
			if diff := cmp.Diff(tt.wantActions, acts); diff != "" {
				t.Errorf("actions (-want +got):\n%s", diff)
			}
			if !wake.Equal(tt.wantWake) {
				t.Errorf("wake: got %v, want %v", wake, tt.wantWake)
			}
			if !next.WakeAt.Equal(tt.wantWake) {
				t.Errorf("state WakeAt: got %v, want %v", next.WakeAt, tt.wantWake)
			}
			if next.Phase != tt.wantPhase || next.Outcome != tt.wantOutcome {
				t.Errorf("phase/outcome: got %s/%q, want %s/%q", next.Phase, next.Outcome, tt.wantPhase, tt.wantOutcome)
			}
			if !strings.Contains(next.Reason, tt.wantReason) {
				t.Errorf("reason: got %q, want it to contain %q", next.Reason, tt.wantReason)
			}
		})
	}
}

func TestStepRecordsSSMCommand(t *testing.T) {
	p := testPolicy()
	s := lifecycle.Begin(p, launch())
	obs := lifecycle.Observation{Now: t0, Probes: []lifecycle.ProbeResult{
		{Name: "boot", Status: lifecycle.Pending, Detail: "command sent", CommandID: "cmd-1"},
	}}
	_, s, _ = lifecycle.Step(p, s, obs)
	if got := s.Probes[1].CommandID; got != "cmd-1" {
		t.Fatalf("command id after pending: got %q, want cmd-1", got)
	}
	_, s, _ = lifecycle.Step(p, s, lifecycle.Observation{Now: t0.Add(sec(10)), Probes: results(lifecycle.Pass, "boot")})
	if got := s.Probes[1]; got.CommandID != "" || !got.Passed || !got.PassedAt.Equal(t0.Add(sec(10))) {
		t.Fatalf("boot probe after pass: got %+v, want passed at +10s with no command id", got)
	}
	if got, want := len(s.PendingProbes()), 2; got != want {
		t.Fatalf("pending probes: got %d, want %d", got, want)
	}
}

func TestStepDrain(t *testing.T) {
	blue := func(state string) lifecycle.Target {
		return lifecycle.Target{TargetGroupARN: tgBlue, State: state, Delay: sec(60)}
	}
	green := func(state string) lifecycle.Target {
		return lifecycle.Target{TargetGroupARN: tgGreen, State: state, Delay: sec(20)}
	}
	slow := func(state string) lifecycle.Target {
		return lifecycle.Target{TargetGroupARN: tgBlue, State: state, Delay: 10 * time.Minute}
	}
	drainCmd := &lifecycle.Probe{Name: "drain", Kind: lifecycle.SSM, Commands: []string{"systemctl stop worker"}, Timeout: dur(sec(60))}
	const denied = "AccessDenied: not authorized to perform elasticloadbalancing:DescribeTargetHealth"
	unread := lifecycle.Observation{TargetsErr: denied}
	refused := lifecycle.Observation{TargetsErr: denied, TargetsRejected: true}
	heartbeat := lifecycle.Action{Kind: lifecycle.Heartbeat}
	type step struct {
		at          time.Duration
		obs         lifecycle.Observation // Now is set from at
		wantActions []lifecycle.Action
		wantWake    time.Duration // from t0; -1: none (done)
		wantPhase   lifecycle.Phase
	}
	tests := []struct {
		name        string
		request     func(*lifecycle.Request)
		command     *lifecycle.Probe
		steps       []step
		wantOutcome lifecycle.Outcome
		wantReason  string
	}{
		{
			name: "drain with delay: deregister every registered target group, wait, continue",
			steps: []step{
				{at: 0, obs: lifecycle.Observation{Targets: []lifecycle.Target{blue("healthy"), green("")}},
					wantActions: []lifecycle.Action{{Kind: lifecycle.Deregister, TargetGroupARN: tgBlue}},
					wantWake:    sec(10), wantPhase: lifecycle.PhaseDeregister},
				{at: sec(10), obs: lifecycle.Observation{Targets: []lifecycle.Target{blue("draining"), green("")}},
					wantWake: sec(20), wantPhase: lifecycle.PhaseDeregister},
				{at: sec(61), obs: lifecycle.Observation{Targets: []lifecycle.Target{blue("unused"), green("")}},
					wantActions: complete(lifecycle.ResultContinue), wantWake: -1, wantPhase: lifecycle.PhaseDone},
			},
			wantOutcome: lifecycle.Drained,
			wantReason:  "out of 2 target groups",
		},
		{
			name: "already deregistered by Auto Scaling: continue at once",
			steps: []step{
				{at: 0, obs: lifecycle.Observation{Targets: []lifecycle.Target{blue(""), green("unused")}},
					wantActions: complete(lifecycle.ResultContinue), wantWake: -1, wantPhase: lifecycle.PhaseDone},
			},
			wantOutcome: lifecycle.Drained,
		},
		{
			name: "a group without target groups continues at once",
			steps: []step{
				{at: 0, obs: lifecycle.Observation{}, wantActions: complete(lifecycle.ResultContinue), wantWake: -1, wantPhase: lifecycle.PhaseDone},
			},
			wantOutcome: lifecycle.Drained,
			wantReason:  "out of 0 target groups",
		},
		{
			name: "draining past delay and slack: continue anyway",
			steps: []step{
				{at: 0, obs: lifecycle.Observation{Targets: []lifecycle.Target{blue("draining")}},
					wantWake: sec(10), wantPhase: lifecycle.PhaseDeregister},
				{at: sec(85), obs: lifecycle.Observation{Targets: []lifecycle.Target{blue("draining")}},
					wantWake: sec(90), wantPhase: lifecycle.PhaseDeregister},
				{at: sec(90), obs: lifecycle.Observation{Targets: []lifecycle.Target{blue("draining")}},
					wantActions: complete(lifecycle.ResultContinue), wantWake: -1, wantPhase: lifecycle.PhaseDone},
			},
			wantOutcome: lifecycle.Drained,
			wantReason:  "still deregistering past delay and slack",
		},
		{
			name: "unreadable target groups: wait and look again",
			steps: []step{
				{at: 0, obs: lifecycle.Observation{TargetsErr: "throttled"}, wantWake: sec(10), wantPhase: lifecycle.PhaseDeregister},
				{at: sec(10), obs: lifecycle.Observation{Targets: []lifecycle.Target{blue("")}},
					wantActions: complete(lifecycle.ResultContinue), wantWake: -1, wantPhase: lifecycle.PhaseDone},
			},
			wantOutcome: lifecycle.Drained,
		},
		{
			name: "persistently unreadable target groups: go on after ELB's default delay and slack",
			steps: []step{
				{at: 0, obs: unread, wantWake: sec(10), wantPhase: lifecycle.PhaseDeregister},
				{at: sec(235), obs: unread, wantActions: []lifecycle.Action{heartbeat}, wantWake: sec(245), wantPhase: lifecycle.PhaseDeregister},
				{at: sec(325), obs: unread, wantWake: sec(330), wantPhase: lifecycle.PhaseDeregister},
				{at: sec(330), obs: unread, wantActions: complete(lifecycle.ResultContinue), wantWake: -1, wantPhase: lifecycle.PhaseDone},
			},
			wantOutcome: lifecycle.Unverified,
			wantReason:  "target groups unreadable (" + denied + ") for 5m30s",
		},
		{
			name: "unreadable target groups after a read: the delay read bounds the wait",
			steps: []step{
				{at: 0, obs: lifecycle.Observation{Targets: []lifecycle.Target{blue("draining")}}, wantWake: sec(10), wantPhase: lifecycle.PhaseDeregister},
				{at: sec(80), obs: unread, wantWake: sec(90), wantPhase: lifecycle.PhaseDeregister},
				{at: sec(90), obs: unread, wantActions: complete(lifecycle.ResultContinue), wantWake: -1, wantPhase: lifecycle.PhaseDone},
			},
			wantOutcome: lifecycle.Unverified,
			wantReason:  denied,
		},
		{
			name: "unreadable target groups: a deregistration asked for later keeps its delay",
			steps: []step{
				{at: 0, obs: unread, wantWake: sec(10), wantPhase: lifecycle.PhaseDeregister},
				{at: sec(100), obs: lifecycle.Observation{Targets: []lifecycle.Target{blue("healthy")}},
					wantActions: []lifecycle.Action{{Kind: lifecycle.Deregister, TargetGroupARN: tgBlue}},
					wantWake:    sec(110), wantPhase: lifecycle.PhaseDeregister},
				{at: sec(185), obs: unread, wantWake: sec(190), wantPhase: lifecycle.PhaseDeregister},
				{at: sec(190), obs: unread, wantActions: complete(lifecycle.ResultContinue), wantWake: -1, wantPhase: lifecycle.PhaseDone},
			},
			wantOutcome: lifecycle.Unverified,
			wantReason:  denied,
		},
		{
			name: "target groups refused: go on at once",
			steps: []step{
				{at: 0, obs: refused, wantActions: complete(lifecycle.ResultContinue), wantWake: -1, wantPhase: lifecycle.PhaseDone},
			},
			wantOutcome: lifecycle.Unverified,
			wantReason:  "target groups unreadable (" + denied + ") refused",
		},
		{
			name:    "target groups refused: the drain command still runs and the outcome stays unverified",
			command: drainCmd,
			steps: []step{
				{at: 0, obs: refused, wantWake: 0, wantPhase: lifecycle.PhaseCommand},
				{at: sec(1), obs: lifecycle.Observation{Command: &lifecycle.ProbeResult{Name: "drain", Status: lifecycle.Pass}},
					wantActions: complete(lifecycle.ResultContinue), wantWake: -1, wantPhase: lifecycle.PhaseDone},
			},
			wantOutcome: lifecycle.Unverified,
			wantReason:  "drain command succeeded (target groups unverified: " + denied + ")",
		},
		{
			name: "a step that deregisters and heart-beats sends the heartbeat first",
			steps: []step{
				{at: 0, obs: lifecycle.Observation{Targets: []lifecycle.Target{slow("healthy")}},
					wantActions: []lifecycle.Action{{Kind: lifecycle.Deregister, TargetGroupARN: tgBlue}},
					wantWake:    sec(10), wantPhase: lifecycle.PhaseDeregister},
				// Still registered: the Deregister keeps failing.
				{at: sec(235), obs: lifecycle.Observation{Targets: []lifecycle.Target{slow("healthy"), green("healthy")}},
					wantActions: []lifecycle.Action{heartbeat, {Kind: lifecycle.Deregister, TargetGroupARN: tgBlue}, {Kind: lifecycle.Deregister, TargetGroupARN: tgGreen}},
					wantWake:    sec(245), wantPhase: lifecycle.PhaseDeregister},
			},
		},
		{
			name:    "drain command after deregistration succeeds",
			command: drainCmd,
			steps: []step{
				{at: 0, obs: lifecycle.Observation{Targets: []lifecycle.Target{blue("unused")}},
					wantWake: 0, wantPhase: lifecycle.PhaseCommand},
				{at: sec(1), obs: lifecycle.Observation{Command: &lifecycle.ProbeResult{Name: "drain", Status: lifecycle.Pending, CommandID: "cmd-9"}},
					wantWake: sec(11), wantPhase: lifecycle.PhaseCommand},
				{at: sec(11), obs: lifecycle.Observation{Command: &lifecycle.ProbeResult{Name: "drain", Status: lifecycle.Pass}},
					wantActions: complete(lifecycle.ResultContinue), wantWake: -1, wantPhase: lifecycle.PhaseDone},
			},
			wantOutcome: lifecycle.Drained,
			wantReason:  "drain command succeeded",
		},
		{
			name:    "a failed drain command still continues",
			command: drainCmd,
			steps: []step{
				{at: 0, obs: lifecycle.Observation{}, wantWake: 0, wantPhase: lifecycle.PhaseCommand},
				{at: sec(5), obs: lifecycle.Observation{Command: &lifecycle.ProbeResult{Name: "drain", Status: lifecycle.Fail, Detail: "exit 3"}},
					wantActions: complete(lifecycle.ResultContinue), wantWake: -1, wantPhase: lifecycle.PhaseDone},
			},
			wantOutcome: lifecycle.Drained,
			wantReason:  "drain command failed (exit 3); terminating anyway",
		},
		{
			name:    "an unfinished drain command continues after its timeout and slack",
			command: drainCmd,
			steps: []step{
				{at: 0, obs: lifecycle.Observation{}, wantWake: 0, wantPhase: lifecycle.PhaseCommand},
				{at: sec(89), obs: lifecycle.Observation{Command: &lifecycle.ProbeResult{Name: "drain", Status: lifecycle.Pending, CommandID: "c", Detail: "InProgress"}},
					wantWake: sec(90), wantPhase: lifecycle.PhaseCommand},
				{at: sec(90), obs: lifecycle.Observation{Command: &lifecycle.ProbeResult{Name: "drain", Status: lifecycle.Error, CommandID: "c", Detail: "throttled"}},
					wantActions: complete(lifecycle.ResultContinue), wantWake: -1, wantPhase: lifecycle.PhaseDone},
			},
			wantOutcome: lifecycle.Drained,
			wantReason:  "drain command unfinished (throttled)",
		},
		{
			name:    "terminating from the warm pool releases at once",
			request: func(r *lifecycle.Request) { r.FromWarmPool = true },
			command: drainCmd,
			steps: []step{
				{at: 0, obs: lifecycle.Observation{}, wantActions: complete(lifecycle.ResultContinue), wantWake: -1, wantPhase: lifecycle.PhaseDone},
			},
			wantOutcome: lifecycle.Released,
		},
		{
			name:    "scale-in back to the warm pool drains like a termination",
			request: func(r *lifecycle.Request) { r.ToWarmPool = true },
			steps: []step{
				{at: 0, obs: lifecycle.Observation{Targets: []lifecycle.Target{blue("healthy")}},
					wantActions: []lifecycle.Action{{Kind: lifecycle.Deregister, TargetGroupARN: tgBlue}},
					wantWake:    sec(10), wantPhase: lifecycle.PhaseDeregister},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := testPolicy()
			p.Terminate.Command = tt.command
			r := terminate()
			if tt.request != nil {
				tt.request(&r)
			}
			s := lifecycle.Begin(p, r)
			for i, st := range tt.steps {
				st.obs.Now = t0.Add(st.at)
				acts, next, wake := lifecycle.Step(p, s, st.obs)
				if diff := cmp.Diff(st.wantActions, acts); diff != "" {
					t.Errorf("step %d actions (-want +got):\n%s", i, diff)
				}
				want := time.Time{}
				if st.wantWake >= 0 {
					want = t0.Add(st.wantWake)
				}
				if !wake.Equal(want) {
					t.Errorf("step %d wake: got %v, want %v", i, wake, want)
				}
				if next.Phase != st.wantPhase {
					t.Errorf("step %d phase: got %s, want %s", i, next.Phase, st.wantPhase)
				}
				s = next
			}
			if s.Outcome != tt.wantOutcome {
				t.Errorf("outcome: got %q, want %q", s.Outcome, tt.wantOutcome)
			}
			if !strings.Contains(s.Reason, tt.wantReason) {
				t.Errorf("reason: got %q, want it to contain %q", s.Reason, tt.wantReason)
			}
		})
	}
}

func TestBeginChoosesTheGate(t *testing.T) {
	optIn, optOut := true, false
	tests := []struct {
		name       string
		request    func(*lifecycle.Request)
		http       *bool // the HTTP probe's WarmPool setting
		wantGate   lifecycle.Gate
		wantPhase  lifecycle.Phase
		wantProbes []string
		wantCmd    bool
	}{
		{name: "launch into the group", wantGate: lifecycle.GateReady, wantPhase: lifecycle.PhaseProbe, wantProbes: []string{"app", "boot", "status"}},
		{name: "launch into the warm pool: boot probes only",
			request:  func(r *lifecycle.Request) { r.ToWarmPool = true },
			wantGate: lifecycle.GateBoot, wantPhase: lifecycle.PhaseProbe, wantProbes: []string{"boot"}},
		{name: "launch into the warm pool with the HTTP probe opted in",
			request: func(r *lifecycle.Request) { r.ToWarmPool = true }, http: &optIn,
			wantGate: lifecycle.GateBoot, wantPhase: lifecycle.PhaseProbe, wantProbes: []string{"app", "boot"}},
		{name: "warm pool to the group: the full gate",
			request:  func(r *lifecycle.Request) { r.FromWarmPool = true },
			wantGate: lifecycle.GateReady, wantPhase: lifecycle.PhaseProbe, wantProbes: []string{"app", "boot", "status"}},
		{name: "terminate from the group",
			request:  func(r *lifecycle.Request) { r.Transition = lifecycle.Terminating },
			wantGate: lifecycle.GateDrain, wantPhase: lifecycle.PhaseDeregister, wantCmd: true},
		{name: "terminate from the warm pool",
			request:  func(r *lifecycle.Request) { r.Transition, r.FromWarmPool = lifecycle.Terminating, true },
			wantGate: lifecycle.GateRelease, wantPhase: lifecycle.PhaseDeregister},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := testPolicy()
			p.Launch.Probes[0].WarmPool = tt.http
			p.Launch.Probes[2].WarmPool = &optOut // the EC2 status probe opts out of the boot gate
			p.Terminate.Command = &lifecycle.Probe{Name: "drain", Kind: lifecycle.SSM, Commands: []string{"true"}}
			r := launch()
			if tt.request != nil {
				tt.request(&r)
			}
			s := lifecycle.Begin(p, r)
			var names []string
			for _, ps := range s.Probes {
				names = append(names, ps.Probe.Name)
			}
			if s.Gate != tt.wantGate || s.Phase != tt.wantPhase {
				t.Errorf("gate/phase: got %s/%s, want %s/%s", s.Gate, s.Phase, tt.wantGate, tt.wantPhase)
			}
			if diff := cmp.Diff(tt.wantProbes, names); diff != "" {
				t.Errorf("probes (-want +got):\n%s", diff)
			}
			if got := s.Command != nil; got != tt.wantCmd {
				t.Errorf("drain command: got %v, want %v", got, tt.wantCmd)
			}
			if !s.HeartbeatAt.Equal(t0) {
				t.Errorf("HeartbeatAt: got %v, want the action's start %v", s.HeartbeatAt, t0)
			}
		})
	}
}

func TestStepHeartbeat(t *testing.T) {
	p := testPolicy() // heartbeat 300 s, margin 60 s: due when a wake-up passes 240 s
	s := lifecycle.Begin(p, launch())
	pending := results(lifecycle.Pending, "app", "boot", "status")

	acts, s, wake := lifecycle.Step(p, s, lifecycle.Observation{Now: t0.Add(sec(225)), Probes: pending})
	if len(acts) != 0 || !wake.Equal(t0.Add(sec(235))) {
		t.Fatalf("at 225 s: got actions %v wake %v, want none and 235 s", acts, wake)
	}
	acts, s, wake = lifecycle.Step(p, s, lifecycle.Observation{Now: t0.Add(sec(235)), Probes: pending})
	if diff := cmp.Diff([]lifecycle.Action{{Kind: lifecycle.Heartbeat}}, acts); diff != "" {
		t.Fatalf("at 235 s the wake-up (245 s) passes 240 s: actions (-want +got):\n%s", diff)
	}
	if !s.HeartbeatAt.Equal(t0.Add(sec(235))) || s.Heartbeats != 1 || !wake.Equal(t0.Add(sec(245))) {
		t.Fatalf("after heartbeat: got HeartbeatAt %v, heartbeats %d, wake %v; want 235 s, 1, 245 s", s.HeartbeatAt, s.Heartbeats, wake)
	}
	// Past the first heartbeat timeout, the action lives on.
	acts, s, _ = lifecycle.Step(p, s, lifecycle.Observation{Now: t0.Add(sec(320)), Probes: results(lifecycle.Pass, "app", "boot", "status")})
	if diff := cmp.Diff(complete(lifecycle.ResultContinue), acts); diff != "" || s.Outcome != lifecycle.Ready {
		t.Fatalf("at 320 s: outcome %q, actions (-want +got):\n%s", s.Outcome, diff)
	}
}

// TestStepNeverLetsTheHookTimeOut drives long gates and drains on a virtual
// clock that honours every wake-up (late by lateness) and checks that each
// step comes before the hook's heartbeat timeout, that heartbeats stay
// within the global limit, and that every action ends with a completion.
func TestStepNeverLetsTheHookTimeOut(t *testing.T) {
	tests := []struct {
		name      string
		heartbeat time.Duration
		interval  time.Duration
		timeout   time.Duration
		lateness  time.Duration
		terminate bool
		delay     time.Duration
		// targetsErr makes every drain read fail; the drain must end by
		// doneBy from the start.
		targetsErr string
		doneBy     time.Duration
		want       lifecycle.Outcome
	}{
		{name: "shortest heartbeat, launch never ready", heartbeat: sec(30), interval: sec(15), timeout: 20 * time.Minute, lateness: sec(5), want: lifecycle.Abandoned},
		{name: "default heartbeat, two-hour gate", heartbeat: sec(300), interval: sec(60), timeout: 2 * time.Hour, lateness: sec(20), want: lifecycle.Abandoned},
		{name: "gate longer than the global limit is capped", heartbeat: sec(60), interval: sec(30), timeout: 0, lateness: sec(1), want: lifecycle.Abandoned},
		{name: "drain with a long deregistration delay", heartbeat: sec(60), interval: sec(20), terminate: true, delay: time.Hour, lateness: sec(3), want: lifecycle.Drained},
		// Default 300 s delay + 30 s slack, plus one late wake-up.
		{name: "drain with target groups never readable, default heartbeat", heartbeat: sec(300), interval: sec(10), terminate: true,
			targetsErr: "AccessDenied", lateness: sec(3), doneBy: sec(333), want: lifecycle.Unverified},
		{name: "drain with target groups never readable, two-hour heartbeat", heartbeat: 2 * time.Hour, interval: sec(60), terminate: true,
			targetsErr: "Throttling", lateness: sec(20), doneBy: sec(350), want: lifecycle.Unverified},
		{name: "drain with target groups never readable, shortest heartbeat", heartbeat: sec(30), interval: sec(15), terminate: true,
			targetsErr: "AccessDenied", lateness: sec(5), doneBy: sec(335), want: lifecycle.Unverified},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := lifecycle.Policy{
				HeartbeatTimeout: dur(tt.heartbeat),
				Launch: lifecycle.Launch{Interval: dur(tt.interval), Timeout: dur(tt.timeout),
					Probes: []lifecycle.Probe{{Name: "app", Kind: lifecycle.HTTP, Port: 80}}},
				Terminate: lifecycle.Terminate{Interval: dur(tt.interval)},
			}
			if tt.timeout == 0 {
				p.Launch.Timeout = dur(lifecycle.GlobalTimeout(tt.heartbeat) - lifecycle.HeartbeatMargin(tt.heartbeat))
			}
			r := launch()
			if tt.terminate {
				r = terminate()
			}
			s := lifecycle.Begin(p, r)
			now := t0
			var last []lifecycle.Action
			for i := 0; !s.Done(); i++ {
				if i > 100000 {
					t.Fatal("no end after 100000 steps")
				}
				if !now.Before(s.HeartbeatAt.Add(tt.heartbeat)) {
					t.Fatalf("step %d at %v: heartbeat timeout passed (last heartbeat %v)", i, now.Sub(t0), s.HeartbeatAt.Sub(t0))
				}
				obs := lifecycle.Observation{Now: now, Probes: results(lifecycle.Pending, "app"),
					Targets: []lifecycle.Target{{TargetGroupARN: tgBlue, State: "draining", Delay: tt.delay}}}
				if tt.targetsErr != "" {
					obs.Targets, obs.TargetsErr = nil, tt.targetsErr
				}
				var wake time.Time
				last, s, wake = lifecycle.Step(p, s, obs)
				if !s.Done() {
					if !wake.After(now) {
						t.Fatalf("step %d: wake %v not after now %v", i, wake, now)
					}
					now = wake.Add(tt.lateness)
				}
			}
			if s.Outcome != tt.want {
				t.Fatalf("outcome: got %q (%s), want %q", s.Outcome, s.Reason, tt.want)
			}
			if len(last) == 0 || last[len(last)-1].Kind != lifecycle.Complete {
				t.Fatalf("last actions: got %v, want a completion", last)
			}
			if tt.doneBy > 0 && s.DoneAt.After(t0.Add(tt.doneBy)) {
				t.Fatalf("done at %v, want by %v", s.DoneAt.Sub(t0), tt.doneBy)
			}
			if limit := t0.Add(lifecycle.GlobalTimeout(tt.heartbeat)); !s.DoneAt.Before(limit) {
				t.Fatalf("done at %v, want before the global timeout %v", s.DoneAt.Sub(t0), limit.Sub(t0))
			}
			if tt.want == lifecycle.Abandoned && s.Heartbeats == 0 {
				t.Fatal("a gate longer than the heartbeat timeout sent no heartbeat")
			}
		})
	}
}

func TestStepIsPure(t *testing.T) {
	p := testPolicy()
	s := lifecycle.Begin(p, launch())
	_, s, _ = lifecycle.Step(p, s, lifecycle.Observation{Now: t0, Probes: results(lifecycle.Pending, "app", "boot", "status")})
	before := s.Clone()
	obs := lifecycle.Observation{Now: t0.Add(sec(10)), Probes: results(lifecycle.Pass, "app", "boot", "status")}
	_, a, _ := lifecycle.Step(p, s, obs)
	_, b, _ := lifecycle.Step(p, s, obs)
	if diff := cmp.Diff(before, s); diff != "" {
		t.Errorf("Step changed its input state (-before +after):\n%s", diff)
	}
	if diff := cmp.Diff(a, b); diff != "" {
		t.Errorf("same inputs, different results (-first +second):\n%s", diff)
	}
}

func TestStepOnDoneStateIsANoOp(t *testing.T) {
	// A duplicate delivery that reaches the reducer (the handler's claims
	// stop most) changes nothing and sends nothing.
	p := testPolicy()
	s := lifecycle.Begin(p, launch())
	_, done, _ := lifecycle.Step(p, s, lifecycle.Observation{Now: t0, Probes: results(lifecycle.Pass, "app", "boot", "status")})
	acts, again, wake := lifecycle.Step(p, done, lifecycle.Observation{Now: t0.Add(sec(1)), Probes: results(lifecycle.Fail, "app")})
	if len(acts) != 0 || !wake.IsZero() {
		t.Errorf("got actions %v wake %v, want none", acts, wake)
	}
	if diff := cmp.Diff(done, again); diff != "" {
		t.Errorf("state changed (-want +got):\n%s", diff)
	}
}

func TestMarkGone(t *testing.T) {
	p := testPolicy()
	s := lifecycle.Begin(p, terminate())
	gone := lifecycle.MarkGone(s, t0.Add(sec(3)))
	if !gone.Done() || gone.Outcome != lifecycle.Gone || !gone.DoneAt.Equal(t0.Add(sec(3))) || !gone.WakeAt.IsZero() {
		t.Errorf("got %+v, want done, outcome gone at +3s, no wake-up", gone)
	}
	if s.Done() {
		t.Error("MarkGone changed its input")
	}
}
