package twin_test

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
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

// TestStampShiftScenarios runs the demo's stamp shifts under the stampkit
// scaler with the real shift function's handler: the healthy new stamp takes
// all the traffic in the policy's steps, its capacity raised ahead of each
// step, with no SLO loss; the failing one is rolled back at the 25 % step,
// and the old stamp ends with all the weight.
func TestStampShiftScenarios(t *testing.T) {
	cfg := twin.DefaultConfig()
	tests := []struct {
		name    string
		outcome string
		steps   []int // the new stamp's weights, in the order set
	}{
		{suite.StampShift, "succeeded", []int{5, 25, 50, 100}},
		{suite.StampShiftBad, "rolled_back", []int{5, 25, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sc := scenario(t, cfg, tt.name, 3, 1)
			r := run(t, cfg, sc, policy(t, cfg, suite.Stampkit))
			if r.RolloutOutcome != tt.outcome {
				t.Errorf("outcome %q, want %q", r.RolloutOutcome, tt.outcome)
			}
			var got []int
			for _, w := range r.Weights[1:] {
				got = append(got, w.Peer)
			}
			if !slices.Equal(got, tt.steps) {
				t.Errorf("the new stamp's weights went %v, want %v", got, tt.steps)
			}
			next := r.Stamps[1].Result
			var failed, sticky int64
			for i, d := range r.DNS {
				if d.Weights[1] == 0 && next.Samples[i].Offered > 0 && i > 0 && r.DNS[i-1].Weights[1] == 0 {
					sticky += next.Samples[i].Dropped
				}
				failed += next.Samples[i].Dropped
			}
			slo := 0.0
			for _, s := range r.Samples {
				if s.Violation {
					slo += cfg.Step.Minutes()
				}
			}
			t.Logf("%s: SLO %.1f min, failed %d of %d requests (%d on the new stamp, %d after its weight was 0 again)", tt.name, slo, r.Dropped, r.Offered, failed, sticky)
			for _, e := range r.Rollout {
				t.Logf("%s %s %s", e.At.Format("15:04:05"), e.What, e.Detail)
			}
			var ahead bool
			for _, e := range r.Scaling {
				ahead = ahead || (e.By == twin.ByShift && e.Group == suite.NewStamp+"/"+cfg.Group && len(r.Weights) > 2 && e.At.Before(r.Weights[2].At))
			}
			if !ahead {
				t.Errorf("the new stamp was not scaled by the shift before it took 25 %%: %v", r.Scaling)
			}
			if tt.outcome == "succeeded" && slo > 0 {
				t.Errorf("%.1f SLO-violation minutes, want none", slo)
			}
		})
	}
}

// TestStampShiftRunsTheShiftFunction: the twin's stamp shift is the shift
// function's own handler (shared/shifter), not a copy of its loop. Its
// floor on the new stamp is the stampkit scaler's (scaling.State's
// ShiftFloor, written under the scaler's fleet lease), raised ahead of
// each step and released when the transition ends, rolled back or not;
// the rollback counts only a TTL after its change is INSYNC; every
// invocation succeeds.
func TestStampShiftRunsTheShiftFunction(t *testing.T) {
	for _, name := range []string{suite.StampShift, suite.StampShiftBad} {
		t.Run(name, func(t *testing.T) {
			var log bytes.Buffer
			cfg := twin.DefaultConfig()
			cfg.HandlerLog = &log
			r := run(t, cfg, scenario(t, cfg, name, 3, 1), policy(t, cfg, suite.Stampkit))
			var raised, released int
			var lastRaise, release time.Time
			for line := range strings.Lines(log.String()) {
				var rec struct {
					Msg, Kind, Stamp string
					Time             time.Time
				}
				if json.Unmarshal([]byte(line), &rec) != nil {
					continue
				}
				switch {
				case rec.Msg == "floor not changed":
					t.Errorf("the shift's floor was not changed: %s", line)
				case rec.Msg == "floor changed" && rec.Stamp != suite.NewStamp:
					t.Errorf("floor changed on %s, want %s only: %s", rec.Stamp, suite.NewStamp, line)
				case rec.Msg == "floor changed" && rec.Kind == "raise_floor":
					raised++
					lastRaise = rec.Time
				case rec.Msg == "floor changed" && rec.Kind == "release_floor":
					released++
					release = rec.Time
				}
			}
			if raised == 0 || released != 1 || release.Before(lastRaise) {
				t.Errorf("shift floor on %s: raised %d times, released %d times (at %v, last raise %v); want raised, then released once",
					suite.NewStamp, raised, released, release, lastRaise)
			}
			var insync, done time.Time
			for _, e := range r.Rollout {
				switch {
				case e.What == twin.ShiftPhase+"rollback" && strings.HasSuffix(e.Detail, "INSYNC"):
					insync = e.At
				case e.What == twin.ShiftPhase+"done":
					done = e.At
				}
			}
			if name == suite.StampShiftBad && (insync.IsZero() || done.Sub(insync) < time.Minute) {
				t.Errorf("rolled back at %v, its change INSYNC at %v: want a TTL (1m) between", done, insync)
			}
		})
	}
}
