// Package invocation is what every stampkit handler does around its own
// logic: decode the Lambda payload, reject or ignore what it cannot act on,
// handle each event with its id on every log line, and run each effect at
// most once however often EventBridge, SNS or SQS deliver it.
package invocation

import (
	"context"
	"crypto/rand"
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
// dead-letter queue with its payload intact. Every event that fails is
// logged once at ERROR; the errors of several events are joined, each
// naming its event.
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
		ectx := logging.With(ctx, "event_id", ev.ID)
		if err := handleLogged(ectx, log, ev, handle); err != nil {
			errs = append(errs, fmt.Errorf("event %s: %w", ev.ID, err))
		}
	}
	return errors.Join(errs...)
}

// Claims is the part of the state store that claims effects. A claim has
// an owner: its owner may claim it again (extending it) and only its owner
// releases it.
type Claims interface {
	Claim(ctx context.Context, key, owner string, ttl time.Duration) (bool, error)
	Release(ctx context.Context, key, owner string) error
}

// ErrNotKept reports an effect that ran but whose claim could not be kept
// for its TTL: it lapses at the invocation's deadline, and a duplicate
// delivered after that runs the effect again.
var ErrNotKept = errors.New("claim not kept")

// Once runs effect unless another delivery already claimed key, and reports
// whether it ran. While effect runs the claim lasts only as long as this
// invocation can (its deadline plus Headroom); once effect succeeded it is
// kept for ttl. So a failed or panicking effect, a claim written but
// answered with an error, and an invocation Lambda stops part-way all
// leave the retry free to run the effect, instead of meeting the claim and
// dropping the work as a duplicate. A claim that cannot be kept is
// ErrNotKept, with ran true.
func Once(ctx context.Context, claims Claims, key string, ttl time.Duration, effect func() error) (ran bool, err error) {
	owner := rand.Text()
	ok, err := claims.Claim(ctx, key, owner, invocationTTL(ctx))
	if err != nil {
		// The claim may have been written before the error.
		return false, errors.Join(fmt.Errorf("claiming %s: %w", key, err), release(ctx, claims, key, owner))
	}
	if !ok {
		return false, nil
	}
	succeeded := false
	defer func() {
		if succeeded {
			return
		}
		if rerr := release(ctx, claims, key, owner); rerr != nil {
			err = errors.Join(err, fmt.Errorf("releasing claim %s: %w", key, rerr))
		}
	}()
	if err := effect(); err != nil {
		return true, err
	}
	succeeded = true
	// On a context of its own: an effect that finished right at the
	// deadline must still keep its claim.
	kctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), releaseTimeout)
	defer cancel()
	if kept, err := claims.Claim(kctx, key, owner, ttl); err != nil || !kept {
		return true, errors.Join(fmt.Errorf("keeping claim %s: %w", key, ErrNotKept), err)
	}
	return true, nil
}

// ErrBusy reports a lease another invocation holds. The delivery fails and
// comes back (Lambda's retry, the queue's redelivery) when that invocation
// is done.
var ErrBusy = errors.New("held by another invocation")

// maxInvocation is how long a claim or lease lasts while an effect runs
// when ctx has no deadline: Lambda's longest timeout.
const maxInvocation = 15 * time.Minute

// invocationTTL is how long an invocation with ctx can still run: until
// its deadline (which Each moved Headroom earlier) plus Headroom, and a
// second for the store's whole-second expiry.
func invocationTTL(ctx context.Context) time.Duration {
	deadline, ok := ctx.Deadline()
	if !ok {
		return maxInvocation
	}
	return time.Until(deadline) + Headroom + time.Second
}

// leasePoll is how often Lease asks again for a lease it waits for.
const leasePoll = 100 * time.Millisecond

// Lease runs effect while holding key, so that no two invocations run
// effects under the same key at once. A handler that reads a record, calls
// AWS and then saves the record with a version check needs it: the check
// stops the second save, not the second invocation's calls. A key held by
// another invocation is waited for up to wait (polling), then ErrBusy. The
// lease lasts as long as the invocation can (invocationTTL: one Lambda
// stops leaves it to expire) and is released when effect returns or
// panics.
func Lease(ctx context.Context, claims Claims, key string, wait time.Duration, effect func() error) (err error) {
	owner := rand.Text()
	giveUp := time.Now().Add(wait)
	for {
		ok, err := claims.Claim(ctx, key, owner, invocationTTL(ctx))
		if err != nil {
			return errors.Join(fmt.Errorf("taking lease %s: %w", key, err), release(ctx, claims, key, owner))
		}
		if ok {
			break
		}
		if !time.Now().Before(giveUp) {
			return fmt.Errorf("lease %s: %w", key, ErrBusy)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for lease %s: %w", key, ctx.Err())
		case <-time.After(leasePoll):
		}
	}
	defer func() {
		// A lease whose release fails expires at the deadline; an effect
		// that succeeded is not failed for it, which would repeat it.
		if rerr := release(ctx, claims, key, owner); rerr != nil && err != nil {
			err = errors.Join(err, fmt.Errorf("releasing lease %s: %w", key, rerr))
		}
	}()
	return effect()
}

// release gives owner's key back on a context of its own: the effect may
// have failed because ctx ran out, and a claim left behind would drop the
// retry as a duplicate.
func release(ctx context.Context, claims Claims, key, owner string) error {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), releaseTimeout)
	defer cancel()
	return claims.Release(rctx, key, owner)
}

// Headroom is how long before the Lambda deadline a handler's own work must
// stop, so that releasing claims and saving state still fit.
const Headroom = 2 * time.Second

// releaseTimeout bounds the release of a claim whose effect failed, and
// the keeping of one whose effect succeeded.
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
// logged and counted as the fleet's Duplicates metric; a failed effect is
// counted (EffectsFailed, by fault class) and returned as *Undone, which
// Each logs.
func (r Reporter) Once(ctx context.Context, claims Claims, ttl time.Duration, fleet, key string, effect func() error) error {
	ran, err := Once(ctx, claims, key, ttl, effect)
	switch {
	case !ran && err == nil:
		r.Log.InfoContext(ctx, "duplicate delivery: already claimed", "claim", key)
		r.Emit(ctx, fleet, logging.Metric{Name: "Duplicates", Value: 1, Unit: logging.Count})
	case errors.Is(err, ErrNotKept):
		// The effect is done; failing the invocation would only repeat it.
		r.Log.WarnContext(ctx, "effect done, claim not kept: a late duplicate would run it again", "claim", key, "error", err)
		return nil
	case err != nil:
		var inner *Undone
		if !errors.As(err, &inner) {
			// Counted once, by the innermost claim: a tick's claim holds
			// each alarm's, and both would count the same failure.
			r.failed(ctx, fleet, err)
		}
		return &Undone{Fleet: fleet, Claim: key, Err: err}
	}
	return nil
}
