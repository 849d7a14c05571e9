package scaling

import (
	"fmt"
	"maps"
	"time"
)

// Alarm states, as CloudWatch names them.
const (
	StateAlarm            = "ALARM"
	StateOK               = "OK"
	StateInsufficientData = "INSUFFICIENT_DATA"
)

// Signal is what an alarm says now.
type Signal struct {
	Alarm     string
	State     string
	Value     float64 // the newest datapoint, in the metric's units
	Threshold float64
	// Since is when the alarm entered State. A signal in another state than
	// the one already applied, and older than it, is stale (see Seen).
	Since time.Time
}

// Group is the capacity of the Auto Scaling group as last described.
type Group struct {
	Min, Max, Desired int
	// InService counts instances in service; Desired - InService are still
	// launching (or waiting on a lifecycle hook). It can exceed Desired for
	// a while: an instance refresh keeps up to MaxHealthyPercentage (100 to
	// 200) of desired "in service and healthy, or pending" while it launches
	// replacements before terminating (EC2 Auto Scaling user guide,
	// "Understand the default values for an instance refresh",
	// https://docs.aws.amazon.com/autoscaling/ec2/userguide/understand-instance-refresh-default-values.html;
	// RefreshPreferences.MaxHealthyPercentage in the API reference), and a
	// lowered desired takes a moment to pick the instances it terminates.
	// Decisions are based on Desired, never on instances above it.
	InService int
	// Protected counts instances protected from scale-in: the group cannot
	// terminate them, so capacity is never set below their number.
	Protected int
	// Suspended is true while the group's AlarmNotification process is
	// suspended: "Amazon EC2 Auto Scaling does not invoke scaling policies
	// that would be triggered by alarms"
	// (https://docs.aws.amazon.com/autoscaling/ec2/userguide/as-suspend-resume-processes.html).
	// It is the operator's switch for AWS's own policies, and stampkit's
	// scaler honours it too: no alarm and no forecast changes capacity
	// until the process is resumed.
	Suspended bool
}

// Hold is a rollout's claim on the fleet: scale-in pauses while it lasts and
// scale-out goes to the live group.
type Hold struct {
	Rollout   string    `json:"rollout"`
	LiveGroup string    `json:"liveGroup"`
	Until     time.Time `json:"until"`
}

// Active reports whether h holds the fleet at now.
func (h *Hold) Active(now time.Time) bool { return h != nil && now.Before(h.Until) }

// Observation is everything a decision looks at.
type Observation struct {
	Now    time.Time
	Signal Signal
	Group  Group
	Hold   *Hold
}

// State is what the scaler remembers about a fleet between decisions.
type State struct {
	LastScaleOut time.Time `json:"lastScaleOut,omitzero"`
	LastScaleIn  time.Time `json:"lastScaleIn,omitzero"`
	// OutFrom is the capacity before the last scale-out: while that
	// scale-out warms up, a repeated breach is measured from it.
	OutFrom int `json:"outFrom,omitempty"`
	// Seen maps each alarm to the newest state applied.
	Seen map[string]Seen `json:"seen,omitempty"`
	// Floor is the forecast's capacity floor (RaiseToFloor); until
	// FloorUntil reactive scale-in stops at it.
	Floor      int       `json:"floor,omitempty"`
	FloorUntil time.Time `json:"floorUntil,omitzero"`
	// ShiftFloor is the floor a stamp shift holds on the fleet while it
	// moves traffic to it (package shifter), until ShiftFloorUntil. It is
	// apart from the forecast's so that neither lowers the other: each
	// forecast tick rewrites Floor, and scale-in stops at the higher of
	// the two (FloorAt).
	ShiftFloor      int       `json:"shiftFloor,omitempty"`
	ShiftFloorUntil time.Time `json:"shiftFloorUntil,omitzero"`
}

// Action is what a decision does.
type Action string

// Actions.
const (
	None     Action = "none"
	ScaleOut Action = "scale_out"
	ScaleIn  Action = "scale_in"
)

// Outcome classifies a decision for metrics and logs.
type Outcome string

// Outcomes. Scaled is the only one that changes capacity.
const (
	Scaled       Outcome = "scaled"
	Stale        Outcome = "stale"
	NotInAlarm   Outcome = "not_in_alarm"
	UnknownAlarm Outcome = "unknown_alarm"
	Cooldown     Outcome = "cooldown"
	InFlight     Outcome = "in_flight"
	Holding      Outcome = "holding"
	AtLimit      Outcome = "at_limit"
	RolloutHold  Outcome = "rollout_hold"
	// Suspended: the group's AlarmNotification process is suspended.
	Suspended Outcome = "suspended"
	// NoForecast and AboveFloor are forecast decisions that change
	// nothing: too little history, or capacity already at the floor.
	NoForecast Outcome = "no_forecast"
	AboveFloor Outcome = "above_floor"
)

// Decision is the result of Decide.
type Decision struct {
	Action   Action
	Outcome  Outcome
	From, To int
	Reason   string
	// WakeAt, when set, is when the same signal would decide differently
	// (a cooldown or hold ends); the scheduled tick re-evaluates then.
	WakeAt time.Time
}

// Decide returns what to do about obs under p, and the state to keep.
// The returned state differs from s only when the decision changes capacity
// or records a newer signal.
func Decide(p Policy, s State, obs Observation) (Decision, State) {
	sig, g := obs.Signal, obs.Group
	d := Decision{Action: None, From: g.Desired, To: g.Desired}
	seen := s.Seen[sig.Alarm]
	if seen.outOfOrder(sig) {
		d.Outcome, d.Reason = Stale, fmt.Sprintf("%s since %s is older than %s since %s, already applied", sig.State, stamp(sig.Since), seen.State, stamp(seen.Since))
		return d, s
	}
	seen = seen.then(sig)
	next := s.withSeen(sig.Alarm, seen)
	// A scale-in holds from the latest reading of this state (Seen.then).
	obs.Signal.Since = seen.Since
	rule, ok := p.Rule(sig.Alarm)
	if !ok {
		d.Outcome, d.Reason = UnknownAlarm, fmt.Sprintf("alarm %q has no rule in the policy", sig.Alarm)
		return d, s
	}
	if sig.State != StateAlarm {
		d.Outcome, d.Reason = NotInAlarm, fmt.Sprintf("alarm is %s", sig.State)
		return d, next
	}
	if g.Suspended {
		d.Outcome, d.Reason = Suspended, "the group's AlarmNotification process is suspended"
		return d, next
	}
	lo, hi := max(p.Min, g.Min), min(p.Max, g.Max)
	if rule.Direction == Out {
		return scaleOut(p, rule, s, next, obs, d, hi)
	}
	// Scale-in stops at the forecast floor, never above the maximum: a
	// reactive scale-in below it would be undone by the next tick.
	return scaleIn(p, rule, s, next, obs, d, max(lo, g.Protected, min(s.FloorAt(obs.Now), hi)))
}

func scaleOut(p Policy, r Rule, s, next State, obs Observation, d Decision, hi int) (Decision, State) {
	now, g, sig := obs.Now, obs.Group, obs.Signal
	if until := s.LastScaleOut.Add(p.ScaleOutCooldown.Std()); now.Before(until) {
		d.Outcome, d.Reason, d.WakeAt = Cooldown, fmt.Sprintf("scale-out cooldown until %s", stamp(until)), until
		return d, next
	}
	// Capacity that is launching or still warming up has not yet moved the
	// metric, so the breach is measured against what was there before it;
	// a repeated breach adds only what goes beyond the capacity in flight.
	// Instances in service beyond desired are not capacity the group keeps
	// (see Group.InService): a step measured from them would overshoot, and
	// a rollout's scale-in hold would keep the overshoot.
	base := min(g.InService, g.Desired)
	if now.Before(s.LastScaleOut.Add(p.Warmup.Std())) {
		base = min(base, s.OutFrom)
	}
	want := r.target(base, sig.Value-sig.Threshold)
	if p.MaxStepOut > 0 {
		want = min(want, g.Desired+p.MaxStepOut)
	}
	want = min(want, hi)
	switch {
	case g.Desired >= hi:
		d.Outcome, d.Reason = AtLimit, fmt.Sprintf("at maximum capacity %d", hi)
		return d, next
	case want <= g.Desired:
		d.Outcome, d.Reason = InFlight, fmt.Sprintf("target %d from %d warm instances is already covered by desired %d", want, base, g.Desired)
		return d, next
	}
	d.Action, d.Outcome, d.To = ScaleOut, Scaled, want
	d.Reason = fmt.Sprintf("%s at %g is %g past %g: %d -> %d", sig.Alarm, sig.Value, sig.Value-sig.Threshold, sig.Threshold, g.Desired, want)
	next.LastScaleOut, next.OutFrom = now, base
	return d, next
}

func scaleIn(p Policy, r Rule, s, next State, obs Observation, d Decision, lo int) (Decision, State) {
	now, g, sig := obs.Now, obs.Group, obs.Signal
	if obs.Hold.Active(now) {
		d.Outcome, d.Reason, d.WakeAt = RolloutHold, fmt.Sprintf("rollout %s holds the fleet until %s", obs.Hold.Rollout, stamp(obs.Hold.Until)), obs.Hold.Until
		return d, next
	}
	last := s.LastScaleIn
	if s.LastScaleOut.After(last) {
		last = s.LastScaleOut
	}
	if until := last.Add(p.ScaleInCooldown.Std()); now.Before(until) {
		d.Outcome, d.Reason, d.WakeAt = Cooldown, fmt.Sprintf("scale-in cooldown until %s", stamp(until)), until
		return d, next
	}
	// A clock that runs behind the alarm's makes the hold look shorter,
	// never negative, so skew delays a scale-in rather than hastening it.
	if held, until := now.Sub(sig.Since), sig.Since.Add(p.ScaleInHold.Std()); held < p.ScaleInHold.Std() {
		d.Outcome, d.Reason, d.WakeAt = Holding, fmt.Sprintf("low alarm held %s of %s", max(held, 0).Round(time.Second), p.ScaleInHold), until
		return d, next
	}
	// Only a shortfall is in flight. Instances above desired (a refresh's
	// replacements) go when the refresh ends, and the target below is
	// measured from desired, so they neither hold nor size a scale-in.
	if g.InService < g.Desired {
		d.Outcome, d.Reason = InFlight, fmt.Sprintf("%d instances still launching", g.Desired-g.InService)
		return d, next
	}
	want := r.target(g.Desired, sig.Threshold-sig.Value)
	if p.MaxStepIn > 0 {
		want = max(want, g.Desired-p.MaxStepIn)
	}
	want = max(want, lo)
	if want >= g.Desired {
		d.Outcome, d.Reason = AtLimit, fmt.Sprintf("at minimum capacity %d (min, protected instances or forecast floor)", lo)
		return d, next
	}
	d.Action, d.Outcome, d.To = ScaleIn, Scaled, want
	d.Reason = fmt.Sprintf("%s at %g is %g under %g for %s: %d -> %d", sig.Alarm, sig.Value, sig.Threshold-sig.Value, sig.Threshold, now.Sub(sig.Since).Round(time.Second), g.Desired, want)
	next.LastScaleIn = now
	return d, next
}

func (s State) withSeen(alarm string, applied Seen) State {
	seen := maps.Clone(s.Seen)
	if seen == nil {
		seen = map[string]Seen{}
	}
	seen[alarm] = applied
	s.Seen = seen
	return s
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// Merge returns what two decisions taken from the same loaded state both
// remember: the later scale-out (with the capacity it started from), the
// later scale-in, the later forecast floor and each alarm's newest signal. A decision whose effect is
// already applied but whose save lost a race merges instead of being
// retried, because a retry would apply the effect a second time.
func (s State) Merge(o State) State {
	m := s
	if o.LastScaleOut.After(m.LastScaleOut) {
		m.LastScaleOut, m.OutFrom = o.LastScaleOut, o.OutFrom
	}
	if o.LastScaleIn.After(m.LastScaleIn) {
		m.LastScaleIn = o.LastScaleIn
	}
	if o.FloorUntil.After(m.FloorUntil) {
		m.Floor, m.FloorUntil = o.Floor, o.FloorUntil
	}
	if o.ShiftFloorUntil.After(m.ShiftFloorUntil) {
		m.ShiftFloor, m.ShiftFloorUntil = o.ShiftFloor, o.ShiftFloorUntil
	}
	m.Seen = maps.Clone(s.Seen)
	for alarm, theirs := range o.Seen {
		if m.Seen == nil {
			m.Seen = map[string]Seen{}
		}
		if cur, ok := m.Seen[alarm]; !ok || theirs.supersedes(cur) {
			m.Seen[alarm] = theirs
		}
	}
	return m
}
