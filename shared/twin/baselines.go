package twin

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// TargetTrackingConfig is an AWS target tracking policy on the group's
// average CPU utilisation (ASGAverageCPUUtilization).
type TargetTrackingConfig struct {
	// TargetValue is the CPU utilisation to hold, in percent.
	TargetValue float64
	// Warmup is the instance warm-up; AWS falls back to the group's default
	// cooldown, 300 s, when none is set.
	Warmup time.Duration
}

// DefaultTargetTracking is target tracking at target percent CPU with the
// default 300 s warm-up.
func DefaultTargetTracking(target float64) TargetTrackingConfig {
	return TargetTrackingConfig{TargetValue: target, Warmup: 300 * time.Second}
}

type targetTracking struct{ c TargetTrackingConfig }

// TargetTracking models Amazon EC2 Auto Scaling's target tracking policy as
// AWS documents it:
//
//   - Auto Scaling creates two CloudWatch alarms on the one-minute metric
//     (https://docs.aws.amazon.com/autoscaling/ec2/userguide/as-scaling-target-tracking.html):
//     a high alarm at 3 of 3 datapoints above the target and a low alarm at
//     15 of 15 below 90 % of it. Scale-in waits for the metric to fall
//     "sufficiently below the target (usually more than 10 %)"
//     (https://docs.aws.amazon.com/autoscaling/application/userguide/target-tracking-scaling-policy-overview.html).
//   - Capacity follows the metric proportionally: the new capacity is
//     ceil(current × metric / target), more the higher the metric; it
//     scales out "as soon as possible" and in only conservatively.
//   - An alarm that stays in ALARM runs the policy again at every
//     evaluation, once a minute.
//   - Instance warm-up (https://docs.aws.amazon.com/autoscaling/ec2/userguide/ec2-auto-scaling-default-instance-warmup.html):
//     an instance's metrics join the aggregate only once it has been
//     InService for the warm-up; while instances warm up, "dynamic scaling
//     policies scale out only if the metric value from instances that are
//     not warming up is greater than the target", the warming instances
//     count as current capacity when deciding how many to add, and scale-in
//     is blocked until they finish.
func TargetTracking(c TargetTrackingConfig) Autoscaler { return targetTracking{c: c} }

func (targetTracking) Name() string { return "target-tracking" }

// TargetTrackingAlarms returns the names of the alarms target tracking
// creates for group, high then low.
func TargetTrackingAlarms(group string) (high, low string) {
	return "TargetTracking-" + group + "-AlarmHigh", "TargetTracking-" + group + "-AlarmLow"
}

func (t targetTracking) attach(s *sim) error {
	if t.c.TargetValue <= 0 || t.c.TargetValue >= 100 || t.c.Warmup < 0 {
		return fmt.Errorf("target value %g must be in (0, 100) and warm-up %v not negative", t.c.TargetValue, t.c.Warmup)
	}
	s.cw.warmup = t.c.Warmup
	spec := MetricSpec{Namespace: "AWS/EC2", Name: "CPUUtilization", Dimensions: map[string]string{"AutoScalingGroupName": s.cfg.Group}, Statistic: "Average", Period: time.Minute}
	highName, lowName := TargetTrackingAlarms(s.cfg.Group)
	high := NewAlarm(highName, GreaterThanThreshold, t.c.TargetValue, 3, 3)
	low := NewAlarm(lowName, LessThanThreshold, 0.9*t.c.TargetValue, 15, 15)
	_, err1 := s.cw.addAlarm(high, spec, cpuWarm, func(w *watched, _ bool) {
		if w.state == "ALARM" {
			t.scaleOut(s, w.newest())
		}
	})
	_, err2 := s.cw.addAlarm(low, spec, cpuWarm, func(w *watched, _ bool) {
		if w.state == "ALARM" {
			t.scaleIn(s, w.newest())
		}
	})
	return errors.Join(err1, err2)
}

func (t targetTracking) scaleOut(s *sim, metric float64) {
	f := s.serving()
	g := f.capacity()
	// The metric is the average over warmed-up instances, so it measures
	// the load on them; warming instances already count towards the
	// capacity that load needs.
	warm := g.InService - f.warming(t.c.Warmup)
	if warm <= 0 {
		return
	}
	want := min(int(math.Ceil(float64(warm)*metric/t.c.TargetValue-1e-9)), f.max)
	if want > f.desired {
		_ = f.setDesired(want, t.Name(), fmt.Sprintf("%s: metric %.3g on %d warm instances vs target %g", "AlarmHigh", metric, warm, t.c.TargetValue))
	}
}

func (t targetTracking) scaleIn(s *sim, metric float64) {
	f := s.serving()
	if f.warming(t.c.Warmup) > 0 || f.busy() {
		return
	}
	g := f.capacity()
	want := max(int(math.Ceil(float64(g.InService)*metric/t.c.TargetValue-1e-9)), f.min)
	if want < f.desired {
		_ = f.setDesired(want, t.Name(), fmt.Sprintf("%s: metric %.3g on %d instances vs target %g", "AlarmLow", metric, g.InService, t.c.TargetValue))
	}
}

// SimpleScalingConfig is a pair of AWS simple scaling policies on the
// group's average CPU, each with its own alarm on one-minute datapoints.
type SimpleScalingConfig struct {
	// High and Low are the alarm thresholds in percent CPU; HighPeriods and
	// LowPeriods the datapoints (out of as many) that must breach.
	High, Low               float64
	HighPeriods, LowPeriods int
	// Adjustment is the instances added or removed per activity.
	Adjustment int
	// Cooldown follows each completed activity.
	Cooldown time.Duration
}

// DefaultSimpleScaling is the classic pair: +1 when CPU is above target+10
// for two minutes, -1 when it is below target-20 for five, with the
// group's default 300 s cooldown.
func DefaultSimpleScaling(target float64) SimpleScalingConfig {
	return SimpleScalingConfig{High: target + 10, Low: target - 20, HighPeriods: 2, LowPeriods: 5, Adjustment: 1, Cooldown: 300 * time.Second}
}

type simpleScaling struct{ c SimpleScalingConfig }

// SimpleScaling models Amazon EC2 Auto Scaling's simple scaling policies
// (https://docs.aws.amazon.com/autoscaling/ec2/userguide/as-scaling-simple-step.html):
// when an alarm is in ALARM the policy changes capacity by a fixed
// adjustment, then "must wait for the scaling activity or health check
// replacement to complete and the cooldown period to expire before
// responding to additional alarms". Its alarms are on the group's plain
// CPU aggregate, which includes instances still starting.
func SimpleScaling(c SimpleScalingConfig) Autoscaler { return simpleScaling{c: c} }

func (simpleScaling) Name() string { return "step" }

func (p simpleScaling) attach(s *sim) error {
	c := p.c
	if c.Adjustment < 1 || c.HighPeriods < 1 || c.LowPeriods < 1 || c.Low >= c.High || c.Cooldown < 0 {
		return fmt.Errorf("simple scaling: need adjustment, periods >= 1, low %g < high %g, cooldown >= 0", c.Low, c.High)
	}
	spec := MetricSpec{Namespace: "AWS/EC2", Name: "CPUUtilization", Dimensions: map[string]string{"AutoScalingGroupName": s.cfg.Group}, Statistic: "Average", Period: time.Minute}
	high := NewAlarm(s.cfg.Group+"-cpu-high", GreaterThanThreshold, c.High, c.HighPeriods, c.HighPeriods)
	low := NewAlarm(s.cfg.Group+"-cpu-low", LessThanThreshold, c.Low, c.LowPeriods, c.LowPeriods)
	act := func(delta int) func(*watched, bool) {
		return func(w *watched, _ bool) {
			f := s.serving()
			if w.state != "ALARM" || f.busy() || s.now < f.lastActivityDone+c.Cooldown {
				return
			}
			want := min(max(f.desired+delta, f.min), f.max)
			if want != f.desired {
				_ = f.setDesired(want, p.Name(), fmt.Sprintf("%s in ALARM at %.3g: %+d", w.Name, w.newest(), delta))
				// The activity starts now; its end (an instance InService or
				// terminated) moves lastActivityDone, and the cooldown runs
				// from there.
				f.lastActivityDone = s.now
			}
		}
	}
	_, err1 := s.cw.addAlarm(high, spec, cpuAll, act(c.Adjustment))
	_, err2 := s.cw.addAlarm(low, spec, cpuAll, act(-c.Adjustment))
	return errors.Join(err1, err2)
}
