package twin_test

import (
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/stampkit/stampkit/shared/rollout"
	"github.com/stampkit/stampkit/shared/twin"
	"github.com/stampkit/stampkit/shared/twin/suite"
)

// greenCrash runs green-crash under the stampkit scaler, cut to three
// hours (the image lands at 02:00).
func greenCrash(t *testing.T) (twin.Config, *twin.Result) {
	t.Helper()
	cfg := twin.DefaultConfig()
	return cfg, run(t, cfg, scenario(t, cfg, suite.GreenCrash, 3, 1), policy(t, cfg, suite.Stampkit))
}

// firstAlarm returns when alarm first went to ALARM; zero if it never did.
func firstAlarm(r *twin.Result, alarm string) time.Time {
	for _, a := range r.Alarms {
		if a.Alarm == alarm && a.To == rollout.AlarmFiring {
			return a.At
		}
	}
	return time.Time{}
}

// fired reports whether alarm went to ALARM before t.
func fired(r *twin.Result, alarm string, t time.Time) bool {
	for _, a := range r.Alarms {
		if a.Alarm == alarm && a.To == rollout.AlarmFiring && a.At.Before(t) {
			return true
		}
	}
	return false
}

// perMinute sums v over the samples of each minute, keyed by the minute's
// start, leaving out minutes where it is zero.
func perMinute(r *twin.Result, v func(twin.Sample) int64) map[time.Time]float64 {
	out := map[time.Time]float64{}
	for i, s := range r.Samples {
		if n := v(s); n > 0 {
			out[r.Time(i).Truncate(time.Minute)] += float64(n)
		}
	}
	return out
}

// TestGreenCrashFailsOpen rolls out blue/green an image whose targets
// crash under full traffic. What AWS does, whatever the rollout handler
// does about it: the load balancer keeps sending the dead group its
// weight, to all its (unhealthy) targets, and answers those requests with
// 502 itself; HTTPCode_ELB_5XX_Count counts them and
// HTTPCode_Target_5XX_Count does not, so the target 5XX alarm is quiet
// when the rollout next decides, and the ELB 5XX and unhealthy-host
// alarms fire.
func TestGreenCrashFailsOpen(t *testing.T) {
	cfg, r := greenCrash(t)
	peer := twin.PeerGroup(cfg)

	fault, ok := rolloutEvent(r, twin.Fault)
	if !ok {
		t.Fatalf("no fault on the timeline: %v", r.Rollout)
	}
	if !strings.Contains(fault.Detail, peer) || !strings.Contains(fault.Detail, "connections refused") {
		t.Errorf("fault %q, want targets of %s refusing connections", fault.Detail, peer)
	}

	dead := 0
	for i, s := range r.Samples {
		if s.Dropped != s.TargetErrors+s.ELBErrors || s.Served+s.Dropped != s.Offered {
			t.Fatalf("step %d: offered %d, served %d, dropped %d = target %d + ELB %d: the counts do not add up",
				i, s.Offered, s.Served, s.Dropped, s.TargetErrors, s.ELBErrors)
		}
		if s.PeerOffered == 0 || s.PeerHealthy > 0 {
			continue
		}
		// Requests routed to a group without a healthy target go to all
		// its registered targets: the crashed ones' are load balancer
		// 502s (a replacement still in its first health checks may serve
		// its share).
		dead++
		if !s.FailOpen || s.Unhealthy == 0 || s.ELBErrors == 0 {
			t.Errorf("%s: %d requests to %s with no healthy target: fail-open %v, %d served, %d load balancer 5XX, %d unhealthy targets; want fail-open to the unhealthy targets, load balancer 5XX for the crashed ones",
				r.Time(i).Format("15:04:05"), s.PeerOffered, peer, s.FailOpen, s.PeerServed, s.ELBErrors, s.Unhealthy)
		}
	}
	if dead == 0 {
		t.Fatal("the listener never sent requests to the crashed group")
	}
	if r.ELBErrors == 0 || r.TargetErrors+r.ELBErrors != r.Dropped {
		t.Errorf("totals: %d load balancer and %d target 5XX of %d dropped", r.ELBErrors, r.TargetErrors, r.Dropped)
	}

	// Each 5XX alarm reads its own count: a minute's datapoint is that
	// minute's sum, and no datapoint at all when it is zero.
	for alarm, count := range map[string]func(twin.Sample) int64{
		twin.ELB5xxAlarm(cfg): func(s twin.Sample) int64 { return s.ELBErrors },
		twin.HealthAlarm(cfg): func(s twin.Sample) int64 { return s.TargetErrors },
	} {
		want := perMinute(r, count)
		got := map[time.Time]float64{}
		for _, dp := range r.Datapoints[alarm] {
			if !dp.Missing {
				got[dp.Time] = dp.Value
			}
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("%s datapoints differ from the samples' counts (-samples +datapoints):\n%s", alarm, d)
		}
	}

	elb, unhealthy := firstAlarm(r, twin.ELB5xxAlarm(cfg)), firstAlarm(r, twin.UnhealthyHostsAlarm(peer))
	if elb.IsZero() || !elb.After(fault.At) || unhealthy.IsZero() || !unhealthy.After(fault.At) {
		t.Errorf("after the fault at %s: ELB 5XX alarm at %v, %s unhealthy hosts at %v; want both to fire", fault.At.Format("15:04:05"), elb, peer, unhealthy)
	}
	// The rollout's first decision after the fault: the target 5XX alarm
	// was quiet then, the load balancer's 502s not being target 5XX.
	var decided twin.RolloutEvent
	for _, e := range r.Rollout {
		if strings.HasPrefix(e.What, twin.RolloutPhase) && e.At.After(fault.At) {
			decided = e
			break
		}
	}
	if decided.At.IsZero() {
		t.Fatalf("the rollout decided nothing after the fault: %v", r.Rollout)
	}
	if fired(r, twin.HealthAlarm(cfg), decided.At) {
		t.Errorf("the target 5XX alarm fired before the rollout's %s at %s; want it quiet while only the load balancer answers 5XX", decided.What, decided.At.Format("15:04:05"))
	}
	if fired(r, twin.UnhealthyHostsAlarm(cfg.Group), r.Start.Add(24*time.Hour)) {
		t.Errorf("%s fired; no blue target ever failed", twin.UnhealthyHostsAlarm(cfg.Group))
	}
}

// TestGreenCrashRollsBack is the end state a rollout handler that checks
// green's healthy targets against the traffic they carry must reach: the
// crash comes before the last bake ends, so the rollout rolls back with
// blue still whole, traffic back on it, and a bounded SLO loss.
func TestGreenCrashRollsBack(t *testing.T) {
	cfg, r := greenCrash(t)
	done, ok := rolloutEvent(r, twin.RolloutPhase+"done")
	if !ok || !strings.Contains(done.Detail, string(rollout.RolledBack)) {
		t.Errorf("rollout ended %q, want rolled back", done.Detail)
	}
	if n := len(r.Weights); r.Weights[n-1].Group != 100 || r.Weights[n-1].Peer != 0 {
		t.Errorf("weights end %+v, want all on %s", r.Weights[n-1], cfg.Group)
	}
	if g := r.Groups[1]; g.Desired != 0 || len(g.Images) != 0 {
		t.Errorf("%s ends at desired %d with %v, want empty", g.Name, g.Desired, g.Images)
	}
	if n := r.Groups[0].Images[twin.ImageV1]; n == 0 {
		t.Errorf("%s ends with no instance on %s", cfg.Group, twin.ImageV1)
	}
	// The crash costs the time the load balancer takes to mark the
	// targets unhealthy and the handler to look: about a minute.
	var slo float64
	for _, s := range r.Samples {
		if s.Violation {
			slo += cfg.Step.Minutes()
		}
	}
	if slo > 5 {
		t.Errorf("%.1f SLO-violation minutes, want at most 5", slo)
	}
}

// abortInRetention runs abort-in-retention under the stampkit scaler.
func abortInRetention(t *testing.T) (twin.Config, *twin.Result) {
	t.Helper()
	cfg := twin.DefaultConfig()
	return cfg, run(t, cfg, scenario(t, cfg, suite.AbortInRetention, 2, 1), policy(t, cfg, suite.Stampkit))
}

// TestAbortInRetention has an operator abort a blue/green rollout after
// the new group, promoted at the old group's size, has scaled out under
// load: the "Rollout Command" event, as "stampkit rollout abort" writes
// it, reaches the real rollout handler through EventBridge, which rolls
// the fleet back onto the old group and image.
func TestAbortInRetention(t *testing.T) {
	cfg, r := abortInRetention(t)
	abort, ok := rolloutEvent(r, twin.OperatorPrefix+"abort")
	if !ok {
		t.Fatalf("no operator abort on the timeline: %v", r.Rollout)
	}
	if want := r.Start.Add(suite.AbortAt); !abort.At.Equal(want) {
		t.Errorf("abort sent at %v, want %v", abort.At, want)
	}
	retain, _ := rolloutEvent(r, twin.RolloutPhase+"retain")
	restore, ok := rolloutEvent(r, twin.RolloutPhase+"restore")
	switch {
	case retain.At.IsZero() || !retain.At.Before(abort.At):
		t.Fatalf("promoted at %v, want before the abort at %v", retain.At, abort.At)
	case !ok || restore.At.Sub(abort.At) > cfg.Bus.MaxDelay:
		t.Fatalf("rollback began at %v, want within the bus's delay of the abort (%v)", restore.At, abort.At)
	case !strings.Contains(restore.Detail, "operator abort during retention"):
		t.Errorf("rollback %q does not give the operator's reason", restore.Detail)
	}
	if done, _ := rolloutEvent(r, twin.RolloutPhase+"done"); !strings.Contains(done.Detail, string(rollout.RolledBack)) {
		t.Errorf("rollout ended %q, want rolled back", done.Detail)
	}

	// The new group scaled out past the old one's size before the abort.
	i := int(suite.AbortAt / cfg.Step)
	if s := r.Samples[i]; s.PeerHealthy < 3*cfg.Min || s.PeerOffered != s.Offered {
		t.Errorf("at the abort %s had %d healthy targets and %d of %d requests, want all the traffic and at least %d targets",
			twin.PeerGroup(cfg), s.PeerHealthy, s.PeerOffered, s.Offered, 3*cfg.Min)
	}

	if n := len(r.Weights); r.Weights[n-1].Group != 100 || r.Weights[n-1].Peer != 0 {
		t.Errorf("weights end %+v, want all on %s", r.Weights[n-1], cfg.Group)
	}
	if g := r.Groups[1]; g.Desired != 0 || len(g.Images) != 0 {
		t.Errorf("%s ends at desired %d with %v, want empty", g.Name, g.Desired, g.Images)
	}
	if r.ImageParameter != twin.ImageV1 || r.DefaultVersion != 1 {
		t.Errorf("image parameter %s, default version %d; want %s, 1", r.ImageParameter, r.DefaultVersion, twin.ImageV1)
	}
}

// TestAbortInRetentionKeepsCapacity is the end state a rollback after a
// promotion must reach: the old group sized to what serves now, and given
// traffic only as its targets turn healthy, so that no group ever carries
// more than half again its healthy targets' capacity, and the abort costs
// at most a couple of SLO minutes.
func TestAbortInRetentionKeepsCapacity(t *testing.T) {
	cfg, r := abortInRetention(t)
	limit := 1.5 * cfg.InstanceCapacity * cfg.Step.Seconds()
	var slo float64
	for i := int(suite.AbortAt / cfg.Step); i < len(r.Samples); i++ {
		s := r.Samples[i]
		for _, g := range []struct {
			name             string
			offered, healthy int64
		}{
			{cfg.Group, s.Offered - s.PeerOffered, int64(s.Healthy - s.PeerHealthy)},
			{twin.PeerGroup(cfg), s.PeerOffered, int64(s.PeerHealthy)},
		} {
			if g.offered > 0 && (g.healthy == 0 || float64(g.offered)/float64(g.healthy) > limit) {
				t.Errorf("%s: %s got %d requests for %d healthy targets, want at most %.0f a target", r.Time(i).Format("15:04:05"), g.name, g.offered, g.healthy, limit)
			}
		}
		if s.Violation {
			slo += cfg.Step.Minutes()
		}
	}
	if slo > 2 {
		t.Errorf("%.1f SLO-violation minutes after the abort, want at most 2", slo)
	}
}

// TestDefaultRefreshIsTheShippedOne checks that the twin rolls images out
// with the instance refresh preferences the shipped cdk.json gives the
// fleet.
func TestDefaultRefreshIsTheShippedOne(t *testing.T) {
	raw, err := os.ReadFile("../../cdk.json")
	if err != nil {
		t.Fatal(err)
	}
	var cdk struct {
		Context struct {
			Fleets []struct {
				Rollout rollout.Policy `json:"rollout"`
			} `json:"fleets"`
		} `json:"context"`
	}
	if err := json.Unmarshal(raw, &cdk); err != nil {
		t.Fatalf("reading cdk.json: %v", err)
	}
	if len(cdk.Context.Fleets) == 0 {
		t.Fatal("cdk.json declares no fleet")
	}
	shipped := cdk.Context.Fleets[0].Rollout.Rolling
	got := twin.RolloutPolicy(twin.DefaultConfig()).Rolling
	// The warm-up cdk.json leaves to AWS: the group's health check grace
	// period, which the twin sets.
	shipped.Warmup = got.Warmup
	if d := cmp.Diff(shipped, got); d != "" {
		t.Errorf("the twin's refresh preferences differ from cdk.json's (-cdk.json +twin):\n%s", d)
	}
}

// TestScenarioFaultsAreChecked checks that Run refuses a fault or command
// it cannot simulate.
func TestScenarioFaultsAreChecked(t *testing.T) {
	cfg := twin.DefaultConfig()
	base := scenario(t, cfg, suite.Step, 1, 1)
	tests := []struct {
		name    string
		edit    func(*twin.Scenario)
		wantErr string
	}{
		{name: "negative crash delay", edit: func(sc *twin.Scenario) { sc.Crash = twin.Crash{Above: 0.5, After: -time.Minute} }, wantErr: "crash"},
		{name: "unknown command", edit: func(sc *twin.Scenario) { sc.Commands = []twin.Command{{At: time.Minute, Action: "rewind"}} }, wantErr: `"rewind"`},
		{name: "command before the start", edit: func(sc *twin.Scenario) { sc.Commands = []twin.Command{{At: -time.Minute, Action: "abort"}} }, wantErr: "before the start"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sc := base
			sc.Commands = slices.Clone(base.Commands)
			tt.edit(&sc)
			_, err := twin.Run(t.Context(), cfg, sc, policy(t, cfg, suite.TargetTracking))
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Run error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}
