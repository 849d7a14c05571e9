package suite_test

import (
	"testing"

	"github.com/stampkit/stampkit/shared/twin"
	"github.com/stampkit/stampkit/shared/twin/suite"
)

// TestDefaultPolicyBeatsTargetTracking guards what scaling.DefaultPolicy's
// doc comment claims, on the scenarios it was tuned on, over three seeds:
// fewer SLO-violation minutes than target tracking, fewer reversals, and
// instance-hours within 15 % of it.
func TestDefaultPolicyBeatsTargetTracking(t *testing.T) {
	if testing.Short() {
		t.Skip("simulates 30 scenario runs; -short skips it")
	}
	cfg := twin.DefaultConfig()
	var jobs []suite.Job
	for _, seed := range []uint64{1, 2, 3} {
		js, err := suite.Jobs(cfg, seed, suite.Generated(), []string{suite.Stampkit, suite.TargetTracking})
		if err != nil {
			t.Fatal(err)
		}
		jobs = append(jobs, js...)
	}
	runs, err := suite.RunAll(t.Context(), cfg, jobs, nil)
	if err != nil {
		t.Fatalf("RunAll: %v", err)
	}
	type totals struct{ slo, hours, flaps float64 }
	sum := map[string]*totals{suite.Stampkit: {}, suite.TargetTracking: {}}
	for _, r := range runs {
		s := sum[r.Result.Policy]
		s.slo += r.Scores.SLOViolationMinutes
		s.hours += r.Scores.InstanceHours
		s.flaps += float64(r.Scores.Flaps)
	}
	sk, tt := sum[suite.Stampkit], sum[suite.TargetTracking]
	t.Logf("stampkit: %.1f SLO min, %.1f instance-hours, %.0f flaps; target tracking: %.1f, %.1f, %.0f", sk.slo, sk.hours, sk.flaps, tt.slo, tt.hours, tt.flaps)
	if sk.slo >= tt.slo/2 {
		t.Errorf("stampkit SLO minutes %.1f, want under half of target tracking's %.1f", sk.slo, tt.slo)
	}
	if sk.flaps >= tt.flaps {
		t.Errorf("stampkit flaps %.0f, want fewer than target tracking's %.0f", sk.flaps, tt.flaps)
	}
	if sk.hours > 1.15*tt.hours {
		t.Errorf("stampkit instance-hours %.1f, want within 15 %% of target tracking's %.1f", sk.hours, tt.hours)
	}
}
