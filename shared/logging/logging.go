// Package logging gives every Lambda and the local twin the same structured
// output: slog JSON lines carrying the Lambda request id and the attributes
// of the event being handled, and CloudWatch Embedded Metric Format records.
package logging

import (
	"context"
	"io"
	"log/slog"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"
)

// New returns a JSON logger writing to w. Records logged with a context that
// carries a Lambda invocation get its request id, and attributes attached
// with [With] are added to every record logged with that context, so a
// handler names the group and event once instead of at every call.
func New(w io.Writer, level slog.Leveler) *slog.Logger {
	return slog.New(&handler{next: slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level})})
}

// ParseLevel maps the level names Lambda uses in AWS_LAMBDA_LOG_LEVEL
// (DEBUG, INFO, WARN, ERROR) to slog levels; anything else is INFO, because
// a typo in a log setting must not stop a function from starting.
func ParseLevel(name string) slog.Level {
	var l slog.Level
	if err := l.UnmarshalText([]byte(name)); err != nil {
		return slog.LevelInfo
	}
	return l
}

type ctxKey struct{}

// With returns a context whose log records carry args (slog key-value pairs)
// in addition to any attached earlier.
func With(ctx context.Context, args ...any) context.Context {
	prev, _ := ctx.Value(ctxKey{}).([]slog.Attr)
	r := slog.NewRecord(time.Time{}, 0, "", 0)
	r.Add(args...)
	attrs := make([]slog.Attr, 0, len(prev)+r.NumAttrs())
	attrs = append(attrs, prev...)
	r.Attrs(func(a slog.Attr) bool {
		attrs = append(attrs, a)
		return true
	})
	return context.WithValue(ctx, ctxKey{}, attrs)
}

type handler struct {
	next slog.Handler
}

func (h *handler) Enabled(ctx context.Context, level slog.Level) bool {
	return h.next.Enabled(ctx, level)
}

func (h *handler) Handle(ctx context.Context, r slog.Record) error {
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		r.AddAttrs(slog.String("request_id", lc.AwsRequestID))
	}
	if attrs, ok := ctx.Value(ctxKey{}).([]slog.Attr); ok {
		r.AddAttrs(attrs...)
	}
	return h.next.Handle(ctx, r)
}

func (h *handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &handler{next: h.next.WithAttrs(attrs)}
}

func (h *handler) WithGroup(name string) slog.Handler {
	return &handler{next: h.next.WithGroup(name)}
}
