package invocation

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/stampkit/stampkit/shared/event"
)

// EarlyTolerance is how early a wake-up may arrive and still be acted on.
const EarlyTolerance = time.Second

// Scheduler arranges for a stampkit Tick with key to arrive at at, or
// earlier when at is beyond the scheduler's longest delay.
type Scheduler interface {
	WakeAt(ctx context.Context, key string, at time.Time) error
}

// ForwardEarly sends on a wake-up that arrived more than EarlyTolerance
// before it is due and reports whether it did: a wait longer than the
// queue's longest delay is a chain of delays, and only its last link acts.
func ForwardEarly(ctx context.Context, log *slog.Logger, s Scheduler, now time.Time, t *event.Tick) (bool, error) {
	if !now.Add(EarlyTolerance).Before(t.At) {
		return false, nil
	}
	if err := s.WakeAt(ctx, t.Key, t.At); err != nil {
		return false, fmt.Errorf("sending on wake-up %s due %s: %w", t.Key, t.At.UTC().Format(time.RFC3339), err)
	}
	log.DebugContext(ctx, "early wake-up sent on", "early_by", t.At.Sub(now))
	return true, nil
}
