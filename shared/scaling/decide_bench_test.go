package scaling_test

import (
	"testing"
	"time"

	"github.com/stampkit/stampkit/shared/scaling"
)

func BenchmarkDecide(b *testing.B) {
	p := testPolicy()
	s := scaling.State{LastScaleOut: t0.Add(-2 * time.Minute), OutFrom: 4, Seen: map[string]scaling.Seen{"high": inAlarm(t0), "low": inOK(t0)}}
	obs := scaling.Observation{Now: t0, Signal: high(100, t0), Group: scaling.Group{Min: 1, Max: 50, Desired: 5, InService: 5}}
	for b.Loop() {
		scaling.Decide(p, s, obs)
	}
}
