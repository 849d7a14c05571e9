package rollout

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Instance refresh statuses, as DescribeInstanceRefreshes reports them.
const (
	RefreshPending            = "Pending"
	RefreshInProgress         = "InProgress"
	RefreshSuccessful         = "Successful"
	RefreshFailed             = "Failed"
	RefreshCancelling         = "Cancelling"
	RefreshCancelled          = "Cancelled"
	RefreshRollbackInProgress = "RollbackInProgress"
	RefreshRollbackFailed     = "RollbackFailed"
	RefreshRollbackSuccessful = "RollbackSuccessful"
	RefreshBaking             = "Baking"
)

// AlarmFiring is the CloudWatch state that rolls a bake back.
const AlarmFiring = "ALARM"

// Refresh is an instance refresh as observed.
type Refresh struct {
	ID         string
	Status     string // one of the Refresh* constants
	Reason     string
	Percentage int
}

// running reports whether the refresh is still replacing instances forward.
func (r Refresh) running() bool {
	return r.Status == RefreshPending || r.Status == RefreshInProgress || r.Status == RefreshBaking
}

// busy reports whether the refresh has not reached a final status.
func (r Refresh) busy() bool {
	return r.running() || r.Status == RefreshCancelling || r.Status == RefreshRollbackInProgress
}

// Group is an Auto Scaling group as observed.
type Group struct {
	Name              string
	Min, Max, Desired int
	InService         int
	// Launching counts instances not yet in service (pending, or held by
	// a launch lifecycle hook).
	Launching int
	// Versions counts the group's instances (launching or in service) by
	// the launch template version they run.
	Versions map[string]int
}

// Targets counts a target group's registered targets, draining ones left
// out. Initial ones are in their first health checks: on their way, not
// yet proven.
type Targets struct {
	Healthy, Initial, Total int
}

// Alarm is one health alarm's state.
type Alarm struct {
	Name, State string
}

// Observation is what the handler saw just before a step. A rolling step
// looks at Refresh and From; a blue/green step at both groups, both target
// groups and the alarms.
type Observation struct {
	Now         time.Time
	Refresh     *Refresh
	From, To    Group
	FromTargets Targets
	ToTargets   Targets
	Alarms      []Alarm
	// Err says what could not be read. The step then changes nothing but
	// its timers: it never moves traffic forward on a blind look.
	Err string
	// RefreshMissing says the followed instance refresh could not be
	// found. Like Err, it is a blind look: Policy.BlindTimeout bounds how
	// long a rollout goes on without seeing what it follows.
	RefreshMissing bool
}

// blind reports whether the look missed something the phase relies on.
func (o Observation) blind() bool { return o.Err != "" || o.RefreshMissing }

// ActionKind names an effect.
type ActionKind string

// Action kinds.
const (
	// CreateVersion copies launch template version Version of
	// LaunchTemplate with Image; the new number comes back as a Result.
	CreateVersion ActionKind = "create_version"
	// SetDefaultVersion makes Version the template's default.
	SetDefaultVersion ActionKind = "set_default_version"
	// PutParameter writes Image to the fleet's SSM parameter.
	PutParameter ActionKind = "put_parameter"
	// SetGroupVersion points Group at the numbered Version.
	SetGroupVersion ActionKind = "set_group_version"
	// Resize sets Group's size (Size.Max 0 leaves the maximum).
	Resize ActionKind = "resize"
	// StartRefresh starts an instance refresh of Group to Version; its ID
	// comes back as a Result.
	StartRefresh ActionKind = "start_refresh"
	// RollbackRefresh rolls back Group's running refresh. Best effort: the
	// revert phase handles whatever it leaves.
	RollbackRefresh ActionKind = "rollback_refresh"
	// CancelRefresh stops Group's running refresh (pause). Best effort.
	CancelRefresh ActionKind = "cancel_refresh"
	// SetWeights sets the listener's forward weights.
	SetWeights ActionKind = "set_weights"
)

// Weight is a target group's weight on the listener.
type Weight struct {
	TargetGroup string
	Weight      int
}

// Action is one effect for the handler to apply, in order.
type Action struct {
	Kind           ActionKind
	Group          string
	LaunchTemplate string
	Version        int64
	Image          string
	Size           Size
	SkipMatching   bool
	AutoRollback   bool
	Weights        []Weight
}

// BestEffort reports whether a failure of the action is logged and the
// rollout goes on: the next observation shows what it did or did not do.
func (a Action) BestEffort() bool { return a.Kind == RollbackRefresh || a.Kind == CancelRefresh }

// Step advances the rollout by what obs shows. It returns the actions to
// apply in order, the next state and when to step again: zero once the
// rollout is done, obs.Now when the next step is due at once (it needs the
// result of an action or a fresh look).
func Step(p Policy, s State, obs Observation) ([]Action, State, time.Time) {
	if !s.Active() {
		return nil, s, time.Time{}
	}
	p = p.WithDefaults()
	next := s.clone()
	next.Steps++
	var acts []Action
	var wake time.Time
	if acts, wake, over := next.blindFor(p, obs); over {
		next.WakeAt = wake
		return acts, next, wake
	}
	switch s.Phase {
	case PhaseStamp:
		acts, wake = next.stamp(p, obs)
	case PhaseRefresh:
		acts, wake = next.refresh(p, obs)
	case PhaseRevert:
		acts, wake = next.revert(p, obs)
	case PhaseWarm:
		acts, wake = next.warm(p, obs)
	case PhaseShift:
		acts, wake = next.shift(p, obs)
	case PhaseRetain:
		acts, wake = next.retain(p, obs)
	case PhaseRestore:
		acts, wake = next.restoreStep(p, obs)
	default:
		next.finish(obs.Now, Failed, fmt.Sprintf("unknown phase %q", s.Phase))
	}
	if !next.Active() {
		wake = time.Time{}
	}
	next.WakeAt = wake
	return acts, next, wake
}

// looks reports whether the phase reads the fleet, so a blind look there
// counts toward Policy.BlindTimeout. A rolling stamp reads nothing.
func (s *State) looks() bool { return s.Phase != PhaseStamp || s.Strategy == StrategyBlueGreen }

// blindFor tracks how long the rollout has not seen what it follows and,
// past Policy.BlindTimeout, ends the wait in a defined state: a rollout
// going forward rolls back; one already rolling back, or one whose group
// cannot be read at all, ends Failed with the launch template and
// parameter put back. It reports whether it ended the step.
func (s *State) blindFor(p Policy, obs Observation) ([]Action, time.Time, bool) {
	if !s.looks() || s.Phase == PhaseRetain {
		// A retention ends at its time whatever it sees: rolling a
		// promoted fleet back because a read failed would be worse.
		return nil, time.Time{}, false
	}
	now := obs.Now
	if !obs.blind() {
		s.BlindSince = time.Time{}
		return nil, time.Time{}, false
	}
	if s.BlindSince.IsZero() {
		s.BlindSince = now
	}
	if now.Sub(s.BlindSince) < p.BlindTimeout.Std() {
		return nil, time.Time{}, false
	}
	what := obs.Err
	if obs.RefreshMissing {
		what = strings.TrimPrefix(strings.Join([]string{what, "instance refresh " + s.RefreshID + " not found"}, "; "), "; ")
	}
	why := fmt.Sprintf("blind for %s: %s", p.BlindTimeout, what)
	s.BlindSince = time.Time{}
	s.BlindGiveUps++
	s.note(now, "%s", why)
	poll := now.Add(p.PollInterval.Std())
	switch {
	case s.Phase == PhaseRestore:
		return s.settle(now, obs, why+" while rolling back"), time.Time{}, true
	case s.Phase == PhaseRevert:
		s.finish(now, Failed, why+" while rolling back ("+s.Reason+")")
		return nil, time.Time{}, true
	case s.Phase == PhaseStamp:
		acts := s.undoStamp()
		s.finishUnblamed(now, Failed, why)
		return acts, time.Time{}, true
	case s.Strategy == StrategyRolling && obs.Err != "":
		// The group itself cannot be read (deleted, replaced): nothing
		// can be reverted on it, but new launches must not take the image.
		acts := slices.DeleteFunc(s.restoreConfig(), func(a Action) bool { return a.Kind == SetGroupVersion })
		s.finish(now, Failed, why)
		return acts, time.Time{}, true
	case s.Strategy == StrategyRolling:
		// The refresh is gone but the group is there: revert what it holds.
		s.RefreshID = ""
		return s.beginRevert(now, why, true), poll, true
	}
	acts, wake := s.beginRestore(p, obs, why)
	return acts, wake, true
}

func (s *State) stamp(p Policy, obs Observation) ([]Action, time.Time) {
	now := obs.Now
	if s.Abort == "" && s.Strategy == StrategyBlueGreen {
		if obs.Err != "" {
			return nil, now.Add(p.PollInterval.Std())
		}
		if acts, wake, busy := s.emptyIdle(p, obs); busy {
			return acts, wake
		}
	}
	if s.Abort != "" {
		acts := s.undoStamp()
		s.finish(now, s.abortOutcome(), "ended before the fleet changed: "+s.Abort)
		return acts, time.Time{}
	}
	if s.Paused {
		return nil, now.Add(p.PollInterval.Std())
	}
	if s.Version == 0 {
		return []Action{{Kind: CreateVersion, LaunchTemplate: s.Base.LaunchTemplate, Version: s.Base.GroupVersion, Image: s.Image.ID}}, now
	}
	var acts []Action
	if !s.Base.pinned() {
		// A group on "$Default" would start launching the new image the
		// moment the default moves, and a refresh cannot roll back a
		// group on "$Latest" or "$Default": pin it to the number first.
		acts = append(acts, Action{Kind: SetGroupVersion, Group: s.From.Group, LaunchTemplate: s.Base.LaunchTemplate, Version: s.Base.GroupVersion})
	}
	acts = append(acts,
		Action{Kind: SetDefaultVersion, LaunchTemplate: s.Base.LaunchTemplate, Version: s.Version},
		Action{Kind: PutParameter, Image: s.Image.ID})
	if s.Strategy == StrategyRolling {
		s.enter(now, PhaseRefresh, "stamped %s as launch template version %d", s.Image.ID, s.Version)
		return acts, now
	}
	acts = append(acts,
		Action{Kind: SetGroupVersion, Group: s.To.Group, LaunchTemplate: s.Base.LaunchTemplate, Version: s.Version},
		Action{Kind: Resize, Group: s.To.Group, Size: s.Base.Size})
	s.enter(now, PhaseWarm, "stamped %s as version %d; %s sized to %d", s.Image.ID, s.Version, s.To.Group, s.Base.Size.Desired)
	return acts, now.Add(p.PollInterval.Std())
}

func (s *State) refresh(p Policy, obs Observation) ([]Action, time.Time) {
	now, poll := obs.Now, obs.Now.Add(p.PollInterval.Std())
	r := obs.Refresh
	if s.Abort != "" {
		if s.RefreshID != "" && (r == nil || r.busy()) {
			// Auto Scaling may refuse to change the group's launch
			// template while the refresh runs; its rollback restores the
			// group's configuration, and the revert sets it once the
			// refresh is over.
			acts := []Action{{Kind: RollbackRefresh, Group: s.From.Group}}
			return append(acts, s.beginRevert(now, "abort: "+s.Abort, false)...), poll
		}
		return s.beginRevert(now, "abort: "+s.Abort, true), poll
	}
	if s.RefreshID == "" {
		if s.Paused {
			return nil, poll
		}
		skip := !p.Rolling.ReplaceMatching || s.Restarts > 0
		return []Action{{Kind: StartRefresh, Group: s.From.Group, LaunchTemplate: s.Base.LaunchTemplate, Version: s.Version,
			SkipMatching: skip, AutoRollback: true}}, poll
	}
	if obs.Err != "" || r == nil {
		return nil, poll
	}
	switch r.Status {
	case RefreshSuccessful:
		s.Live = s.From.Group
		s.finish(now, Succeeded, fmt.Sprintf("instance refresh %s replaced the group with version %d", r.ID, s.Version))
		// Auto Scaling moves the group to the desired configuration when
		// the refresh succeeds; saying so again costs nothing.
		return []Action{{Kind: SetGroupVersion, Group: s.From.Group, LaunchTemplate: s.Base.LaunchTemplate, Version: s.Version}}, time.Time{}
	case RefreshCancelled:
		if s.Paused {
			s.RefreshID = ""
			s.Restarts++
			s.note(now, "refresh %s stopped for the pause at %d%%", r.ID, r.Percentage)
			return nil, poll
		}
		return s.beginRevert(now, fmt.Sprintf("instance refresh %s ended %s outside the rollout", r.ID, r.Status), true), poll
	case RefreshFailed, RefreshRollbackSuccessful, RefreshRollbackFailed:
		return s.beginRevert(now, fmt.Sprintf("instance refresh %s ended %s: %s", r.ID, r.Status, orNone(r.Reason)), true), poll
	}
	if s.Paused && r.running() {
		// Auto Scaling has no pause: stop the refresh and start a new one,
		// skipping the instances already replaced, on resume.
		return []Action{{Kind: CancelRefresh, Group: s.From.Group}}, poll
	}
	return nil, poll
}

// beginRevert restores the old default version and parameter, and the
// group version unless a refresh still runs, and moves to the revert
// phase, which deals with the instances (and the group version).
func (s *State) beginRevert(now time.Time, why string, groupVersion bool) []Action {
	s.Reason = why
	s.enter(now, PhaseRevert, "rolling back: %s", why)
	acts := s.restoreConfig()
	if !groupVersion {
		acts = slices.DeleteFunc(acts, func(a Action) bool { return a.Kind == SetGroupVersion })
	}
	return acts
}

// undoStamp puts back whatever a stamp may have changed. The record cannot
// tell: a stamp cut short by a failure may have moved the default version,
// the parameter and the idle group before anything about it was saved, so
// every setter is applied again (each is a no-op where nothing changed).
func (s *State) undoStamp() []Action {
	acts := s.restoreConfig()
	if s.Strategy == StrategyBlueGreen {
		acts = append(acts, Action{Kind: Resize, Group: s.To.Group, Size: Size{}})
	}
	return acts
}

// restoreConfig puts back the launch template default and the SSM
// parameter, and a rolling rollout's group version.
func (s *State) restoreConfig() []Action {
	acts := []Action{
		{Kind: SetDefaultVersion, LaunchTemplate: s.Base.LaunchTemplate, Version: s.Base.DefaultVersion},
		{Kind: PutParameter, Image: s.Base.parameter()},
	}
	if s.Strategy == StrategyRolling {
		acts = append(acts, s.restoreGroupVersion())
	}
	return acts
}

func (s *State) restoreGroupVersion() Action {
	return Action{Kind: SetGroupVersion, Group: s.From.Group, LaunchTemplate: s.Base.LaunchTemplate, Version: s.Base.GroupVersion}
}

func (s *State) revert(p Policy, obs Observation) ([]Action, time.Time) {
	now, poll := obs.Now, obs.Now.Add(p.PollInterval.Std())
	if obs.Err != "" {
		return nil, poll
	}
	r := obs.Refresh
	if s.RefreshID != "" && r != nil && r.busy() {
		return nil, poll
	}
	left := obs.From.Versions[strconv.FormatInt(s.Version, 10)]
	// No refresh runs now: the group's version can be set (again: a
	// setter, and the revert may have begun while one ran).
	switch {
	case left == 0:
		s.Live = s.From.Group
		s.finish(now, s.abortOutcome(), s.Reason)
		return []Action{s.restoreGroupVersion()}, time.Time{}
	case s.Reverting:
		status := "unknown"
		if r != nil {
			status = r.Status
		}
		s.finish(now, Failed, fmt.Sprintf("%d instances still on version %d after the revert refresh ended %s (%s)", left, s.Version, status, s.Reason))
		return []Action{s.restoreGroupVersion()}, time.Time{}
	}
	s.Reverting, s.RefreshID = true, ""
	s.note(now, "%d instances left on version %d: refreshing them back to version %d", left, s.Version, s.Base.GroupVersion)
	return []Action{{Kind: StartRefresh, Group: s.From.Group, LaunchTemplate: s.Base.LaunchTemplate, Version: s.Base.GroupVersion, SkipMatching: true}}, poll
}

// enter moves to phase and notes why.
func (s *State) enter(now time.Time, phase Phase, format string, args ...any) {
	s.Phase, s.PhaseAt = phase, now
	s.note(now, format, args...)
}

// finish ends the rollout. An image rolled back, or whose rollout failed
// after it reached the fleet, joins RolledBack.
func (s *State) finish(now time.Time, o Outcome, why string) {
	s.finishUnblamed(now, o, why)
	if (o == RolledBack || o == Failed) && !slices.Contains(s.RolledBack, s.Image.ID) {
		s.RolledBack = append(s.RolledBack, s.Image.ID)
		if n := len(s.RolledBack); n > maxRolledBack {
			s.RolledBack = slices.Delete(s.RolledBack, 0, n-maxRolledBack)
		}
	}
}

// finishUnblamed ends the rollout without holding it against the image:
// it never reached the fleet (an idle group that would not empty, a stamp
// that could not see the group), so a later event for it may try again.
func (s *State) finishUnblamed(now time.Time, o Outcome, why string) {
	s.Phase, s.Outcome, s.Reason, s.Ended, s.Paused, s.WakeAt = PhaseDone, o, why, now, false, time.Time{}
	s.note(now, "%s: %s", o, why)
}

// abortOutcome is the outcome of a rollback: superseded when a newer image
// asked for it.
func (s *State) abortOutcome() Outcome {
	if s.Supersede {
		return Superseded
	}
	return RolledBack
}

func firing(alarms []Alarm) []string {
	var out []string
	for _, a := range alarms {
		if a.State == AlarmFiring {
			out = append(out, a.Name)
		}
	}
	return out
}

func earliest(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func orNone(s string) string {
	if s == "" {
		return "no reason given"
	}
	return s
}
