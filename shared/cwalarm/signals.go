package cwalarm

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"

	"github.com/stampkit/stampkit/shared/event"
	"github.com/stampkit/stampkit/shared/scaling"
)

// Source says where a Reading's value came from.
type Source string

// Sources of a Reading's value.
const (
	// SourceMetric is the newest complete period of the alarm's own metric
	// or metric-math expression, read with GetMetricData.
	SourceMetric Source = "metric"
	// SourceReason is the newest datapoint of the alarm's StateReasonData.
	// CloudWatch rewrites that data when the alarm's state changes, not every
	// period, so for an alarm that stays in ALARM it is the transition's value.
	SourceReason Source = "reason"
	// SourceThreshold is the threshold itself, when the reason data has none
	// (a composite alarm, some expression alarms).
	SourceThreshold Source = "threshold"
)

// Reading is an alarm's Signal and where its value came from.
type Reading struct {
	scaling.Signal
	Source Source
	// Fallback says why an alarm in ALARM has a value other than
	// SourceMetric; empty otherwise.
	Fallback string
}

// extraPeriods widen the GetMetricData window past the alarm's evaluation
// range, so a metric published a period or two late still has a datapoint.
const extraPeriods = 2

// watchedID names the one query of a single-metric alarm.
const watchedID = "watched"

// Signals reads the named alarms as the scaling decision sees them: state,
// newest value and threshold, and when the alarm entered its state. That
// time is StateTransitionedTimestamp, the instant an alarm state-change
// event reports too, but nothing promises the two agree to the
// millisecond; scaling.Decide does not need them to (see scaling.Seen).
// See Readings for where the value comes from; an alarm in ALARM whose
// metric could not be read is logged.
func (a *Adapter) Signals(ctx context.Context, names []string) ([]scaling.Signal, error) {
	readings, err := a.Readings(ctx, names)
	if err != nil {
		return nil, err
	}
	return signalsOf(ctx, readings), nil
}

// Prefetch describes the named alarms at once, one DescribeAlarms per 100
// names, and returns a Signals over them that describes nothing again: a
// tick batch's fleets share one describe and each reads its own alarms'
// signals from it, the metric of an alarm in ALARM (GetMetricData) on the
// context it is given. Names the prefetch did not describe, unknown or not
// among names, are skipped, as Signals skips unknown ones. The returned
// function is safe for concurrent use.
func (a *Adapter) Prefetch(ctx context.Context, names []string) (func(context.Context, []string) ([]scaling.Signal, error), error) {
	alarms, err := a.describe(ctx, names)
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context, names []string) ([]scaling.Signal, error) {
		var some []described
		for _, al := range alarms { // DescribeAlarms' order, as Signals has it
			if slices.Contains(names, al.Name) {
				some = append(some, al)
			}
		}
		return signalsOf(ctx, a.readings(ctx, some)), nil
	}, nil
}

// signalsOf returns the readings' signals and logs each alarm in ALARM
// whose metric could not be read.
func signalsOf(ctx context.Context, readings []Reading) []scaling.Signal {
	sigs := make([]scaling.Signal, 0, len(readings))
	for _, r := range readings {
		if r.Fallback != "" {
			// The decision goes ahead on the older value: the alarm itself
			// is current, and a step from the transition's value is what a
			// state-change event would have taken.
			slog.WarnContext(ctx, "alarm value is not its metric's newest",
				"alarm", r.Alarm, "value_source", r.Source, "value", r.Value, "fallback", r.Fallback)
		}
		sigs = append(sigs, r.Signal)
	}
	return sigs
}

// Readings reads the named alarms like Signals and says where each value
// came from. An alarm in ALARM has its metric's current value: its
// StateReasonData dates from the state change, and a scaler ticking on an
// alarm that stays in ALARM must see load rise or ease since. Its metric is
// read with the alarm's own definition (one GetMetricData call per alarm,
// so metric-math ids never collide); when that fails or finds no datapoint
// the value falls back to the reason data and Fallback says why. Alarms in
// other states keep the reason data's value, with no GetMetricData call.
func (a *Adapter) Readings(ctx context.Context, names []string) ([]Reading, error) {
	alarms, err := a.describe(ctx, names)
	if err != nil {
		return nil, err
	}
	return a.readings(ctx, alarms), nil
}

// readings reads the values of described alarms (see Readings).
func (a *Adapter) readings(ctx context.Context, alarms []described) []Reading {
	now := time.Now()
	readings := make([]Reading, 0, len(alarms))
	for _, al := range alarms {
		since := al.StateTransitioned
		if since.IsZero() {
			since = al.StateUpdated
		}
		r := Reading{Signal: scaling.Signal{Alarm: al.Name, State: al.State, Since: since}, Source: SourceReason}
		var ok bool
		r.Value, r.Threshold, ok = event.ReasonValues(al.StateReasonData)
		if !ok {
			r.Value, r.Threshold, r.Source = al.Threshold, al.Threshold, SourceThreshold
		}
		if al.State == StateAlarm {
			if value, err := a.current(ctx, al, now); err != nil {
				r.Fallback = err.Error()
			} else {
				r.Value, r.Source = value, SourceMetric
			}
		}
		readings = append(readings, r)
	}
	return readings
}

// current reads the newest complete period of the metric al watches.
func (a *Adapter) current(ctx context.Context, al described, now time.Time) (float64, error) {
	if al.metric == nil {
		return 0, fmt.Errorf("composite alarm %s has no metric", al.Name)
	}
	queries, id, period, err := watched(*al.metric)
	if err != nil {
		return 0, err
	}
	// The window ends at the start of the period in progress: a partial
	// period (a Sum, a SampleCount) reads low, and the alarm itself
	// evaluates complete periods only. Aligned ends also keep CloudWatch's
	// periods on the same boundaries as the alarm's.
	end := now.Truncate(period)
	if m := al.metric; len(m.Metrics) == 0 && (m.Statistic == types.StatisticSum || m.Statistic == types.StatisticSampleCount) {
		// The newest complete period may still be taking datapoints in: a
		// count of it reads low. Average and percentiles do not.
		end = end.Add(-period)
	}
	start := end.Add(-time.Duration(max(al.EvaluationPeriods, 1)+extraPeriods) * period)
	// One page: the window holds a handful of datapoints per query.
	out, err := a.api.GetMetricData(ctx, &cloudwatch.GetMetricDataInput{
		MetricDataQueries: queries,
		StartTime:         aws.Time(start),
		EndTime:           aws.Time(end),
		ScanBy:            types.ScanByTimestampDescending,
	})
	if err != nil {
		return 0, fmt.Errorf("reading metric of alarm %s: %w", al.Name, err)
	}
	for _, res := range out.MetricDataResults {
		if aws.ToString(res.Id) == id && len(res.Values) > 0 {
			return res.Values[0], nil // newest first (TimestampDescending)
		}
	}
	return 0, fmt.Errorf("metric of alarm %s has no datapoint from %s to %s", al.Name, start.UTC().Format(time.RFC3339), end.UTC().Format(time.RFC3339))
}

// watched returns the GetMetricData queries that read what m compares with
// its threshold, the id of the query whose values those are, and m's period.
func watched(m types.MetricAlarm) ([]types.MetricDataQuery, string, time.Duration, error) {
	name := aws.ToString(m.AlarmName)
	if len(m.Metrics) > 0 {
		// A metric-math alarm marks the expression it watches with
		// ReturnData; an anomaly-detection alarm also returns its band,
		// named by ThresholdMetricId.
		id := ""
		var secs int32
		for _, q := range m.Metrics {
			if aws.ToBool(q.ReturnData) && aws.ToString(q.Id) != aws.ToString(m.ThresholdMetricId) && id == "" {
				id = aws.ToString(q.Id)
			}
			secs = max(secs, aws.ToInt32(q.Period))
			if q.MetricStat != nil {
				secs = max(secs, aws.ToInt32(q.MetricStat.Period))
			}
		}
		if id == "" {
			return nil, "", 0, fmt.Errorf("metric-math alarm %s marks no query with ReturnData", name)
		}
		if secs <= 0 {
			return nil, "", 0, fmt.Errorf("metric-math alarm %s has no period", name)
		}
		return m.Metrics, id, time.Duration(secs) * time.Second, nil
	}
	stat := string(m.Statistic)
	if m.ExtendedStatistic != nil {
		stat = *m.ExtendedStatistic
	}
	if m.MetricName == nil || m.Namespace == nil || stat == "" || aws.ToInt32(m.Period) <= 0 {
		return nil, "", 0, fmt.Errorf("alarm %s has no complete metric definition", name)
	}
	q := types.MetricDataQuery{
		Id: aws.String(watchedID),
		MetricStat: &types.MetricStat{
			Metric: &types.Metric{Namespace: m.Namespace, MetricName: m.MetricName, Dimensions: m.Dimensions},
			Period: m.Period,
			Stat:   aws.String(stat),
			Unit:   m.Unit,
		},
		ReturnData: aws.Bool(true),
	}
	return []types.MetricDataQuery{q}, watchedID, time.Duration(*m.Period) * time.Second, nil
}
