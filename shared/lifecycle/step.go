package lifecycle

import (
	"fmt"
	"strings"
	"time"
)

// Status is a probe's verdict.
type Status string

// Probe statuses.
const (
	// Pass: the check succeeded.
	Pass Status = "pass"
	// Pending: the check cannot tell yet (nothing listening, command still
	// running, status checks initializing).
	Pending Status = "pending"
	// Fail: the check ran and said no; counts against AllowedFailures.
	Fail Status = "fail"
	// Error: the check could not run (an API error); the gate keeps
	// waiting, bounded by its timeout.
	Error Status = "error"
)

// ProbeResult is what one probe found.
type ProbeResult struct {
	Name   string
	Status Status
	Detail string
	// CommandID is the SSM command now being awaited (SSM probes); empty
	// once the command finished.
	CommandID string
}

// Target is one target group of the group, as observed for a drain.
type Target struct {
	TargetGroupARN string
	// State is the instance's target health state in the group ("healthy",
	// "draining", "unused", …), or "" when the group does not list it.
	State string
	// Delay is the target group's deregistration delay.
	Delay time.Duration
}

// Observation is what the handler saw just before a step.
type Observation struct {
	Now time.Time
	// Probes has one result per pending probe (PhaseProbe).
	Probes []ProbeResult
	// Targets are the group's target groups (PhaseDeregister).
	Targets []Target
	// TargetsErr says why the targets could not be read. The drain looks
	// again, but no longer than the deregistration delay it would otherwise
	// have waited (see DefaultDeregistrationDelay), and then goes on with
	// the outcome Unverified.
	TargetsErr string
	// TargetsRejected says that AWS refused the read as such (access
	// denied, invalid, not found: awserr.IsRejected): asking again cannot
	// succeed, so the drain goes on at once, Unverified.
	TargetsRejected bool
	// Command is the drain command's result (PhaseCommand).
	Command *ProbeResult
}

// ActionKind names an effect.
type ActionKind string

// Action kinds.
const (
	// Complete sends CompleteLifecycleAction with Result.
	Complete ActionKind = "complete"
	// Heartbeat sends RecordLifecycleActionHeartbeat.
	Heartbeat ActionKind = "heartbeat"
	// Deregister takes the instance out of TargetGroupARN.
	Deregister ActionKind = "deregister"
)

// Action is one effect for the handler to apply, in order.
type Action struct {
	Kind           ActionKind
	Result         string // Complete: ResultContinue or ResultAbandon
	TargetGroupARN string // Deregister
}

// Step advances a lifecycle action by what obs shows. It returns the
// actions to apply in order, the state to keep, and when to step again:
// zero when the action is done, obs.Now or earlier when the next step is
// due at once (the phase changed and needs a fresh observation).
//
// The probes and the drain command come from s (copied at Begin); timing
// (heartbeat timeout, intervals, timeouts) comes from p.
func Step(p Policy, s State, obs Observation) ([]Action, State, time.Time) {
	if s.Done() {
		return nil, s, time.Time{}
	}
	p = p.WithDefaults()
	now, hb := obs.Now, p.HeartbeatTimeout.Std()
	next := s.Clone()
	next.Steps++
	next.Reason = ""
	if expiry := s.Expiry(p); !now.Before(expiry) {
		next.finish(now, Expired, "", fmt.Sprintf("hook timed out at %s: its default result applied", stamp(expiry)))
		return nil, next, time.Time{}
	}
	var acts []Action
	var wake time.Time
	switch s.Phase {
	case PhaseProbe:
		acts, wake = next.probe(p, now, obs.Probes)
	case PhaseDeregister:
		acts, wake = next.deregister(p, now, obs)
	case PhaseCommand:
		acts, wake = next.command(p, now, obs.Command)
	default:
		next.finish(now, Expired, "", fmt.Sprintf("unknown phase %q", s.Phase))
	}
	if next.Done() {
		return acts, next, time.Time{}
	}
	acts, wake = next.keepAlive(hb, now, acts, wake)
	next.WakeAt = wake
	return acts, next, wake
}

// Expiry is when the hook times out by the record: its heartbeat timeout
// from the last heartbeat recorded, or its global timeout, whichever
// comes first. Auto Scaling may keep it longer: a heartbeat sent by an
// invocation that failed before it saved is not on record.
func (s State) Expiry(p Policy) time.Time {
	hb := p.WithDefaults().HeartbeatTimeout.Std()
	return earliest(s.HeartbeatAt.Add(hb), s.Request.At.Add(GlobalTimeout(hb)))
}

// bound is the latest a gate may wait: its timeout from the start of the
// action, capped a heartbeat margin below the hook's global timeout.
func (s *State) bound(hb, timeout time.Duration) time.Time {
	limit := GlobalTimeout(hb) - HeartbeatMargin(hb)
	if timeout <= 0 || timeout > limit {
		timeout = limit
	}
	return s.Request.At.Add(timeout)
}

func (s *State) probe(p Policy, now time.Time, results []ProbeResult) ([]Action, time.Time) {
	for i := range s.Probes {
		ps := &s.Probes[i]
		if ps.Passed {
			continue
		}
		r, ok := find(results, ps.Probe.Name)
		if !ok {
			continue
		}
		ps.Last = r.Detail
		switch r.Status {
		case Pass:
			ps.Passed, ps.PassedAt, ps.CommandID = true, now, ""
		case Fail:
			ps.Failures++
			ps.CommandID = ""
			if ps.Failures > ps.Probe.AllowedFailures {
				return s.complete(now, ResultAbandon, Abandoned, fmt.Sprintf("probe %s failed %d times (%d allowed): %s",
					ps.Probe.Name, ps.Failures, ps.Probe.AllowedFailures, r.Detail))
			}
		case Pending:
			ps.CommandID = r.CommandID
		default:
			ps.Errors++
			ps.CommandID = r.CommandID
		}
	}
	pending := s.PendingProbes()
	if len(pending) == 0 {
		names := make([]string, len(s.Probes))
		for i, ps := range s.Probes {
			names[i] = ps.Probe.Name
		}
		why := "no probes: ready at once"
		if len(names) > 0 {
			why = fmt.Sprintf("ready after %s: %s passed", now.Sub(s.Request.At).Round(time.Second), strings.Join(names, ", "))
		}
		return s.complete(now, ResultContinue, Ready, why)
	}
	deadline := s.bound(p.HeartbeatTimeout.Std(), p.Launch.Timeout.Std())
	if !now.Before(deadline) {
		var waiting []string
		for _, ps := range pending {
			waiting = append(waiting, fmt.Sprintf("%s (%s)", ps.Probe.Name, orNone(ps.Last)))
		}
		return s.complete(now, ResultAbandon, Abandoned, fmt.Sprintf("not ready after %s: waiting on %s",
			now.Sub(s.Request.At).Round(time.Second), strings.Join(waiting, "; ")))
	}
	return nil, earliest(now.Add(p.Launch.Interval.Std()), deadline)
}

func (s *State) deregister(p Policy, now time.Time, obs Observation) ([]Action, time.Time) {
	if s.Gate == GateRelease {
		return s.complete(now, ResultContinue, Released, "leaving the warm pool: never in service, nothing to drain")
	}
	hard := s.bound(p.HeartbeatTimeout.Std(), 0)
	interval := p.Terminate.Interval.Std()
	if obs.TargetsErr != "" {
		// Without a bound of its own, an error that never clears (a
		// missing permission) would hold the instance until the hook's
		// global limit: 100 heartbeat timeouts.
		switch until := earliest(s.unreadBound(p.Terminate.Slack.Std()), hard); {
		case obs.TargetsRejected:
			return s.unverified(now, obs.TargetsErr, "refused, looking again cannot help")
		case !now.Before(until):
			return s.unverified(now, obs.TargetsErr, fmt.Sprintf("for %s, past the deregistration delay and slack",
				now.Sub(s.Request.At).Round(time.Second)))
		default:
			return nil, earliest(now.Add(interval), until)
		}
	}
	var acts []Action
	for _, ob := range obs.Targets {
		i := s.target(ob)
		t := &s.Targets[i]
		t.Last = ob.State
		switch ob.State {
		case "", "unused":
			t.Drained = true
		case "draining":
			if t.DeregisteredAt.IsZero() {
				t.DeregisteredAt = now
			}
		default:
			// Registered (healthy, initial, unhealthy, unavailable): ask,
			// again if an earlier request has not shown yet.
			acts = append(acts, Action{Kind: Deregister, TargetGroupARN: t.TargetGroupARN})
			t.Drained = false
			if t.DeregisteredAt.IsZero() {
				t.DeregisteredAt = now
			}
		}
	}
	var until time.Time
	var waiting []string
	for _, t := range s.Targets {
		if t.Drained {
			continue
		}
		waiting = append(waiting, fmt.Sprintf("%s (%s)", t.TargetGroupARN, t.Last))
		if end := t.DeregisteredAt.Add(t.Delay + p.Terminate.Slack.Std()); end.After(until) {
			until = end
		}
	}
	why := ""
	switch until = earliest(until, hard); {
	case len(waiting) == 0:
		why = fmt.Sprintf("out of %d target groups", len(s.Targets))
	case !now.Before(until):
		why = fmt.Sprintf("still deregistering past delay and slack: %s; going on", strings.Join(waiting, "; "))
	default:
		return acts, earliest(now.Add(interval), until)
	}
	more, wake := s.drained(now, why)
	return append(acts, more...), wake
}

// unreadBound is the latest a drain waits for its target groups to become
// readable: the deregistration delay it would otherwise wait (the longest
// delay read so far, or ELB's default when none was) plus slack, from the
// start of the drain. By then ELB has finished the deregistration Auto
// Scaling began before the wait state. A deregistration the drain asked for
// later keeps its own delay.
func (s *State) unreadBound(slack time.Duration) time.Time {
	delay := DefaultDeregistrationDelay
	if len(s.Targets) > 0 {
		delay = 0
	}
	for _, t := range s.Targets {
		delay = max(delay, t.Delay)
	}
	until := s.Request.At.Add(delay + slack)
	for _, t := range s.Targets {
		if end := t.DeregisteredAt.Add(t.Delay + slack); !t.Drained && !t.DeregisteredAt.IsZero() && end.After(until) {
			until = end
		}
	}
	return until
}

// unverified ends the deregistration without having seen the instance
// leave its target groups, remembering why so that the outcome says so.
func (s *State) unverified(now time.Time, err, why string) ([]Action, time.Time) {
	s.TargetsErr = err
	return s.drained(now, fmt.Sprintf("target groups unreadable (%s) %s; going on unverified", err, why))
}

// target returns the index of ob's target group in s.Targets, adding it.
func (s *State) target(ob Target) int {
	for i, t := range s.Targets {
		if t.TargetGroupARN == ob.TargetGroupARN {
			return i
		}
	}
	s.Targets = append(s.Targets, TargetState{TargetGroupARN: ob.TargetGroupARN, Delay: ob.Delay})
	return len(s.Targets) - 1
}

// drained ends the deregistration: on to the drain command, due at once
// because it needs its own observation, or done.
func (s *State) drained(now time.Time, why string) ([]Action, time.Time) {
	if s.Command != nil {
		s.Phase, s.CommandFrom, s.Reason = PhaseCommand, now, why
		return nil, now
	}
	return s.complete(now, ResultContinue, s.drainOutcome(), why)
}

// drainOutcome is Drained, or Unverified when the target groups could not
// be read.
func (s *State) drainOutcome() Outcome {
	if s.TargetsErr != "" {
		return Unverified
	}
	return Drained
}

// finishDrain completes a drain after its command, naming the target-group
// error when the deregistration went unverified.
func (s *State) finishDrain(now time.Time, why string) ([]Action, time.Time) {
	if s.TargetsErr != "" {
		why += fmt.Sprintf(" (target groups unverified: %s)", s.TargetsErr)
	}
	return s.complete(now, ResultContinue, s.drainOutcome(), why)
}

func (s *State) command(p Policy, now time.Time, r *ProbeResult) ([]Action, time.Time) {
	c := s.Command
	if r != nil {
		c.Last = r.Detail
		switch r.Status {
		case Pass:
			c.Passed, c.PassedAt, c.CommandID = true, now, ""
			return s.finishDrain(now, "drain command succeeded")
		case Fail:
			c.Failures++
			c.CommandID = ""
			return s.finishDrain(now, fmt.Sprintf("drain command failed (%s); terminating anyway", r.Detail))
		case Error:
			c.Errors++
		}
		c.CommandID = r.CommandID
	}
	hb := p.HeartbeatTimeout.Std()
	until := earliest(s.CommandFrom.Add(c.Probe.Timeout.Std()+p.Terminate.Slack.Std()), s.bound(hb, 0))
	if !now.Before(until) {
		return s.finishDrain(now, fmt.Sprintf("drain command unfinished (%s); terminating anyway", orNone(c.Last)))
	}
	return nil, earliest(now.Add(p.Terminate.Interval.Std()), until)
}

// keepAlive adds a heartbeat when the next step would come too close to
// the hook's heartbeat timeout, and brings the wake-up forward so that the
// step after it can heartbeat again in time. The heartbeat goes first: the
// handler applies actions in order and stops at the first error, so an
// action that keeps failing (a Deregister) must not keep the hook from
// being kept alive.
func (s *State) keepAlive(hb time.Duration, now time.Time, acts []Action, wake time.Time) ([]Action, time.Time) {
	margin := HeartbeatMargin(hb)
	if !wake.After(s.HeartbeatAt.Add(hb - margin)) {
		return acts, wake
	}
	acts = append([]Action{{Kind: Heartbeat}}, acts...)
	s.HeartbeatAt = now
	s.Heartbeats++
	return acts, earliest(wake, now.Add(hb-margin))
}

func (s *State) complete(now time.Time, result string, o Outcome, reason string) ([]Action, time.Time) {
	s.finish(now, o, result, reason)
	return []Action{{Kind: Complete, Result: result}}, time.Time{}
}

func find(results []ProbeResult, name string) (ProbeResult, bool) {
	for _, r := range results {
		if r.Name == name {
			return r, true
		}
	}
	return ProbeResult{}, false
}

func earliest(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func orNone(s string) string {
	if s == "" {
		return "no result yet"
	}
	return s
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }
