// Package suite is the twin's experiment: the scenarios the demo runs, the
// policies it compares (stampkit's default, AWS target tracking, native
// step scaling; Settings adds the policies and settings stampkit compare
// sweeps), and a runner that simulates every pair in parallel and
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

	"github.com/stampkit/stampkit/shared/event"
	"github.com/stampkit/stampkit/shared/rollout"
	"github.com/stampkit/stampkit/shared/scaling"
	"github.com/stampkit/stampkit/shared/stampshift"
	"github.com/stampkit/stampkit/shared/twin"
	"github.com/stampkit/stampkit/shared/twin/dns"
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
	// GreenCrash rolls out blue/green an image that crashes under real
	// traffic (GreenCrashFault).
	GreenCrash = "green-crash"
	// AbortInRetention has an operator abort a blue/green rollout after
	// its promotion, once the new group has scaled out under load.
	AbortInRetention = "abort-in-retention"
	// Chaos is ChaosBase under twin.DefaultChaos.
	Chaos = "chaos"
	// StampShift moves the traffic by DNS from one stamp to a new one;
	// StampShiftBad does the same to a new stamp whose image crashes once
	// it takes a quarter of it (StampShiftFault).
	StampShift    = "stamp-shift"
	StampShiftBad = "stamp-shift-bad"
)

// The stamps of StampShift and StampShiftBad: the old stamp and the new.
const (
	OldStamp = "main"
	NewStamp = "next"
)

// StampShiftFault is the new stamp's image in StampShiftBad: once the
// stamp takes StampShiftFaultFrom percent of the requests (at the 25 %
// step, not at 5 %), every target that carries traffic crashes two minutes
// later: a defect that needs a share of real traffic to show.
var StampShiftFault = twin.Crash{Above: 0, After: 2 * time.Minute}

// StampShiftFaultFrom is the share of the requests, in percent, that arms
// StampShiftFault.
const StampShiftFaultFrom = 20

// StampShiftStart is when, from the start, the operator starts the shift.
const StampShiftStart = 30 * time.Minute

// ChaosBase is the scenario Chaos brings chaos to: a day that scales out
// and in, and rolls an image out by instance refresh at its busiest, so
// that all three handlers meet the faults.
const ChaosBase = Diurnal

// Names lists the scenarios in report order.
func Names() []string {
	return []string{Diurnal, Spike, Ramp, Step, FlashCrowd, NASAWeek, BlueGreen, BadImage, BadGreen, GreenCrash, AbortInRetention, Chaos, StampShift, StampShiftBad}
}

// WithChaos returns sc under chaos c, named apart from sc: "NAME-chaos"
// (Chaos keeps its name).
func WithChaos(sc twin.Scenario, c *twin.Chaos) twin.Scenario {
	if sc.Chaos == nil {
		sc.Name += chaosSuffix
	}
	sc.Chaos = c
	return sc
}

const chaosSuffix = "-chaos"

// BadImageCapacity is the share of an instance's capacity the faulty image
// of BadImage and BadGreen serves.
const BadImageCapacity = 0.2

// GreenCrashFault is the new image of GreenCrash: healthy while it warms
// up and at the 10 and 50 % steps, when a target carries well under the
// fault's share of its capacity, it crashes four minutes after it first
// carries more (a leak only real traffic starts). At the 100 % step that
// is a minute before the last bake ends: long enough for the load
// balancer's health checks to mark every target unhealthy, too short for
// the 2-of-2-minute ELB 5XX and unhealthy-host alarms to fire first.
var GreenCrashFault = twin.Crash{Above: 0.4, After: 4 * time.Minute}

// AbortAt is when, from the start, the operator aborts the rollout of
// AbortInRetention: some twelve minutes into the 15-minute retention that
// follows its promotion. AbortPeak is the demand of its morning rush, in
// instances at the target utilisation.
const (
	AbortAt   = time.Hour
	AbortPeak = 10
)

// Generated lists the synthetic scenarios: the ones the default policy is
// tuned on. NASAWeek is held out.
func Generated() []string { return []string{Diurnal, Spike, Ramp, Step, FlashCrowd} }

// Scenario builds the named scenario for cfg; seed varies the noise of the
// synthetic ones. Demand is set in instances at the target utilisation so
// that every scenario needs between a few and about 60 instances.
func Scenario(name string, cfg twin.Config, seed uint64) (twin.Scenario, error) {
	if name == Chaos {
		// The very day of ChaosBase: its noise is drawn for its name.
		sc, err := Scenario(ChaosBase, cfg, seed)
		sc.Name, sc.Chaos = Chaos, twin.DefaultChaos()
		return sc, err
	}
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
	case GreenCrash:
		// The ramp of blue-green: the image lands at 02:00.
		shape.Length, shape.Base, shape.Peak = 5*time.Hour, 8*inst, 36*inst
		shape.At, shape.Rise, shape.Noise = time.Hour, 3*time.Hour, 0.04
		t, err = traces.Ramp(shape)
		sc.ImageBuiltAt, sc.Strategy, sc.Crash = 2*time.Hour, rollout.StrategyBlueGreen, GreenCrashFault
	case AbortInRetention:
		// A quiet night on the group's minimum: the image lands at 00:30
		// and green, sized like blue at 2, is promoted at about 00:48.
		// At 00:50 the morning rush multiplies demand and the scaler
		// grows green; the operator aborts during the retention.
		shape.Length, shape.Base, shape.Peak = 2*time.Hour, 1.5*inst, AbortPeak*inst
		shape.At, shape.Noise = 50*time.Minute, 0.04
		t, err = traces.Step(shape)
		sc.ImageBuiltAt, sc.Strategy = 30*time.Minute, rollout.StrategyBlueGreen
		sc.Commands = []twin.Command{{At: AbortAt, Action: event.CommandAbort, Reason: "operator abort during retention"}}
	case StampShift, StampShiftBad:
		// A busy evening that grows a little while the traffic moves.
		shape.Length, shape.Base, shape.Peak = 3*time.Hour, 16*inst, 20*inst
		shape.At, shape.Rise, shape.Noise = 20*time.Minute, 2*time.Hour, 0.04
		t, err = traces.Ramp(shape)
		sc.Shift = &twin.Shift{From: OldStamp, To: NewStamp, DNS: dns.DefaultConfig(), Policy: &stampshift.Policy{}, StartAt: StampShiftStart}
		if name == StampShiftBad {
			sc.Shift.Crash, sc.Shift.CrashFrom = StampShiftFault, StampShiftFaultFrom
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
	if base, ok := strings.CutSuffix(name, chaosSuffix); ok {
		return Description(base) + " " + chaosNote
	}
	switch name {
	case Chaos:
		return Description(ChaosBase) + " " + chaosNote
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
		return "Demand ramps from 8 to 36 instances' worth over three hours from 01:00. At 02:00 a new image is rolled out blue/green: the peer group is sized like the serving one on the new image, then the listener sends it 10, 50 and 100 % of the traffic, five minutes' bake each, and the old group is emptied. The strip under each policy's panels shows the listener's weight to the new group."
	case BadImage:
		return fmt.Sprintf("The ramp of blue-green, but the image built at 02:00 is faulty: its instances pass their health checks yet serve only %.0f %% of the capacity. It is rolled out by an instance refresh with auto-rollback; the fleet's 5XX alarm fires once the first batch takes traffic, Auto Scaling rolls the refresh back, and the rollout handler restores the launch template and image parameter.", 100*BadImageCapacity)
	case BadGreen:
		return fmt.Sprintf("The faulty image of bad-image (%.0f %% capacity) rolled out blue/green: the 5XX alarm fires during a bake and the rollout handler sends all traffic back to the old group and empties the new one.", 100*BadImageCapacity)
	case GreenCrash:
		return fmt.Sprintf("The ramp of blue-green, but the new image crashes under real traffic: it warms up healthy and carries the 10 and 50 %% steps, but a target that carries more than %.0f %% of its capacity crashes %v later, refusing connections. At the 100 %% step that is a minute before the last bake ends: the load balancer marks every green target unhealthy, fails open and answers green's requests with 502 itself (load balancer 5XX, which the target 5XX alarm does not count); the ELB 5XX and unhealthy-host alarms need two minutes to fire. A rollout that promotes without checking green's healthy targets against the traffic they carry empties blue onto a dead group.", 100*GreenCrashFault.Above, GreenCrashFault.After)
	case AbortInRetention:
		return fmt.Sprintf("A quiet night on 2 instances; a good image rolled out blue/green at 00:30 is promoted at about 00:48, and at 00:50 the morning rush brings demand to %d instances' worth: the scaler grows the new group to match. At %s, during the retention, an operator aborts: the \"Rollout Command\" event \"stampkit rollout abort -fleet web\" writes, through EventBridge to the rollout handler. Sizing the old group back to what it had when the rollout began (2) and sending it all the traffic once those are healthy is a capacity drop; the old group must be sized to what serves now, and take traffic only as its targets turn healthy.", AbortPeak, time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC).Add(AbortAt).Format("15:04"))
	case StampShift:
		return fmt.Sprintf("Traffic moves by DNS from the stamp %s to a new stamp %s, each a whole copy of the fleet with its own group, load balancer, alarms and scaler, behind Route 53 weighted alias records (TTL 60 s, health checks every 10 s, failure threshold 3, EvaluateTargetHealth). At %s an operator's start command reaches the shift function's own handler (shared/shifter, driving the reducer shared/stampshift): it raises %s's floor in the stampkit scaler's state ahead of each step (released when the shift ends), sets its weight to 5, 25, 50 and 100 %%, waits for each change to be INSYNC, then the TTL and a 5-minute bake with %s healthy. Clients follow through their resolvers: most within a TTL, 9 %% (the share of resolvers measured to extend TTLs) only after 15 minutes. The strips under each policy show the weight of %s's record, and each stamp's healthy targets.", OldStamp, NewStamp, clockText(StampShiftStart), NewStamp, NewStamp, NewStamp)
	case StampShiftBad:
		return fmt.Sprintf("The shift of stamp-shift to a stamp whose image fails at scale: once %s takes %d %% of the requests (the 25 %% step), each of its targets that serves crashes %v later. The load balancer answers 502, Route 53's health checkers mark the record unhealthy after 3 failed checks, the fleet's health alarms fire, and the reducer gives all the weight back to %s. Resolvers that keep an answer past its TTL keep sending their clients to the failing stamp for up to 15 minutes.", NewStamp, StampShiftFaultFrom, StampShiftFault.After, OldStamp)
	case NASAWeek:
		return "Real traffic, held out from tuning: the NASA Kennedy Space Center web server, Monday 10 to Sunday 16 July 1995 (the STS-70 launch was on Thursday 13 July), per-minute request counts smoothed over five minutes and scaled so that the busiest minute needs 60 instances."
	}
	return ""
}

// clockText writes an offset from midnight as a time of day.
func clockText(d time.Duration) string {
	return time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC).Add(d).Format("15:04")
}

// chaosNote describes the chaos of Chaos and of "simulate -chaos".
const chaosNote = "Under chaos: the AWS APIs the three handlers call throttle, answer 500, time out or lose the response of a call they carried out; invocations run out of time part-way; EventBridge's deliveries come late, out of order, and any delivery may come twice. A failed invocation is retried as AWS retries it (Lambda's two asynchronous retries, a minute and two minutes later; a wake-up redelivered by its SQS queue after the visibility timeout, five times at most) and dead-lettered when the retries run out. Small ticks along the top of each panel mark the faults: grey absorbed by the handler, orange recovered by a retry, red dead-lettered. The table under the chart compares each policy's run with the same day without chaos."

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

// Policy returns the named policy for cfg's group: stampkit's shipped
// default, AWS target tracking with its documented defaults, or native
// step scaling on stampkit's alarms and step tables.
func Policy(name string, cfg twin.Config) (twin.Autoscaler, error) {
	if slices.Contains(PolicyNames(), name) {
		return autoscaler(name, cfg, TargetCPU(cfg)), nil
	}
	return nil, fmt.Errorf("unknown policy %q (have %s)", name, strings.Join(PolicyNames(), ", "))
}

// The load balancer and target group dimensions of the twin's metrics.
const (
	loadBalancer = "app/web-alb/50dc6c495c0c9188"
	targetGroup  = "targetgroup/web/73e2d6bc24d8a067"
)

// stampkitPolicy is scaling.DefaultPolicy for cfg's group at target
// percent CPU, with the request rate an instance serves at that CPU.
func stampkitPolicy(cfg twin.Config, target float64) scaling.Policy {
	return scaling.DefaultPolicy(cfg.Group, cfg.Min, cfg.Max, scaling.Target{
		CPU: target, RequestsPerMinute: requestsPerMinute(cfg, target),
		LoadBalancer: loadBalancer, TargetGroup: targetGroup,
	})
}

// requestsPerMinute is the requests an instance serves a minute at target
// percent CPU.
func requestsPerMinute(cfg twin.Config, target float64) float64 {
	return 60 * cfg.InstanceCapacity * target / 100
}

// stepScaling is native AWS step scaling on the alarms and step tables of
// stampkit's policy at target, with the warm-up the fleet's operator gave
// stampkit: AWS recommends configuring it, and the same fleet warms up as
// fast under either.
func stepScaling(cfg twin.Config, target float64) twin.StepScalingConfig {
	p := stampkitPolicy(cfg, target)
	c := twin.DefaultStepScaling(p)
	c.Warmup = p.Warmup.Std()
	return c
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
	// Clean is, for a run with chaos, the same scenario and policy run
	// without it, for comparison; nil otherwise.
	Clean       *twin.Result
	CleanScores score.Scores
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
// finish in. A job with chaos is also run without it (Run.Clean).
func RunAll(ctx context.Context, cfg twin.Config, jobs []Job, progress Progress) ([]Run, error) {
	runs := make([]Run, len(jobs))
	// Task i < len(jobs) is job i; task len(jobs)+k the run without chaos
	// of the k-th job with chaos, chaotic[k].
	var chaotic []int
	for i, j := range jobs {
		if j.Scenario.Chaos != nil {
			chaotic = append(chaotic, i)
		}
	}
	tasks := len(jobs) + len(chaotic)
	scenario := func(task int) twin.Scenario {
		if task < len(jobs) {
			return jobs[task].Scenario
		}
		sc := jobs[chaotic[task-len(jobs)]].Scenario
		sc.Chaos = nil
		return sc
	}
	cleans := make([]Run, len(chaotic))
	errs := make([]error, tasks)
	work := make(chan int)
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		done int
	)
	for range min(runtime.GOMAXPROCS(0), tasks) {
		wg.Go(func() {
			for i := range work {
				started := time.Now()
				j := i
				if i >= len(jobs) {
					j = chaotic[i-len(jobs)]
				}
				res, err := twin.Run(ctx, cfg, scenario(i), jobs[j].Policy)
				if err != nil {
					errs[i] = err
					continue
				}
				if i >= len(jobs) {
					cleans[i-len(jobs)] = Run{Result: res, Scores: score.Compute(res)}
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
	order := make([]int, tasks)
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		return len(scenario(b).Trace.Rates) - len(scenario(a).Trace.Rates)
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
			j := i
			if i >= len(jobs) {
				j = chaotic[i-len(jobs)]
			}
			return nil, fmt.Errorf("job %d (%s × %s): %w", j, scenario(i).Name, jobs[j].Policy.Name(), err)
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	for k, i := range chaotic {
		runs[i].Clean, runs[i].CleanScores = cleans[k].Result, cleans[k].Scores
	}
	return runs, nil
}
