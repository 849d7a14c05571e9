package main

import (
	"fmt"
	"slices"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// ScalingProps configures one fleet's scaling alarms.
type ScalingProps struct {
	Fleet  Fleet
	Alarms []AlarmConfig
}

// ScalingAlarm is one alarm with the direction it scales the fleet.
type ScalingAlarm struct {
	ID        string
	Direction string
	Alarm     awscloudwatch.Alarm
}

// Scaling holds the alarms whose state changes drive the scaler.
type Scaling interface {
	Alarms() []ScalingAlarm
}

type scaling struct {
	alarms []ScalingAlarm
}

var comparisonOperators = map[string]awscloudwatch.ComparisonOperator{
	"GreaterThanOrEqualToThreshold": awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
	"GreaterThanThreshold":          awscloudwatch.ComparisonOperator_GREATER_THAN_THRESHOLD,
	"LessThanThreshold":             awscloudwatch.ComparisonOperator_LESS_THAN_THRESHOLD,
	"LessThanOrEqualToThreshold":    awscloudwatch.ComparisonOperator_LESS_THAN_OR_EQUAL_TO_THRESHOLD,
}

// NewScaling creates an action-less CloudWatch alarm per AlarmConfig on the
// fleet's Auto Scaling group dimension. The scaler acts on their state
// changes (via EventBridge) and re-evaluates them on a schedule, because an
// alarm that stays in ALARM emits no further events.
func NewScaling(scope constructs.Construct, id string, props *ScalingProps) Scaling {
	if props == nil {
		panic("NewScaling: props is nil")
	}
	if props.Fleet == nil {
		panic("NewScaling: Fleet is nil")
	}
	if len(props.Alarms) == 0 {
		panic("NewScaling: Alarms is empty")
	}
	c := constructs.NewConstruct(scope, &id)
	group := props.Fleet.AutoScalingGroup().AutoScalingGroupName()
	s := &scaling{}
	for _, a := range props.Alarms {
		op, ok := comparisonOperators[a.Comparison]
		if !ok {
			panic(fmt.Sprintf("NewScaling: Alarms[%s].Comparison %q is unknown", a.ID, a.Comparison))
		}
		metric := awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
			Namespace:     jsii.String(a.Namespace),
			MetricName:    jsii.String(a.MetricName),
			DimensionsMap: &map[string]*string{"AutoScalingGroupName": group},
			Statistic:     jsii.String(a.Statistic),
			Period:        awscdk.Duration_Seconds(jsii.Number(a.PeriodSeconds)),
		})
		alarm := awscloudwatch.NewAlarm(c, jsii.String(a.ID), &awscloudwatch.AlarmProps{
			Metric:             metric,
			Threshold:          jsii.Number(a.Threshold),
			ComparisonOperator: op,
			EvaluationPeriods:  jsii.Number(a.EvaluationPeriods),
			DatapointsToAlarm:  jsii.Number(a.DatapointsToAlarm),
			// No data (an empty group, a metrics gap) must not move capacity.
			TreatMissingData: awscloudwatch.TreatMissingData_NOT_BREACHING,
			AlarmDescription: jsii.String(fmt.Sprintf("stampkit %s scale-%s: %s %s %s %g",
				props.Fleet.Name(), a.Direction, a.Statistic, a.MetricName, a.Comparison, a.Threshold)),
		})
		s.alarms = append(s.alarms, ScalingAlarm{ID: a.ID, Direction: a.Direction, Alarm: alarm})
	}
	return s
}

func (s *scaling) Alarms() []ScalingAlarm { return slices.Clone(s.alarms) }
