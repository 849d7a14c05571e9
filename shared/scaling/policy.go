// Package scaling decides how many instances a fleet should run, from the
// state of its scaling alarms. It is pure: no I/O, no SDK types, and time is
// passed in, so the Lambda, the tests and the local twin get the same answer
// for the same inputs.
package scaling

import (
	"errors"
	"fmt"
	"time"

	"github.com/stampkit/stampkit/shared/clock"
)

// Direction says which way a rule moves capacity.
type Direction string

// Directions.
const (
	Out Direction = "out"
	In  Direction = "in"
)

// AdjustmentType says how a step's Adjustment is applied, with the meanings
// of the Auto Scaling API's adjustment types.
type AdjustmentType string

// Adjustment types.
const (
	ChangeInCapacity        AdjustmentType = "ChangeInCapacity"
	PercentChangeInCapacity AdjustmentType = "PercentChangeInCapacity"
	ExactCapacity           AdjustmentType = "ExactCapacity"
)

// Step applies when the metric is at least Lower and less than Upper metric
// units past the alarm threshold (Upper 0 means no upper bound). Adjustment
// is a magnitude: the rule's direction gives the sign, except for
// ExactCapacity, where it is the capacity itself.
type Step struct {
	// Lower is where the step starts, in metric units past the threshold;
	// the first step starts at 0.
	Lower float64 `json:"lower"`
	// Upper is where the next step starts; the last step has none (0).
	Upper float64 `json:"upper,omitempty"`
	// Adjustment is the change: a magnitude, or the capacity itself for
	// ExactCapacity.
	Adjustment int `json:"adjustment"`
}

// Trigger declares the CloudWatch alarm behind a rule, so that the CDK app
// creates the alarm and the local twin simulates it from the same source.
// The comparison follows the rule's direction: greater than the threshold
// to scale out, less than it to scale in.
type Trigger struct {
	// Namespace is the metric's CloudWatch namespace ("AWS/EC2",
	// "CWAgent").
	Namespace string `json:"namespace"`
	// Metric is the metric's name ("CPUUtilization").
	Metric string `json:"metric"`
	// Dimensions select the metric's series, by dimension name.
	Dimensions map[string]string `json:"dimensions,omitempty"`
	// Statistic is what the alarm reads of each period ("Average",
	// "Sum", "Maximum", "p99").
	Statistic string `json:"statistic"`
	// Period is 10 s, 30 s (high-resolution metrics) or a multiple of 60 s.
	Period clock.Duration `json:"period"`
	// EvaluationPeriods is how many recent periods the alarm looks at, and
	// DatapointsToAlarm how many of them must breach ("M of N").
	EvaluationPeriods int `json:"evaluationPeriods"`
	DatapointsToAlarm int `json:"datapointsToAlarm"`
	// Threshold is the value the metric is compared with: above it scales
	// out, below it scales in.
	Threshold float64 `json:"threshold"`
}

func (t Trigger) validate() error {
	var errs []error
	if t.Namespace == "" || t.Metric == "" || t.Statistic == "" {
		errs = append(errs, errors.New("namespace, metric and statistic are required"))
	}
	if p := t.Period.Std(); p != 10*time.Second && p != 30*time.Second && (p <= 0 || p%time.Minute != 0) {
		errs = append(errs, fmt.Errorf("period %v is not 10s, 30s or a multiple of 1m", t.Period))
	}
	if t.EvaluationPeriods < 1 || t.DatapointsToAlarm < 1 || t.DatapointsToAlarm > t.EvaluationPeriods {
		errs = append(errs, fmt.Errorf("need 1 <= datapointsToAlarm (%d) <= evaluationPeriods (%d)", t.DatapointsToAlarm, t.EvaluationPeriods))
	}
	return errors.Join(errs...)
}

// Rule ties one CloudWatch alarm to a direction and a step table.
type Rule struct {
	// Alarm names the CloudWatch alarm whose state changes drive the rule.
	Alarm string `json:"alarm"`
	// Direction is Out or In.
	Direction Direction `json:"direction"`
	// AdjustmentType says how the steps' adjustments apply.
	AdjustmentType AdjustmentType `json:"adjustmentType"`
	// MinAdjustmentMagnitude is the least change a
	// PercentChangeInCapacity step makes.
	MinAdjustmentMagnitude int `json:"minAdjustmentMagnitude,omitempty"`
	// Steps say how much to change by how far the metric is past the
	// threshold, in increasing order without gaps.
	Steps []Step `json:"steps"`
	// Trigger, when set, declares the alarm; without it the alarm is
	// managed elsewhere and only its name is known.
	Trigger *Trigger `json:"trigger,omitempty"`
}

// Policy is one fleet's scaling policy.
type Policy struct {
	// Min and Max bound the capacity the policy sets.
	Min int `json:"min"`
	Max int `json:"max"`
	// ScaleOutCooldown is the least time between two scale-outs.
	ScaleOutCooldown clock.Duration `json:"scaleOutCooldown"`
	// ScaleInCooldown is the least time after any scaling before a scale-in,
	// so that capacity just added is not taken away while it warms up.
	ScaleInCooldown clock.Duration `json:"scaleInCooldown"`
	// Warmup is how long a new instance takes before its metrics count. Until
	// then the instances the last scale-out added are treated as in flight:
	// a repeated breach adds only what goes beyond them.
	Warmup clock.Duration `json:"warmup"`
	// ScaleInHold is how long a scale-in alarm must stay in ALARM before it
	// acts: the hysteresis that keeps a dip from flapping the fleet.
	ScaleInHold clock.Duration `json:"scaleInHold"`
	// MaxStepOut and MaxStepIn cap one change (0: no cap).
	MaxStepOut int `json:"maxStepOut,omitempty"`
	MaxStepIn  int `json:"maxStepIn,omitempty"`
	// Rules tie the fleet's alarms to scaling steps, at least one.
	Rules []Rule `json:"rules"`
	// Forecast, when set, raises capacity ahead of the load the fleet's
	// own history predicts (see Forecast); nil scales on the rules alone.
	Forecast *Forecast `json:"forecast,omitempty"`
}

// IsZero reports whether p declares nothing: a fleet without a scaling
// policy is not scaled by the toolkit.
func (p Policy) IsZero() bool {
	return p.Min == 0 && p.Max == 0 && p.ScaleOutCooldown == 0 && p.ScaleInCooldown == 0 &&
		p.Warmup == 0 && p.ScaleInHold == 0 && p.MaxStepOut == 0 && p.MaxStepIn == 0 && len(p.Rules) == 0 && p.Forecast == nil
}

// Rule returns the rule for alarm.
func (p Policy) Rule(alarm string) (Rule, bool) {
	for _, r := range p.Rules {
		if r.Alarm == alarm {
			return r, true
		}
	}
	return Rule{}, false
}

// Validate reports every problem with p, each naming the field.
func (p Policy) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", field, fmt.Sprintf(format, args...)))
	}
	if p.Min < 0 {
		bad("min", "%d is negative", p.Min)
	}
	if p.Max < 1 || p.Max < p.Min {
		bad("max", "%d must be at least 1 and at least min (%d)", p.Max, p.Min)
	}
	for name, d := range map[string]clock.Duration{
		"scaleOutCooldown": p.ScaleOutCooldown, "scaleInCooldown": p.ScaleInCooldown,
		"warmup": p.Warmup, "scaleInHold": p.ScaleInHold,
	} {
		if d < 0 {
			bad(name, "%v is negative", d)
		}
	}
	if p.MaxStepOut < 0 || p.MaxStepIn < 0 {
		bad("maxStepOut/maxStepIn", "must not be negative")
	}
	if len(p.Rules) == 0 {
		bad("rules", "at least one rule is needed")
	}
	seen := map[string]bool{}
	for i, r := range p.Rules {
		field := fmt.Sprintf("rules[%d]", i)
		if r.Alarm == "" {
			bad(field+".alarm", "is empty")
		} else if seen[r.Alarm] {
			bad(field+".alarm", "%q has two rules", r.Alarm)
		}
		seen[r.Alarm] = true
		if r.Direction != Out && r.Direction != In {
			bad(field+".direction", "%q is not %q or %q", r.Direction, Out, In)
		}
		switch r.AdjustmentType {
		case ChangeInCapacity, PercentChangeInCapacity, ExactCapacity:
		default:
			bad(field+".adjustmentType", "%q is not one of %s, %s, %s", r.AdjustmentType, ChangeInCapacity, PercentChangeInCapacity, ExactCapacity)
		}
		if r.MinAdjustmentMagnitude < 0 {
			bad(field+".minAdjustmentMagnitude", "%d is negative", r.MinAdjustmentMagnitude)
		}
		if err := validateSteps(r); err != nil {
			bad(field+".steps", "%v", err)
		}
		if r.Trigger != nil {
			if err := r.Trigger.validate(); err != nil {
				bad(field+".trigger", "%v", err)
			}
		}
	}
	if p.Forecast != nil {
		if err := p.Forecast.Validate(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func validateSteps(r Rule) error {
	if len(r.Steps) == 0 {
		return errors.New("at least one step is needed")
	}
	if r.Steps[0].Lower != 0 {
		return fmt.Errorf("the first step must start at 0 past the threshold, not %g", r.Steps[0].Lower)
	}
	for i, s := range r.Steps {
		if s.Upper != 0 && s.Upper <= s.Lower {
			return fmt.Errorf("step %d: upper %g must be above lower %g", i, s.Upper, s.Lower)
		}
		last := i == len(r.Steps)-1
		if !last && s.Upper != r.Steps[i+1].Lower {
			return fmt.Errorf("step %d: upper %g must equal the next step's lower %g (no gaps or overlaps)", i, s.Upper, r.Steps[i+1].Lower)
		}
		if last && s.Upper != 0 {
			return fmt.Errorf("the last step must have no upper bound, not %g", s.Upper)
		}
		if r.AdjustmentType == ExactCapacity {
			if s.Adjustment < 0 {
				return fmt.Errorf("step %d: exact capacity %d is negative", i, s.Adjustment)
			}
		} else if s.Adjustment < 1 {
			return fmt.Errorf("step %d: adjustment %d must be a positive magnitude (the direction gives the sign)", i, s.Adjustment)
		}
	}
	return nil
}

// Step picks the step for a metric distance past the threshold. An alarm can
// be in ALARM with its newest datapoint back inside the threshold (M of N
// evaluation), so a negative distance takes the first step.
func (r Rule) Step(distance float64) Step {
	for _, s := range r.Steps {
		if distance < s.Upper || s.Upper == 0 {
			return s
		}
	}
	return r.Steps[len(r.Steps)-1]
}

// target applies r to base for a metric distance past the threshold.
func (r Rule) target(base int, distance float64) int {
	s := r.Step(distance)
	switch r.AdjustmentType {
	case ExactCapacity:
		return s.Adjustment
	case PercentChangeInCapacity:
		// As Auto Scaling does: round the change down, but never below one
		// instance, then apply the minimum magnitude.
		delta := max(base*s.Adjustment/100, 1, r.MinAdjustmentMagnitude)
		return base + r.sign()*delta
	default:
		return base + r.sign()*s.Adjustment
	}
}

func (r Rule) sign() int {
	if r.Direction == In {
		return -1
	}
	return 1
}
