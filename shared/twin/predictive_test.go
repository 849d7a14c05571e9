package twin_test

import (
	"testing"
	"time"

	"github.com/stampkit/stampkit/shared/twin"
	"github.com/stampkit/stampkit/shared/twin/traces"
)

// dailyPeak is days of demand at 5 instances' worth, 30 from 10:00 to
// 14:00 each day but the last unless lastPeak, from a Monday midnight; no
// noise.
func dailyPeak(cfg twin.Config, days int, lastPeak bool) twin.Scenario {
	inst := cfg.PerInstanceTarget()
	tr := traces.Trace{Name: "daily-peak", Start: time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC), Step: cfg.Step}
	for i := range days * int(24*time.Hour/cfg.Step) {
		at := time.Duration(i) * cfg.Step % (24 * time.Hour)
		rate := 5 * inst
		last := i >= (days-1)*int(24*time.Hour/cfg.Step)
		if at >= 10*time.Hour && at < 14*time.Hour && (lastPeak || !last) {
			rate = 30 * inst
		}
		tr.Rates = append(tr.Rates, rate)
	}
	return twin.Scenario{Name: tr.Name, Trace: tr}
}

// TestPredictiveForecasts checks the forecasts against AWS's timing: none
// before 24 hours of history, then one every 6 hours, each hourly for the
// next 48 hours, and in ForecastOnly mode no change to capacity.
func TestPredictiveForecasts(t *testing.T) {
	cfg := quiet()
	sc := dailyPeak(cfg, 3, true)
	p := twin.DefaultPredictive(twin.ALBRequestCount, 60*cfg.PerInstanceTarget())
	p.Mode = twin.ForecastOnly
	r := run(t, cfg, sc, twin.Predictive(p, nil))
	if len(r.Scaling) != 0 {
		t.Errorf("ForecastOnly changed capacity: %v", r.Scaling)
	}
	// Refreshes at 24, 30, …, 72 hours.
	if got, want := len(r.Forecasts), 9; got != want {
		t.Fatalf("%d forecasts, want %d", got, want)
	}
	for k, fc := range r.Forecasts {
		if want := r.Start.Add(twin.PredictiveMinHistory + time.Duration(k)*twin.PredictiveRefresh); !fc.At.Equal(want) {
			t.Errorf("forecast %d at %v, want %v", k, fc.At, want)
		}
		if len(fc.Hours) != 48 {
			t.Fatalf("forecast %d has %d hours, want 48", k, len(fc.Hours))
		}
		for h, fh := range fc.Hours {
			if want := fc.At.Add(time.Duration(h) * time.Hour); !fh.Start.Equal(want) {
				t.Fatalf("forecast %d hour %d starts %v, want %v", k, h, fh.Start, want)
			}
			// The seasonal mean of a load that repeats daily is the load.
			want := 5
			if hour := fh.Start.Hour(); hour >= 10 && hour < 14 {
				want = 30
			}
			if fh.Capacity != want {
				t.Errorf("forecast %d: %s needs %d instances, want %d", k, fh.Start.Format("Mon 15:04"), fh.Capacity, want)
			}
		}
	}
}

// TestPredictiveScalesAhead checks ForecastAndScale: each hour's forecast
// capacity is in place SchedulingBufferTime before the hour, and the
// dynamic policy under it does not scale in below it, even when the
// forecast peak does not come.
func TestPredictiveScalesAhead(t *testing.T) {
	cfg := quiet()
	sc := dailyPeak(cfg, 2, false)
	tests := []struct {
		name   string
		buffer time.Duration
	}{
		{name: "AWS default buffer", buffer: 300 * time.Second},
		{name: "no buffer", buffer: 0},
		{name: "20 minutes", buffer: 20 * time.Minute},
	}
	peak := sc.Trace.Start.Add(24*time.Hour + 10*time.Hour)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := twin.DefaultPredictive(twin.ALBRequestCount, 60*cfg.PerInstanceTarget())
			p.SchedulingBufferTime = tt.buffer
			r := run(t, cfg, sc, twin.Predictive(p, twin.TargetTracking(twin.DefaultTargetTracking(60))))
			var ahead *twin.ScalingEvent
			for i, e := range r.Scaling {
				if e.By == "predictive" && e.At.After(r.Start.Add(24*time.Hour)) {
					ahead = &r.Scaling[i]
					break
				}
			}
			if ahead == nil {
				t.Fatalf("predictive scaling never scaled: %v", r.Scaling)
			}
			if want := peak.Add(-tt.buffer); !ahead.At.Equal(want) || ahead.To != 30 {
				t.Errorf("predictive scaled to %d at %v, want 30 at %v", ahead.To, ahead.At.Format("Mon 15:04:05"), want.Format("Mon 15:04:05"))
			}
			for i, s := range r.Samples {
				if at := r.Time(i); !at.Before(peak) && at.Before(peak.Add(4*time.Hour)) && s.Desired < 30 {
					t.Fatalf("desired %d at %v, under the forecast's 30", s.Desired, at.Format("Mon 15:04"))
				}
			}
		})
	}
}
