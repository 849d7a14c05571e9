package twin

import (
	"container/heap"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/stampkit/stampkit/shared/memstore"
	"github.com/stampkit/stampkit/shared/rollout"
)

// Ordering of events that fall on the same instant: instances change state
// first, then the world closes metric periods, evaluates alarms and routes
// the next step's traffic, then the bus delivers. Within a priority, events
// run in the order they were scheduled.
const (
	prioFleet = iota
	prioWorld
	prioBus
)

type scheduled struct {
	at   time.Duration
	prio int
	seq  uint64
	fn   func(context.Context)
}

type queue []*scheduled

func (q queue) Len() int { return len(q) }
func (q queue) Less(i, j int) bool {
	a, b := q[i], q[j]
	if a.at != b.at {
		return a.at < b.at
	}
	if a.prio != b.prio {
		return a.prio < b.prio
	}
	return a.seq < b.seq
}
func (q queue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *queue) Push(x any)   { *q = append(*q, x.(*scheduled)) }
func (q *queue) Pop() any {
	old := *q
	e := old[len(old)-1]
	old[len(old)-1] = nil
	*q = old[:len(old)-1]
	return e
}

// Random streams, one per concern, so that a policy that launches more
// instances does not shift the metric noise or the delivery delays of
// another run on the same seed.
const (
	streamLaunch = iota + 1
	streamNoise
	streamBus
	streamHealth
	streamHooks
	streamRollout
	// The chaos (Scenario.Chaos) draws from streams of its own: with none,
	// nothing is drawn from them.
	streamChaos
	streamDelivery
)

// sim is one run: the virtual clock, the event queue and the models.
type sim struct {
	cfg   Config
	sc    Scenario
	start time.Time
	now   time.Duration
	q     queue
	seq   uint64

	launchRNG, noiseRNG, busRNG, healthRNG *rand.Rand
	// chaosRNG draws the faults of invocations and API calls,
	// deliveryRNG those of deliveries.
	chaosRNG, deliveryRNG *rand.Rand

	// fleet is the configured group; peer its blue/green peer (nil unless
	// the scenario rolls out blue/green), behind the listener lb. groups
	// lists them in that order.
	fleet, peer *fleet
	groups      []*fleet
	lb          *listener
	// byID finds any group's instances; nextInstance numbers them.
	byID         map[string]*instance
	nextInstance int
	cw           *cloudWatch
	bus          *bus
	// hooks answers the group's lifecycle hooks; nil without Config.Hooks.
	hooks *hookSim
	// rollout runs the rollout handler on the image event.
	rollout *rolloutSim
	// state is the state table the stampkit scaler and the rollout
	// handler share (claims, scaler state, the rollout's hold).
	state *memstore.Store

	// lambdas are the functions deployed in the run, in attach order;
	// inv is the invocation running, if any (one runs at a time); open
	// lists the deliveries that had a retry scheduled.
	lambdas []*lambda
	inv     *handlerRun
	open    []*delivery
	// faultFailed is, per Result.Faults entry, whether its invocation
	// failed; readings are the alarm readings the scaler changed capacity
	// for (Effects.Doubled).
	faultFailed []bool
	readings    map[string]bool

	counts []int64 // requests offered in each step
	res    *Result
	// crashes counts the targets that crashed at the latest fault event's
	// time.
	crashes int
	// onStep runs after each step's traffic; tests and autoscalers hook in.
	onStep []func(i int)
}

func newSim(cfg Config, sc Scenario) *sim {
	rng := func(stream uint64) *rand.Rand { return rand.New(rand.NewPCG(cfg.Seed, stream)) }
	s := &sim{
		cfg: cfg, sc: sc, start: sc.Trace.Start,
		launchRNG: rng(streamLaunch), noiseRNG: rng(streamNoise), busRNG: rng(streamBus), healthRNG: rng(streamHealth),
		chaosRNG: rng(streamChaos), deliveryRNG: rng(streamDelivery),
		byID: map[string]*instance{},
	}
	s.res = &Result{
		Scenario: sc.Name, Config: cfg, Start: s.start, Chaos: sc.Chaos,
		Samples:    make([]Sample, len(sc.Trace.Rates)),
		Datapoints: map[string][]Datapoint{},
		Outcomes:   map[string]int{},
	}
	s.state = memstore.New(s)
	s.counts = requestCounts(sc.Trace.Rates, cfg.Step)
	s.cw = newCloudWatch(s)
	s.bus = newBus(s)
	s.fleet = newFleet(s, cfg.Group, TargetGroupARN, cfg.Min, cfg.DemandInstances(sc.Trace.Rates[0]))
	if cfg.WarmPool != nil {
		s.fleet.withPool(cfg.WarmPool)
	}
	s.groups = []*fleet{s.fleet}
	if sc.Strategy == rollout.StrategyBlueGreen {
		// The peer stands empty until a rollout sizes it; the listener
		// sends it nothing.
		s.peer = newFleet(s, PeerGroup(cfg), PeerTargetGroupARN, 0, 0)
		s.groups = append(s.groups, s.peer)
		s.lb = newListener(s)
	}
	return s
}

// requestCounts turns rates into whole requests per step, carrying the
// fractions so that the total matches the integral of the rate.
func requestCounts(rates []float64, step time.Duration) []int64 {
	out := make([]int64, len(rates))
	cum, prev := 0.0, int64(0)
	for i, r := range rates {
		cum += r * step.Seconds()
		next := int64(math.Floor(cum))
		out[i] = next - prev
		prev = next
	}
	return out
}

// Now is the virtual wall-clock time; the scaler handler's clock.
func (s *sim) Now() time.Time { return s.start.Add(s.now) }

// group finds a group by name; nil when there is none.
func (s *sim) group(name string) *fleet {
	for _, g := range s.groups {
		if g.name == name {
			return g
		}
	}
	return nil
}

// groupByTarget finds a group by its target group's ARN.
func (s *sim) groupByTarget(arn string) *fleet {
	for _, g := range s.groups {
		if g.tg == arn {
			return g
		}
	}
	return nil
}

// serving is the group the fleet's capacity belongs on, for the baseline
// policies, which scale one group: the one the listener weights most, the
// configured group on a tie. (The stampkit scaler reads it from the
// rollout record instead, as it does in AWS.)
func (s *sim) serving() *fleet {
	if s.lb != nil && s.lb.weights[1] > s.lb.weights[0] {
		return s.peer
	}
	return s.fleet
}

// speedOf is the share of InstanceCapacity an instance on image serves.
func (s *sim) speedOf(image string) float64 {
	if image == ImageV2 && s.sc.BadImage > 0 && s.sc.BadImage < 1 {
		return s.sc.BadImage
	}
	return 1
}

func (s *sim) wall(d time.Duration) time.Time { return s.start.Add(d) }

// at schedules fn at virtual time t (never in the past).
func (s *sim) at(t time.Duration, prio int, fn func(context.Context)) {
	s.seq++
	heap.Push(&s.q, &scheduled{at: max(t, s.now), prio: prio, seq: s.seq, fn: fn})
}

func (s *sim) run(ctx context.Context) error {
	s.schedule()
	if err := s.advance(ctx, s.runEnd()+1); err != nil {
		return err
	}
	s.close(ctx)
	return nil
}

// runEnd is the virtual time the run ends at.
func (s *sim) runEnd() time.Duration { return time.Duration(len(s.counts)) * s.cfg.Step }

// schedule queues the run's own events: each step's world, the new image
// and the operator's commands.
func (s *sim) schedule() {
	n := len(s.counts)
	for i := 0; i <= n; i++ {
		s.at(time.Duration(i)*s.cfg.Step, prioWorld, func(context.Context) { s.world(i) })
	}
	if s.sc.ImageBuiltAt > 0 && s.sc.ImageBuiltAt < time.Duration(n)*s.cfg.Step {
		s.at(s.sc.ImageBuiltAt, prioWorld, func(context.Context) { s.imageBuilt() })
	}
	for _, c := range s.sc.Commands {
		s.at(c.At, prioWorld, func(context.Context) { s.rollout.command(c) })
	}
}

// advance runs the events before until (and not after the end of the
// run), in time order.
func (s *sim) advance(ctx context.Context, until time.Duration) error {
	end := s.runEnd()
	for processed := 0; s.q.Len() > 0 && s.q[0].at < until && s.q[0].at <= end; processed++ {
		if processed%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		e := heap.Pop(&s.q).(*scheduled)
		s.now = e.at
		e.fn(ctx)
	}
	return nil
}

// close ends the run: it bills what still runs and records how the groups,
// the rollout, the deliveries and the effects ended.
func (s *sim) close(ctx context.Context) {
	s.now = s.runEnd()
	for _, g := range s.groups {
		g.finish()
		s.res.InstanceSeconds += g.billed.Seconds()
		end := GroupEnd{Name: g.name, Version: g.version, Desired: g.desired, Images: map[string]int{}}
		for _, in := range g.live {
			if in.state <= draining {
				end.Images[in.image]++
			}
		}
		s.res.Groups = append(s.res.Groups, end)
	}
	if s.rollout != nil {
		s.res.ImageParameter, s.res.DefaultVersion = s.rollout.param, s.rollout.deflt
		s.res.TemplateVersions = len(s.rollout.versions)
		s.res.RolloutOutcome = s.rollout.outcome(ctx)
	}
	s.finishDeliveries()
	s.finishEffects()
}

// world runs at the boundary before step i: it closes the metric periods
// that end here (which evaluates alarms and lets policies act), then routes
// step i's requests. Step n is the end of the run.
func (s *sim) world(i int) {
	s.cw.closePeriods()
	if i == len(s.counts) {
		return
	}
	s.fleet.refreshStep()
	smp := s.traffic(s.counts[i])
	s.res.Samples[i] = smp
	s.res.Offered += smp.Offered
	s.res.Served += smp.Served
	s.res.Dropped += smp.Dropped
	s.res.TargetErrors += smp.TargetErrors
	s.res.ELBErrors += smp.ELBErrors
	for _, f := range s.onStep {
		f(i)
	}
}

// imageBuilt is the image pipeline publishing a new image; the rollout
// handler rolls it out.
func (s *sim) imageBuilt() {
	if s.rollout != nil {
		s.rollout.imageBuilt()
	}
}

// Fault is the timeline event of a fault the scenario injects: targets
// crashing (Scenario.Crash).
const Fault = "fault"

// fault puts in's crash on the timeline: one event for the targets of a
// group that crash at the same moment.
func (s *sim) fault(f *fleet, in *instance) {
	if n := len(s.res.Rollout); n > 0 && s.res.Rollout[n-1].What == Fault && s.res.Rollout[n-1].At.Equal(s.Now()) &&
		strings.HasSuffix(s.res.Rollout[n-1].Detail, " of "+f.name+crashDetail) {
		s.crashes++
		s.res.Rollout[n-1].Detail = fmt.Sprintf("%d targets on %s of %s%s", s.crashes, in.image, f.name, crashDetail)
		return
	}
	s.crashes = 1
	s.res.Rollout = append(s.res.Rollout, RolloutEvent{At: s.Now(), What: Fault,
		Detail: fmt.Sprintf("%s on %s of %s%s", in.id(), in.image, f.name, crashDetail)})
}

const crashDetail = " crashed under load: connections refused"
