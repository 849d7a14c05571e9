package cwalarm_test

import (
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/stampkit/stampkit/shared/awstest"
	"github.com/stampkit/stampkit/shared/cwalarm"
)

var emu = awstest.New()

func TestMain(m *testing.M) { os.Exit(emu.Run(m)) }

func putAlarm(t *testing.T, c *cloudwatch.Client, name string, threshold float64) {
	t.Helper()
	if _, err := c.PutMetricAlarm(t.Context(), &cloudwatch.PutMetricAlarmInput{
		AlarmName:          aws.String(name),
		Namespace:          aws.String("AWS/EC2"),
		MetricName:         aws.String("CPUUtilization"),
		Dimensions:         []types.Dimension{{Name: aws.String("AutoScalingGroupName"), Value: aws.String("web")}},
		Statistic:          types.StatisticAverage,
		Period:             aws.Int32(60),
		EvaluationPeriods:  aws.Int32(3),
		DatapointsToAlarm:  aws.Int32(3),
		Threshold:          aws.Float64(threshold),
		ComparisonOperator: types.ComparisonOperatorGreaterThanThreshold,
	}); err != nil {
		t.Fatalf("PutMetricAlarm %s: %v", name, err)
	}
}

func setState(t *testing.T, c *cloudwatch.Client, name string, state types.StateValue) {
	t.Helper()
	if _, err := c.SetAlarmState(t.Context(), &cloudwatch.SetAlarmStateInput{
		AlarmName: aws.String(name), StateValue: state, StateReason: aws.String("test drove it"),
	}); err != nil {
		t.Fatalf("SetAlarmState %s: %v", name, err)
	}
}

func names(alarms []cwalarm.Alarm) []string {
	var out []string
	for _, a := range alarms {
		out = append(out, a.Name)
	}
	return out
}

func TestAlarmsEmulator(t *testing.T) {
	cfg := emu.Fresh(t)
	c := cloudwatch.NewFromConfig(cfg)
	putAlarm(t, c, "web-cpu-high", 70)
	putAlarm(t, c, "web-cpu-low", 20)
	putAlarm(t, c, "other-cpu-high", 90)
	before := time.Now().Add(-time.Minute)
	setState(t, c, "web-cpu-high", types.StateValueAlarm)
	setState(t, c, "other-cpu-high", types.StateValueAlarm)
	a := cwalarm.New(c)
	ctx := t.Context()

	got, err := a.Alarms(ctx, []string{"web-cpu-high", "missing"})
	if err != nil {
		t.Fatalf("Alarms: %v", err)
	}
	if len(got) != 1 {
		t.Fatalf("Alarms: got %v, want only web-cpu-high (unknown names skipped)", names(got))
	}
	want := cwalarm.Alarm{
		Name: "web-cpu-high", State: cwalarm.StateAlarm, StateReason: "test drove it",
		Namespace: "AWS/EC2", MetricName: "CPUUtilization", Threshold: 70,
		ComparisonOperator: "GreaterThanThreshold", Period: time.Minute, EvaluationPeriods: 3, DatapointsToAlarm: 3,
	}
	if diff := cmp.Diff(want, got[0], cmpopts.IgnoreFields(cwalarm.Alarm{}, "ARN", "StateUpdated", "StateTransitioned")); diff != "" {
		t.Errorf("Alarms mismatch (-want +got):\n%s", diff)
	}
	if got[0].ARN == "" || got[0].StateUpdated.Before(before) {
		t.Errorf("ARN %q, state updated %s: want an ARN and an update after %s", got[0].ARN, got[0].StateUpdated, before)
	}

	all, err := a.Alarms(ctx, []string{"web-cpu-high", "web-cpu-low"})
	if err != nil {
		t.Fatalf("Alarms: %v", err)
	}
	if diff := cmp.Diff([]string{"web-cpu-high", "web-cpu-low"}, names(all), cmpopts.SortSlices(func(a, b string) bool { return a < b })); diff != "" {
		t.Errorf("Alarms names (-want +got):\n%s", diff)
	}

	none, err := a.Alarms(ctx, nil)
	if err != nil || len(none) != 0 {
		t.Errorf("Alarms(nil): got %v, %v, want none (not every alarm in the account)", names(none), err)
	}
}

func TestRequestsAndPaging(t *testing.T) {
	many := make([]string, 150)
	for i := range many {
		many[i] = fmt.Sprintf("alarm-%03d", i)
	}
	var pages int
	stub := awstest.NewStub().On("DescribeAlarms", func(in any) (any, error) {
		pages++
		req := in.(*cloudwatch.DescribeAlarmsInput)
		if aws.ToString(req.NextToken) == "" && req.AlarmNames[0] == "alarm-000" {
			return &cloudwatch.DescribeAlarmsOutput{
				MetricAlarms: []types.MetricAlarm{{AlarmName: aws.String("alarm-000"), StateValue: types.StateValueAlarm}},
				NextToken:    aws.String("p2"),
			}, nil
		}
		if aws.ToString(req.NextToken) == "p2" {
			return &cloudwatch.DescribeAlarmsOutput{
				CompositeAlarms: []types.CompositeAlarm{{AlarmName: aws.String("alarm-001"), StateValue: types.StateValueAlarm}},
			}, nil
		}
		// The second chunk: an OK alarm.
		return &cloudwatch.DescribeAlarmsOutput{
			MetricAlarms: []types.MetricAlarm{{AlarmName: aws.String("alarm-120"), StateValue: types.StateValueOk}},
		}, nil
	})
	got, err := cwalarm.New(cloudwatch.NewFromConfig(stub.Config())).Alarms(t.Context(), many)
	if err != nil {
		t.Fatalf("Alarms: %v", err)
	}
	want := []cwalarm.Alarm{
		{Name: "alarm-000", State: cwalarm.StateAlarm},
		{Name: "alarm-001", State: cwalarm.StateAlarm, Composite: true},
		{Name: "alarm-120", State: cwalarm.StateOK},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Alarms mismatch (-want +got):\n%s", diff)
	}
	calls := stub.Calls()
	if len(calls) != 3 {
		t.Fatalf("calls: got %d, want 3 (two pages of the first 100 names, one of the last 50)", len(calls))
	}
	alarmTypes := []types.AlarmType{types.AlarmTypeMetricAlarm, types.AlarmTypeCompositeAlarm}
	wantIn := []any{
		&cloudwatch.DescribeAlarmsInput{AlarmNames: many[:100], AlarmTypes: alarmTypes},
		&cloudwatch.DescribeAlarmsInput{AlarmNames: many[:100], AlarmTypes: alarmTypes, NextToken: aws.String("p2")},
		&cloudwatch.DescribeAlarmsInput{AlarmNames: many[100:], AlarmTypes: alarmTypes},
	}
	var gotIn []any
	for _, c := range calls {
		gotIn = append(gotIn, c.Input)
	}
	if diff := awstest.Diff(wantIn, gotIn); diff != "" {
		t.Errorf("inputs (-want +got):\n%s", diff)
	}
}
