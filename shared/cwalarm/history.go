package cwalarm

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"

	"github.com/stampkit/stampkit/shared/scaling"
)

// maxDatapoints is the most datapoints one GetMetricData response holds
// (API reference, GetMetricData: "a single GetMetricData call can return a
// maximum of 100,800 data points"): ten weeks of one-minute data, so a
// forecast's fourteen days come in one page unless CloudWatch cuts it
// short; the paginator follows NextToken when it does.
const maxDatapoints = 100800

// historyID names the one query of a history read.
const historyID = "load"

// MetricSums reads m's Sum over each period in [from, to), oldest first,
// one Point per period CloudWatch has a datapoint for (a load balancer
// publishes none for a minute without requests). One-minute data is kept
// 15 days, so from should be no older than that.
func (a *Adapter) MetricSums(ctx context.Context, m scaling.Metric, period time.Duration, from, to time.Time) ([]scaling.Point, error) {
	dims := make([]types.Dimension, 0, len(m.Dimensions))
	for _, k := range slices.Sorted(maps.Keys(m.Dimensions)) {
		dims = append(dims, types.Dimension{Name: aws.String(k), Value: aws.String(m.Dimensions[k])})
	}
	p := cloudwatch.NewGetMetricDataPaginator(a.api, &cloudwatch.GetMetricDataInput{
		StartTime: aws.Time(from), EndTime: aws.Time(to),
		ScanBy:        types.ScanByTimestampAscending,
		MaxDatapoints: aws.Int32(maxDatapoints),
		MetricDataQueries: []types.MetricDataQuery{{
			Id: aws.String(historyID),
			MetricStat: &types.MetricStat{
				Metric: &types.Metric{Namespace: aws.String(m.Namespace), MetricName: aws.String(m.Name), Dimensions: dims},
				Period: aws.Int32(int32(period / time.Second)),
				Stat:   aws.String("Sum"),
			},
			ReturnData: aws.Bool(true),
		}},
	})
	var (
		out  []scaling.Point
		last types.StatusCode
	)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("reading %s/%s %v from %s: %w", m.Namespace, m.Name, m.Dimensions, from.Format(time.RFC3339), err)
		}
		for _, r := range page.MetricDataResults {
			if aws.ToString(r.Id) != historyID {
				continue
			}
			if r.StatusCode == types.StatusCodeInternalError || r.StatusCode == types.StatusCodeForbidden {
				return nil, fmt.Errorf("reading %s/%s %v: status %s", m.Namespace, m.Name, m.Dimensions, r.StatusCode)
			}
			if len(r.Timestamps) != len(r.Values) {
				return nil, fmt.Errorf("reading %s/%s: %d timestamps for %d values", m.Namespace, m.Name, len(r.Timestamps), len(r.Values))
			}
			for i, at := range r.Timestamps {
				out = append(out, scaling.Point{Time: at, Value: r.Values[i]})
			}
			last = r.StatusCode
		}
	}
	// PartialData on the last page, with no NextToken to follow, is a
	// read CloudWatch cut short (API reference, MetricDataResult): the
	// caller would keep its gaps as zeros, so it is an error, and the next
	// read asks again.
	if last == types.StatusCodePartialData {
		return nil, fmt.Errorf("reading %s/%s %v: CloudWatch returned partial data and no more pages", m.Namespace, m.Name, m.Dimensions)
	}
	slices.SortStableFunc(out, func(x, y scaling.Point) int { return x.Time.Compare(y.Time) })
	return out, nil
}
