package twin_test

import (
	"testing"
	"time"

	"github.com/stampkit/stampkit/shared/twin"
	"github.com/stampkit/stampkit/shared/twin/dns"
	"github.com/stampkit/stampkit/shared/twin/suite"
	"github.com/stampkit/stampkit/shared/twin/traces"
)

// steadyShift is two hours of demand steady at instances' worth, moved by
// plan from stamp "old" to stamp "new".
func steadyShift(cfg twin.Config, instances float64, plan ...twin.PlannedWeight) twin.Scenario {
	rates := make([]float64, int(2*time.Hour/cfg.Step))
	for i := range rates {
		rates[i] = instances * cfg.PerInstanceTarget()
	}
	return twin.Scenario{
		Name:  "steady-shift",
		Trace: traces.Trace{Name: "steady", Start: time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC), Step: cfg.Step, Rates: rates},
		Shift: &twin.Shift{From: "old", To: "new", DNS: dns.DefaultConfig(), Plan: plan},
	}
}

// TestStampShiftSplitsDemand: in a stamp shift every request of the trace
// reaches one stamp, each stamp's scaler sizes its own group for what DNS
// sends it, and once the last weight is INSYNC and the sticky resolvers'
// hold has passed, the old stamp gets nothing.
func TestStampShiftSplitsDemand(t *testing.T) {
	cfg := twin.DefaultConfig()
	sc := steadyShift(cfg, 20,
		twin.PlannedWeight{At: 10 * time.Minute, To: 25}, twin.PlannedWeight{At: 30 * time.Minute, To: 100})
	for _, pn := range []string{suite.Stampkit, suite.TargetTracking} {
		t.Run(pn, func(t *testing.T) {
			r := run(t, cfg, sc, policy(t, cfg, pn))
			if len(r.Stamps) != 2 || len(r.DNS) != len(r.Samples) {
				t.Fatalf("%d stamps and %d DNS samples for %d steps, want 2 and one a step", len(r.Stamps), len(r.DNS), len(r.Samples))
			}
			var want int64
			for i, n := range sc.Trace.Rates {
				_ = i
				want += int64(n * cfg.Step.Seconds())
			}
			old, next := r.Stamps[0].Result, r.Stamps[1].Result
			if got := old.Offered + next.Offered; got != r.Offered || r.Offered < want-1 || r.Offered > want+1 {
				t.Errorf("the stamps got %d + %d = %d requests, the run %d, the trace %d", old.Offered, next.Offered, got, r.Offered, want)
			}
			last := len(r.Samples) - 1
			if got := r.DNS[last].Requests[0]; got != 0 {
				t.Errorf("the old stamp still got %d requests in the last step, want none", got)
			}
			if got := r.Stamps[1].Result.Samples[last].Desired; got < 20 {
				t.Errorf("the new stamp ends at %d desired, want at least the 20 instances' worth it serves", got)
			}
			if got := r.Stamps[0].Result.Samples[20*6].Healthy; got < 14 {
				t.Errorf("the old stamp had %d healthy targets at 00:20 with 75 %% of the traffic, want about 15", got)
			}
		})
	}
}
