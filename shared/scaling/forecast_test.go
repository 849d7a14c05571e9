package scaling_test

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/stampkit/stampkit/shared/clock"
	"github.com/stampkit/stampkit/shared/scaling"
)

// day0 is the midnight a synthetic history starts at.
var day0 = time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)

func testForecast() scaling.Forecast {
	return scaling.Forecast{
		Metric:      scaling.Metric{Namespace: "AWS/ApplicationELB", Name: "RequestCount", Dimensions: map[string]string{"TargetGroup": "targetgroup/web/1"}},
		PerInstance: 1000, LookbackDays: 14,
		Lead: clock.Duration(5 * time.Minute), Window: clock.Duration(15 * time.Minute),
		Quantile: 0.8, WeeklyWeight: 2,
	}
}

// diurnal is a load per minute with one daily peak of base+amp at peakAt
// (a cosine two hours wide either side), times 1±noise from a fixed
// pseudo-random sequence, and times weekend on Saturdays and Sundays.
func diurnal(base, amp float64, peakAt time.Duration, noise, weekend float64) func(t time.Time) float64 {
	return func(t time.Time) float64 {
		tod := t.Sub(t.Truncate(24 * time.Hour))
		dist := math.Abs((tod - peakAt).Hours())
		dist = math.Min(dist, 24-dist)
		v := base
		if dist < 2 {
			v += amp * (1 + math.Cos(math.Pi*dist/2)) / 2
		}
		if wd := t.Weekday(); wd == time.Saturday || wd == time.Sunday {
			v *= weekend
		}
		// A deterministic hash of the minute in [-1, 1).
		m := uint64(t.Unix() / 60)
		m ^= m >> 33
		m *= 0xff51afd7ed558ccd
		m ^= m >> 33
		return v * (1 + noise*(float64(m%2000)/1000-1))
	}
}

// history builds the History of load per minute from start for span.
func history(load func(time.Time) float64, start time.Time, span time.Duration) scaling.History {
	var pts []scaling.Point
	for t := start; t.Before(start.Add(span)); t = t.Add(time.Minute) {
		pts = append(pts, scaling.Point{Time: t, Value: load(t)})
	}
	return scaling.History{}.Extend(start, start.Add(span), pts)
}

// zeroed returns h with [from, to) set to zero: an outage.
func zeroed(h scaling.History, from, to time.Time) scaling.History {
	out := scaling.History{Start: h.Start, Values: append([]int64(nil), h.Values...)}
	for i := range out.Values {
		at := h.Start.Add(time.Duration(i) * scaling.HistoryStep)
		if !at.Before(from) && at.Before(to) {
			out.Values[i] = 0
		}
	}
	return out
}

func TestPredictIsDeterministic(t *testing.T) {
	load := diurnal(2000, 8000, 14*time.Hour, 0.1, 0.6)
	h := history(load, day0, 15*24*time.Hour)
	now := day0.Add(14*24*time.Hour + 13*time.Hour + 52*time.Minute)
	f := testForecast()
	first := f.Predict(h, now, 2, 100)
	for i := range 3 {
		// A copy that went through the state table's encoding.
		buf, err := json.Marshal(h)
		if err != nil {
			t.Fatal(err)
		}
		var again scaling.History
		if err := json.Unmarshal(buf, &again); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(first, f.Predict(again, now, 2, 100)); diff != "" {
			t.Fatalf("round %d: the same history predicted differently (-first +again):\n%s", i, diff)
		}
	}
	if !first.Ready || first.Capacity < 2 {
		t.Errorf("Predict = %+v, want a ready prediction", first)
	}
}

func TestPredictNeedsADayOfHistory(t *testing.T) {
	load := diurnal(2000, 8000, 14*time.Hour, 0, 1)
	tests := []struct {
		name string
		h    scaling.History
		want bool
	}{
		{name: "no history", h: scaling.History{}, want: false},
		{name: "23h55m", h: history(load, day0, 24*time.Hour-scaling.HistoryStep), want: false},
		{name: "24h", h: history(load, day0, 24*time.Hour), want: true},
		{
			name: "two days of which the first is silent: the load balancer did not exist",
			h:    zeroed(history(load, day0, 47*time.Hour), day0, day0.Add(24*time.Hour)),
			want: false,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now := tt.h.End()
			if tt.h.Start.IsZero() {
				now = day0
			}
			got := testForecast().Predict(tt.h, now, 2, 100)
			if got.Ready != tt.want {
				t.Errorf("Predict(...).Ready = %v (%s), want %v", got.Ready, got.Reason, tt.want)
			}
			if !got.Ready && (got.Capacity != 0 || got.Reason == "") {
				t.Errorf("Predict = %+v, want no capacity and a reason", got)
			}
		})
	}
}

// The forecast of tomorrow's peak, made before it starts, is within 10 %
// of the peak's real load.
func TestPredictRecoversDailySeasonality(t *testing.T) {
	tests := []struct {
		name      string
		base, amp float64
		peakAt    time.Duration
		noise     float64
		days      int
	}{
		{name: "afternoon peak, quiet data", base: 1000, amp: 9000, peakAt: 14 * time.Hour, days: 14},
		{name: "afternoon peak, 10% noise", base: 1000, amp: 9000, peakAt: 14 * time.Hour, noise: 0.1, days: 14},
		{name: "morning peak, 3 days of history", base: 3000, amp: 3000, peakAt: 9*time.Hour + 30*time.Minute, noise: 0.05, days: 3},
		{name: "peak at midnight", base: 500, amp: 5000, peakAt: 0, noise: 0.05, days: 7},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			load := diurnal(tt.base, tt.amp, tt.peakAt, tt.noise, 1)
			f := testForecast()
			f.LookbackDays, f.Quantile = tt.days, 0.5
			// Tomorrow (a weekday) 10 minutes before its peak; history up
			// to now.
			now := day0.Add(time.Duration(tt.days+1)*24*time.Hour + tt.peakAt - 10*time.Minute)
			h := history(load, now.Add(-time.Duration(tt.days+1)*24*time.Hour), time.Duration(tt.days+1)*24*time.Hour)
			got := f.Predict(h, now, 0, 1000)
			want := tt.base + tt.amp
			if !got.Ready || math.Abs(got.Centre-want)/want > 0.1 {
				t.Errorf("Predict centre = %.0f/min (%s), want within 10%% of %.0f", got.Centre, got.Reason, want)
			}
			if got.Load < got.Centre {
				t.Errorf("upper band %.0f is below the centre %.0f", got.Load, got.Centre)
			}
		})
	}
}

// Outages (long runs of zeros) in the history move the forecast of the
// next peak by less than 10 %.
func TestOutageDoesNotPoisonTheForecast(t *testing.T) {
	load := diurnal(1000, 9000, 14*time.Hour, 0.05, 1)
	now := day0.Add(14*24*time.Hour + 13*time.Hour + 50*time.Minute)
	clean := history(load, now.Add(-15*24*time.Hour), 15*24*time.Hour)
	tests := []struct {
		name     string
		from, to time.Time
	}{
		{name: "a day and a half down a week ago", from: now.Add(-8 * 24 * time.Hour), to: now.Add(-6*24*time.Hour - 12*time.Hour)},
		{name: "a week down, half the lookback", from: now.Add(-8*24*time.Hour - 12*time.Hour), to: now.Add(-24*time.Hour - 12*time.Hour)},
		{name: "three days down (the hurricane gap)", from: now.Add(-5 * 24 * time.Hour), to: now.Add(-2 * 24 * time.Hour)},
		{name: "yesterday's peak lost", from: now.Add(-24*time.Hour - time.Hour), to: now.Add(-24*time.Hour + 2*time.Hour)},
		{name: "the same time of week lost", from: now.Add(-7*24*time.Hour - time.Hour), to: now.Add(-7*24*time.Hour + 2*time.Hour)},
	}
	f := testForecast()
	want := f.Predict(clean, now, 0, 1000)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := f.Predict(zeroed(clean, tt.from, tt.to), now, 0, 1000)
			if math.Abs(got.Load-want.Load)/want.Load > 0.1 || math.Abs(got.Centre-want.Centre)/want.Centre > 0.1 {
				t.Errorf("with the outage: load %.0f centre %.0f, without: %.0f and %.0f; want within 10%%", got.Load, got.Centre, want.Load, want.Centre)
			}
		})
	}
}

func TestPredictCapacityIsClamped(t *testing.T) {
	load := diurnal(1000, 9000, 14*time.Hour, 0, 1)
	now := day0.Add(2*24*time.Hour + 13*time.Hour + 50*time.Minute)
	h := history(load, day0, 2*24*time.Hour+13*time.Hour+50*time.Minute)
	f := testForecast() // 10,000/min at the peak is 10 instances
	tests := []struct {
		name   string
		lo, hi int
		spare  float64
		want   int
	}{
		{name: "free", lo: 1, hi: 100, want: 10},
		{name: "max", lo: 1, hi: 6, want: 6},
		{name: "min", lo: 12, hi: 100, want: 12},
		// Square-root staffing: 10 + 1 × √10 = 13.2, rounded up.
		{name: "spare", lo: 1, hi: 100, spare: 1, want: 14},
		{name: "spare clamped", lo: 1, hi: 12, spare: 1, want: 12},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := f
			f.Spare = tt.spare
			if got := f.Predict(h, now, tt.lo, tt.hi); got.Capacity != tt.want {
				t.Errorf("Predict(lo %d, hi %d).Capacity = %d (%s), want %d", tt.lo, tt.hi, got.Capacity, got.Reason, tt.want)
			}
		})
	}
}

// History that runs ahead of now (a cache from a clock that was ahead)
// is not read: the forecast never sees the future.
func TestPredictIgnoresHistoryAfterNow(t *testing.T) {
	load := diurnal(1000, 9000, 14*time.Hour, 0, 1)
	now := day0.Add(3*24*time.Hour + 13*time.Hour)
	h := history(load, day0, 3*24*time.Hour+13*time.Hour)
	spiked := h.Extend(h.End(), now.Add(2*time.Hour), []scaling.Point{{Time: now.Add(30 * time.Minute), Value: 1e9}})
	f := testForecast()
	if a, b := f.Predict(h, now, 0, 1000), f.Predict(spiked, now, 0, 1000); a != b {
		t.Errorf("Predict read past now: %+v, want %+v", b, a)
	}
	// Nor does history after now count towards the day it needs.
	short := history(load, now.Add(-23*time.Hour), 23*time.Hour)
	short = short.Extend(short.End(), now.Add(2*time.Hour), []scaling.Point{{Time: now.Add(90 * time.Minute), Value: 1}})
	if got := f.Predict(short, now, 0, 1000); got.Ready {
		t.Errorf("23h of history and some after now: Predict is ready (%s), want not", got.Reason)
	}
}

// The seasonal shape is scaled by the last hour against what it said for
// that hour: a busier day is forecast busier, within the level's clamp.
func TestPredictFollowsTheLevel(t *testing.T) {
	load := diurnal(1000, 9000, 14*time.Hour, 0, 1)
	now := day0.Add(14*24*time.Hour + 13*time.Hour + 50*time.Minute)
	f := testForecast()
	f.Quantile = 0.5
	scaled := func(k float64, from time.Time) func(time.Time) float64 {
		return func(t time.Time) float64 {
			if t.Before(from) {
				return load(t)
			}
			return k * load(t)
		}
	}
	today := now.Add(-13*time.Hour - 50*time.Minute)
	tests := []struct {
		name      string
		load      func(time.Time) float64
		wantLevel float64
	}{
		{name: "an ordinary day", load: load, wantLevel: 1},
		{name: "a day half again as busy", load: scaled(1.5, today), wantLevel: 1.5},
		{name: "a day five times as busy is clamped", load: scaled(5, today), wantLevel: 2},
		{name: "an hour-long outage just now is clamped", load: scaled(0, now.Add(-time.Hour)), wantLevel: 0.5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := f.Predict(history(tt.load, now.Add(-15*24*time.Hour), 15*24*time.Hour), now, 0, 1000)
			if math.Abs(got.Level-tt.wantLevel) > 0.02 {
				t.Errorf("level = %.3f (%s), want %.2f", got.Level, got.Reason, tt.wantLevel)
			}
			if want := tt.wantLevel * 10000; math.Abs(got.Load-want)/want > 0.05 {
				t.Errorf("load = %.0f, want within 5%% of %.0f", got.Load, want)
			}
		})
	}
}

func TestHistoryExtendAndTrim(t *testing.T) {
	h := scaling.History{}.Extend(day0.Add(2*time.Minute), day0.Add(17*time.Minute), []scaling.Point{
		{Time: day0.Add(-time.Minute), Value: 100}, // before the start
		{Time: day0.Add(time.Minute), Value: 1},
		{Time: day0.Add(4 * time.Minute), Value: 2},
		{Time: day0.Add(6 * time.Minute), Value: 3},
		{Time: day0.Add(16 * time.Minute), Value: 100}, // in the unfinished period
	})
	want := scaling.History{Start: day0, Values: []int64{3, 3, 0}}
	if diff := cmp.Diff(want, h); diff != "" {
		t.Fatalf("Extend (-want +got):\n%s", diff)
	}
	// New data for periods already held is not added a second time.
	h = h.Extend(day0, day0.Add(25*time.Minute), []scaling.Point{{Time: day0, Value: 50}, {Time: day0.Add(15 * time.Minute), Value: 4}, {Time: day0.Add(21 * time.Minute), Value: 5}})
	want = scaling.History{Start: day0, Values: []int64{3, 3, 0, 4, 5}}
	if diff := cmp.Diff(want, h); diff != "" {
		t.Fatalf("second Extend (-want +got):\n%s", diff)
	}
	if got := h.Trim(day0.Add(12 * time.Minute)); !cmp.Equal(got, scaling.History{Start: day0.Add(10 * time.Minute), Values: []int64{0, 4, 5}}) {
		t.Errorf("Trim = %+v", got)
	}
	if got := h.End(); !got.Equal(day0.Add(25 * time.Minute)) {
		t.Errorf("End = %v, want %v", got, day0.Add(25*time.Minute))
	}
}

func TestRaiseToFloor(t *testing.T) {
	ready := func(capacity int) scaling.Prediction {
		return scaling.Prediction{Ready: true, Capacity: capacity, Reason: "test"}
	}
	tests := []struct {
		name        string
		group       scaling.Group
		pred        scaling.Prediction
		wantAction  scaling.Action
		wantOutcome scaling.Outcome
		wantTo      int
		wantFloor   int
	}{
		{name: "raises to the floor", group: steady(4), pred: ready(9), wantAction: scaling.ScaleOut, wantOutcome: scaling.Scaled, wantTo: 9, wantFloor: 9},
		{name: "never lowers", group: steady(12), pred: ready(9), wantAction: scaling.None, wantOutcome: scaling.AboveFloor, wantTo: 12, wantFloor: 9},
		{name: "at the floor", group: steady(9), pred: ready(9), wantAction: scaling.None, wantOutcome: scaling.AboveFloor, wantTo: 9, wantFloor: 9},
		{name: "clamped to the policy's max", group: steady(4), pred: ready(40), wantAction: scaling.ScaleOut, wantOutcome: scaling.Scaled, wantTo: 20, wantFloor: 20},
		{name: "clamped to the group's max", group: scaling.Group{Min: 1, Max: 7, Desired: 4, InService: 4}, pred: ready(9), wantAction: scaling.ScaleOut, wantOutcome: scaling.Scaled, wantTo: 7, wantFloor: 7},
		{name: "AlarmNotification suspended", group: scaling.Group{Min: 1, Max: 100, Desired: 4, InService: 4, Suspended: true}, pred: ready(9), wantAction: scaling.None, wantOutcome: scaling.Suspended, wantTo: 4},
		{name: "no forecast yet", group: steady(4), pred: scaling.Prediction{Reason: "1h of history"}, wantAction: scaling.None, wantOutcome: scaling.NoForecast, wantTo: 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, next := scaling.RaiseToFloor(testPolicy(), scaling.State{}, t0, tt.group, tt.pred)
			if d.Action != tt.wantAction || d.Outcome != tt.wantOutcome || d.To != tt.wantTo || d.From != tt.group.Desired {
				t.Errorf("RaiseToFloor = %+v, want %s/%s to %d", d, tt.wantAction, tt.wantOutcome, tt.wantTo)
			}
			if d.To < d.From {
				t.Errorf("RaiseToFloor lowered capacity: %d -> %d", d.From, d.To)
			}
			if next.Floor != tt.wantFloor {
				t.Errorf("state floor = %d, want %d", next.Floor, tt.wantFloor)
			}
			if tt.wantFloor > 0 && !next.FloorUntil.Equal(t0.Add(scaling.FloorHold)) {
				t.Errorf("floor held until %v, want %v", next.FloorUntil, t0.Add(scaling.FloorHold))
			}
			if raised := !next.LastScaleOut.IsZero(); raised != (d.Action == scaling.ScaleOut) {
				t.Errorf("LastScaleOut = %v after %s: a raise is a scale-out, nothing else is", next.LastScaleOut, d.Action)
			}
		})
	}
}

// A raise while an earlier scale-out still warms up keeps the capacity
// before it as the base a repeated breach is measured from: a breach
// after the raise must not count the instances in flight as warm.
func TestRaiseToFloorKeepsTheWarmupBase(t *testing.T) {
	p := testPolicy()
	s := scaling.State{LastScaleOut: t0.Add(-time.Minute), OutFrom: 10}
	g := scaling.Group{Min: 1, Max: 100, Desired: 17, InService: 17}
	_, next := scaling.RaiseToFloor(p, s, t0, g, scaling.Prediction{Ready: true, Capacity: 19, Reason: "test"})
	if next.OutFrom != 10 {
		t.Errorf("OutFrom after a raise during warm-up = %d, want the base before the earlier scale-out (10)", next.OutFrom)
	}
	s = scaling.State{LastScaleOut: t0.Add(-p.Warmup.Std() - time.Minute), OutFrom: 10}
	if _, next := scaling.RaiseToFloor(p, s, t0, g, scaling.Prediction{Ready: true, Capacity: 19, Reason: "test"}); next.OutFrom != 17 {
		t.Errorf("OutFrom after a raise once warm = %d, want the warm capacity (17)", next.OutFrom)
	}
}

// Reactive scale-in stops at the forecast floor while it holds, and goes
// below it once it has lapsed; reactive scale-out is not held back by it.
func TestDecideKeepsTheForecastFloor(t *testing.T) {
	p := testPolicy()
	p.Rules[1].Steps[0].Adjustment = 5
	since := t0.Add(-time.Hour)
	tests := []struct {
		name   string
		state  scaling.State
		sig    scaling.Signal
		group  scaling.Group
		wantTo int
	}{
		{name: "scale-in stops at the floor", state: scaling.State{Floor: 8, FloorUntil: t0.Add(time.Minute)}, sig: low(10, since), group: steady(10), wantTo: 8},
		{name: "at the floor: no scale-in", state: scaling.State{Floor: 10, FloorUntil: t0.Add(time.Minute)}, sig: low(10, since), group: steady(10), wantTo: 10},
		{name: "a floor above max holds at max", state: scaling.State{Floor: 30, FloorUntil: t0.Add(time.Minute)}, sig: low(10, since), group: steady(20), wantTo: 20},
		{name: "a lapsed floor holds nothing", state: scaling.State{Floor: 8, FloorUntil: t0}, sig: low(10, since), group: steady(10), wantTo: 5},
		{name: "scale-out goes past the floor", state: scaling.State{Floor: 8, FloorUntil: t0.Add(time.Minute)}, sig: high(80, t0), group: steady(8), wantTo: 11},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, _ := scaling.Decide(p, tt.state, scaling.Observation{Now: t0, Signal: tt.sig, Group: tt.group})
			if d.To != tt.wantTo {
				t.Errorf("Decide = %+v, want to %d", d, tt.wantTo)
			}
		})
	}
}

func TestMergeKeepsTheLaterFloor(t *testing.T) {
	a := scaling.State{Floor: 5, FloorUntil: t0.Add(time.Minute)}
	b := scaling.State{Floor: 9, FloorUntil: t0.Add(2 * time.Minute)}
	for _, m := range []scaling.State{a.Merge(b), b.Merge(a)} {
		if m.Floor != 9 || !m.FloorUntil.Equal(b.FloorUntil) {
			t.Errorf("Merge = floor %d until %v, want 9 until %v", m.Floor, m.FloorUntil, b.FloorUntil)
		}
	}
}

// A policy saved before forecasts existed still decodes, without one; one
// with a forecast block round-trips.
func TestPolicyForecastJSON(t *testing.T) {
	var old scaling.Policy
	if err := json.Unmarshal([]byte(`{"min":1,"max":4,"rules":[{"alarm":"a","direction":"out","adjustmentType":"ChangeInCapacity","steps":[{"lower":0,"adjustment":1}]}]}`), &old); err != nil {
		t.Fatalf("decoding a policy without forecast: %v", err)
	}
	if old.Forecast != nil || old.Validate() != nil {
		t.Errorf("old policy: forecast %+v, Validate %v; want none and valid", old.Forecast, old.Validate())
	}
	var p scaling.Policy
	raw := `{"min":1,"max":4,"rules":[],"forecast":{"namespace":"AWS/ApplicationELB","metric":"RequestCount","dimensions":{"TargetGroup":"targetgroup/web/1"},"perInstance":1000,"lookbackDays":14,"lead":"5m0s","window":"15m0s","quantile":0.8,"weeklyWeight":2}}`
	if err := json.Unmarshal([]byte(raw), &p); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(testForecast(), *p.Forecast); diff != "" {
		t.Errorf("decoded forecast (-want +got):\n%s", diff)
	}
}

// FuzzPredict: whatever history the state table holds, and whenever it is
// read, Predict neither panics nor leaves the policy's bounds.
func FuzzPredict(f *testing.F) {
	f.Add(`{"start":"2026-11-02T00:00:00Z","values":[1,2,3]}`, int64(600))
	f.Add(`{"start":"2026-11-02T00:05:00Z","values":[0,0,0,0]}`, int64(-3600))
	f.Add(`{"start":"0001-01-01T00:00:00Z","values":[9223372036854775807,-5]}`, int64(1<<40))
	f.Add(`{}`, int64(0))
	load := diurnal(1000, 9000, 14*time.Hour, 0.1, 0.6)
	seed := history(load, day0, 2*24*time.Hour)
	buf, _ := json.Marshal(seed)
	f.Add(string(buf), int64(47*3600))
	f.Fuzz(func(t *testing.T, in string, offset int64) {
		var h scaling.History
		if json.Unmarshal([]byte(in), &h) != nil || len(h.Values) > 20000 {
			return
		}
		now := h.Start.Add(time.Duration(offset) * time.Second)
		got := testForecast().Predict(h, now, 2, 50)
		if got.Ready && (got.Capacity < 2 || got.Capacity > 50) {
			t.Errorf("Predict capacity %d outside [2, 50]: %+v", got.Capacity, got)
		}
	})
}

// A load that peaks at 09:00 Berlin time every day is forecast at 09:00
// the week after the clocks went back only when the forecast keeps that
// clock: in UTC its samples from before the change stand an hour away.
func TestForecastFollowsItsTimeZone(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skipf("no tzdata here: %v", err)
	}
	// A quarter-hour surge at 09:00 local, 10 times the base.
	load := func(at time.Time) float64 {
		l := at.In(berlin)
		if l.Hour() == 9 && l.Minute() < 15 {
			return 10000
		}
		return 1000
	}
	// 14 days before 08:55 on Tuesday 27 October 2026; the clocks went
	// back on Sunday 25 October.
	now := time.Date(2026, 10, 27, 8, 55, 0, 0, berlin)
	start := now.Add(-14 * 24 * time.Hour).UTC().Truncate(time.Hour)
	h := history(load, start, now.Sub(start))
	f := testForecast()
	f.Lead, f.Window = clock.Duration(5*time.Minute), clock.Duration(5*time.Minute)
	f.Quantile, f.WeeklyWeight = 0.5, 0
	local := f
	local.TimeZone = "Europe/Berlin"
	if got := local.Predict(h, now, 0, 1000); got.Capacity < 9 {
		t.Errorf("in Berlin time: capacity %d (%s), want the surge's 10", got.Capacity, got.Reason)
	}
	if got := f.Predict(h, now, 0, 1000); got.Capacity >= 9 {
		t.Errorf("in UTC: capacity %d (%s), want the base: most samples stand an hour away", got.Capacity, got.Reason)
	}
	if err := (scaling.Forecast{TimeZone: "Mars/Olympus"}).Validate(); err == nil || !strings.Contains(err.Error(), "forecast.timeZone") {
		t.Errorf("Validate with an unknown zone = %v, want a forecast.timeZone error", err)
	}
}
