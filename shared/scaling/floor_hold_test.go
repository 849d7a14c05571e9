package scaling_test

import (
	"testing"
	"time"

	"github.com/stampkit/stampkit/shared/scaling"
)

// A stamp shift holds its floor apart from the forecast's: a forecast tick
// that rewrites its own, lower floor leaves the shift's in force.
func TestForecastKeepsAHigherHeldFloor(t *testing.T) {
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	p := scaling.Policy{Min: 1, Max: 20}
	cases := []struct {
		name     string
		forecast int
		at       time.Duration
		want     int
	}{
		{name: "a lower forecast leaves the shift's floor", forecast: 3, at: 6 * time.Minute, want: 10},
		{name: "a higher forecast holds while it lasts", forecast: 14, at: 4 * time.Minute, want: 14},
		{name: "the shift's floor outlasts the forecast's", forecast: 14, at: 6 * time.Minute, want: 10},
		{name: "both expired", forecast: 3, at: 28 * time.Minute, want: 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := scaling.State{ShiftFloor: 10, ShiftFloorUntil: now.Add(27 * time.Minute)}
			_, next := scaling.RaiseToFloor(p, s, now, scaling.Group{Min: 1, Max: 20, Desired: 10, InService: 10}, scaling.Prediction{Ready: true, Capacity: tc.forecast})
			if got := next.FloorAt(now.Add(tc.at)); got != tc.want {
				t.Errorf("floor at +%s: got %d, want %d (forecast %d until %s, shift %d until %s)", tc.at, got, tc.want,
					next.Floor, next.FloorUntil.Sub(now), next.ShiftFloor, next.ShiftFloorUntil.Sub(now))
			}
		})
	}
}

func TestMergeKeepsTheLaterShiftFloor(t *testing.T) {
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	mine := scaling.State{LastScaleIn: now}
	theirs := scaling.State{ShiftFloor: 8, ShiftFloorUntil: now.Add(time.Hour)}
	if got := mine.Merge(theirs).FloorAt(now); got != 8 {
		t.Errorf("merged floor %d, want the shift's 8", got)
	}
}
