package scaler_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stampkit/stampkit/shared/scaling"
)

// racingGroups lets a second decision read the group while the first is
// between its read and its write, and holds the second's write until the
// first has written: the interleaving two concurrent invocations can have.
type racingGroups struct {
	*fakeGroups
	mu     sync.Mutex
	second func()
	first  chan struct{} // closed once the first decision has written
}

func (g *racingGroups) Capacity(ctx context.Context, group string) (scaling.Group, error) {
	g.mu.Lock()
	second := g.second
	g.second = nil
	c, err := g.fakeGroups.Capacity(ctx, group)
	g.mu.Unlock()
	if second != nil {
		go second()
		time.Sleep(100 * time.Millisecond)
	}
	return c, err
}

func (g *racingGroups) SetDesiredCapacity(ctx context.Context, group string, desired int) error {
	g.mu.Lock()
	isFirst := len(g.sets) == 0 && desired > 4
	g.mu.Unlock()
	if !isFirst {
		select {
		case <-g.first:
		case <-time.After(2 * time.Second):
		}
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	err := g.fakeGroups.SetDesiredCapacity(ctx, group, desired)
	if isFirst {
		close(g.first)
	}
	return err
}

// Two alarms of one fleet deciding at once: without the fleet's lease both
// read the same state and capacity, both pass their cooldowns, and the
// last absolute capacity written wins, a scale-in over a scale-out. With
// it the second decides on what the first did.
func TestConcurrentDecisionsTakeTurns(t *testing.T) {
	r := newRig(t, false)
	done := make(chan error, 1)
	groups := &racingGroups{fakeGroups: r.groups, first: make(chan struct{})}
	groups.second = func() {
		// Held low for ten minutes: past its scale-in hold.
		done <- r.h.Handle(t.Context(), alarmEvent("ev-low", "web-low", "ALARM", t0.Add(-10*time.Minute), 5, 10))
	}
	r.h.Groups = groups
	if err := r.h.Handle(t.Context(), alarmEvent("ev-high", "web-high", "ALARM", t0, 50, 20)); err != nil {
		t.Fatalf("high alarm: %v", err)
	}
	if err := <-done; err != nil {
		t.Fatalf("low alarm: %v", err)
	}
	if got := r.groups.groups["web-asg"].Desired; got < 8 {
		t.Errorf("desired capacity: got %d (sets %v), want at least 8: a scale-in decided on the capacity before the scale-out overwrote it", got, r.groups.sets)
	}
}
