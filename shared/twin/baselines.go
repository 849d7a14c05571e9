package twin

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/stampkit/stampkit/shared/scaling"
)

// Predefined target tracking metrics (PredefinedMetricType).
const (
	// ASGAverageCPUUtilization is the group's average CPU in percent.
	ASGAverageCPUUtilization = "ASGAverageCPUUtilization"
	// ALBRequestCountPerTarget is the load balancer's requests per target
	// per minute.
	ALBRequestCountPerTarget = "ALBRequestCountPerTarget"
)

// HighResolutionPeriod is the shortest metric period target tracking
// accepts: "Currently the lowest supported interval is 10 seconds"
// (https://docs.aws.amazon.com/autoscaling/ec2/userguide/policy-creating-high-resolution-metrics.html).
const HighResolutionPeriod = 10 * time.Second

// TargetTrackingConfig is one AWS target tracking policy. The zero values
// of Metric, Period, HighDatapoints, LowDatapoints and ScaleInRatio take
// AWS's defaults; DefaultTargetTracking also sets AWS's default warm-up.
type TargetTrackingConfig struct {
	// Metric is ASGAverageCPUUtilization ("" too) or
	// ALBRequestCountPerTarget.
	Metric string
	// TargetValue is the metric value to hold: percent CPU, or requests
	// per target per minute.
	TargetValue float64
	// Period is the metric period: 60 s (zero), or 10 or 30 s for a
	// high-resolution metric. "Currently the lowest supported interval is
	// 10 seconds" and "A metric period greater than 60 isn't supported"
	// (https://docs.aws.amazon.com/autoscaling/ec2/userguide/policy-creating-high-resolution-metrics.html).
	// High-resolution CPU is the CloudWatch agent's cpu_usage_active: the
	// same page points to the agent for EC2 metrics "such as CPU
	// utilization at high resolution", as AWS/EC2 CPUUtilization is at
	// best a one-minute metric. The load balancer publishes
	// RequestCountPerTarget per minute only.
	Period time.Duration
	// Warmup is the instance warm-up: how long after InService an
	// instance's metrics stay out of the aggregate. Without a default
	// instance warmup or a policy's own, AWS falls back to the group's
	// default cooldown, 300 s
	// (https://docs.aws.amazon.com/autoscaling/ec2/userguide/ec2-auto-scaling-default-instance-warmup.html).
	Warmup time.Duration
	// DisableScaleIn leaves the low alarm without effect: the policy only
	// scales out.
	DisableScaleIn bool
	// HighDatapoints and LowDatapoints are the datapoints (out of as many)
	// the high and low alarms need: AWS creates them with 3 and 15 (zero).
	HighDatapoints, LowDatapoints int
	// ScaleInRatio is the low alarm's threshold as a share of the target:
	// 0.9 (zero), "usually more than 10 %" below it.
	ScaleInRatio float64
}

// DefaultTargetTracking is target tracking at target percent CPU on the
// one-minute metric, with the 300 s warm-up AWS falls back to.
func DefaultTargetTracking(target float64) TargetTrackingConfig {
	return TargetTrackingConfig{Metric: ASGAverageCPUUtilization, TargetValue: target, Period: time.Minute, Warmup: 300 * time.Second}
}

// withDefaults fills in AWS's defaults.
func (c TargetTrackingConfig) withDefaults() TargetTrackingConfig {
	if c.Metric == "" {
		c.Metric = ASGAverageCPUUtilization
	}
	if c.Period == 0 {
		c.Period = time.Minute
	}
	if c.HighDatapoints == 0 {
		c.HighDatapoints = 3
	}
	if c.LowDatapoints == 0 {
		c.LowDatapoints = 15
	}
	if c.ScaleInRatio == 0 {
		c.ScaleInRatio = 0.9
	}
	return c
}

// spec is the CloudWatch metric the policy's alarms watch, and what the
// twin simulates of it. CPU is the aggregate over warmed-up instances:
// "how long after an instance reaches the InService state it waits before
// contributing usage data to the aggregated metrics" (default instance
// warmup page). The docs do not say whether that holds for the agent's
// metric too; the twin treats it as the predefined one, the kinder reading.
func (c TargetTrackingConfig) spec(s *sim) (MetricSpec, metricKind, error) {
	group := map[string]string{"AutoScalingGroupName": s.cfg.Group}
	var spec MetricSpec
	switch c.Metric {
	case ASGAverageCPUUtilization:
		if c.TargetValue <= 0 || c.TargetValue >= 100 {
			return spec, 0, fmt.Errorf("target value %g must be in (0, 100) percent CPU", c.TargetValue)
		}
		spec = MetricSpec{Namespace: "AWS/EC2", Name: "CPUUtilization", Dimensions: group, Statistic: "Average", Period: c.Period}
		if c.Period < time.Minute {
			spec.Namespace, spec.Name = "CWAgent", "cpu_usage_active"
		}
	case ALBRequestCountPerTarget:
		if c.TargetValue <= 0 {
			return spec, 0, fmt.Errorf("target value %g requests per target must be positive", c.TargetValue)
		}
		tg := TargetGroupARN[strings.LastIndex(TargetGroupARN, ":")+1:]
		spec = MetricSpec{Namespace: "AWS/ApplicationELB", Name: "RequestCountPerTarget", Dimensions: map[string]string{"TargetGroup": tg}, Statistic: "Sum", Period: c.Period}
	default:
		return spec, 0, fmt.Errorf("metric %q is not %s or %s", c.Metric, ASGAverageCPUUtilization, ALBRequestCountPerTarget)
	}
	if c.Period != HighResolutionPeriod && c.Period != 30*time.Second && c.Period != time.Minute {
		return spec, 0, fmt.Errorf("metric period %v is not 10 s, 30 s or 60 s", c.Period)
	}
	if c.Warmup < 0 || c.HighDatapoints < 1 || c.LowDatapoints < 1 || c.ScaleInRatio <= 0 || c.ScaleInRatio > 1 {
		return spec, 0, fmt.Errorf("warm-up %v, datapoints %d and %d, scale-in ratio %g: need warm-up >= 0, datapoints >= 1, ratio in (0, 1]", c.Warmup, c.HighDatapoints, c.LowDatapoints, c.ScaleInRatio)
	}
	kind, err := kindOf(spec)
	if err != nil {
		return spec, 0, err
	}
	if kind == cpuAll {
		kind = cpuWarm
	}
	return spec, kind, nil
}

type targetTracking struct{ cs []TargetTrackingConfig }

// TargetTracking models Amazon EC2 Auto Scaling's target tracking policy as
// AWS documents it:
//
//   - Auto Scaling creates two CloudWatch alarms on the metric
//     (https://docs.aws.amazon.com/autoscaling/ec2/userguide/as-scaling-target-tracking.html):
//     a high alarm at 3 of 3 datapoints above the target and a low alarm at
//     15 of 15 below 90 % of it. Scale-in waits for the metric to fall
//     "sufficiently below the target (usually more than 10 %)"
//     (https://docs.aws.amazon.com/autoscaling/application/userguide/target-tracking-scaling-policy-overview.html).
//     For a high-resolution metric (a 10 or 30 s period) the pages say
//     nothing of the alarms' datapoints; the twin keeps 3 and 15 datapoints
//     of the shorter period, which detects a breach in 30 s at 10 s: the
//     reading kinder to the policy.
//   - Capacity follows the metric proportionally: the new capacity is
//     ceil(current × metric / target), more the higher the metric; it
//     scales out "as soon as possible" and in only conservatively.
//   - An alarm that stays in ALARM runs the policy again at every
//     evaluation: once a period.
//   - Instance warm-up (https://docs.aws.amazon.com/autoscaling/ec2/userguide/ec2-auto-scaling-default-instance-warmup.html):
//     an instance's metrics join the aggregate only once it has been
//     InService for the warm-up; while instances warm up, "dynamic scaling
//     policies scale out only if the metric value from instances that are
//     not warming up is greater than the target", the warming instances
//     count as current capacity when deciding how many to add, and scale-in
//     is blocked until they finish.
//   - With DisableScaleIn the policy never scales in.
func TargetTracking(c TargetTrackingConfig) Autoscaler {
	return targetTracking{cs: []TargetTrackingConfig{c}}
}

// TargetTrackingPolicies is several target tracking policies on one group,
// each on its own metric, combined as Auto Scaling combines them: "it will
// scale out the Auto Scaling group if any of the target tracking policies
// are ready for scale out, but will scale in only if all of the target
// tracking policies (with the scale-in portion enabled) are ready to scale
// in" (as-scaling-target-tracking.html, "Multiple target tracking scaling
// policies"). The warm-up is the group's: the policies must agree on it.
func TargetTrackingPolicies(cs ...TargetTrackingConfig) Autoscaler { return targetTracking{cs: cs} }

func (targetTracking) Name() string { return "target-tracking" }

// TargetTrackingAlarms returns the names of the alarms target tracking
// creates for group, high then low: those of its first policy.
func TargetTrackingAlarms(group string) (high, low string) {
	return "TargetTracking-" + group + "-AlarmHigh", "TargetTracking-" + group + "-AlarmLow"
}

// ttPolicy is one attached target tracking policy.
type ttPolicy struct {
	c         TargetTrackingConfig
	kind      metricKind
	high, low *watched
}

func (t targetTracking) attach(s *sim) error {
	if len(t.cs) == 0 {
		return errors.New("target tracking: no policy")
	}
	ps := make([]*ttPolicy, len(t.cs))
	var errs []error
	for i, c := range t.cs {
		c = c.withDefaults()
		spec, kind, err := c.spec(s)
		if err != nil {
			errs = append(errs, fmt.Errorf("policy %d: %w", i+1, err))
			continue
		}
		if c.Warmup != t.cs[0].Warmup {
			errs = append(errs, fmt.Errorf("policy %d: warm-up %v differs from the group's %v", i+1, c.Warmup, t.cs[0].Warmup))
		}
		p := &ttPolicy{c: c, kind: kind}
		ps[i] = p
		highName, lowName := TargetTrackingAlarms(s.cfg.Group)
		if i > 0 {
			highName, lowName = fmt.Sprintf("TargetTracking-%s-%d-AlarmHigh", s.cfg.Group, i+1), fmt.Sprintf("TargetTracking-%s-%d-AlarmLow", s.cfg.Group, i+1)
		}
		high := NewAlarm(highName, GreaterThanThreshold, c.TargetValue, c.HighDatapoints, c.HighDatapoints)
		low := NewAlarm(lowName, LessThanThreshold, c.ScaleInRatio*c.TargetValue, c.LowDatapoints, c.LowDatapoints)
		var err1, err2 error
		p.high, err1 = s.cw.addAlarm(high, spec, kind, func(w *watched, _ bool) {
			if w.state == scaling.StateAlarm {
				scaleOutTo(s, p, w.newest())
			}
		})
		p.low, err2 = s.cw.addAlarm(low, spec, kind, func(w *watched, _ bool) {
			if w.state == scaling.StateAlarm && !p.c.DisableScaleIn {
				scaleInTo(s, ps)
			}
		})
		errs = append(errs, err1, err2)
	}
	s.cw.warmup = t.cs[0].Warmup
	return errors.Join(errs...)
}

// measured is how many instances the policy's metric averages over: the
// warmed-up InService instances for CPU, the targets that took the last
// step's traffic for the request count.
func (p *ttPolicy) measured(f *fleet) int {
	if p.kind == requestsPerTarget {
		return len(f.targets)
	}
	return warmed(f, p.c.Warmup)
}

// warmed counts the InService instances past warmup: the group's current
// capacity as dynamic scaling sees it.
func warmed(f *fleet, warmup time.Duration) int {
	n := 0
	for _, in := range f.live {
		if in.isInService() && f.s.now-in.inService >= warmup {
			n++
		}
	}
	return n
}

// scaleOutTo runs p's high alarm action. The metric measures the load on
// the instances it averages over; warming instances already count towards
// the capacity that load needs, so a repeated breach adds only what goes
// beyond desired.
func scaleOutTo(s *sim, p *ttPolicy, metric float64) {
	f := s.serving()
	n := p.measured(f)
	if n <= 0 {
		return
	}
	want := min(int(math.Ceil(float64(n)*metric/p.c.TargetValue-1e-9)), f.max)
	if want > f.desired {
		_ = f.setDesired(want, "target-tracking", fmt.Sprintf("%s: %s %.3g on %d instances vs target %g", p.high.Name, p.c.Metric, metric, n, p.c.TargetValue))
	}
}

// scaleInTo scales in when every policy with scale-in enabled has its low
// alarm in ALARM, to the largest capacity any of them asks for. Scale-in
// waits for instances warming up (launching ones included), and only for
// them: "this blocks dynamic scaling scale in activities until the new
// instance warmup completes"
// (https://docs.aws.amazon.com/autoscaling/ec2/userguide/ec2-auto-scaling-default-instance-warmup.html);
// an instance draining after a scale-in does not hold the next one.
func scaleInTo(s *sim, ps []*ttPolicy) {
	f := s.serving()
	if f.warming(ps[0].c.Warmup) > 0 {
		return
	}
	want, why := f.min, "at minimum capacity"
	for _, p := range ps {
		if p.c.DisableScaleIn {
			continue
		}
		if p.low.state != scaling.StateAlarm {
			return
		}
		n := p.measured(f)
		metric := p.low.newest()
		if w := int(math.Ceil(float64(n)*metric/p.c.TargetValue - 1e-9)); w >= want {
			want, why = w, fmt.Sprintf("%s: %s %.3g on %d instances vs target %g", p.low.Name, p.c.Metric, metric, n, p.c.TargetValue)
		}
	}
	if want < f.desired {
		_ = f.setDesired(want, "target-tracking", why)
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

type named struct {
	Autoscaler
	name string
}

func (n named) Name() string { return n.name }

// Named is a under another name, for results and reports that compare
// several settings of one policy.
func Named(name string, a Autoscaler) Autoscaler { return named{Autoscaler: a, name: name} }
