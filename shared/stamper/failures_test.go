package stamper_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/smithy-go"

	"github.com/stampkit/stampkit/shared/invocation"
	"github.com/stampkit/stampkit/shared/memstore"
	"github.com/stampkit/stampkit/shared/rollout"
)

// reentrantStore runs during once, the first time the handler reads the
// fleet's rollout record: what a second invocation arriving then does.
type reentrantStore struct {
	*memstore.Store
	during func()
}

func (r *reentrantStore) Load(ctx context.Context, key string) ([]byte, int64, error) {
	if key == rollout.Key(fleetName) && r.during != nil {
		during := r.during
		r.during = nil
		during()
	}
	return r.Store.Load(ctx, key)
}

// Two images offered at the same moment: without the fleet's lease both
// invocations would stamp their own launch template version and refresh
// before either saved, and the loser's changes would never be undone.
// The second finds the lease taken, does nothing and fails, so Lambda
// retries it; the retry queues it behind the first.
func TestConcurrentInvocationsTakeTurns(t *testing.T) {
	hs := newHarness(t, rollingPolicy(), false)
	const newer = "ami-newer"
	im := hs.aws.images[newAMI]
	im.ID, im.Name, im.CreationDate = newer, "web-3", t0.Add(-30*time.Minute)
	hs.aws.images[newer] = im

	var secondErr error
	var secondEffects []string
	// The second runs inside the first here, so it cannot wait it out.
	hs.h.LeaseWait = time.Millisecond
	hs.h.Store = &reentrantStore{Store: hs.store, during: func() {
		before := hs.aws.Effects()
		secondErr = hs.h.Handle(t.Context(), amiEvent(t, "ev-2", newer, "available"))
		secondEffects = hs.aws.Effects()
		hs.aws.effects = before
	}}
	hs.handle(t, amiEvent(t, "ev-1", newAMI, "available"))

	if !errors.Is(secondErr, invocation.ErrBusy) {
		t.Fatalf("second invocation: got %v, want invocation.ErrBusy", secondErr)
	}
	if len(secondEffects) > 0 {
		t.Errorf("second invocation acted while the first held the lease: %q", secondEffects)
	}
	s, _ := hs.state(t)
	if s.Image.ID != newAMI || !s.Active() {
		t.Fatalf("after the first: rolling out %s (active %v), want %s", s.Image.ID, s.Active(), newAMI)
	}

	// Lambda's retry of the second delivery.
	hs.clock.Add(time.Minute)
	hs.handle(t, amiEvent(t, "ev-2", newer, "available"))
	s, _ = hs.state(t)
	if s.Image.ID != newAMI || s.Queued == nil || s.Queued.ID != newer {
		t.Errorf("after the retry: rolling out %s, queued %v; want %s rolling and %s queued", s.Image.ID, s.Queued, newAMI, newer)
	}
}

// A wake-up acted on a little early (within invocation.EarlyTolerance)
// finds the bake not quite over and schedules the same time again; that
// second wake-up must still be acted on, not dropped as a duplicate of
// the first.
func TestEarlyWakeUpRescheduledForTheSameTimeIsActedOn(t *testing.T) {
	hs := startBlueGreen(t, blueGreenPolicy())
	hs.tick(t)
	wantEffects(t, hs, "SetForwardWeights listener-1 tg-blue=90 tg-green=10")
	s, _ := hs.state(t)
	bakeEnd := s.StepAt.Add(blueGreenPolicy().BlueGreen.Bake.Std())
	for hs.aws.lastWake(t).At.Before(bakeEnd) {
		hs.tick(t)
	}
	wantEffects(t, hs)

	w := hs.aws.lastWake(t)
	hs.clock.Set(w.At.Add(-invocation.EarlyTolerance / 2))
	hs.handle(t, tickBody(t, w.Key, w.At))
	wantEffects(t, hs)
	if again := hs.aws.lastWake(t); !again.At.Equal(w.At) {
		t.Fatalf("early wake-up rescheduled for %s, want the same time %s", again.At, w.At)
	}
	hs.clock.Set(w.At)
	hs.handle(t, tickBody(t, w.Key, w.At))
	wantEffects(t, hs, "SetForwardWeights listener-1 tg-blue=50 tg-green=50")
}

// An action AWS refuses as such (here a refresh the role may not start)
// would fail every retry the same way and leave the default version and
// the parameter on the new image with nothing taking the rollout further:
// the rollout rolls back instead, in the same invocation. Other failures
// still fail the invocation, for Lambda to retry.
func TestRejectedActionRollsBack(t *testing.T) {
	t.Run("rejected", func(t *testing.T) {
		hs := newHarness(t, rollingPolicy(), false)
		hs.aws.fail("StartInstanceRefresh", &smithy.GenericAPIError{Code: "AccessDenied",
			Message: "User is not authorized to perform: autoscaling:StartInstanceRefresh"})
		hs.handle(t, amiEvent(t, "ev-1", newAMI, "available"))
		wantEffects(t, hs,
			"CreateVersionWithImage lt-0123 3 ami-new", "SetDefaultVersion lt-0123 4", "PutImage /stampkit/web/ami ami-new",
			"SetDefaultVersion lt-0123 3", "PutImage /stampkit/web/ami ami-old", "SetLaunchTemplateVersion web-blue lt-0123 3")
		s, _ := hs.state(t)
		if !strings.Contains(s.Reason, "AccessDenied") {
			t.Errorf("reason %q: want the rejection", s.Reason)
		}
		if got := hs.metric(t, "RolloutActionsRejected"); got != 1 {
			t.Errorf("RolloutActionsRejected: got %v, want 1", got)
		}
		for s.Active() {
			hs.tick(t)
			s, _ = hs.state(t)
		}
		if s.Outcome != rollout.RolledBack {
			t.Errorf("outcome: got %q, want %q", s.Outcome, rollout.RolledBack)
		}
	})
	t.Run("transient", func(t *testing.T) {
		hs := newHarness(t, rollingPolicy(), false)
		hs.aws.fail("StartInstanceRefresh", &smithy.GenericAPIError{Code: "InternalFailure", Fault: smithy.FaultServer})
		if err := hs.h.Handle(t.Context(), amiEvent(t, "ev-1", newAMI, "available")); err == nil {
			t.Fatal("Handle succeeded, want the failure for Lambda to retry")
		}
		if s, _ := hs.state(t); s.Abort != "" || s.Phase == rollout.PhaseRevert {
			t.Errorf("after a transient failure: phase %s abort %q, want no rollback", s.Phase, s.Abort)
		}
	})
}

// A wake-up due after the one the record holds may have outrun the save
// that scheduled it: its delivery fails so the queue brings it back, and
// once older than any save could take it is stale.
func TestWakeUpAheadOfItsRecord(t *testing.T) {
	hs := startRolling(t)
	w := hs.aws.lastWake(t)
	ahead := w.At.Add(2 * time.Second)
	hs.clock.Set(ahead)
	if err := hs.h.Handle(t.Context(), tickBody(t, w.Key, ahead)); !errors.Is(err, invocation.ErrAheadOfRecord) {
		t.Errorf("wake-up ahead of its record: got %v, want ErrAheadOfRecord", err)
	}
	hs.clock.Set(ahead.Add(invocation.SaveInFlight))
	hs.handle(t, tickBody(t, w.Key, ahead))
	wantEffects(t, hs)
}

// An image refused because a rollout of it was rolled back can be forced:
// tagged stampkit:force=true, the replay of its event is not dropped as a
// duplicate of the delivery that refused it.
func TestForcedImageIsNotADuplicateOfItsRefusal(t *testing.T) {
	hs := startRolling(t)
	hs.aws.setRefresh("refresh-1", rollout.RefreshRollbackSuccessful, 0, "4")
	for s, _ := hs.state(t); s.Active(); s, _ = hs.state(t) {
		hs.tick(t)
	}
	hs.aws.Effects()
	hs.clock.Add(time.Hour)
	hs.handle(t, amiEvent(t, "ev-replay", newAMI, "available"))
	if s, _ := hs.state(t); s.Active() {
		t.Fatalf("a rolled-back image rolled out again without force")
	}
	im := hs.aws.images[newAMI]
	im.Tags[rollout.ForceTag] = "true"
	hs.aws.images[newAMI] = im
	hs.handle(t, amiEvent(t, "ev-replay", newAMI, "available"))
	if s, _ := hs.state(t); !s.Active() || s.Image.ID != newAMI {
		t.Errorf("forced replay: active %v image %s, want %s rolling out", s.Active(), s.Image.ID, newAMI)
	}
}

// After a promotion the rollout only tidies up: a rejected clean-up fails
// the delivery (for the dead-letter queue) instead of rolling the promoted
// image back.
func TestRejectedCleanUpAfterPromotionDoesNotRollBack(t *testing.T) {
	hs := startBlueGreen(t, blueGreenPolicy())
	for s, _ := hs.state(t); s.Phase != rollout.PhaseShift || s.Shifted < 100; s, _ = hs.state(t) {
		hs.tick(t)
	}
	hs.aws.Effects()
	hs.aws.fail("Resize", &smithy.GenericAPIError{Code: "ValidationError", Message: "bad size"})
	var err error
	for range 10 { // through the last bake to the promotion
		w := hs.aws.lastWake(t)
		hs.clock.Set(w.At)
		if err = hs.h.Handle(t.Context(), tickBody(t, w.Key, w.At)); err != nil {
			break
		}
	}
	if err == nil {
		t.Fatal("no delivery failed, want the rejected clean-up's error")
	}
	if s, _ := hs.state(t); s.Abort != "" || s.Phase == rollout.PhaseRestore {
		t.Errorf("after a rejected clean-up: phase %s abort %q, want no rollback", s.Phase, s.Abort)
	}
}
