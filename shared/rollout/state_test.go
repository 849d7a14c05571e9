package rollout_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/stampkit/stampkit/shared/rollout"
	"github.com/stampkit/stampkit/shared/scaling"
)

func TestStateHold(t *testing.T) {
	bg := func(phase rollout.Phase, wake time.Time) rollout.State {
		return rollout.State{
			ID: "r1", Strategy: rollout.StrategyBlueGreen, Phase: phase, Started: t0,
			From: rollout.Side{Group: blue}, To: rollout.Side{Group: green}, WakeAt: wake,
		}
	}
	tests := []struct {
		name  string
		state rollout.State
		want  *scaling.Hold
	}{
		{name: "never rolled out", state: rollout.State{}},
		{name: "ended on green", state: rollout.State{ID: "r1", Phase: rollout.PhaseDone, Live: green}},
		{
			name:  "shifting holds the old group",
			state: bg(rollout.PhaseShift, t0.Add(time.Minute)),
			want:  &scaling.Hold{Rollout: "r1", LiveGroup: blue, Until: t0.Add(time.Minute + rollout.HoldGrace)},
		},
		{
			name:  "retaining holds the new group",
			state: bg(rollout.PhaseRetain, t0.Add(time.Hour)),
			want:  &scaling.Hold{Rollout: "r1", LiveGroup: green, Until: t0.Add(time.Hour + rollout.HoldGrace)},
		},
		{
			name:  "no wake-up yet runs from the start",
			state: bg(rollout.PhaseStamp, time.Time{}),
			want:  &scaling.Hold{Rollout: "r1", LiveGroup: blue, Until: t0.Add(rollout.HoldGrace)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, tt.state.Hold(blue)); diff != "" {
				t.Errorf("Hold (-want +got):\n%s", diff)
			}
		})
	}
}

func TestStateWeights(t *testing.T) {
	p := rollout.Policy{Strategy: rollout.StrategyBlueGreen, BlueGreen: rollout.BlueGreen{
		TargetGroup: tgBlue, PeerGroup: green, PeerTargetGroup: tgGreen,
	}}
	w := func(blueW, greenW int) []rollout.Weight {
		return []rollout.Weight{{TargetGroup: tgBlue, Weight: blueW}, {TargetGroup: tgGreen, Weight: greenW}}
	}
	tests := []struct {
		name  string
		state rollout.State
		want  []rollout.Weight
	}{
		{name: "never rolled out", want: w(100, 0)},
		{name: "rolled back", state: rollout.State{Phase: rollout.PhaseDone, Outcome: rollout.RolledBack}, want: w(100, 0)},
		{
			name: "mid-shift",
			state: rollout.State{Strategy: rollout.StrategyBlueGreen, Phase: rollout.PhaseShift, Shifted: 50,
				From: rollout.Side{Group: blue, TargetGroup: tgBlue}, To: rollout.Side{Group: green, TargetGroup: tgGreen}},
			want: w(50, 50),
		},
		{name: "promoted", state: rollout.State{Phase: rollout.PhaseDone, Live: green}, want: []rollout.Weight{
			{TargetGroup: tgGreen, Weight: 100}, {TargetGroup: tgBlue, Weight: 0},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, tt.state.Weights(p, blue)); diff != "" {
				t.Errorf("Weights (-want +got):\n%s", diff)
			}
		})
	}
}
