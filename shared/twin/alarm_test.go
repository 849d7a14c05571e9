package twin_test

import (
	"math"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/stampkit/stampkit/shared/twin"
)

// TestAlarmEvaluate checks M-of-N evaluation, datapoint by datapoint. A NaN
// stands for a period with no data.
func TestAlarmEvaluate(t *testing.T) {
	const (
		alarm = "ALARM"
		ok    = "OK"
		insuf = "INSUFFICIENT_DATA"
	)
	nan := math.NaN()
	tests := []struct {
		name       string
		cmp        twin.Comparison
		threshold  float64
		n, m       int
		missing    string
		points     []float64
		wantStates []string
	}{
		{
			name: "3 of 3: two breaches are not enough, the third alarms, one good point clears",
			cmp:  twin.GreaterThanThreshold, threshold: 60, n: 3, m: 3,
			points:     []float64{50, 70, 70, 70, 50},
			wantStates: []string{ok, ok, ok, alarm, ok},
		},
		{
			name: "2 of 3 need not be consecutive",
			cmp:  twin.GreaterThanThreshold, threshold: 60, n: 3, m: 2,
			points:     []float64{70, 50, 70, 50, 50},
			wantStates: []string{insuf, insuf, alarm, ok, ok},
		},
		{
			name: "2 of 3 stays in alarm while two of the last three breach",
			cmp:  twin.GreaterThanThreshold, threshold: 60, n: 3, m: 2,
			points:     []float64{70, 70, 50, 70, 50, 50},
			wantStates: []string{insuf, alarm, alarm, alarm, ok, ok},
		},
		{
			name: "the threshold itself does not breach",
			cmp:  twin.GreaterThanThreshold, threshold: 60, n: 1, m: 1,
			points:     []float64{60, 60.001, 60},
			wantStates: []string{ok, alarm, ok},
		},
		{
			name: "15 of 15 below: fourteen leave it undecided, the fifteenth alarms",
			cmp:  twin.LessThanThreshold, threshold: 54, n: 15, m: 15,
			points:     []float64{40, 40, 40, 40, 40, 40, 40, 40, 40, 40, 40, 40, 40, 40, 40, 54},
			wantStates: []string{insuf, insuf, insuf, insuf, insuf, insuf, insuf, insuf, insuf, insuf, insuf, insuf, insuf, insuf, alarm, ok},
		},
		{
			name: "missing data keeps the state until the range is all missing",
			cmp:  twin.GreaterThanThreshold, threshold: 60, n: 3, m: 3,
			points:     []float64{70, 70, 70, nan, nan, nan, 50},
			wantStates: []string{insuf, insuf, alarm, alarm, alarm, insuf, ok},
		},
		{
			name: "missing data not breaching: a count published only when nonzero",
			cmp:  twin.GreaterThanThreshold, threshold: 300, n: 2, m: 2, missing: twin.TreatNotBreaching,
			points:     []float64{nan, 900, 900, nan, 900, nan, nan},
			wantStates: []string{ok, ok, alarm, ok, ok, ok, ok},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := twin.NewAlarm("a", tt.cmp, tt.threshold, tt.n, tt.m)
			a.TreatMissingData = tt.missing
			t0 := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
			var got []string
			prev := a.State()
			for i, v := range tt.points {
				now := t0.Add(time.Duration(i+1) * time.Minute)
				changed := a.Evaluate(twin.Datapoint{Time: now.Add(-time.Minute), Value: v, Missing: math.IsNaN(v)}, now)
				if changed != (a.State() != prev) {
					t.Errorf("point %d: Evaluate reported changed=%v going %s -> %s", i, changed, prev, a.State())
				}
				if changed && !a.Since().Equal(now) {
					t.Errorf("point %d: since = %v, want %v", i, a.Since(), now)
				}
				prev = a.State()
				got = append(got, a.State())
			}
			if d := cmp.Diff(tt.wantStates, got); d != "" {
				t.Errorf("states (-want +got):\n%s", d)
			}
			if n := len(a.Recent()); n > tt.n {
				t.Errorf("got %d datapoints in the evaluation range, want at most %d", n, tt.n)
			}
		})
	}
}
