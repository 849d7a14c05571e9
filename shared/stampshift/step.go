package stampshift

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// Health is what the handler saw of one stamp.
type Health struct {
	// Healthy is the stamp's Route 53 health check status: healthy when
	// most of Route 53's checkers report it so.
	Healthy bool
	// Alarms are the stamp's fleet health alarms in ALARM.
	Alarms []string
	// InService is the stamp's fleet's in-service instance count.
	InService int
}

// ChangeStatus is what GetChange said of a change.
type ChangeStatus struct {
	ID     string
	InSync bool
}

// Observation is what the handler saw at Now.
type Observation struct {
	Now time.Time
	// Weights are the record's live weights by SetIdentifier; nil when not
	// read.
	Weights map[string]int64
	// Change is the status of State.Change; an answer for another id
	// confirms nothing.
	Change ChangeStatus
	// Stamps holds the health of From and To.
	Stamps map[string]Health
	// Err says what could not be observed; the transition then only waits.
	Err string
}

// ActionKind is what an action does.
type ActionKind string

// Action kinds.
const (
	// SetWeights writes each stamp's weight parameter, then UPSERTs the
	// record's weighted records with Weights (alias target, health check
	// and the rest as they are), and records the change with State.Sent.
	SetWeights ActionKind = "set_weights"
	// RaiseFloor raises the Stamp's fleet to at least Capacity in service,
	// and holds its scaler's scale-in at that floor until Until.
	RaiseFloor ActionKind = "raise_floor"
)

// Action is one effect to apply.
type Action struct {
	Kind     ActionKind       `json:"kind"`
	Weights  map[string]int64 `json:"weights,omitempty"`
	Stamp    string           `json:"stamp,omitempty"`
	Capacity int              `json:"capacity,omitempty"`
	Until    time.Time        `json:"until,omitzero"`
	Reason   string           `json:"reason"`
}

// Step decides what the transition s does next on obs: the actions to
// apply, its next state and when to step again (zero once it is done).
func Step(p Policy, s State, obs Observation) ([]Action, State, time.Time) {
	if !s.Active() || obs.Now.Before(s.Seen) {
		return nil, s, s.WakeAt
	}
	next := s.clone()
	next.Seen = obs.Now
	acts, wake := next.step(p, obs)
	next.WakeAt = wake
	return acts, next, wake
}

func (s *State) step(p Policy, obs Observation) ([]Action, time.Time) {
	now := obs.Now
	poll := now.Add(p.PollInterval.Std())
	if obs.Err != "" {
		return nil, poll
	}
	to, seen := obs.Stamps[s.To]
	if !seen && s.Phase == PhaseShift {
		return nil, poll
	}
	if s.Change != "" && obs.Change.ID == s.Change && obs.Change.InSync {
		s.Change, s.InSyncAt, s.Attempts = "", now, 0
		s.Shifted = share(s.Weights[s.To], s.Total)
		s.note(now, "weights %s INSYNC", weightsText(s.Weights))
	}
	if s.Phase == PhaseShift {
		if why := s.unsafe(to); why != "" {
			s.beginRollback(now, why)
		}
	}
	if s.Phase == PhaseRollback {
		return s.rollback(p, now)
	}
	if s.Change != "" {
		return nil, poll
	}
	if !s.InSyncAt.IsZero() && obs.Weights != nil && !s.matches(obs.Weights) {
		s.Paused, s.Drift = true, true
		s.Reason = fmt.Sprintf("weights changed outside the transition: live %s, want %s", weightsText(pick(obs.Weights, s.From, s.To)), weightsText(s.Weights))
		s.note(now, "paused: %s", s.Reason)
	}
	if s.Paused {
		return nil, poll
	}
	if s.Promote {
		s.Promote, s.Step, s.InSyncAt, s.WaitSince, s.Attempts = false, len(s.Steps)-1, time.Time{}, time.Time{}, 0
		s.note(now, "promote: straight to 100%%")
	}
	if s.InSyncAt.IsZero() {
		return s.send(p, now, to)
	}
	if done := s.InSyncAt.Add(p.stepWait()); now.Before(done) {
		return nil, earliest(done, poll)
	}
	if s.Target() == 100 {
		s.finish(now, Succeeded, fmt.Sprintf("%s carries all of the weight %s carried", s.To, s.From))
		return nil, time.Time{}
	}
	s.note(now, "step %d%% baked", s.Target())
	s.Step, s.InSyncAt = s.Step+1, time.Time{}
	return s.send(p, now, to)
}

// unsafe says why To cannot keep taking traffic, or "".
func (s *State) unsafe(to Health) string {
	switch {
	case s.Abort != "":
		return s.Abort
	case len(to.Alarms) > 0:
		return fmt.Sprintf("%s alarms in ALARM: %s", s.To, strings.Join(to.Alarms, ", "))
	case !to.Healthy:
		return fmt.Sprintf("%s health check unhealthy", s.To)
	}
	return ""
}

// send asks for the step's weights once To has the capacity they need,
// and for the next step's capacity ahead.
func (s *State) send(p Policy, now time.Time, to Health) ([]Action, time.Time) {
	pct := s.Target()
	need := s.need(pct)
	until := now.Add(p.CapacityTimeout.Std() + 2*p.stepWait())
	if to.InService < need {
		if s.WaitSince.IsZero() {
			s.WaitSince = now
			s.note(now, "step %d%% waits for %s: %d in service, %d needed", pct, s.To, to.InService, need)
		}
		if waited := now.Sub(s.WaitSince); waited >= p.CapacityTimeout.Std() {
			s.beginRollback(now, fmt.Sprintf("%s has %d in service after %s, the step to %d%% needs %d", s.To, to.InService, waited, pct, need))
			return s.rollback(p, now)
		}
		raise := Action{Kind: RaiseFloor, Stamp: s.To, Capacity: need, Until: until,
			Reason: fmt.Sprintf("%s takes %d%% of %s's traffic next", s.To, pct, s.From)}
		return []Action{raise}, now.Add(p.PollInterval.Std())
	}
	s.WaitSince = time.Time{}
	if s.Attempts >= p.SendAttempts {
		s.beginRollback(now, fmt.Sprintf("the step to %d%% was not confirmed after %d attempts", pct, s.Attempts))
		return s.rollback(p, now)
	}
	s.Attempts++
	s.Weights = s.split(pct)
	acts := []Action{{Kind: SetWeights, Weights: maps.Clone(s.Weights),
		Reason: fmt.Sprintf("step %d of %d: %s takes %d%% from %s", s.Step+1, len(s.Steps), s.To, pct, s.From)}}
	if s.Step+1 < len(s.Steps) {
		nextPct := s.Steps[s.Step+1]
		acts = append(acts, Action{Kind: RaiseFloor, Stamp: s.To, Capacity: s.need(nextPct), Until: until,
			Reason: fmt.Sprintf("ahead of the step to %d%%", nextPct)})
	}
	return acts, now.Add(p.PollInterval.Std())
}

// need is what To must have in service to take pct of From's traffic.
func (s *State) need(pct int) int { return (pct*s.Capacity + 99) / 100 }

// split is the weights that give To pct of Total.
func (s *State) split(pct int) map[string]int64 {
	to := (s.Total*int64(pct) + 50) / 100
	return map[string]int64{s.From: s.Total - to, s.To: to}
}

func (s *State) matches(live map[string]int64) bool {
	for stamp, w := range s.Weights {
		if got, ok := live[stamp]; !ok || got != w {
			return false
		}
	}
	return true
}

func (s *State) beginRollback(now time.Time, why string) {
	s.Phase, s.Reason = PhaseRollback, why
	s.Change, s.InSyncAt, s.WaitSince, s.Attempts = "", time.Time{}, time.Time{}, 0
	s.Paused, s.Drift, s.Promote = false, false, false
	s.note(now, "roll back: %s", why)
}

// rollback gives all the moved weight back to From, confirmed INSYNC.
func (s *State) rollback(p Policy, now time.Time) ([]Action, time.Time) {
	switch {
	case s.Change != "":
		return nil, now.Add(p.PollInterval.Std())
	case !s.InSyncAt.IsZero():
		s.finish(now, RolledBack, s.Reason)
		return nil, time.Time{}
	case s.Attempts >= p.SendAttempts:
		s.finish(now, Failed, fmt.Sprintf("%s; the rollback's weights were not confirmed after %d attempts", s.Reason, s.Attempts))
		return nil, time.Time{}
	}
	s.Attempts++
	s.Weights = s.split(0)
	return []Action{{Kind: SetWeights, Weights: maps.Clone(s.Weights),
		Reason: fmt.Sprintf("roll back to %s: %s", s.From, s.Reason)}}, now.Add(p.PollInterval.Std())
}

func (s *State) finish(now time.Time, o Outcome, why string) {
	s.Phase, s.Outcome, s.Reason, s.Ended = PhaseDone, o, why, now
	s.Change, s.Paused, s.Abort = "", false, ""
	s.note(now, "%s: %s", o, why)
}

func earliest(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func pick(m map[string]int64, keys ...string) map[string]int64 {
	out := make(map[string]int64, len(keys))
	for _, k := range keys {
		if v, ok := m[k]; ok {
			out[k] = v
		}
	}
	return out
}

// weightsText writes weights in stamp order: "a=90 b=10".
func weightsText(w map[string]int64) string {
	keys := slices.Sorted(maps.Keys(w))
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%d", k, w[k])
	}
	return strings.Join(parts, " ")
}
