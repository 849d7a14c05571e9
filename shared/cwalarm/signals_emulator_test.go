package cwalarm_test

import (
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/stampkit/stampkit/shared/cwalarm"
	"github.com/stampkit/stampkit/shared/scaling"
)

func putCPU(t *testing.T, c *cloudwatch.Client, group string, at time.Time, value float64) {
	t.Helper()
	if _, err := c.PutMetricData(t.Context(), &cloudwatch.PutMetricDataInput{
		Namespace: aws.String("AWS/EC2"),
		MetricData: []types.MetricDatum{{
			MetricName: aws.String("CPUUtilization"),
			Dimensions: []types.Dimension{{Name: aws.String("AutoScalingGroupName"), Value: aws.String(group)}},
			Timestamp:  aws.Time(at), Value: aws.Float64(value),
		}},
	}); err != nil {
		t.Fatalf("PutMetricData %s %g at %s: %v", group, value, at, err)
	}
}

// TestReadingsEmulator checks that an alarm held in ALARM reads its metric's
// newest complete minute, not the value its state reason kept from the
// transition. moto's GetMetricData computes plain statistics only, not
// metric math or percentiles: those are covered by TestReadings' fake.
func TestReadingsEmulator(t *testing.T) {
	cfg := emu.Fresh(t)
	c := cloudwatch.NewFromConfig(cfg)
	// Run between 5 s and 50 s into a minute: the datum put in the minute
	// in progress is then a few seconds old (moto drops sub-second parts) and
	// the minute still in progress when Readings runs.
	now := time.Now()
	switch in := now.Sub(now.Truncate(time.Minute)); {
	case in < 5*time.Second:
		time.Sleep(5*time.Second - in)
	case in > 50*time.Second:
		time.Sleep(time.Minute + 5*time.Second - in)
	}
	minute := time.Now().Truncate(time.Minute)
	for _, p := range []struct {
		at    time.Duration
		value float64
	}{{-3*time.Minute + 5*time.Second, 40}, {-2*time.Minute + 5*time.Second, 55}, {-time.Minute + 5*time.Second, 80}, {-time.Minute + 25*time.Second, 100}} {
		putCPU(t, c, "web", minute.Add(p.at), p.value)
	}
	putCPU(t, c, "web", minute.Add(time.Second), 500) // the minute in progress: not read

	putAlarm(t, c, "web-cpu-high", 70)
	putAlarm(t, c, "web-cpu-low", 20)
	if _, err := c.PutMetricAlarm(t.Context(), &cloudwatch.PutMetricAlarmInput{
		AlarmName: aws.String("quiet-cpu-high"), Namespace: aws.String("AWS/EC2"), MetricName: aws.String("CPUUtilization"),
		Dimensions: []types.Dimension{{Name: aws.String("AutoScalingGroupName"), Value: aws.String("quiet")}},
		Statistic:  types.StatisticAverage, Period: aws.Int32(60), EvaluationPeriods: aws.Int32(3),
		Threshold: aws.Float64(70), ComparisonOperator: types.ComparisonOperatorGreaterThanThreshold,
	}); err != nil {
		t.Fatalf("PutMetricAlarm quiet-cpu-high: %v", err)
	}
	for _, name := range []string{"web-cpu-high", "quiet-cpu-high"} {
		if _, err := c.SetAlarmState(t.Context(), &cloudwatch.SetAlarmStateInput{
			AlarmName: aws.String(name), StateValue: types.StateValueAlarm, StateReason: aws.String("threshold crossed"),
			StateReasonData: aws.String(`{"version":"1.0","recentDatapoints":[71.0,72.0],"threshold":70.0}`),
		}); err != nil {
			t.Fatalf("SetAlarmState %s: %v", name, err)
		}
	}
	setState(t, c, "web-cpu-low", types.StateValueOk)

	names := []string{"web-cpu-high", "web-cpu-low", "quiet-cpu-high"}
	got, err := cwalarm.New(c).Readings(t.Context(), names)
	if err != nil {
		t.Fatalf("Readings: %v", err)
	}
	want := []cwalarm.Reading{
		// The newest complete minute averages 80 and 100.
		{Signal: scaling.Signal{Alarm: "web-cpu-high", State: "ALARM", Value: 90, Threshold: 70}, Source: cwalarm.SourceMetric},
		{Signal: scaling.Signal{Alarm: "web-cpu-low", State: "OK", Value: 20, Threshold: 20}, Source: cwalarm.SourceThreshold},
		{Signal: scaling.Signal{Alarm: "quiet-cpu-high", State: "ALARM", Value: 72, Threshold: 70}, Source: cwalarm.SourceReason},
	}
	opts := cmp.Options{
		cmpopts.IgnoreFields(scaling.Signal{}, "Since"),
		cmpopts.IgnoreFields(cwalarm.Reading{}, "Fallback"),
		cmpopts.SortSlices(func(a, b cwalarm.Reading) bool { return a.Alarm < b.Alarm }),
	}
	if diff := cmp.Diff(want, got, opts); diff != "" {
		t.Errorf("Readings mismatch (-want +got):\n%s", diff)
	}
	for _, r := range got {
		if fell := r.Alarm == "quiet-cpu-high"; fell != strings.Contains(r.Fallback, "no datapoint") {
			t.Errorf("%s: Fallback got %q, want a no-datapoint note only for quiet-cpu-high", r.Alarm, r.Fallback)
		}
	}

	sigs, err := cwalarm.New(c).Signals(t.Context(), []string{"web-cpu-high"})
	if err != nil || len(sigs) != 1 || sigs[0].Value != 90 {
		t.Errorf("Signals: got %+v, %v, want web-cpu-high at 90", sigs, err)
	}
}
