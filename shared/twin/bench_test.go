package twin_test

import (
	"testing"

	"github.com/stampkit/stampkit/shared/twin"
	"github.com/stampkit/stampkit/shared/twin/suite"
)

// BenchmarkWeekAt10s simulates the NASA-HTTP week (60,480 steps of 10 s,
// up to 100 instances). Under stampkit every alarm change and every minute's
// tick goes through the real handler as JSON; target tracking has no
// handler, so the difference is the cost of the real handler path.
func BenchmarkWeekAt10s(b *testing.B) {
	cfg := twin.DefaultConfig()
	cfg.Max = 100
	sc, err := suite.Scenario(suite.NASAWeek, cfg, 1)
	if err != nil {
		b.Fatal(err)
	}
	for _, pn := range []string{suite.Stampkit, suite.TargetTracking} {
		b.Run(pn, func(b *testing.B) {
			p, err := suite.Policy(pn, cfg)
			if err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				if _, err := twin.Run(b.Context(), cfg, sc, p); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
