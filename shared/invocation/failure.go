package invocation

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"slices"
	"strings"

	"github.com/stampkit/stampkit/shared/awserr"
	"github.com/stampkit/stampkit/shared/event"
	"github.com/stampkit/stampkit/shared/logging"
)

// Undone is an effect that failed and will be tried again by the retry of
// its delivery (Lambda's async retries, then the dead-letter queue): which
// fleet, and the claim that names what was left undone.
type Undone struct {
	Fleet string
	Claim string
	Err   error
}

func (u *Undone) Error() string { return u.Err.Error() }
func (u *Undone) Unwrap() error { return u.Err }

// Fault classes of a failed effect, as metrics and logs name them.
const (
	FaultThrottled  = "throttled"
	FaultRejected   = "rejected"
	FaultServer     = "server"
	FaultConnection = "connection"
	FaultBusy       = "busy"
	FaultTimeout    = "timeout"
	FaultPanic      = "panic"
	FaultOther      = "other"
)

// FaultOf classifies why a call or an effect failed: AWS throttled it, AWS
// refused it as such (a retry of the same call cannot succeed), AWS failed
// on its side (5xx), the connection failed before an answer, another
// invocation held the fleet, the invocation ran out of time, or anything
// else.
func FaultOf(err error) string {
	switch {
	case awserr.IsThrottled(err):
		return FaultThrottled
	case awserr.IsRejected(err):
		return FaultRejected
	case awserr.IsServerError(err):
		return FaultServer
	case errors.Is(err, context.DeadlineExceeded):
		return FaultTimeout
	case awserr.IsConnectionError(err):
		return FaultConnection
	case errors.Is(err, ErrBusy):
		return FaultBusy
	}
	return FaultOther
}

// handleLogged runs handle for one event and writes the one ERROR line of
// its failure, a panic included: the runtime library reports a panic with
// the standard logger, at INFO once slog is the default, which
// AWS_LAMBDA_LOG_LEVEL=WARN drops. The panic goes on after the line.
func handleLogged(ctx context.Context, log *slog.Logger, ev event.Event, handle func(context.Context, event.Event) error) error {
	defer func() {
		if p := recover(); p != nil {
			log.ErrorContext(ctx, "event failed: the handler panicked", "error", fmt.Sprint(p), "fault", FaultPanic,
				"stack", string(debug.Stack()))
			panic(p)
		}
	}()
	err := handle(ctx, ev)
	if err != nil {
		logFailure(ctx, log, err)
	}
	return err
}

// logFailure writes the one ERROR line of a failed event: its error chain,
// its fault class, and, for every effect that failed, the fleet and what
// was left undone. Lambda's runtime reports a failed invocation at no
// level of its own, so with AWS_LAMBDA_LOG_LEVEL=WARN this line is all
// there is.
func logFailure(ctx context.Context, log *slog.Logger, err error) {
	attrs := []any{"error", err.Error(), "fault", FaultOf(err)}
	if us := undone(err); len(us) > 0 {
		fleets, claims := make([]string, len(us)), make([]string, len(us))
		for i, u := range us {
			fleets[i], claims[i] = u.Fleet, u.Claim
		}
		attrs = append(attrs, "fleet", strings.Join(slices.Compact(fleets), ","), "undone", strings.Join(claims, ","))
	}
	log.ErrorContext(ctx, "event failed: its delivery is retried, then dead-lettered", attrs...)
}

// undone returns the outermost Undone of each failed effect in err, which
// may join several (a tick that failed for two fleets).
func undone(err error) []*Undone {
	var u *Undone
	if errors.As(err, &u) && u == err {
		return []*Undone{u}
	}
	var out []*Undone
	switch e := err.(type) {
	case interface{ Unwrap() []error }:
		for _, inner := range e.Unwrap() {
			out = append(out, undone(inner)...)
		}
	case interface{ Unwrap() error }:
		return undone(e.Unwrap())
	}
	return out
}

// failed counts a fleet's failed effect by its fault class.
func (r Reporter) failed(ctx context.Context, fleet string, err error) {
	if r.Metrics == nil {
		return
	}
	dims := map[string]string{"Fault": FaultOf(err)}
	if fleet != "" {
		dims["Fleet"] = fleet
	}
	if merr := r.Metrics.Emit(dims, logging.Metric{Name: "EffectsFailed", Value: 1, Unit: logging.Count}); merr != nil {
		r.Log.WarnContext(ctx, "metrics not written", "error", merr)
	}
}
