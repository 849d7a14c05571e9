package scaler

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"time"

	"github.com/stampkit/stampkit/shared/config"
	"github.com/stampkit/stampkit/shared/invocation"
	"github.com/stampkit/stampkit/shared/logging"
	"github.com/stampkit/stampkit/shared/scaling"
)

// HistoryKey is the state-table key of a fleet's cached load history.
func HistoryKey(fleet string) string { return "history#" + fleet }

// historySettle keeps the newest minutes out of the cache: Elastic Load
// Balancing publishes its metrics to CloudWatch at one-minute intervals,
// and a minute just ended may not have its datapoint yet.
const historySettle = 2 * time.Minute

// historyRevise is how far back each read goes again over what is cached:
// CloudWatch aggregates the newest data late (its Sum "may show a dip at
// the end", https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch-live-data.html),
// and load balancer datapoints have been seen minutes late, so the recent
// periods are read again until they are this old, rather than frozen
// short; the level of the forecast is measured over them.
const historyRevise = 15 * time.Minute

// historyTimeout bounds the history read, so that a throttled or slow
// GetMetricData cannot take the time the fleets after this one need.
const historyTimeout = 5 * time.Second

// historyCache is the state-table record of a fleet's load history: about
// 4,100 five-minute totals for fourteen days, some 30 KB of JSON, well
// under DynamoDB's 400 KB item limit.
type historyCache struct {
	// Metric is what the history is of: a policy that changes it starts
	// the cache afresh.
	Metric scaling.Metric `json:"metric"`
	scaling.History
}

// forecast raises the fleet to its forecast floor once per tick window,
// through the same claim, lease and decision path as an alarm. A history
// that cannot be read is logged and counted (ForecastUnavailable) and
// leaves the tick to the alarms: the next tick reads it again.
func (h *Handler) forecast(ctx context.Context, fleet config.Fleet, window string) error {
	f := fleet.Scaling.Forecast
	if f == nil || h.History == nil {
		return nil
	}
	ctx = logging.With(ctx, "alarm", "forecast")
	now := h.Clock.Now()
	hist, err := h.history(ctx, fleet.Name, *f, now)
	if err != nil {
		h.Log.WarnContext(ctx, "forecast skipped: load history unreadable", "error", err)
		h.emit(ctx, fleet.Name, logging.Metric{Name: "ForecastUnavailable", Value: 1, Unit: logging.Count})
		return nil
	}
	pr := f.Predict(hist, now, fleet.Scaling.Min, fleet.Scaling.Max)
	var extra []logging.Metric
	if pr.Ready {
		extra = []logging.Metric{
			{Name: "ForecastLoad", Value: pr.Load, Unit: logging.Count},
			{Name: "ForecastFloor", Value: float64(pr.Capacity), Unit: logging.Count},
		}
	}
	return h.once(ctx, fleet.Name, "forecast#"+fleet.Name+"@"+window, func() error {
		return invocation.Lease(ctx, h.Store, scaling.LeaseKey(fleet.Name), leaseWait, func() error {
			return h.apply(ctx, fleet, func(state scaling.State, obs scaling.Observation) (scaling.Decision, scaling.State) {
				return scaling.RaiseToFloor(fleet.Scaling, state, obs.Now, obs.Group, pr)
			}, extra...)
		})
	})
}

// history returns the fleet's load history up to now, reading from the
// History port only the periods the cached copy lacks and caching the
// result. The cache is a cache: failing to save it is logged, and the
// next tick reads the same periods again.
func (h *Handler) history(ctx context.Context, fleet string, f scaling.Forecast, now time.Time) (scaling.History, error) {
	data, version, err := h.Store.Load(ctx, HistoryKey(fleet))
	if err != nil {
		return scaling.History{}, fmt.Errorf("loading load history of fleet %s: %w", fleet, err)
	}
	var c historyCache
	if len(data) > 0 {
		if err := json.Unmarshal(data, &c); err != nil {
			// A record this code cannot read is rebuilt from CloudWatch.
			h.Log.WarnContext(ctx, "load history cache unreadable; reading it again", "error", err)
			c = historyCache{}
		}
	}
	end := now.Add(-historySettle).Truncate(scaling.HistoryStep)
	oldest := end.Add(-f.Lookback()).Truncate(scaling.HistoryStep)
	// A cache of another metric, too old, from a clock that ran ahead, or
	// starting later than the lookback now asks for (lookbackDays grew) is
	// read afresh.
	if !sameMetric(c.Metric, f.Metric) || c.End().Before(oldest) || c.End().After(end) || c.Start.After(oldest.Add(scaling.HistoryStep)) {
		c = historyCache{Metric: f.Metric}
	}
	from := c.End().Add(-historyRevise)
	switch {
	case len(c.Values) == 0:
		from = oldest
	case from.Before(c.Start):
		from = c.Start
	}
	if !from.Before(end) {
		return c.History, nil
	}
	c.History = c.UpTo(from)
	readCtx, cancel := context.WithTimeout(ctx, historyTimeout)
	defer cancel()
	points, err := h.History.MetricSums(readCtx, f.Metric, time.Minute, from, end)
	if err != nil {
		return scaling.History{}, fmt.Errorf("reading load history of fleet %s from %s: %w", fleet, from.Format(time.RFC3339), err)
	}
	c.History = c.Extend(from, end, points).Trim(oldest)
	buf, err := json.Marshal(c)
	if err != nil {
		return scaling.History{}, fmt.Errorf("encoding load history of fleet %s: %w", fleet, err)
	}
	if err := h.Store.Save(ctx, HistoryKey(fleet), buf, version); err != nil {
		h.Log.WarnContext(ctx, "load history not cached", "error", err)
	}
	return c.History, nil
}

func sameMetric(a, b scaling.Metric) bool {
	return a.Namespace == b.Namespace && a.Name == b.Name && maps.Equal(a.Dimensions, b.Dimensions)
}
