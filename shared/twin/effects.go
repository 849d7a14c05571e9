package twin

import (
	"encoding/json"
	"strings"

	"github.com/stampkit/stampkit/shared/hooks"
	"github.com/stampkit/stampkit/shared/scaler"
	"github.com/stampkit/stampkit/shared/scaling"
)

// Effects checks what the handlers did to the fleet against what each
// action called for: whatever the chaos did to their calls and
// deliveries, every lifecycle action ends once, with the result its
// instance calls for, and every scaling decision is applied once and kept
// on record. Effects.Sound reports a run where that holds.
type Effects struct {
	// Decisions counts the stampkit scaler's capacity changes. Doubled
	// counts those that applied a decision already applied: a second
	// change for the same reading of the same alarm under the same claim
	// (an alarm change, or a tick's reading of an alarm). Unrecorded
	// counts changes the scaler made but did not keep in its state by the
	// end of the invocation that made them (its response lost, its time
	// run out): the next decision would decide as if they had not
	// happened, and step again.
	Decisions, Doubled, Unrecorded int
	// LifecycleActions counts the actions held at a lifecycle hook.
	// Completed counts those the lifecycle handler completed, Expired
	// those Auto Scaling ended with the hook's default result, Released
	// those whose instance left the hook without either (terminated while
	// it waited), Held those still held when the run ended.
	LifecycleActions, Completed, Expired, Released, Held int
	// Lost counts the launches that did not go into service although
	// their application answered within the launch timeout: abandoned by
	// the handler, or left to expire. Of them, LostDeadLettered had an
	// event run out of retries (Result.DeadLetters) and LostLate had a
	// retry still due when the hook timed out: the hook's default result
	// is the designed end of those. Any other is lost to the handler.
	Lost, LostDeadLettered, LostLate int
}

// Sound reports whether no decision was applied twice or forgotten and
// every lifecycle action ended once (or still waits), none lost but
// where the retries of its events ran out or came too late.
func (e Effects) Sound() bool {
	return e.Doubled == 0 && e.Unrecorded == 0 && e.Lost == e.LostDeadLettered+e.LostLate &&
		e.Completed+e.Expired+e.Released+e.Held == e.LifecycleActions
}

// noteChange checks a capacity change the running invocation made as the
// stampkit scaler: applied for a reading already applied, it doubles a
// decision.
func (s *sim) noteChange(e ScalingEvent) {
	inv := s.inv
	if inv == nil || e.By != scalerPolicy {
		return
	}
	s.res.Effects.Decisions++
	reading := e.Claim
	if alarm, ok := strings.CutPrefix(e.Claim, "tick#"); ok {
		// A tick's claim names its alarm and minute; a retry of the tick
		// reads the alarm again, and a newer datapoint is a new decision.
		alarm, _, _ = strings.Cut(alarm, "@")
		if w, ok := s.cw.alarms[alarm]; ok {
			reading += "#" + w.since.String() + "#" + w.newestAt().String()
		}
	}
	if s.readings == nil {
		s.readings = map[string]bool{}
	}
	if s.readings[reading] {
		s.res.Effects.Doubled++
	}
	s.readings[reading] = true
	inv.changes = append(inv.changes, e)
}

// checkRecorded checks, as an invocation ends, that the scaler's state
// holds each change it made.
func (s *sim) checkRecorded(inv *handlerRun) {
	if len(inv.changes) == 0 {
		return
	}
	data, _, _ := s.state.Load(inv.ctx.parent, scaler.StateKey(s.cfg.fleet()))
	var st scaling.State
	if len(data) > 0 {
		_ = json.Unmarshal(data, &st)
	}
	for _, e := range inv.changes {
		last := st.LastScaleIn
		if e.To > e.From {
			last = st.LastScaleOut
		}
		if last.Before(e.At) {
			s.res.Effects.Unrecorded++
		}
	}
}

// finishEffects counts how the run's lifecycle actions ended.
func (s *sim) finishEffects() {
	hs := s.hooks
	if hs == nil {
		return
	}
	e := &s.res.Effects
	deadLettered := map[string]bool{}
	for _, d := range s.res.DeadLetters {
		deadLettered[strings.TrimPrefix(d.Key, hooks.KeyPrefix)] = true
	}
	timeout := s.cfg.Hooks.WithDefaults().Launch.Timeout.Std()
	for _, a := range hs.held {
		e.LifecycleActions++
		switch a.ended {
		case endedContinue, endedAbandon:
			e.Completed++
		case endedExpired:
			e.Expired++
		case endedReleased:
			e.Released++
		default:
			e.Held++
		}
		answered := a.in.booted+s.cfg.AppWarmup <= a.at+timeout
		if a.transition == Launching && (a.ended == endedAbandon || a.ended == endedExpired) && answered {
			e.Lost++
			switch {
			case deadLettered[a.token]:
				e.LostDeadLettered++
			case a.retrying:
				e.LostLate++
			}
		}
	}
}

// retrying reports whether a delivery about the lifecycle action with
// token failed and waits for its retry.
func (s *sim) retrying(token string) bool {
	for _, d := range s.open {
		if d.open && d.fn.Name == LifecycleFunction && strings.TrimPrefix(d.key, hooks.KeyPrefix) == token {
			return true
		}
	}
	return false
}

// scalerPolicy is ScalingEvent.By for the stampkit scaler's changes.
const scalerPolicy = "stampkit"
