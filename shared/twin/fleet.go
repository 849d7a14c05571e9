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
	// checks not yet passed (target state "initial").
	registered
	// unhealthy: InService and registered, but failing its health checks.
	// The group does not replace it: the twin does not model the group's
	// own ELB health check.
	unhealthy
	// healthy: InService and taking traffic.
	healthy
	// draining: terminating; deregistered from the load balancer.
	draining
	gone
	// warming: launched into the warm pool, booting or at the launch hook.
	warming
	// warm: stopped in the warm pool.
	warm
)

type instance struct {
	// g is the group that launched the instance.
	g         *fleet
	n         int
	image     string
	state     instState
	launched  time.Duration
	inService time.Duration
	healthyAt time.Duration
	// checkFrom is when the load balancer's first health check of the
	// target ran; the next follow every HealthCheckInterval.
	checkFrom time.Duration
	// booted is when the instance finished booting.
	booted time.Duration
	// drainUntil is when a deregistered target stops draining.
	drainUntil time.Duration
	// action is the token of the lifecycle action holding the instance.
	action string
	// speed scales InstanceCapacity: below 1 on a bad image.
	speed float64
	// runFrom is when the instance last started running (it is billed
	// from then); stopped is set while it is stopped in the warm pool.
	runFrom time.Duration
	stopped bool
	// fromPool is set once the instance left the warm pool for service.
	fromPool bool
	// doomed is set once a target on a crashing image (Scenario.Crash) has
	// carried the load that makes it crash; crashed once it has: its
	// application refuses connections.
	doomed, crashed bool
}

// capacity is the share of Config.InstanceCapacity the instance serves.
func (in *instance) capacity() float64 { return in.speed }

func (in *instance) id() string { return fmt.Sprintf("i-%017x", in.n) }

// fleet is one Auto Scaling group and its load balancer target group. A
// run has one, or two for a blue/green fleet: the configured group and its
// peer, behind one weighted listener.
type fleet struct {
	s *sim
	// name is the group's name; tg its target group's ARN.
	name, tg string
	min, max int
	desired  int
	live     []*instance // launched and not yet gone, in launch order
	image    string
	// version is the launch template version the group names.
	version          string
	rr               int // the load balancer's round-robin position
	lastActivityDone time.Duration
	billed           time.Duration
	refresh          *refresh
	// pool is the group's warm pool; nil without one.
	pool *WarmPool
	// targets are the healthy targets of the current step, registered all
	// its registered ones and unhealthy counts those failing their health
	// checks (census).
	targets, registered []*instance
	unhealthy           int
}

func newFleet(s *sim, name, tg string, lo, initial int) *fleet {
	f := &fleet{s: s, name: name, tg: tg, min: lo, max: s.cfg.Max, image: ImageV1, version: "1", lastActivityDone: -time.Hour}
	f.desired = min(max(initial, f.min), f.max)
	// The fleet starts settled: instances launched an hour ago, healthy
	// and past any warm-up.
	for range f.desired {
		in := f.newInstance()
		in.launched, in.inService, in.healthyAt, in.booted, in.state = -time.Hour, -time.Hour, -time.Hour, -time.Hour, healthy
	}
	return f
}

// withPool gives the group a warm pool, full and stopped at the start.
func (f *fleet) withPool(p *WarmPool) {
	f.pool = p
	for range f.poolTarget() {
		in := f.newInstance()
		in.launched, in.booted, in.state, in.stopped = -time.Hour, -time.Hour, warm, true
	}
}

func (f *fleet) newInstance() *instance {
	f.s.nextInstance++
	in := &instance{g: f, n: f.s.nextInstance, image: f.image, speed: f.s.speedOf(f.image)}
	f.live = append(f.live, in)
	f.s.byID[in.id()] = in
	return in
}

// capacity is what DescribeAutoScalingGroups reports.
func (f *fleet) capacity() scaling.Group {
	g := scaling.Group{Min: f.min, Max: f.max, Desired: f.desired}
	for _, in := range f.live {
		if in.isInService() {
			g.InService++
		}
	}
	return g
}

// isInService reports whether the instance is InService: registered with the
// load balancer, whatever its health.
func (in *instance) isInService() bool {
	return in.state == registered || in.state == unhealthy || in.state == healthy
}

// setDesired is SetDesiredCapacity: outside min and max it is refused, as
// Auto Scaling refuses it with a ValidationError.
func (f *fleet) setDesired(n int, by, reason string) error {
	if n < f.min || n > f.max {
		return fmt.Errorf("desired capacity %d is outside min %d and max %d", n, f.min, f.max)
	}
	if n != f.desired {
		claim := ""
		if f.s.inv != nil {
			claim = f.s.inv.claim
		}
		e := ScalingEvent{At: f.s.Now(), Group: f.name, From: f.desired, To: n, By: by, Reason: reason, Claim: claim}
		f.s.res.Scaling = append(f.s.res.Scaling, e)
		f.s.noteChange(e)
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
// desired capacity, plus the replacements an instance refresh launched
// ahead of the instances they replace.
func (f *fleet) reconcile() {
	act := f.active()
	defer f.topUpPool()
	want := f.desired
	if f.refresh != nil {
		want += f.refresh.ahead
	}
	for range want - len(act) {
		if !f.fromPool() {
			f.launch()
		}
	}
	if surplus := len(act) - want; surplus > 0 {
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
	in.launched, in.runFrom = f.s.now, f.s.now
	boot := f.s.draw(f.s.cfg.LaunchMedian)
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
	in.checkFrom = f.s.now + phase
	f.s.at(in.checkFrom+time.Duration(cfg.HealthyThreshold-1)*cfg.HealthCheckInterval, prioFleet, func(context.Context) {
		if in.state == registered && !in.crashed {
			in.state, in.healthyAt = healthy, f.s.now
		}
	})
}

// crash stops in's application: from now on it refuses connections, and
// the load balancer marks the target unhealthy once UnhealthyThreshold of
// its health checks in a row have failed, the first at the next check
// ("Health checks for Application Load Balancer target groups", Elastic
// Load Balancing user guide: UnhealthyThresholdCount).
func (f *fleet) crash(in *instance) {
	if in.crashed || !in.isInService() {
		return
	}
	in.crashed = true
	f.s.fault(f, in)
	cfg := f.s.cfg
	interval := cfg.HealthCheckInterval
	next := in.checkFrom
	if next < f.s.now {
		next += (f.s.now - next + interval - 1) / interval * interval
	}
	f.s.at(next+time.Duration(cfg.UnhealthyThreshold-1)*interval, prioFleet, func(context.Context) {
		if in.state == registered || in.state == healthy {
			in.state = unhealthy
		}
	})
}

// stress notes the load on a target of a crashing image (Scenario.Crash):
// the first step it carries more than the crash's share of its capacity
// dooms it to crash Crash.After later.
func (f *fleet) stress(in *instance, u float64) {
	c := f.s.sc.Crash
	if !c.set() || in.doomed || in.image != ImageV2 || u <= c.Above {
		return
	}
	in.doomed = true
	f.s.at(f.s.now+c.After, prioFleet, func(context.Context) { f.crash(in) })
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
		case healthy, unhealthy:
			in.state, in.drainUntil = draining, f.s.now+f.s.cfg.DeregistrationDelay
			h.hold(in, Terminating)
		}
		return
	}
	switch in.state {
	case pending, registered:
		f.gone(in)
	case healthy, unhealthy:
		in.state = draining
		f.s.at(f.s.now+f.s.cfg.DeregistrationDelay, prioFleet, func(context.Context) {
			f.hold(in, Terminating, func() { f.gone(in) })
		})
	}
}

func (f *fleet) gone(in *instance) {
	wasPooled := in.state == warm || in.state == warming
	in.state = gone
	if !in.stopped {
		f.billed += f.s.now - max(in.runFrom, 0)
	}
	if !wasPooled {
		f.lastActivityDone = f.s.now
	}
}

// finish bills the instances still running at the end of the run.
func (f *fleet) finish() {
	for _, in := range f.live {
		if in.state != gone && !in.stopped {
			f.billed += f.s.now - max(in.runFrom, 0)
		}
	}
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
		if in.state == pending || (in.isInService() && f.s.now-in.inService < warmup) {
			n++
		}
	}
	return n
}

// census drops the instances gone since the last step, counts the
// group's instances by state into smp and gathers its targets: the
// healthy ones, and all registered ones (initial, unhealthy or healthy)
// for the load balancer's fail-open.
func (f *fleet) census(smp *Sample) {
	f.targets, f.registered = f.targets[:0], f.registered[:0]
	f.unhealthy = 0
	kept := f.live[:0]
	for _, in := range f.live {
		switch in.state {
		case gone:
			continue
		case pending:
			smp.Pending++
		case registered:
			smp.InService++
			f.registered = append(f.registered, in)
		case unhealthy:
			smp.InService++
			f.unhealthy++
			f.registered = append(f.registered, in)
		case healthy:
			smp.InService++
			f.targets = append(f.targets, in)
			f.registered = append(f.registered, in)
		case draining:
			smp.Draining++
		case warming, warm:
			smp.WarmPool++
		}
		kept = append(kept, in)
	}
	clear(f.live[len(kept):])
	f.live = kept
	smp.Healthy += len(f.targets)
	smp.Unhealthy += f.unhealthy
	smp.Desired += f.desired
}

// load is what serving one step did to the fleet's targets.
type load struct {
	served int64
	// targetErrors are requests targets refused past their capacity;
	// elbErrors those the load balancer answered itself.
	targetErrors, elbErrors int64
	// cpu sums the CPU of the targets that took part; maxU is the highest
	// utilisation of any.
	cpu, maxU float64
	// n counts the targets that took part: those of groups the listener
	// forwards to.
	n        int
	failOpen bool
	m        stepMetrics
}

// serve deals the group's share of a step's requests round robin over its
// healthy targets; each serves up to its capacity and answers the rest
// with 503 (a target 5XX). A group the listener gives no weight (a
// blue/green peer warming up, or the old group emptied) serves nothing and
// its idle targets stay out of the step's CPU.
//
// The load balancer's own answers follow "Health checks for Application
// Load Balancer target groups" (Elastic Load Balancing user guide): a
// target group that contains only unhealthy registered targets fails open
// and gets requests routed to all its registered targets regardless of
// their health, keeping its weight on a weighted listener; a target whose
// application crashed refuses the connection and the load balancer answers
// 502. A group with no target to route to (none registered, or only some
// in their initial health checks) gets 503 from the load balancer. Both
// count in HTTPCode_ELB_5XX_Count, not HTTPCode_Target_5XX_Count
// ("CloudWatch metrics for your Application Load Balancer").
func (f *fleet) serve(offered int64, weighted bool, l *load) {
	if !weighted {
		return // the listener sends it none
	}
	cfg := f.s.cfg
	targets := f.targets
	if len(targets) == 0 && f.unhealthy > 0 {
		targets = f.registered
		l.failOpen = l.failOpen || offered > 0
	}
	n := int64(len(targets))
	if n == 0 {
		l.elbErrors += offered
		if offered > 0 {
			l.maxU = math.Inf(1)
		}
		return
	}
	stepCap := cfg.InstanceCapacity * cfg.Step.Seconds()
	share, extra := offered/n, offered%n
	// The group may have shrunk since the last step.
	f.rr %= int(n)
	for k, in := range targets {
		// Round robin: the extra requests go to the next targets in turn,
		// continuing where the last step stopped.
		got := share
		if (int64(k)-int64(f.rr)+n)%n < extra {
			got++
		}
		l.n++
		if in.state == healthy {
			// Other InService instances count towards the CPU
			// aggregate as idle ones (see traffic).
			l.m.nAll++
		}
		if in.crashed {
			// Connection refused: the load balancer answers 502.
			l.elbErrors += got
			continue
		}
		perTarget := int64(math.Floor(stepCap * in.capacity()))
		served := min(got, perTarget)
		l.served += served
		l.targetErrors += got - served
		u := float64(got) / (stepCap * in.capacity())
		f.stress(in, u)
		l.maxU = max(l.maxU, u)
		cpu := 100 * min(u, 1)
		l.cpu += cpu
		l.m.cpuAll += cpu
		if f.s.now-in.inService >= f.s.cw.warmup {
			l.m.cpuWarm += cpu
			l.m.nWarm++
		}
	}
	f.rr = int((int64(f.rr) + extra) % n)
}

// traffic routes one step's requests: the listener splits them between the
// groups by its weights, each group's targets serve their share, and the
// step's CPU, latency and SLO follow. It also feeds the step's metrics to
// CloudWatch.
func (s *sim) traffic(offered int64) Sample {
	cfg := s.cfg
	smp := Sample{Offered: offered}
	for _, g := range s.groups {
		g.census(&smp)
	}
	var l load
	if s.peer == nil {
		s.fleet.serve(offered, true, &l)
	} else {
		toPeer := s.lb.split(offered)
		s.fleet.serve(offered-toPeer, s.lb.weights[0] > 0, &l)
		before := l.served
		s.peer.serve(toPeer, s.lb.weights[1] > 0, &l)
		smp.PeerOffered, smp.PeerServed, smp.PeerHealthy = toPeer, l.served-before, len(s.peer.targets)
	}
	smp.Served, smp.TargetErrors, smp.ELBErrors = l.served, l.targetErrors, l.elbErrors
	smp.Dropped = l.targetErrors + l.elbErrors
	smp.FailOpen = l.failOpen
	if l.n > 0 {
		smp.CPU = l.cpu / float64(l.n)
	}
	if smp.Healthy == 0 && !l.failOpen {
		l.maxU = math.Inf(1)
	}
	smp.P95 = p95(cfg, l.maxU)
	// Instances in health checks, unhealthy or draining run idle (or serve
	// as fail-open targets) and report CPU to the group's average, as
	// CloudWatch's AutoScalingGroupName aggregate does.
	l.m.nAll += smp.InService - smp.Healthy + smp.Draining
	l.m.requests, l.m.targets = offered, l.n
	l.m.targetErrors, l.m.elbErrors = l.targetErrors, l.elbErrors
	smp.Violation = smp.Dropped > 0 || smp.P95 > cfg.P95Bound || l.maxU > cfg.UtilisationBound
	s.cw.observe(l.m)
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

// groupsPort serves the scaler's Groups port from the simulated groups.
type groupsPort struct {
	s  *sim
	by string
}

func (g groupsPort) Capacity(ctx context.Context, group string) (scaling.Group, error) {
	return callValue(g.s, ctx, svcAutoScaling, "DescribeAutoScalingGroups", false, func() (scaling.Group, error) {
		f := g.s.group(group)
		if f == nil {
			return scaling.Group{}, groupNotFound(group)
		}
		return f.capacity(), nil
	})
}

func (g groupsPort) SetDesiredCapacity(ctx context.Context, group string, desired int) error {
	return g.s.call(ctx, svcAutoScaling, "SetDesiredCapacity", true, func() error {
		f := g.s.group(group)
		if f == nil {
			return groupNotFound(group)
		}
		return f.setDesired(desired, g.by, "")
	})
}
