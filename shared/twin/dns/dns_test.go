package dns_test

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/stampkit/stampkit/shared/twin/dns"
)

const step = 10 * time.Second

var (
	stamps  = []string{"main", "next"}
	healthy = dns.Endpoint{Success: 1, TargetsHealthy: true}
)

// honest is the default zone without sticky resolvers or slow changes.
func honest() dns.Config {
	c := dns.DefaultConfig()
	c.StickyShare, c.SlowPropagation = 0, 0
	return c
}

func newZone(t *testing.T, cfg dns.Config, weights ...int) *dns.Zone {
	t.Helper()
	z, err := dns.NewZone(cfg, 7, stamps, weights)
	if err != nil {
		t.Fatal(err)
	}
	return z
}

// run steps z from `from` to `to` (exclusive) with endpoints, offering
// 1,000 requests a step, and returns what each stamp got in the last step.
func run(t *testing.T, z *dns.Zone, from, to time.Duration, endpoints func(time.Duration) []dns.Endpoint) []int64 {
	t.Helper()
	var got []int64
	for now := from; now < to; now += step {
		var err error
		if got, err = z.Step(now, endpoints(now), 1000); err != nil {
			t.Fatal(err)
		}
		if got[0]+got[1] != 1000 {
			t.Fatalf("at %v the stamps got %v, want 1000 in all", now, got)
		}
	}
	return got
}

func always(e ...dns.Endpoint) func(time.Duration) []dns.Endpoint {
	return func(time.Duration) []dns.Endpoint { return e }
}

func near(got int64, want, tolerance float64) bool { return math.Abs(float64(got)-want) <= tolerance }

// insync submits weights at now and returns when the change is INSYNC.
func insync(t *testing.T, z *dns.Zone, now time.Duration, weights ...int) time.Duration {
	t.Helper()
	id, err := z.Change(now, weights)
	if err != nil {
		t.Fatal(err)
	}
	for at := now; ; at += time.Second {
		st, err := z.GetChange(at, id)
		if err != nil {
			t.Fatal(err)
		}
		if st == dns.InSync {
			return at
		}
	}
}

// TestShareConvergesToWeights: the clients keep the old split until the
// change is INSYNC, and once a TTL has passed after that each stamp gets
// its weight's share.
func TestShareConvergesToWeights(t *testing.T) {
	tests := []struct {
		name    string
		weights []int
	}{
		{"first step", []int{95, 5}},
		{"quarter", []int{75, 25}},
		{"half", []int{50, 50}},
		{"all", []int{0, 100}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := honest()
			z := newZone(t, cfg, 100, 0)
			run(t, z, 0, time.Minute, always(healthy, healthy))
			at := insync(t, z, time.Minute, tt.weights...)
			before := at.Truncate(step)
			if before == at {
				before -= step
			}
			if got := run(t, z, time.Minute, before+step, always(healthy, healthy)); got[1] != 0 {
				t.Errorf("before INSYNC the new stamp got %d of 1000, want 0", got[1])
			}
			got := run(t, z, before+step, at+cfg.TTL+step, always(healthy, healthy))
			want := 1000 * float64(tt.weights[1]) / 100
			if !near(got[1], want, 35) {
				t.Errorf("a TTL after INSYNC the new stamp got %d of 1000, want %.0f ± 35", got[1], want)
			}
		})
	}
}

// TestStickyShareLags: the resolvers that keep an answer past the TTL
// keep sending the old stamp their clients after the others moved, until
// their hold ends.
func TestStickyShareLags(t *testing.T) {
	cfg := dns.DefaultConfig()
	cfg.SlowPropagation = 0
	z := newZone(t, cfg, 100, 0)
	at := insync(t, z, 0, 0, 100)
	got := run(t, z, 0, at+cfg.TTL+step, always(healthy, healthy))
	if !near(got[0], 1000*cfg.StickyShare, 30) {
		t.Errorf("a TTL after INSYNC the old stamp got %d of 1000, want the sticky share %.0f ± 30", got[0], 1000*cfg.StickyShare)
	}
	got = run(t, z, at+cfg.TTL+step, at+cfg.StickyHold+step, always(healthy, healthy))
	if got[0] != 0 {
		t.Errorf("a sticky hold after INSYNC the old stamp got %d of 1000, want 0", got[0])
	}
}

// TestUnhealthyStampStopsReceiving: a stamp whose endpoint fails every
// request from `fails` on is still healthy until its checkers have seen
// FailureThreshold failures (interval × (threshold − 1) after the first
// check cannot be enough), unhealthy after interval × threshold, and gets
// no client a TTL later. With EvaluateTargetHealth a target group with no
// healthy target removes the record without waiting for the checks.
func TestUnhealthyStampStopsReceiving(t *testing.T) {
	const fails = 5 * time.Minute
	failing := func(e dns.Endpoint) func(time.Duration) []dns.Endpoint {
		return func(now time.Duration) []dns.Endpoint {
			if now >= fails {
				return []dns.Endpoint{healthy, e}
			}
			return []dns.Endpoint{healthy, healthy}
		}
	}
	tests := []struct {
		name      string
		endpoint  dns.Endpoint
		evaluate  bool
		noticedBy time.Duration
	}{
		{"health check", dns.Endpoint{Success: 0, TargetsHealthy: true}, false, 3 * 10 * time.Second},
		{"health check with targets", dns.Endpoint{Success: 0, TargetsHealthy: true}, true, 3 * 10 * time.Second},
		{"evaluate target health", dns.Endpoint{Success: 1, TargetsHealthy: false}, true, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := honest()
			cfg.EvaluateTargetHealth = tt.evaluate
			z := newZone(t, cfg, 50, 50)
			if tt.noticedBy > 0 {
				early := fails + time.Duration(cfg.FailureThreshold-1)*cfg.HealthCheckInterval - step
				run(t, z, 0, early+step, failing(tt.endpoint))
				if !z.Healthy()[1] {
					t.Fatalf("unhealthy at %v, before %d checks could fail", early, cfg.FailureThreshold)
				}
				run(t, z, early+step, fails+tt.noticedBy+step, failing(tt.endpoint))
			} else {
				run(t, z, 0, fails+step, failing(tt.endpoint))
			}
			if z.Healthy()[1] {
				t.Fatalf("still healthy %v after the endpoint failed", tt.noticedBy)
			}
			got := run(t, z, fails+tt.noticedBy+step, fails+tt.noticedBy+cfg.TTL+2*step, failing(tt.endpoint))
			if got[1] != 0 {
				t.Errorf("a TTL after it turned unhealthy the failing stamp got %d of 1000, want 0", got[1])
			}
		})
	}
}

// TestRecordChoice: the records Route 53 falls back to when records are
// unhealthy: a stamp of weight zero when every weighted one is unhealthy,
// and all records by weight when every record is.
func TestRecordChoice(t *testing.T) {
	down := dns.Endpoint{Success: 0, TargetsHealthy: false}
	tests := []struct {
		name      string
		weights   []int
		endpoints []dns.Endpoint
		want      float64 // the share of the second stamp
	}{
		{"unhealthy weighted record passes to weight zero", []int{100, 0}, []dns.Endpoint{down, healthy}, 1},
		{"all unhealthy: as if all were healthy", []int{75, 25}, []dns.Endpoint{down, down}, 0.25},
		{"unhealthy weight zero stays out", []int{100, 0}, []dns.Endpoint{healthy, down}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := honest()
			z := newZone(t, cfg, tt.weights...)
			got := run(t, z, 0, 3*time.Minute, always(tt.endpoints...))
			if !near(got[1], 1000*tt.want, 35) {
				t.Errorf("the second stamp got %d of 1000, want %.0f ± 35", got[1], 1000*tt.want)
			}
		})
	}
}

// TestChanges: GetChange says PENDING, then INSYNC within the slowest
// propagation; an unknown ID is NoSuchChange; changes take effect in the
// order they were made, a later one that is INSYNC first waiting for the
// earlier.
func TestChanges(t *testing.T) {
	cfg := dns.DefaultConfig()
	z := newZone(t, cfg, 100, 0)
	for i := range 50 {
		now := time.Duration(i) * time.Hour
		at := insync(t, z, now, 100-i, i)
		if d := at - now; d < cfg.PropagationMin || d > cfg.SlowPropagationMax {
			t.Errorf("change %d INSYNC after %v, want %v–%v", i, d, cfg.PropagationMin, cfg.SlowPropagationMax)
		}
	}
	if _, err := z.GetChange(0, "C-nope"); !errors.Is(err, dns.ErrNoSuchChange) {
		t.Errorf("GetChange of an unknown ID: %v, want NoSuchChange", err)
	}
	if _, err := z.Change(0, []int{256, 0}); err == nil {
		t.Error("a weight of 256 was accepted, want an error (0-255)")
	}

	z = newZone(t, cfg, 100, 0)
	var ids []string
	for _, w := range [][]int{{50, 50}, {0, 100}} {
		id, err := z.Change(0, w)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	for now := time.Duration(0); now < 10*time.Minute; now += step {
		if _, err := z.Step(now, []dns.Endpoint{healthy, healthy}, 0); err != nil {
			t.Fatal(err)
		}
		first, _ := z.GetChange(now, ids[0])
		if w := z.Weights(); first == dns.Pending && w[0] != 100 {
			t.Fatalf("at %v the weights are %v while the first change is PENDING, want 100/0", now, w)
		}
	}
	if w := z.Weights(); w[1] != 100 {
		t.Errorf("weights %v after both changes, want the later change's 0/100", w)
	}
}

// TestDeterministic: one seed, one split.
func TestDeterministic(t *testing.T) {
	split := func() []int64 {
		z := newZone(t, dns.DefaultConfig(), 50, 50)
		return run(t, z, 0, 5*time.Minute, always(healthy, dns.Endpoint{Success: 0.5, TargetsHealthy: true}))
	}
	a, b := split(), split()
	if a[0] != b[0] || a[1] != b[1] {
		t.Errorf("two runs on one seed split %v and %v", a, b)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(*dns.Config)
	}{
		{"interval 20 s", func(c *dns.Config) { c.HealthCheckInterval = 20 * time.Second }},
		{"threshold 11", func(c *dns.Config) { c.FailureThreshold = 11 }},
		{"sticky hold under the TTL", func(c *dns.Config) { c.StickyHold = time.Second }},
		{"no resolvers", func(c *dns.Config) { c.Resolvers = 0 }},
		{"propagation backwards", func(c *dns.Config) { c.PropagationMax = time.Second }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := dns.DefaultConfig()
			tt.change(&c)
			if err := c.Validate(); err == nil {
				t.Error("Validate() = nil, want an error")
			}
		})
	}
	if err := dns.DefaultConfig().Validate(); err != nil {
		t.Errorf("DefaultConfig().Validate() = %v", err)
	}
}
