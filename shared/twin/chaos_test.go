package twin_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/stampkit/stampkit/shared/rollout"
	"github.com/stampkit/stampkit/shared/twin"
	"github.com/stampkit/stampkit/shared/twin/suite"
)

// chaosRun runs sc under the stampkit policy with chaos c, and the same
// run without chaos. Handler errors are expected under chaos: they are
// what the retries are for.
func chaosRun(t *testing.T, cfg twin.Config, sc twin.Scenario, c *twin.Chaos) (chaotic, clean *twin.Result) {
	t.Helper()
	clean = run(t, cfg, sc, policy(t, cfg, suite.Stampkit))
	sc.Chaos = c
	chaotic, err := twin.Run(t.Context(), cfg, sc, policy(t, cfg, suite.Stampkit))
	if err != nil {
		t.Fatalf("Run with chaos: %v", err)
	}
	return chaotic, clean
}

// chaosCase is one chaos scenario, run with the default chaos and
// without.
type chaosCase struct {
	sc             twin.Scenario
	chaotic, clean *twin.Result
}

// chaosCases are the scenarios that exercise all three handlers under
// chaos: a spike the scaler meets with launches and, once it passes,
// terminations; a rolling rollout by instance refresh while the fleet
// scales; and a blue/green rollout on a ramp. They are run once for the
// tests that look at them, in parallel.
var chaosCases = sync.OnceValues(func() ([]chaosCase, error) {
	cfg := twin.DefaultConfig()
	cut := func(name string, hours int) (twin.Scenario, error) {
		sc, err := suite.Scenario(name, cfg, 1)
		sc.Trace.Rates = sc.Trace.Rates[:hours*int(time.Hour/cfg.Step)]
		return sc, err
	}
	var cases []chaosCase
	for _, sn := range []string{suite.Spike, suite.Step, suite.BlueGreen} {
		sc, err := cut(sn, 4)
		if err != nil {
			return nil, err
		}
		if sn == suite.Step {
			sc.ImageBuiltAt = 90 * time.Minute
		}
		cases = append(cases, chaosCase{sc: sc})
	}
	p, err := suite.Policy(suite.Stampkit, cfg)
	if err != nil {
		return nil, err
	}
	errs := make([]error, 2*len(cases))
	var wg sync.WaitGroup
	for i := range cases {
		c := &cases[i]
		wg.Go(func() { c.clean, errs[2*i] = twin.Run(context.Background(), cfg, c.sc, p) })
		wg.Go(func() {
			sc := c.sc
			sc.Chaos = twin.DefaultChaos()
			c.chaotic, errs[2*i+1] = twin.Run(context.Background(), cfg, sc, p)
		})
	}
	wg.Wait()
	return cases, errors.Join(errs...)
})

func chaosCasesOf(t *testing.T) []chaosCase {
	t.Helper()
	cases, err := chaosCases()
	if err != nil {
		t.Fatalf("chaos runs: %v", err)
	}
	for _, c := range cases {
		if len(c.clean.HandlerErrors) > 0 {
			t.Fatalf("%s without chaos: handler errors %v", c.sc.Name, c.clean.HandlerErrors)
		}
	}
	return cases
}

// TestChaosEffects runs each chaos scenario with the default chaos and
// checks that nothing was lost or doubled: every lifecycle action ended
// once, a launch continued whenever its instance answered in time; no
// scaling decision was applied twice or forgotten; the rollout ended as
// the run without chaos did, with the same weights, default version,
// image parameter and no launch template version more; and whatever is
// in a dead-letter queue ran out of retries, and is counted.
func TestChaosEffects(t *testing.T) {
	kinds := map[string]int{}
	outcomes := map[string]int{}
	for _, c := range chaosCasesOf(t) {
		sc, r, clean := c.sc, c.chaotic, c.clean
		t.Run(sc.Name, func(t *testing.T) {
			e := r.Effects
			if !e.Sound() {
				t.Errorf("effects not sound: %+v", e)
			}
			if e.Doubled != 0 || e.Unrecorded != 0 {
				t.Errorf("scaling decisions applied twice %d, forgotten %d; want none", e.Doubled, e.Unrecorded)
			}
			if e.Lost != e.LostDeadLettered+e.LostLate {
				t.Errorf("%d launches lost to the handler (lost %d, dead-lettered %d, retried too late %d)", e.Lost-e.LostDeadLettered-e.LostLate, e.Lost, e.LostDeadLettered, e.LostLate)
			}
			if e.Decisions == 0 || e.LifecycleActions == 0 {
				t.Fatalf("effects %+v: the scaler or the hooks were not exercised", e)
			}
			// Each action ends once: a launch gated once, then ready,
			// abandoned or expired once (or still at its hook); a
			// termination drained or expired once.
			ends := map[string]int{}
			for _, l := range r.Lifecycle {
				if l.What != twin.LaunchGated {
					ends[l.InstanceID+" "+l.Transition]++
				}
			}
			for id, n := range ends {
				if n > 1 {
					t.Errorf("%s: lifecycle action ended %d times", id, n)
				}
			}
			checkDeadLetters(t, r)
			if sc.ImageBuiltAt > 0 {
				if clean.RolloutOutcome == "" {
					t.Fatalf("the rollout did not end without chaos: %v", clean.Rollout)
				}
				type end struct {
					Outcome          string
					Parameter        string
					Default          int64
					TemplateVersions int
					Weights          twin.WeightChange
				}
				endOf := func(r *twin.Result) end {
					e := end{r.RolloutOutcome, r.ImageParameter, r.DefaultVersion, r.TemplateVersions, twin.WeightChange{}}
					if n := len(r.Weights); n > 0 {
						e.Weights = r.Weights[n-1]
						e.Weights.At = time.Time{}
					}
					return e
				}
				if d := cmp.Diff(endOf(clean), endOf(r)); d != "" {
					t.Errorf("the rollout ended otherwise than without chaos (-clean +chaos):\n%s", d)
				}
			}
			for _, f := range r.Faults {
				kinds[f.Kind]++
				outcomes[f.Outcome]++
			}
		})
	}
	for _, k := range twin.FaultKinds() {
		if k == twin.FaultEgressLost {
			continue // a network fault, not one of a bad day's (TestZoneEgressLoss)
		}
		if kinds[k] == 0 {
			t.Errorf("no %s injected: the chaos did not exercise it (%v)", k, kinds)
		}
	}
	if outcomes[twin.Recovered] == 0 || outcomes[twin.Absorbed] == 0 {
		t.Errorf("fault outcomes %v: want faults both recovered by retry and absorbed", outcomes)
	}
}

// checkDeadLetters checks that every dead letter ran out of what AWS
// retries (Functions) and is counted by its function.
func checkDeadLetters(t *testing.T, r *twin.Result) {
	t.Helper()
	fns := map[string]twin.Function{}
	for _, f := range twin.Functions() {
		fns[f.Name] = f
	}
	counted := map[string]int{}
	for _, d := range r.DeadLetters {
		f := fns[d.Function]
		counted[d.Function]++
		switch d.Queue {
		case twin.OnFailureDestination:
			if d.Attempts != f.Retries+1 && !strings.Contains(d.Reason, "MaximumEventAge") {
				t.Errorf("dead letter %+v: %d attempts, want %d (Lambda's retries) unless too old", d, d.Attempts, f.Retries+1)
			}
		case twin.WakeDeadLetterQueue:
			if d.Attempts != f.MaxReceives {
				t.Errorf("dead letter %+v: %d receives, want maxReceiveCount %d", d, d.Attempts, f.MaxReceives)
			}
		default:
			t.Errorf("dead letter %+v in no known queue", d)
		}
		if d.EventID == "" || d.Error == "" {
			t.Errorf("dead letter %+v: want the event and its error visible", d)
		}
	}
	for _, s := range r.Functions {
		if s.DeadLettered != counted[s.Name] {
			t.Errorf("%s counts %d dead letters, the queues hold %d", s.Name, s.DeadLettered, counted[s.Name])
		}
		if s.Failed < s.Recovered+s.DeadLettered {
			t.Errorf("%s: %d failed invocations cannot account for %d recovered and %d dead-lettered deliveries", s.Name, s.Failed, s.Recovered, s.DeadLettered)
		}
	}
}

// TestChaosConservation checks that chaos leaves the service model whole:
// every request counted once, served or dropped.
func TestChaosConservation(t *testing.T) {
	cfg := twin.DefaultConfig()
	for _, c := range chaosCasesOf(t) {
		sc, r := c.sc, c.chaotic
		t.Run(sc.Name, func(t *testing.T) {
			var offered, served, dropped int64
			for i, s := range r.Samples {
				if s.Served+s.Dropped != s.Offered || s.Dropped != s.TargetErrors+s.ELBErrors {
					t.Fatalf("step %d: served %d + dropped %d (target %d + load balancer %d) against offered %d",
						i, s.Served, s.Dropped, s.TargetErrors, s.ELBErrors, s.Offered)
				}
				offered += s.Offered
				served += s.Served
				dropped += s.Dropped
			}
			checkTotals(t, cfg, sc, r, offered, served, dropped)
		})
	}
}

// TestChaosDeterminism runs the same seed twice under chaos and a
// different seed once.
func TestChaosDeterminism(t *testing.T) {
	cfg := twin.DefaultConfig()
	c := chaosCasesOf(t)[2]
	sc := c.sc
	sc.Chaos = twin.DefaultChaos()
	runOnce := func(cfg twin.Config) *twin.Result {
		r, err := twin.Run(t.Context(), cfg, sc, policy(t, cfg, suite.Stampkit))
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
		return r
	}
	a, b := c.chaotic, runOnce(cfg)
	if d := cmp.Diff(a, b); d != "" {
		t.Errorf("two chaos runs on one seed differ (-first +second):\n%s", d)
	}
	if len(a.Faults) == 0 {
		t.Fatal("no faults injected")
	}
	other := cfg
	other.Seed = 2
	if c := runOnce(other); cmp.Equal(a.Faults, c.Faults) {
		t.Error("seeds 1 and 2 injected the same faults; the seed does not reach the chaos")
	}
}

// TestLostResponsesAreNotAppliedTwice loses the response of every capacity
// change the scaler makes, after Auto Scaling applied it: the changes must
// be those of the run where every response arrives, none made twice.
func TestLostResponsesAreNotAppliedTwice(t *testing.T) {
	cfg := twin.DefaultConfig()
	for _, sn := range []string{suite.Spike, suite.FlashCrowd} {
		t.Run(sn, func(t *testing.T) {
			sc := scenario(t, cfg, sn, 4, 1)
			r, clean := chaosRun(t, cfg, sc, &twin.Chaos{LostResponse: 1, Calls: []string{"Auto Scaling SetDesiredCapacity"}})
			type change struct{ From, To int }
			changes := func(r *twin.Result) []change {
				var out []change
				for _, e := range r.Scaling {
					out = append(out, change{e.From, e.To})
				}
				return out
			}
			if len(r.Faults) == 0 {
				t.Fatal("no response lost: the test proves nothing")
			}
			if d := cmp.Diff(changes(clean), changes(r)); d != "" {
				t.Errorf("capacity changes differ (-every response +none):\n%s", d)
			}
			if r.Effects.Doubled != 0 || r.Effects.Unrecorded != 0 {
				t.Errorf("effects %+v: decisions applied twice or forgotten", r.Effects)
			}
		})
	}
}

// TestRetriesRunOutIntoDeadLetterQueues fails one call every time, so that
// events run out of retries as AWS retries them: the scaler's schedule
// ticks (EventBridge, asynchronous: two retries), and the lifecycle
// wake-ups that complete an action (SQS: maxReceiveCount receives). A
// launch whose completion never goes through ends with the launch hook's
// default result, and that is counted as dead-lettered, not lost.
func TestRetriesRunOutIntoDeadLetterQueues(t *testing.T) {
	cfg := twin.DefaultConfig()
	sc := scenario(t, cfg, suite.Spike, 3, 1)
	r, _ := chaosRun(t, cfg, sc, &twin.Chaos{Throttle: 1, Calls: []string{"CloudWatch DescribeAlarms", "Auto Scaling CompleteLifecycleAction"}})
	checkDeadLetters(t, r)
	queues := map[string]int{}
	for _, d := range r.DeadLetters {
		queues[d.Function+" "+d.Queue]++
	}
	for _, want := range []string{twin.ScalerFunction + " " + twin.OnFailureDestination, twin.LifecycleFunction + " " + twin.WakeDeadLetterQueue} {
		if queues[want] == 0 {
			t.Errorf("nothing dead-lettered to %s: %v", want, queues)
		}
	}
	e := r.Effects
	if e.Lost == 0 || e.Lost != e.LostDeadLettered+e.LostLate || !e.Sound() {
		t.Errorf("effects %+v: want launches lost, every one to retries that ran out", e)
	}
	if slices.ContainsFunc(r.Lifecycle, func(l twin.LifecycleEvent) bool { return l.What == twin.LaunchReady }) {
		t.Error("a launch went into service without its completion")
	}
}

// TestWeightsUnderChaos checks the blue/green rollout's weights move as
// without chaos: the same steps, in order.
func TestWeightsUnderChaos(t *testing.T) {
	c := chaosCasesOf(t)[2]
	if c.sc.Strategy != rollout.StrategyBlueGreen {
		t.Fatal("the third chaos scenario is not blue/green")
	}
	r, clean := c.chaotic, c.clean
	steps := func(r *twin.Result) []int {
		var out []int
		for _, w := range r.Weights {
			out = append(out, w.Peer)
		}
		return out
	}
	if d := cmp.Diff(steps(clean), steps(r)); d != "" {
		t.Errorf("listener weights differ (-clean +chaos):\n%s", d)
	}
}
