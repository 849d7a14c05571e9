package twin

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/stampkit/stampkit/shared/stampshift"
	"github.com/stampkit/stampkit/shared/twin/dns"
	"github.com/stampkit/stampkit/shared/twin/traces"
)

// Shift is a stamp shift (Scenario.Shift): the scenario's clients move by
// DNS from one whole stamp to another. Each stamp is a whole copy of the
// fleet with its own Auto Scaling group, load balancer, CloudWatch alarms,
// state table and scaler, simulated side by side on one clock; one demand
// trace feeds both, split by the clients' resolvers (dns.Zone) among the
// stamps' weighted alias records, each checked by a Route 53 health check
// of the stamp's endpoint and evaluating its load balancer's target health.
type Shift struct {
	// From and To name the stamp the traffic leaves, which has all of it
	// at the start, and the stamp it moves to, which starts at the group's
	// minimum with the new image.
	From, To string
	DNS      dns.Config
	// Crash makes the image To runs crash under load (see Crash) once To
	// has taken CrashFrom percent of the clients' requests in a step: a
	// defect that needs a share of real traffic to show (a dependency of
	// the new stamp that fails at scale). CrashFrom 0 arms it at once.
	Crash     Crash
	CrashFrom int
	// Plan is the weight changes an operator makes, each At from the
	// start: To's weight out of 100, From the rest.
	Plan []PlannedWeight
	// Policy, when set, has the real shift function's handler
	// (shared/shifter, driving shared/stampshift) move the weights with
	// this policy, started by an operator's start command at StartAt from
	// the start of the run.
	Policy  *stampshift.Policy
	StartAt time.Duration
}

// PlannedWeight is a change of the DNS weights: To's weight out of 100 from
// At on.
type PlannedWeight struct {
	At time.Duration
	To int
}

func (sh *Shift) validate() error {
	if sh.From == "" || sh.To == "" || sh.From == sh.To {
		return fmt.Errorf("stamps %q and %q: need two names", sh.From, sh.To)
	}
	if err := sh.DNS.Validate(); err != nil {
		return err
	}
	if sh.Crash.Above < 0 || sh.Crash.After < 0 || sh.CrashFrom < 0 || sh.CrashFrom > 100 {
		return fmt.Errorf("crash above %g after %v from %d %%: need both >= 0, a share of 0-100", sh.Crash.Above, sh.Crash.After, sh.CrashFrom)
	}
	if sh.StartAt < 0 {
		return fmt.Errorf("start at %v: before the run", sh.StartAt)
	}
	for _, p := range sh.Plan {
		if p.To < 0 || p.To > 100 || p.At < 0 {
			return fmt.Errorf("planned weight %d at %v: need 0-100 from the start on", p.To, p.At)
		}
	}
	return nil
}

// Stamp is one stamp's own record of a stamp shift.
type Stamp struct {
	Name   string
	Result *Result
}

// DNSSample is the DNS zone during one step of a stamp shift, each slice
// in the order of Result.Stamps.
type DNSSample struct {
	// Weights are the records' weights the name servers answer with;
	// Healthy their health as Route 53 sees it.
	Weights []int
	Healthy []bool
	// Requests are the step's requests each stamp got from its clients.
	Requests []int64
}

// DNSEvent is the timeline event of a change of the DNS weights or of a
// record's health.
const DNSEvent = "dns"

// stampSim is a stamp shift: the stamps' simulations, in lockstep, and the
// zone in front of them.
type stampSim struct {
	sc     Scenario
	stamps []*sim
	names  []string
	zone   *dns.Zone
	counts []int64
	dns    []DNSSample
	events []RolloutEvent
	// changes are the DNS changes submitted, by ID, for the timeline.
	changes map[string][]int
	// shifter runs the shift function's handler; nil without
	// Shift.Policy.
	shifter *shiftSim
	// now is the step the stamps have reached.
	now time.Duration
	// errors are the shift function's failed invocations.
	errors []string
}

// runShift simulates a stamp shift under a: both stamps run a's policy.
func runShift(ctx context.Context, cfg Config, sc Scenario, a Autoscaler) (*Result, error) {
	sh := sc.Shift
	if err := sh.validate(); err != nil {
		return nil, fmt.Errorf("scenario %s: shift: %w", sc.Name, err)
	}
	zone, err := dns.NewZone(sh.DNS, cfg.Seed, []string{sh.From, sh.To}, []int{100, 0})
	if err != nil {
		return nil, fmt.Errorf("scenario %s: %w", sc.Name, err)
	}
	ss := &stampSim{sc: sc, names: []string{sh.From, sh.To}, zone: zone, counts: requestCounts(sc.Trace.Rates, cfg.Step), changes: map[string][]int{}}
	for k, name := range ss.names {
		scK := sc
		scK.Name, scK.Shift, scK.Crash = sc.Name+"/"+name, nil, Crash{}
		if k == 1 {
			// The new stamp takes no traffic at the start: it stands at the
			// group's minimum.
			scK.Trace = traces.Trace{Name: sc.Trace.Name, Start: sc.Trace.Start, Step: sc.Trace.Step, Rates: make([]float64, len(sc.Trace.Rates))}
			if sh.CrashFrom == 0 {
				scK.Crash = sh.Crash
			}
		}
		cfgK := cfg
		// One seed per stamp: the stamps' launches and noise are their own.
		cfgK.Seed = cfg.Seed*31 + uint64(k)
		s := newSim(cfgK, scK)
		if k == 1 {
			s.fleet.setImage(ImageV2)
		}
		if err := a.attach(s); err != nil {
			return nil, fmt.Errorf("attaching %s to stamp %s: %w", a.Name(), name, err)
		}
		if cfgK.Hooks != nil {
			if err := s.attachHooks(); err != nil {
				return nil, err
			}
		}
		if err := s.attachRollout(); err != nil {
			return nil, err
		}
		s.res.Policy = a.Name()
		s.schedule()
		ss.stamps = append(ss.stamps, s)
	}
	if sh.Policy != nil {
		if ss.shifter, err = newShiftSim(ss, *sh.Policy); err != nil {
			return nil, fmt.Errorf("scenario %s: %w", sc.Name, err)
		}
	}
	if err := ss.run(ctx, cfg); err != nil {
		return nil, fmt.Errorf("simulating %s under %s: %w", sc.Name, a.Name(), err)
	}
	return ss.result(ctx, cfg, a), nil
}

// run steps the stamps in lockstep: before each step the zone takes what
// each stamp's endpoint did in the last, runs the plan's changes and
// splits the step's requests.
func (ss *stampSim) run(ctx context.Context, cfg Config) error {
	plan := slices.Clone(ss.sc.Shift.Plan)
	slices.SortStableFunc(plan, func(a, b PlannedWeight) int { return int(a.At - b.At) })
	for i := 0; i <= len(ss.counts); i++ {
		now := time.Duration(i) * cfg.Step
		ss.now = now
		for _, s := range ss.stamps {
			if err := s.advance(ctx, now); err != nil {
				return err
			}
		}
		if i == len(ss.counts) {
			break
		}
		if ss.shifter != nil {
			if err := ss.shifter.tick(ctx, now); err != nil {
				return err
			}
		}
		for len(plan) > 0 && plan[0].At <= now {
			if _, err := ss.change(now, []int{100 - plan[0].To, plan[0].To}); err != nil {
				return err
			}
			plan = plan[1:]
		}
		ends := make([]dns.Endpoint, len(ss.stamps))
		for k, s := range ss.stamps {
			ends[k] = s.endpoint(i)
		}
		before := ss.zone.Healthy()
		weights := ss.zone.Weights()
		split, err := ss.zone.Step(now, ends, ss.counts[i])
		if err != nil {
			return err
		}
		ss.noteZone(now, weights, before)
		for k, s := range ss.stamps {
			s.counts[i] = split[k]
		}
		if sh := ss.sc.Shift; sh.CrashFrom > 0 && sh.Crash.set() && !ss.stamps[1].sc.Crash.set() && 100*split[1] >= int64(sh.CrashFrom)*ss.counts[i] && ss.counts[i] > 0 {
			ss.stamps[1].sc.Crash = sh.Crash
			ss.events = append(ss.events, RolloutEvent{At: ss.wall(now), What: Fault,
				Detail: fmt.Sprintf("%s takes %d %% of the requests: its image's defect is armed", ss.names[1], 100*split[1]/ss.counts[i])})
		}
		ss.dns = append(ss.dns, DNSSample{Weights: ss.zone.Weights(), Healthy: ss.zone.Healthy(), Requests: split})
	}
	for _, s := range ss.stamps {
		if err := s.advance(ctx, s.runEnd()+1); err != nil {
			return err
		}
		s.close(ctx)
	}
	return nil
}

// change submits new weights to the zone.
func (ss *stampSim) change(now time.Duration, weights []int) (string, error) {
	id, err := ss.zone.Change(now, weights)
	if err != nil {
		return "", err
	}
	ss.changes[id] = weights
	ss.events = append(ss.events, RolloutEvent{At: ss.wall(now), What: DNSEvent,
		Detail: fmt.Sprintf("change %s submitted: %s", id, ss.weightsText(weights))})
	return id, nil
}

func (ss *stampSim) wall(d time.Duration) time.Time { return ss.sc.Trace.Start.Add(d) }

func (ss *stampSim) weightsText(weights []int) string {
	out := ""
	for k, w := range weights {
		if k > 0 {
			out += " / "
		}
		out += fmt.Sprintf("%s %d", ss.names[k], w)
	}
	return out
}

// noteZone puts on the timeline what changed in the zone at now: weights
// the name servers answer with (a change INSYNC), and records' health.
func (ss *stampSim) noteZone(now time.Duration, weights []int, healthy []bool) {
	if w := ss.zone.Weights(); !slices.Equal(w, weights) {
		ss.events = append(ss.events, RolloutEvent{At: ss.wall(now), What: DNSEvent, Detail: "weights INSYNC: " + ss.weightsText(w)})
	}
	for k, h := range ss.zone.Healthy() {
		if h != healthy[k] {
			state := "healthy"
			if !h {
				state = "unhealthy"
			}
			ss.events = append(ss.events, RolloutEvent{At: ss.wall(now), What: DNSEvent, Detail: fmt.Sprintf("record %s %s", ss.names[k], state)})
		}
	}
}

// endpoint is what the stamp's endpoint did in the step before step i, as
// Route 53's health checkers and EvaluateTargetHealth see it: a checker's
// request succeeds as the step's requests did, or, with none, when the
// load balancer has a target that answers.
func (s *sim) endpoint(i int) dns.Endpoint {
	answering := 0
	for _, in := range s.fleet.live {
		if in.state == healthy && !in.crashed {
			answering++
		}
	}
	e := dns.Endpoint{TargetsHealthy: false}
	for _, in := range s.fleet.live {
		if in.state == healthy {
			e.TargetsHealthy = true
			break
		}
	}
	if i > 0 {
		if smp := s.res.Samples[i-1]; smp.Offered > 0 {
			e.Success = float64(smp.Served) / float64(smp.Offered)
			return e
		}
	}
	if answering > 0 {
		e.Success = 1
	}
	return e
}

// setImage makes the group launch image, and the instances it has run it.
func (f *fleet) setImage(image string) {
	f.image = image
	for _, in := range f.live {
		in.image, in.speed = image, f.s.speedOf(image)
	}
}

// result is the stamp shift's record: the stamps' samples added up step
// by step, their events and groups named by stamp, each stamp's own record
// (Result.Stamps) and the zone's (Result.DNS, Result.Weights).
func (ss *stampSim) result(ctx context.Context, cfg Config, a Autoscaler) *Result {
	first := ss.stamps[0].res
	res := &Result{
		Scenario: ss.sc.Name, Policy: a.Name(), Config: cfg, Start: first.Start,
		Samples: make([]Sample, len(first.Samples)), Datapoints: map[string][]Datapoint{}, Outcomes: map[string]int{},
		DNS: ss.dns,
	}
	for k, s := range ss.stamps {
		r, name := s.res, ss.names[k]
		res.Stamps = append(res.Stamps, Stamp{Name: name, Result: r})
		for i, smp := range r.Samples {
			res.Samples[i] = addSamples(res.Samples[i], smp, k == 0)
		}
		res.Offered += r.Offered
		res.Served += r.Served
		res.Dropped += r.Dropped
		res.TargetErrors += r.TargetErrors
		res.ELBErrors += r.ELBErrors
		res.InstanceSeconds += r.InstanceSeconds
		res.Scaling = appendRenamed(res.Scaling, r.Scaling, func(e *ScalingEvent) { e.Group = name + "/" + e.Group })
		res.Alarms = appendRenamed(res.Alarms, r.Alarms, func(ch *AlarmChange) { ch.Alarm = name + "/" + ch.Alarm })
		for alarm, dps := range r.Datapoints {
			res.Datapoints[name+"/"+alarm] = dps
		}
		res.Rollout = appendRenamed(res.Rollout, r.Rollout, func(e *RolloutEvent) { e.Detail = name + ": " + e.Detail })
		res.Groups = appendRenamed(res.Groups, r.Groups, func(g *GroupEnd) { g.Name = name + "/" + g.Name })
		for o, n := range r.Outcomes {
			res.Outcomes[o] += n
		}
		res.HandlerErrors = append(res.HandlerErrors, r.HandlerErrors...)
		res.DeadLetters = append(res.DeadLetters, r.DeadLetters...)
		res.Lifecycle = append(res.Lifecycle, r.Lifecycle...)
		res.Bus.Published += r.Bus.Published
		res.Bus.Delivered += r.Bus.Delivered
		res.Bus.Duplicates += r.Bus.Duplicates
		res.Bus.Overtaken += r.Bus.Overtaken
	}
	slices.SortStableFunc(res.Scaling, func(a, b ScalingEvent) int { return a.At.Compare(b.At) })
	slices.SortStableFunc(res.Alarms, func(a, b AlarmChange) int { return a.At.Compare(b.At) })
	res.Rollout = append(res.Rollout, ss.events...)
	if ss.shifter != nil {
		res.RolloutOutcome = string(ss.shifter.state(ctx).Outcome)
	}
	res.HandlerErrors = append(res.HandlerErrors, ss.errors...)
	slices.SortStableFunc(res.Rollout, func(a, b RolloutEvent) int { return a.At.Compare(b.At) })
	// The weights the name servers answered with, as the blue/green
	// listener's are recorded: From's as Group, To's as Peer.
	res.Weights = []WeightChange{{At: res.Start, Group: 100}}
	for i, d := range ss.dns {
		if last := res.Weights[len(res.Weights)-1]; d.Weights[0] != last.Group || d.Weights[1] != last.Peer {
			res.Weights = append(res.Weights, WeightChange{At: res.Time(i), Group: d.Weights[0], Peer: d.Weights[1]})
		}
	}
	return res
}

// addSamples adds one stamp's step to the others': counts add up; latency
// and the SLO are those of the worse stamp among those that got requests
// (an idle stamp breaks no one's SLO), CPU the mean over both stamps'
// targets; the To stamp's part is kept as the peer's.
func addSamples(sum, smp Sample, first bool) Sample {
	if first {
		if smp.Offered == 0 {
			smp.Violation, smp.P95 = false, 0
		}
		return smp
	}
	cpu := sum.CPU*float64(sum.Healthy) + smp.CPU*float64(smp.Healthy)
	sum.Offered += smp.Offered
	sum.Served += smp.Served
	sum.Dropped += smp.Dropped
	sum.TargetErrors += smp.TargetErrors
	sum.ELBErrors += smp.ELBErrors
	sum.Healthy += smp.Healthy
	sum.Unhealthy += smp.Unhealthy
	sum.InService += smp.InService
	sum.Pending += smp.Pending
	sum.Draining += smp.Draining
	sum.Desired += smp.Desired
	sum.WarmPool += smp.WarmPool
	sum.FailOpen = sum.FailOpen || smp.FailOpen
	if sum.Healthy > 0 {
		sum.CPU = cpu / float64(sum.Healthy)
	}
	if smp.Offered > 0 {
		sum.P95 = max(sum.P95, smp.P95)
		sum.Violation = sum.Violation || smp.Violation
	}
	sum.PeerOffered, sum.PeerServed, sum.PeerHealthy = smp.Offered, smp.Served, smp.Healthy
	return sum
}

// appendRenamed appends src to dst, each element named by its stamp.
func appendRenamed[T any](dst, src []T, rename func(*T)) []T {
	for _, v := range src {
		rename(&v)
		dst = append(dst, v)
	}
	return dst
}
