package twin_test

import (
	"testing"
	"time"

	"github.com/stampkit/stampkit/shared/twin"
	"github.com/stampkit/stampkit/shared/twin/suite"
)

// lifecycleCounts tallies a run's lifecycle events and the shortest wait
// of each kind.
func lifecycleCounts(r *twin.Result) (count map[string]int, shortest map[string]time.Duration) {
	count, shortest = map[string]int{}, map[string]time.Duration{}
	for _, e := range r.Lifecycle {
		count[e.What]++
		if w, ok := shortest[e.What]; !ok || e.Wait < w {
			shortest[e.What] = e.Wait
		}
	}
	return count, shortest
}

// TestHooksGateLaunchesAndDrainTerminations runs every policy behind the
// real lifecycle handler: each launch is published as a lifecycle action
// and released only once the application answers its probe, and each
// serving instance drains for the deregistration delay before it goes.
func TestHooksGateLaunchesAndDrainTerminations(t *testing.T) {
	for _, pn := range suite.PolicyNames() {
		t.Run(pn, func(t *testing.T) {
			cfg := twin.DefaultConfig()
			cfg.LaunchSpread = 0
			sc := scenario(t, cfg, suite.Spike, 6, 1)
			r := run(t, cfg, sc, policy(t, cfg, pn))
			count, shortest := lifecycleCounts(r)
			if count[twin.LaunchGated] == 0 || count[twin.LaunchReady] == 0 || count[twin.Drained] == 0 {
				t.Fatalf("lifecycle events %v, want launches gated, released and drained", count)
			}
			if count[twin.LaunchAbandoned] != 0 {
				t.Errorf("%d launches abandoned, want none: the application always comes up", count[twin.LaunchAbandoned])
			}
			if got, want := shortest[twin.LaunchReady], cfg.LaunchMedian+cfg.AppWarmup; got < want {
				t.Errorf("shortest time to ready %v, want at least boot + app warm-up %v", got, want)
			}
			if got, want := shortest[twin.Drained], cfg.DeregistrationDelay; got < want {
				t.Errorf("shortest drain %v, want at least the deregistration delay %v", got, want)
			}
			// Every instance that took traffic was released by the handler:
			// the settled fleet of the start plus one per CONTINUE.
			maxHealthy := 0
			for _, s := range r.Samples {
				maxHealthy = max(maxHealthy, s.Healthy)
			}
			if initial := r.Samples[0].Healthy; maxHealthy > initial+count[twin.LaunchReady] {
				t.Errorf("%d healthy targets at most, but only %d at the start and %d released", maxHealthy, initial, count[twin.LaunchReady])
			}
		})
	}
}

// TestHooksAbandonAnInstanceThatNeverComesUp gives the application a
// warm-up longer than the launch gate's timeout: every launch is abandoned
// and replaced, and no new instance ever takes traffic.
func TestHooksAbandonAnInstanceThatNeverComesUp(t *testing.T) {
	cfg := twin.DefaultConfig()
	cfg.AppWarmup = 20 * time.Minute
	sc := scenario(t, cfg, suite.Spike, 4, 1)
	r := run(t, cfg, sc, policy(t, cfg, suite.TargetTracking))
	count, shortest := lifecycleCounts(r)
	if count[twin.LaunchReady] != 0 {
		t.Errorf("%d launches released, want none", count[twin.LaunchReady])
	}
	if count[twin.LaunchAbandoned] < 2 {
		t.Fatalf("%d launches abandoned, want replacements abandoned too", count[twin.LaunchAbandoned])
	}
	// The gate's timeout runs from the event's time, which EventBridge
	// gives to the second.
	if got, want := shortest[twin.LaunchAbandoned], time.Duration(cfg.Hooks.Launch.Timeout)-time.Second; got < want {
		t.Errorf("abandoned after %v, want no sooner than the gate's timeout %v", got, want)
	}
	for i, s := range r.Samples {
		if s.Healthy > r.Samples[0].Healthy {
			t.Fatalf("step %d: %d healthy targets, more than the %d the run started with", i, s.Healthy, r.Samples[0].Healthy)
		}
	}
}

func TestHooksAndLifecycleExcludeEachOther(t *testing.T) {
	cfg := twin.DefaultConfig()
	cfg.Lifecycle = twin.ReadyAfter(time.Minute)
	if err := cfg.Validate(); err == nil {
		t.Error("Validate with both hooks and a lifecycle seam: got no error")
	}
}
