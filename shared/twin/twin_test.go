package twin_test

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/stampkit/stampkit/shared/rollout"
	"github.com/stampkit/stampkit/shared/scaling"
	"github.com/stampkit/stampkit/shared/twin"
	"github.com/stampkit/stampkit/shared/twin/suite"
	"github.com/stampkit/stampkit/shared/twin/traces"
)

// scenario returns a suite scenario cut to its first hours.
func scenario(t *testing.T, cfg twin.Config, name string, hours int, seed uint64) twin.Scenario {
	t.Helper()
	sc, err := suite.Scenario(name, cfg, seed)
	if err != nil {
		t.Fatalf("scenario %s: %v", name, err)
	}
	if n := hours * int(time.Hour/cfg.Step); n < len(sc.Trace.Rates) {
		sc.Trace.Rates = sc.Trace.Rates[:n]
	}
	return sc
}

func policy(t *testing.T, cfg twin.Config, name string) twin.Autoscaler {
	t.Helper()
	p, err := suite.Policy(name, cfg)
	if err != nil {
		t.Fatalf("policy %s: %v", name, err)
	}
	return p
}

func run(t *testing.T, cfg twin.Config, sc twin.Scenario, a twin.Autoscaler) *twin.Result {
	t.Helper()
	r, err := twin.Run(t.Context(), cfg, sc, a)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if len(r.HandlerErrors) > 0 {
		t.Fatalf("handler errors: %v", r.HandlerErrors)
	}
	return r
}

// TestConservation checks that every request is counted once: served or
// dropped, never both, never lost, and never dropped while the healthy
// targets had room for it.
func TestConservation(t *testing.T) {
	cfg := twin.DefaultConfig()
	perTarget := int64(math.Floor(cfg.InstanceCapacity * cfg.Step.Seconds()))
	for _, sn := range []string{suite.FlashCrowd, suite.Step} {
		for _, pn := range suite.PolicyNames() {
			t.Run(sn+"/"+pn, func(t *testing.T) {
				sc := scenario(t, cfg, sn, 3, 7)
				r := run(t, cfg, sc, policy(t, cfg, pn))
				var offered, served, dropped int64
				for i, s := range r.Samples {
					if s.Served+s.Dropped != s.Offered {
						t.Fatalf("step %d: served %d + dropped %d = %d, want offered %d", i, s.Served, s.Dropped, s.Served+s.Dropped, s.Offered)
					}
					// Targets over capacity answer 503 themselves; the
					// load balancer always has one to route to.
					if s.TargetErrors != s.Dropped || s.ELBErrors != 0 {
						t.Fatalf("step %d: dropped %d as %d target and %d load balancer 5XX, want all target 5XX", i, s.Dropped, s.TargetErrors, s.ELBErrors)
					}
					if s.Served > int64(s.Healthy)*perTarget {
						t.Fatalf("step %d: served %d with %d healthy targets of %d each", i, s.Served, s.Healthy, perTarget)
					}
					if s.Offered <= int64(s.Healthy)*perTarget && s.Dropped != 0 {
						t.Fatalf("step %d: dropped %d of %d with room for %d", i, s.Dropped, s.Offered, int64(s.Healthy)*perTarget)
					}
					offered += s.Offered
					served += s.Served
					dropped += s.Dropped
				}
				checkTotals(t, cfg, sc, r, offered, served, dropped)
				if r.Dropped == 0 && sn == suite.FlashCrowd && pn == suite.StepScaling {
					t.Errorf("the step policy dropped nothing in a flash crowd; the test would not see a drop")
				}
			})
		}
	}
}

// checkTotals checks that r's totals are its samples' (offered, served,
// dropped) and that it offered every request of sc's trace.
func checkTotals(t *testing.T, cfg twin.Config, sc twin.Scenario, r *twin.Result, offered, served, dropped int64) {
	t.Helper()
	if offered != r.Offered || served != r.Served || dropped != r.Dropped {
		t.Errorf("totals %d/%d/%d, want the samples' %d/%d/%d", r.Offered, r.Served, r.Dropped, offered, served, dropped)
	}
	integral := 0.0
	for _, rate := range sc.Trace.Rates {
		integral += rate * cfg.Step.Seconds()
	}
	if got, want := offered, int64(math.Floor(integral)); got != want {
		t.Errorf("offered %d requests, want the trace's %d", got, want)
	}
}

// TestDeterminism runs the same seed twice and a different seed once.
func TestDeterminism(t *testing.T) {
	cfg := twin.DefaultConfig()
	for _, pn := range suite.PolicyNames() {
		t.Run(pn, func(t *testing.T) {
			sc := scenario(t, cfg, suite.Spike, 3, 1)
			a := run(t, cfg, sc, policy(t, cfg, pn))
			b := run(t, cfg, sc, policy(t, cfg, pn))
			if d := cmp.Diff(a, b); d != "" {
				t.Errorf("two runs on one seed differ (-first +second):\n%s", d)
			}
			other := cfg
			other.Seed = 2
			c := run(t, other, sc, policy(t, other, pn))
			if cmp.Equal(a.Samples, c.Samples) {
				t.Errorf("seeds 1 and 2 gave identical samples; the seed does not reach the model")
			}
		})
	}
}

// TestTargetTrackingWaitsForDatapoints checks the target tracking model
// against AWS's documented timing: no scale-out before 3 consecutive
// one-minute datapoints above the target, no scale-in before 15 below 90 %
// of it.
func TestTargetTrackingWaitsForDatapoints(t *testing.T) {
	cfg := twin.DefaultConfig()
	cfg.CPUNoise = 0
	inst := cfg.PerInstanceTarget()
	tests := []struct {
		name        string
		at, hold    time.Duration
		base, peak  float64
		wantScaling bool
	}{
		{name: "demand doubles on a minute boundary", at: time.Hour, base: 10 * inst, peak: 20 * inst, wantScaling: true},
		{name: "demand triples mid-minute", at: time.Hour + 30*time.Second, base: 10 * inst, peak: 30 * inst, wantScaling: true},
		{name: "a two-minute burst breaches only two datapoints", at: time.Hour, hold: 2 * time.Minute, base: 10 * inst, peak: 30 * inst},
		{name: "a burst of two and a half minutes breaches three", at: time.Hour + 30*time.Second, hold: 150 * time.Second, base: 10 * inst, peak: 30 * inst, wantScaling: true},
		{name: "demand halves", at: time.Hour, base: 20 * inst, peak: 10 * inst, wantScaling: true},
	}
	high, low := twin.TargetTrackingAlarms(cfg.Group)
	tc := twin.DefaultTargetTracking(60)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr, err := traces.Step(traces.Shape{Step: cfg.Step, Length: 3 * time.Hour, Base: tt.base, Peak: tt.peak, At: tt.at, Hold: tt.hold})
			if err != nil {
				t.Fatalf("trace: %v", err)
			}
			r := run(t, cfg, twin.Scenario{Name: tt.name, Trace: tr}, twin.TargetTracking(tc))
			if got := len(r.Scaling) > 0; got != tt.wantScaling {
				t.Fatalf("scaled = %v (%v), want %v", got, r.Scaling, tt.wantScaling)
			}
			check := func(e twin.ScalingEvent, alarm string, points int, breaches func(float64) bool) {
				var recent []twin.Datapoint
				for _, dp := range r.Datapoints[alarm] {
					if !dp.Time.Add(time.Minute).After(e.At) {
						recent = append(recent, dp)
					}
				}
				if len(recent) < points {
					t.Fatalf("%v: scaled after %d datapoints, want at least %d", e.At, len(recent), points)
				}
				for _, dp := range recent[len(recent)-points:] {
					if dp.Missing || !breaches(dp.Value) {
						t.Errorf("scaled %d -> %d at %v, but the datapoint of %v was %g", e.From, e.To, e.At.Format("15:04:05"), dp.Time.Format("15:04"), dp.Value)
					}
				}
			}
			for _, e := range r.Scaling {
				if e.To > e.From {
					check(e, high, 3, func(v float64) bool { return v > tc.TargetValue })
				} else {
					check(e, low, 15, func(v float64) bool { return v < 0.9*tc.TargetValue })
				}
			}
			if tt.wantScaling {
				first := r.Scaling[0].At.Sub(r.Start)
				if earliest := tt.at.Truncate(time.Minute) + 3*time.Minute; first < earliest {
					t.Errorf("first scaling %v after the start, want no sooner than %v", first, earliest)
				}
			}
		})
	}
}

// TestDeliveryFaultsDoNotChangeEffects runs the stampkit scaler with
// EventBridge duplicating half the alarm events and delaying them enough
// to reorder them, and compares it with a bus that delivers each event
// once and drops any a newer one from the same alarm overtook.
func TestDeliveryFaultsDoNotChangeEffects(t *testing.T) {
	var dups, overtaken, stale int
	for _, sn := range []string{suite.Spike, suite.FlashCrowd, suite.Ramp} {
		t.Run(sn, func(t *testing.T) {
			cfg := twin.DefaultConfig()
			cfg.Bus = twin.BusConfig{MaxDelay: 45 * time.Second, DuplicateProbability: 0.5, DuplicateDelay: 90 * time.Second}
			sc := scenario(t, cfg, sn, 6, 3)
			// A new image mid-run: the rollout handler's effects must not
			// change either, rolled out by instance refresh or (on the
			// ramp) blue/green.
			sc.ImageBuiltAt = 3 * time.Hour
			if sn == suite.Ramp {
				sc.Strategy = rollout.StrategyBlueGreen
			}
			faulty := run(t, cfg, sc, policy(t, cfg, suite.Stampkit))
			cfg.Bus.ExactlyOnce = true
			ideal := run(t, cfg, sc, policy(t, cfg, suite.Stampkit))

			type change struct {
				At       time.Time
				From, To int
			}
			timeline := func(r *twin.Result) []change {
				var out []change
				for _, e := range r.Scaling {
					out = append(out, change{e.At, e.From, e.To})
				}
				return out
			}
			if len(ideal.Scaling) == 0 {
				t.Fatal("no scaling at all: the comparison would prove nothing")
			}
			if d := cmp.Diff(timeline(ideal), timeline(faulty)); d != "" {
				t.Errorf("capacity changes differ (-exactly once +at least once, reordered):\n%s", d)
			}
			if len(ideal.Lifecycle) == 0 {
				t.Fatal("no lifecycle actions: the hooks were not exercised")
			}
			if d := cmp.Diff(ideal.Lifecycle, faulty.Lifecycle); d != "" {
				t.Errorf("lifecycle actions differ (-exactly once +at least once, reordered):\n%s", d)
			}
			if n := len(ideal.Rollout); n == 0 || ideal.Rollout[n-1].What != twin.RolloutPhase+"done" {
				t.Fatalf("rollout did not end: %v", ideal.Rollout)
			}
			if d := cmp.Diff(ideal.Rollout, faulty.Rollout); d != "" {
				t.Errorf("rollout steps differ (-exactly once +at least once, reordered):\n%s", d)
			}
			if d := cmp.Diff(ideal.Weights, faulty.Weights); d != "" {
				t.Errorf("listener weights differ (-exactly once +at least once, reordered):\n%s", d)
			}
			if sc.Strategy == rollout.StrategyBlueGreen && len(ideal.Weights) < 2 {
				t.Error("the blue/green rollout moved no weights")
			}
			dups += faulty.Bus.Duplicates
			overtaken += ideal.Bus.Overtaken
			stale += faulty.Outcomes[string(scaling.Stale)]
		})
	}
	if dups == 0 || overtaken == 0 || stale == 0 {
		t.Errorf("got %d duplicates, %d overtaken events, %d stale signals; the faults were not exercised", dups, overtaken, stale)
	}
}

// TestInstanceRefresh rolls a new image out to a steady fleet of 30
// through the real rollout handler: the AMI event starts the rollout,
// which stamps the image and starts an instance refresh, follows it on its
// wake-ups and ends when it succeeds. The refresh keeps the group within
// its healthy percentages of desired capacity: at least min healthy
// healthy, at most max healthy in service or pending, the instances it
// launches ahead counted InService while desired stays 30; and it waits at
// its checkpoints. A min healthy of 0 replaces every instance at once: the
// load balancer has no target left and answers 503 itself, and the ELB 5XX
// alarm (not the target 5XX one) rolls the refresh back.
func TestInstanceRefresh(t *testing.T) {
	const size = 30
	tests := []struct {
		name     string
		min, max *int
		// checkpoints and their delay; nil keeps none.
		checkpoints []int
		// wantStarted is in the refresh's start event; wantBatches its
		// batches (0: any); wantAhead whether instances launch before
		// others terminate.
		wantStarted string
		wantBatches int
		wantAhead   bool
		// wantOutage: every instance goes at once, and the refresh rolls
		// back on the ELB 5XX alarm.
		wantOutage bool
	}{
		{name: "the shipped preferences: launch before terminate, a checkpoint at 50 %", min: new(100), max: new(200), checkpoints: []int{50, 100},
			wantStarted: "healthy 100-200%, checkpoints 50 100 held 5m0s", wantBatches: 2, wantAhead: true},
		{name: "min 100, max 150: two batches launched ahead", min: new(100), max: new(150),
			wantStarted: "healthy 100-150%", wantBatches: 2, wantAhead: true},
		{name: "min 90, max 100: terminate first, 3 at a time", min: new(90), max: new(100),
			wantStarted: "healthy 90-100%", wantBatches: 10},
		{name: "preferences unset: AWS's 90 and 100", wantStarted: "healthy 90-100%", wantBatches: 10},
		{name: "min 0 is a real 0: everything at once, rolled back", min: new(0), max: new(100), wantStarted: "healthy 0-100%", wantOutage: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := twin.DefaultConfig()
			cfg.CPUNoise = 0
			cfg.RefreshMinHealthy, cfg.RefreshMaxHealthy, cfg.RefreshCheckpoints = tt.min, tt.max, tt.checkpoints
			tr, err := traces.Step(traces.Shape{Step: cfg.Step, Length: 3 * time.Hour, Base: size * cfg.PerInstanceTarget(), Peak: size * cfg.PerInstanceTarget()})
			if err != nil {
				t.Fatalf("trace: %v", err)
			}
			sc := twin.Scenario{Name: "refresh", Trace: tr, ImageBuiltAt: time.Hour}
			// A policy that never fires, so that only the refresh moves the fleet.
			idle := twin.SimpleScaling(twin.SimpleScalingConfig{High: 99, Low: 1, HighPeriods: 1, LowPeriods: 1, Adjustment: 1, Cooldown: time.Minute})
			r := run(t, cfg, sc, idle)
			var what []string
			at := map[string]twin.RolloutEvent{}
			for _, e := range r.Rollout {
				what = append(what, e.What)
				at[e.What] = e
			}
			want := []string{"image built", twin.RolloutPhase + "refresh", "refresh started", "refresh finished", twin.RolloutPhase + "done"}
			outcome, image := "succeeded", twin.ImageV2
			switch {
			case len(tt.checkpoints) > 0:
				want = slices.Insert(want, 3, twin.RefreshCheckpoint)
			case tt.wantOutage:
				want = slices.Insert(want, 3, twin.RefreshRollback)
				want = slices.Insert(want, 5, twin.RolloutPhase+"revert")
				outcome, image = "rolled_back", twin.ImageV1
			}
			if d := cmp.Diff(want, what); d != "" {
				t.Fatalf("rollout events (-want +got):\n%s", d)
			}
			if d := at[twin.RolloutPhase+"done"].Detail; !strings.Contains(d, outcome) {
				t.Errorf("rollout ended with %q, want it %s", d, outcome)
			}
			// Auto Scaling's "Instance Refresh Succeeded" event tells the handler
			// at once, not at its next poll.
			if got, lim := at[twin.RolloutPhase+"done"].At.Sub(at["refresh finished"].At), cfg.Bus.MaxDelay; got > lim && !tt.wantOutage {
				t.Errorf("rollout saw the refresh end after %v, want within the bus's delay (%v)", got, lim)
			}
			if len(r.Scaling) != 0 {
				t.Errorf("capacity changed during the refresh: %v", r.Scaling)
			}
			if d := at["refresh started"].Detail; !strings.Contains(d, tt.wantStarted) {
				t.Errorf("refresh started with %q, want %q", d, tt.wantStarted)
			}
			lo, hi := 90, 100
			if tt.min != nil {
				lo, hi = *tt.min, *tt.max
			}
			start, end := at["refresh started"].At, at["refresh finished"].At
			ahead, outage := false, false
			for i, s := range r.Samples {
				at := r.Time(i)
				if at.Before(start) || !at.Before(end) {
					continue
				}
				if s.Desired != size {
					t.Fatalf("%v: desired %d, want %d throughout", at.Format("15:04:05"), s.Desired, size)
				}
				if minHealthy := (size*lo + 99) / 100; s.Healthy < minHealthy {
					t.Fatalf("%v: %d healthy, want at least %d (min healthy %d%%)", at.Format("15:04:05"), s.Healthy, minHealthy, lo)
				}
				if maxUp := size * hi / 100; s.InService+s.Pending > maxUp {
					t.Fatalf("%v: %d in service and %d pending, want at most %d (max healthy %d%%)", at.Format("15:04:05"), s.InService, s.Pending, maxUp, hi)
				}
				ahead = ahead || s.InService > s.Desired
				outage = outage || (s.Healthy == 0 && s.ELBErrors == s.Offered)
			}
			if outage != tt.wantOutage {
				t.Errorf("an outage (no healthy target, every request a load balancer 5XX): %v, want %v", outage, tt.wantOutage)
			}
			if rb := at[twin.RefreshRollback]; tt.wantOutage && (!fired(r, twin.ELB5xxAlarm(cfg), rb.At.Add(time.Second)) || fired(r, twin.HealthAlarm(cfg), rb.At.Add(time.Second))) {
				t.Errorf("alarms %v: want %s, not %s, in ALARM when the refresh rolled back (%s)", r.Alarms, twin.ELB5xxAlarm(cfg), twin.HealthAlarm(cfg), rb.Detail)
			}
			if ahead != tt.wantAhead {
				t.Errorf("more instances InService than desired: %v, want %v", ahead, tt.wantAhead)
			}
			if d := at["refresh finished"].Detail; tt.wantBatches > 0 && !strings.Contains(d, fmt.Sprintf(" %d batches", tt.wantBatches)) {
				t.Errorf("refresh finished with %q, want %d batches", d, tt.wantBatches)
			}
			if len(tt.checkpoints) > 0 {
				// The wait at 50 %: the second batch starts no sooner.
				cp := at[twin.RefreshCheckpoint]
				if !strings.Contains(cp.Detail, "at 50% (15 of 30 replaced)") {
					t.Errorf("checkpoint %q, want at 50 %% with 15 of 30 replaced", cp.Detail)
				}
				if got := end.Sub(cp.At); got < cfg.RefreshCheckpointDelay {
					t.Errorf("refresh finished %v after the checkpoint, want at least its %v delay", got, cfg.RefreshCheckpointDelay)
				}
			}
			if got := r.Groups[0].Images; !cmp.Equal(got, map[string]int{image: size}) {
				t.Errorf("group ends with %v, want %d on %s", got, size, image)
			}
		})
	}
}

func TestRunRejects(t *testing.T) {
	cfg := twin.DefaultConfig()
	sc := scenario(t, cfg, suite.Step, 1, 1)
	noTrigger := scaling.DefaultPolicy(cfg.Group, 2, 10, scaling.Target{CPU: 60})
	noTrigger.Rules[0].Trigger = nil
	fast := scaling.DefaultPolicy(cfg.Group, 2, 10, scaling.Target{CPU: 60})
	fast.Rules[0].Trigger.Namespace, fast.Rules[0].Trigger.Metric = "AWS/EC2", "CPUUtilization"
	badStep := cfg
	badStep.Step = 7 * time.Second
	tests := []struct {
		name    string
		cfg     twin.Config
		policy  twin.Autoscaler
		wantErr string
	}{
		{name: "rule without trigger", cfg: cfg, policy: twin.Stampkit(noTrigger), wantErr: "needs the rule's trigger"},
		{name: "EC2 metric at 10 s", cfg: cfg, policy: twin.Stampkit(fast), wantErr: "no data at a 10s period"},
		{name: "target out of range", cfg: cfg, policy: twin.TargetTracking(twin.TargetTrackingConfig{TargetValue: 120}), wantErr: "target value"},
		{name: "step that does not divide a minute", cfg: badStep, policy: twin.TargetTracking(twin.DefaultTargetTracking(60)), wantErr: "must divide a minute"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := twin.Run(t.Context(), tt.cfg, sc, tt.policy)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Run error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

// alarmEvent is an EventBridge alarm state change in AWS's shape.
func alarmEvent(t *testing.T, alarm, state string, value, threshold float64) []byte {
	t.Helper()
	reason, err := json.Marshal(map[string]any{"version": "1.0", "statistic": "Average", "period": 10, "recentDatapoints": []float64{value}, "threshold": threshold})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := json.Marshal(map[string]any{
		"version": "0", "id": "7bf73129-1428-4cd3-a780-95db273d1602", "detail-type": "CloudWatch Alarm State Change",
		"source": "aws.cloudwatch", "account": "111122223333", "time": "2026-11-02T12:00:00Z", "region": "us-east-1",
		"resources": []string{"arn:aws:cloudwatch:us-east-1:111122223333:alarm:" + alarm},
		"detail": map[string]any{
			"alarmName": alarm,
			"state":     map[string]any{"value": state, "reason": "Threshold Crossed", "reasonData": string(reason), "timestamp": "2026-11-02T12:00:00.000+0000"},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func TestInvokeScaler(t *testing.T) {
	p := scaling.DefaultPolicy("web-asg", 2, 20, scaling.Target{CPU: 60})
	tests := []struct {
		name        string
		raw         []byte
		wantDesired int
		wantErr     bool
		wantLog     string
	}{
		{name: "CPU far past the threshold", raw: alarmEvent(t, "web-asg-cpu-high", "ALARM", 95, 65), wantDesired: 6, wantLog: `"to":6`},
		{name: "alarm back to OK", raw: alarmEvent(t, "web-asg-cpu-high", "OK", 50, 65), wantDesired: 4, wantLog: `"outcome":"not_in_alarm"`},
		{name: "alarm of another fleet", raw: alarmEvent(t, "ServerCpuTooHigh", "ALARM", 99, 50), wantDesired: 4, wantLog: "no fleet scales on"},
		{name: "malformed", raw: []byte(`{"source":`), wantDesired: 4, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var log strings.Builder
			g, err := twin.InvokeScaler(t.Context(), tt.raw, twin.Invocation{
				GroupName: "web-asg", Group: scaling.Group{Min: 2, Max: 20, Desired: 4, InService: 4},
				Policy: p, Now: time.Date(2026, 11, 2, 12, 0, 5, 0, time.UTC), Log: &log,
			})
			if (err != nil) != tt.wantErr {
				t.Fatalf("InvokeScaler error = %v, wantErr %v", err, tt.wantErr)
			}
			if g.Desired != tt.wantDesired {
				t.Errorf("desired = %d, want %d", g.Desired, tt.wantDesired)
			}
			if !strings.Contains(log.String(), tt.wantLog) {
				t.Errorf("log lacks %s:\n%s", tt.wantLog, log.String())
			}
		})
	}
}

// TestScenarioDemand checks that the suite's scenarios need the number of
// instances the report says.
func TestScenarioDemand(t *testing.T) {
	cfg := twin.DefaultConfig()
	for _, name := range suite.Names() {
		t.Run(name, func(t *testing.T) {
			sc, err := suite.Scenario(name, cfg, 1)
			if err != nil {
				t.Fatal(err)
			}
			// abort-in-retention's morning rush needs about 10.
			peak := cfg.DemandInstances(sc.Trace.Peak())
			if peak < 10 || peak > 75 {
				t.Errorf("peak demand %d instances, want 10-75", peak)
			}
			// A stamp shift runs on a busy evening by design: no quiet period.
			if low := cfg.DemandInstances(slices.Min(sc.Trace.Rates)); low > 12 && sc.Shift == nil {
				t.Errorf("lowest demand %d instances, want a quiet period of at most 12", low)
			}
		})
	}
	if _, err := suite.Scenario("nope", cfg, 1); err == nil {
		t.Error("unknown scenario: got no error")
	}
}

// holdFor is a Lifecycle that records the actions it holds and releases
// launches after a fixed wait.
type holdFor struct {
	wait    time.Duration
	actions map[string]int
}

func (h *holdFor) Hold(a *twin.LifecycleAction) {
	h.actions[a.Transition]++
	if a.Transition == twin.Launching {
		a.CompleteAfter(h.wait)
		return
	}
	a.CompleteAfter(0)
}

// TestLifecycleHoldsInstances checks the lifecycle seam: every launch and
// termination of a serving instance passes through it, and a launch hook
// delays service by its wait.
func TestLifecycleHoldsInstances(t *testing.T) {
	cfg := twin.DefaultConfig()
	cfg.Hooks = nil
	sc := scenario(t, cfg, suite.Spike, 6, 1)
	free := run(t, cfg, sc, policy(t, cfg, suite.TargetTracking))

	h := &holdFor{wait: 4 * time.Minute, actions: map[string]int{}}
	cfg.Lifecycle = h
	held := run(t, cfg, sc, policy(t, cfg, suite.TargetTracking))
	if h.actions[twin.Launching] == 0 || h.actions[twin.Terminating] == 0 {
		t.Fatalf("held %v, want launches and terminations", h.actions)
	}
	// The first scale-out happens at the same moment in both runs; its
	// instances serve at least the hook's wait later when held.
	firstServing := func(r *twin.Result) time.Duration {
		out := r.Scaling[0].At.Sub(r.Start)
		for i, s := range r.Samples {
			if at := time.Duration(i) * cfg.Step; at > out && s.Healthy > r.Scaling[0].From {
				return at - out
			}
		}
		t.Fatal("new capacity never served")
		return 0
	}
	if !free.Scaling[0].At.Equal(held.Scaling[0].At) {
		t.Fatalf("first scaling at %v and %v, want the same moment", free.Scaling[0].At, held.Scaling[0].At)
	}
	if a, b := firstServing(free), firstServing(held); b < a+h.wait-cfg.Step {
		t.Errorf("new capacity served %v after scaling with the hook, %v without; want at least %v more", b, a, h.wait)
	}
}

// TestRolloutHoldsScaleIn drops demand as a new image lands: the rollout's
// hold reaches the stampkit scaler through the shared state table, so the
// fleet scales in only once the rollout is done.
func TestRolloutHoldsScaleIn(t *testing.T) {
	cfg := twin.DefaultConfig()
	inst := cfg.PerInstanceTarget()
	tr, err := traces.Step(traces.Shape{Step: cfg.Step, Length: 3 * time.Hour, Base: 30 * inst, Peak: 10 * inst, At: time.Hour, Hold: 2 * time.Hour})
	if err != nil {
		t.Fatalf("trace: %v", err)
	}
	sc := twin.Scenario{Name: "hold", Trace: tr, ImageBuiltAt: time.Hour}
	r := run(t, cfg, sc, policy(t, cfg, suite.Stampkit))
	var started, done time.Time
	for _, e := range r.Rollout {
		switch e.What {
		case twin.RolloutPhase + "refresh":
			started = e.At
		case twin.RolloutPhase + "done":
			done = e.At
		}
	}
	if started.IsZero() || done.IsZero() {
		t.Fatalf("rollout did not run to the end: %v", r.Rollout)
	}
	if r.Outcomes[string(scaling.RolloutHold)] == 0 {
		t.Error("the scaler never saw the rollout's hold")
	}
	scaledIn := false
	for _, e := range r.Scaling {
		if e.To >= e.From {
			continue
		}
		if e.At.After(started) && e.At.Before(done) {
			t.Errorf("%s: scaled in %d -> %d during the rollout (%s to %s)", e.At.Format("15:04:05"), e.From, e.To, started.Format("15:04:05"), done.Format("15:04:05"))
		}
		scaledIn = true
	}
	if !scaledIn {
		t.Error("never scaled in: the hold was not tested")
	}
}
