package twin_test

import (
	"testing"
	"time"

	"github.com/stampkit/stampkit/shared/twin"
	"github.com/stampkit/stampkit/shared/twin/traces"
)

// TestWarmPoolScalesOutFaster triples demand under target tracking with
// and without a warm pool big enough for the whole scale-out: the first
// scale-out comes at the same moment, and with the pool its capacity
// serves sooner, by about the difference between a launch and a start.
// With the lifecycle hooks, every launch into the pool and out of it goes
// through the real hooks handler (Destination and Origin WarmPool).
func TestWarmPoolScalesOutFaster(t *testing.T) {
	base := twin.DefaultConfig()
	inst := base.PerInstanceTarget()
	tr, err := traces.Step(traces.Shape{Step: base.Step, Length: 2 * time.Hour, Base: 10 * inst, Peak: 30 * inst, At: time.Hour})
	if err != nil {
		t.Fatalf("trace: %v", err)
	}
	sc := twin.Scenario{Name: "warm-pool", Trace: tr}
	tests := []struct {
		name  string
		hooks bool
	}{
		{name: "lifecycle hooks", hooks: true},
		{name: "no hooks", hooks: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := base
			if !tt.hooks {
				cfg.Hooks = nil
			}
			pooled := cfg
			pooled.WarmPool = twin.DefaultWarmPool(cfg, 25)
			a := twin.TargetTracking(twin.DefaultTargetTracking(60))
			cold := run(t, cfg, sc, a)
			warm := run(t, pooled, sc, a)
			if len(cold.Scaling) == 0 || len(warm.Scaling) == 0 || !cold.Scaling[0].At.Equal(warm.Scaling[0].At) || cold.Scaling[0].To != warm.Scaling[0].To {
				t.Fatalf("first scale-out %v and %v, want the same", cold.Scaling[:1], warm.Scaling[:1])
			}
			out := cold.Scaling[0]
			// serving is how long after the scale-out its capacity served.
			serving := func(r *twin.Result) time.Duration {
				for i, s := range r.Samples {
					if at := r.Time(i); at.After(out.At) && s.Healthy >= out.To {
						return at.Sub(out.At)
					}
				}
				t.Fatalf("%d instances never served", out.To)
				return 0
			}
			c, w := serving(cold), serving(warm)
			if gain := base.LaunchMedian - pooled.WarmPool.StartMedian; w > c-gain/2 {
				t.Errorf("capacity served %v after the scale-out with the warm pool, %v without; want it at least %v sooner", w, c, gain/2)
			}
			if warm.Samples[0].WarmPool != 25 || cold.Samples[0].WarmPool != 0 {
				t.Errorf("pool at the start %d and %d, want 25 and 0", warm.Samples[0].WarmPool, cold.Samples[0].WarmPool)
			}
			if last := warm.Samples[len(warm.Samples)-1]; last.WarmPool != 25 {
				t.Errorf("pool at the end %d, want it refilled to 25", last.WarmPool)
			}
			if !tt.hooks {
				return
			}
			var warmed, fromPool, launched int
			for _, e := range warm.Lifecycle {
				switch {
				case e.What == twin.Warmed && e.WarmPool:
					warmed++
				case e.What == twin.LaunchReady && e.WarmPool && e.At.After(out.At):
					fromPool++
				case e.What == twin.LaunchReady && e.At.After(out.At):
					launched++
				}
			}
			if warmed == 0 {
				t.Error("no launch into the pool passed the hooks handler")
			}
			if fromPool < out.To-out.From {
				t.Errorf("%d launches out of the pool released by the hooks handler after the scale-out (and %d launched), want at least %d", fromPool, launched, out.To-out.From)
			}
			t.Logf("capacity served %v after the scale-out from the pool, %v cold; %d into the pool, %d out of it", w, c, warmed, fromPool)
		})
	}
}
