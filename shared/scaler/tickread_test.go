package scaler_test

import (
	"cmp"
	"context"
	"sync"
	"testing"
	"time"

	"github.com/aws/smithy-go"

	"github.com/stampkit/stampkit/shared/cwalarm"
	"github.com/stampkit/stampkit/shared/event"
	"github.com/stampkit/stampkit/shared/scaler"
	"github.com/stampkit/stampkit/shared/scaling"
)

var _ scaler.AlarmBatch = (*cwalarm.Adapter)(nil)

// batchWorld is a fleetWorld whose alarms a tick batch can also describe
// at once: Prefetch counts the describes, and can fail or hang.
type batchWorld struct {
	*fleetWorld
	mu         sync.Mutex
	prefetches int
	described  []string      // the names of the last prefetch
	left       time.Duration // how long the last prefetch had before its deadline
	fail       error
	hang       bool
	batchReads map[string]int // signal reads served by a prefetch, per fleet
}

func (b *batchWorld) Prefetch(ctx context.Context, names []string) (func(context.Context, []string) ([]scaling.Signal, error), error) {
	b.mu.Lock()
	b.prefetches++
	b.described = names
	if deadline, ok := ctx.Deadline(); ok {
		b.left = time.Until(deadline)
	}
	fail, hang := b.fail, b.hang
	b.mu.Unlock()
	switch {
	case fail != nil:
		return nil, fail
	case hang:
		<-ctx.Done()
		return nil, ctx.Err()
	}
	return func(ctx context.Context, names []string) ([]scaling.Signal, error) {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		b.mu.Lock()
		b.batchReads[names[0]]++
		b.mu.Unlock()
		return []scaling.Signal{{Alarm: names[0], State: scaling.StateAlarm, Value: 70, Threshold: 60, Since: t0.Add(-10 * time.Minute)}}, nil
	}, nil
}

// A tick batch describes its fleets' alarms once, and each fleet reads its
// signals from that; when the one describe fails or hangs, each fleet
// reads its own alarms, and every fleet is still evaluated.
func TestTickBatchReadsAlarmsOnce(t *testing.T) {
	throttled := &smithy.GenericAPIError{Code: "Throttling", Message: "Rate exceeded"}
	tests := []struct {
		name    string
		fleets  int
		fail    error
		hang    bool
		timeout time.Duration
		// wantPrefetches is how many batch describes the tick made;
		// wantOwn, how many times each fleet read its own alarms.
		wantPrefetches, wantOwn int
	}{
		{name: "a batch of ten describes once", fleets: 10, wantPrefetches: 1, wantOwn: 0},
		{name: "a failed describe: each fleet reads its own", fleets: 10, fail: throttled, wantPrefetches: 1, wantOwn: 1},
		// 4 s less invocation.Headroom leaves 2 s: the describe is cut at
		// half a second, and the fleets read in the rest.
		{name: "a hanging describe is cut at its share: each fleet reads its own", fleets: 10, hang: true, timeout: 4 * time.Second, wantPrefetches: 1, wantOwn: 1},
		{name: "a batch of one reads its own", fleets: 1, wantPrefetches: 0, wantOwn: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newFleetsRig(t, tt.fleets)
			b := &batchWorld{fleetWorld: r.world, fail: tt.fail, hang: tt.hang, batchReads: map[string]int{}}
			r.h.AlarmBatch = b
			timeout := cmp.Or(tt.timeout, 30*time.Second)
			newCtx := func() (context.Context, context.CancelFunc) { return context.WithTimeout(t.Context(), timeout) }
			r.clock.Set(t0.Add(5 * time.Second))
			for i, err := range r.deliver(t, newCtx, batchTick(t, "tick-0", t0, 0, r.fleets)) {
				if err != nil {
					t.Fatalf("delivery %d: %v", i, err)
				}
			}
			if b.prefetches != tt.wantPrefetches {
				t.Errorf("got %d batch describes, want %d", b.prefetches, tt.wantPrefetches)
			}
			if tt.wantPrefetches > 0 && len(b.described) != tt.fleets {
				t.Errorf("the batch describe named %v, want the %d fleets' alarms", b.described, tt.fleets)
			}
			if tt.hang && b.left > timeout/4 {
				t.Errorf("the batch describe had %v, want at most a quarter of the invocation's %v", b.left, timeout)
			}
			reads := r.world.readsNow()
			for _, f := range r.fleets {
				if got := reads[f]; got != tt.wantOwn {
					t.Errorf("fleet %s read its own alarms %d times, want %d", f, got, tt.wantOwn)
				}
				wantBatch := 1 - tt.wantOwn
				if got := b.batchReads[f+"-high"]; got != wantBatch {
					t.Errorf("fleet %s read %d times from the batch describe, want %d", f, got, wantBatch)
				}
				if got := r.world.setsOf(f); got != 1 {
					t.Errorf("fleet %s evaluated %d times, want once", f, got)
				}
			}
			failed := r.logs.records(t, "TickBatchReadFailed")
			if want := tt.fail != nil || tt.hang; (len(failed) > 0) != want {
				t.Errorf("TickBatchReadFailed recorded %d times, want it %v", len(failed), want)
			}
		})
	}
}

// A tick of every fleet runs in rounds, and reads each fleet's alarms on
// its own: a describe made before the first round would be stale by the
// last.
func TestTickOfEveryFleetReadsEachOwn(t *testing.T) {
	r := newFleetsRig(t, 2*event.TickBatchSize)
	b := &batchWorld{fleetWorld: r.world, batchReads: map[string]int{}}
	r.h.AlarmBatch = b
	r.clock.Set(t0.Add(5 * time.Second))
	if err := r.h.Handle(t.Context(), tickEvent("tick-all", t0)); err != nil {
		t.Fatalf("Handle: %v", err)
	}
	if b.prefetches != 0 {
		t.Errorf("got %d batch describes, want none", b.prefetches)
	}
	for f, n := range r.world.readsNow() {
		if n != 1 {
			t.Errorf("fleet %s read its own alarms %d times, want once", f, n)
		}
	}
	if got := len(r.world.readsNow()); got != len(r.fleets) {
		t.Errorf("%d fleets read their alarms, want %d", got, len(r.fleets))
	}
}
