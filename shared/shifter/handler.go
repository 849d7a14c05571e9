// Package shifter is the shift function's handler: it drives a record's
// weight transition between stamps (package stampshift) from operator
// commands (event.ShiftCommand) and wake-ups (event.Tick), through Route
// 53 (route53dns) and each stamp's own clients in its Region.
//
// One transition per record: the handler holds a lease on the record while
// it acts, and saves the transition with a version check, so two
// invocations never act on one record at once and a lost race writes
// nothing. Every effect is idempotent on repeat: a command is claimed by
// its event id (a redelivery is dropped), a start or command sent before
// the last one applied is stale, a wake-up acts only if it is the one the
// record waits for (one polling chain per record), a change is followed by
// its id, and the reducer takes late observations as no-ops.
package shifter

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/stampkit/stampkit/shared/clock"
	"github.com/stampkit/stampkit/shared/config"
	"github.com/stampkit/stampkit/shared/event"
	"github.com/stampkit/stampkit/shared/invocation"
	"github.com/stampkit/stampkit/shared/logging"
	"github.com/stampkit/stampkit/shared/route53dns"
	"github.com/stampkit/stampkit/shared/stampshift"
)

// ClaimTTL is how long a command's event id is remembered: EventBridge
// retries a delivery for up to 24 hours ("Event retry policy and using
// dead-letter queues", EventBridge User Guide).
const ClaimTTL = 25 * time.Hour

// DefaultLeaseWait is how long a command waits for a record (or a fleet's
// scaler lease) another invocation holds before it fails and is retried.
const DefaultLeaseWait = 10 * time.Second

// LeaseKey is the shift table's key of a record's lease.
func LeaseKey(record string) string { return "shift-lease#" + record }

// Handler handles the shift function's events.
type Handler struct {
	Config    config.Shift
	DNS       DNS
	Store     Store
	Scheduler Scheduler
	// Stamps holds each configured stamp's clients, by stamp name.
	Stamps  map[string]Stamp
	Clock   clock.Clock
	Log     *slog.Logger
	Metrics *logging.Metrics
	// LeaseWait is how long to wait for a lease another invocation holds;
	// DefaultLeaseWait when zero, none when negative.
	LeaseWait time.Duration
}

// ErrBusy reports a record another invocation held for longer than
// LeaseWait: the event fails and is retried (Lambda's asynchronous
// retries, then the dead-letter queue), so an abort is not lost.
var ErrBusy = invocation.ErrBusy

func (h *Handler) leaseWait() time.Duration {
	switch {
	case h.LeaseWait < 0:
		return 0
	case h.LeaseWait == 0:
		return DefaultLeaseWait
	}
	return h.LeaseWait
}

// claimKey is the shift table's key of a handled command's event id.
func claimKey(id string) string { return "shift-event#" + id }

// Handle decodes the payload and handles each event in it.
func (h *Handler) Handle(ctx context.Context, raw json.RawMessage) error {
	evs, err := event.Decode(raw)
	if err != nil {
		return fmt.Errorf("decoding shift event: %w", err)
	}
	var errs []error
	for _, ev := range evs {
		if err := h.handle(ctx, ev); err != nil {
			errs = append(errs, fmt.Errorf("event %s: %w", ev.ID, err))
		}
	}
	return errors.Join(errs...)
}

func (h *Handler) handle(ctx context.Context, ev event.Event) error {
	record := h.Config.Record
	switch d := ev.Detail.(type) {
	case *event.ShiftCommand:
		if !h.Config.SameRecord(d.Record) {
			h.Log.WarnContext(ctx, "shift command for another record ignored", "record", d.Record, "configured", record, "event_id", ev.ID)
			return nil
		}
		ran, err := invocation.Once(ctx, h.Store, claimKey(ev.ID), ClaimTTL, func() error {
			return h.locked(ctx, nil, func(s stampshift.State, v view) (stampshift.State, error) {
				return h.command(ctx, ev, *d, s, v)
			})
		})
		if err == nil && !ran {
			h.Log.InfoContext(ctx, "shift command already handled", "record", record, "event_id", ev.ID)
		}
		return err
	case *event.Tick:
		if d.Key != "" && d.Key != stampshift.Key(record) {
			return nil
		}
		if d.Key != "" {
			if early, err := invocation.ForwardEarly(ctx, h.Log, h.Scheduler, h.Clock.Now(), d); early || err != nil {
				return err
			}
		}
		return h.locked(ctx, func(s stampshift.State) bool { return h.due(s, d) }, nil)
	default:
		h.Log.InfoContext(ctx, "event ignored", "detail_type", ev.DetailType, "event_id", ev.ID)
		return nil
	}
}

// due reports whether the tick t is one the transition s waits for. A
// wake-up acts only when it is the one the record last scheduled
// (State.WakeAt): every turn schedules one, so without this each command
// would start another polling chain. A schedule rule's tick (no key) is a
// backstop: it acts only on a running transition whose wake-up is overdue,
// one lost after its turn was saved.
func (h *Handler) due(s stampshift.State, t *event.Tick) bool {
	if !s.Active() {
		return false
	}
	if t.Key == "" {
		return !h.Clock.Now().Before(s.WakeAt.Add(h.Config.Policy().PollInterval.Std()))
	}
	return t.At.Equal(s.WakeAt)
}

// command applies an operator's command to the transition s.
func (h *Handler) command(ctx context.Context, ev event.Event, c event.ShiftCommand, s stampshift.State, v view) (stampshift.State, error) {
	obs := v.obs
	log := h.Log.With("record", h.Config.Record, "action", c.Action, "from", c.From, "to", c.To, "event_id", ev.ID)
	if c.Action == event.CommandStart {
		for _, stamp := range []string{c.From, c.To} {
			if _, ok := h.Stamps[stamp]; !ok {
				log.ErrorContext(ctx, "shift start refused: stamp not configured", "stamp", stamp)
				return s, nil
			}
			// Route 53 health of a record without a health check is its
			// alias target's (EvaluateTargetHealth), which this function
			// cannot read: a stamp it cannot judge is not shifted to.
			if i := slices.IndexFunc(v.records, func(r route53dns.Record) bool { return r.Stamp == stamp }); i >= 0 && v.records[i].HealthCheck == "" {
				log.ErrorContext(ctx, "shift start refused: the stamp's weighted record has no health check", "stamp", stamp)
				return s, nil
			}
		}
		next, err := stampshift.Begin(h.Config.Policy(), s, stampshift.Start{ID: ev.ID, Record: h.Config.Record, From: c.From, To: c.To, At: ev.Time}, obs)
		switch {
		case errors.Is(err, stampshift.ErrUnobserved):
			// A read failed: the delivery is retried, not begun on a guess.
			return s, err
		case err != nil:
			// Refused for good (busy, stale, unknown stamp): a retry
			// cannot help.
			log.ErrorContext(ctx, "shift start refused", "error", err.Error())
			return s, nil
		}
		log.InfoContext(ctx, "shift started", "steps", next.Steps)
		return next, nil
	}
	if s.Stale(ev.Time) {
		log.WarnContext(ctx, "shift command older than the last one applied: ignored", "sent", ev.Time, "last", s.CommandAt)
		return s, nil
	}
	next, err := stampshift.Control(s, stampshift.Command(c.Action), c.From, c.To, c.Reason, obs.Now)
	if err != nil {
		log.WarnContext(ctx, "shift command not applied", "error", err.Error())
		return s, nil
	}
	next.CommandAt = ev.Time
	log.InfoContext(ctx, "shift command applied")
	return next, nil
}

// locked runs one turn on the record under its lease: load the transition,
// let wanted decide whether the turn is due (nil: always), observe, let
// change apply the event (nil: none), step, apply the actions, save, and
// schedule the next wake-up when it moved.
func (h *Handler) locked(ctx context.Context, wanted func(stampshift.State) bool, change func(stampshift.State, view) (stampshift.State, error)) error {
	record := h.Config.Record
	return invocation.Lease(ctx, h.Store, LeaseKey(record), h.leaseWait(), func() error {
		s, version, err := h.load(ctx)
		if err != nil {
			return err
		}
		if wanted != nil && !wanted(s) {
			return nil
		}
		view := h.observe(ctx, s)
		next := s
		if change != nil {
			if next, err = change(s, view); err != nil {
				return err
			}
		}
		acts, next, wake := stampshift.Step(h.Config.Policy(), next, view.obs)
		next = h.apply(ctx, next, view, acts)
		if err := h.save(ctx, next, version); err != nil {
			return err
		}
		h.report(ctx, s, next)
		if next.Active() && !wake.IsZero() && !wake.Equal(s.WakeAt) {
			if err := h.Scheduler.WakeAt(ctx, stampshift.Key(record), wake); err != nil {
				return err
			}
		}
		return nil
	})
}

func (h *Handler) load(ctx context.Context) (stampshift.State, int64, error) {
	data, version, err := h.Store.Load(ctx, stampshift.Key(h.Config.Record))
	if err != nil {
		return stampshift.State{}, 0, err
	}
	s := stampshift.State{Record: h.Config.Record}
	if len(data) == 0 {
		return s, version, nil
	}
	if err := json.Unmarshal(data, &s); err != nil {
		return s, 0, fmt.Errorf("decoding the transition of %s: %w", h.Config.Record, err)
	}
	return s, version, nil
}

func (h *Handler) save(ctx context.Context, s stampshift.State, version int64) error {
	data, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("encoding the transition of %s: %w", h.Config.Record, err)
	}
	return h.Store.Save(ctx, stampshift.Key(h.Config.Record), data, version)
}

// report logs and counts what changed in the turn.
func (h *Handler) report(ctx context.Context, before, after stampshift.State) {
	attrs := []any{"record", after.Record, "from", after.From, "to", after.To, "phase", string(after.Phase),
		"step", after.Step, "shifted", after.Shifted}
	if len(after.History) > 0 && (len(before.History) == 0 || after.History[len(after.History)-1] != before.History[len(before.History)-1]) {
		h.Log.InfoContext(ctx, after.History[len(after.History)-1].Note, attrs...)
	}
	dims := map[string]string{"Record": after.Record}
	metrics := []logging.Metric{{Name: "ShiftShare", Value: float64(after.Shifted), Unit: logging.Percent}}
	if before.Active() && !after.Active() {
		metrics = append(metrics, logging.Metric{Name: "Shift" + outcomeMetric(after.Outcome), Value: 1, Unit: logging.Count})
	}
	if after.Active() || before.Stuck {
		// Alarm on Maximum >= 1: a rollback whose change keeps failing
		// still sends traffic to a failing stamp.
		metrics = append(metrics, logging.Metric{Name: "ShiftRollbackStuck", Value: boolMetric(after.Stuck), Unit: logging.Count})
	}
	if err := h.Metrics.Emit(dims, metrics...); err != nil {
		h.Log.WarnContext(ctx, "writing shift metrics", "error", err.Error())
	}
}

func boolMetric(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func outcomeMetric(o stampshift.Outcome) string {
	switch o {
	case stampshift.Succeeded:
		return "Succeeded"
	case stampshift.RolledBack:
		return "RolledBack"
	}
	return "Failed"
}
