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
	// Stamps holds the health of From and To; a stamp whose health could
	// not be read (or whose record has no health check) is left out.
	Stamps map[string]Health
	// Err says what could not be observed. The transition then does not
	// move forward, but it still decides on what it did read: To in
	// ALARM, To unhealthy or unread for Policy.UnreadTimeout, and an abort
	// roll back however impaired From's Region is.
	Err string
}

// ActionKind is what an action does.
type ActionKind string

// Action kinds.
const (
	// SetWeights changes the record's weighted records to Weights (alias
	// target, health check and the rest as they are), and records the
	// change with State.Sent, or a refusal with State.Refused. The
	// stamps' weight parameters follow once the change is accepted
	// (State.ParamsDue).
	SetWeights ActionKind = "set_weights"
	// RaiseFloor raises the Stamp's fleet to at least Capacity in service,
	// and holds its scaler's scale-in at that floor until Until.
	RaiseFloor ActionKind = "raise_floor"
	// ReleaseFloor ends the hold RaiseFloor put on the Stamp's scaler:
	// the transition is over, the fleet scales on its own signals again.
	ReleaseFloor ActionKind = "release_floor"
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
	if s.Change != "" && obs.Change.ID == s.Change && obs.Change.InSync {
		s.Change, s.InSyncAt, s.Attempts, s.Tries = "", now, 0, 0
		s.Shifted = share(s.Weights[s.To], s.Total)
		s.note(now, "weights %s INSYNC", weightsText(s.Weights))
	}
	to, seen := obs.Stamps[s.To]
	if s.Phase == PhaseShift {
		// Safety is decided on what was read, before anything waits on
		// what was not: From's Region may be the impaired one.
		if why := s.unsafe(p, now, to, seen); why != "" {
			s.beginRollback(now, why)
		}
	}
	if s.Phase == PhaseRollback {
		return s.rollback(p, now, obs.Weights != nil)
	}
	// Forward, only on a whole observation.
	if obs.Err != "" || !seen || s.Change != "" {
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
		return s.finish(now, Succeeded, fmt.Sprintf("%s carries all of the weight %s carried", s.To, s.From)), time.Time{}
	}
	s.note(now, "step %d%% baked", s.Target())
	s.Step, s.InSyncAt = s.Step+1, time.Time{}
	return s.send(p, now, to)
}

// unsafe says why To cannot keep taking traffic, or "". An abort needs no
// observation; To's health unread for UnreadTimeout counts as unhealthy.
func (s *State) unsafe(p Policy, now time.Time, to Health, seen bool) string {
	if s.Abort != "" {
		return s.Abort
	}
	if !seen {
		if s.UnreadSince.IsZero() {
			s.UnreadSince = now
		}
		if unread := now.Sub(s.UnreadSince); unread >= p.UnreadTimeout.Std() {
			return fmt.Sprintf("%s health unread for %s", s.To, unread)
		}
		return ""
	}
	s.UnreadSince = time.Time{}
	switch {
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
			return s.rollback(p, now, true)
		}
		raise := Action{Kind: RaiseFloor, Stamp: s.To, Capacity: need, Until: until,
			Reason: fmt.Sprintf("%s takes %d%% of %s's traffic next", s.To, pct, s.From)}
		return []Action{raise}, now.Add(p.PollInterval.Std())
	}
	s.WaitSince = time.Time{}
	if s.Attempts >= p.SendAttempts {
		s.beginRollback(now, fmt.Sprintf("the step to %d%% was not confirmed after %d attempts", pct, s.Attempts))
		return s.rollback(p, now, true)
	}
	s.Tries++
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

// split is the weights that give To pct of Total. A step above 0 never
// gives To 0 (Begin scales Total so it need not; this guards a state an
// earlier version began).
func (s *State) split(pct int) map[string]int64 {
	to := toWeight(s.Total, pct)
	if pct > 0 && to == 0 {
		to = 1
	}
	to = min(to, s.Total)
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
	s.Change, s.InSyncAt, s.WaitSince, s.Attempts, s.Tries = "", time.Time{}, time.Time{}, 0, 0
	s.Paused, s.Drift, s.Promote = false, false, false
	s.note(now, "roll back: %s", why)
}

// rollback gives all the moved weight back to From, confirmed INSYNC and
// then a TTL, after which resolvers no longer answer with To's share. It
// never gives up: Route 53 throttles a whole account's calls ("Throttling
// for Amazon Route 53 API requests", Route 53 Developer Guide: five
// requests a second), and a rollback left half-way keeps sending traffic
// to a stamp that is failing. Past SendAttempts tries it backs off, up to
// MaxBackoff, and is Stuck.
func (s *State) rollback(p Policy, now time.Time, read bool) ([]Action, time.Time) {
	poll := now.Add(p.PollInterval.Std())
	switch {
	case s.Change != "":
		return nil, poll
	case !s.InSyncAt.IsZero():
		if done := s.InSyncAt.Add(p.TTL.Std()); now.Before(done) {
			return nil, earliest(done, poll)
		}
		return s.finish(now, RolledBack, s.Reason), time.Time{}
	case !read:
		// The records were not read: a change resends them as read.
		return nil, poll
	}
	wake := poll
	if over := s.Tries - p.SendAttempts; over >= 0 {
		if !s.Stuck {
			s.Stuck = true
			s.note(now, "rollback stuck: its change failed %d times; trying on", s.Tries)
		}
		wake = now.Add(backoff(p.PollInterval.Std(), over))
	}
	s.Tries++
	s.Weights = s.split(0)
	return []Action{{Kind: SetWeights, Weights: maps.Clone(s.Weights),
		Reason: fmt.Sprintf("roll back to %s: %s", s.From, s.Reason)}}, wake
}

// backoff doubles base n times, up to MaxBackoff.
func backoff(base time.Duration, n int) time.Duration {
	d := base
	for range n {
		if d >= MaxBackoff/2 {
			return MaxBackoff
		}
		d *= 2
	}
	return min(d, MaxBackoff)
}

// finish ends the transition and releases the floor it held on To.
func (s *State) finish(now time.Time, o Outcome, why string) []Action {
	s.Phase, s.Outcome, s.Reason, s.Ended = PhaseDone, o, why, now
	s.Change, s.Paused, s.Abort, s.Stuck = "", false, "", false
	s.note(now, "%s: %s", o, why)
	return []Action{{Kind: ReleaseFloor, Stamp: s.To, Reason: fmt.Sprintf("transition %s -> %s %s", s.From, s.To, o)}}
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
