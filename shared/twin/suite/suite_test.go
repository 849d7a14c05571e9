package suite_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/stampkit/stampkit/shared/scaling"
	"github.com/stampkit/stampkit/shared/twin"
	"github.com/stampkit/stampkit/shared/twin/suite"
)

func TestRunAllKeepsJobOrder(t *testing.T) {
	cfg := twin.DefaultConfig()
	jobs, err := suite.Jobs(cfg, 1, []string{suite.Step, suite.Spike}, []string{suite.TargetTracking, suite.StepScaling, suite.Stampkit})
	if err != nil {
		t.Fatal(err)
	}
	for i := range jobs {
		jobs[i].Scenario.Trace.Rates = jobs[i].Scenario.Trace.Rates[:int(time.Hour/cfg.Step)]
	}
	var seen []int
	runs, err := suite.RunAll(t.Context(), cfg, jobs, func(done, total int, _ suite.Run) {
		if total != len(jobs) {
			t.Errorf("progress total %d, want %d", total, len(jobs))
		}
		seen = append(seen, done)
	})
	if err != nil {
		t.Fatalf("RunAll: %v", err)
	}
	var got []string
	for _, r := range runs {
		got = append(got, r.Result.Scenario+"/"+r.Result.Policy)
	}
	want := []string{"step/target-tracking", "step/step", "step/stampkit", "spike/target-tracking", "spike/step", "spike/stampkit"}
	if !slices.Equal(got, want) {
		t.Errorf("runs in order %v, want %v", got, want)
	}
	if !slices.Equal(seen, []int{1, 2, 3, 4, 5, 6}) {
		t.Errorf("progress counted %v, want 1..6", seen)
	}
}

func TestRunAllStopsWhenCancelled(t *testing.T) {
	cfg := twin.DefaultConfig()
	jobs, err := suite.Jobs(cfg, 1, []string{suite.Step}, suite.PolicyNames())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := suite.RunAll(ctx, cfg, jobs, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("RunAll on a cancelled context = %v, want context.Canceled", err)
	}
}

func TestUnknownNames(t *testing.T) {
	cfg := twin.DefaultConfig()
	if _, err := suite.Policy("magic", cfg); err == nil {
		t.Error("unknown policy: got no error")
	}
	if _, err := suite.Jobs(cfg, 1, []string{"nope"}, suite.PolicyNames()); err == nil {
		t.Error("unknown scenario: got no error")
	}
	for _, name := range suite.Names() {
		if suite.Description(name) == "" {
			t.Errorf("scenario %s has no description", name)
		}
	}
}

func TestDefaultPolicyIsValid(t *testing.T) {
	cfg := twin.DefaultConfig()
	for _, name := range suite.PolicyNames() {
		if _, err := suite.Policy(name, cfg); err != nil {
			t.Errorf("policy %s: %v", name, err)
		}
	}
	for _, target := range []scaling.Target{{CPU: 60}, {CPU: 50, RequestsPerMinute: 3000, LoadBalancer: "app/a/1", TargetGroup: "targetgroup/b/2"}} {
		p := scaling.DefaultPolicy("g", 1, 10, target)
		if err := p.Validate(); err != nil {
			t.Errorf("DefaultPolicy(%+v) is invalid: %v", target, err)
		}
		want := 2
		if target.RequestsPerMinute > 0 {
			want = 3
		}
		if len(p.Rules) != want {
			t.Errorf("DefaultPolicy(%+v) has %d rules, want %d", target, len(p.Rules), want)
		}
		for _, r := range p.Rules {
			if r.Trigger == nil {
				t.Errorf("rule %s declares no alarm", r.Alarm)
			}
		}
	}
}

// TestChaosScenario checks that the chaos scenario is its base's day
// under the default chaos, and that a run with chaos comes with the same
// run without it.
func TestChaosScenario(t *testing.T) {
	cfg := twin.DefaultConfig()
	base, err := suite.Scenario(suite.ChaosBase, cfg, 1)
	if err != nil {
		t.Fatal(err)
	}
	sc, err := suite.Scenario(suite.Chaos, cfg, 1)
	if err != nil {
		t.Fatal(err)
	}
	if sc.Chaos == nil || !slices.Equal(sc.Trace.Rates, base.Trace.Rates) || sc.ImageBuiltAt != base.ImageBuiltAt {
		t.Fatalf("scenario %s is not %s under chaos", sc.Name, base.Name)
	}
	if got := suite.WithChaos(base, twin.DefaultChaos()).Name; got != suite.ChaosBase+"-chaos" {
		t.Errorf("WithChaos names the scenario %q, want %q", got, suite.ChaosBase+"-chaos")
	}
	spike, err := suite.Scenario(suite.Spike, cfg, 1)
	if err != nil {
		t.Fatal(err)
	}
	spike.Trace.Rates = spike.Trace.Rates[:int(time.Hour/cfg.Step)]
	p, err := suite.Policy(suite.Stampkit, cfg)
	if err != nil {
		t.Fatal(err)
	}
	runs, err := suite.RunAll(t.Context(), cfg, []suite.Job{{Scenario: suite.WithChaos(spike, twin.DefaultChaos()), Policy: p}, {Scenario: spike, Policy: p}}, nil)
	if err != nil {
		t.Fatalf("RunAll: %v", err)
	}
	chaotic, clean := runs[0], runs[1]
	if chaotic.Clean == nil || chaotic.Clean.Chaos != nil || len(chaotic.Clean.Faults) != 0 || chaotic.Result.Chaos == nil {
		t.Fatalf("the run with chaos came without its run without chaos: %+v", chaotic)
	}
	if clean.Clean != nil {
		t.Error("a run without chaos came with a second one")
	}
	if chaotic.Clean.Offered != clean.Result.Offered || chaotic.CleanScores != clean.Scores {
		t.Errorf("the run without chaos differs from the same job without chaos: %+v against %+v", chaotic.CleanScores, clean.Scores)
	}
}
