package rollout

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// A blue/green rollout never trusts the alarms alone. An ALB sends a target
// group its weight even when none of its targets is healthy ("fail open",
// ELB user guide, "Health checks for Application Load Balancer target
// groups"), and what a crashed target costs is answered by the load
// balancer itself (HTTPCode_ELB_5XX_Count, "CloudWatch metrics for your
// Application Load Balancer"), which target-5xx and latency alarms never
// see. So every look compares the healthy targets of the group that carries
// (or is about to carry) traffic with what that traffic needs.

// need is how many healthy targets carry pct percent of the traffic that
// capacity instances serve: rounded up, since part of an instance's traffic
// still needs an instance.
func need(pct, capacity int) int { return (pct*capacity + 99) / 100 }

// instances counts a group's instances that are not on their way out.
func (g Group) instances() int {
	n := 0
	for _, c := range g.Versions {
		n += c
	}
	return n
}

// onVersion counts a group's instances on launch template version v.
func (g Group) onVersion(v int64) int { return g.Versions[strconv.FormatInt(v, 10)] }

// emptyIdle holds the group that does not serve at zero before it is
// stamped: an instance the scaler or an operator left there runs the old
// image, and warming would take it for the new one. It returns nil when
// the group is empty, otherwise what to do and when to look again.
func (s *State) emptyIdle(p Policy, obs Observation) ([]Action, time.Time, bool) {
	now, poll := obs.Now, obs.Now.Add(p.PollInterval.Std())
	n := obs.To.instances()
	if obs.To.Desired == 0 && n == 0 {
		return nil, time.Time{}, false
	}
	if deadline := s.PhaseAt.Add(p.BlueGreen.HealthTimeout.Std()); !now.Before(deadline) {
		acts := s.undoStamp()
		s.finishUnblamed(now, Failed, fmt.Sprintf("%s still has %d instances (desired %d) after %s; it must be empty before it is stamped",
			s.To.Group, n, obs.To.Desired, p.BlueGreen.HealthTimeout))
		return acts, time.Time{}, true
	}
	var acts []Action
	if obs.To.Desired > 0 {
		s.note(now, "%s is idle but has %d instances (desired %d): emptying it before the stamp", s.To.Group, n, obs.To.Desired)
		acts = append(acts, Action{Kind: Resize, Group: s.To.Group, Size: Size{}})
	}
	return acts, poll, true
}

func (s *State) warm(p Policy, obs Observation) ([]Action, time.Time) {
	now, poll := obs.Now, obs.Now.Add(p.PollInterval.Std())
	if s.Abort != "" {
		return s.beginRestore(p, obs, "abort: "+s.Abort)
	}
	deadline := s.PhaseAt.Add(p.BlueGreen.HealthTimeout.Std())
	if s.Paused {
		return nil, poll
	}
	want := s.Base.Size.Desired
	onNew := obs.To.onVersion(s.Version)
	stray := obs.To.instances() - onNew
	healthy := obs.Err == "" && obs.To.InService >= want && onNew >= want && stray == 0 &&
		obs.ToTargets.Healthy >= want && obs.ToTargets.Healthy == obs.ToTargets.Total
	firing := firing(obs.Alarms)
	if !now.Before(deadline) && (!healthy || len(firing) > 0) {
		why := fmt.Sprintf("%s not healthy after %s: %d/%d targets healthy, %d/%d in service, %d on version %d, %d on others",
			s.To.Group, p.BlueGreen.HealthTimeout, obs.ToTargets.Healthy, obs.ToTargets.Total, obs.To.InService, want, onNew, s.Version, stray)
		if healthy {
			why = fmt.Sprintf("alarms %s still in ALARM after %s; traffic never shifted", strings.Join(firing, ", "), p.BlueGreen.HealthTimeout)
		}
		return s.beginRestore(p, obs, why)
	}
	if !healthy || len(firing) > 0 {
		// Never shift traffic into a fleet already in alarm: the alarm
		// would be blamed on the new image, or hide its faults.
		return nil, earliest(poll, deadline)
	}
	acts := s.follow(obs)
	if s.Promote {
		more, wake := s.advance(p, obs, 100, "promoted by the operator")
		return append(acts, more...), wake
	}
	s.enter(now, PhaseShift, "%s healthy (%d/%d targets on version %d)", s.To.Group, obs.ToTargets.Healthy, obs.ToTargets.Total, s.Version)
	s.Step = 0
	more, wake := s.advance(p, obs, p.BlueGreen.Steps[0], "")
	return append(acts, more...), wake
}

// follow sizes To like From, which the scaler scales while the rollout
// runs, so To can take the traffic it is given.
func (s *State) follow(obs Observation) []Action {
	if obs.From.Desired <= obs.To.Desired {
		return nil
	}
	return []Action{{Kind: Resize, Group: s.To.Group,
		Size: Size{Min: s.Base.Size.Min, Max: max(s.Base.Size.Max, obs.From.Max), Desired: obs.From.Desired}}}
}

// capacity is the fleet's serving size while traffic shifts: the group the
// scaler sizes (From) until the promotion, To after it.
func (s *State) capacity(obs Observation) int {
	if s.Phase == PhaseRetain {
		return obs.To.Desired
	}
	return obs.From.Desired
}

// advance moves To's share up to step pct (a step is baked), or promotes
// when promotion says why, once To has the healthy targets that share
// needs. Until then it waits, at most the health timeout, and rolls back
// after it: a share never lands on fewer healthy targets than it needs.
func (s *State) advance(p Policy, obs Observation, pct int, promotion string) ([]Action, time.Time) {
	now, poll := obs.Now, obs.Now.Add(p.PollInterval.Std())
	want := need(pct, s.capacity(obs))
	if have := obs.ToTargets.Healthy; have < want {
		if s.WaitSince.IsZero() {
			s.WaitSince = now
			s.note(now, "waiting for %d healthy targets on %s before %d%% (%d now)", want, s.To.Group, pct, have)
		}
		deadline := s.WaitSince.Add(p.BlueGreen.HealthTimeout.Std())
		if !now.Before(deadline) {
			s.WaitSince = time.Time{}
			return s.beginRestore(p, obs, fmt.Sprintf("%s had %d healthy targets of the %d that %d%% of %d instances' traffic needs, after %s",
				s.To.Group, have, want, pct, s.capacity(obs), p.BlueGreen.HealthTimeout))
		}
		return nil, earliest(poll, deadline)
	}
	s.WaitSince = time.Time{}
	if promotion != "" {
		return s.promote(p, now, fmt.Sprintf("%s; %d/%d healthy targets", promotion, obs.ToTargets.Healthy, want))
	}
	s.Step = max(slices.Index(p.BlueGreen.Steps, pct), 0)
	return s.setStep(p, now)
}

// setStep sets the weights of the current step and starts its bake.
func (s *State) setStep(p Policy, now time.Time) ([]Action, time.Time) {
	pct := p.BlueGreen.Steps[s.Step]
	s.Shifted, s.StepAt = pct, now
	s.note(now, "step %d/%d: %d%% to %s, baking %s", s.Step+1, len(p.BlueGreen.Steps), pct, s.To.Group, p.BlueGreen.Bake)
	return []Action{s.weights(pct)}, earliest(now.Add(p.PollInterval.Std()), now.Add(p.BlueGreen.Bake.Std()))
}

// weights is the listener action sending pct percent to To.
func (s *State) weights(pct int) Action {
	return Action{Kind: SetWeights, Weights: split(s.From, s.To, pct)}
}

// split sends pct percent of a listener's traffic to to, the rest to from.
func split(from, to Side, pct int) []Weight {
	return []Weight{{TargetGroup: from.TargetGroup, Weight: 100 - pct}, {TargetGroup: to.TargetGroup, Weight: pct}}
}

// Weights returns the listener weights the record stands for: a blue/green
// rollout under way (warming, shifting, retaining, restoring) its last
// step's split; otherwise the group that serves (Policy.Sides of Live)
// takes everything: green after a promotion, blue when nothing ever rolled
// out or the last rollout was rolled back. No rollout ends with traffic
// split (settle).
func (s State) Weights(p Policy, fleetGroup string) []Weight {
	if s.Active() && s.Strategy == StrategyBlueGreen {
		return split(s.From, s.To, s.Shifted)
	}
	from, to := p.Sides(fleetGroup, s.Live)
	return split(from, to, 0)
}

// carrying checks that To can carry its share now: its healthy targets
// against what the share needs. A shortfall that the instances on their
// way (in their first health checks, launching, or about to be launched by
// grow) do not cover rolls back when it is still there at the next look (a
// single short look may be an instance Auto Scaling is replacing); one
// they do cover may last at most the health timeout, so that instances
// replaced again and again as they fail under load cannot hide it. It
// returns the reason to roll back, if any.
func (s *State) carrying(p Policy, obs Observation, grow int) string {
	now, pct := obs.Now, s.Shifted
	capacity := s.capacity(obs)
	want := need(pct, capacity)
	t := obs.ToTargets
	if t.Healthy >= want {
		s.ShortSince = time.Time{}
		return ""
	}
	if s.ShortSince.IsZero() {
		s.ShortSince = now
	}
	soon := t.Healthy + t.Initial + obs.To.Launching + grow
	short := now.Sub(s.ShortSince)
	why := fmt.Sprintf("%s cannot carry %d%% of %d instances' traffic: %d healthy targets (%d starting, %d launching) of the %d needed, for %s",
		s.To.Group, pct, capacity, t.Healthy, t.Initial, obs.To.Launching, want, short)
	switch {
	case soon < want && short >= p.PollInterval.Std(),
		short >= p.BlueGreen.HealthTimeout.Std():
		s.ShortSince = time.Time{}
		return why
	case short == 0 && soon < want:
		s.note(now, "%s; rolling back if it lasts", why)
	}
	return ""
}

func (s *State) shift(p Policy, obs Observation) ([]Action, time.Time) {
	now, poll := obs.Now, obs.Now.Add(p.PollInterval.Std())
	if s.Abort != "" {
		return s.beginRestore(p, obs, "abort: "+s.Abort)
	}
	if f := firing(obs.Alarms); len(f) > 0 {
		return s.beginRestore(p, obs, fmt.Sprintf("alarm %s in ALARM at %d%% on %s", strings.Join(f, ", "), s.Shifted, s.To.Group))
	}
	if obs.Err != "" {
		return nil, poll
	}
	acts := s.follow(obs)
	grow := 0
	if len(acts) > 0 {
		grow = obs.From.Desired - obs.To.Desired
	}
	if why := s.carrying(p, obs, grow); why != "" {
		more, wake := s.beginRestore(p, obs, why)
		return append(acts, more...), wake
	}
	if s.Promote {
		more, wake := s.advance(p, obs, 100, "promoted by the operator")
		return append(acts, more...), wake
	}
	if s.Paused {
		return acts, poll
	}
	bakeEnd := s.StepAt.Add(p.BlueGreen.Bake.Std())
	if now.Before(bakeEnd) {
		return acts, earliest(poll, bakeEnd)
	}
	// The next step is the first above the share reached, not Step+1: a
	// deploy may have changed the steps since this one was set.
	next, promotion := 100, fmt.Sprintf("baked %s at %d%%", p.BlueGreen.Bake, s.Shifted)
	if i := slices.IndexFunc(p.BlueGreen.Steps, func(pct int) bool { return pct > s.Shifted }); i >= 0 {
		next, promotion = p.BlueGreen.Steps[i], ""
	}
	more, wake := s.advance(p, obs, next, promotion)
	return append(acts, more...), wake
}

// promote sends all traffic to To, empties From (keeping the group and its
// version for the retention window) and swaps the roles.
func (s *State) promote(p Policy, now time.Time, why string) ([]Action, time.Time) {
	var acts []Action
	if s.Shifted != 100 {
		acts = append(acts, s.weights(100))
		s.Shifted = 100
	}
	acts = append(acts, Action{Kind: Resize, Group: s.From.Group, Size: Size{Min: 0, Desired: 0}})
	s.Live, s.Promote, s.ShortSince = s.To.Group, false, time.Time{}
	s.enter(now, PhaseRetain, "%s; %s now serves, %s kept at 0 for %s", why, s.To.Group, s.From.Group, p.BlueGreen.Retention)
	return acts, earliest(now.Add(p.PollInterval.Std()), now.Add(p.BlueGreen.Retention.Std()))
}

// retain keeps the old group at zero for the retention window, looking at
// every poll: a promoted group that can no longer carry the traffic rolls
// back while the old one can still come back, and an instance put in the
// old group (a scaler decision taken just before the promotion, a manual
// resize) is removed. Alarms alone do not roll back here: after the bake,
// a load-driven alarm is the scaler's to answer; an operator can abort. A
// blind look changes nothing: the retention ends at its time.
func (s *State) retain(p Policy, obs Observation) ([]Action, time.Time) {
	now, poll := obs.Now, obs.Now.Add(p.PollInterval.Std())
	if s.Abort != "" {
		return s.beginRestore(p, obs, "abort after promotion: "+s.Abort)
	}
	var acts []Action
	if obs.Err == "" {
		if why := s.carrying(p, obs, 0); why != "" {
			return s.beginRestore(p, obs, "after promotion: "+why)
		}
		if obs.From.Desired > 0 {
			s.note(now, "%s is retained at 0 but was sized to %d: back to 0", s.From.Group, obs.From.Desired)
			acts = append(acts, Action{Kind: Resize, Group: s.From.Group, Size: Size{}})
		}
	}
	end := s.PhaseAt.Add(p.BlueGreen.Retention.Std())
	if !s.ShortSince.IsZero() && !s.Promote {
		// The way back stays open while the promoted group is short; the
		// shortfall itself is bounded (carrying).
		return acts, poll
	}
	if s.Promote || !now.Before(end) {
		why := "retention of " + s.From.Group + " ended"
		if s.Promote {
			why = "retention of " + s.From.Group + " ended by the operator"
		}
		s.Promote = false
		s.finish(now, Succeeded, why)
		return acts, time.Time{}
	}
	return acts, earliest(poll, end)
}

// beginRestore starts a blue/green rollback and takes its first step with
// the same observation, so traffic leaves the new group in this very
// invocation when the old group can take it.
func (s *State) beginRestore(p Policy, obs Observation, why string) ([]Action, time.Time) {
	s.Reason = why
	// Only a promotion empties From; before it, scale-in was held on it.
	s.Returning = s.Phase == PhaseRetain
	s.enter(obs.Now, PhaseRestore, "rolling back: %s", why)
	acts := s.restoreConfig()
	more, wake := s.restoreStep(p, obs)
	return append(acts, more...), wake
}

// restoreStep brings From back to the size that serves now (never to the
// pre-rollout size: To may have scaled out since) and moves traffic back
// as From's healthy targets can carry it, so the traffic of N instances
// never lands on fewer. A To with no healthy target gives up its share at
// once: behind a failed-open target group it is being lost anyway.
func (s *State) restoreStep(p Policy, obs Observation) ([]Action, time.Time) {
	now := obs.Now
	deadline := s.PhaseAt.Add(p.BlueGreen.HealthTimeout.Std())
	if obs.Err != "" && !s.Returning {
		// From kept every instance it had (scale-in is held while a
		// rollout runs): move the traffic back now, whatever else could
		// not be read.
		return s.moveBack(now), time.Time{}
	}
	var acts []Action
	s.Carry = max(s.Carry, s.Base.Size.Desired)
	if obs.Err == "" {
		// Never on a blind look: a size not read may be one the scaler
		// has since raised, and writing the old one would shrink it.
		s.Carry = max(s.Carry, obs.From.Desired, obs.To.Desired)
		if obs.From.Desired < s.Carry {
			acts = append(acts, Action{Kind: Resize, Group: s.From.Group,
				Size: Size{Min: s.Base.Size.Min, Max: max(s.Base.Size.Max, s.Carry, obs.From.Max), Desired: s.Carry}})
		}
		left := s.share(obs)
		if left == 0 {
			return append(acts, s.moveBack(now)...), time.Time{}
		}
		if left < s.Shifted {
			s.note(now, "%d healthy targets on %s of %d: %d%% back to it", obs.FromTargets.Healthy, s.From.Group, s.Carry, 100-left)
			s.Shifted = left
			acts = append(acts, s.weights(left))
		}
	}
	if !now.Before(deadline) {
		more := s.settle(now, obs, fmt.Sprintf("%s not back and healthy within %s (%d/%d targets healthy)",
			s.From.Group, p.BlueGreen.HealthTimeout, obs.FromTargets.Healthy, s.Carry))
		return append(acts, more...), time.Time{}
	}
	return acts, earliest(now.Add(p.PollInterval.Std()), deadline)
}

// share is the percentage of traffic To keeps while From comes back: what
// From's healthy targets cannot yet carry at the fleet's load per instance,
// never more than To has now. To keeps it even with no healthy target:
// behind a failed-open target group its instances may still serve, and
// sending their traffic to fewer healthy ones than it needs overloads
// those too.
func (s *State) share(obs Observation) int {
	if s.Carry == 0 {
		return 0
	}
	left := 100 - 100*obs.FromTargets.Healthy/s.Carry
	return min(max(left, 0), s.Shifted)
}

// settle ends a rollback that cannot finish with one group serving and the
// fleet's configuration agreeing with it: all traffic to the side that
// carries most of it (To if From has no healthy target), the other side
// emptied, and, when To keeps serving, its version and image back as the
// template's default and the parameter, so launches and the next deploy
// match what serves. The rollout ends Failed: an operator must look.
func (s *State) settle(now time.Time, obs Observation, why string) []Action {
	toServes := s.Shifted > 50 || (obs.Err == "" && obs.FromTargets.Healthy == 0)
	var acts []Action
	if toServes {
		s.Shifted, s.Live = 100, s.To.Group
		acts = []Action{s.weights(100), {Kind: Resize, Group: s.From.Group, Size: Size{}},
			{Kind: SetDefaultVersion, LaunchTemplate: s.Base.LaunchTemplate, Version: s.Version},
			{Kind: PutParameter, Image: s.Image.ID}}
		why += fmt.Sprintf("; %s keeps serving %s", s.To.Group, s.Image.ID)
	} else {
		s.Shifted, s.Live = 0, s.From.Group
		acts = []Action{s.weights(0), {Kind: Resize, Group: s.To.Group, Size: Size{}}}
		why += fmt.Sprintf("; %s serves, short of capacity", s.From.Group)
	}
	s.finish(now, Failed, why+" ("+s.Reason+")")
	return acts
}

// moveBack sends all traffic to From, empties To and ends the rollback.
func (s *State) moveBack(now time.Time) []Action {
	acts := []Action{s.weights(0), {Kind: Resize, Group: s.To.Group, Size: Size{Min: 0, Desired: 0}}}
	s.Shifted = 0
	s.Live = s.From.Group
	s.finish(now, s.abortOutcome(), s.Reason)
	return acts
}
