package score_test

import (
	"math"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/stampkit/stampkit/shared/twin"
	"github.com/stampkit/stampkit/shared/twin/score"
)

// TestCompute scores a four-minute run worked out by hand. Each instance
// carries 50 requests/s at the target, so 3,000 requests in a one-minute
// step are one instance of demand.
func TestCompute(t *testing.T) {
	cfg := twin.Config{Step: time.Minute, InstanceCapacity: 100, TargetUtilisation: 0.5, PricePerHour: 0.5}
	t0 := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	// demand, supply: (2,2) (2,3) (4,2) (4,2)
	r := &twin.Result{
		Config: cfg, Start: t0,
		Samples: []twin.Sample{
			{Offered: 6000, Served: 6000, Healthy: 2, InService: 2},
			{Offered: 6000, Served: 6000, Healthy: 3, InService: 3},
			{Offered: 12000, Served: 11000, Dropped: 1000, Healthy: 2, InService: 2, Pending: 2, Violation: true},
			{Offered: 12000, Served: 11000, Dropped: 1000, Healthy: 2, InService: 4, Violation: true},
		},
		Offered: 36000, Served: 34000, Dropped: 2000,
		InstanceSeconds: 7200,
		Scaling: []twin.ScalingEvent{
			{At: t0, From: 2, To: 3},
			{At: t0.Add(5 * time.Minute), From: 3, To: 2},  // reverses within 10 minutes: a flap
			{At: t0.Add(30 * time.Minute), From: 2, To: 4}, // reverses after 25: not one
		},
	}
	want := score.Scores{
		// Under-provisioned in steps 3 and 4 by 2 of 4: 100/4 × (0.5 + 0.5).
		UnderAccuracy: 25, UnderTimeshare: 50,
		// Over-provisioned in step 2 by 1 of 2: 100/4 × 0.5.
		OverAccuracy: 12.5, OverTimeshare: 25,
		// Steps 2 (supply up, demand flat) and 3 (supply down, demand up)
		// move apart; step 4 (both flat) does not: 2 of 3.
		Instability:         200.0 / 3,
		SLOViolationMinutes: 2,
		DroppedPercent:      100 * 2000.0 / 36000,
		InstanceHours:       2, Cost: 1,
		ScalingActions: 3, Flaps: 1,
		PeakInstances: 4,
	}
	got := score.Compute(r)
	if d := cmp.Diff(want, got, cmp.Comparer(func(a, b float64) bool { return math.Abs(a-b) < 1e-9 })); d != "" {
		t.Errorf("scores (-want +got):\n%s", d)
	}
}

func TestComputeEmpty(t *testing.T) {
	if got := score.Compute(&twin.Result{}); got != (score.Scores{}) {
		t.Errorf("empty run scored %+v, want zero", got)
	}
}
