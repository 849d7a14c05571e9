// Package suite is the twin's experiment: the scenarios the demo runs, the
// policies it compares (stampkit's default, AWS target tracking, simple
// step scaling), and a runner that simulates every pair in parallel and
// returns the results in a fixed order.
package suite

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/stampkit/stampkit/shared/rollout"
	"github.com/stampkit/stampkit/shared/scaling"
	"github.com/stampkit/stampkit/shared/twin"
	"github.com/stampkit/stampkit/shared/twin/score"
	"github.com/stampkit/stampkit/shared/twin/traces"
)

// Scenario names, in report order.
const (
	Diurnal    = "diurnal"
	Spike      = "spike"
	Ramp       = "ramp"
	Step       = "step"
	FlashCrowd = "flash-crowd"
	NASAWeek   = "nasa-week"
	BlueGreen  = "blue-green"
	BadImage   = "bad-image"
	BadGreen   = "bad-green"
)

// Names lists the scenarios in report order.
func Names() []string {
	return []string{Diurnal, Spike, Ramp, Step, FlashCrowd, NASAWeek, BlueGreen, BadImage, BadGreen}
}

// BadImageCapacity is the share of an instance's capacity the faulty image
// of BadImage and BadGreen serves.
const BadImageCapacity = 0.2

// Generated lists the synthetic scenarios: the ones the default policy is
// tuned on. NASAWeek is held out.
func Generated() []string { return []string{Diurnal, Spike, Ramp, Step, FlashCrowd} }

// Scenario builds the named scenario for cfg; seed varies the noise of the
// synthetic ones. Demand is set in instances at the target utilisation so
// that every scenario needs between a few and about 60 instances.
func Scenario(name string, cfg twin.Config, seed uint64) (twin.Scenario, error) {
	inst := cfg.PerInstanceTarget()
	noiseSeed := seed*1000003 + uint64(slices.Index(Names(), name)+1)
	shape := traces.Shape{Step: cfg.Step, Noise: 0.05, Burst: 0.12, Seed: noiseSeed}
	var (
		t   traces.Trace
		err error
		sc  = twin.Scenario{Name: name}
	)
	switch name {
	case Diurnal:
		shape.Length, shape.Base, shape.Peak, shape.At = 24*time.Hour, 6*inst, 48*inst, 14*time.Hour
		t, err = traces.Diurnal(shape)
		// A new image lands in the afternoon peak: the fleet is replaced
		// while it is busiest.
		sc.ImageBuiltAt = 15 * time.Hour
	case Spike:
		shape.Length, shape.Base, shape.Peak = 6*time.Hour, 10*inst, 35*inst
		shape.At, shape.Rise, shape.Hold, shape.Decay = 2*time.Hour, 2*time.Minute, 15*time.Minute, 5*time.Minute
		t, err = traces.Spike(shape)
	case Ramp:
		shape.Length, shape.Base, shape.Peak = 6*time.Hour, 5*inst, 45*inst
		shape.At, shape.Rise, shape.Noise = time.Hour, 3*time.Hour, 0.04
		t, err = traces.Ramp(shape)
	case Step:
		shape.Length, shape.Base, shape.Peak = 4*time.Hour, 10*inst, 30*inst
		shape.At, shape.Hold, shape.Noise = time.Hour, 2*time.Hour, 0.04
		t, err = traces.Step(shape)
	case FlashCrowd:
		shape.Length, shape.Base, shape.Peak = 6*time.Hour, 6*inst, 50*inst
		shape.At, shape.Rise, shape.Decay = time.Hour, 3*time.Minute, 45*time.Minute
		t, err = traces.FlashCrowd(shape)
	case NASAWeek:
		t, err = traces.NASAWeek(cfg.Step, 60*inst)
	case BlueGreen, BadImage, BadGreen:
		// The image lands mid-ramp: the fleet scales out while it moves.
		shape.Length, shape.Base, shape.Peak = 5*time.Hour, 8*inst, 36*inst
		shape.At, shape.Rise, shape.Noise = time.Hour, 3*time.Hour, 0.04
		t, err = traces.Ramp(shape)
		sc.ImageBuiltAt, sc.Strategy = 2*time.Hour, rollout.StrategyBlueGreen
		switch name {
		case BadImage:
			sc.Strategy, sc.BadImage = rollout.StrategyRolling, BadImageCapacity
		case BadGreen:
			sc.BadImage = BadImageCapacity
		}
	default:
		return twin.Scenario{}, fmt.Errorf("unknown scenario %q (have %s)", name, strings.Join(Names(), ", "))
	}
	if err != nil {
		return twin.Scenario{}, fmt.Errorf("building scenario %s: %w", name, err)
	}
	sc.Trace = t
	return sc, nil
}

// Description says what a scenario is, for the report.
func Description(name string) string {
	switch name {
	case Diurnal:
		return "A day of traffic between 6 and 48 instances' worth, peaking at 14:00, with minute-scale and five-minute noise. At 15:00 a new image is built and rolled out to the fleet by an instance refresh with the shipped preferences: 100 % minimum and 200 % maximum healthy, so each batch of replacements launches (and counts as InService) before the instances it replaces terminate, and a five-minute wait at the 50 % checkpoint."
	case Spike:
		return "A steady 10 instances' worth jumps to 35 within two minutes at 02:00, holds for 15 minutes and falls back over 5."
	case Ramp:
		return "Demand climbs steadily from 5 to 45 instances' worth over three hours, then holds."
	case Step:
		return "Demand triples from 10 to 30 instances' worth at once at 01:00 and drops back two hours later."
	case FlashCrowd:
		return "A flash crowd: from 6 instances' worth the rate grows exponentially to 50 within three minutes at 01:00, then decays with a 45-minute time constant."
	case BlueGreen:
		return "Demand ramps from 8 to 36 instances' worth over three hours from 01:00. At 02:00 a new image is rolled out blue/green: the peer group is sized like the serving one on the new image, then the listener sends it 10, 50 and 100 % of the traffic, five minutes' bake each, and the old group is emptied. The lower chart shows the listener's weights."
	case BadImage:
		return fmt.Sprintf("The ramp of blue-green, but the image built at 02:00 is faulty: its instances pass their health checks yet serve only %.0f %% of the capacity. It is rolled out by an instance refresh with auto-rollback; the fleet's 5XX alarm fires once the first batch takes traffic, Auto Scaling rolls the refresh back, and the rollout handler restores the launch template and image parameter.", 100*BadImageCapacity)
	case BadGreen:
		return fmt.Sprintf("The faulty image of bad-image (%.0f %% capacity) rolled out blue/green: the 5XX alarm fires during a bake and the rollout handler sends all traffic back to the old group and empties the new one.", 100*BadImageCapacity)
	case NASAWeek:
		return "Real traffic, held out from tuning: the NASA Kennedy Space Center web server, Monday 10 to Sunday 16 July 1995 (the STS-70 launch was on Thursday 13 July), per-minute request counts smoothed over five minutes and scaled so that the busiest minute needs 60 instances."
	}
	return ""
}

// Policy names, in report order.
const (
	Stampkit       = "stampkit"
	TargetTracking = "target-tracking"
	StepScaling    = "step"
)

// PolicyNames lists the policies in report order.
func PolicyNames() []string { return []string{Stampkit, TargetTracking, StepScaling} }

// TargetCPU is the CPU utilisation every policy aims at: the twin's target
// utilisation in percent.
func TargetCPU(cfg twin.Config) float64 { return 100 * cfg.TargetUtilisation }

// Policy returns the named policy for cfg's group.
func Policy(name string, cfg twin.Config) (twin.Autoscaler, error) {
	target := TargetCPU(cfg)
	switch name {
	case Stampkit:
		return twin.Stampkit(scaling.DefaultPolicy(cfg.Group, cfg.Min, cfg.Max, scaling.Target{
			CPU: target, RequestsPerMinute: 60 * cfg.PerInstanceTarget(),
			LoadBalancer: "app/web-alb/50dc6c495c0c9188", TargetGroup: "targetgroup/web/73e2d6bc24d8a067",
		})), nil
	case TargetTracking:
		return twin.TargetTracking(twin.DefaultTargetTracking(target)), nil
	case StepScaling:
		return twin.SimpleScaling(twin.DefaultSimpleScaling(target)), nil
	}
	return nil, fmt.Errorf("unknown policy %q (have %s)", name, strings.Join(PolicyNames(), ", "))
}

// Job is one simulation to run.
type Job struct {
	Scenario twin.Scenario
	Policy   twin.Autoscaler
}

// Run is one finished simulation and its scores.
type Run struct {
	Result *twin.Result
	Scores score.Scores
	// Elapsed is the wall-clock time the simulation took (not part of any
	// report, which must not depend on the machine).
	Elapsed time.Duration
}

// Progress is told about each finished job, in completion order.
type Progress func(done, total int, r Run)

// Jobs pairs every named scenario with every named policy.
func Jobs(cfg twin.Config, seed uint64, scenarios, policies []string) ([]Job, error) {
	var jobs []Job
	for _, sn := range scenarios {
		sc, err := Scenario(sn, cfg, seed)
		if err != nil {
			return nil, err
		}
		for _, pn := range policies {
			p, err := Policy(pn, cfg)
			if err != nil {
				return nil, err
			}
			jobs = append(jobs, Job{Scenario: sc, Policy: p})
		}
	}
	return jobs, nil
}

// RunAll simulates the jobs on up to GOMAXPROCS workers, longest trace
// first, and returns the runs in the order of jobs, whatever order they
// finish in.
func RunAll(ctx context.Context, cfg twin.Config, jobs []Job, progress Progress) ([]Run, error) {
	runs := make([]Run, len(jobs))
	errs := make([]error, len(jobs))
	work := make(chan int)
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		done int
	)
	for range min(runtime.GOMAXPROCS(0), len(jobs)) {
		wg.Go(func() {
			for i := range work {
				started := time.Now()
				res, err := twin.Run(ctx, cfg, jobs[i].Scenario, jobs[i].Policy)
				if err != nil {
					errs[i] = err
					continue
				}
				runs[i] = Run{Result: res, Scores: score.Compute(res), Elapsed: time.Since(started)}
				mu.Lock()
				done++
				if progress != nil {
					progress(done, len(jobs), runs[i])
				}
				mu.Unlock()
			}
		})
	}
	// The longest simulations start first, so that a long trace does not
	// begin last and leave the other workers idle at the end.
	order := make([]int, len(jobs))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		return len(jobs[b].Scenario.Trace.Rates) - len(jobs[a].Scenario.Trace.Rates)
	})
	for _, i := range order {
		if ctx.Err() != nil {
			break
		}
		work <- i
	}
	close(work)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			return nil, fmt.Errorf("job %d (%s × %s): %w", i, jobs[i].Scenario.Name, jobs[i].Policy.Name(), err)
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return runs, nil
}
