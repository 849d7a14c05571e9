package suite_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stampkit/stampkit/shared/twin"
	"github.com/stampkit/stampkit/shared/twin/suite"
)

// TestSettings checks every compare policy's settings: the default first
// and only there, names stable, unique and without spaces, the autoscaler
// named after the policy, and every setting running on a short scenario.
func TestSettings(t *testing.T) {
	cfg := twin.DefaultConfig()
	sc, err := suite.Scenario(suite.Spike, cfg, 1)
	if err != nil {
		t.Fatal(err)
	}
	sc.Trace.Rates = sc.Trace.Rates[:int(30*time.Minute/cfg.Step)]
	if got := suite.ComparePolicies(); got[0] != suite.Stampkit || !slices.Contains(got, suite.BestBaseline) {
		t.Errorf("compare policies %v, want stampkit first and %s among them", got, suite.BestBaseline)
	}
	wantDefault := map[string]string{
		suite.Stampkit:                 "target=60",
		suite.TargetTracking:           "target=60",
		suite.TargetTrackingHires:      "target=60",
		suite.StepScaling:              "high=65,low=48",
		suite.PredictiveTargetTracking: "target=60",
	}
	for _, pn := range suite.ComparePolicies() {
		t.Run(pn, func(t *testing.T) {
			settings, err := suite.Settings(pn, cfg)
			if err != nil {
				t.Fatalf("Settings: %v", err)
			}
			if n := len(settings); n < 6 || n > 11 {
				t.Errorf("%d settings, want 6 to 11", n)
			}
			seen := map[string]bool{}
			for i, st := range settings {
				if st.Default != (i == 0) {
					t.Errorf("setting %d %s: default %v, want the default first and only there", i, st.Setting, st.Default)
				}
				if st.Policy != pn || st.Autoscaler.Name() != pn {
					t.Errorf("setting %s: policy %q, autoscaler %q, want %q", st.Setting, st.Policy, st.Autoscaler.Name(), pn)
				}
				if st.Setting == "" || strings.ContainsAny(st.Setting, " \t") || seen[st.Setting] {
					t.Errorf("setting %q: want a unique name without spaces", st.Setting)
				}
				seen[st.Setting] = true
				if _, err := twin.Run(t.Context(), cfg, sc, st.Autoscaler); err != nil {
					t.Errorf("setting %s: %v", st.Setting, err)
				}
			}
			if got := settings[0].Setting; got != wantDefault[pn] {
				t.Errorf("default setting %q, want %q", got, wantDefault[pn])
			}
			again, _ := suite.Settings(pn, cfg)
			for i := range again {
				if again[i].Setting != settings[i].Setting {
					t.Errorf("setting %d is %q, then %q: names must be stable", i, settings[i].Setting, again[i].Setting)
				}
			}
		})
	}
	if _, err := suite.Settings("magic", cfg); err == nil {
		t.Error("Settings of an unknown policy: no error")
	}
}
