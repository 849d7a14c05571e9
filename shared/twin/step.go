package twin

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/stampkit/stampkit/shared/scaling"
)

// StepScalingConfig is a set of AWS step scaling policies, one per rule:
// each rule's Trigger is the CloudWatch alarm that runs it, its Steps the
// step adjustments (bounds relative to the alarm threshold, as
// scaling.Step has them), its AdjustmentType and MinAdjustmentMagnitude
// the policy's.
type StepScalingConfig struct {
	Rules []scaling.Rule
	// Warmup is the instance warm-up. Without a default instance warmup or
	// a policy's own, AWS falls back to the group's default cooldown, 300 s
	// (https://docs.aws.amazon.com/autoscaling/ec2/userguide/ec2-auto-scaling-default-instance-warmup.html).
	Warmup time.Duration
}

// DefaultStepScaling runs p's rules (its alarms and step tables) as native
// step scaling policies with AWS's fallback warm-up of 300 s; p's
// cooldowns, hold and caps, which step scaling does not have, are left out.
func DefaultStepScaling(p scaling.Policy) StepScalingConfig {
	return StepScalingConfig{Rules: p.Rules, Warmup: 300 * time.Second}
}

type stepScaling struct{ c StepScalingConfig }

// StepScaling models Amazon EC2 Auto Scaling's step scaling policies
// (https://docs.aws.amazon.com/autoscaling/ec2/userguide/as-scaling-simple-step.html):
//
//   - When a rule's alarm is in ALARM the policy applies the step
//     adjustment its breach falls in: the newest datapoint's distance past
//     the threshold. It runs again at every evaluation the alarm stays in
//     ALARM (once a period).
//   - No cooldown: "with step scaling, the policy continues to respond to
//     additional alarms, even while a scaling activity or health check
//     replacement is in progress"
//     (https://docs.aws.amazon.com/autoscaling/ec2/userguide/simple-scaling-policies.html).
//   - Warm-up (default instance warmup page): metrics of warming instances
//     stay out of the aggregate; "while scaling out, Amazon EC2 Auto
//     Scaling considers instances that are warming up as part of the
//     current capacity of the group when deciding how many instances to
//     add", so "multiple alarm breaches that fall in the range of the same
//     step adjustment result in a single scaling activity", and a bigger
//     breach adds only the difference. The adjustment is applied to the
//     current capacity, "instances that have passed their warmup and
//     cooldown periods and are running" (as-scaling-simple-step.html), and
//     the result replaces desired only when larger. Scale-in is blocked
//     until warming instances finish.
//   - PercentChangeInCapacity rounds as that page's "Scaling adjustment
//     types" says: a change above 1 down, one between 0 and 1 up to 1,
//     and MinAdjustmentMagnitude raises it to at least that many.
func StepScaling(c StepScalingConfig) Autoscaler { return stepScaling{c: c} }

func (stepScaling) Name() string { return "step" }

func (p stepScaling) attach(s *sim) error {
	if len(p.c.Rules) == 0 || p.c.Warmup < 0 {
		return fmt.Errorf("step scaling: need rules (have %d) and a warm-up >= 0 (%v)", len(p.c.Rules), p.c.Warmup)
	}
	s.cw.warmup = p.c.Warmup
	var errs []error
	for _, r := range p.c.Rules {
		t := r.Trigger
		if t == nil || len(r.Steps) == 0 {
			errs = append(errs, fmt.Errorf("step scaling rule %s: needs a trigger and steps", r.Alarm))
			continue
		}
		spec := MetricSpec{Namespace: t.Namespace, Name: t.Metric, Dimensions: t.Dimensions, Statistic: t.Statistic, Period: t.Period.Std()}
		kind, err := kindOf(spec)
		if err != nil {
			errs = append(errs, fmt.Errorf("step scaling rule %s: %w", r.Alarm, err))
			continue
		}
		if kind == cpuAll {
			// The group's aggregate leaves warming instances out.
			kind = cpuWarm
		}
		cmp := GreaterThanThreshold
		if r.Direction == scaling.In {
			cmp = LessThanThreshold
		}
		a := NewAlarm(r.Alarm, cmp, t.Threshold, t.EvaluationPeriods, t.DatapointsToAlarm)
		_, err = s.cw.addAlarm(a, spec, kind, func(w *watched, _ bool) {
			if w.state == scaling.StateAlarm {
				p.act(s, r, w)
			}
		})
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// act runs rule r's policy for its alarm's newest datapoint.
func (p stepScaling) act(s *sim, r scaling.Rule, w *watched) {
	f := s.serving()
	warming := f.warming(p.c.Warmup)
	current := warmed(f, p.c.Warmup)
	v := w.newest()
	if r.Direction == scaling.In {
		if warming > 0 {
			return
		}
		want := max(stepTarget(r, current, w.Threshold-v), f.min)
		if want < f.desired {
			_ = f.setDesired(want, p.Name(), fmt.Sprintf("%s at %.3g, %.3g under %g: %d current -> %d", r.Alarm, v, w.Threshold-v, w.Threshold, current, want))
		}
		return
	}
	want := min(stepTarget(r, current, v-w.Threshold), f.max)
	if want > f.desired {
		_ = f.setDesired(want, p.Name(), fmt.Sprintf("%s at %.3g, %.3g past %g: %d current -> %d", r.Alarm, v, v-w.Threshold, w.Threshold, current, want))
	}
}

// stepTarget is the capacity rule r asks for from current capacity, for a
// breach distance past the threshold (in the rule's direction). An alarm
// in ALARM on M of N datapoints may have its newest back inside the
// threshold; it takes the first step.
func stepTarget(r scaling.Rule, current int, distance float64) int {
	st := r.Step(distance)
	sign := 1
	if r.Direction == scaling.In {
		sign = -1
	}
	switch r.AdjustmentType {
	case scaling.ExactCapacity:
		return st.Adjustment
	case scaling.PercentChangeInCapacity:
		change := float64(current*st.Adjustment) / 100
		n := int(math.Floor(change))
		if change > 0 && change < 1 {
			n = 1
		}
		return current + sign*max(n, r.MinAdjustmentMagnitude)
	}
	return current + sign*st.Adjustment
}
