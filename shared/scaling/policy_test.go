package scaling_test

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/stampkit/stampkit/shared/clock"
	"github.com/stampkit/stampkit/shared/scaling"
)

func TestPolicyValidate(t *testing.T) {
	tests := []struct {
		name    string
		mutate  func(p *scaling.Policy)
		wantErr string // substring naming the field; "" means valid
	}{
		{name: "valid", mutate: func(*scaling.Policy) {}},
		{name: "negative min", mutate: func(p *scaling.Policy) { p.Min = -1 }, wantErr: "min:"},
		{name: "max below min", mutate: func(p *scaling.Policy) { p.Max = 1 }, wantErr: "max:"},
		{name: "negative cooldown", mutate: func(p *scaling.Policy) { p.ScaleInCooldown = clock.Duration(-time.Second) }, wantErr: "scaleInCooldown"},
		{name: "no rules", mutate: func(p *scaling.Policy) { p.Rules = nil }, wantErr: "rules:"},
		{name: "duplicate alarm", mutate: func(p *scaling.Policy) { p.Rules[1].Alarm = "high" }, wantErr: "rules[1].alarm"},
		{name: "bad direction", mutate: func(p *scaling.Policy) { p.Rules[0].Direction = "up" }, wantErr: "rules[0].direction"},
		{name: "bad adjustment type", mutate: func(p *scaling.Policy) { p.Rules[0].AdjustmentType = "Double" }, wantErr: "rules[0].adjustmentType"},
		{name: "first step not at zero", mutate: func(p *scaling.Policy) { p.Rules[0].Steps[0].Lower = 5 }, wantErr: "rules[0].steps"},
		{name: "gap between steps", mutate: func(p *scaling.Policy) { p.Rules[0].Steps[1].Lower = 12 }, wantErr: "rules[0].steps"},
		{name: "bounded last step", mutate: func(p *scaling.Policy) { p.Rules[0].Steps[2].Upper = 50 }, wantErr: "rules[0].steps"},
		{name: "zero adjustment", mutate: func(p *scaling.Policy) { p.Rules[1].Steps[0].Adjustment = 0 }, wantErr: "rules[1].steps"},
		{name: "valid trigger", mutate: func(p *scaling.Policy) { p.Rules[0].Trigger = cpuTrigger(60*time.Second, 3, 2) }},
		{name: "high-resolution trigger", mutate: func(p *scaling.Policy) { p.Rules[0].Trigger = cpuTrigger(10*time.Second, 6, 6) }},
		{name: "trigger period off the grid", mutate: func(p *scaling.Policy) { p.Rules[0].Trigger = cpuTrigger(45*time.Second, 3, 2) }, wantErr: "rules[0].trigger"},
		{name: "trigger needs more datapoints than it evaluates", mutate: func(p *scaling.Policy) { p.Rules[1].Trigger = cpuTrigger(time.Minute, 2, 3) }, wantErr: "rules[1].trigger"},
		{name: "valid forecast", mutate: withForecast(func(*scaling.Forecast) {})},
		{name: "forecast: no metric", mutate: withForecast(func(f *scaling.Forecast) { f.Name = "" }), wantErr: "forecast.namespace/metric"},
		{name: "forecast: no dimensions", mutate: withForecast(func(f *scaling.Forecast) { f.Dimensions = nil }), wantErr: "forecast.dimensions"},
		{name: "forecast: no per-instance load", mutate: withForecast(func(f *scaling.Forecast) { f.PerInstance = 0 }), wantErr: "forecast.perInstance"},
		{name: "forecast: no lookback", mutate: withForecast(func(f *scaling.Forecast) { f.LookbackDays = 0 }), wantErr: "forecast.lookbackDays"},
		{name: "forecast: lookback past retention", mutate: withForecast(func(f *scaling.Forecast) { f.LookbackDays = 15 }), wantErr: "forecast.lookbackDays"},
		{name: "forecast: negative lead", mutate: withForecast(func(f *scaling.Forecast) { f.Lead = clock.Duration(-time.Minute) }), wantErr: "forecast.lead"},
		{name: "forecast: window under a period", mutate: withForecast(func(f *scaling.Forecast) { f.Window = clock.Duration(time.Minute) }), wantErr: "forecast.window"},
		{name: "forecast: quantile under the median", mutate: withForecast(func(f *scaling.Forecast) { f.Quantile = 0.3 }), wantErr: "forecast.quantile"},
		{name: "forecast: quantile of one", mutate: withForecast(func(f *scaling.Forecast) { f.Quantile = 1 }), wantErr: "forecast.quantile"},
		{name: "forecast: negative weekly weight", mutate: withForecast(func(f *scaling.Forecast) { f.WeeklyWeight = -1 }), wantErr: "forecast.weeklyWeight"},
		{name: "forecast: empty dimension value", mutate: withForecast(func(f *scaling.Forecast) { f.Dimensions = map[string]string{"LoadBalancer": ""} }), wantErr: "forecast.dimensions"},
		{name: "forecast: negative spare", mutate: withForecast(func(f *scaling.Forecast) { f.Spare = -0.5 }), wantErr: "forecast.spare"},
		{name: "forecast: spare not a number", mutate: withForecast(func(f *scaling.Forecast) { f.Spare = math.NaN() }), wantErr: "forecast.spare"},
		{name: "negative exact capacity", mutate: func(p *scaling.Policy) {
			p.Rules[1].AdjustmentType = scaling.ExactCapacity
			p.Rules[1].Steps[0].Adjustment = -1
		}, wantErr: "rules[1].steps"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := testPolicy()
			tt.mutate(&p)
			err := p.Validate()
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("Validate() = %v, want nil", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("Validate() = %v, want an error naming %q", err, tt.wantErr)
			}
		})
	}
}

func cpuTrigger(period time.Duration, evaluate, datapoints int) *scaling.Trigger {
	return &scaling.Trigger{Namespace: "AWS/EC2", Metric: "CPUUtilization", Statistic: "Average",
		Period: clock.Duration(period), EvaluationPeriods: evaluate, DatapointsToAlarm: datapoints, Threshold: 60}
}

// withForecast sets testForecast, changed by mutate, as p's forecast.
func withForecast(mutate func(f *scaling.Forecast)) func(p *scaling.Policy) {
	return func(p *scaling.Policy) {
		f := testForecast()
		mutate(&f)
		p.Forecast = &f
	}
}
