package stamp

import (
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/stampkit/stampkit/infra/stampconfig"
	"github.com/stampkit/stampkit/shared/scaling"
)

// ScalingProps configures one fleet's scaling alarms.
type ScalingProps struct {
	Fleet Fleet
	// Names are the stamp's: each alarm is named Names.ScalingAlarm.
	Names Names
	// Policy is the fleet's declared scaling policy
	// (FleetConfig.ScalingPolicy): trigger dimensions may hold the
	// placeholders, rule alarms are construct ids. It must be valid.
	Policy scaling.Policy
}

// ScalingAlarm is the alarm created from one rule's trigger.
type ScalingAlarm struct {
	// ID is the alarm's construct id, the rule's alarm without placeholders.
	ID        string
	Direction scaling.Direction
	// Rule is the rule bound to the deployed fleet.
	Rule  scaling.Rule
	Alarm awscloudwatch.Alarm
}

// Scaling holds the alarms whose state changes drive the scaler, and the
// policy the scaler reads.
type Scaling interface {
	// Alarms are the alarms created from the rules' triggers, in rule
	// order.
	Alarms() []ScalingAlarm
	// Policy is the declared policy bound to the deployed fleet: trigger
	// dimensions are tokens that resolve at deploy time, alarm names the
	// alarms' own (Names.ScalingAlarm). It is what the scaler reads.
	Policy() scaling.Policy
	// AlarmArns are the ARNs of every rule's alarm, those created here and
	// those a rule without a trigger names: what the scaler's EventBridge
	// rule matches and what it may describe.
	AlarmArns() []*string
}

type scalingAlarms struct {
	alarms []ScalingAlarm
	policy scaling.Policy
	arns   []*string
}

// NewScaling creates one action-less CloudWatch alarm per rule trigger:
// greater than the threshold for a scale-out rule, less than it for a
// scale-in rule, as scaling.Trigger documents. The scaler acts on their
// state changes (via EventBridge) and re-evaluates them on a schedule,
// because an alarm that stays in ALARM emits no further events. Each
// alarm is named Names.ScalingAlarm, which becomes its rule's alarm.
func NewScaling(scope constructs.Construct, id string, props *ScalingProps) Scaling {
	if props == nil {
		panic("NewScaling: props is nil")
	}
	if props.Fleet == nil {
		panic("NewScaling: Fleet is nil")
	}
	if err := CheckStampName(props.Names.Stamp()); err != nil {
		panic(fmt.Sprintf("NewScaling: Names: the stamp's name %v (NamesOf)", err))
	}
	if err := props.Policy.Validate(); err != nil {
		panic(fmt.Sprintf("NewScaling: invalid Policy: %v", err))
	}
	c := constructs.NewConstruct(scope, &id)
	stack := awscdk.Stack_Of(c)
	f := props.Fleet
	vars := map[string]string{
		PlaceholderGroup:        *f.AutoScalingGroup().AutoScalingGroupName(),
		PlaceholderLoadBalancer: *f.LoadBalancerFullName(),
		PlaceholderTargetGroup:  *f.BlueTargetGroup().TargetGroupFullName(),
	}
	peerDims := sideDimensions(props.Policy, f)
	s := &scalingAlarms{}
	s.policy = stampconfig.BindScaling(props.Policy, vars, func(alarmID string, r scaling.Rule) string {
		name := props.Names.ScalingAlarm(f.Name(), alarmID)
		a := newScalingAlarm(c, alarmID, name, f.Name(), r, peerDims[alarmID])
		s.alarms = append(s.alarms, ScalingAlarm{ID: alarmID, Direction: r.Direction, Alarm: a})
		return name
	})
	created := 0
	for _, r := range s.policy.Rules {
		if r.Trigger == nil {
			s.arns = append(s.arns, stack.FormatArn(&awscdk.ArnComponents{
				Service: jsii.String("cloudwatch"), Resource: jsii.String("alarm"),
				ResourceName: jsii.String(r.Alarm), ArnFormat: awscdk.ArnFormat_COLON_RESOURCE_NAME,
			}))
			continue
		}
		s.alarms[created].Rule = r
		s.arns = append(s.arns, s.alarms[created].Alarm.AlarmArn())
		created++
	}
	return s
}

// sideDimensions returns, for a blue/green fleet, the peer side's
// dimensions of each trigger that watches one side (its dimensions name
// the group or the target group), by alarm id. Other fleets and triggers
// get none.
func sideDimensions(p scaling.Policy, f Fleet) map[string]map[string]string {
	if f.PeerGroup() == nil {
		return nil
	}
	peer := map[string]string{
		PlaceholderGroup:        *f.PeerGroup().AutoScalingGroupName(),
		PlaceholderLoadBalancer: *f.LoadBalancerFullName(),
		PlaceholderTargetGroup:  *f.GreenTargetGroup().TargetGroupFullName(),
	}
	out := map[string]map[string]string{}
	for _, r := range p.Rules {
		if r.Trigger == nil {
			continue
		}
		oneSide := false
		dims := make(map[string]string, len(r.Trigger.Dimensions))
		for k, v := range r.Trigger.Dimensions {
			oneSide = oneSide || strings.Contains(v, PlaceholderGroup) || strings.Contains(v, PlaceholderTargetGroup)
			dims[k] = stampconfig.ExpandPlaceholders(v, peer)
		}
		if oneSide {
			out[stampconfig.AlarmID(r.Alarm)] = dims
		}
	}
	return out
}

// bothSides is the expression a blue/green fleet's alarm watches: the
// hotter of the two sides that report, so the side a promotion emptied is
// ignored (one side's metric alone would go silent with it, and with it
// all scaling). FILL reads a silent side as 0 only inside MAX; when
// neither side reports (an agent that stopped, a datapoint not yet
// published) the IF yields no datapoint at all, so the alarm's
// missing-data treatment applies as it would to a plain metric, instead
// of a 0 that a scale-in alarm would take for a breach.
const bothSides = "IF(FILL(blue*0+1, 0) + FILL(green*0+1, 0) > 0, MAX([FILL(blue, 0), FILL(green, 0)]))"

func newScalingAlarm(scope constructs.Construct, id, name, fleet string, r scaling.Rule, peerDims map[string]string) awscloudwatch.Alarm {
	t := r.Trigger
	metric := func(dimensions map[string]string) awscloudwatch.Metric {
		dims := make(map[string]*string, len(dimensions))
		for k, v := range dimensions {
			dims[k] = jsii.String(v)
		}
		return awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
			Namespace:     jsii.String(t.Namespace),
			MetricName:    jsii.String(t.Metric),
			DimensionsMap: &dims,
			Statistic:     jsii.String(t.Statistic),
			Period:        awscdk.Duration_Seconds(jsii.Number(t.Period.Std().Seconds())),
		})
	}
	var watched awscloudwatch.IMetric = metric(t.Dimensions)
	sides := ""
	if peerDims != nil {
		watched = awscloudwatch.NewMathExpression(&awscloudwatch.MathExpressionProps{
			Expression:   jsii.String(bothSides),
			UsingMetrics: &map[string]awscloudwatch.IMetric{"blue": watched, "green": metric(peerDims)},
			Period:       awscdk.Duration_Seconds(jsii.Number(t.Period.Std().Seconds())),
			Label:        jsii.String(t.Metric + ", hotter side"),
		})
		sides = ", the hotter of blue and green"
	}
	op, sign := awscloudwatch.ComparisonOperator_GREATER_THAN_THRESHOLD, ">"
	if r.Direction == scaling.In {
		op, sign = awscloudwatch.ComparisonOperator_LESS_THAN_THRESHOLD, "<"
	}
	return awscloudwatch.NewAlarm(scope, jsii.String(id), &awscloudwatch.AlarmProps{
		AlarmName:          jsii.String(name),
		Metric:             watched,
		Threshold:          jsii.Number(t.Threshold),
		ComparisonOperator: op,
		EvaluationPeriods:  jsii.Number(t.EvaluationPeriods),
		DatapointsToAlarm:  jsii.Number(t.DatapointsToAlarm),
		// No data (an empty group, an agent that stopped, a metrics gap) is
		// neither a reason to add capacity nor to remove it: the alarm
		// returns to OK and the scaler holds.
		TreatMissingData: awscloudwatch.TreatMissingData_NOT_BREACHING,
		AlarmDescription: jsii.String(fmt.Sprintf("stampkit %s scale-%s: %s %s%s %s %g for %d of %d × %v",
			fleet, r.Direction, t.Statistic, t.Metric, sides, sign, t.Threshold, t.DatapointsToAlarm, t.EvaluationPeriods, t.Period)),
	})
}

func (s *scalingAlarms) Alarms() []ScalingAlarm { return slices.Clone(s.alarms) }
func (s *scalingAlarms) Policy() scaling.Policy { return stampconfig.ClonePolicy(s.policy) }
func (s *scalingAlarms) AlarmArns() []*string   { return slices.Clone(s.arns) }
