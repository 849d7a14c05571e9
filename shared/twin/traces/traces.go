// Package traces supplies the demand the local twin replays: synthetic
// shapes (diurnal, spike, ramp, step, flash crowd) and a real week of the
// NASA-HTTP 1995 request trace. A trace is a request rate for every
// simulation step; the twin turns rates into whole requests.
package traces

import (
	"bufio"
	"bytes"
	"compress/gzip"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
)

// Trace is a request rate per simulation step.
type Trace struct {
	Name string
	// Start is the wall-clock time of the first step: the real date for a
	// recorded trace, an arbitrary Monday for a generated one.
	Start time.Time
	Step  time.Duration
	// Rates holds requests per second during each step.
	Rates []float64
}

// Duration is how long the trace lasts.
func (t Trace) Duration() time.Duration { return time.Duration(len(t.Rates)) * t.Step }

// Peak is the highest rate in the trace.
func (t Trace) Peak() float64 {
	peak := 0.0
	for _, r := range t.Rates {
		peak = max(peak, r)
	}
	return peak
}

// generatedStart is where generated traces begin: a Monday at midnight UTC,
// so that clock-aligned CloudWatch periods line up with the steps.
func generatedStart() time.Time { return time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC) }

// Shape parameterises the generators. Rates are in requests per second;
// times are offsets from the start of the trace.
type Shape struct {
	Step   time.Duration
	Length time.Duration
	// Base is the rate outside the event (the trough, for Diurnal).
	Base float64
	// Peak is the rate at the height of the event (the crest, for Diurnal).
	Peak float64
	// At is when the event starts; for Diurnal, when the daily crest is.
	At time.Duration
	// Rise, Hold and Decay shape the event: how long it takes to reach Peak,
	// how long it stays there, and how long it takes to fall back (for
	// FlashCrowd, the decay's time constant).
	Rise, Hold, Decay time.Duration
	// Noise is the relative standard deviation of multiplicative noise
	// correlated over about a minute; Burst that of slower swings correlated
	// over about five minutes. Real web traffic has both: the NASA-HTTP
	// trace swings by ±10–25 % around its hourly trend for minutes at a
	// time.
	Noise, Burst float64
	Seed         uint64
}

func (s Shape) validate() error {
	var errs []error
	if s.Step <= 0 || s.Length < s.Step {
		errs = append(errs, fmt.Errorf("step %v and length %v: need 0 < step <= length", s.Step, s.Length))
	}
	if s.Base < 0 || s.Peak < 0 || s.Noise < 0 || s.Burst < 0 {
		errs = append(errs, errors.New("base, peak, noise and burst must not be negative"))
	}
	if s.Rise < 0 || s.Hold < 0 || s.Decay < 0 || s.At < 0 {
		errs = append(errs, errors.New("at, rise, hold and decay must not be negative"))
	}
	return errors.Join(errs...)
}

// generate evaluates f at the start of every step and applies the noise.
func (s Shape) generate(name string, f func(t time.Duration) float64) (Trace, error) {
	if err := s.validate(); err != nil {
		return Trace{}, fmt.Errorf("generating %s trace: %w", name, err)
	}
	n := int(s.Length / s.Step)
	rates := make([]float64, n)
	noise := newNoise(s.Noise, time.Minute, s.Step, s.Seed, 1)
	burst := newNoise(s.Burst, 5*time.Minute, s.Step, s.Seed, 2)
	for i := range rates {
		rates[i] = max(0, f(time.Duration(i)*s.Step)*noise.next()*burst.next())
	}
	return Trace{Name: name, Start: generatedStart(), Step: s.Step, Rates: rates}, nil
}

// Diurnal is a daily cycle between Base (at the trough) and Peak (at At
// past midnight), shaped like a raised cosine.
func Diurnal(s Shape) (Trace, error) {
	const day = 24 * time.Hour
	return s.generate("diurnal", func(t time.Duration) float64 {
		phase := 2 * math.Pi * float64((t-s.At)%day) / float64(day)
		return s.Base + (s.Peak-s.Base)*(1+math.Cos(phase))/2
	})
}

// Spike rises linearly from Base to Peak over Rise starting at At, holds
// for Hold and falls back over Decay.
func Spike(s Shape) (Trace, error) {
	return s.generate("spike", func(t time.Duration) float64 {
		return s.Base + (s.Peak-s.Base)*trapezoid(t-s.At, s.Rise, s.Hold, s.Decay)
	})
}

// Ramp climbs linearly from Base at At to Peak over Rise and stays there.
func Ramp(s Shape) (Trace, error) {
	return s.generate("ramp", func(t time.Duration) float64 {
		return s.Base + (s.Peak-s.Base)*trapezoid(t-s.At, s.Rise, s.Length, 0)
	})
}

// Step jumps from Base to Peak at At, holds for Hold (the rest of the
// trace when zero) and drops back to Base.
func Step(s Shape) (Trace, error) {
	hold := s.Hold
	if hold == 0 {
		hold = s.Length
	}
	return s.generate("step", func(t time.Duration) float64 {
		if t >= s.At && t < s.At+hold {
			return s.Peak
		}
		return s.Base
	})
}

// FlashCrowd is a crowd arriving at once: from At the rate grows
// exponentially to Peak within Rise, then decays exponentially back
// towards Base with time constant Decay.
func FlashCrowd(s Shape) (Trace, error) {
	return s.generate("flash-crowd", func(t time.Duration) float64 {
		dt := t - s.At
		switch {
		case dt < 0:
			return s.Base
		case dt < s.Rise:
			// Exponential growth from Base to Peak: the crowd recruits
			// itself (links shared, pages reloaded).
			frac := float64(dt) / float64(s.Rise)
			return s.Base * math.Pow(max(s.Peak, 1e-9)/max(s.Base, 1e-9), frac)
		default:
			decay := math.Exp(-float64(dt-s.Rise) / float64(max(s.Decay, time.Second)))
			return s.Base + (s.Peak-s.Base)*decay
		}
	})
}

// trapezoid is 0 before 0, rises linearly to 1 over rise, stays 1 for
// hold, falls to 0 over fall.
func trapezoid(t, rise, hold, fall time.Duration) float64 {
	switch {
	case t < 0:
		return 0
	case t < rise:
		return float64(t) / float64(rise)
	case t < rise+hold:
		return 1
	case t < rise+hold+fall:
		return 1 - float64(t-rise-hold)/float64(fall)
	}
	return 0
}

// noise is multiplicative log-normal AR(1) noise with mean 1.
type noise struct {
	sigma, rho float64
	x          float64
	rng        *rand.Rand
}

// newNoise returns noise correlated over about correlation: people arrive
// in bursts, not independently each step.
func newNoise(sigma float64, correlation, step time.Duration, seed, stream uint64) *noise {
	n := &noise{sigma: sigma, rho: math.Exp(-float64(step) / float64(correlation)), rng: rand.New(rand.NewPCG(seed, 0x7472616365+stream))}
	n.x = sigma * n.rng.NormFloat64()
	return n
}

func (n *noise) next() float64 {
	if n.sigma == 0 {
		return 1
	}
	v := math.Exp(n.x - n.sigma*n.sigma/2)
	n.x = n.rho*n.x + math.Sqrt(1-n.rho*n.rho)*n.sigma*n.rng.NormFloat64()
	return v
}

//go:embed nasa-http-1995-07-10.csv.gz
var nasaWeek []byte

// nasaStart is minute 0 of the embedded week: Monday 1995-07-10 00:00 at
// the Kennedy Space Center (EDT, -0400).
func nasaStart() time.Time {
	return time.Date(1995, 7, 10, 0, 0, 0, 0, time.FixedZone("EDT", -4*3600))
}

// NASAWeek returns the launch week of the NASA-HTTP 1995 trace (see
// README.md), smoothed, scaled so that its busiest minute runs at peak
// requests per second, and resampled to step.
func NASAWeek(step time.Duration, peak float64) (Trace, error) {
	zr, err := gzip.NewReader(bytes.NewReader(nasaWeek))
	if err != nil {
		return Trace{}, fmt.Errorf("opening embedded NASA trace: %w", err)
	}
	t, err := FromCSV(zr, "nasa-week", nasaStart(), step, peak)
	if err != nil {
		return Trace{}, fmt.Errorf("reading embedded NASA trace: %w", err)
	}
	return t, nil
}

// smoothing is the width, in minutes, of the centred moving average applied
// to per-minute counts: it removes the Poisson noise of a small site's
// counts while keeping surges that last a few minutes.
const smoothing = 5

// FromCSV reads a per-minute request count in the form "minute,requests"
// (ReadCounts) and makes a trace of it (FromCounts).
func FromCSV(r io.Reader, name string, start time.Time, step time.Duration, peak float64) (Trace, error) {
	counts, err := ReadCounts(r)
	if err != nil {
		return Trace{}, err
	}
	return FromCounts(counts, name, start, step, peak)
}

// ReadCounts reads a per-minute request count in the form
// "minute,requests" (a header line is optional; minutes consecutive from
// 0) and returns the requests of each minute.
func ReadCounts(r io.Reader) ([]float64, error) {
	var counts []float64
	sc := bufio.NewScanner(r)
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || (line == 1 && strings.HasPrefix(text, "minute")) {
			continue
		}
		minute, value, ok := strings.Cut(text, ",")
		if !ok {
			return nil, fmt.Errorf("line %d: %q is not minute,requests", line, text)
		}
		m, err := strconv.Atoi(minute)
		if err != nil || m != len(counts) {
			return nil, fmt.Errorf("line %d: minute %q, want %d (minutes must be consecutive from 0)", line, minute, len(counts))
		}
		v, err := strconv.ParseFloat(value, 64)
		if err != nil || v < 0 || math.IsInf(v, 0) || math.IsNaN(v) {
			return nil, fmt.Errorf("line %d: requests %q is not a non-negative number", line, value)
		}
		counts = append(counts, v)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading trace: %w", err)
	}
	return counts, nil
}

// FromCounts smooths per-minute request counts with a centred 5-minute
// moving average, scales them so that the busiest minute runs at peak
// requests per second (peak 0 keeps the counts as they are) and
// interpolates them linearly to step.
func FromCounts(counts []float64, name string, start time.Time, step time.Duration, peak float64) (Trace, error) {
	if step <= 0 || step > time.Minute || time.Minute%step != 0 {
		return Trace{}, fmt.Errorf("step %v must divide a minute", step)
	}
	if len(counts) < 2 {
		return Trace{}, errors.New("trace needs at least two minutes")
	}
	perSecond := movingAverage(counts, smoothing)
	for i := range perSecond {
		perSecond[i] /= 60
	}
	if peak > 0 {
		top := 0.0
		for _, v := range perSecond {
			top = max(top, v)
		}
		if top == 0 {
			return Trace{}, errors.New("trace has no requests to scale")
		}
		for i := range perSecond {
			perSecond[i] *= peak / top
		}
	}
	perMinute := int(time.Minute / step)
	rates := make([]float64, len(perSecond)*perMinute)
	for i := range rates {
		m, frac := i/perMinute, float64(i%perMinute)/float64(perMinute)
		next := perSecond[min(m+1, len(perSecond)-1)]
		rates[i] = perSecond[m]*(1-frac) + next*frac
	}
	return Trace{Name: name, Start: start, Step: step, Rates: rates}, nil
}

// movingAverage returns the centred moving average of width w (odd),
// shrinking the window at the edges.
func movingAverage(v []float64, w int) []float64 {
	out := make([]float64, len(v))
	half := w / 2
	for i := range v {
		lo, hi := max(0, i-half), min(len(v), i+half+1)
		sum := 0.0
		for _, x := range v[lo:hi] {
			sum += x
		}
		out[i] = sum / float64(hi-lo)
	}
	return out
}
