package twin

import (
	"testing"
	"time"

	"github.com/stampkit/stampkit/shared/scaling"
	"github.com/stampkit/stampkit/shared/twin/traces"
)

// The simulated CloudWatch publishes a minute's request count a minute
// after it ends, and one minute in lateEvery six minutes after: a reader
// sees the late one only when it reads that minute again.
func TestRequestHistoryPublishesLate(t *testing.T) {
	cfg := DefaultConfig()
	start := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	s := newSim(cfg, Scenario{Name: "flat", Trace: traces.Trace{Start: start, Step: cfg.Step, Rates: make([]float64, 6*60)}})
	h := newRequestHistory(s)
	counts := make([]int64, 60)
	for i := range counts {
		counts[i] = 100
	}
	h.perMinute[s.fleet.tg] = counts
	m := scaling.Metric{Namespace: "AWS/ApplicationELB", Name: "RequestCount", Dimensions: map[string]string{"LoadBalancer": "app/web"}}
	read := func(now time.Duration) map[int]bool {
		t.Helper()
		s.now = now
		points, err := h.MetricSums(t.Context(), m, time.Minute, start, start.Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		got := map[int]bool{}
		for _, p := range points {
			got[int(p.Time.Sub(start)/time.Minute)] = true
		}
		return got
	}
	late := lateEvery - 1
	tests := []struct {
		name   string
		now    time.Duration
		minute int
		want   bool
	}{
		{"a minute is not published as it ends", 10 * time.Minute, 9, false},
		{"it is a minute later", 11 * time.Minute, 9, true},
		{"a late minute is not, a minute later", time.Duration(late+2) * time.Minute, late, false},
		{"nor five minutes later", time.Duration(late+6) * time.Minute, late, false},
		{"it is six minutes later", time.Duration(late+7) * time.Minute, late, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := read(tt.now)[tt.minute]; got != tt.want {
				t.Errorf("at +%v minute %d published = %v, want %v", tt.now, tt.minute, got, tt.want)
			}
		})
	}
}
