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
