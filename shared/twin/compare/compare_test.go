package compare_test

import (
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/stampkit/stampkit/shared/twin/compare"
)

func pt(policy, setting string, ih, slo float64) compare.Point {
	return compare.Point{Policy: policy, Setting: setting, InstanceHours: ih, SLOMinutes: slo}
}

func settings(ps []compare.Point) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Setting)
	}
	return out
}

func TestCurve(t *testing.T) {
	tests := []struct {
		name   string
		points []compare.Point
		want   []string
	}{
		{"ordered by cost", []compare.Point{pt("p", "c", 30, 1), pt("p", "a", 10, 9), pt("p", "b", 20, 4)}, []string{"a", "b", "c"}},
		{"dominated setting dropped", []compare.Point{pt("p", "a", 10, 9), pt("p", "b", 20, 12), pt("p", "c", 30, 1)}, []string{"a", "c"}},
		{"equal minutes for more cost dropped", []compare.Point{pt("p", "a", 10, 5), pt("p", "b", 20, 5)}, []string{"a"}},
		{"same cost keeps the better", []compare.Point{pt("p", "a", 10, 7), pt("p", "b", 10, 3)}, []string{"b"}},
		{"empty", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, settings(compare.Curve(tt.points))); diff != "" {
				t.Errorf("curve settings (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAt(t *testing.T) {
	curve := compare.Curve([]compare.Point{pt("p", "a", 100, 40), pt("p", "b", 200, 20), pt("p", "c", 300, 5)})
	tests := []struct {
		name string
		ih   float64
		want float64
		ok   bool
	}{
		{"below the cheapest setting is unmeasured", 99, 0, false},
		{"on a setting", 200, 20, true},
		{"between settings interpolates", 150, 30, true},
		{"between the last two", 250, 12.5, true},
		{"above the costliest reads it", 400, 5, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := compare.At(curve, tt.ih)
			if ok != tt.ok || math.Abs(got-tt.want) > 1e-9 {
				t.Errorf("At(%g) = %g, %v; want %g, %v", tt.ih, got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestAgainst(t *testing.T) {
	points := []compare.Point{
		pt("stampkit", "s1", 100, 30), pt("stampkit", "s2", 120, 10), pt("stampkit", "s3", 140, 4),
		{Policy: "tt", Setting: "t1", InstanceHours: 110, SLOMinutes: 40, Default: true},
		pt("tt", "t2", 90, 80),
		pt("tt", "t3", 150, 0),
	}
	got := compare.Against(points, "stampkit", "tt")
	if len(got) != 3 {
		t.Fatalf("got %d matches, want one per baseline point (3)", len(got))
	}
	byBase := map[string]compare.Match{}
	for _, m := range got {
		byBase[m.Baseline.Setting] = m
	}
	if m := byBase["t1"]; !m.OK || math.Abs(m.SLOMinutes-20) > 1e-9 || m.Ratio == nil || math.Abs(*m.Ratio-0.5) > 1e-9 {
		t.Errorf("at t1 (110 h): got %+v, want 20 SLO minutes, ratio 0.5", m)
	}
	if m := byBase["t1"]; m.Nearest.Setting != "s1" && m.Nearest.Setting != "s2" {
		t.Errorf("nearest to 110 h: got %s, want s1 or s2 (10 h away)", m.Nearest.Setting)
	}
	if m := byBase["t2"]; m.OK {
		t.Errorf("at t2 (90 h, cheaper than any stampkit setting): got OK %+v, want not OK", m)
	}
	if m := byBase["t3"]; !m.OK || m.SLOMinutes != 4 || m.Ratio != nil {
		t.Errorf("at t3 (150 h, baseline 0 minutes): got %+v, want 4 minutes and no ratio", m)
	}
	if m := byBase["t3"]; m.Nearest.Setting != "s3" || math.Abs(m.NearestDistance-(-100.0/15)) > 1e-9 {
		t.Errorf("nearest to 150 h: got %s at %g %%, want s3 at %g %%", m.Nearest.Setting, m.NearestDistance, -100.0/15)
	}
	if d, ok := compare.Default(points, "tt"); !ok || d.Setting != "t1" {
		t.Errorf("Default(tt) = %+v, %v; want t1", d, ok)
	}
}

func TestLowest(t *testing.T) {
	points := []compare.Point{
		pt("a", "a1", 100, 50), pt("a", "a2", 200, 10),
		pt("b", "b1", 150, 20), pt("b", "b2", 250, 15),
	}
	tests := []struct {
		name   string
		ih     float64
		want   float64
		policy string
		ok     bool
	}{
		{"only a measured that cheap", 120, 42, "a", true},
		{"b lower where both are measured", 160, 19.5, "b", true},
		{"a lower at a higher cost", 200, 10, "a", true},
		{"nobody measured that cheap", 90, 0, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, policy, ok := compare.Lowest(points, []string{"a", "b"}, tt.ih)
			if ok != tt.ok || policy != tt.policy || math.Abs(got-tt.want) > 1e-9 {
				t.Errorf("Lowest(%g) = %g, %q, %v; want %g, %q, %v", tt.ih, got, policy, ok, tt.want, tt.policy, tt.ok)
			}
		})
	}
}

func TestAtEachCost(t *testing.T) {
	points := []compare.Point{
		pt("stampkit", "s1", 100, 30), pt("stampkit", "s2", 120, 10),
		pt("tt", "t1", 110, 40), pt("tt", "t2", 90, 80),
		pt("step", "p1", 115, 50),
	}
	got := compare.AtEachCost(points, "stampkit")
	if len(got) != 3 {
		t.Fatalf("got %d matches, want one per point of the other policies (3)", len(got))
	}
	for _, baseline := range []string{"tt", "step"} {
		for _, want := range compare.Against(points, "stampkit", baseline) {
			if diff := cmp.Diff(want, got[want.Baseline]); diff != "" {
				t.Errorf("at %s %s (-Against +AtEachCost):\n%s", baseline, want.Baseline.Setting, diff)
			}
		}
	}
	if _, ok := got[points[0]]; ok {
		t.Error("AtEachCost read stampkit at its own point")
	}
}
