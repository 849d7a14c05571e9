// Package compare puts scaling policies side by side at equal cost. Each
// policy is run at several settings of its main knob; each run is a point
// (instance-hours, SLO-violation minutes). A policy's cost–SLO curve is
// the lower envelope of its points: the fewest SLO minutes it reached for
// what it spent. Two policies are compared where they cost the same: one
// policy's curve is read at the other's instance-hours, interpolated
// linearly between its two neighbouring settings; it is never read below
// its cheapest setting, and above its costliest it is read as that
// setting (what the policy reached for less).
//
// Summing minutes over traces at different costs hides which policy is
// better (one long trace dominates, and spending more buys SLO minutes), so
// everything here is per trace and cost-matched.
package compare

import (
	"cmp"
	"math"
	"slices"
)

// Point is one run of a policy at one setting.
type Point struct {
	Policy  string `json:"policy"`
	Setting string `json:"setting"`
	// Default marks the policy's documented (or shipped) setting.
	Default        bool    `json:"default"`
	SLOMinutes     float64 `json:"sloMinutes"`
	InstanceHours  float64 `json:"instanceHours"`
	Flaps          int     `json:"flaps"`
	DroppedPercent float64 `json:"droppedPercent"`
}

// Curve returns the lower envelope of a policy's points in order of cost:
// each point kept has fewer SLO minutes than every cheaper one. A setting
// that costs more for no fewer minutes is dominated and left out.
func Curve(points []Point) []Point {
	sorted := slices.Clone(points)
	slices.SortStableFunc(sorted, func(a, b Point) int {
		return cmp.Or(cmp.Compare(a.InstanceHours, b.InstanceHours), cmp.Compare(a.SLOMinutes, b.SLOMinutes))
	})
	var out []Point
	for _, p := range sorted {
		if len(out) == 0 || p.SLOMinutes < out[len(out)-1].SLOMinutes {
			out = append(out, p)
		}
	}
	return out
}

// At reads a curve (from Curve) at instanceHours: the SLO minutes
// interpolated linearly between the two settings around it. Spending more
// than the curve's costliest setting is read as that setting (more
// instances do not add SLO minutes, but the curve has not measured how
// many they would remove). ok is false below the cheapest setting: the
// policy was not measured that cheap.
func At(curve []Point, instanceHours float64) (sloMinutes float64, ok bool) {
	if len(curve) == 0 || instanceHours < curve[0].InstanceHours {
		return 0, false
	}
	for i := 1; i < len(curve); i++ {
		a, b := curve[i-1], curve[i]
		if instanceHours <= b.InstanceHours {
			f := (instanceHours - a.InstanceHours) / (b.InstanceHours - a.InstanceHours)
			return a.SLOMinutes + f*(b.SLOMinutes-a.SLOMinutes), true
		}
	}
	return curve[len(curve)-1].SLOMinutes, true
}

// Match is one policy read at another's cost.
type Match struct {
	// Baseline is the point matched against: a baseline's setting.
	Baseline Point `json:"baseline"`
	// Policy is the policy read at the baseline's instance-hours.
	Policy string `json:"policy"`
	// SLOMinutes is Policy's curve at Baseline.InstanceHours; valid only
	// when OK.
	SLOMinutes float64 `json:"sloMinutes"`
	OK         bool    `json:"ok"`
	// Ratio is SLOMinutes over the baseline's (1 when both are zero; nil
	// when only the baseline's is zero, or not OK); below 1 the policy does
	// better at the same cost.
	Ratio *float64 `json:"ratio,omitempty"`
	// Nearest is the policy's own setting closest in instance-hours to the
	// baseline, measured rather than interpolated, and its distance in
	// percent of the baseline's instance-hours.
	Nearest         Point   `json:"nearest"`
	NearestDistance float64 `json:"nearestDistancePercent"`
}

// Against reads policy's curve at each of baseline's points.
func Against(points []Point, policy, baseline string) []Match {
	r := newReader(points, policy)
	var out []Match
	for _, b := range Only(points, baseline) {
		out = append(out, r.at(b))
	}
	return out
}

// AtEachCost reads policy's curve at every point of the other policies,
// keyed by that point.
func AtEachCost(points []Point, policy string) map[Point]Match {
	r := newReader(points, policy)
	out := map[Point]Match{}
	for _, b := range points {
		if b.Policy != policy {
			out[b] = r.at(b)
		}
	}
	return out
}

// reader reads one policy's curve at other policies' points.
type reader struct {
	policy      string
	mine, curve []Point
}

func newReader(points []Point, policy string) reader {
	mine := Only(points, policy)
	return reader{policy: policy, mine: mine, curve: Curve(mine)}
}

// at reads the curve at baseline point b.
func (r reader) at(b Point) Match {
	m := Match{Baseline: b, Policy: r.policy}
	m.SLOMinutes, m.OK = At(r.curve, b.InstanceHours)
	if m.OK {
		m.Ratio = ratio(m.SLOMinutes, b.SLOMinutes)
	}
	if len(r.mine) > 0 {
		m.Nearest = slices.MinFunc(r.mine, func(x, y Point) int {
			return cmp.Compare(math.Abs(x.InstanceHours-b.InstanceHours), math.Abs(y.InstanceHours-b.InstanceHours))
		})
		if b.InstanceHours > 0 {
			m.NearestDistance = 100 * (m.Nearest.InstanceHours - b.InstanceHours) / b.InstanceHours
		}
	}
	return m
}

// Lowest reads every named policy's curve at instanceHours and returns the
// fewest SLO minutes any of them reaches there, and which policy that is:
// the best of several baselines is not always the same one at every cost.
// ok is false when none was measured that cheap.
func Lowest(points []Point, policies []string, instanceHours float64) (sloMinutes float64, policy string, ok bool) {
	for _, name := range policies {
		v, measured := At(Curve(Only(points, name)), instanceHours)
		if measured && (!ok || v < sloMinutes) {
			sloMinutes, policy, ok = v, name, true
		}
	}
	return sloMinutes, policy, ok
}

// Default returns policy's default point, and whether it has one.
func Default(points []Point, policy string) (Point, bool) {
	for _, p := range points {
		if p.Policy == policy && p.Default {
			return p, true
		}
	}
	return Point{}, false
}

// Policies lists the policies of points in order of first appearance.
func Policies(points []Point) []string {
	var out []string
	for _, p := range points {
		if !slices.Contains(out, p.Policy) {
			out = append(out, p.Policy)
		}
	}
	return out
}

// Only returns policy's points.
func Only(points []Point, policy string) []Point {
	var out []Point
	for _, p := range points {
		if p.Policy == policy {
			out = append(out, p)
		}
	}
	return out
}

func ratio(a, b float64) *float64 {
	var r float64
	switch {
	case b > 0:
		r = a / b
	case a == 0:
		r = 1
	default:
		return nil
	}
	return &r
}
