package twin

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"
)

// Predictive scaling modes and behaviours at the group's maximum, as the
// PredictiveScalingConfiguration API names them.
const (
	ForecastOnly        = "ForecastOnly"
	ForecastAndScale    = "ForecastAndScale"
	HonorMaxCapacity    = "HonorMaxCapacity"
	IncreaseMaxCapacity = "IncreaseMaxCapacity"
)

// Predefined predictive scaling metric pairs: the load metric forecast and
// the scaling metric whose target sizes capacity.
const (
	// ASGCPUUtilization forecasts the group's total CPU
	// (ASGTotalCPUUtilization) and sizes it at a target average CPU.
	ASGCPUUtilization = "ASGCPUUtilization"
	// ALBRequestCount forecasts the target group's requests
	// (ALBTargetGroupRequestCount) and sizes them at a target request
	// count per target per minute.
	ALBRequestCount = "ALBRequestCount"
)

// Documented predictive scaling timing
// (https://docs.aws.amazon.com/autoscaling/ec2/userguide/predictive-scaling-policy-overview.html):
// the metric "must have at least 24 hours of data"; the policy analyses
// "metric data from up to the past 14 days" to "generate an hourly
// forecast of capacity requirements for the next 48 hours", and "the
// forecast is updated every 6 hours".
const (
	PredictiveMinHistory = 24 * time.Hour
	PredictiveMaxHistory = 14 * 24 * time.Hour
	PredictiveHorizon    = 48 * time.Hour
	PredictiveRefresh    = 6 * time.Hour
)

// PredictiveConfig is an AWS predictive scaling policy.
type PredictiveConfig struct {
	// MetricPair is ASGCPUUtilization ("" too) or ALBRequestCount.
	MetricPair string
	// TargetValue is the scaling metric per instance: percent CPU, or
	// requests per target per minute.
	TargetValue float64
	// Mode is ForecastOnly (also ""; AWS's default: "Defaults to
	// ForecastOnly if not specified", PredictiveScalingConfiguration API)
	// or ForecastAndScale.
	Mode string
	// SchedulingBufferTime launches each hour's capacity that much ahead:
	// "Defaults to 300 seconds if not specified"; it "must be less than
	// the forecast interval duration of 3600 seconds" (API reference).
	// DefaultPredictive sets the default; zero here is a real zero.
	SchedulingBufferTime time.Duration
	// MaxCapacityBreachBehavior is HonorMaxCapacity (also ""; the API's
	// default) or IncreaseMaxCapacity, which raises the group's maximum to
	// the forecast plus MaxCapacityBuffer percent.
	MaxCapacityBreachBehavior string
	MaxCapacityBuffer         int
}

// DefaultPredictive is a predictive scaling policy in ForecastAndScale
// mode on metric pair at target, with AWS's default buffer and maximum
// behaviour.
func DefaultPredictive(pair string, target float64) PredictiveConfig {
	return PredictiveConfig{MetricPair: pair, TargetValue: target, Mode: ForecastAndScale, SchedulingBufferTime: 300 * time.Second, MaxCapacityBreachBehavior: HonorMaxCapacity}
}

func (c PredictiveConfig) validate() error {
	var errs []error
	switch c.MetricPair {
	case "", ASGCPUUtilization, ALBRequestCount:
	default:
		errs = append(errs, fmt.Errorf("metric pair %q is not %s or %s", c.MetricPair, ASGCPUUtilization, ALBRequestCount))
	}
	if c.TargetValue <= 0 {
		errs = append(errs, fmt.Errorf("target value %g must be positive", c.TargetValue))
	}
	switch c.Mode {
	case "", ForecastOnly, ForecastAndScale:
	default:
		errs = append(errs, fmt.Errorf("mode %q is not %s or %s", c.Mode, ForecastOnly, ForecastAndScale))
	}
	if c.SchedulingBufferTime < 0 || c.SchedulingBufferTime >= time.Hour {
		errs = append(errs, fmt.Errorf("scheduling buffer time %v must be in [0, 1h)", c.SchedulingBufferTime))
	}
	switch c.MaxCapacityBreachBehavior {
	case "", HonorMaxCapacity, IncreaseMaxCapacity:
	default:
		errs = append(errs, fmt.Errorf("max capacity breach behavior %q is not %s or %s", c.MaxCapacityBreachBehavior, HonorMaxCapacity, IncreaseMaxCapacity))
	}
	if c.MaxCapacityBuffer < 0 || c.MaxCapacityBuffer > 100 {
		errs = append(errs, fmt.Errorf("max capacity buffer %d must be 0-100", c.MaxCapacityBuffer))
	}
	return errors.Join(errs...)
}

// Forecast is one forecast predictive scaling generated.
type Forecast struct {
	// At is when it was generated.
	At time.Time
	// Hours are the 48 forecast hours from At.
	Hours []ForecastHour
}

// ForecastHour is one hour of a forecast.
type ForecastHour struct {
	Start time.Time
	// Load is the forecast load: total CPU in percent of one instance, or
	// requests a minute.
	Load float64
	// Capacity is the instances the load needs at the target value.
	Capacity int
}

// loadHistory is the group's load metrics, totalled per clock hour, as
// CloudWatch keeps them for predictive scaling to read: the twin's own
// simulated history, nothing from before the run.
type loadHistory struct {
	// origin is the virtual time of hour 0's start: the clock hour the run
	// starts in.
	origin time.Duration
	// first is when the first step was observed, -1 before.
	first time.Duration
	// cpu and requests total each hour's steps; steps counts them.
	cpu, requests []float64
	steps         []int
}

// add records one step's metrics at now.
func (h *loadHistory) add(now time.Duration, sm stepMetrics) {
	if h.first < 0 {
		h.first = now
	}
	i := int((now - h.origin) / time.Hour)
	for len(h.steps) <= i {
		h.cpu, h.requests, h.steps = append(h.cpu, 0), append(h.requests, 0), append(h.steps, 0)
	}
	h.cpu[i] += sm.cpuAll
	h.requests[i] += float64(sm.requests)
	h.steps[i]++
}

type predictive struct {
	c       PredictiveConfig
	dynamic Autoscaler
}

// Predictive models Amazon EC2 Auto Scaling's predictive scaling
// (https://docs.aws.amazon.com/autoscaling/ec2/userguide/ec2-auto-scaling-predictive-scaling.html
// and predictive-scaling-policy-overview.html), with dynamic, when not nil,
// the dynamic policy on the same group: AWS recommends the two together,
// predictive scaling raising capacity ahead of a recurring load and the
// dynamic policy reacting to what it did not foresee.
//
//   - It forecasts only once the load metric has 24 hours of data, from
//     at most the past 14 days, every 6 hours, hourly for the next 48
//     hours (PredictiveRefresh and the constants beside it). The twin
//     refreshes at 00:00, 06:00, 12:00 and 18:00 UTC, as AWS does not say
//     when. Each forecast is in Result.Forecasts.
//   - Capacity for an hour is its forecast load over the target value of
//     the metric pair (ASGTotalCPUUtilization over the target average
//     CPU, or ALBTargetGroupRequestCount a minute over the target
//     requests per target), rounded up.
//   - AWS does not publish its forecasting algorithm ("uses machine
//     learning", and "detect[s] daily or weekly patterns"). The twin's
//     model is a seasonal mean: with a week or more of history, the mean
//     load of the same hour of the week over the last two weeks; before,
//     the mean of the same hour of the day over the days there are.
//   - In ForecastAndScale mode "Amazon EC2 Auto Scaling scales your Auto
//     Scaling group at the start of each hour based on the forecast for
//     that hour", launching SchedulingBufferTime ahead (DefaultPredictive:
//     300 s); a lower forecast takes effect at the hour itself;
//     "if the forecast expects a decrease in load, it will not scale in".
//     The twin makes the forecast capacity the group's minimum for the
//     hour (the docs do not say how AWS holds it; this is the brief's
//     reading): desired rises to it at once, and the dynamic policy, which
//     never scales below the minimum, may scale out above it and in down
//     to it. HonorMaxCapacity keeps it within the group's maximum;
//     IncreaseMaxCapacity raises the maximum to the forecast plus
//     MaxCapacityBuffer percent, and it stays raised, as AWS's does.
//   - ForecastOnly only forecasts.
func Predictive(c PredictiveConfig, dynamic Autoscaler) Autoscaler {
	return predictive{c: c, dynamic: dynamic}
}

func (p predictive) Name() string {
	if p.dynamic == nil {
		return "predictive"
	}
	return "predictive+" + p.dynamic.Name()
}

func (p predictive) attach(s *sim) error {
	if err := p.c.validate(); err != nil {
		return fmt.Errorf("predictive scaling: %w", err)
	}
	if p.dynamic != nil {
		if err := p.dynamic.attach(s); err != nil {
			return err
		}
	}
	origin := s.start.Truncate(time.Hour).Sub(s.start)
	h := &loadHistory{origin: origin, first: -1}
	s.cw.history = h
	end := time.Duration(len(s.counts)) * s.cfg.Step
	ps := &predictor{s: s, c: p.c, h: h, mins: map[*fleet]int{}}
	for _, g := range s.groups {
		ps.mins[g] = g.min
	}
	for r := s.start.Truncate(PredictiveRefresh).Sub(s.start); r <= end; r += PredictiveRefresh {
		if r > 0 {
			s.at(r, prioWorld, func(context.Context) { ps.refresh() })
		}
	}
	if p.c.Mode != ForecastAndScale {
		return nil
	}
	for hour := origin + time.Hour; hour-p.c.SchedulingBufferTime <= end; hour += time.Hour {
		s.at(hour-p.c.SchedulingBufferTime, prioWorld, func(context.Context) { ps.apply(hour, true) })
		s.at(hour, prioWorld, func(context.Context) { ps.apply(hour, false) })
	}
	return nil
}

// predictor runs one predictive scaling policy.
type predictor struct {
	s *sim
	c PredictiveConfig
	h *loadHistory
	// latest is the newest forecast; nil before the first.
	latest *Forecast
	// mins are the groups' minimum capacities without the policy.
	mins map[*fleet]int
}

// load is hour i's mean load: total CPU percent, or requests a minute.
func (p *predictor) load(i int) float64 {
	if p.c.MetricPair == ALBRequestCount {
		return p.h.requests[i] / (float64(p.h.steps[i]) * p.s.cfg.Step.Minutes())
	}
	return p.h.cpu[i] / float64(p.h.steps[i])
}

// refresh generates a forecast from the history so far, if there is
// enough of it.
func (p *predictor) refresh() {
	s, h := p.s, p.h
	now := s.now
	if h.first < 0 || now-h.first < PredictiveMinHistory {
		return
	}
	// Complete hours only, within the last 14 days.
	done := int((now - h.origin) / time.Hour)
	oldest := max(0, int((now-PredictiveMaxHistory-h.origin+time.Hour-1)/time.Hour))
	days := float64(now-max(h.first, now-PredictiveMaxHistory)) / float64(24*time.Hour)
	season := 24
	if days >= 7 {
		season = 7 * 24
	}
	fc := Forecast{At: s.Now()}
	for k := range int(PredictiveHorizon / time.Hour) {
		i := done + k
		sum, n := 0.0, 0
		for j := i - season; j >= oldest; j -= season {
			if j < done && j < len(h.steps) && h.steps[j] > 0 {
				sum += p.load(j)
				n++
			}
		}
		fh := ForecastHour{Start: s.wall(h.origin + time.Duration(i)*time.Hour)}
		if n > 0 {
			fh.Load = sum / float64(n)
			fh.Capacity = int(math.Ceil(fh.Load/p.c.TargetValue - 1e-9))
		}
		fc.Hours = append(fc.Hours, fh)
	}
	p.latest = &fc
	s.res.Forecasts = append(s.res.Forecasts, fc)
}

// apply makes the capacity the latest forecast has for the hour starting
// at hour the serving group's minimum: ahead, SchedulingBufferTime before
// the hour, only if that raises it ("the amount of time ... by which the
// instance launch time can be advanced": the buffer is about launches),
// and at the hour whichever way it goes.
func (p *predictor) apply(hour time.Duration, ahead bool) {
	s := p.s
	if p.latest == nil {
		return
	}
	start := s.wall(hour)
	capacity := -1
	for _, fh := range p.latest.Hours {
		if fh.Start.Equal(start) {
			capacity = fh.Capacity
		}
	}
	if capacity < 0 {
		return
	}
	f := s.serving()
	for _, g := range s.groups {
		if g != f {
			g.min = p.mins[g]
		}
	}
	if p.c.MaxCapacityBreachBehavior == IncreaseMaxCapacity {
		f.max = max(f.max, int(math.Ceil(float64(capacity)*(1+float64(p.c.MaxCapacityBuffer)/100)-1e-9)))
	}
	floor := min(max(p.mins[f], capacity), f.max)
	if ahead && floor <= f.min {
		return
	}
	f.min = floor
	if f.desired < f.min {
		_ = f.setDesired(f.min, "predictive", fmt.Sprintf("forecast for %s: %d instances, %v ahead", start.Format("Mon 15:04"), capacity, p.c.SchedulingBufferTime))
	}
}
