package scaler_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stampkit/stampkit/shared/clock"
	"github.com/stampkit/stampkit/shared/cwalarm"
	"github.com/stampkit/stampkit/shared/scaler"
	"github.com/stampkit/stampkit/shared/scaling"
)

// The CloudWatch adapter serves the port in the Lambda.
var _ scaler.History = (*cwalarm.Adapter)(nil)

// fakeHistory is CloudWatch's per-minute sums of one metric, load(t) in
// the minute starting at t, for minutes since since. It records every
// read.
type fakeHistory struct {
	load  func(t time.Time) float64
	since time.Time
	reads []string // "from/to" in minutes before t0
	fail  error
	// lag, with now, keeps a minute's datapoint back until lag after it
	// ended: CloudWatch publishing late.
	lag time.Duration
	now func() time.Time
}

func (f *fakeHistory) MetricSums(_ context.Context, m scaling.Metric, period time.Duration, from, to time.Time) ([]scaling.Point, error) {
	f.reads = append(f.reads, fmt.Sprintf("%v/%v", t0.Sub(from), t0.Sub(to)))
	if f.fail != nil {
		return nil, f.fail
	}
	if m.Name != "RequestCount" || period != time.Minute {
		return nil, fmt.Errorf("unexpected query %+v per %v", m, period)
	}
	var out []scaling.Point
	for t := from; t.Before(to); t = t.Add(time.Minute) {
		if f.now != nil && t.Add(time.Minute+f.lag).After(f.now()) {
			continue
		}
		if v := f.load(t); v > 0 && !t.Before(f.since) {
			out = append(out, scaling.Point{Time: t, Value: v})
		}
	}
	return out, nil
}

// flat is a load of perMinute requests every minute.
func flat(perMinute float64) func(time.Time) float64 {
	return func(time.Time) float64 { return perMinute }
}

// newForecastRig is newRig with a forecast of 1,000 requests a minute per
// instance over two days of history at load.
func newForecastRig(t *testing.T, load func(time.Time) float64) (*rig, *fakeHistory) {
	t.Helper()
	r := newRig(t, false)
	r.h.Config.Fleets[0].Scaling.Forecast = &scaling.Forecast{
		Metric:      scaling.Metric{Namespace: "AWS/ApplicationELB", Name: "RequestCount", Dimensions: map[string]string{"TargetGroup": "targetgroup/web/1"}},
		PerInstance: 1000, LookbackDays: 14,
		Lead: clock.Duration(5 * time.Minute), Window: clock.Duration(15 * time.Minute), Quantile: 0.8,
	}
	if err := r.h.Config.Validate(); err != nil {
		t.Fatalf("test config: %v", err)
	}
	hist := &fakeHistory{load: load, since: t0.Add(-48 * time.Hour)}
	r.h.History = hist
	return r, hist
}

func TestTickRaisesToTheForecastFloor(t *testing.T) {
	tests := []struct {
		name      string
		perMinute float64
		since     time.Duration // history before t0
		want      string
		wantLog   string
	}{
		{name: "floor above desired", perMinute: 9000, since: 48 * time.Hour, want: "web-asg=9", wantLog: `"reason":"forecast floor: forecast 9000/min`},
		{name: "floor above max", perMinute: 90000, since: 48 * time.Hour, want: "web-asg=20", wantLog: `"outcome":"scaled"`},
		{name: "floor below desired", perMinute: 3000, since: 48 * time.Hour, want: "", wantLog: `"outcome":"above_floor"`},
		{name: "under a day of history", perMinute: 9000, since: 20 * time.Hour, want: "", wantLog: `"outcome":"no_forecast"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, hist := newForecastRig(t, flat(tt.perMinute))
			hist.since = t0.Add(-tt.since)
			if err := r.handle(t, tickEvent("tick-1", t0)); err != nil {
				t.Fatalf("tick: %v", err)
			}
			if got := strings.Join(r.groups.sets, ","); got != tt.want {
				t.Errorf("capacity changes = %q, want %q", got, tt.want)
			}
			for _, want := range []string{tt.wantLog, `"msg":"scaling decision"`, `"alarm":"forecast"`} {
				if !strings.Contains(r.logs.String(), want) {
					t.Errorf("logs lack %s:\n%s", want, r.logs.String())
				}
			}
			if tt.want != "" && !strings.Contains(r.logs.String(), `"ForecastFloor":`) {
				t.Errorf("no ForecastFloor metric:\n%s", r.logs.String())
			}
		})
	}
}

// A tick delivered twice, or delivered again after the raise was undone
// by someone else, raises once; so does the retry of a tick whose alarm
// evaluation failed after the raise.
func TestDuplicatedTickRaisesOnce(t *testing.T) {
	t.Run("duplicate delivery", func(t *testing.T) {
		r, _ := newForecastRig(t, flat(9000))
		for i, id := range []string{"tick-1", "tick-1", "tick-2"} {
			r.clock.Set(t0.Add(time.Duration(i) * time.Second))
			if err := r.handle(t, tickEvent(id, t0)); err != nil {
				t.Fatalf("delivery %d: %v", i, err)
			}
			// An operator lowers it again: only a second raise would undo it.
			r.groups.groups["web-asg"].Desired = 4
		}
		if got := strings.Join(r.groups.sets, ","); got != "web-asg=9" {
			t.Errorf("capacity changes = %q, want one raise", got)
		}
	})
	t.Run("a late tick of an earlier window", func(t *testing.T) {
		r, _ := newForecastRig(t, flat(9000))
		for i, at := range []time.Time{t0.Add(time.Minute), t0} {
			r.clock.Set(t0.Add(time.Minute + time.Duration(i)*time.Second))
			if err := r.handle(t, tickEvent(fmt.Sprintf("tick-%d", i), at)); err != nil {
				t.Fatalf("delivery %d: %v", i, err)
			}
		}
		if got := strings.Join(r.groups.sets, ","); got != "web-asg=9" {
			t.Errorf("capacity changes = %q, want one raise", got)
		}
	})
	t.Run("retry after a failed alarm evaluation", func(t *testing.T) {
		r, _ := newForecastRig(t, flat(9000))
		r.h.Alarms = failingAlarms{}
		if err := r.handle(t, tickEvent("tick-1", t0)); err == nil {
			t.Fatal("tick with unreadable alarms succeeded, want its error")
		}
		r.groups.groups["web-asg"].Desired = 4
		r.clock.Set(t0.Add(time.Minute))
		r.h.Alarms = r.alarms
		if err := r.handle(t, tickEvent("tick-1", t0)); err != nil {
			t.Fatalf("retry: %v", err)
		}
		if got := strings.Join(r.groups.sets, ","); got != "web-asg=9" {
			t.Errorf("capacity changes = %q, want one raise", got)
		}
	})
}

type failingAlarms struct{}

func (failingAlarms) Signals(context.Context, []string) ([]scaling.Signal, error) {
	return nil, errors.New("throttled")
}

// A low alarm held past its hold and cooldown scales in, but not below
// the floor that the ticks keep: a scale-in under it would be raised
// again at the next tick.
func TestScaleInStopsAtTheForecastFloor(t *testing.T) {
	r, _ := newForecastRig(t, flat(9000))
	r.alarms.signals = []scaling.Signal{{Alarm: "web-low", State: scaling.StateAlarm, Value: 5, Threshold: 30, Since: t0}}
	for m := range 15 {
		at := t0.Add(time.Duration(m) * time.Minute)
		r.clock.Set(at)
		if err := r.handle(t, tickEvent(fmt.Sprintf("tick-%d", m), at)); err != nil {
			t.Fatalf("tick %d: %v", m, err)
		}
	}
	if got := strings.Join(r.groups.sets, ","); got != "web-asg=9" {
		t.Errorf("capacity changes = %q, want the raise and no scale-in under it", got)
	}
	if !strings.Contains(r.logs.String(), "forecast floor)") {
		t.Errorf("no scale-in was held at the floor:\n%s", r.logs.String())
	}
}

// Each tick reads from CloudWatch only the periods the cached history
// lacks, and the cache is small.
func TestForecastReadsOnlyNewHistory(t *testing.T) {
	r, hist := newForecastRig(t, flat(9000))
	for i, m := range []time.Duration{0, 1, 2, 3, 5, 10} {
		at := t0.Add(m * time.Minute)
		r.clock.Set(at)
		if err := r.handle(t, tickEvent(fmt.Sprintf("tick-%d", i), at)); err != nil {
			t.Fatalf("tick at +%dm: %v", m, err)
		}
	}
	// The first read goes back the lookback (14 days, plus the hour the
	// level looks back and a period) from the last whole five minutes two minutes ago; then
	// each tick reads again the last 15 minutes cached (late datapoints
	// revise them) and what has ended since.
	want := []string{"337h10m0s/5m0s", "20m0s/5m0s", "20m0s/0s", "15m0s/0s", "15m0s/0s", "15m0s/-5m0s"}
	if got := hist.reads; strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("reads (from/to before t0) = %v, want %v", got, want)
	}
	data, _, err := r.store.Load(t.Context(), scaler.HistoryKey("web"))
	if err != nil || len(data) == 0 {
		t.Fatalf("cached history: %d bytes, %v", len(data), err)
	}
	if len(data) > 100_000 {
		t.Errorf("cached history is %d bytes, want well under DynamoDB's 400 KB", len(data))
	}

	// A policy that changes the metric starts the cache afresh.
	r.h.Config.Fleets[0].Scaling.Forecast.Dimensions = map[string]string{"TargetGroup": "targetgroup/web/2"}
	r.clock.Set(t0.Add(11 * time.Minute))
	if err := r.handle(t, tickEvent("tick-new-metric", t0.Add(11*time.Minute))); err != nil {
		t.Fatal(err)
	}
	if got := hist.reads[len(hist.reads)-1]; got != "337h0m0s/-5m0s" {
		t.Errorf("read after the metric changed = %s, want the whole lookback", got)
	}

	// A longer lookback reads the days the cache lacks.
	r.h.Config.Fleets[0].Scaling.Forecast.LookbackDays = 7
	r.clock.Set(t0.Add(20 * time.Minute))
	if err := r.handle(t, tickEvent("tick-short", t0.Add(20*time.Minute))); err != nil {
		t.Fatal(err)
	}
	r.h.Config.Fleets[0].Scaling.Forecast.LookbackDays = 14
	r.clock.Set(t0.Add(21 * time.Minute))
	if err := r.handle(t, tickEvent("tick-long", t0.Add(21*time.Minute))); err != nil {
		t.Fatal(err)
	}
	if got := hist.reads[len(hist.reads)-1]; got != "336h50m0s/-15m0s" {
		t.Errorf("read after the lookback grew = %s, want the whole lookback", got)
	}
}

// A period read before all its datapoints were published is read again
// later, not cached short for good.
func TestLateDatapointsReviseTheCache(t *testing.T) {
	r, hist := newForecastRig(t, flat(9000))
	hist.lag, hist.now = 6*time.Minute, r.clock.Now
	cached := func() scaling.History {
		t.Helper()
		data, _, err := r.store.Load(t.Context(), scaler.HistoryKey("web"))
		if err != nil {
			t.Fatal(err)
		}
		var h scaling.History
		if err := json.Unmarshal(data, &h); err != nil {
			t.Fatal(err)
		}
		return h
	}
	for m := range 16 {
		at := t0.Add(time.Duration(m) * time.Minute)
		r.clock.Set(at)
		if err := r.handle(t, tickEvent(fmt.Sprintf("tick-%d", m), at)); err != nil {
			t.Fatalf("tick at +%dm: %v", m, err)
		}
	}
	h := cached()
	// Every period that ended more than the lag before now holds all five
	// of its minutes.
	settled := t0.Add(15*time.Minute - 6*time.Minute - time.Minute).Truncate(scaling.HistoryStep)
	for i, v := range h.Values {
		start := h.Start.Add(time.Duration(i) * scaling.HistoryStep)
		if start.Before(t0.Add(-time.Hour)) || !start.Add(scaling.HistoryStep).Before(settled) {
			continue
		}
		if v != 5*9000 {
			t.Errorf("period at %s cached as %d, want %d: a late datapoint was frozen out", start.Format("15:04"), v, 5*9000)
		}
	}
}

// On a tick, an alarm still in ALARM is evaluated before the floor: a
// floor raise first would put it in its scale-out cooldown, and on a
// ramp, where the floor rises every minute, the alarm would never act.
func TestTickEvaluatesAlarmsBeforeTheFloor(t *testing.T) {
	r, _ := newForecastRig(t, flat(6000))
	r.alarms.signals = []scaling.Signal{{Alarm: "web-high", State: scaling.StateAlarm, Value: 90, Threshold: 60, Since: t0}}
	if err := r.handle(t, tickEvent("tick-1", t0)); err != nil {
		t.Fatalf("tick: %v", err)
	}
	// 30 past the threshold is +4 from 4; the floor (6) is then covered.
	if got := strings.Join(r.groups.sets, ","); got != "web-asg=8" {
		t.Errorf("capacity changes = %q, want the alarm's step to 8 and no raise", got)
	}
}

// A history that cannot be read leaves the tick to the alarms, counted.
func TestUnreadableHistoryLeavesTheAlarmsToScale(t *testing.T) {
	r, hist := newForecastRig(t, flat(9000))
	hist.fail = errors.New("throttled")
	r.alarms.signals = []scaling.Signal{{Alarm: "web-high", State: scaling.StateAlarm, Value: 70, Threshold: 60, Since: t0}}
	if err := r.handle(t, tickEvent("tick-1", t0)); err != nil {
		t.Fatalf("tick: %v", err)
	}
	if got := strings.Join(r.groups.sets, ","); got != "web-asg=5" {
		t.Errorf("capacity changes = %q, want the alarm's step", got)
	}
	if !strings.Contains(r.logs.String(), `"ForecastUnavailable":1`) {
		t.Errorf("no ForecastUnavailable metric:\n%s", r.logs.String())
	}
}

// A forecast raise and an alarm's scale-in at once take turns under the
// fleet's lease: the scale-in decides on the raise (and its cooldown),
// not on the capacity before it.
func TestForecastRaiseHoldsTheLease(t *testing.T) {
	r, _ := newForecastRig(t, flat(9000))
	done := make(chan error, 1)
	groups := &racingGroups{fakeGroups: r.groups, first: make(chan struct{})}
	groups.second = func() {
		done <- r.h.Handle(t.Context(), alarmEvent("ev-low", "web-low", "ALARM", t0.Add(-10*time.Minute), 5, 10))
	}
	r.h.Groups = groups
	if err := r.handle(t, tickEvent("tick-1", t0)); err != nil {
		t.Fatalf("tick: %v", err)
	}
	if err := <-done; err != nil {
		t.Fatalf("low alarm: %v", err)
	}
	if got := r.groups.groups["web-asg"].Desired; got != 9 {
		t.Errorf("desired capacity = %d (sets %v), want 9: the scale-in decided on the capacity before the raise", got, r.groups.sets)
	}
}
