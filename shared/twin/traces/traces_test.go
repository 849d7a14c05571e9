package traces_test

import (
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/stampkit/stampkit/shared/twin/traces"
)

var t0 = time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)

func TestFromCSV(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		step    time.Duration
		peak    float64
		want    []float64
		wantErr string
	}{
		{
			name: "header, per-minute rates interpolated to 30 s, no smoothing needed for a constant",
			in:   "minute,requests\n0,60\n1,60\n2,60\n", step: 30 * time.Second,
			want: []float64{1, 1, 1, 1, 1, 1},
		},
		{
			name: "scaled to the requested peak",
			in:   "0,120\n1,120\n", step: time.Minute, peak: 50,
			want: []float64{50, 50},
		},
		{
			name: "a spike is smoothed over five minutes",
			in:   "0,0\n1,0\n2,300\n3,0\n4,0\n", step: time.Minute,
			// Windows at the edges shrink: minute 0 averages minutes 0-2.
			want: []float64{1.6666666666666667, 1.25, 1, 1.25, 1.6666666666666667},
		},
		{name: "minutes must be consecutive", in: "0,1\n2,1\n", step: time.Minute, wantErr: "minutes must be consecutive"},
		{name: "negative count", in: "0,1\n1,-3\n", step: time.Minute, wantErr: "not a non-negative number"},
		{name: "not two columns", in: "0 1\n", step: time.Minute, wantErr: "is not minute,requests"},
		{name: "too short", in: "0,1\n", step: time.Minute, wantErr: "at least two minutes"},
		{name: "step must divide a minute", in: "0,1\n1,1\n", step: 7 * time.Second, wantErr: "must divide a minute"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr, err := traces.FromCSV(strings.NewReader(tt.in), "x", t0, tt.step, tt.peak)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("FromCSV error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("FromCSV: %v", err)
			}
			if d := cmp.Diff(tt.want, tr.Rates, cmp.Comparer(func(a, b float64) bool { return math.Abs(a-b) < 1e-9 })); d != "" {
				t.Errorf("rates (-want +got):\n%s", d)
			}
		})
	}
}

func TestNASAWeek(t *testing.T) {
	tr, err := traces.NASAWeek(10*time.Second, 3600)
	if err != nil {
		t.Fatalf("NASAWeek: %v", err)
	}
	if got, want := len(tr.Rates), 7*24*360; got != want {
		t.Errorf("got %d steps, want %d (a week at 10 s)", got, want)
	}
	if got := tr.Peak(); math.Abs(got-3600) > 1e-6 {
		t.Errorf("peak = %g, want 3600", got)
	}
	if got := tr.Start.Weekday(); got != time.Monday || tr.Start.Year() != 1995 {
		t.Errorf("starts %v, want Monday 10 July 1995", tr.Start)
	}
	// The launch on Thursday 13 July is the week's busiest hour.
	busiest, best := 0, 0.0
	for h := range 7 * 24 {
		sum := 0.0
		for _, r := range tr.Rates[h*360 : (h+1)*360] {
			sum += r
		}
		if sum > best {
			busiest, best = h, sum
		}
	}
	if day, hour := busiest/24, busiest%24; day != 3 || hour < 8 || hour > 10 {
		t.Errorf("busiest hour is day %d hour %d, want Thursday (day 3) morning", day, hour)
	}
}

func TestGenerators(t *testing.T) {
	base := traces.Shape{Step: time.Minute, Length: 6 * time.Hour, Base: 100, Peak: 400, At: 2 * time.Hour, Rise: 10 * time.Minute, Hold: 30 * time.Minute, Decay: 20 * time.Minute}
	at := func(tr traces.Trace, d time.Duration) float64 { return tr.Rates[int(d/tr.Step)] }
	tests := []struct {
		name   string
		gen    func(traces.Shape) (traces.Trace, error)
		checks map[time.Duration]float64
	}{
		{name: "step", gen: traces.Step, checks: map[time.Duration]float64{time.Hour: 100, 2 * time.Hour: 400, 2*time.Hour + 29*time.Minute: 400, 3 * time.Hour: 100}},
		{name: "spike", gen: traces.Spike, checks: map[time.Duration]float64{time.Hour: 100, 2*time.Hour + 5*time.Minute: 250, 2*time.Hour + 20*time.Minute: 400, 2*time.Hour + 50*time.Minute: 250, 4 * time.Hour: 100}},
		{name: "ramp", gen: traces.Ramp, checks: map[time.Duration]float64{time.Hour: 100, 2*time.Hour + 5*time.Minute: 250, 5 * time.Hour: 400}},
		{name: "flash crowd", gen: traces.FlashCrowd, checks: map[time.Duration]float64{time.Hour: 100, 2*time.Hour + 5*time.Minute: 200, 2*time.Hour + 10*time.Minute: 400, 2*time.Hour + 30*time.Minute: 100 + 300*math.Exp(-1)}},
		{name: "diurnal", gen: traces.Diurnal, checks: map[time.Duration]float64{2 * time.Hour: 400, 14 * time.Hour: 100}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := base
			if tt.name == "diurnal" {
				s.Length = 24 * time.Hour
			}
			tr, err := tt.gen(s)
			if err != nil {
				t.Fatalf("generate: %v", err)
			}
			if got, want := tr.Duration(), s.Length; got != want {
				t.Errorf("duration %v, want %v", got, want)
			}
			for d, want := range tt.checks {
				if got := at(tr, d); math.Abs(got-want) > 1e-6 {
					t.Errorf("rate at %v = %g, want %g", d, got, want)
				}
			}
		})
	}
	if _, err := traces.Step(traces.Shape{Step: time.Minute, Length: time.Second}); err == nil {
		t.Error("length shorter than a step: got no error")
	}
}

func TestNoise(t *testing.T) {
	shape := traces.Shape{Step: 10 * time.Second, Length: 24 * time.Hour, Base: 100, Peak: 100, Noise: 0.05, Burst: 0.12, Seed: 9}
	a, err := traces.Step(shape)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := traces.Step(shape)
	if !slices.Equal(a.Rates, b.Rates) {
		t.Error("one seed gave two traces")
	}
	shape.Seed = 10
	c, _ := traces.Step(shape)
	if slices.Equal(a.Rates, c.Rates) {
		t.Error("two seeds gave one trace")
	}
	sum := 0.0
	for _, r := range a.Rates {
		sum += r
	}
	if mean := sum / float64(len(a.Rates)); math.Abs(mean-100) > 5 {
		t.Errorf("mean rate %g, want about 100: the noise must not bias demand", mean)
	}
}
