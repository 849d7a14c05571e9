// Package invocation is what every stampkit handler does around its own
// logic: decode the Lambda payload, reject or ignore what it cannot act on,
// handle each event with its id on every log line, and run each effect at
// most once however often EventBridge, SNS or SQS deliver it.
package invocation

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/stampkit/stampkit/shared/event"
	"github.com/stampkit/stampkit/shared/logging"
)

// Each decodes raw and calls handle for each event it holds, with the
// event's id on the context's log records. A payload of a kind no handler
// knows is logged and ignored. A malformed one is logged and returned as an
// error, so the invocation fails and, after Lambda's retries, reaches the
// dead-letter queue with its payload intact. The errors of several events
// are joined, each naming its event.
func Each(ctx context.Context, log *slog.Logger, raw []byte, handle func(context.Context, event.Event) error) error {
	evs, err := event.Decode(raw)
	switch {
	case errors.Is(err, event.ErrUnknown):
		log.WarnContext(ctx, "ignoring event of unknown kind", "error", err)
		return nil
	case err != nil:
		log.ErrorContext(ctx, "rejecting malformed event", "error", err, "payload_bytes", len(raw))
		return fmt.Errorf("decoding event: %w", err)
	}
	ctx, cancel := withHeadroom(ctx)
	defer cancel()
	var errs []error
	for _, ev := range evs {
		if err := handle(logging.With(ctx, "event_id", ev.ID), ev); err != nil {
			errs = append(errs, fmt.Errorf("event %s: %w", ev.ID, err))
		}
	}
	return errors.Join(errs...)
}

// Claims is the part of the state store that claims effects.
type Claims interface {
	Claim(ctx context.Context, key string, ttl time.Duration) (bool, error)
	Release(ctx context.Context, key string) error
}

// Once runs effect unless another delivery already claimed key, and reports
// whether it ran. A failed effect gives its claim back, so Lambda's retry
// runs it again instead of meeting its own claim and dropping the work.
func Once(ctx context.Context, claims Claims, key string, ttl time.Duration, effect func() error) (ran bool, err error) {
	ok, err := claims.Claim(ctx, key, ttl)
	if err != nil {
		return false, fmt.Errorf("claiming %s: %w", key, err)
	}
	if !ok {
		return false, nil
	}
	if err := effect(); err != nil {
		// The effect may have failed because ctx ran out; the release must
		// still get through, or the claim outlives its TTL and Lambda's
		// retry meets it and drops the work as a duplicate.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), releaseTimeout)
		defer cancel()
		if rerr := claims.Release(rctx, key); rerr != nil {
			return true, errors.Join(err, fmt.Errorf("releasing claim %s: %w", key, rerr))
		}
		return true, err
	}
	return true, nil
}

// Headroom is how long before the Lambda deadline a handler's own work must
// stop, so that releasing claims and saving state still fit.
const Headroom = 2 * time.Second

// releaseTimeout bounds the release of a claim whose effect failed.
const releaseTimeout = time.Second

// withHeadroom returns ctx with its deadline moved Headroom earlier; a
// context without a deadline, or with less than twice the headroom left,
// is returned as it is.
func withHeadroom(ctx context.Context) (context.Context, context.CancelFunc) {
	deadline, ok := ctx.Deadline()
	if !ok || time.Until(deadline) < 2*Headroom {
		return ctx, func() {}
	}
	return context.WithDeadline(ctx, deadline.Add(-Headroom))
}

// Reporter logs and counts what a handler does for a fleet.
type Reporter struct {
	Log     *slog.Logger
	Metrics *logging.Metrics // nil: no metrics
}

// Emit writes metrics with the fleet as their dimension ("" for none). A
// metric that cannot be written is logged; it never fails the invocation.
func (r Reporter) Emit(ctx context.Context, fleet string, ms ...logging.Metric) {
	if r.Metrics == nil {
		return
	}
	dims := map[string]string{}
	if fleet != "" {
		dims["Fleet"] = fleet
	}
	if err := r.Metrics.Emit(dims, ms...); err != nil {
		r.Log.WarnContext(ctx, "metrics not written", "error", err)
	}
}

// Once is the package's Once for a fleet's effect: a duplicate it drops is
// logged and counted as the fleet's Duplicates metric.
func (r Reporter) Once(ctx context.Context, claims Claims, ttl time.Duration, fleet, key string, effect func() error) error {
	ran, err := Once(ctx, claims, key, ttl, effect)
	if !ran && err == nil {
		r.Log.InfoContext(ctx, "duplicate delivery: already claimed", "claim", key)
		r.Emit(ctx, fleet, logging.Metric{Name: "Duplicates", Value: 1, Unit: logging.Count})
	}
	return err
}
