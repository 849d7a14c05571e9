package twin_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stampkit/stampkit/shared/clock"
	"github.com/stampkit/stampkit/shared/scaling"
	"github.com/stampkit/stampkit/shared/twin"
	"github.com/stampkit/stampkit/shared/twin/traces"
)

// stepTrace is demand from base to peak instances' worth at at, for hold
// (zero: to the end), over length; no noise.
func stepTrace(t *testing.T, cfg twin.Config, length, at, hold time.Duration, base, peak float64) twin.Scenario {
	t.Helper()
	inst := cfg.PerInstanceTarget()
	tr, err := traces.Step(traces.Shape{Step: cfg.Step, Length: length, Base: base * inst, Peak: peak * inst, At: at, Hold: hold})
	if err != nil {
		t.Fatalf("trace: %v", err)
	}
	return twin.Scenario{Name: "step", Trace: tr}
}

// quiet is the default fleet without metric noise.
func quiet() twin.Config {
	cfg := twin.DefaultConfig()
	cfg.CPUNoise = 0
	return cfg
}

// TestTargetTrackingPeriods checks that target tracking's high alarm
// fires after 3 datapoints of the metric period: 3 minutes at AWS's 60 s,
// 30 s on a 10 s high-resolution metric; and that periods AWS refuses are
// refused.
func TestTargetTrackingPeriods(t *testing.T) {
	cfg := quiet()
	at := time.Hour
	sc := stepTrace(t, cfg, 2*time.Hour, at, 0, 10, 20)
	tests := []struct {
		name    string
		c       twin.TargetTrackingConfig
		want    time.Duration
		wantErr string
	}{
		{name: "one-minute CPU", c: twin.TargetTrackingConfig{TargetValue: 60}, want: 3 * time.Minute},
		{name: "30 s agent CPU", c: twin.TargetTrackingConfig{TargetValue: 60, Period: 30 * time.Second}, want: 90 * time.Second},
		{name: "10 s agent CPU", c: twin.TargetTrackingConfig{TargetValue: 60, Period: twin.HighResolutionPeriod}, want: 30 * time.Second},
		{name: "one-minute request count", c: twin.TargetTrackingConfig{Metric: twin.ALBRequestCountPerTarget, TargetValue: 3600}, want: 3 * time.Minute},
		{name: "request count at 10 s", c: twin.TargetTrackingConfig{Metric: twin.ALBRequestCountPerTarget, TargetValue: 3600, Period: twin.HighResolutionPeriod}, wantErr: "per minute"},
		{name: "20 s period", c: twin.TargetTrackingConfig{TargetValue: 60, Period: 20 * time.Second}, wantErr: "not 10 s, 30 s or 60 s"},
		{name: "2 minute period", c: twin.TargetTrackingConfig{TargetValue: 60, Period: 2 * time.Minute}, wantErr: "not 10 s, 30 s or 60 s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := twin.Run(t.Context(), cfg, sc, twin.TargetTracking(tt.c))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			if len(r.Scaling) == 0 {
				t.Fatal("never scaled out")
			}
			if got := r.Scaling[0].At.Sub(r.Start) - at; got != tt.want {
				t.Errorf("first scale-out %v after demand doubled, want %v", got, tt.want)
			}
		})
	}
}

// TestTargetTrackingWarmup checks how warming instances count: their CPU
// stays out of the alarm's metric, and they count as capacity, so that the
// breach that persists while they warm up adds nothing; the next
// scale-out comes only once they have warmed up.
func TestTargetTrackingWarmup(t *testing.T) {
	cfg := quiet()
	cfg.Hooks = nil
	warmup := 10 * time.Minute
	sc := stepTrace(t, cfg, 2*time.Hour, time.Hour, 0, 10, 20)
	c := twin.DefaultTargetTracking(60)
	c.Warmup = warmup
	r := run(t, cfg, sc, twin.TargetTracking(c))
	if len(r.Scaling) < 2 {
		t.Fatalf("scaling %v, want two scale-outs", r.Scaling)
	}
	first, second := r.Scaling[0], r.Scaling[1]
	// The first added instances are InService within a few minutes; the
	// second scale-out must wait for their warm-up on top.
	if gap := second.At.Sub(first.At); gap < warmup {
		t.Errorf("second scale-out %v after the first, want at least the %v warm-up: warming instances must count as capacity", gap, warmup)
	}
	if second.To < 19 || second.To > 20 {
		t.Errorf("second scale-out to %d, want about the 20 the demand needs", second.To)
	}
	// Each datapoint is the CPU of the instances that served, all past
	// warm-up or all equally loaded: never dragged down by idle instances
	// still in their health checks.
	high, _ := twin.TargetTrackingAlarms(cfg.Group)
	steps := int(time.Minute / cfg.Step)
	for _, dp := range r.Datapoints[high] {
		i := int(dp.Time.Sub(r.Start) / cfg.Step)
		mean := 0.0
		for _, s := range r.Samples[i : i+steps] {
			mean += s.CPU / float64(steps)
		}
		if d := dp.Value - mean; d < -0.5 || d > 0.5 {
			t.Errorf("datapoint of %s is %.2f, want the serving instances' %.2f", dp.Time.Format("15:04"), dp.Value, mean)
		}
	}
}

// TestTargetTrackingPolicies checks several policies on one group: out if
// any policy says out, in only if every policy with scale-in enabled says
// in; and that DisableScaleIn never scales in.
func TestTargetTrackingPolicies(t *testing.T) {
	cfg := quiet()
	cpu := func(target float64, noIn bool) twin.TargetTrackingConfig {
		c := twin.DefaultTargetTracking(target)
		c.DisableScaleIn = noIn
		return c
	}
	requests := func(target, ratio float64, noIn bool) twin.TargetTrackingConfig {
		c := twin.DefaultTargetTracking(target)
		c.Metric, c.ScaleInRatio, c.DisableScaleIn = twin.ALBRequestCountPerTarget, ratio, noIn
		return c
	}
	// 10 → 14 instances' worth: CPU 84 % stays under a 95 % target, the
	// request count per target (5040) passes 3600. 20 → 15: CPU 45 % is
	// under 90 % of 60, the request count (2700) over half of 3600.
	// Scale-out cases disable scale-in: the fleet starts at 60 % CPU, under
	// 90 % of a 95 % target.
	up := stepTrace(t, cfg, 2*time.Hour, time.Hour, 0, 10, 14)
	down := stepTrace(t, cfg, 2*time.Hour, time.Hour, 0, 20, 15)
	down.Name = "down"
	tests := []struct {
		name          string
		sc            twin.Scenario
		policies      []twin.TargetTrackingConfig
		wantOut       bool
		wantIn        bool
		wantOutReason string
	}{
		{name: "CPU alone does not scale out", sc: up, policies: []twin.TargetTrackingConfig{cpu(95, true)}},
		{name: "out if the request count says out", sc: up, policies: []twin.TargetTrackingConfig{cpu(95, true), requests(3600, 0.9, true)}, wantOut: true, wantOutReason: "-2-AlarmHigh"},
		{name: "CPU alone scales in", sc: down, policies: []twin.TargetTrackingConfig{cpu(60, false)}, wantIn: true},
		{name: "not in while the request count disagrees", sc: down, policies: []twin.TargetTrackingConfig{cpu(60, false), requests(3600, 0.5, false)}},
		{name: "in when the disagreeing policy has scale-in disabled", sc: down, policies: []twin.TargetTrackingConfig{cpu(60, false), requests(3600, 0.5, true)}, wantIn: true},
		{name: "disable scale-in never scales in", sc: down, policies: []twin.TargetTrackingConfig{cpu(60, true)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, cfg, tt.sc, twin.TargetTrackingPolicies(tt.policies...))
			var out, in bool
			for _, e := range r.Scaling {
				if e.To > e.From {
					if !out && !strings.Contains(e.Reason, tt.wantOutReason) {
						t.Errorf("first scale-out for %q, want the alarm *%s", e.Reason, tt.wantOutReason)
					}
					out = true
				} else {
					in = true
				}
			}
			// A scale-in overshoots a little and scales out again: the
			// scale-in cases look only at scale-in.
			if tt.sc.Name == "down" {
				out = tt.wantOut
			}
			if out != tt.wantOut || in != tt.wantIn {
				t.Errorf("scaled out %v, in %v (%v); want out %v, in %v", out, in, r.Scaling, tt.wantOut, tt.wantIn)
			}
		})
	}
}

// TestStepScaling checks native step scaling: it answers a bigger breach
// while the instances of the first are still launching (no cooldown),
// counts those instances as capacity rather than adding them again, and
// does not repeat a breach that stays in the same step.
func TestStepScaling(t *testing.T) {
	cfg := quiet()
	cfg.Hooks = nil
	// CPU 69 % (one step) from 01:00, then 100 % (the big step) from 01:01.
	inst := cfg.PerInstanceTarget()
	tr, err := traces.Step(traces.Shape{Step: cfg.Step, Length: 2 * time.Hour, Base: 10 * inst, Peak: 11.5 * inst, At: time.Hour})
	if err != nil {
		t.Fatalf("trace: %v", err)
	}
	for i := int((time.Hour + time.Minute) / cfg.Step); i < len(tr.Rates); i++ {
		tr.Rates[i] = 20 * inst
	}
	sc := twin.Scenario{Name: "bigger-breach", Trace: tr}
	rule := scaling.Rule{
		Alarm: cfg.Group + "-cpu-high", Direction: scaling.Out, AdjustmentType: scaling.ChangeInCapacity,
		Steps: []scaling.Step{{Upper: 20, Adjustment: 1}, {Lower: 20, Adjustment: 4}},
		Trigger: &scaling.Trigger{Namespace: "CWAgent", Metric: "cpu_usage_active", Dimensions: map[string]string{"AutoScalingGroupName": cfg.Group},
			Statistic: "Average", Period: clock.Duration(10 * time.Second), EvaluationPeriods: 1, DatapointsToAlarm: 1, Threshold: 60},
	}
	r := run(t, cfg, sc, twin.StepScaling(twin.StepScalingConfig{Rules: []scaling.Rule{rule}, Warmup: 10 * time.Minute}))
	if len(r.Scaling) < 2 {
		t.Fatalf("scaling %v, want two scale-outs", r.Scaling)
	}
	first, second := r.Scaling[0], r.Scaling[1]
	if first.From != 10 || first.To != 11 {
		t.Errorf("first scale-out %d -> %d, want 10 -> 11 (the small step)", first.From, first.To)
	}
	// 10 current instances + 4: the instance still launching counts.
	if second.To != 14 {
		t.Errorf("second scale-out %d -> %d, want 11 -> 14: the launching instance is part of the capacity", second.From, second.To)
	}
	if gap := second.At.Sub(first.At); gap > 90*time.Second {
		t.Errorf("second scale-out %v after the first, want it while the first instance still launches", gap)
	}
	if len(r.Scaling) > 2 && r.Scaling[2].At.Sub(first.At) < 10*time.Minute {
		t.Errorf("third scale-out %v at %v, within the warm-up: a breach in the same step was added again", r.Scaling[2], r.Scaling[2].At.Sub(first.At))
	}
}

// TestBaselinesUseTheWarmPool checks that every AWS baseline's scale-out
// starts instances from the group's warm pool: each changes desired
// capacity, and the group fills it from the pool first.
func TestBaselinesUseTheWarmPool(t *testing.T) {
	cfg := quiet()
	surge := stepTrace(t, cfg, 2*time.Hour, time.Hour, 0, 10, 30)
	hires := func() []twin.TargetTrackingConfig {
		cpu := twin.DefaultTargetTracking(60)
		cpu.Period = twin.HighResolutionPeriod
		rc := twin.DefaultTargetTracking(60 * cfg.PerInstanceTarget())
		rc.Metric = twin.ALBRequestCountPerTarget
		return []twin.TargetTrackingConfig{cpu, rc}
	}
	rc := twin.DefaultPredictive(twin.ALBRequestCount, 60*cfg.PerInstanceTarget())
	tests := []struct {
		name string
		sc   twin.Scenario
		a    twin.Autoscaler
		// by is the policy whose scale-out must start pooled instances.
		by string
	}{
		{name: "target tracking", sc: surge, a: twin.TargetTracking(twin.DefaultTargetTracking(60)), by: "target-tracking"},
		{name: "target tracking, two policies", sc: surge, a: twin.TargetTrackingPolicies(hires()...), by: "target-tracking"},
		{name: "step scaling", sc: surge, a: policy(t, cfg, "step"), by: "step"},
		{name: "predictive", sc: dailyPeak(cfg, 2, true), a: twin.Predictive(rc, twin.TargetTrackingPolicies(hires()...)), by: "predictive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pooled := cfg
			pooled.WarmPool = twin.DefaultWarmPool(cfg, 25)
			r := run(t, pooled, tt.sc, tt.a)
			var out *twin.ScalingEvent
			for i, e := range r.Scaling {
				if e.By == tt.by && e.To > e.From {
					out = &r.Scaling[i]
					break
				}
			}
			if out == nil {
				t.Fatalf("%s never scaled out: %v", tt.by, r.Scaling)
			}
			fromPool := 0
			for _, e := range r.Lifecycle {
				if e.What == twin.LaunchReady && e.WarmPool && !e.At.Before(out.At) && e.At.Before(out.At.Add(10*time.Minute)) {
					fromPool++
				}
			}
			if fromPool < out.To-out.From {
				t.Errorf("%d instances started from the pool within 10 minutes of %s's scale-out %d -> %d, want %d", fromPool, tt.by, out.From, out.To, out.To-out.From)
			}
		})
	}
}
