package cwalarm_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/stampkit/stampkit/shared/awstest"
	"github.com/stampkit/stampkit/shared/cwalarm"
	"github.com/stampkit/stampkit/shared/scaling"
)

// fakeAPI answers DescribeAlarms with alarms and every GetMetricData with
// data or err, recording the GetMetricData inputs.
type fakeAPI struct {
	alarms []types.MetricAlarm
	comps  []types.CompositeAlarm
	data   []types.MetricDataResult
	err    error
	calls  []*cloudwatch.GetMetricDataInput
}

var _ cwalarm.API = (*fakeAPI)(nil)

func (f *fakeAPI) DescribeAlarms(_ context.Context, _ *cloudwatch.DescribeAlarmsInput, _ ...func(*cloudwatch.Options)) (*cloudwatch.DescribeAlarmsOutput, error) {
	return &cloudwatch.DescribeAlarmsOutput{MetricAlarms: f.alarms, CompositeAlarms: f.comps}, nil
}

func (f *fakeAPI) GetMetricData(_ context.Context, in *cloudwatch.GetMetricDataInput, _ ...func(*cloudwatch.Options)) (*cloudwatch.GetMetricDataOutput, error) {
	f.calls = append(f.calls, in)
	if f.err != nil {
		return nil, f.err
	}
	return &cloudwatch.GetMetricDataOutput{MetricDataResults: f.data}, nil
}

var transitioned = time.Date(2026, 11, 3, 10, 0, 0, 0, time.UTC)

// reasonData is what CloudWatch wrote at the transition: the value then
// was 75 against a threshold of 70.
const reasonData = `{"version":"1.0","recentDatapoints":[71.0,75.0],"threshold":70.0}`

func alarm(name string, state types.StateValue, with func(*types.MetricAlarm)) types.MetricAlarm {
	m := types.MetricAlarm{
		AlarmName:                  aws.String(name),
		StateValue:                 state,
		StateReasonData:            aws.String(reasonData),
		StateTransitionedTimestamp: aws.Time(transitioned),
		Threshold:                  aws.Float64(70),
		EvaluationPeriods:          aws.Int32(3),
	}
	with(&m)
	return m
}

func cpu(m *types.MetricAlarm) {
	m.Namespace, m.MetricName = aws.String("AWS/EC2"), aws.String("CPUUtilization")
	m.Dimensions = []types.Dimension{{Name: aws.String("AutoScalingGroupName"), Value: aws.String("web")}}
	m.Statistic, m.Period = types.StatisticAverage, aws.Int32(60)
}

func result(id string, values ...float64) types.MetricDataResult {
	return types.MetricDataResult{Id: aws.String(id), Values: values, StatusCode: types.StatusCodeComplete}
}

func stat(ns, name, group, s string, period int32) *types.MetricStat {
	return &types.MetricStat{
		Metric: &types.Metric{Namespace: aws.String(ns), MetricName: aws.String(name),
			Dimensions: []types.Dimension{{Name: aws.String("AutoScalingGroupName"), Value: aws.String(group)}}},
		Period: aws.Int32(period), Stat: aws.String(s),
	}
}

// mathQueries is a blue/green alarm as infra builds it: two metrics and
// the expression it watches.
var mathQueries = []types.MetricDataQuery{
	{Id: aws.String("blue"), MetricStat: stat("AWS/EC2", "CPUUtilization", "web-blue", "Average", 60), ReturnData: aws.Bool(false)},
	{Id: aws.String("green"), MetricStat: stat("AWS/EC2", "CPUUtilization", "web-green", "Average", 60), ReturnData: aws.Bool(false)},
	{Id: aws.String("expr_1"), Expression: aws.String("MAX([FILL(blue, 0), FILL(green, 0)])"), Period: aws.Int32(60), ReturnData: aws.Bool(true)},
}

func TestReadings(t *testing.T) {
	sig := func(name, state string, value float64) scaling.Signal {
		return scaling.Signal{Alarm: name, State: state, Value: value, Threshold: 70, Since: transitioned}
	}
	tests := []struct {
		name   string
		api    fakeAPI
		want   []cwalarm.Reading
		wantFB []string // substrings of each reading's Fallback, "" for none
		// wantIn is the queries sent for each ALARM alarm, and the window's
		// length and alignment.
		wantIn     [][]types.MetricDataQuery
		wantWindow time.Duration
		wantPeriod time.Duration
		// wantLag is how many periods before the one in progress the
		// window ends.
		wantLag int
	}{
		{
			name: "single metric: the newest datapoint, not the transition's",
			api: fakeAPI{
				alarms: []types.MetricAlarm{alarm("cpu-high", types.StateValueAlarm, cpu)},
				data:   []types.MetricDataResult{result("watched", 92, 80, 75)},
			},
			want:   []cwalarm.Reading{{Signal: sig("cpu-high", "ALARM", 92), Source: cwalarm.SourceMetric}},
			wantFB: []string{""},
			wantIn: [][]types.MetricDataQuery{{{
				Id: aws.String("watched"), MetricStat: stat("AWS/EC2", "CPUUtilization", "web", "Average", 60), ReturnData: aws.Bool(true),
			}}},
			wantWindow: 5 * time.Minute, wantPeriod: time.Minute,
		},
		{
			name: "a count ends a period earlier: the newest may still be taking datapoints in",
			api: fakeAPI{
				alarms: []types.MetricAlarm{alarm("requests-high", types.StateValueAlarm, func(m *types.MetricAlarm) {
					cpu(m)
					m.MetricName, m.Statistic = aws.String("RequestCount"), types.StatisticSum
				})},
				data: []types.MetricDataResult{result("watched", 1200)},
			},
			want:   []cwalarm.Reading{{Signal: sig("requests-high", "ALARM", 1200), Source: cwalarm.SourceMetric}},
			wantFB: []string{""},
			wantIn: [][]types.MetricDataQuery{{{
				Id: aws.String("watched"), MetricStat: stat("AWS/EC2", "RequestCount", "web", "Sum", 60), ReturnData: aws.Bool(true),
			}}},
			wantWindow: 5 * time.Minute, wantPeriod: time.Minute, wantLag: 1,
		},
		{
			name: "extended statistic p99 with a unit",
			api: fakeAPI{
				alarms: []types.MetricAlarm{alarm("latency-high", types.StateValueAlarm, func(m *types.MetricAlarm) {
					cpu(m)
					m.MetricName, m.Statistic, m.ExtendedStatistic = aws.String("Latency"), "", aws.String("p99")
					m.Period, m.EvaluationPeriods, m.Unit = aws.Int32(300), aws.Int32(2), types.StandardUnitMilliseconds
				})},
				data: []types.MetricDataResult{result("watched", 140.5)},
			},
			want:   []cwalarm.Reading{{Signal: sig("latency-high", "ALARM", 140.5), Source: cwalarm.SourceMetric}},
			wantFB: []string{""},
			wantIn: [][]types.MetricDataQuery{{{
				Id: aws.String("watched"), ReturnData: aws.Bool(true),
				MetricStat: func() *types.MetricStat {
					s := stat("AWS/EC2", "Latency", "web", "p99", 300)
					s.Unit = types.StandardUnitMilliseconds
					return s
				}(),
			}}},
			wantWindow: 4 * 5 * time.Minute, wantPeriod: 5 * time.Minute,
		},
		{
			name: "metric math: the alarm's own queries, the expression's value",
			api: fakeAPI{
				alarms: []types.MetricAlarm{alarm("cpu-high", types.StateValueAlarm, func(m *types.MetricAlarm) { m.Metrics = mathQueries })},
				data:   []types.MetricDataResult{result("blue", 99), result("green", 60), result("expr_1", 88, 70)},
			},
			want:       []cwalarm.Reading{{Signal: sig("cpu-high", "ALARM", 88), Source: cwalarm.SourceMetric}},
			wantFB:     []string{""},
			wantIn:     [][]types.MetricDataQuery{mathQueries},
			wantWindow: 5 * time.Minute, wantPeriod: time.Minute,
		},
		{
			name: "anomaly band: the watched metric, not the band",
			api: fakeAPI{
				alarms: []types.MetricAlarm{alarm("cpu-odd", types.StateValueAlarm, func(m *types.MetricAlarm) {
					m.ThresholdMetricId = aws.String("ad1")
					m.Metrics = []types.MetricDataQuery{
						{Id: aws.String("ad1"), Expression: aws.String("ANOMALY_DETECTION_BAND(m1, 2)"), ReturnData: aws.Bool(true)},
						{Id: aws.String("m1"), MetricStat: stat("AWS/EC2", "CPUUtilization", "web", "Average", 120), ReturnData: aws.Bool(true)},
					}
				})},
				data: []types.MetricDataResult{result("ad1", 50), result("m1", 81)},
			},
			want:       []cwalarm.Reading{{Signal: sig("cpu-odd", "ALARM", 81), Source: cwalarm.SourceMetric}},
			wantFB:     []string{""},
			wantWindow: 5 * 2 * time.Minute, wantPeriod: 2 * time.Minute,
		},
		{
			name: "no datapoint: the reason's value, and why",
			api: fakeAPI{
				alarms: []types.MetricAlarm{alarm("cpu-high", types.StateValueAlarm, cpu)},
				data:   []types.MetricDataResult{result("watched")},
			},
			want:       []cwalarm.Reading{{Signal: sig("cpu-high", "ALARM", 75), Source: cwalarm.SourceReason}},
			wantFB:     []string{"no datapoint"},
			wantWindow: 5 * time.Minute, wantPeriod: time.Minute,
		},
		{
			name: "GetMetricData fails: the reason's value, and why",
			api: fakeAPI{
				alarms: []types.MetricAlarm{alarm("cpu-high", types.StateValueAlarm, cpu)},
				err:    errors.New("AccessDenied: not authorized to perform cloudwatch:GetMetricData"),
			},
			want:       []cwalarm.Reading{{Signal: sig("cpu-high", "ALARM", 75), Source: cwalarm.SourceReason}},
			wantFB:     []string{"AccessDenied"},
			wantWindow: 5 * time.Minute, wantPeriod: time.Minute,
		},
		{
			name: "alarms not in ALARM: reason values, no GetMetricData",
			api: fakeAPI{
				alarms: []types.MetricAlarm{
					alarm("cpu-ok", types.StateValueOk, cpu),
					alarm("cpu-unknown", types.StateValueInsufficientData, cpu),
				},
				data: []types.MetricDataResult{result("watched", 1)},
			},
			want: []cwalarm.Reading{
				{Signal: sig("cpu-ok", "OK", 75), Source: cwalarm.SourceReason},
				{Signal: sig("cpu-unknown", "INSUFFICIENT_DATA", 75), Source: cwalarm.SourceReason},
			},
			wantFB: []string{"", ""},
			wantIn: [][]types.MetricDataQuery{},
		},
		{
			name: "composite in ALARM: the threshold, no GetMetricData",
			api: fakeAPI{
				comps: []types.CompositeAlarm{{AlarmName: aws.String("both"), StateValue: types.StateValueAlarm,
					StateTransitionedTimestamp: aws.Time(transitioned)}},
			},
			want: []cwalarm.Reading{{Signal: scaling.Signal{Alarm: "both", State: "ALARM", Since: transitioned},
				Source: cwalarm.SourceThreshold}},
			wantFB: []string{"composite"},
			wantIn: [][]types.MetricDataQuery{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := time.Now()
			got, err := cwalarm.New(&tt.api).Readings(t.Context(), []string{"any"})
			after := time.Now()
			if err != nil {
				t.Fatalf("Readings: %v", err)
			}
			if diff := cmp.Diff(tt.want, got, cmpopts.IgnoreFields(cwalarm.Reading{}, "Fallback")); diff != "" {
				t.Errorf("Readings mismatch (-want +got):\n%s", diff)
			}
			for i, r := range got {
				if i >= len(tt.wantFB) {
					break
				}
				if want := tt.wantFB[i]; (want == "") != (r.Fallback == "") || !strings.Contains(r.Fallback, want) {
					t.Errorf("%s: Fallback got %q, want one containing %q", r.Alarm, r.Fallback, want)
				}
			}
			if tt.wantIn != nil {
				var gotIn [][]types.MetricDataQuery
				for _, in := range tt.api.calls {
					gotIn = append(gotIn, in.MetricDataQueries)
				}
				if diff := awstest.Diff(tt.wantIn, gotIn, cmpopts.EquateEmpty()); diff != "" {
					t.Errorf("GetMetricData queries (-want +got):\n%s", diff)
				}
			}
			for _, in := range tt.api.calls {
				start, end := aws.ToTime(in.StartTime), aws.ToTime(in.EndTime)
				if w := end.Sub(start); w != tt.wantWindow {
					t.Errorf("window %s to %s: got %s, want %s (evaluation periods + 2)", start, end, w, tt.wantWindow)
				}
				// The window ends where the period in progress began (wantLag
				// periods earlier for counts).
				lag := time.Duration(tt.wantLag) * tt.wantPeriod
				if !end.Equal(end.Truncate(tt.wantPeriod)) || end.After(after.Add(-lag)) || !end.After(before.Add(-tt.wantPeriod-lag)) {
					t.Errorf("window end %s: want the start of the %s period around %s, %d periods earlier", end, tt.wantPeriod, before, tt.wantLag)
				}
				if in.ScanBy != types.ScanByTimestampDescending || in.NextToken != nil {
					t.Errorf("ScanBy %q, NextToken %v: want TimestampDescending, first page", in.ScanBy, in.NextToken)
				}
			}
		})
	}
}

// TestSignalsLogsFallback checks that a tick deciding on the transition's
// value, not the metric's, says so; and that Signals are Readings' signals.
// It swaps slog's default logger, so it must not run in parallel.
func TestSignalsLogsFallback(t *testing.T) {
	var buf bytes.Buffer
	prev := slog.Default()
	slog.SetDefault(slog.New(slog.NewJSONHandler(&buf, nil)))
	t.Cleanup(func() { slog.SetDefault(prev) })

	api := &fakeAPI{
		alarms: []types.MetricAlarm{alarm("cpu-high", types.StateValueAlarm, cpu), alarm("cpu-ok", types.StateValueOk, cpu)},
		err:    errors.New("throttled"),
	}
	got, err := cwalarm.New(api).Signals(t.Context(), []string{"cpu-high", "cpu-ok"})
	if err != nil {
		t.Fatalf("Signals: %v", err)
	}
	want := []scaling.Signal{
		{Alarm: "cpu-high", State: "ALARM", Value: 75, Threshold: 70, Since: transitioned},
		{Alarm: "cpu-ok", State: "OK", Value: 75, Threshold: 70, Since: transitioned},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Signals mismatch (-want +got):\n%s", diff)
	}
	logs := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(logs) != 1 || !strings.Contains(logs[0], `"alarm":"cpu-high"`) ||
		!strings.Contains(logs[0], `"value_source":"reason"`) || !strings.Contains(logs[0], "throttled") {
		t.Errorf("logs: got %q, want one line for cpu-high with value_source reason and the error", logs)
	}
}

// describeCounter is a fakeAPI that counts DescribeAlarms calls and the
// names each asked for, and fails them with err.
type describeCounter struct {
	fakeAPI
	describes [][]string
	err       error
}

func (f *describeCounter) DescribeAlarms(ctx context.Context, in *cloudwatch.DescribeAlarmsInput, opts ...func(*cloudwatch.Options)) (*cloudwatch.DescribeAlarmsOutput, error) {
	f.describes = append(f.describes, in.AlarmNames)
	if f.err != nil {
		return nil, f.err
	}
	return f.fakeAPI.DescribeAlarms(ctx, in, opts...)
}

// Prefetch describes two fleets' alarms with one call; each fleet then
// reads its own signals with no describe, and only its own alarm in ALARM
// has its metric read.
func TestPrefetch(t *testing.T) {
	api := &describeCounter{fakeAPI: fakeAPI{
		alarms: []types.MetricAlarm{
			alarm("a-high", types.StateValueAlarm, cpu),
			alarm("a-low", types.StateValueOk, cpu),
			alarm("b-high", types.StateValueAlarm, cpu),
		},
		data: []types.MetricDataResult{result("watched", 92)},
	}}
	a := cwalarm.New(api)
	read, err := a.Prefetch(t.Context(), []string{"a-high", "a-low", "b-high", "b-gone"})
	if err != nil {
		t.Fatalf("Prefetch: %v", err)
	}
	tests := []struct {
		name  string
		names []string
		want  []scaling.Signal
	}{
		{name: "fleet a", names: []string{"a-high", "a-low"}, want: []scaling.Signal{
			{Alarm: "a-high", State: "ALARM", Value: 92, Threshold: 70, Since: transitioned},
			{Alarm: "a-low", State: "OK", Value: 75, Threshold: 70, Since: transitioned},
		}},
		{name: "fleet b: an alarm not described is skipped", names: []string{"b-high", "b-gone"}, want: []scaling.Signal{
			{Alarm: "b-high", State: "ALARM", Value: 92, Threshold: 70, Since: transitioned},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(api.calls)
			got, err := read(t.Context(), tt.names)
			if err != nil {
				t.Fatalf("read: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("signals (-want +got):\n%s", diff)
			}
			if n := len(api.calls) - before; n != 1 {
				t.Errorf("got %d GetMetricData calls, want 1: the fleet's one alarm in ALARM", n)
			}
		})
	}
	if len(api.describes) != 1 {
		t.Errorf("got %d DescribeAlarms calls %v, want 1", len(api.describes), api.describes)
	}

	api.err = errors.New("throttled")
	if _, err := a.Prefetch(t.Context(), []string{"a-high"}); !errors.Is(err, api.err) {
		t.Errorf("Prefetch with DescribeAlarms failing: got %v, want %v", err, api.err)
	}
}
