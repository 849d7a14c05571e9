package cwalarm_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/google/go-cmp/cmp"

	"github.com/stampkit/stampkit/shared/cwalarm"
	"github.com/stampkit/stampkit/shared/scaling"
)

// pagedMetrics is CloudWatch's GetMetricData cut into pages as a large
// read is: each response holds the next page and a NextToken while pages
// remain. It records each request.
type pagedMetrics struct {
	cwalarm.API
	pages []types.MetricDataResult
	ins   []*cloudwatch.GetMetricDataInput
	fail  error
}

func (f *pagedMetrics) GetMetricData(_ context.Context, in *cloudwatch.GetMetricDataInput, _ ...func(*cloudwatch.Options)) (*cloudwatch.GetMetricDataOutput, error) {
	f.ins = append(f.ins, in)
	if f.fail != nil {
		return nil, f.fail
	}
	i := 0
	if in.NextToken != nil {
		fmt.Sscanf(*in.NextToken, "page-%d", &i)
	}
	out := &cloudwatch.GetMetricDataOutput{MetricDataResults: []types.MetricDataResult{f.pages[i]}}
	if i+1 < len(f.pages) {
		out.NextToken = aws.String(fmt.Sprintf("page-%d", i+1))
	}
	return out, nil
}

var m0 = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

func page(status types.StatusCode, minutes ...int) types.MetricDataResult {
	r := types.MetricDataResult{Id: aws.String("load"), StatusCode: status}
	for _, m := range minutes {
		r.Timestamps = append(r.Timestamps, m0.Add(time.Duration(m)*time.Minute))
		r.Values = append(r.Values, float64(100+m))
	}
	return r
}

func TestMetricSums(t *testing.T) {
	m := scaling.Metric{Namespace: "AWS/ApplicationELB", Name: "RequestCount", Dimensions: map[string]string{"TargetGroup": "targetgroup/web/1", "LoadBalancer": "app/web/2"}}
	tests := []struct {
		name      string
		pages     []types.MetricDataResult
		fail      error
		want      []int // minutes
		wantCalls int
		wantErr   string
	}{
		{name: "one page", pages: []types.MetricDataResult{page(types.StatusCodeComplete, 0, 1, 3)}, want: []int{0, 1, 3}, wantCalls: 1},
		{
			name:  "three pages, followed by NextToken",
			pages: []types.MetricDataResult{page(types.StatusCodePartialData, 0, 1), page(types.StatusCodePartialData, 2), page(types.StatusCodeComplete, 4, 5)},
			want:  []int{0, 1, 2, 4, 5}, wantCalls: 3,
		},
		{name: "no data", pages: []types.MetricDataResult{page(types.StatusCodeComplete)}, wantCalls: 1},
		{name: "partial data on the last page", pages: []types.MetricDataResult{page(types.StatusCodePartialData, 0, 1), page(types.StatusCodePartialData, 2)}, wantCalls: 2, wantErr: "partial data and no more pages"},
		{name: "internal error", pages: []types.MetricDataResult{page(types.StatusCodeInternalError, 0)}, wantCalls: 1, wantErr: "status InternalError"},
		{name: "API error", fail: errors.New("throttled"), wantCalls: 1, wantErr: "throttled"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := &pagedMetrics{pages: tt.pages, fail: tt.fail}
			got, err := cwalarm.New(api).MetricSums(t.Context(), m, time.Minute, m0.Add(-time.Hour), m0.Add(time.Hour))
			if len(api.ins) != tt.wantCalls {
				t.Errorf("GetMetricData calls = %d, want %d", len(api.ins), tt.wantCalls)
			}
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("MetricSums error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("MetricSums: %v", err)
			}
			var want []scaling.Point
			for _, m := range tt.want {
				want = append(want, scaling.Point{Time: m0.Add(time.Duration(m) * time.Minute), Value: float64(100 + m)})
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("points (-want +got):\n%s", diff)
			}
		})
	}

	// The request: one Sum query of the metric per period, oldest first,
	// as many datapoints as one response may hold.
	api := &pagedMetrics{pages: []types.MetricDataResult{page(types.StatusCodeComplete)}}
	if _, err := cwalarm.New(api).MetricSums(t.Context(), m, time.Minute, m0.Add(-time.Hour), m0); err != nil {
		t.Fatal(err)
	}
	in := api.ins[0]
	q := in.MetricDataQueries[0]
	got := fmt.Sprintf("%s %s %s %s=%s,%s=%s period %d %s return %v max %d %s",
		aws.ToTime(in.StartTime).Format(time.RFC3339), aws.ToTime(in.EndTime).Format(time.RFC3339),
		*q.MetricStat.Metric.Namespace, *q.MetricStat.Metric.Dimensions[0].Name, *q.MetricStat.Metric.Dimensions[0].Value,
		*q.MetricStat.Metric.Dimensions[1].Name, *q.MetricStat.Metric.Dimensions[1].Value,
		*q.MetricStat.Period, *q.MetricStat.Stat, *q.ReturnData, *in.MaxDatapoints, in.ScanBy)
	want := "2026-11-25T11:00:00Z 2026-11-25T12:00:00Z AWS/ApplicationELB LoadBalancer=app/web/2,TargetGroup=targetgroup/web/1 period 60 Sum return true max 100800 TimestampAscending"
	if got != want {
		t.Errorf("request:\n got %s\nwant %s", got, want)
	}
}

// TestMetricSumsEmulator reads per-minute sums back from the emulator's
// CloudWatch.
func TestMetricSumsEmulator(t *testing.T) {
	cfg := emu.Fresh(t)
	c := cloudwatch.NewFromConfig(cfg)
	now := time.Now().UTC().Truncate(time.Minute)
	dims := map[string]string{"LoadBalancer": "app/web/1", "TargetGroup": "targetgroup/web/2"}
	var data []types.MetricDatum
	for m := 10; m >= 3; m-- {
		for _, v := range []float64{float64(m), 100} {
			data = append(data, types.MetricDatum{
				MetricName: aws.String("RequestCount"), Timestamp: aws.Time(now.Add(-time.Duration(m)*time.Minute + 10*time.Second)), Value: aws.Float64(v),
				Dimensions: []types.Dimension{{Name: aws.String("LoadBalancer"), Value: aws.String("app/web/1")}, {Name: aws.String("TargetGroup"), Value: aws.String("targetgroup/web/2")}},
			})
		}
	}
	if _, err := c.PutMetricData(t.Context(), &cloudwatch.PutMetricDataInput{Namespace: aws.String("AWS/ApplicationELB"), MetricData: data}); err != nil {
		t.Fatalf("PutMetricData: %v", err)
	}
	got, err := cwalarm.New(c).MetricSums(t.Context(), scaling.Metric{Namespace: "AWS/ApplicationELB", Name: "RequestCount", Dimensions: dims},
		time.Minute, now.Add(-8*time.Minute), now.Add(-4*time.Minute))
	if err != nil {
		t.Fatalf("MetricSums: %v", err)
	}
	var want []scaling.Point
	for m := 8; m > 4; m-- {
		want = append(want, scaling.Point{Time: now.Add(-time.Duration(m) * time.Minute), Value: float64(100 + m)})
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("sums (-want +got):\n%s", diff)
	}
}
