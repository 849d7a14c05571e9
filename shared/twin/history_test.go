package twin_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stampkit/stampkit/shared/twin"
	"github.com/stampkit/stampkit/shared/twin/suite"
	"github.com/stampkit/stampkit/shared/twin/traces"
)

// A surge that comes at noon every day, all at once, for five minutes (one
// period of the forecast's history) is lost to reactive scaling the first
// day: it is over about as soon as a launch is. From the day after, the real
// scaler reads the load balancer's request counts from the simulated
// CloudWatch through its History port and is at the forecast floor before
// the surge.
func TestForecastMeetsTheDailySurge(t *testing.T) {
	cfg := twin.DefaultConfig()
	per := cfg.PerInstanceTarget()
	start := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	tr := traces.Trace{Name: "noon-surge", Start: start, Step: cfg.Step}
	for i := range int(3 * 24 * time.Hour / cfg.Step) {
		at := time.Duration(i) * cfg.Step
		rate := 5 * per
		if tod := at % (24 * time.Hour); tod >= 12*time.Hour && tod < 12*time.Hour+5*time.Minute {
			rate = 30 * per
		}
		tr.Rates = append(tr.Rates, rate)
	}
	r := run(t, cfg, twin.Scenario{Name: tr.Name, Trace: tr}, policy(t, cfg, suite.Stampkit))

	violations := func(day int) int {
		n := 0
		for i, s := range r.Samples {
			at := r.Time(i).Sub(start)
			if s.Violation && at >= time.Duration(day)*24*time.Hour && at < time.Duration(day+1)*24*time.Hour {
				n++
			}
		}
		return n
	}
	raisedBefore := func(day int) bool {
		noon := start.Add(time.Duration(day)*24*time.Hour + 12*time.Hour)
		for _, e := range r.Scaling {
			if strings.Contains(e.Reason, "forecast floor") && e.At.Before(noon) && e.At.After(noon.Add(-time.Hour)) && e.To >= 20 {
				return true
			}
		}
		return false
	}
	if raisedBefore(0) {
		t.Errorf("the forecast raised capacity on the first day, with no history")
	}
	for _, day := range []int{1, 2} {
		if !raisedBefore(day) {
			t.Errorf("day %d: no forecast raise to at least 20 instances in the hour before noon", day)
		}
		if first, then := violations(0), violations(day); then*4 > first {
			t.Errorf("day %d: %d SLO-violating steps, want under a quarter of the first day's %d", day, then, first)
		}
	}
	if r.Outcomes["no_forecast"] == 0 || r.Outcomes["above_floor"] == 0 {
		t.Errorf("outcomes = %v, want forecast decisions with and without history", r.Outcomes)
	}
}
