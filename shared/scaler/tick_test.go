package scaler_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"

	"github.com/stampkit/stampkit/shared/cwalarm"
)

// fakeCloudWatch is CloudWatch holding one metric alarm: DescribeAlarms
// returns it, GetMetricData its metric's current value.
type fakeCloudWatch struct {
	alarm types.MetricAlarm
	value float64
}

var _ cwalarm.API = (*fakeCloudWatch)(nil)

func (f *fakeCloudWatch) DescribeAlarms(context.Context, *cloudwatch.DescribeAlarmsInput, ...func(*cloudwatch.Options)) (*cloudwatch.DescribeAlarmsOutput, error) {
	return &cloudwatch.DescribeAlarmsOutput{MetricAlarms: []types.MetricAlarm{f.alarm}}, nil
}

func (f *fakeCloudWatch) GetMetricData(_ context.Context, in *cloudwatch.GetMetricDataInput, _ ...func(*cloudwatch.Options)) (*cloudwatch.GetMetricDataOutput, error) {
	return &cloudwatch.GetMetricDataOutput{MetricDataResults: []types.MetricDataResult{{
		Id: in.MetricDataQueries[0].Id, Values: []float64{f.value}, StatusCode: types.StatusCodeComplete,
	}}}, nil
}

// An alarm held in ALARM must keep scaling on ticks after the event that
// reported it, though the tick reads the time it entered ALARM from
// DescribeAlarms and the event carried a later one: the two sources are
// not promised to agree to the millisecond.
func TestHeldAlarmKeepsScalingOnTicksAfterItsEvent(t *testing.T) {
	tests := []struct {
		alarm            string
		value, threshold float64
		// ticks are minutes after the alarm entered ALARM.
		ticks []time.Duration
		want  string
	}{
		{
			alarm: "web-high", value: 70, threshold: 60,
			ticks: []time.Duration{4, 8, 12},
			want:  "web-asg=5,web-asg=6,web-asg=7,web-asg=8", // the event's step, then one per tick past warm-up
		},
		{
			alarm: "web-low", value: 10, threshold: 30,
			ticks: []time.Duration{6, 12},
			want:  "web-asg=3,web-asg=2", // the ticks' steps once the hold is over
		},
	}
	for _, tt := range tests {
		for _, skew := range []time.Duration{time.Millisecond, time.Second} {
			t.Run(fmt.Sprintf("%s, event %s later", tt.alarm, skew), func(t *testing.T) {
				r := newRig(t, false)
				described := t0 // StateTransitionedTimestamp
				r.h.Alarms = cwalarm.New(&fakeCloudWatch{value: tt.value, alarm: types.MetricAlarm{
					AlarmName:                  aws.String(tt.alarm),
					StateValue:                 types.StateValueAlarm,
					StateReasonData:            aws.String(fmt.Sprintf(`{"version":"1.0","recentDatapoints":[%g],"threshold":%g}`, tt.value, tt.threshold)),
					StateTransitionedTimestamp: aws.Time(described),
					StateUpdatedTimestamp:      aws.Time(described),
					Namespace:                  aws.String("AWS/EC2"), MetricName: aws.String("CPUUtilization"),
					Statistic: types.StatisticAverage, Period: aws.Int32(60), EvaluationPeriods: aws.Int32(3),
					Threshold: aws.Float64(tt.threshold),
				}})

				r.clock.Set(described.Add(skew))
				if err := r.handle(t, alarmEvent("e1", tt.alarm, "ALARM", described.Add(skew), tt.value, tt.threshold)); err != nil {
					t.Fatalf("event: %v", err)
				}
				for i, m := range tt.ticks {
					at := described.Add(m * time.Minute)
					r.clock.Set(at)
					if err := r.handle(t, tickEvent(fmt.Sprintf("tick-%d", i), at)); err != nil {
						t.Fatalf("tick at +%dm: %v", m, err)
					}
				}
				if got := strings.Join(r.groups.sets, ","); got != tt.want {
					t.Errorf("capacity changes = %q, want %q", got, tt.want)
				}
				if strings.Contains(r.logs.String(), `"outcome":"stale"`) {
					t.Errorf("a tick was judged stale against the event it follows:\n%s", r.logs.String())
				}
			})
		}
	}
}
