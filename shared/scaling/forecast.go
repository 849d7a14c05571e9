package scaling

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/stampkit/stampkit/shared/clock"
)

// HistoryStep is the resolution of the load history a forecast reads: the
// per-minute sums CloudWatch returns are kept as five-minute totals, so
// that fourteen days (4,032 values) fit a small state-table item and a
// peak that drifts by a few minutes from day to day still lines up.
const HistoryStep = 5 * time.Minute

// MinHistory is how much history a forecast needs before it says
// anything: one full day, so that every target time has at least one
// sample from the day before.
const MinHistory = 24 * time.Hour

// levelWindow is the recent past the current level is measured over: the
// ratio of what came to what the seasonal centre said for it.
const levelWindow = time.Hour

// The level is clamped: a day twice or half as busy as its usual self is
// followed, a recent hour that is all outage or all spike is not.
const (
	minLevel = 0.5
	maxLevel = 2.0
)

// FloorHold is how long a computed floor holds reactive scale-in after
// the tick that computed it: a few missed ticks keep it, a forecast that
// stopped does not hold the fleet forever.
const FloorHold = 5 * time.Minute

// Metric names a CloudWatch metric.
type Metric struct {
	// Namespace is the metric's CloudWatch namespace.
	Namespace string `json:"namespace"`
	// Name is the metric's name.
	Name string `json:"metric"`
	// Dimensions select the metric's series, by dimension name.
	Dimensions map[string]string `json:"dimensions,omitempty"`
}

// Forecast raises a fleet's capacity ahead of load that its own history
// predicts: daily seasonality over the last LookbackDays (the same time
// of day each day, the same time of week counted WeeklyWeight times),
// scaled by how busy the last hour was against what that seasonality said
// for it. It only raises capacity: the reactive rules still scale out
// past it, and reactive scale-in stops at it.
type Forecast struct {
	// Metric is the fleet's load, read as per-minute Sums: for a fleet
	// behind an Application Load Balancer of its own, AWS/ApplicationELB
	// RequestCount of the load balancer (of a target group, a blue/green
	// rollout would move the load away from the series). Unlike CPU it
	// does not saturate under overload, and unlike RequestCountPerTarget
	// it does not depend on the fleet's own size.
	Metric
	// PerInstance is the load per minute, in metric units, the floor gives
	// each instance: at or somewhat above what one carries at the
	// policy's target (DefaultPolicy: 1.2 ×), since the rules top up.
	PerInstance float64 `json:"perInstance"`
	// LookbackDays (1–14) is how many past days the seasonal samples come
	// from. One-minute data is kept 15 days by CloudWatch.
	LookbackDays int `json:"lookbackDays"`
	// Lead is how far ahead capacity must be asked for: about launch plus
	// readiness, so that it is in service when the load arrives.
	Lead clock.Duration `json:"lead"`
	// Window is how far past Lead the floor looks. The floor covers the
	// busiest five minutes of [now, now+Lead+Window]: from now, so that
	// capacity raised ahead of a peak holds through it.
	Window clock.Duration `json:"window"`
	// Quantile (0.5–0.99) of the day-to-day samples is the upper band the
	// floor covers; 0.5 is the median.
	Quantile float64 `json:"quantile"`
	// WeeklyWeight counts a sample from the same time of week this many
	// times over (0 or 1: weekly seasonality plays no extra part).
	WeeklyWeight int `json:"weeklyWeight,omitempty"`
	// Spare adds Spare × √R instances to the R the forecast load needs
	// (square-root staffing): the relative burstiness of a load falls as
	// it grows, so a small fleet needs a larger share of spare capacity
	// than a large one for the same risk, and a flat utilisation target
	// gives the large fleet too much and the small one too little.
	Spare float64 `json:"spare,omitempty"`
	// TimeZone (IANA, e.g. "Europe/Berlin") is the clock the load's days
	// follow: the same time of day is the same local time, so the daily
	// peak does not slip an hour for a week after a daylight-saving change.
	// Empty is UTC.
	TimeZone string `json:"timeZone,omitempty"`
}

// Validate reports every problem with f, each naming the field.
func (f Forecast) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("forecast.%s: %s", field, fmt.Sprintf(format, args...)))
	}
	if f.Namespace == "" || f.Name == "" {
		bad("namespace/metric", "are required")
	}
	if len(f.Dimensions) == 0 {
		bad("dimensions", "at least one is needed: without them the metric is the whole region's")
	}
	for k, v := range f.Dimensions {
		if k == "" || v == "" {
			bad("dimensions", "name %q with value %q: both must be set", k, v)
		}
	}
	if !(f.PerInstance > 0) {
		bad("perInstance", "%g must be positive", f.PerInstance)
	}
	if f.LookbackDays < 1 || f.LookbackDays > 14 {
		bad("lookbackDays", "%d is not 1–14 (CloudWatch keeps one-minute data 15 days)", f.LookbackDays)
	}
	if f.Lead < 0 || f.Lead.Std() > 6*time.Hour {
		bad("lead", "%v is not 0–6h", f.Lead)
	}
	if f.Window.Std() < HistoryStep || f.Window.Std() > 6*time.Hour {
		bad("window", "%v is not %v–6h", f.Window, HistoryStep)
	}
	if !(f.Quantile >= 0.5 && f.Quantile <= 0.99) {
		bad("quantile", "%g is not 0.5–0.99", f.Quantile)
	}
	if !(f.Spare >= 0 && f.Spare <= 5) {
		bad("spare", "%g is not 0–5", f.Spare)
	}
	if _, err := time.LoadLocation(f.TimeZone); err != nil {
		bad("timeZone", "%q is not an IANA time zone such as Europe/Berlin: %v", f.TimeZone, err)
	}
	if f.WeeklyWeight < 0 || f.WeeklyWeight > 14 {
		bad("weeklyWeight", "%d is not 0–14", f.WeeklyWeight)
	}
	return errors.Join(errs...)
}

// Lookback is how much history f reads: its days, plus the span it looks
// ahead or (for the level) back, whichever is longer, so that the oldest
// sample of every period it forecasts is kept.
func (f Forecast) Lookback() time.Duration {
	return time.Duration(f.LookbackDays)*24*time.Hour + max(f.Lead.Std()+f.Window.Std(), levelWindow) + HistoryStep
}

// Point is one datapoint of a metric.
type Point struct {
	Time  time.Time
	Value float64
}

// History is a fleet's load at HistoryStep resolution: Values[i] is the
// total over [Start+i·HistoryStep, Start+(i+1)·HistoryStep). A period
// without a datapoint (a load balancer publishes none for a minute without
// requests) counts as zero.
type History struct {
	Start  time.Time `json:"start"`
	Values []int64   `json:"values"`
}

// End is the end of the last period h holds: where new data starts.
func (h History) End() time.Time {
	return h.Start.Add(time.Duration(len(h.Values)) * HistoryStep)
}

// Extend returns h with the periods from h.End() (or from, for an empty h)
// up to end filled from points; points outside them are ignored. Both
// bounds are truncated to HistoryStep.
func (h History) Extend(from, end time.Time, points []Point) History {
	end = end.Truncate(HistoryStep)
	if len(h.Values) == 0 {
		h.Start = from.Truncate(HistoryStep)
	}
	out := History{Start: h.Start, Values: slices.Clone(h.Values)}
	first := len(out.Values)
	for t := out.End(); t.Before(end); t = t.Add(HistoryStep) {
		out.Values = append(out.Values, 0)
	}
	for _, p := range points {
		i := int(p.Time.Sub(out.Start) / HistoryStep)
		if p.Time.Before(out.Start) || i < first || i >= len(out.Values) {
			continue
		}
		out.Values[i] += int64(math.Round(p.Value))
	}
	return out
}

// Trim returns h without the periods that end before keepFrom.
func (h History) Trim(keepFrom time.Time) History {
	n := int(keepFrom.Sub(h.Start) / HistoryStep)
	if n <= 0 {
		return h
	}
	n = min(n, len(h.Values))
	return History{Start: h.Start.Add(time.Duration(n) * HistoryStep), Values: slices.Clone(h.Values[n:])}
}

// at returns the period that starts at t, and whether h holds it.
func (h History) at(t time.Time) (float64, bool) {
	if t.Before(h.Start) {
		return 0, false
	}
	i := int(t.Sub(h.Start) / HistoryStep)
	if i >= len(h.Values) {
		return 0, false
	}
	return float64(h.Values[i]), true
}

// known returns h from its first nonzero period: a load balancer that did
// not exist yet publishes nothing, and the zeros before its first request
// are no history, not even of an idle fleet.
func (h History) known() History {
	for i, v := range h.Values {
		if v != 0 {
			return History{Start: h.Start.Add(time.Duration(i) * HistoryStep), Values: h.Values[i:]}
		}
	}
	return History{}
}

// span is how long h covers.
func (h History) span() time.Duration { return time.Duration(len(h.Values)) * HistoryStep }

// Prediction is what a forecast says at one time.
type Prediction struct {
	// Ready is false until there is MinHistory of data; then nothing else
	// is set.
	Ready bool
	// Peak is the start of the busiest period of the window, and Load its
	// upper-band load per minute; Centre is the seasonal centre there and
	// Level the scale of the last hour against it.
	Peak   time.Time
	Load   float64
	Centre float64
	Level  float64
	// Capacity is Load over the per-instance load, rounded up and clamped
	// to the policy's Min and Max.
	Capacity int
	Reason   string
}

// Predict forecasts the load over [now, now+Lead+Window] from h and
// the capacity that carries it, for a policy between lo and hi instances.
// Periods that have not ended by now are never read, so h may run ahead of
// now without the forecast seeing the future.
func (f Forecast) Predict(h History, now time.Time, lo, hi int) Prediction {
	h = h.UpTo(now).known()
	if k := h.span(); k < MinHistory {
		return Prediction{Reason: fmt.Sprintf("%v of history, %v needed", k, MinHistory)}
	}
	loc := f.location()
	level := f.level(h, now, loc)
	p := Prediction{Ready: true, Level: level}
	// The floor covers now as well as the lead: capacity raised ahead of
	// a peak must hold through it, not drop as it begins.
	from := now.Truncate(HistoryStep)
	to := now.Add(f.Lead.Std() + f.Window.Std())
	for t := from; !t.After(to); t = t.Add(HistoryStep) {
		centre, upper := f.seasonal(h, t, loc)
		if load := level * upper / HistoryStep.Minutes(); load > p.Load || p.Peak.IsZero() {
			p.Peak, p.Load, p.Centre = t, load, level*centre/HistoryStep.Minutes()
		}
	}
	// Clamped as a float: a corrupt history's load may not fit an int.
	need := p.Load / f.PerInstance
	p.Capacity = int(min(max(math.Ceil(need+f.Spare*math.Sqrt(need)-1e-9), float64(lo)), float64(hi)))
	p.Reason = fmt.Sprintf("forecast %.0f/min (centre %.0f, level %.2f) at %s needs %d at %g/min each",
		p.Load, p.Centre, p.Level, stamp(p.Peak), p.Capacity, f.PerInstance)
	return p
}

// UpTo returns h without the periods that have not ended at now.
func (h History) UpTo(now time.Time) History {
	n := int(now.Sub(h.Start) / HistoryStep)
	if n < 0 {
		n = 0
	}
	if n < len(h.Values) {
		h.Values = h.Values[:n]
	}
	return h
}

// samples are the load at t's time of day on each of the last LookbackDays
// days h holds, the same time of week counted WeeklyWeight times.
// Zeros are left out unless they are most samples: an outage is not a
// season, but a fleet idle at night is.
func (f Forecast) samples(h History, t time.Time, loc *time.Location) []float64 {
	var out []float64
	zeros := 0
	local := t.In(loc)
	for d := 1; d <= f.LookbackDays; d++ {
		// The same wall-clock time d days before: 24 hours, or 23 or 25
		// across a daylight-saving change.
		v, ok := h.at(time.Date(local.Year(), local.Month(), local.Day()-d, local.Hour(), local.Minute(), 0, 0, loc))
		if !ok {
			continue
		}
		n := 1
		if d%7 == 0 && f.WeeklyWeight > 1 {
			n = f.WeeklyWeight
		}
		for range n {
			if v == 0 {
				zeros++
				continue
			}
			out = append(out, v)
		}
	}
	if zeros > len(out) {
		return []float64{0}
	}
	return out
}

// seasonal returns the centre (median) and upper band (Quantile) of the
// samples for the period that starts at t.
func (f Forecast) seasonal(h History, t time.Time, loc *time.Location) (centre, upper float64) {
	s := f.samples(h, t, loc)
	if len(s) == 0 {
		return 0, 0
	}
	slices.Sort(s)
	return quantile(s, 0.5), quantile(s, f.Quantile)
}

// level is the load of the last hour over what the seasonal centre said
// for it, clamped; 1 when the centre said nothing.
func (f Forecast) level(h History, now time.Time, loc *time.Location) float64 {
	end := now.Truncate(HistoryStep)
	var actual, expected float64
	for t := end.Add(-levelWindow); t.Before(end); t = t.Add(HistoryStep) {
		v, ok := h.at(t)
		if !ok {
			continue
		}
		c, _ := f.seasonal(h, t, loc)
		actual += v
		expected += c
	}
	if expected <= 0 {
		return 1
	}
	return min(max(actual/expected, minLevel), maxLevel)
}

// location is f's time zone; UTC when it has none or cannot load it
// (Validate has said so).
func (f Forecast) location() *time.Location {
	loc, err := time.LoadLocation(f.TimeZone)
	if err != nil {
		return time.UTC
	}
	return loc
}

// quantile of sorted s, interpolated between order statistics.
func quantile(s []float64, q float64) float64 {
	pos := q * float64(len(s)-1)
	i := int(pos)
	if i+1 >= len(s) {
		return s[len(s)-1]
	}
	return s[i] + (pos-float64(i))*(s[i+1]-s[i])
}

// RaiseToFloor decides on the forecast floor pr for a group observed at
// now: a scale-out to pr.Capacity when desired capacity is below it,
// nothing otherwise. The forecast never lowers capacity. The returned
// state holds the floor for FloorHold, so that reactive scale-in stops at
// it (Decide), and records a raise as a scale-out, so that the capacity
// in flight is not added a second time by a breach during its warm-up.
func RaiseToFloor(p Policy, s State, now time.Time, g Group, pr Prediction) (Decision, State) {
	d := Decision{Action: None, From: g.Desired, To: g.Desired}
	if g.Suspended {
		d.Outcome, d.Reason = Suspended, "the group's AlarmNotification process is suspended"
		return d, s
	}
	if !pr.Ready {
		d.Outcome, d.Reason = NoForecast, pr.Reason
		return d, s
	}
	hi := min(p.Max, g.Max)
	floor := min(max(pr.Capacity, p.Min, g.Min), hi)
	next := s
	next.Floor, next.FloorUntil = floor, now.Add(FloorHold)
	if floor <= g.Desired {
		d.Outcome, d.Reason = AboveFloor, fmt.Sprintf("desired %d covers the floor: %s", g.Desired, pr.Reason)
		return d, next
	}
	d.Action, d.Outcome, d.To = ScaleOut, Scaled, floor
	d.Reason = fmt.Sprintf("forecast floor: %s: %d -> %d", pr.Reason, g.Desired, floor)
	// As a reactive scale-out records it (Decide): while earlier capacity
	// warms up, the capacity before it stays the base a repeated breach is
	// measured from, or the next breach would count the instances in
	// flight as warm and overshoot.
	base := min(g.InService, g.Desired)
	if now.Before(s.LastScaleOut.Add(p.Warmup.Std())) {
		base = min(base, s.OutFrom)
	}
	next.LastScaleOut, next.OutFrom = now, base
	return d, next
}

// FloorAt is the floor s holds at now, or 0: the higher of the forecast's
// and a stamp shift's, each while it lasts.
func (s State) FloorAt(now time.Time) int {
	floor := 0
	if now.Before(s.FloorUntil) {
		floor = s.Floor
	}
	if now.Before(s.ShiftFloorUntil) {
		floor = max(floor, s.ShiftFloor)
	}
	return floor
}
