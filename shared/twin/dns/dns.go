// Package dns is the twin's model of DNS in front of several stamps: a
// Route 53 hosted zone with one weighted alias record per stamp, Route 53's
// health checks of each stamp's endpoint, and the population of resolvers
// through which clients reach the stamps. It is pure and deterministic: time
// is passed in, and every random draw comes from a PCG generator seeded by
// the caller, in streams of its own.
//
// What it follows, each from the page it cites:
//
//   - Weighted routing ("Weighted routing", Route 53 developer guide,
//     https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/routing-policy-weighted.html):
//     a query is answered with one record, chosen with probability weight /
//     sum of weights.
//   - Health ("How Amazon Route 53 chooses records when health checking is
//     configured",
//     https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/health-checks-how-route-53-chooses-records.html):
//     an unhealthy record is passed over and another chosen by the same
//     rule; a weighted alias record with EvaluateTargetHealth inherits the
//     health of its load balancer, which is unhealthy when its target group
//     has no healthy target; records of weight 0 are considered only when
//     every record of non-zero weight is unhealthy; and when every record is
//     unhealthy Route 53 answers as if all were healthy.
//   - Health checks ("How Amazon Route 53 determines whether a health check
//     is healthy",
//     https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/dns-failover-determining-health-of-endpoints.html):
//     health checkers in several locations, uncoordinated, each checking
//     every 10 or 30 seconds; a checker changes its view after FailureThreshold
//     consecutive checks the other way; the endpoint is healthy while more
//     than 18 % of the checkers report it healthy.
//   - Propagation ("Editing records",
//     https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/resource-record-sets-editing.html,
//     and GetChange in the API reference): a change is PENDING until it has
//     propagated to every Route 53 name server, then INSYNC; "changes
//     generally propagate to all Route 53 name servers within 60 seconds".
//     Generally, not always: a share of changes takes longer
//     (Config.SlowPropagation). Until a change is INSYNC some name servers
//     answer with the old weights; the model answers with the old weights
//     until the change is INSYNC, the slower of the two, which a shift that
//     waits for INSYNC cannot tell apart.
//   - Resolvers honour the TTL (an alias record to a load balancer has
//     Route 53's 60 seconds), except a minority that keep an answer far
//     longer: Bhowmick, Ashiq, Deccio and Chung, "TTL Violation of DNS
//     Resolvers in the Wild" (PAM 2023, https://ttl-violation-study.github.io)
//     measured 8,524 resolvers through at least five vantage points each and
//     found that 8.74 % of them extend the TTL arbitrarily. DefaultConfig
//     gives 9 % of the clients such a resolver, each keeping its answer for
//     StickyHold (15 minutes: a choice, the study measures the share of
//     violators, not one duration). Clients are spread evenly over the
//     resolvers, and each resolver's cache expires at its own phase.
package dns

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"time"
)

// Config is the zone, its health checks and the resolvers in front of it.
type Config struct {
	// TTL is how long an honest resolver keeps an answer: Route 53 gives
	// an alias record the TTL of its target, 60 s for a load balancer.
	TTL time.Duration
	// Resolvers is how many resolvers the clients are spread over; more
	// gives a smoother split.
	Resolvers int
	// StickyShare of the resolvers keep an answer for StickyHold instead
	// of the TTL.
	StickyShare float64
	StickyHold  time.Duration
	// A change reaches every name server (INSYNC) PropagationMin to
	// PropagationMax after it is submitted, drawn evenly; SlowPropagation
	// of the changes take up to SlowPropagationMax instead.
	PropagationMin, PropagationMax time.Duration
	SlowPropagation                float64
	SlowPropagationMax             time.Duration
	// HealthCheckInterval is the request interval of each stamp's Route 53
	// health check (10 or 30 s); FailureThreshold the consecutive checks a
	// checker needs to change its view (1–10, default 3); Checkers the
	// number of health checkers.
	HealthCheckInterval time.Duration
	FailureThreshold    int
	Checkers            int
	// EvaluateTargetHealth makes each record inherit its load balancer's
	// health as well.
	EvaluateTargetHealth bool
}

// DefaultConfig is the zone the twin's stamps share: 60 s TTL, 2,000
// resolvers of which 9 % keep an answer for 15 minutes, changes INSYNC in
// 5–60 s (one in twenty in up to 3 minutes), health checks every 10 s with
// AWS's default failure threshold of 3 from 16 checkers, and
// EvaluateTargetHealth on.
func DefaultConfig() Config {
	return Config{
		TTL: 60 * time.Second, Resolvers: 2000,
		StickyShare: 0.09, StickyHold: 15 * time.Minute,
		PropagationMin: 5 * time.Second, PropagationMax: 60 * time.Second,
		SlowPropagation: 0.05, SlowPropagationMax: 3 * time.Minute,
		HealthCheckInterval: 10 * time.Second, FailureThreshold: 3, Checkers: 16,
		EvaluateTargetHealth: true,
	}
}

// Validate reports every problem with c.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if c.TTL <= 0 || c.Resolvers < 1 {
		bad("ttl %v, resolvers %d: need a positive TTL and at least one resolver", c.TTL, c.Resolvers)
	}
	if c.StickyShare < 0 || c.StickyShare > 1 || (c.StickyShare > 0 && c.StickyHold < c.TTL) {
		bad("sticky share %g holding %v: need a share in [0, 1] and a hold of at least the TTL", c.StickyShare, c.StickyHold)
	}
	if c.PropagationMin < 0 || c.PropagationMax < c.PropagationMin || c.SlowPropagation < 0 || c.SlowPropagation > 1 ||
		(c.SlowPropagation > 0 && c.SlowPropagationMax < c.PropagationMax) {
		bad("propagation %v–%v, %g slow up to %v: need 0 <= min <= max <= slow max, share in [0, 1]", c.PropagationMin, c.PropagationMax, c.SlowPropagation, c.SlowPropagationMax)
	}
	if c.HealthCheckInterval != 10*time.Second && c.HealthCheckInterval != 30*time.Second {
		bad("health check interval %v: Route 53 checks every 10 or 30 seconds", c.HealthCheckInterval)
	}
	if c.FailureThreshold < 1 || c.FailureThreshold > 10 || c.Checkers < 1 {
		bad("failure threshold %d, checkers %d: need a threshold of 1–10 and at least one checker", c.FailureThreshold, c.Checkers)
	}
	return errors.Join(errs...)
}

// HealthyShare is the share of health checkers that must report an
// endpoint healthy, strictly more than which Route 53 considers it healthy.
const HealthyShare = 0.18

// Status is a change's status as GetChange reports it.
type Status string

// The statuses of a change.
const (
	Pending Status = "PENDING"
	InSync  Status = "INSYNC"
)

// Endpoint is what a stamp's endpoint did during the last step, which the
// health checkers and EvaluateTargetHealth see.
type Endpoint struct {
	// Success is the share of requests to the endpoint that succeed; a
	// health checker's request is one more.
	Success float64
	// TargetsHealthy is set while the load balancer's target group has a
	// healthy target.
	TargetsHealthy bool
}

// Random streams, so that one concern's draws do not shift another's.
const (
	streamResolvers = iota + 101
	streamAnswers
	streamChecks
	streamChanges
)

type change struct {
	id      string
	weights []int
	inSync  time.Duration
	applied bool
}

type checker struct {
	next    time.Duration
	healthy bool
	// streak counts the consecutive checks that disagree with healthy.
	streak int
}

type resolver struct {
	stamp   int
	expires time.Duration
	sticky  bool
}

// Zone is the hosted zone with one weighted record per stamp, their health
// checks and the resolvers that query it.
type Zone struct {
	cfg    Config
	stamps []string
	// weights are what the name servers answer with; changes the changes
	// submitted, in order.
	weights  []int
	changes  []*change
	checkers [][]checker
	// healthy is each stamp's health check status; targets whether its
	// load balancer has a healthy target.
	healthy, targets []bool
	resolvers        []resolver
	answerRNG        *rand.Rand
	checkRNG         *rand.Rand
	changeRNG        *rand.Rand
	now              time.Duration
}

// NewZone is a zone serving weights (one per stamp, 0–255 as Route 53
// allows) at time 0, every stamp healthy and every resolver holding an
// answer drawn from those weights, its cache expiring at a random point
// of its hold.
func NewZone(cfg Config, seed uint64, stamps []string, weights []int) (*Zone, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("dns config: %w", err)
	}
	if len(stamps) == 0 || len(stamps) != len(weights) {
		return nil, fmt.Errorf("dns zone: %d stamps and %d weights: need one weight per stamp", len(stamps), len(weights))
	}
	if err := validWeights(weights); err != nil {
		return nil, err
	}
	rng := func(stream uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, stream)) }
	z := &Zone{
		cfg: cfg, stamps: stamps, weights: append([]int(nil), weights...),
		healthy: make([]bool, len(stamps)), targets: make([]bool, len(stamps)),
		answerRNG: rng(streamAnswers), checkRNG: rng(streamChecks), changeRNG: rng(streamChanges),
	}
	for i := range stamps {
		z.healthy[i], z.targets[i] = true, true
		cs := make([]checker, cfg.Checkers)
		for k := range cs {
			// Uncoordinated checkers: each at its own phase.
			cs[k] = checker{next: time.Duration(z.checkRNG.Float64() * float64(cfg.HealthCheckInterval)), healthy: true}
		}
		z.checkers = append(z.checkers, cs)
	}
	resRNG := rng(streamResolvers)
	z.resolvers = make([]resolver, cfg.Resolvers)
	for i := range z.resolvers {
		r := &z.resolvers[i]
		r.sticky = resRNG.Float64() < cfg.StickyShare
		r.expires = time.Duration(resRNG.Float64() * float64(z.hold(r)))
		r.stamp = z.answer()
	}
	return z, nil
}

func validWeights(weights []int) error {
	for _, w := range weights {
		if w < 0 || w > 255 {
			return fmt.Errorf("dns zone: weight %d is outside 0-255", w)
		}
	}
	return nil
}

func (z *Zone) hold(r *resolver) time.Duration {
	if r.sticky {
		return z.cfg.StickyHold
	}
	return z.cfg.TTL
}

// Stamps names the zone's stamps, in the order of every slice it returns.
func (z *Zone) Stamps() []string { return z.stamps }

// Weights are the weights the name servers answer with now.
func (z *Zone) Weights() []int { return append([]int(nil), z.weights...) }

// Records are the records' weights as ListResourceRecordSets returns
// them: those of the last change submitted, INSYNC or not.
func (z *Zone) Records() []int {
	if n := len(z.changes); n > 0 {
		return append([]int(nil), z.changes[n-1].weights...)
	}
	return z.Weights()
}

// HealthChecks reports each stamp's Route 53 health check status now, as
// GetHealthCheckStatus would aggregate it.
func (z *Zone) HealthChecks() []bool { return append([]bool(nil), z.healthy...) }

// Healthy reports each stamp's record health as Route 53 sees it now: its
// health check and, with EvaluateTargetHealth, its load balancer's.
func (z *Zone) Healthy() []bool {
	out := make([]bool, len(z.stamps))
	for i := range out {
		out[i] = z.recordHealthy(i)
	}
	return out
}

func (z *Zone) recordHealthy(i int) bool {
	return z.healthy[i] && (!z.cfg.EvaluateTargetHealth || z.targets[i])
}

// Change is ChangeResourceRecordSets on the weights of every record: it
// returns the change's ID, PENDING until it is INSYNC. A change names a
// weight per stamp; a change that leaves every weight as it is still
// propagates, as Route 53 treats it.
func (z *Zone) Change(now time.Duration, weights []int) (string, error) {
	if len(weights) != len(z.stamps) {
		return "", fmt.Errorf("dns change: %d weights for %d stamps", len(weights), len(z.stamps))
	}
	if err := validWeights(weights); err != nil {
		return "", err
	}
	delay := z.cfg.PropagationMin + time.Duration(z.changeRNG.Float64()*float64(z.cfg.PropagationMax-z.cfg.PropagationMin))
	if z.cfg.SlowPropagation > 0 && z.changeRNG.Float64() < z.cfg.SlowPropagation {
		delay = z.cfg.PropagationMax + time.Duration(z.changeRNG.Float64()*float64(z.cfg.SlowPropagationMax-z.cfg.PropagationMax))
	}
	c := &change{id: fmt.Sprintf("C%013d", len(z.changes)+1), weights: append([]int(nil), weights...), inSync: now + delay}
	z.changes = append(z.changes, c)
	return c.id, nil
}

// ErrNoSuchChange is GetChange's NoSuchChange.
var ErrNoSuchChange = errors.New("NoSuchChange")

// GetChange reports the status of change id at now.
func (z *Zone) GetChange(now time.Duration, id string) (Status, error) {
	for _, c := range z.changes {
		if c.id == id {
			if now >= c.inSync {
				return InSync, nil
			}
			return Pending, nil
		}
	}
	return "", fmt.Errorf("change %s: %w", id, ErrNoSuchChange)
}

// Step advances the zone to now, given what each stamp's endpoint did
// since the last step: changes that reached INSYNC take effect (in the
// order they were submitted; a later change that is INSYNC first waits for
// the earlier), the health checkers check, resolvers whose cache expired
// ask again; then it splits offered requests, the clients' requests of the
// step that starts at now, among the stamps by the answer each resolver
// holds. The stamps' requests add up to offered.
func (z *Zone) Step(now time.Duration, endpoints []Endpoint, offered int64) ([]int64, error) {
	if len(endpoints) != len(z.stamps) {
		return nil, fmt.Errorf("dns step: %d endpoints for %d stamps", len(endpoints), len(z.stamps))
	}
	if now < z.now {
		return nil, fmt.Errorf("dns step: time %v is before %v", now, z.now)
	}
	z.now = now
	z.propagate(now)
	for i, e := range endpoints {
		z.targets[i] = e.TargetsHealthy
		z.check(i, now, e.Success)
	}
	for i := range z.resolvers {
		r := &z.resolvers[i]
		for r.expires <= now {
			// The resolver asked again when its cache expired; the
			// model asks now with what Route 53 answers now.
			r.stamp = z.answer()
			r.expires += z.hold(r)
		}
	}
	return z.split(offered), nil
}

func (z *Zone) propagate(now time.Duration) {
	for _, c := range z.changes {
		if c.applied {
			continue
		}
		if now < c.inSync {
			return
		}
		c.applied = true
		copy(z.weights, c.weights)
	}
}

// check runs stamp i's health checks due by now against an endpoint that
// answers a request successfully with probability success.
func (z *Zone) check(i int, now time.Duration, success float64) {
	cs := z.checkers[i]
	healthy := 0
	for k := range cs {
		c := &cs[k]
		for c.next <= now {
			ok := success >= 1 || (success > 0 && z.checkRNG.Float64() < success)
			if ok == c.healthy {
				c.streak = 0
			} else if c.streak++; c.streak >= z.cfg.FailureThreshold {
				c.healthy, c.streak = ok, 0
			}
			c.next += z.cfg.HealthCheckInterval
		}
		if c.healthy {
			healthy++
		}
	}
	z.healthy[i] = float64(healthy) > HealthyShare*float64(len(cs))
}

// answer is Route 53's answer to one query: a record chosen by weight
// among the healthy records of non-zero weight; failing those, among the
// healthy records of weight zero (evenly); failing those, among all
// records as if all were healthy.
func (z *Zone) answer() int {
	pick := func(ok func(i int) bool, weight func(i int) int) int {
		total := 0
		for i := range z.stamps {
			if ok(i) {
				total += weight(i)
			}
		}
		if total == 0 {
			return -1
		}
		x := z.answerRNG.IntN(total)
		for i := range z.stamps {
			if ok(i) {
				if x -= weight(i); x < 0 {
					return i
				}
			}
		}
		return -1
	}
	byWeight := func(i int) int { return z.weights[i] }
	one := func(int) int { return 1 }
	if i := pick(func(i int) bool { return z.recordHealthy(i) && z.weights[i] > 0 }, byWeight); i >= 0 {
		return i
	}
	if i := pick(func(i int) bool { return z.recordHealthy(i) && z.weights[i] == 0 }, one); i >= 0 {
		return i
	}
	if i := pick(func(i int) bool { return z.weights[i] > 0 }, byWeight); i >= 0 {
		return i
	}
	return pick(func(int) bool { return true }, one)
}

// split deals offered requests to the stamps in proportion to the
// resolvers that hold each, by largest remainder: the shares add up to
// offered exactly.
func (z *Zone) split(offered int64) []int64 {
	counts := make([]int64, len(z.stamps))
	for _, r := range z.resolvers {
		counts[r.stamp]++
	}
	n := int64(len(z.resolvers))
	out := make([]int64, len(z.stamps))
	rem := make([]int64, len(z.stamps))
	left := offered
	for i, c := range counts {
		out[i], rem[i] = offered*c/n, offered*c%n
		left -= out[i]
	}
	for ; left > 0; left-- {
		best := 0
		for i := range rem {
			if rem[i] > rem[best] {
				best = i
			}
		}
		out[best]++
		rem[best] = -1
	}
	return out
}

// Shares are the share of the clients whose resolver holds each stamp.
func (z *Zone) Shares() []float64 {
	out := make([]float64, len(z.stamps))
	for _, r := range z.resolvers {
		out[r.stamp]++
	}
	for i := range out {
		out[i] /= float64(len(z.resolvers))
	}
	return out
}
