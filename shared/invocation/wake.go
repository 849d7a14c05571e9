package invocation

import (
	"context"
	"errors"
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

// SaveInFlight bounds how long after its due time a wake-up newer than its
// record may still be waiting for that record: a handler schedules a
// wake-up before it saves, so one due at once can arrive first.
const SaveInFlight = time.Minute

// ErrAheadOfRecord fails the delivery of a wake-up that arrived before the
// record that scheduled it was saved; the queue delivers it again.
var ErrAheadOfRecord = errors.New("wake-up ahead of its record")

// AheadOfRecord reports whether t, which is not the wake-up the record
// holds (due recorded), is newer than it, due (a link of a longer wait,
// still in the future, was sent long before: it is stale), and recent
// enough that the save scheduling it may still be on its way. The caller
// returns ErrAheadOfRecord; anything else about t is stale and ignored.
func AheadOfRecord(t *event.Tick, recorded, now time.Time) bool {
	return t.At.After(recorded) && !t.At.After(now.Add(EarlyTolerance)) && now.Sub(t.At) < SaveInFlight
}
