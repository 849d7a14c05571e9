// Package cwalarm adapts CloudWatch alarms: the scaler re-reads the alarms it
// acts on, because EventBridge reports only state changes and an alarm that
// stays in ALARM must still be acted on (see DESIGN.md).
//
// The client speaks CloudWatch's smithy RPC v2 CBOR protocol (the module's
// releases from v1.53), which the local emulator (moto) answers with 404; the
// emulator tests reach moto through awstest's proxy, which translates CBOR to
// the Query API moto serves (awstest/GAPS.md). The module's version is chosen
// by the Lambda size budget alone; go.mod and the README say which and why.
package cwalarm

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
)

// API is the subset of *cloudwatch.Client the adapter calls.
type API interface {
	DescribeAlarms(ctx context.Context, in *cloudwatch.DescribeAlarmsInput, optFns ...func(*cloudwatch.Options)) (*cloudwatch.DescribeAlarmsOutput, error)
	GetMetricData(ctx context.Context, in *cloudwatch.GetMetricDataInput, optFns ...func(*cloudwatch.Options)) (*cloudwatch.GetMetricDataOutput, error)
}

var _ API = (*cloudwatch.Client)(nil)

// Alarm states.
const (
	StateOK               = "OK"
	StateAlarm            = "ALARM"
	StateInsufficientData = "INSUFFICIENT_DATA"
)

// maxNames is the most alarm names DescribeAlarms accepts in one request.
const maxNames = 100

// Adapter calls CloudWatch through an API.
type Adapter struct {
	api API
}

// New returns an Adapter over api, normally a *cloudwatch.Client.
func New(api API) *Adapter {
	return &Adapter{api: api}
}

// Alarm is a metric or composite alarm's current state. The metric fields are
// zero for a composite alarm.
type Alarm struct {
	Name        string
	ARN         string
	Composite   bool
	State       string // StateOK, StateAlarm or StateInsufficientData
	StateReason string
	// StateReasonData is the JSON CloudWatch attaches to a metric alarm's
	// state: the recent datapoints and the threshold.
	StateReasonData string
	// StateUpdated is the last update of the state or its reason;
	// StateTransitioned the last change of the state value itself, the
	// instant that keys an alarm-driven effect.
	StateUpdated       time.Time
	StateTransitioned  time.Time
	Namespace          string
	MetricName         string
	Threshold          float64
	ComparisonOperator string // e.g. "GreaterThanThreshold"
	Period             time.Duration
	EvaluationPeriods  int32
	DatapointsToAlarm  int32
}

// Alarms reads the named metric and composite alarms. Unknown names are
// skipped, not errors; no names returns none.
func (a *Adapter) Alarms(ctx context.Context, names []string) ([]Alarm, error) {
	described, err := a.describe(ctx, names)
	if err != nil {
		return nil, err
	}
	alarms := make([]Alarm, 0, len(described))
	for _, d := range described {
		alarms = append(alarms, d.Alarm)
	}
	return alarms, nil
}

// described is an alarm as the adapter returns it and, for a metric alarm,
// as DescribeAlarms returned it: Signals needs the metric definition that
// Alarm leaves out.
type described struct {
	Alarm
	metric *types.MetricAlarm
}

// describe reads the named alarms in DescribeAlarms' order.
func (a *Adapter) describe(ctx context.Context, names []string) ([]described, error) {
	var alarms []described
	// An empty AlarmNames would describe every alarm in the account.
	for chunk := range slices.Chunk(names, maxNames) {
		p := cloudwatch.NewDescribeAlarmsPaginator(a.api, &cloudwatch.DescribeAlarmsInput{
			AlarmNames: chunk,
			AlarmTypes: []types.AlarmType{types.AlarmTypeMetricAlarm, types.AlarmTypeCompositeAlarm},
		})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				return nil, fmt.Errorf("describing alarms %v: %w", chunk, err)
			}
			for _, m := range page.MetricAlarms {
				alarms = append(alarms, described{Alarm: metricAlarm(m), metric: &m})
			}
			for _, c := range page.CompositeAlarms {
				alarms = append(alarms, described{Alarm: compositeAlarm(c)})
			}
		}
	}
	return alarms, nil
}

func metricAlarm(m types.MetricAlarm) Alarm {
	return Alarm{
		Name:               aws.ToString(m.AlarmName),
		ARN:                aws.ToString(m.AlarmArn),
		State:              string(m.StateValue),
		StateReason:        aws.ToString(m.StateReason),
		StateReasonData:    aws.ToString(m.StateReasonData),
		StateUpdated:       aws.ToTime(m.StateUpdatedTimestamp),
		StateTransitioned:  aws.ToTime(m.StateTransitionedTimestamp),
		Namespace:          aws.ToString(m.Namespace),
		MetricName:         aws.ToString(m.MetricName),
		Threshold:          aws.ToFloat64(m.Threshold),
		ComparisonOperator: string(m.ComparisonOperator),
		Period:             time.Duration(aws.ToInt32(m.Period)) * time.Second,
		EvaluationPeriods:  aws.ToInt32(m.EvaluationPeriods),
		DatapointsToAlarm:  aws.ToInt32(m.DatapointsToAlarm),
	}
}

func compositeAlarm(c types.CompositeAlarm) Alarm {
	return Alarm{
		Name:              aws.ToString(c.AlarmName),
		ARN:               aws.ToString(c.AlarmArn),
		Composite:         true,
		State:             string(c.StateValue),
		StateReason:       aws.ToString(c.StateReason),
		StateUpdated:      aws.ToTime(c.StateUpdatedTimestamp),
		StateTransitioned: aws.ToTime(c.StateTransitionedTimestamp),
	}
}
