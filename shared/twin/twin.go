// Package twin is the local twin: a deterministic discrete-event simulation
// of an Auto Scaling group behind an Application Load Balancer, the service
// on it, CloudWatch metrics and alarms, and EventBridge, on a virtual clock.
//
// It runs the real scaler handler (shared/scaler) on the JSON events AWS
// would send, through the same ports the Lambda uses, so what the twin shows
// is what the toolkit does; the real lifecycle handler (shared/hooks)
// answers the group's lifecycle hooks, and the real rollout handler
// (shared/stamper) rolls a new image out, for every policy: by an instance
// refresh that rolls itself back when the fleet's health alarm fires, or
// blue/green onto a peer group behind a weighted listener whose weights
// the handler moves (Scenario.Strategy). The group may keep a warm pool
// (Config.WarmPool). Faithful models of AWS's own policies (target
// tracking, alone or several combined; step and simple scaling; predictive
// scaling under a dynamic policy) run on the same demand for comparison.
//
// AWS is modelled as unkindly as it behaves, each behaviour citing the AWS
// page it follows: a target group with only unhealthy targets fails open,
// the load balancer answers for targets that refuse connections and counts
// those 5XX apart from the targets' own (fleet.serve); an instance refresh
// launches ahead of what it replaces up to its maximum healthy percentage,
// the extra instances InService, and waits at checkpoints (refresh); the
// fleet's health alarms watch what the stack's do (attachHealthAlarms). A
// scenario may inject a new image that crashes under load (Crash) and an
// operator's rollout commands (Command).
//
// The handlers run as Lambda runs them (Functions): an invocation has its
// function's timeout for a deadline, and one that fails is retried as AWS
// retries it, an event EventBridge delivered by Lambda's asynchronous
// retries, a wake-up by its queue once the visibility timeout has passed,
// until the retries run out and it lands in a dead-letter queue
// (Result.DeadLetters). A lifecycle hook nobody completes or keeps alive
// takes its default result when its heartbeat timeout passes.
//
// A scenario may bring chaos (Scenario.Chaos): errors from the AWS APIs
// the handlers call, invocations that run out of time part-way, and
// deliveries duplicated or late, drawn from the seed. Result.Effects
// checks what the handlers did against what each action called for.
//
// Nothing sleeps: events are ordered by virtual time, and every random draw
// comes from a PCG generator seeded by Config.Seed, in separate streams for
// launch latencies, metric noise and delivery, so one seed gives one
// outcome, byte for byte.
package twin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"time"

	"github.com/stampkit/stampkit/shared/event"
	"github.com/stampkit/stampkit/shared/lifecycle"
	"github.com/stampkit/stampkit/shared/rollout"
	"github.com/stampkit/stampkit/shared/twin/traces"
)

// Config describes the simulated fleet and the AWS services around it.
type Config struct {
	// Group is the Auto Scaling group's name; alarms are named after it.
	Group    string
	Min, Max int
	// Step is the resolution of the service model: demand, load balancing
	// and utilisation are computed per step. Alarm periods must be
	// multiples of it.
	Step time.Duration
	Seed uint64

	// InstanceCapacity is the requests per second an instance serves at
	// 100 % CPU; more is dropped.
	InstanceCapacity float64
	// TargetUtilisation (0–1) is the utilisation a right-sized fleet runs
	// at: the demand in instances is the request rate divided by
	// InstanceCapacity × TargetUtilisation.
	TargetUtilisation float64

	// LaunchMedian and LaunchSpread give the log-normal time from launch to
	// a booted instance (median, and standard deviation of its logarithm).
	LaunchMedian time.Duration
	LaunchSpread float64
	// Lifecycle holds booted instances before InService and drained ones
	// before they terminate; nil means the group has no lifecycle hooks.
	Lifecycle Lifecycle
	// Hooks, when set, gives the group a launch and a terminate lifecycle
	// hook answered by the real lifecycle handler (shared/hooks) with this
	// policy: the twin publishes each lifecycle action on its EventBridge
	// and serves the handler's ports. It excludes Lifecycle.
	Hooks *lifecycle.Policy
	// AppWarmup is how long after boot the application starts answering
	// its health check; the launch hook's HTTP probe waits for it.
	AppWarmup time.Duration
	// WarmPool, when set, gives the configured group a warm pool (not the
	// blue/green peer).
	WarmPool *WarmPool
	// HealthCheckInterval × HealthyThreshold is how long a new target takes
	// to pass the load balancer's health checks before it gets traffic;
	// UnhealthyThreshold failed checks in a row mark a target unhealthy.
	HealthCheckInterval time.Duration
	HealthyThreshold    int
	UnhealthyThreshold  int
	// DeregistrationDelay is how long a target that served traffic drains
	// before its instance terminates.
	DeregistrationDelay time.Duration
	// RefreshMinHealthy and RefreshMaxHealthy are the instance refresh's
	// MinHealthyPercentage and MaxHealthyPercentage when an image is rolled
	// out; nil leaves AWS's default (90 and 100), as an unset preference
	// does, and 0 is a real 0. RefreshCheckpoints are the percentages
	// replaced at which the refresh waits RefreshCheckpointDelay;
	// RefreshWarmup is how long a replacement must be healthy before the
	// next batch.
	RefreshMinHealthy, RefreshMaxHealthy *int
	RefreshCheckpoints                   []int
	RefreshCheckpointDelay               time.Duration
	RefreshWarmup                        time.Duration

	// BaseP95 is the service's 95th-percentile latency at no load; under
	// load it grows as BaseP95/(1-u) (an M/M/1 queue), capped at P95Cap.
	BaseP95, P95Cap time.Duration
	// A step violates the SLO when p95 latency exceeds P95Bound, when
	// utilisation exceeds UtilisationBound, or when a request is dropped.
	P95Bound         time.Duration
	UtilisationBound float64
	// CPUNoise is the standard deviation, in CPU percentage points, of the
	// measurement noise on the fleet's CPU metric.
	CPUNoise float64

	// TickInterval is the period of the EventBridge schedule that makes
	// the stampkit scaler re-evaluate alarms still in ALARM.
	TickInterval time.Duration
	Bus          BusConfig
	// PricePerHour is the on-demand price of one instance, for the cost
	// column of the scores.
	PricePerHour float64
	// HandlerLog, when set, receives the scaler handler's JSON log lines
	// and EMF metric records.
	HandlerLog io.Writer
}

// DefaultConfig is the fleet the demo simulates. The instance is a
// c7g.large-class web server (2 vCPU, 100 requests/s at full CPU) at the
// on-demand price of $0.0725 an hour (us-east-1); the load balancer's
// health checks are tuned down from AWS's 30 s × 5 to 10 s × 3 (3 failures
// mark a target unhealthy, as the stack's target groups say), and the
// deregistration delay from 300 s to 30 s, as DESIGN.md advises. An image
// is rolled out with the instance refresh preferences the shipped cdk.json
// gives the fleet: 100 % minimum and 200 % maximum healthy (launch before
// terminate), a checkpoint at 50 % held for 5 minutes; the warm-up is the
// group's 60-second health check grace period, AWS's default for it.
func DefaultConfig() Config {
	return Config{
		Group: "web-asg", Min: 2, Max: 100,
		Step: 10 * time.Second, Seed: 1,
		InstanceCapacity: 100, TargetUtilisation: 0.6,
		LaunchMedian: 100 * time.Second, LaunchSpread: 0.25,
		HealthCheckInterval: 10 * time.Second, HealthyThreshold: 3, UnhealthyThreshold: 3,
		DeregistrationDelay: 30 * time.Second,
		Hooks:               DefaultHooks(), AppWarmup: 20 * time.Second,
		RefreshMinHealthy: new(100), RefreshMaxHealthy: new(200), RefreshWarmup: 60 * time.Second,
		RefreshCheckpoints: []int{50, 100}, RefreshCheckpointDelay: 5 * time.Minute,
		BaseP95: 50 * time.Millisecond, P95Cap: 10 * time.Second,
		P95Bound: 250 * time.Millisecond, UtilisationBound: 0.9,
		CPUNoise:     1.0,
		TickInterval: time.Minute,
		Bus:          BusConfig{MinDelay: 200 * time.Millisecond, MaxDelay: 2 * time.Second, DuplicateProbability: 0.02, DuplicateDelay: 30 * time.Second},
		PricePerHour: 0.0725,
	}
}

// Validate reports every problem with c.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if c.Group == "" {
		bad("group: is empty")
	}
	if c.Min < 0 || c.Max < 1 || c.Max < c.Min {
		bad("min %d, max %d: need 0 <= min <= max, max >= 1", c.Min, c.Max)
	}
	if c.Step <= 0 || time.Minute%c.Step != 0 {
		bad("step %v must divide a minute", c.Step)
	}
	if c.InstanceCapacity <= 0 || c.TargetUtilisation <= 0 || c.TargetUtilisation > 1 {
		bad("instance capacity %g and target utilisation %g: need capacity > 0 and 0 < target <= 1", c.InstanceCapacity, c.TargetUtilisation)
	}
	if c.LaunchMedian <= 0 || c.LaunchSpread < 0 {
		bad("launch median %v and spread %g: need median > 0, spread >= 0", c.LaunchMedian, c.LaunchSpread)
	}
	if c.HealthCheckInterval <= 0 || c.HealthyThreshold < 1 || c.UnhealthyThreshold < 1 || c.DeregistrationDelay < 0 {
		bad("health checks %v × %d (unhealthy after %d), deregistration delay %v: need positive interval and thresholds", c.HealthCheckInterval, c.HealthyThreshold, c.UnhealthyThreshold, c.DeregistrationDelay)
	}
	// As the rollout policy validates them (rollout.Rolling): the twin's
	// policy is built from these.
	lo, hi := orDefault(c.RefreshMinHealthy, 90), orDefault(c.RefreshMaxHealthy, 100)
	switch {
	case lo < 0 || lo > 100 || hi < 100 || hi > 200 || hi-lo > 100:
		bad("refresh min healthy %d%% and max healthy %d%%: need 0-100 and 100-200, at most 100 points apart", lo, hi)
	case c.RefreshMaxHealthy != nil && c.RefreshMinHealthy == nil:
		bad("refresh max healthy without min healthy, which AWS refuses")
	}
	if c.RefreshWarmup < 0 || c.RefreshCheckpointDelay < 0 {
		bad("refresh warm-up %v and checkpoint delay %v must not be negative", c.RefreshWarmup, c.RefreshCheckpointDelay)
	}
	if c.BaseP95 <= 0 || c.P95Cap < c.BaseP95 || c.P95Bound <= 0 || c.UtilisationBound <= 0 {
		bad("latency model: need 0 < base p95 <= cap, positive bounds")
	}
	if c.CPUNoise < 0 || c.TickInterval <= 0 || c.PricePerHour < 0 {
		bad("cpu noise %g, tick interval %v, price %g: need noise >= 0, interval > 0, price >= 0", c.CPUNoise, c.TickInterval, c.PricePerHour)
	}
	if c.Hooks != nil && c.Lifecycle != nil {
		bad("hooks and lifecycle: set at most one")
	}
	if c.WarmPool != nil {
		if err := c.WarmPool.validate(); err != nil {
			bad("warm pool: %v", err)
		}
	}
	if c.AppWarmup < 0 {
		bad("app warm-up %v is negative", c.AppWarmup)
	}
	if c.Hooks != nil {
		if err := c.Hooks.Validate(); err != nil {
			bad("hooks: %v", err)
		}
	}
	if err := c.Bus.validate(); err != nil {
		bad("bus: %v", err)
	}
	return errors.Join(errs...)
}

// PerInstanceTarget is the request rate one instance carries at the target
// utilisation: the unit of demand in instances.
func (c Config) PerInstanceTarget() float64 { return c.InstanceCapacity * c.TargetUtilisation }

// DemandInstances is the number of instances a request rate needs at the
// target utilisation.
func (c Config) DemandInstances(rate float64) int {
	return int(math.Ceil(rate/c.PerInstanceTarget() - 1e-9))
}

// Scenario is what happens to the fleet: the demand it sees and, when
// ImageBuiltAt is set, a new image mid-run that is rolled out to it.
type Scenario struct {
	Name  string
	Trace traces.Trace
	// ImageBuiltAt is when, from the start, the image pipeline publishes a
	// new image; zero means no rollout.
	ImageBuiltAt time.Duration
	// Strategy is how the rollout handler rolls the image out:
	// rollout.StrategyRolling (the default, an instance refresh) or
	// rollout.StrategyBlueGreen, which gives the fleet a peer group and a
	// weighted listener (see BlueGreenPolicy).
	Strategy rollout.Strategy
	// BadImage, between 0 and 1, makes the new image faulty: its instances
	// boot and pass their health checks but serve only that share of
	// InstanceCapacity, so the fleet's health alarm fires once they take
	// traffic and the rollout rolls back.
	BadImage float64
	// Crash, when set, makes the new image fail under real traffic (see
	// Crash).
	Crash Crash
	// Commands are the operator's rollout commands, each sent at its time
	// from the start as "stampkit rollout" writes it.
	Commands []Command
	// Chaos, when set, injects faults around the toolkit's functions (see
	// Chaos); nil is a run where AWS answers every call.
	Chaos *Chaos
	// Shift, when set, makes the run a stamp shift: two stamps behind DNS
	// (see Shift). It excludes an image, commands and chaos.
	Shift *Shift
}

// Crash is a new image that passes its warm-up and health checks but
// crashes under real traffic: once a target on it has carried more than
// Above of its capacity in a step, its application crashes After later (a
// leak that only real traffic starts), whatever its load meanwhile. The
// crashed application refuses connections: the load balancer answers the
// requests it sends there with 502 (HTTPCode_ELB_5XX_Count) and marks the
// target unhealthy after Config.UnhealthyThreshold failed health checks.
// The zero Crash is none.
type Crash struct {
	Above float64
	After time.Duration
}

func (c Crash) set() bool { return c.After > 0 }

// Command is an operator's rollout command ("stampkit rollout ACTION
// -fleet web -reason REASON"), sent at At from the start of the run.
type Command struct {
	At time.Duration
	// Action is event.CommandAbort, CommandPause, CommandResume or
	// CommandPromote.
	Action, Reason string
}

// Sample is the fleet during one step.
type Sample struct {
	// Offered requests arrived during the step; Served were answered and
	// Dropped were not. Offered == Served + Dropped, and Dropped ==
	// TargetErrors + ELBErrors: TargetErrors are the 503s of targets past
	// their capacity (HTTPCode_Target_5XX_Count), ELBErrors the 5xx the
	// load balancer answered itself (HTTPCode_ELB_5XX_Count): 502 for a
	// target that refused the connection, 503 for a target group with no
	// target to route to.
	Offered, Served, Dropped int64
	TargetErrors, ELBErrors  int64
	// Healthy targets took traffic; Unhealthy are targets that failed their
	// health checks; InService counts the group's InService instances
	// (healthy, unhealthy or still in health checks); Pending are launching;
	// Draining are deregistering before termination; Desired is the
	// group's desired capacity; WarmPool counts the instances in the warm
	// pool, warming up or stopped.
	Healthy, Unhealthy, InService, Pending, Draining, Desired, WarmPool int
	// FailOpen is set when a target group the listener sent requests to
	// had no healthy target but unhealthy ones, so the load balancer
	// routed to all its registered targets regardless of their health.
	FailOpen bool
	// CPU is the mean CPU of the targets that took traffic, in percent.
	CPU float64
	// P95 is the 95th-percentile latency of served requests.
	P95 time.Duration
	// Violation is set when the step breaks the SLO.
	Violation bool
	// PeerOffered and PeerServed are the part of Offered and Served the
	// listener sent to the blue/green peer group, and PeerHealthy the part
	// of Healthy in it; zero without a peer.
	PeerOffered, PeerServed int64
	PeerHealthy             int
}

// ScalingEvent is a change of the group's desired capacity.
type ScalingEvent struct {
	At time.Time
	// Group is the Auto Scaling group whose capacity changed.
	Group    string
	From, To int
	// By names what changed it: the policy, or "rollout".
	By     string
	Reason string
	// Claim is the state-table claim of the handler effect that changed
	// it (for the scaler, the decision's alarm change or tick window);
	// empty for AWS's own policies. A claim's effect runs once, so no two
	// changes share one.
	Claim string
}

// AlarmChange is an alarm changing state.
type AlarmChange struct {
	At       time.Time
	Alarm    string
	From, To string
	// Value is the newest datapoint when the state changed.
	Value float64
}

// RolloutEvent marks a step of an image rollout.
type RolloutEvent struct {
	At     time.Time
	What   string
	Detail string
}

// LifecycleEvent is a step of a lifecycle action the hooks handler
// answered.
type LifecycleEvent struct {
	At         time.Time
	InstanceID string
	// What is LaunchGated, LaunchReady, LaunchAbandoned, Drained, Warmed
	// or HookExpired; Transition is the action's, Launching or
	// Terminating.
	What, Transition string
	// Wait is how long the instance was held at the hook (zero for
	// LaunchGated).
	Wait time.Duration
	// WarmPool is set for a launch into the warm pool (Destination
	// WarmPool) or out of it (Origin WarmPool).
	WarmPool bool
}

// BusStats counts what the simulated EventBridge did.
type BusStats struct {
	Published, Delivered, Duplicates, Overtaken int
}

// Result is the record of one run.
type Result struct {
	Scenario, Policy string
	Config           Config
	Start            time.Time
	Samples          []Sample
	Scaling          []ScalingEvent
	Alarms           []AlarmChange
	// Datapoints holds every datapoint each alarm evaluated, by alarm name.
	Datapoints map[string][]Datapoint
	Rollout    []RolloutEvent
	// Weights are the listener's forward weights over time (blue/green
	// scenarios only).
	Weights []WeightChange
	// Groups are the Auto Scaling groups as the run left them, the
	// configured group first; ImageParameter and DefaultVersion the
	// fleet's image parameter and launch template default version,
	// TemplateVersions the number of its launch template's versions, and
	// RolloutOutcome the outcome of its last rollout, as the rollout
	// record says (empty while one runs, or when none ran).
	Groups           []GroupEnd
	ImageParameter   string
	DefaultVersion   int64
	TemplateVersions int
	RolloutOutcome   string
	// Lifecycle records the lifecycle hooks' actions (with Config.Hooks).
	Lifecycle []LifecycleEvent
	// Offered, Served, Dropped, TargetErrors and ELBErrors total the
	// samples.
	Offered, Served, Dropped int64
	TargetErrors, ELBErrors  int64
	// InstanceSeconds is the exact billed time of all instances, from
	// launch to termination.
	InstanceSeconds float64
	Bus             BusStats
	// Outcomes counts the stampkit handler's decisions by outcome.
	Outcomes map[string]int
	// HandlerErrors lists the errors the handlers' invocations failed
	// with, each retried as Lambda or the wake-up queue retries it; a
	// healthy run has none.
	HandlerErrors []string
	// Functions counts each deployed function's deliveries, invocations,
	// failures and retries; DeadLetters lists the events whose retries
	// ran out.
	Functions   []FunctionStats
	DeadLetters []DeadLetter
	// Chaos is the scenario's chaos (nil: none); Faults lists the faults
	// it injected, in time order.
	Chaos  *Chaos
	Faults []FaultEvent
	// Effects checks the handlers' effects against what each action
	// called for.
	Effects Effects
	// Forecasts are the forecasts a predictive scaling policy generated,
	// in time order.
	Forecasts []Forecast
	// Stamps are, in a stamp shift (Scenario.Shift), each stamp's own
	// record, the stamp traffic leaves first; the fields above add them
	// up. DNS is the zone in front of them at each step.
	Stamps []Stamp
	DNS    []DNSSample
}

// GroupEnd is an Auto Scaling group at the end of a run.
type GroupEnd struct {
	Name string
	// Version is the launch template version the group names.
	Version string
	Desired int
	// Images counts the group's running instances (launching, in service
	// or draining) by image.
	Images map[string]int
}

// Time returns the start time of step i.
func (r *Result) Time(i int) time.Time { return r.Start.Add(time.Duration(i) * r.Config.Step) }

// Autoscaler is a scaling policy under test. Stampkit, TargetTracking,
// TargetTrackingPolicies, StepScaling, SimpleScaling and Predictive provide
// them.
type Autoscaler interface {
	// Name names the policy in results and reports.
	Name() string
	// attach declares the policy's alarms and schedules on s.
	attach(s *sim) error
}

// Run simulates sc under a with cfg and returns the record.
func Run(ctx context.Context, cfg Config, sc Scenario, a Autoscaler) (*Result, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("twin config: %w", err)
	}
	if sc.Trace.Step != cfg.Step {
		return nil, fmt.Errorf("scenario %s: trace step %v differs from simulation step %v", sc.Name, sc.Trace.Step, cfg.Step)
	}
	if len(sc.Trace.Rates) == 0 {
		return nil, fmt.Errorf("scenario %s: empty trace", sc.Name)
	}
	if sc.Crash.Above < 0 || sc.Crash.After < 0 {
		return nil, fmt.Errorf("scenario %s: crash above %g after %v: need both >= 0", sc.Name, sc.Crash.Above, sc.Crash.After)
	}
	if sc.Chaos != nil {
		if err := sc.Chaos.validate(); err != nil {
			return nil, fmt.Errorf("scenario %s: chaos: %w", sc.Name, err)
		}
	}
	for _, c := range sc.Commands {
		switch c.Action {
		case event.CommandAbort, event.CommandPause, event.CommandResume, event.CommandPromote:
		default:
			return nil, fmt.Errorf("scenario %s: rollout command %q is not abort, pause, resume or promote", sc.Name, c.Action)
		}
		if c.At < 0 {
			return nil, fmt.Errorf("scenario %s: rollout command %s at %v, before the start", sc.Name, c.Action, c.At)
		}
	}
	if sc.Shift != nil {
		if sc.ImageBuiltAt > 0 || len(sc.Commands) > 0 || sc.Chaos != nil {
			return nil, fmt.Errorf("scenario %s: a stamp shift runs no image, commands or chaos", sc.Name)
		}
		return runShift(ctx, cfg, sc, a)
	}
	s := newSim(cfg, sc)
	if err := a.attach(s); err != nil {
		return nil, fmt.Errorf("attaching %s: %w", a.Name(), err)
	}
	if cfg.Hooks != nil {
		if err := s.attachHooks(); err != nil {
			return nil, err
		}
	}
	if err := s.attachRollout(); err != nil {
		return nil, err
	}
	s.res.Policy = a.Name()
	if err := s.run(ctx); err != nil {
		return nil, fmt.Errorf("simulating %s under %s: %w", sc.Name, a.Name(), err)
	}
	return s.res, nil
}
