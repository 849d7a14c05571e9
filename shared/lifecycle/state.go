package lifecycle

import (
	"slices"
	"time"
)

// Transition is the lifecycle transition a hook holds an instance in.
type Transition string

// Transitions.
const (
	Launching   Transition = "launching"
	Terminating Transition = "terminating"
)

// Gate is the kind of wait an action gets, chosen from its transition and
// its origin and destination.
type Gate string

// Gates.
const (
	// GateReady holds an instance entering service, from EC2 or from the
	// warm pool, until every launch probe passes.
	GateReady Gate = "ready"
	// GateBoot holds an instance launching into the warm pool until the
	// probes that gate the warm pool pass (see Probe.WarmPool).
	GateBoot Gate = "boot"
	// GateDrain takes an instance leaving service (terminating, or going
	// back to the warm pool) out of its target groups and runs the drain
	// command.
	GateDrain Gate = "drain"
	// GateRelease lets an instance that never served go at once: one
	// terminating from the warm pool.
	GateRelease Gate = "release"
)

// Phase is where an action is in its gate.
type Phase string

// Phases.
const (
	PhaseProbe      Phase = "probe"
	PhaseDeregister Phase = "deregister"
	PhaseCommand    Phase = "command"
	PhaseDone       Phase = "done"
)

// Outcome is how a finished action ended.
type Outcome string

// Outcomes.
const (
	// Ready: every probe passed; completed with CONTINUE.
	Ready Outcome = "ready"
	// Abandoned: a probe failed too often or the gate timed out; completed
	// with ABANDON, so Auto Scaling replaces the instance.
	Abandoned Outcome = "abandoned"
	// Drained: the instance left its target groups (and ran the drain
	// command); completed with CONTINUE.
	Drained Outcome = "drained"
	// Unverified: the drain could not read the instance's target groups
	// (Observation.TargetsErr) and went on without seeing it leave them,
	// once the read was refused or the deregistration delay and slack had
	// passed; completed with CONTINUE. Worth an alarm: a permission or a
	// target group is likely missing.
	Unverified Outcome = "unverified"
	// Released: nothing to wait for; completed with CONTINUE.
	Released Outcome = "released"
	// Expired: the hook timed out before the gate finished; its default
	// result applied and nothing was sent.
	Expired Outcome = "expired"
	// Gone: Auto Scaling reported no active lifecycle action (completed
	// elsewhere, or timed out); treated as done.
	Gone Outcome = "gone"
)

// Lifecycle action results.
const (
	ResultContinue = "CONTINUE"
	ResultAbandon  = "ABANDON"
)

// Request is the lifecycle action as Auto Scaling announced it.
type Request struct {
	Token      string     `json:"token"`
	Group      string     `json:"group"`
	Hook       string     `json:"hook"`
	InstanceID string     `json:"instanceId"`
	Transition Transition `json:"transition"`
	// FromWarmPool and ToWarmPool come from the event's Origin and
	// Destination.
	FromWarmPool bool `json:"fromWarmPool,omitempty"`
	ToWarmPool   bool `json:"toWarmPool,omitempty"`
	// At is when the instance entered the wait state: the event's time. The
	// hook's timeouts count from it.
	At time.Time `json:"at"`
}

// State is what the handler keeps about one lifecycle action between steps,
// keyed by its token.
type State struct {
	Request Request `json:"request"`
	Gate    Gate    `json:"gate"`
	Phase   Phase   `json:"phase"`
	// HeartbeatAt is when the hook's heartbeat timeout last restarted: the
	// start of the action or the last heartbeat.
	HeartbeatAt time.Time `json:"heartbeatAt"`
	Heartbeats  int       `json:"heartbeats,omitempty"`
	// WakeAt is when the next step is due; zero once done. A wake-up for
	// any other time is stale.
	WakeAt time.Time `json:"wakeAt,omitzero"`
	Steps  int       `json:"steps"`
	// Probes are the launch gate's probes, copied from the policy when the
	// action began so that a redeploy does not change a gate in flight.
	Probes []ProbeState `json:"probes,omitempty"`
	// Targets are the target groups being drained, once observed.
	Targets []TargetState `json:"targets,omitempty"`
	// Command is the drain command, copied from the policy.
	Command *ProbeState `json:"command,omitempty"`
	// CommandFrom is when the command phase began.
	CommandFrom time.Time `json:"commandFrom,omitzero"`
	// TargetsErr is the error that kept the drain from reading its target
	// groups when it went on regardless; the outcome is then Unverified.
	TargetsErr string  `json:"targetsErr,omitempty"`
	Outcome    Outcome `json:"outcome,omitempty"`
	// Result is the CompleteLifecycleAction result sent, if any.
	Result string `json:"result,omitempty"`
	// Reason explains the last phase change or the outcome.
	Reason string    `json:"reason,omitempty"`
	DoneAt time.Time `json:"doneAt,omitzero"`
}

// ProbeState is one probe's progress.
type ProbeState struct {
	Probe    Probe     `json:"probe"`
	Passed   bool      `json:"passed,omitempty"`
	PassedAt time.Time `json:"passedAt,omitzero"`
	Failures int       `json:"failures,omitempty"`
	Errors   int       `json:"errors,omitempty"`
	// CommandID is the SSM command being awaited.
	CommandID string `json:"commandId,omitempty"`
	// Last is the detail of the latest result.
	Last string `json:"last,omitempty"`
}

// TargetState is one target group's drain.
type TargetState struct {
	TargetGroupARN string        `json:"targetGroupArn"`
	Delay          time.Duration `json:"delay"`
	// DeregisteredAt is when deregistration was asked for, or first seen
	// in progress.
	DeregisteredAt time.Time `json:"deregisteredAt,omitzero"`
	Drained        bool      `json:"drained,omitempty"`
	// Last is the latest target health state seen ("" when not listed).
	Last string `json:"last,omitempty"`
}

// Done reports whether the action needs nothing more.
func (s State) Done() bool { return s.Phase == PhaseDone }

// Begin returns the state of a lifecycle action that just arrived, with the
// gate its transition calls for. The first Step should follow at once: an
// instance already ready needs no wake-up.
func Begin(p Policy, r Request) State {
	p = p.WithDefaults()
	s := State{Request: r, HeartbeatAt: r.At}
	switch {
	case r.Transition == Launching:
		s.Gate, s.Phase = GateReady, PhaseProbe
		if r.ToWarmPool {
			s.Gate = GateBoot
		}
		for _, pr := range p.Launch.Probes {
			if s.Gate == GateBoot && !pr.GatesWarmPool() {
				continue
			}
			s.Probes = append(s.Probes, ProbeState{Probe: pr})
		}
	case r.FromWarmPool:
		// A warmed instance was never registered and serves no one.
		s.Gate, s.Phase = GateRelease, PhaseDeregister
	default:
		s.Gate, s.Phase = GateDrain, PhaseDeregister
		if c := p.Terminate.Command; c != nil {
			s.Command = &ProbeState{Probe: *c}
		}
	}
	return s
}

// MarkGone returns s finished as Gone: Auto Scaling answered a heartbeat or a
// completion with "No active Lifecycle Action found".
func MarkGone(s State, now time.Time) State {
	s = s.Clone()
	s.finish(now, Gone, s.Result, "no active lifecycle action: completed elsewhere or timed out")
	return s
}

// PendingProbes returns the launch probes not yet passed, in order: what
// the handler observes before a probe step.
func (s State) PendingProbes() []ProbeState {
	var out []ProbeState
	for _, p := range s.Probes {
		if !p.Passed {
			out = append(out, p)
		}
	}
	return out
}

func (s *State) finish(now time.Time, o Outcome, result, reason string) {
	s.Phase, s.Outcome, s.Result, s.Reason, s.DoneAt, s.WakeAt = PhaseDone, o, result, reason, now, time.Time{}
}

// Clone copies s deeply: changing the copy leaves s alone.
func (s State) Clone() State {
	s.Probes = slices.Clone(s.Probes)
	for i := range s.Probes {
		s.Probes[i].Probe = s.Probes[i].Probe.clone()
	}
	s.Targets = slices.Clone(s.Targets)
	if s.Command != nil {
		c := *s.Command
		c.Probe = c.Probe.clone()
		s.Command = &c
	}
	return s
}

func (p Probe) clone() Probe {
	p.Commands = slices.Clone(p.Commands)
	if p.WarmPool != nil {
		w := *p.WarmPool
		p.WarmPool = &w
	}
	return p
}
