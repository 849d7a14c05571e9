package awsproxy_test

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"

	"github.com/stampkit/stampkit/shared/awserr"
	"github.com/stampkit/stampkit/shared/awstest/awsproxy"
)

// TestCloudWatchEmulatorLacksCBOR proves the gap the translation fills: moto
// answers the CloudWatch client's RPC v2 CBOR requests with 404.
func TestCloudWatchEmulatorLacksCBOR(t *testing.T) {
	emu.Fresh(t)
	_, err := cloudwatch.NewFromConfig(emu.MotoConfig(t)).DescribeAlarms(t.Context(), &cloudwatch.DescribeAlarmsInput{})
	var re *awshttp.ResponseError
	if !errors.As(err, &re) || re.HTTPStatusCode() != http.StatusNotFound {
		t.Errorf("DescribeAlarms straight to moto: got %v, want HTTP 404 (moto serves CloudWatch's Query API only)", err)
	}
}

// TestCloudWatchTranslation: through the proxy the CBOR client writes and
// reads alarms and metrics in moto: structures, lists, numbers, enums and
// timestamps both ways, a compressed PutMetricData, and moto's errors with
// their codes.
func TestCloudWatchTranslation(t *testing.T) {
	cfg := emu.Fresh(t)
	c := cloudwatch.NewFromConfig(cfg)
	ctx := t.Context()
	dims := []types.Dimension{{Name: aws.String("AutoScalingGroupName"), Value: aws.String("web")}}
	minute := time.Now().UTC().Truncate(time.Minute).Add(-2 * time.Minute)
	for i, v := range []float64{20, 60} {
		if _, err := c.PutMetricData(ctx, &cloudwatch.PutMetricDataInput{Namespace: aws.String("AWS/EC2"), MetricData: []types.MetricDatum{{
			MetricName: aws.String("CPUUtilization"), Dimensions: dims, Value: aws.Float64(v),
			Timestamp: aws.Time(minute.Add(time.Duration(i)*time.Minute + 10*time.Second)), Unit: types.StandardUnitPercent,
		}}}); err != nil {
			t.Fatalf("PutMetricData: %v", err)
		}
	}
	if _, err := c.PutMetricAlarm(ctx, &cloudwatch.PutMetricAlarmInput{
		AlarmName: aws.String("web-high"), Namespace: aws.String("AWS/EC2"), MetricName: aws.String("CPUUtilization"), Dimensions: dims,
		Statistic: types.StatisticAverage, Period: aws.Int32(60), EvaluationPeriods: aws.Int32(3), DatapointsToAlarm: aws.Int32(2),
		Threshold: aws.Float64(-0.5), ComparisonOperator: types.ComparisonOperatorGreaterThanThreshold,
		AlarmActions: []string{"arn:aws:sns:us-east-1:123456789012:ops"}, TreatMissingData: aws.String("notBreaching"),
	}); err != nil {
		t.Fatalf("PutMetricAlarm: %v", err)
	}
	if _, err := c.SetAlarmState(ctx, &cloudwatch.SetAlarmStateInput{
		AlarmName: aws.String("web-high"), StateValue: types.StateValueAlarm, StateReason: aws.String("test"),
	}); err != nil {
		t.Fatalf("SetAlarmState: %v", err)
	}
	out, err := c.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{AlarmNames: []string{"web-high", "missing"}})
	if err != nil || len(out.MetricAlarms) != 1 {
		t.Fatalf("DescribeAlarms: got %v, %v; want one alarm", out, err)
	}
	a := out.MetricAlarms[0]
	if aws.ToString(a.AlarmName) != "web-high" || a.StateValue != types.StateValueAlarm || aws.ToFloat64(a.Threshold) != -0.5 ||
		aws.ToInt32(a.Period) != 60 || aws.ToInt32(a.DatapointsToAlarm) != 2 || a.ComparisonOperator != types.ComparisonOperatorGreaterThanThreshold ||
		len(a.Dimensions) != 1 || aws.ToString(a.Dimensions[0].Value) != "web" || len(a.AlarmActions) != 1 ||
		time.Since(aws.ToTime(a.StateUpdatedTimestamp)).Abs() > time.Minute {
		t.Errorf("alarm read back: got %+v", a)
	}

	data, err := c.GetMetricData(ctx, &cloudwatch.GetMetricDataInput{
		StartTime: aws.Time(minute), EndTime: aws.Time(minute.Add(2 * time.Minute)),
		MetricDataQueries: []types.MetricDataQuery{{Id: aws.String("cpu"), MetricStat: &types.MetricStat{
			Metric: &types.Metric{Namespace: aws.String("AWS/EC2"), MetricName: aws.String("CPUUtilization"), Dimensions: dims},
			Period: aws.Int32(60), Stat: aws.String("Maximum"),
		}}},
	})
	if err != nil || len(data.MetricDataResults) != 1 {
		t.Fatalf("GetMetricData: got %v, %v", data, err)
	}
	r := data.MetricDataResults[0]
	got := map[time.Time]float64{}
	for i, ts := range r.Timestamps {
		got[ts.UTC()] = r.Values[i]
	}
	if aws.ToString(r.Id) != "cpu" || got[minute] != 20 || got[minute.Add(time.Minute)] != 60 {
		t.Errorf("GetMetricData result: got id %s, %v; want 20 at %s and 60 a minute later", aws.ToString(r.Id), got, minute)
	}

	// moto's Query error, as the CBOR client decodes it.
	_, err = c.SetAlarmState(ctx, &cloudwatch.SetAlarmStateInput{AlarmName: aws.String("missing"), StateValue: types.StateValueOk, StateReason: aws.String("x")})
	if !awserr.IsNotFound(err) {
		t.Errorf("SetAlarmState on a missing alarm: got %v, want a not-found error", err)
	}
	for _, rec := range emu.Proxy(t).Calls() {
		if rec.Service == awsproxy.CloudWatch && rec.Model != "cloudwatch cbor" {
			t.Errorf("a CloudWatch call skipped the translation: %s", rec)
		}
	}
}
