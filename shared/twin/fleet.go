package twin

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/stampkit/stampkit/shared/scaling"
)

// Lifecycle holds instances at the group's lifecycle hooks: the seam where
// a lifecycle core (shared/lifecycle with the hooks handler) drives the
// twin. Hold is called when a booted instance reaches Pending:Wait and when
// a drained one reaches Terminating:Wait; the instance stays there until
// the action is completed, as it would until CompleteLifecycleAction. A
// core driven by events completes it when its CompleteLifecycleAction call
// reaches the twin.
type Lifecycle interface {
	Hold(a *LifecycleAction)
}

// Lifecycle transitions, as Auto Scaling names them.
const (
	Launching   = "autoscaling:EC2_INSTANCE_LAUNCHING"
	Terminating = "autoscaling:EC2_INSTANCE_TERMINATING"
)

// LifecycleAction is an instance held at a lifecycle hook.
type LifecycleAction struct {
	InstanceID string
	// Transition is Launching or Terminating.
	Transition string
	// At is when the instance reached the hook.
	At       time.Time
	complete func(after time.Duration)
}

// CompleteAfter ends the action d of virtual time from when the hook was
// reached (or now, if that is later). Only the first call counts.
func (a *LifecycleAction) CompleteAfter(d time.Duration) {
	if a.complete != nil {
		f := a.complete
		a.complete = nil
		f(d)
	}
}

// ReadyAfter is a Lifecycle with a fixed readiness delay on launch and
// none on termination: a launch hook that runs a fixed bootstrap.
type ReadyAfter time.Duration

// Hold completes a launch after the delay and a termination at once.
func (r ReadyAfter) Hold(a *LifecycleAction) {
	if a.Transition == Launching {
		a.CompleteAfter(time.Duration(r))
		return
	}
	a.CompleteAfter(0)
}

// hold puts in at a hook and runs next when the action completes; without
// a Lifecycle it runs next at once.
func (f *fleet) hold(in *instance, transition string, next func()) {
	lc := f.s.cfg.Lifecycle
	if lc == nil {
		next()
		return
	}
	reached := f.s.now
	lc.Hold(&LifecycleAction{InstanceID: in.id(), Transition: transition, At: f.s.wall(reached), complete: func(after time.Duration) {
		f.s.at(reached+after, prioFleet, func(context.Context) { next() })
	}})
}

type instState uint8

const (
	// pending: launching, booting, or waiting on the launch hook.
	pending instState = iota
	// registered: InService and registered with the load balancer, health
	// checks not yet passed.
	registered
	// healthy: InService and taking traffic.
	healthy
	// draining: terminating; deregistered from the load balancer.
	draining
	gone
)

type instance struct {
	n         int
	image     string
	state     instState
	launched  time.Duration
	inService time.Duration
	healthyAt time.Duration
	// booted is when the instance finished booting.
	booted time.Duration
	// drainUntil is when a deregistered target stops draining.
	drainUntil time.Duration
	// action is the token of the lifecycle action holding the instance.
	action string
}

func (in *instance) id() string { return fmt.Sprintf("i-%017x", in.n) }

// fleet is the Auto Scaling group and its load balancer target group.
type fleet struct {
	s                *sim
	min, max         int
	desired          int
	live             []*instance // launched and not yet gone, in launch order
	byID             map[string]*instance
	next             int
	image            string
	rr               int // the load balancer's round-robin position
	lastActivityDone time.Duration
	billed           time.Duration
	refresh          *refresh
	// healthy targets of the current step, reused.
	targets []*instance
}

func newFleet(s *sim, initial int) *fleet {
	f := &fleet{s: s, min: s.cfg.Min, max: s.cfg.Max, image: ImageV1, lastActivityDone: -time.Hour, byID: map[string]*instance{}}
	f.desired = min(max(initial, f.min), f.max)
	// The fleet starts settled: instances launched an hour ago, healthy
	// and past any warm-up.
	for range f.desired {
		in := f.newInstance()
		in.launched, in.inService, in.healthyAt, in.booted, in.state = -time.Hour, -time.Hour, -time.Hour, -time.Hour, healthy
	}
	return f
}

func (f *fleet) newInstance() *instance {
	f.next++
	in := &instance{n: f.next, image: f.image}
	f.live = append(f.live, in)
	f.byID[in.id()] = in
	return in
}

// capacity is what DescribeAutoScalingGroups reports.
func (f *fleet) capacity() scaling.Group {
	g := scaling.Group{Min: f.min, Max: f.max, Desired: f.desired}
	for _, in := range f.live {
		if in.state == registered || in.state == healthy {
			g.InService++
		}
	}
	return g
}

// setDesired is SetDesiredCapacity: outside min and max it is refused, as
// Auto Scaling refuses it with a ValidationError.
func (f *fleet) setDesired(n int, by, reason string) error {
	if n < f.min || n > f.max {
		return fmt.Errorf("desired capacity %d is outside min %d and max %d", n, f.min, f.max)
	}
	if n != f.desired {
		f.s.res.Scaling = append(f.s.res.Scaling, ScalingEvent{At: f.s.Now(), From: f.desired, To: n, By: by, Reason: reason})
	}
	f.desired = n
	f.reconcile()
	return nil
}

// active are the instances that count towards desired capacity.
func (f *fleet) active() []*instance {
	var out []*instance
	for _, in := range f.live {
		if in.state <= healthy {
			out = append(out, in)
		}
	}
	return out
}

// reconcile launches or terminates instances until the active ones match
// desired capacity.
func (f *fleet) reconcile() {
	act := f.active()
	for range f.desired - len(act) {
		f.launch()
	}
	if surplus := len(act) - f.desired; surplus > 0 {
		// The default termination policy, simplified: instances of an older
		// image first, then those not serving yet, then the newest.
		slices.SortStableFunc(act, func(a, b *instance) int {
			if a.image != b.image {
				if a.image != f.image {
					return -1
				}
				return 1
			}
			if c := cmp.Compare(a.state, b.state); c != 0 {
				return c
			}
			return cmp.Compare(b.launched, a.launched)
		})
		for _, in := range act[:surplus] {
			f.terminate(in)
		}
	}
}

func (f *fleet) launch() {
	in := f.newInstance()
	in.launched = f.s.now
	boot := time.Duration(float64(f.s.cfg.LaunchMedian) * math.Exp(f.s.cfg.LaunchSpread*f.s.launchRNG.NormFloat64()))
	in.booted = f.s.now + boot
	if f.s.hooks != nil {
		// Pending:Wait starts as soon as EC2 has the instance; the hook's
		// probes find the application once it has booted and warmed up.
		f.s.hooks.hold(in, Launching)
		return
	}
	f.s.at(f.s.now+boot, prioFleet, func(context.Context) {
		if in.state == pending {
			f.hold(in, Launching, func() { f.enterService(in) })
		}
	})
}

// enterService makes in InService and registers it with the load balancer,
// whose health checks pass after HealthyThreshold intervals; the first
// check comes at a random point of the first interval.
func (f *fleet) enterService(in *instance) {
	if in.state != pending {
		return
	}
	in.state, in.inService = registered, f.s.now
	f.lastActivityDone = f.s.now
	cfg := f.s.cfg
	phase := time.Duration(f.s.healthRNG.Float64() * float64(cfg.HealthCheckInterval))
	f.s.at(f.s.now+phase+time.Duration(cfg.HealthyThreshold-1)*cfg.HealthCheckInterval, prioFleet, func(context.Context) {
		if in.state == registered {
			in.state, in.healthyAt = healthy, f.s.now
		}
	})
}

// terminate takes in out of service. A target that served traffic drains
// for the deregistration delay; one that never did goes at once, as the
// load balancer completes a deregistration with no connections in flight.
//
// With lifecycle hooks, Auto Scaling deregisters a serving instance and
// holds it at the terminate hook, whose handler sees the target drain and
// completes the action; an instance still at the launch hook leaves it.
func (f *fleet) terminate(in *instance) {
	if h := f.s.hooks; h != nil {
		switch in.state {
		case pending, registered:
			h.release(in)
			f.gone(in)
		case healthy:
			in.state, in.drainUntil = draining, f.s.now+f.s.cfg.DeregistrationDelay
			h.hold(in, Terminating)
		}
		return
	}
	switch in.state {
	case pending, registered:
		f.gone(in)
	case healthy:
		in.state = draining
		f.s.at(f.s.now+f.s.cfg.DeregistrationDelay, prioFleet, func(context.Context) {
			f.hold(in, Terminating, func() { f.gone(in) })
		})
	}
}

func (f *fleet) gone(in *instance) {
	in.state = gone
	f.billed += f.s.now - max(in.launched, 0)
	f.lastActivityDone = f.s.now
}

// finish bills the instances still running at the end of the run.
func (f *fleet) finish() {
	for _, in := range f.live {
		if in.state != gone {
			f.billed += f.s.now - max(in.launched, 0)
		}
	}
	f.s.res.InstanceSeconds = f.billed.Seconds()
}

// busy reports whether a scaling activity is still in progress: an
// instance launching or draining.
func (f *fleet) busy() bool {
	for _, in := range f.live {
		if in.state == pending || in.state == draining {
			return true
		}
	}
	return false
}

// warming counts the InService instances younger than warmup, and the
// pending ones, which will be.
func (f *fleet) warming(warmup time.Duration) int {
	n := 0
	for _, in := range f.live {
		if in.state == pending || ((in.state == registered || in.state == healthy) && f.s.now-in.inService < warmup) {
			n++
		}
	}
	return n
}

// traffic routes one step's requests: the load balancer deals them round
// robin over the healthy targets, each serves up to its capacity and drops
// the rest, and the step's CPU, latency and SLO follow. It also feeds the
// step's metrics to CloudWatch.
func (f *fleet) traffic(offered int64) Sample {
	cfg := f.s.cfg
	smp := Sample{Offered: offered, Desired: f.desired}
	f.targets = f.targets[:0]
	kept := f.live[:0]
	var cpuAll, cpuWarm float64
	var nAll, nWarm int
	for _, in := range f.live {
		switch in.state {
		case gone:
			continue
		case pending:
			smp.Pending++
		case registered:
			smp.InService++
		case healthy:
			smp.InService++
			f.targets = append(f.targets, in)
		case draining:
			smp.Draining++
		}
		kept = append(kept, in)
	}
	clear(f.live[len(kept):])
	f.live = kept
	smp.Healthy = len(f.targets)

	stepCap := cfg.InstanceCapacity * cfg.Step.Seconds()
	perTarget := int64(math.Floor(stepCap))
	n := int64(len(f.targets))
	var maxU float64
	if n == 0 {
		smp.Dropped = offered
		smp.P95 = cfg.P95Cap
	} else {
		share, extra := offered/n, offered%n
		// The fleet may have shrunk since the last step.
		f.rr %= int(n)
		for k, in := range f.targets {
			// Round robin: the extra requests go to the next targets in
			// turn, continuing where the last step stopped.
			got := share
			if (int64(k)-int64(f.rr)+n)%n < extra {
				got++
			}
			served := min(got, perTarget)
			smp.Served += served
			smp.Dropped += got - served
			u := float64(got) / stepCap
			maxU = max(maxU, u)
			cpu := 100 * min(u, 1)
			smp.CPU += cpu
			cpuAll += cpu
			nAll++
			if f.s.now-in.inService >= f.s.cw.warmup {
				cpuWarm += cpu
				nWarm++
			}
		}
		f.rr = int((int64(f.rr) + extra) % n)
		smp.CPU /= float64(n)
		smp.P95 = p95(cfg, maxU)
	}
	// Instances in health checks or draining run idle but still report CPU
	// to the group's average, as CloudWatch's AutoScalingGroupName
	// aggregate does.
	nAll += smp.InService - smp.Healthy + smp.Draining
	smp.Violation = smp.Dropped > 0 || smp.P95 > cfg.P95Bound || maxU > cfg.UtilisationBound
	f.s.cw.observe(stepMetrics{cpuAll: cpuAll, nAll: nAll, cpuWarm: cpuWarm, nWarm: nWarm, requests: offered, targets: len(f.targets)})
	return smp
}

// p95 is the 95th-percentile latency of an M/M/1 queue at utilisation u:
// response times are exponential with mean S/(1-u), so the p95 is
// ln(20)·S/(1-u), written here as BaseP95/(1-u).
func p95(cfg Config, u float64) time.Duration {
	if u >= 1 {
		return cfg.P95Cap
	}
	return min(time.Duration(float64(cfg.BaseP95)/(1-u)), cfg.P95Cap)
}

// groupsPort serves the scaler's Groups port from the simulated group.
type groupsPort struct {
	f  *fleet
	by string
}

func (g groupsPort) Capacity(_ context.Context, group string) (scaling.Group, error) {
	if group != g.f.s.cfg.Group {
		return scaling.Group{}, fmt.Errorf("auto scaling group %s not found", group)
	}
	return g.f.capacity(), nil
}

func (g groupsPort) SetDesiredCapacity(_ context.Context, group string, desired int) error {
	if group != g.f.s.cfg.Group {
		return fmt.Errorf("auto scaling group %s not found", group)
	}
	return g.f.setDesired(desired, g.by, "")
}
