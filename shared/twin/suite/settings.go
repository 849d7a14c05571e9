package suite

import (
	"fmt"
	"slices"
	"strings"

	"github.com/stampkit/stampkit/shared/scaling"
	"github.com/stampkit/stampkit/shared/twin"
)

// Policies compare runs beside the demo's.
const (
	// TargetTrackingHires is the best fair target tracking: CPU at 10 s
	// from the CloudWatch agent with ALB request count per target at its
	// one-minute period, one target utilisation, stampkit's warm-up.
	TargetTrackingHires = "target-tracking-hires"
	// PredictiveTargetTracking is predictive scaling (ForecastAndScale on
	// the ALB request count) under TargetTrackingHires.
	PredictiveTargetTracking = "predictive+target-tracking"
)

// BestBaseline is the baseline the headline is cost-matched against.
const BestBaseline = PredictiveTargetTracking

// Setting is one configuration of a policy, for stampkit compare.
type Setting struct {
	// Policy is the stable policy name (ComparePolicies).
	Policy string
	// Setting is stable, short, human-readable, without spaces: "target=60"
	// or "high=65,low=48".
	Setting string
	// Default marks the policy's documented default (stampkit: its shipped
	// default).
	Default    bool
	Autoscaler twin.Autoscaler
}

// ComparePolicies lists the policies compare runs, stampkit first.
func ComparePolicies() []string {
	return []string{Stampkit, TargetTracking, TargetTrackingHires, StepScaling, PredictiveTargetTracking}
}

// sweep is the CPU targets every policy's main knob is swept over, from
// cheap (a high target: fewer instances, more SLO risk) to expensive.
var sweep = []float64{80, 75, 70, 65, 60, 55, 50, 45, 40, 35}

// Settings returns the policy's settings for cfg: its default first, at
// the twin's target CPU (TargetCPU), then its target swept from cheap to
// expensive. Every policy sweeps the CPU target; step scaling's
// thresholds follow it as stampkit's do (high at target+5, low at 80 % of
// it), and the request-count targets are the requests an instance serves
// at that CPU.
func Settings(policy string, cfg twin.Config) ([]Setting, error) {
	if !slices.Contains(ComparePolicies(), policy) {
		return nil, fmt.Errorf("unknown policy %q (have %s)", policy, strings.Join(ComparePolicies(), ", "))
	}
	deflt := TargetCPU(cfg)
	targets := []float64{deflt}
	for _, t := range sweep {
		if t != deflt {
			targets = append(targets, t)
		}
	}
	out := make([]Setting, 0, len(targets))
	for i, target := range targets {
		st := Setting{Policy: policy, Setting: fmt.Sprintf("target=%g", target), Default: i == 0, Autoscaler: autoscaler(policy, cfg, target)}
		if policy == StepScaling {
			st.Setting = stepSetting(stepScaling(cfg, target))
		}
		out = append(out, st)
	}
	return out, nil
}

// autoscaler is the named policy (one of ComparePolicies) aiming at
// target percent CPU.
func autoscaler(policy string, cfg twin.Config, target float64) twin.Autoscaler {
	switch policy {
	case Stampkit:
		return twin.Stampkit(stampkitPolicy(cfg, target))
	case TargetTracking:
		return twin.TargetTracking(twin.DefaultTargetTracking(target))
	case TargetTrackingHires:
		return twin.Named(TargetTrackingHires, twin.TargetTrackingPolicies(hires(cfg, target)...))
	case StepScaling:
		return twin.StepScaling(stepScaling(cfg, target))
	case PredictiveTargetTracking:
		p := twin.DefaultPredictive(twin.ALBRequestCount, requestsPerMinute(cfg, target))
		return twin.Named(PredictiveTargetTracking, twin.Predictive(p, twin.TargetTrackingPolicies(hires(cfg, target)...)))
	}
	return nil
}

// hires is TargetTrackingHires at target percent CPU: the agent's CPU at
// 10 s and the request count per target at its one-minute period, both
// with stampkit's warm-up.
func hires(cfg twin.Config, target float64) []twin.TargetTrackingConfig {
	warmup := stampkitPolicy(cfg, target).Warmup.Std()
	cpu := twin.DefaultTargetTracking(target)
	cpu.Period, cpu.Warmup = twin.HighResolutionPeriod, warmup
	rc := twin.DefaultTargetTracking(requestsPerMinute(cfg, target))
	rc.Metric, rc.Warmup = twin.ALBRequestCountPerTarget, warmup
	return []twin.TargetTrackingConfig{cpu, rc}
}

// stepSetting names a step scaling setting by its CPU thresholds:
// "high=65,low=48".
func stepSetting(c twin.StepScalingConfig) string {
	var parts []string
	for _, r := range c.Rules {
		if r.Trigger == nil || r.Trigger.Metric != "cpu_usage_active" {
			continue
		}
		side := "high"
		if r.Direction == scaling.In {
			side = "low"
		}
		parts = append(parts, fmt.Sprintf("%s=%g", side, r.Trigger.Threshold))
	}
	return strings.Join(parts, ",")
}
