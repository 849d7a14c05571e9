package scaling_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/stampkit/stampkit/shared/clock"
	"github.com/stampkit/stampkit/shared/scaling"
)

var t0 = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

func testPolicy() scaling.Policy {
	return scaling.Policy{
		Min: 2, Max: 20,
		ScaleOutCooldown: clock.Duration(time.Minute),
		ScaleInCooldown:  clock.Duration(5 * time.Minute),
		Warmup:           clock.Duration(3 * time.Minute),
		ScaleInHold:      clock.Duration(5 * time.Minute),
		Rules: []scaling.Rule{
			{Alarm: "high", Direction: scaling.Out, AdjustmentType: scaling.ChangeInCapacity, Steps: []scaling.Step{
				{Lower: 0, Upper: 10, Adjustment: 1},
				{Lower: 10, Upper: 30, Adjustment: 3},
				{Lower: 30, Adjustment: 6},
			}},
			{Alarm: "low", Direction: scaling.In, AdjustmentType: scaling.ChangeInCapacity, Steps: []scaling.Step{
				{Lower: 0, Adjustment: 1},
			}},
		},
	}
}

func high(value float64, since time.Time) scaling.Signal {
	return scaling.Signal{Alarm: "high", State: scaling.StateAlarm, Value: value, Threshold: 60, Since: since}
}

func low(value float64, since time.Time) scaling.Signal {
	return scaling.Signal{Alarm: "low", State: scaling.StateAlarm, Value: value, Threshold: 30, Since: since}
}

// inAlarm and inOK are what a decision remembers of an alarm it applied.
func inAlarm(since time.Time) scaling.Seen {
	return scaling.Seen{State: scaling.StateAlarm, Since: since}
}

func inOK(since time.Time) scaling.Seen {
	return scaling.Seen{State: scaling.StateOK, Since: since}
}

func steady(n int) scaling.Group {
	return scaling.Group{Min: 1, Max: 50, Desired: n, InService: n}
}

func TestDecide(t *testing.T) {
	tests := []struct {
		name        string
		policy      func(p *scaling.Policy)
		state       scaling.State
		obs         scaling.Observation
		wantAction  scaling.Action
		wantOutcome scaling.Outcome
		wantTo      int
		wantWake    time.Time
	}{
		{
			name:       "small breach takes first step",
			obs:        scaling.Observation{Now: t0, Signal: high(65, t0), Group: steady(4)},
			wantAction: scaling.ScaleOut, wantOutcome: scaling.Scaled, wantTo: 5,
		},
		{
			name:       "breach on a step boundary takes the upper step",
			obs:        scaling.Observation{Now: t0, Signal: high(70, t0), Group: steady(4)},
			wantAction: scaling.ScaleOut, wantOutcome: scaling.Scaled, wantTo: 7,
		},
		{
			name:       "saturation takes the open-ended step",
			obs:        scaling.Observation{Now: t0, Signal: high(100, t0), Group: steady(4)},
			wantAction: scaling.ScaleOut, wantOutcome: scaling.Scaled, wantTo: 10,
		},
		{
			name:       "alarm still in ALARM with datapoint back under threshold takes first step",
			obs:        scaling.Observation{Now: t0, Signal: high(55, t0), Group: steady(4)},
			wantAction: scaling.ScaleOut, wantOutcome: scaling.Scaled, wantTo: 5,
		},
		{
			name: "percent change rounds down",
			policy: func(p *scaling.Policy) {
				p.Rules[0] = scaling.Rule{Alarm: "high", Direction: scaling.Out, AdjustmentType: scaling.PercentChangeInCapacity, Steps: []scaling.Step{{Adjustment: 50}}}
			},
			obs:        scaling.Observation{Now: t0, Signal: high(90, t0), Group: steady(5)},
			wantAction: scaling.ScaleOut, wantOutcome: scaling.Scaled, wantTo: 7,
		},
		{
			name: "percent change below one instance adds one",
			policy: func(p *scaling.Policy) {
				p.Rules[0] = scaling.Rule{Alarm: "high", Direction: scaling.Out, AdjustmentType: scaling.PercentChangeInCapacity, Steps: []scaling.Step{{Adjustment: 10}}}
			},
			obs:        scaling.Observation{Now: t0, Signal: high(90, t0), Group: steady(3)},
			wantAction: scaling.ScaleOut, wantOutcome: scaling.Scaled, wantTo: 4,
		},
		{
			name: "percent change honours minimum magnitude",
			policy: func(p *scaling.Policy) {
				p.Rules[0] = scaling.Rule{Alarm: "high", Direction: scaling.Out, AdjustmentType: scaling.PercentChangeInCapacity, MinAdjustmentMagnitude: 3, Steps: []scaling.Step{{Adjustment: 10}}}
			},
			obs:        scaling.Observation{Now: t0, Signal: high(90, t0), Group: steady(3)},
			wantAction: scaling.ScaleOut, wantOutcome: scaling.Scaled, wantTo: 6,
		},
		{
			name: "exact capacity",
			policy: func(p *scaling.Policy) {
				p.Rules[0] = scaling.Rule{Alarm: "high", Direction: scaling.Out, AdjustmentType: scaling.ExactCapacity, Steps: []scaling.Step{{Adjustment: 12}}}
			},
			obs:        scaling.Observation{Now: t0, Signal: high(90, t0), Group: steady(3)},
			wantAction: scaling.ScaleOut, wantOutcome: scaling.Scaled, wantTo: 12,
		},
		{
			name:       "clamped to policy max",
			obs:        scaling.Observation{Now: t0, Signal: high(100, t0), Group: steady(17)},
			wantAction: scaling.ScaleOut, wantOutcome: scaling.Scaled, wantTo: 20,
		},
		{
			name:       "clamped to the group's own max when lower",
			obs:        scaling.Observation{Now: t0, Signal: high(100, t0), Group: scaling.Group{Min: 1, Max: 8, Desired: 4, InService: 4}},
			wantAction: scaling.ScaleOut, wantOutcome: scaling.Scaled, wantTo: 8,
		},
		{
			name:       "at max does nothing",
			obs:        scaling.Observation{Now: t0, Signal: high(100, t0), Group: steady(20)},
			wantAction: scaling.None, wantOutcome: scaling.AtLimit, wantTo: 20,
		},
		{
			name:       "max step caps a large step",
			policy:     func(p *scaling.Policy) { p.MaxStepOut = 2 },
			obs:        scaling.Observation{Now: t0, Signal: high(100, t0), Group: steady(4)},
			wantAction: scaling.ScaleOut, wantOutcome: scaling.Scaled, wantTo: 6,
		},
		{
			name:       "scale-out cooldown suppresses and says when it ends",
			state:      scaling.State{LastScaleOut: t0.Add(-30 * time.Second), OutFrom: 3},
			obs:        scaling.Observation{Now: t0, Signal: high(100, t0), Group: steady(4)},
			wantAction: scaling.None, wantOutcome: scaling.Cooldown, wantTo: 4,
			wantWake: t0.Add(30 * time.Second),
		},
		{
			name:       "warm-up: repeated breach covered by instances in flight",
			state:      scaling.State{LastScaleOut: t0.Add(-2 * time.Minute), OutFrom: 4},
			obs:        scaling.Observation{Now: t0, Signal: high(65, t0), Group: scaling.Group{Min: 1, Max: 50, Desired: 5, InService: 4}},
			wantAction: scaling.None, wantOutcome: scaling.InFlight, wantTo: 5,
		},
		{
			name:       "warm-up: a worse breach adds only the difference",
			state:      scaling.State{LastScaleOut: t0.Add(-2 * time.Minute), OutFrom: 4},
			obs:        scaling.Observation{Now: t0, Signal: high(100, t0), Group: scaling.Group{Min: 1, Max: 50, Desired: 5, InService: 5}},
			wantAction: scaling.ScaleOut, wantOutcome: scaling.Scaled, wantTo: 10,
		},
		{
			name:       "after warm-up the new instances count",
			state:      scaling.State{LastScaleOut: t0.Add(-4 * time.Minute), OutFrom: 4},
			obs:        scaling.Observation{Now: t0, Signal: high(65, t0), Group: steady(5)},
			wantAction: scaling.ScaleOut, wantOutcome: scaling.Scaled, wantTo: 6,
		},
		{
			name:       "capacity still launching: the breach is measured from what is in service",
			obs:        scaling.Observation{Now: t0, Signal: high(100, t0), Group: scaling.Group{Min: 1, Max: 50, Desired: 6, InService: 4}},
			wantAction: scaling.ScaleOut, wantOutcome: scaling.Scaled, wantTo: 10,
		},
		{
			name:       "AlarmNotification suspended: the scaler does not scale either",
			obs:        scaling.Observation{Now: t0, Signal: high(100, t0), Group: scaling.Group{Min: 1, Max: 50, Desired: 4, InService: 4, Suspended: true}},
			wantAction: scaling.None, wantOutcome: scaling.Suspended, wantTo: 4,
		},
		{
			name:       "mid-refresh: the step is from desired, not the refresh's extra instances",
			obs:        scaling.Observation{Now: t0, Signal: high(65, t0), Group: scaling.Group{Min: 1, Max: 50, Desired: 8, InService: 16}},
			wantAction: scaling.ScaleOut, wantOutcome: scaling.Scaled, wantTo: 9,
		},
		{
			name:       "mid-refresh: a large step is from desired too",
			obs:        scaling.Observation{Now: t0, Signal: high(100, t0), Group: scaling.Group{Min: 1, Max: 50, Desired: 8, InService: 16}},
			wantAction: scaling.ScaleOut, wantOutcome: scaling.Scaled, wantTo: 14,
		},
		{
			name: "mid-refresh: a percent change is a share of desired",
			policy: func(p *scaling.Policy) {
				p.Rules[0] = scaling.Rule{Alarm: "high", Direction: scaling.Out, AdjustmentType: scaling.PercentChangeInCapacity, Steps: []scaling.Step{{Adjustment: 50}}}
			},
			obs:        scaling.Observation{Now: t0, Signal: high(90, t0), Group: scaling.Group{Min: 1, Max: 50, Desired: 8, InService: 12}},
			wantAction: scaling.ScaleOut, wantOutcome: scaling.Scaled, wantTo: 12,
		},
		{
			name:       "mid-refresh during warm-up: a repeated breach is covered by the last step",
			state:      scaling.State{LastScaleOut: t0.Add(-2 * time.Minute), OutFrom: 8},
			obs:        scaling.Observation{Now: t0, Signal: high(65, t0), Group: scaling.Group{Min: 1, Max: 50, Desired: 9, InService: 17}},
			wantAction: scaling.None, wantOutcome: scaling.InFlight, wantTo: 9,
		},
		{
			name:       "scale-in not yet enacted: a scale-out is from the lowered desired",
			obs:        scaling.Observation{Now: t0, Signal: high(65, t0), Group: scaling.Group{Min: 1, Max: 50, Desired: 5, InService: 6}},
			wantAction: scaling.ScaleOut, wantOutcome: scaling.Scaled, wantTo: 6,
		},
		{
			name:       "OK state does nothing",
			obs:        scaling.Observation{Now: t0, Signal: scaling.Signal{Alarm: "high", State: scaling.StateOK, Since: t0}, Group: steady(4)},
			wantAction: scaling.None, wantOutcome: scaling.NotInAlarm, wantTo: 4,
		},
		{
			name:       "INSUFFICIENT_DATA does nothing",
			obs:        scaling.Observation{Now: t0, Signal: scaling.Signal{Alarm: "low", State: scaling.StateInsufficientData, Since: t0}, Group: steady(4)},
			wantAction: scaling.None, wantOutcome: scaling.NotInAlarm, wantTo: 4,
		},
		{
			name:       "alarm without a rule does nothing",
			obs:        scaling.Observation{Now: t0, Signal: scaling.Signal{Alarm: "other", State: scaling.StateAlarm, Since: t0}, Group: steady(4)},
			wantAction: scaling.None, wantOutcome: scaling.UnknownAlarm, wantTo: 4,
		},
		{
			name:       "ALARM older than an applied OK is stale",
			state:      scaling.State{Seen: map[string]scaling.Seen{"high": inOK(t0)}},
			obs:        scaling.Observation{Now: t0, Signal: high(100, t0.Add(-time.Second)), Group: steady(4)},
			wantAction: scaling.None, wantOutcome: scaling.Stale, wantTo: 4,
		},
		{
			name:       "same signal re-evaluated by a tick is not stale",
			state:      scaling.State{Seen: map[string]scaling.Seen{"high": inAlarm(t0)}},
			obs:        scaling.Observation{Now: t0.Add(time.Minute), Signal: high(100, t0), Group: steady(4)},
			wantAction: scaling.ScaleOut, wantOutcome: scaling.Scaled, wantTo: 10,
		},
		{
			name:       "OK older than an applied ALARM is stale",
			state:      scaling.State{Seen: map[string]scaling.Seen{"high": inAlarm(t0)}},
			obs:        scaling.Observation{Now: t0, Signal: scaling.Signal{Alarm: "high", State: scaling.StateOK, Since: t0.Add(-time.Minute)}, Group: steady(4)},
			wantAction: scaling.None, wantOutcome: scaling.Stale, wantTo: 4,
		},
		{
			name:       "OK a millisecond older than an applied ALARM is stale",
			state:      scaling.State{Seen: map[string]scaling.Seen{"high": inAlarm(t0)}},
			obs:        scaling.Observation{Now: t0, Signal: scaling.Signal{Alarm: "high", State: scaling.StateOK, Since: t0.Add(-time.Millisecond)}, Group: steady(4)},
			wantAction: scaling.None, wantOutcome: scaling.Stale, wantTo: 4,
		},
		{
			name:       "ALARM a millisecond older than an applied OK is stale",
			state:      scaling.State{Seen: map[string]scaling.Seen{"high": inOK(t0)}},
			obs:        scaling.Observation{Now: t0, Signal: high(100, t0.Add(-time.Millisecond)), Group: steady(4)},
			wantAction: scaling.None, wantOutcome: scaling.Stale, wantTo: 4,
		},
		{
			name:       "ALARM after an applied OK acts",
			state:      scaling.State{Seen: map[string]scaling.Seen{"high": inOK(t0)}},
			obs:        scaling.Observation{Now: t0, Signal: high(65, t0.Add(time.Millisecond)), Group: steady(4)},
			wantAction: scaling.ScaleOut, wantOutcome: scaling.Scaled, wantTo: 5,
		},
		{
			name:       "ALARM read a second before the ALARM applied is not stale",
			state:      scaling.State{Seen: map[string]scaling.Seen{"high": inAlarm(t0)}},
			obs:        scaling.Observation{Now: t0.Add(time.Minute), Signal: high(65, t0.Add(-time.Second)), Group: steady(4)},
			wantAction: scaling.ScaleOut, wantOutcome: scaling.Scaled, wantTo: 5,
		},
		{
			name:       "record saved without a state does not make an older reading stale",
			state:      scaling.State{Seen: map[string]scaling.Seen{"high": {Since: t0.Add(time.Millisecond)}}},
			obs:        scaling.Observation{Now: t0.Add(time.Minute), Signal: high(65, t0), Group: steady(4)},
			wantAction: scaling.ScaleOut, wantOutcome: scaling.Scaled, wantTo: 5,
		},
		{
			name:       "scale-in holds from the later of two readings of one state",
			state:      scaling.State{Seen: map[string]scaling.Seen{"low": inAlarm(t0.Add(time.Second))}},
			obs:        scaling.Observation{Now: t0.Add(5 * time.Minute), Signal: low(10, t0), Group: steady(6)},
			wantAction: scaling.None, wantOutcome: scaling.Holding, wantTo: 6,
			wantWake: t0.Add(5*time.Minute + time.Second),
		},
		{
			name:       "a late event from an earlier spell in ALARM does not cut the hold short",
			state:      scaling.State{Seen: map[string]scaling.Seen{"low": inAlarm(t0)}},
			obs:        scaling.Observation{Now: t0.Add(time.Minute), Signal: low(10, t0.Add(-30*time.Minute)), Group: steady(6)},
			wantAction: scaling.None, wantOutcome: scaling.Holding, wantTo: 6,
			wantWake: t0.Add(5 * time.Minute),
		},
		{
			name:       "scale-in waits for the hold",
			obs:        scaling.Observation{Now: t0.Add(2 * time.Minute), Signal: low(10, t0), Group: steady(6)},
			wantAction: scaling.None, wantOutcome: scaling.Holding, wantTo: 6,
			wantWake: t0.Add(5 * time.Minute),
		},
		{
			name:       "scale-in once the hold has passed",
			obs:        scaling.Observation{Now: t0.Add(5 * time.Minute), Signal: low(10, t0), Group: steady(6)},
			wantAction: scaling.ScaleIn, wantOutcome: scaling.Scaled, wantTo: 5,
		},
		{
			name:       "alarm clock ahead of ours: the hold counts from zero, not negative",
			obs:        scaling.Observation{Now: t0, Signal: low(10, t0.Add(time.Minute)), Group: steady(6)},
			wantAction: scaling.None, wantOutcome: scaling.Holding, wantTo: 6,
			wantWake: t0.Add(6 * time.Minute),
		},
		{
			name:       "no scale-in soon after a scale-out",
			state:      scaling.State{LastScaleOut: t0.Add(-2 * time.Minute)},
			obs:        scaling.Observation{Now: t0, Signal: low(10, t0.Add(-10*time.Minute)), Group: steady(6)},
			wantAction: scaling.None, wantOutcome: scaling.Cooldown, wantTo: 6,
			wantWake: t0.Add(3 * time.Minute),
		},
		{
			name:       "scale-in cooldown after a scale-in",
			state:      scaling.State{LastScaleIn: t0.Add(-time.Minute)},
			obs:        scaling.Observation{Now: t0, Signal: low(10, t0.Add(-10*time.Minute)), Group: steady(6)},
			wantAction: scaling.None, wantOutcome: scaling.Cooldown, wantTo: 6,
			wantWake: t0.Add(4 * time.Minute),
		},
		{
			name:       "rollout hold pauses scale-in",
			obs:        scaling.Observation{Now: t0, Signal: low(10, t0.Add(-10*time.Minute)), Group: steady(6), Hold: &scaling.Hold{Rollout: "r1", LiveGroup: "web-green", Until: t0.Add(time.Hour)}},
			wantAction: scaling.None, wantOutcome: scaling.RolloutHold, wantTo: 6,
			wantWake: t0.Add(time.Hour),
		},
		{
			name:       "expired rollout hold does not pause",
			obs:        scaling.Observation{Now: t0, Signal: low(10, t0.Add(-10*time.Minute)), Group: steady(6), Hold: &scaling.Hold{Rollout: "r1", Until: t0}},
			wantAction: scaling.ScaleIn, wantOutcome: scaling.Scaled, wantTo: 5,
		},
		{
			name:       "rollout hold does not stop scale-out",
			obs:        scaling.Observation{Now: t0, Signal: high(65, t0), Group: steady(4), Hold: &scaling.Hold{Rollout: "r1", Until: t0.Add(time.Hour)}},
			wantAction: scaling.ScaleOut, wantOutcome: scaling.Scaled, wantTo: 5,
		},
		{
			name:       "no scale-in below protected instances",
			obs:        scaling.Observation{Now: t0, Signal: low(10, t0.Add(-10*time.Minute)), Group: scaling.Group{Min: 1, Max: 50, Desired: 4, InService: 4, Protected: 4}},
			wantAction: scaling.None, wantOutcome: scaling.AtLimit, wantTo: 4,
		},
		{
			name:       "scale-in stops at protected instances",
			policy:     func(p *scaling.Policy) { p.Rules[1].Steps[0].Adjustment = 5 },
			obs:        scaling.Observation{Now: t0, Signal: low(10, t0.Add(-10*time.Minute)), Group: scaling.Group{Min: 1, Max: 50, Desired: 8, InService: 8, Protected: 5}},
			wantAction: scaling.ScaleIn, wantOutcome: scaling.Scaled, wantTo: 5,
		},
		{
			name:       "at policy min does nothing",
			obs:        scaling.Observation{Now: t0, Signal: low(10, t0.Add(-10*time.Minute)), Group: steady(2)},
			wantAction: scaling.None, wantOutcome: scaling.AtLimit, wantTo: 2,
		},
		{
			name:       "max step caps a scale-in",
			policy:     func(p *scaling.Policy) { p.Rules[1].Steps[0].Adjustment = 5; p.MaxStepIn = 2 },
			obs:        scaling.Observation{Now: t0, Signal: low(10, t0.Add(-10*time.Minute)), Group: steady(10)},
			wantAction: scaling.ScaleIn, wantOutcome: scaling.Scaled, wantTo: 8,
		},
		{
			name:       "mid-refresh: scale-in is from desired, the refresh's extra instances are not launching",
			obs:        scaling.Observation{Now: t0, Signal: low(10, t0.Add(-10*time.Minute)), Group: scaling.Group{Min: 1, Max: 50, Desired: 8, InService: 16}},
			wantAction: scaling.ScaleIn, wantOutcome: scaling.Scaled, wantTo: 7,
		},
		{
			name:       "no scale-in while instances are launching",
			obs:        scaling.Observation{Now: t0, Signal: low(10, t0.Add(-10*time.Minute)), Group: scaling.Group{Min: 1, Max: 50, Desired: 6, InService: 5}},
			wantAction: scaling.None, wantOutcome: scaling.InFlight, wantTo: 6,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := testPolicy()
			if tt.policy != nil {
				tt.policy(&p)
			}
			if err := p.Validate(); err != nil {
				t.Fatalf("test policy is invalid: %v", err)
			}
			got, _ := scaling.Decide(p, tt.state, tt.obs)
			if got.Action != tt.wantAction || got.Outcome != tt.wantOutcome || got.To != tt.wantTo || !got.WakeAt.Equal(tt.wantWake) {
				t.Errorf("Decide = %s/%s to %d wake %v (%s), want %s/%s to %d wake %v",
					got.Action, got.Outcome, got.To, got.WakeAt, got.Reason, tt.wantAction, tt.wantOutcome, tt.wantTo, tt.wantWake)
			}
			if got.From != tt.obs.Group.Desired {
				t.Errorf("From = %d, want desired %d", got.From, tt.obs.Group.Desired)
			}
			if got.Reason == "" {
				t.Errorf("decision has no reason")
			}
		})
	}
}

func TestDecideState(t *testing.T) {
	p := testPolicy()
	t.Run("scale-out records time, base and signal", func(t *testing.T) {
		_, got := scaling.Decide(p, scaling.State{}, scaling.Observation{Now: t0, Signal: high(65, t0.Add(-time.Second)), Group: steady(4)})
		want := scaling.State{LastScaleOut: t0, OutFrom: 4, Seen: map[string]scaling.Seen{"high": inAlarm(t0.Add(-time.Second))}}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("state (-want +got):\n%s", d)
		}
	})
	t.Run("scale-out mid-refresh records desired as its base", func(t *testing.T) {
		g := scaling.Group{Min: 1, Max: 50, Desired: 8, InService: 16}
		_, got := scaling.Decide(p, scaling.State{}, scaling.Observation{Now: t0, Signal: high(65, t0), Group: g})
		if got.OutFrom != 8 {
			t.Errorf("OutFrom = %d, want desired 8: a repeated breach during warm-up is measured from it", got.OutFrom)
		}
	})
	t.Run("stale signal leaves state untouched", func(t *testing.T) {
		in := scaling.State{Seen: map[string]scaling.Seen{"high": inOK(t0)}}
		_, got := scaling.Decide(p, in, scaling.Observation{Now: t0, Signal: high(65, t0.Add(-time.Minute)), Group: steady(4)})
		if d := cmp.Diff(in, got); d != "" {
			t.Errorf("state (-want +got):\n%s", d)
		}
	})
	t.Run("input state is not mutated", func(t *testing.T) {
		in := scaling.State{Seen: map[string]scaling.Seen{"low": inAlarm(t0)}}
		scaling.Decide(p, in, scaling.Observation{Now: t0, Signal: high(65, t0), Group: steady(4)})
		if _, ok := in.Seen["high"]; ok {
			t.Errorf("Decide wrote into the caller's Seen map")
		}
	})
	t.Run("scale-in records time", func(t *testing.T) {
		since := t0.Add(-10 * time.Minute)
		_, got := scaling.Decide(p, scaling.State{}, scaling.Observation{Now: t0, Signal: low(10, since), Group: steady(6)})
		want := scaling.State{LastScaleIn: t0, Seen: map[string]scaling.Seen{"low": inAlarm(since)}}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("state (-want +got):\n%s", d)
		}
	})
}

// A storm of ticks during one overload must add capacity once per warm-up,
// not once per tick.
func TestDecideTickStormDoesNotOverScale(t *testing.T) {
	p := testPolicy()
	p.ScaleOutCooldown = 0
	var s scaling.State
	g := steady(4)
	since := t0
	for i := range 10 {
		now := t0.Add(time.Duration(i) * 10 * time.Second)
		d, next := scaling.Decide(p, s, scaling.Observation{Now: now, Signal: high(65, since), Group: g})
		s = next
		g.Desired = d.To // launches stay pending: InService unchanged
	}
	if g.Desired != 5 {
		t.Errorf("desired after 10 ticks = %d, want 5 (one step)", g.Desired)
	}
}

func TestStateMerge(t *testing.T) {
	at := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
	tests := []struct {
		name       string
		mine, them scaling.State
		want       scaling.State
	}{
		{
			name: "empty with empty",
		},
		{
			name: "later scale-out wins with its base",
			mine: scaling.State{LastScaleOut: at(1), OutFrom: 4},
			them: scaling.State{LastScaleOut: at(2), OutFrom: 6},
			want: scaling.State{LastScaleOut: at(2), OutFrom: 6},
		},
		{
			name: "own later scale-out kept",
			mine: scaling.State{LastScaleOut: at(3), OutFrom: 4},
			them: scaling.State{LastScaleOut: at(2), OutFrom: 6, LastScaleIn: at(1)},
			want: scaling.State{LastScaleOut: at(3), OutFrom: 4, LastScaleIn: at(1)},
		},
		{
			name: "newest signal per alarm",
			mine: scaling.State{Seen: map[string]scaling.Seen{"high": inAlarm(at(5)), "low": inOK(at(1))}},
			them: scaling.State{Seen: map[string]scaling.Seen{"high": inOK(at(4)), "low": inAlarm(at(2)), "other": inAlarm(at(3))}},
			want: scaling.State{Seen: map[string]scaling.Seen{"high": inAlarm(at(5)), "low": inAlarm(at(2)), "other": inAlarm(at(3))}},
		},
		{
			name: "a record with a state replaces a later one saved without",
			mine: scaling.State{Seen: map[string]scaling.Seen{"high": {Since: at(5)}}},
			them: scaling.State{Seen: map[string]scaling.Seen{"high": inAlarm(at(4))}},
			want: scaling.State{Seen: map[string]scaling.Seen{"high": inAlarm(at(4))}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.mine.Merge(tt.them)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Merge (-want +got):\n%s", diff)
			}
			if back := tt.them.Merge(tt.mine); !cmp.Equal(back.Seen, got.Seen) || !back.LastScaleIn.Equal(got.LastScaleIn) {
				t.Errorf("Merge is not symmetric on Seen/LastScaleIn: %+v vs %+v", back, got)
			}
		})
	}
	t.Run("does not alias", func(t *testing.T) {
		mine := scaling.State{Seen: map[string]scaling.Seen{"high": inAlarm(at(1))}}
		mine.Merge(scaling.State{Seen: map[string]scaling.Seen{"high": inAlarm(at(2))}})
		if !mine.Seen["high"].Since.Equal(at(1)) {
			t.Errorf("Merge changed its receiver's Seen: %v", mine.Seen)
		}
	})
}
