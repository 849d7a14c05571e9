package twin

import (
	"testing"

	"github.com/stampkit/stampkit/shared/scaling"
)

// TestStepTarget checks step adjustments as as-scaling-simple-step.html
// applies them: the step the breach falls in, percent changes rounded down
// above 1 and up to 1 below it, MinAdjustmentMagnitude as a floor.
func TestStepTarget(t *testing.T) {
	steps := []scaling.Step{{Upper: 10, Adjustment: 10}, {Lower: 10, Upper: 25, Adjustment: 25}, {Lower: 25, Adjustment: 50}}
	rule := func(d scaling.Direction, at scaling.AdjustmentType, minMag int) scaling.Rule {
		return scaling.Rule{Direction: d, AdjustmentType: at, MinAdjustmentMagnitude: minMag, Steps: steps}
	}
	tests := []struct {
		name     string
		r        scaling.Rule
		current  int
		distance float64
		want     int
	}{
		{name: "percent rounds 2.5 down", r: rule(scaling.Out, scaling.PercentChangeInCapacity, 0), current: 10, distance: 12, want: 12},
		{name: "percent rounds 0.4 up to 1", r: rule(scaling.Out, scaling.PercentChangeInCapacity, 0), current: 4, distance: 0, want: 5},
		{name: "minimum magnitude", r: rule(scaling.Out, scaling.PercentChangeInCapacity, 3), current: 10, distance: 12, want: 13},
		{name: "the largest step", r: rule(scaling.Out, scaling.PercentChangeInCapacity, 0), current: 10, distance: 40, want: 15},
		{name: "percent scale-in", r: rule(scaling.In, scaling.PercentChangeInCapacity, 0), current: 10, distance: 12, want: 8},
		{name: "a datapoint back inside takes the first step", r: rule(scaling.Out, scaling.ChangeInCapacity, 0), current: 10, distance: -3, want: 20},
		{name: "exact capacity", r: rule(scaling.Out, scaling.ExactCapacity, 0), current: 10, distance: 30, want: 50},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := stepTarget(tt.r, tt.current, tt.distance); got != tt.want {
				t.Errorf("stepTarget(%d, %g) = %d, want %d", tt.current, tt.distance, got, tt.want)
			}
		})
	}
}
