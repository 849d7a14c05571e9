package scaler_test

import (
	"fmt"
	"io"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/stampkit/stampkit/shared/logging"
)

// BenchmarkHandleAlarm measures a whole invocation in process — decode,
// claim, load, decide, apply, save, log and EMF — with in-memory ports, and
// reports the p50 and p99 of single invocations next to the mean.
func BenchmarkHandleAlarm(b *testing.B) {
	r := newRig(b, false)
	r.h.Log = logging.New(io.Discard, slog.LevelInfo)
	r.h.Metrics = logging.NewMetrics(io.Discard, "Stampkit", r.clock.Now)
	events := make([][]byte, 4096)
	for i := range events {
		events[i] = alarmEvent(fmt.Sprintf("e%d", i), "web-high", "ALARM", t0.Add(time.Duration(i)*time.Second), 70, 60)
	}
	var took []time.Duration
	i := 0
	for b.Loop() {
		ev := events[i%len(events)]
		r.clock.Set(t0.Add(time.Duration(i) * time.Second))
		start := time.Now()
		if err := r.h.Handle(b.Context(), ev); err != nil {
			b.Fatal(err)
		}
		took = append(took, time.Since(start))
		i++
	}
	slices.Sort(took)
	b.ReportMetric(float64(took[len(took)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(took[len(took)*99/100].Microseconds()), "p99-µs")
}
