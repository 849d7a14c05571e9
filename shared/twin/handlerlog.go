package twin

import (
	"context"
	"log/slog"
	"time"

	"github.com/stampkit/stampkit/shared/logging"
)

// handlerLog returns the logger a real handler gets in the twin. observe,
// when set, reads every record the handler logs at info and above — the
// twin learns decisions and phases from the handler's own words — and the
// records go on to Config.HandlerLog as JSON when one is set, stamped with
// virtual time so a run's log is as deterministic as the run.
func (s *sim) handlerLog(observe func(slog.Record)) *slog.Logger {
	var next slog.Handler
	if s.cfg.HandlerLog != nil {
		next = &clocked{now: s.Now, next: logging.New(s.cfg.HandlerLog, slog.LevelInfo).Handler()}
	}
	switch {
	case observe != nil:
		return slog.New(&tapLog{observe: observe, next: next})
	case next != nil:
		return slog.New(next)
	}
	return slog.New(slog.DiscardHandler)
}

// tapLog shows each record to observe, then forwards it to next, if any.
type tapLog struct {
	observe func(slog.Record)
	next    slog.Handler
}

func (t *tapLog) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelInfo || (t.next != nil && t.next.Enabled(ctx, l))
}

func (t *tapLog) Handle(ctx context.Context, r slog.Record) error {
	t.observe(r)
	if t.next == nil {
		return nil
	}
	return t.next.Handle(ctx, r)
}

func (t *tapLog) WithAttrs(attrs []slog.Attr) slog.Handler {
	c := *t
	if t.next != nil {
		c.next = t.next.WithAttrs(attrs)
	}
	return &c
}

func (t *tapLog) WithGroup(name string) slog.Handler {
	c := *t
	if t.next != nil {
		c.next = t.next.WithGroup(name)
	}
	return &c
}

// clocked stamps log records with now(): the twin's virtual time.
type clocked struct {
	now  func() time.Time
	next slog.Handler
}

func (c *clocked) Enabled(ctx context.Context, l slog.Level) bool { return c.next.Enabled(ctx, l) }
func (c *clocked) Handle(ctx context.Context, r slog.Record) error {
	r.Time = c.now()
	return c.next.Handle(ctx, r)
}
func (c *clocked) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &clocked{now: c.now, next: c.next.WithAttrs(attrs)}
}
func (c *clocked) WithGroup(name string) slog.Handler {
	return &clocked{now: c.now, next: c.next.WithGroup(name)}
}
