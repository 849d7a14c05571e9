package twin

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/stampkit/stampkit/shared/scaling"
)

// requestHistory is the load balancer's per-minute RequestCount as
// CloudWatch keeps it, per target group, for the scaler's forecast: what
// its History port reads with GetMetricData in AWS. It counts the
// requests the listener routed to each group's target group, served or
// not, as RequestCount does.
type requestHistory struct {
	s *sim
	// perMinute maps a target group's ARN to its requests in each minute
	// of the run.
	perMinute map[string][]int64
}

// newRequestHistory starts recording the run's per-minute requests.
func newRequestHistory(s *sim) *requestHistory {
	h := &requestHistory{s: s, perMinute: map[string][]int64{}}
	s.onStep = append(s.onStep, h.observe)
	return h
}

func (h *requestHistory) observe(i int) {
	smp := h.s.res.Samples[i]
	minute := int(time.Duration(i) * h.s.cfg.Step / time.Minute)
	add := func(tg string, n int64) {
		m := h.perMinute[tg]
		for len(m) <= minute {
			m = append(m, 0)
		}
		m[minute] += n
		h.perMinute[tg] = m
	}
	add(h.s.fleet.tg, smp.Offered-smp.PeerOffered)
	if h.s.peer != nil {
		add(h.s.peer.tg, smp.PeerOffered)
	}
}

// A minute's datapoint becomes readable publishLag after the minute ends:
// the load balancer "measures and sends its metrics in 60-second
// intervals"
// (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-cloudwatch-metrics.html),
// and CloudWatch aggregates the newest data late. One minute in
// lateEvery comes lateLag late instead, as load balancer datapoints have
// been seen to; a reader that froze what it read first would keep those
// minutes short.
const (
	publishLag = time.Minute
	lateLag    = 6 * time.Minute
	lateEvery  = 17
)

// published reports whether minute i's datapoint is readable at now.
func (h *requestHistory) published(i int) bool {
	lag := publishLag
	if i%lateEvery == lateEvery-1 {
		lag = lateLag
	}
	return !h.s.start.Add(time.Duration(i+1)*time.Minute + lag).After(h.s.Now())
}

// MetricSums serves the scaler's History port: AWS/ApplicationELB
// RequestCount of one target group (or, without a TargetGroup dimension,
// of the load balancer), one Sum per minute of [from, to) that has been
// published and had requests: the load balancer publishes no datapoint
// for a minute without them.
func (h *requestHistory) MetricSums(ctx context.Context, m scaling.Metric, period time.Duration, from, to time.Time) ([]scaling.Point, error) {
	return callValue(h.s, ctx, svcCloudWatch, "GetMetricData", false, func() ([]scaling.Point, error) {
		if m.Namespace != "AWS/ApplicationELB" || m.Name != "RequestCount" || period != time.Minute {
			return nil, fmt.Errorf("the twin keeps history of AWS/ApplicationELB RequestCount per minute, not %s/%s per %v", m.Namespace, m.Name, period)
		}
		tg := m.Dimensions["TargetGroup"]
		var series [][]int64
		for arn, counts := range h.perMinute {
			if tg == "" || strings.HasSuffix(arn, ":"+tg) {
				series = append(series, counts)
			}
		}
		start := h.s.start
		ended := int(h.s.Now().Sub(start) / time.Minute)
		var out []scaling.Point
		for i := max(0, int(from.Sub(start)/time.Minute)); i < ended; i++ {
			at := start.Add(time.Duration(i) * time.Minute)
			if !at.Before(to) {
				break
			}
			var n int64
			for _, counts := range series {
				if i < len(counts) {
					n += counts[i]
				}
			}
			if n > 0 && !at.Before(from) && h.published(i) {
				out = append(out, scaling.Point{Time: at, Value: float64(n)})
			}
		}
		return out, nil
	})
}
