package stampshift_test

import (
	"fmt"
	"maps"
	"testing"
	"time"

	"github.com/stampkit/stampkit/shared/clock"
	"github.com/stampkit/stampkit/shared/stampshift"
)

var t0 = time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)

// policy: TTL 60 s + bake 4 m = 5 m per step, polled every 30 s.
func policy() stampshift.Policy {
	return stampshift.Policy{
		Steps: []int{5, 25, 50, 100}, TTL: clock.Duration(time.Minute), Bake: clock.Duration(4 * time.Minute),
		PollInterval: clock.Duration(30 * time.Second), CapacityTimeout: clock.Duration(10 * time.Minute), SendAttempts: 3,
	}.WithDefaults()
}

// world is Route 53, the health checks, alarms and fleets as the reducer
// sees them. A change stays PENDING for insyncAfter, as GetChange reports
// it until every Route 53 server has it (Route 53 API Reference,
// GetChange).
type world struct {
	now         time.Time
	weights     map[string]int64
	health      map[string]stampshift.Health
	changes     int
	change      string
	sentAt      time.Time
	insyncAfter time.Duration
	// refuse makes the next n SetWeights fail as refused (a conflicting
	// change, InvalidChangeBatch); throttle makes them fail as throttled
	// past the SDK's retries.
	refuse   int
	throttle int
	// lateChange answers GetChange for an older change id.
	lateChange bool
	// blind makes observations fail.
	blind  bool
	sent   []map[string]int64
	raised []stampshift.Action
}

func newWorld() *world {
	return &world{
		now:     t0,
		weights: map[string]int64{"old": 100, "new": 0, "other": 50},
		health: map[string]stampshift.Health{
			"old": {Healthy: true, InService: 10},
			"new": {Healthy: true, InService: 10},
		},
	}
}

func (w *world) observe() stampshift.Observation {
	if w.blind {
		return stampshift.Observation{Now: w.now, Err: "GetHealthCheckStatus: throttled"}
	}
	ch := stampshift.ChangeStatus{ID: w.change, InSync: w.change != "" && !w.now.Before(w.sentAt.Add(w.insyncAfter))}
	if w.lateChange {
		ch = stampshift.ChangeStatus{ID: "C0", InSync: true}
	}
	return stampshift.Observation{Now: w.now, Weights: maps.Clone(w.weights), Change: ch, Stamps: maps.Clone(w.health)}
}

func (w *world) apply(s stampshift.State, acts []stampshift.Action) stampshift.State {
	for _, a := range acts {
		switch a.Kind {
		case stampshift.SetWeights:
			w.sent = append(w.sent, a.Weights)
			if w.refuse > 0 {
				w.refuse--
				s = s.Refused()
				continue
			}
			if w.throttle > 0 {
				w.throttle--
				continue
			}
			maps.Copy(w.weights, a.Weights)
			w.changes++
			w.change, w.sentAt = fmt.Sprintf("C%d", w.changes), w.now
			s = s.Sent(w.change, w.now)
		case stampshift.RaiseFloor:
			w.raised = append(w.raised, a)
		}
	}
	return s
}

// event changes the world or commands the transition at an offset from t0.
type event struct {
	at time.Duration
	do func(w *world, s stampshift.State) stampshift.State
}

func setHealth(stamp string, h func(*stampshift.Health)) func(*world, stampshift.State) stampshift.State {
	return func(w *world, s stampshift.State) stampshift.State {
		v := w.health[stamp]
		h(&v)
		w.health[stamp] = v
		return s
	}
}

func command(t *testing.T, c stampshift.Command) func(*world, stampshift.State) stampshift.State {
	return func(w *world, s stampshift.State) stampshift.State {
		next, err := stampshift.Control(s, c, "", "", "", w.now)
		if err != nil {
			t.Fatalf("%s at %s: %v", c, w.now.Sub(t0), err)
		}
		return next
	}
}

// drive runs a transition from old to new until it ends (or 200 steps),
// firing events as their time comes.
func drive(t *testing.T, p stampshift.Policy, w *world, events []event) stampshift.State {
	t.Helper()
	s, err := stampshift.Begin(p, stampshift.State{Record: "www.example.com."}, stampshift.Start{ID: "e1", Record: "www.example.com.", From: "old", To: "new"}, w.observe())
	if err != nil {
		t.Fatalf("Begin: %v", err)
	}
	for range 200 {
		for len(events) > 0 && !w.now.Before(t0.Add(events[0].at)) {
			s = events[0].do(w, s)
			events = events[1:]
		}
		acts, next, wake := stampshift.Step(p, s, w.observe())
		s = w.apply(next, acts)
		if !s.Active() {
			return s
		}
		if !wake.After(w.now) {
			t.Fatalf("wake %s is not after now %s", wake, w.now)
		}
		if len(events) > 0 && t0.Add(events[0].at).Before(wake) {
			wake = t0.Add(events[0].at)
		}
		w.now = wake
	}
	t.Fatalf("transition still running at %s: %+v", w.now.Sub(t0), s)
	return s
}
