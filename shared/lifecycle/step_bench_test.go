package lifecycle_test

import (
	"testing"
	"time"

	"github.com/stampkit/stampkit/shared/lifecycle"
)

// BenchmarkStep measures one probe step of a three-probe gate that keeps
// waiting: the common step, and the one a long gate repeats.
func BenchmarkStep(b *testing.B) {
	p := testPolicy()
	s := lifecycle.Begin(p, launch())
	obs := lifecycle.Observation{Now: t0.Add(30 * time.Second), Probes: results(lifecycle.Pending, "app", "boot", "status")}
	b.ReportAllocs()
	for b.Loop() {
		_, _, _ = lifecycle.Step(p, s, obs)
	}
}

// BenchmarkStepDrain measures one drain step over two target groups.
func BenchmarkStepDrain(b *testing.B) {
	p := testPolicy()
	s := lifecycle.Begin(p, terminate())
	obs := lifecycle.Observation{Now: t0.Add(30 * time.Second), Targets: []lifecycle.Target{
		{TargetGroupARN: tgBlue, State: "draining", Delay: time.Minute},
		{TargetGroupARN: tgGreen, State: "healthy", Delay: time.Minute},
	}}
	b.ReportAllocs()
	for b.Loop() {
		_, _, _ = lifecycle.Step(p, s, obs)
	}
}
