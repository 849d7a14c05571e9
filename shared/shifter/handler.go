// Package shifter is the shift function's handler: it drives a record's
// weight transition between stamps (package stampshift) from operator
// commands (event.ShiftCommand) and wake-ups (event.Tick), through Route
// 53 (route53dns) and each stamp's own clients in its Region.
//
// One transition per record: the handler holds a lease on the record while
// it acts, and saves the transition with a version check, so two
// invocations never act on one record at once and a lost race writes
// nothing. Every effect is idempotent on repeat: weights are UPSERTed (the
// same weights twice are one state), a change is followed by its id, and
// the reducer takes repeated or late commands and observations as no-ops.
package shifter

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/stampkit/stampkit/shared/clock"
	"github.com/stampkit/stampkit/shared/config"
	"github.com/stampkit/stampkit/shared/event"
	"github.com/stampkit/stampkit/shared/logging"
	"github.com/stampkit/stampkit/shared/stampshift"
)

// leaseTTL bounds how long a crashed invocation keeps the record: longer
// than the function's timeout, shorter than a poll interval.
const leaseTTL = 2 * time.Minute

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
}

// ErrBusy reports a record another invocation holds: the event is retried.
var ErrBusy = errors.New("the record's transition is being worked on")

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
		return h.locked(ctx, ev.ID, func(s stampshift.State, obs stampshift.Observation) (stampshift.State, error) {
			return h.command(ctx, ev.ID, *d, s, obs)
		})
	case *event.Tick:
		if d.Key != "" && d.Key != stampshift.Key(record) {
			return nil
		}
		return h.locked(ctx, ev.ID, func(s stampshift.State, _ stampshift.Observation) (stampshift.State, error) { return s, nil })
	default:
		h.Log.InfoContext(ctx, "event ignored", "detail_type", ev.DetailType, "event_id", ev.ID)
		return nil
	}
}

// command applies an operator's command to the transition s.
func (h *Handler) command(ctx context.Context, id string, c event.ShiftCommand, s stampshift.State, obs stampshift.Observation) (stampshift.State, error) {
	log := h.Log.With("record", h.Config.Record, "action", c.Action, "from", c.From, "to", c.To, "event_id", id)
	if c.Action == event.CommandStart {
		for _, stamp := range []string{c.From, c.To} {
			if _, ok := h.Stamps[stamp]; !ok {
				log.ErrorContext(ctx, "shift start refused: stamp not configured", "stamp", stamp)
				return s, nil
			}
		}
		next, err := stampshift.Begin(h.Config.Policy(), s, stampshift.Start{ID: id, Record: h.Config.Record, From: c.From, To: c.To}, obs)
		if err != nil {
			// Refused for good (busy, unknown stamp): a retry cannot help.
			log.ErrorContext(ctx, "shift start refused", "error", err.Error())
			return s, nil
		}
		log.InfoContext(ctx, "shift started", "steps", next.Steps)
		return next, nil
	}
	next, err := stampshift.Control(s, stampshift.Command(c.Action), c.From, c.To, c.Reason, obs.Now)
	if err != nil {
		log.WarnContext(ctx, "shift command not applied", "error", err.Error())
		return s, nil
	}
	log.InfoContext(ctx, "shift command applied")
	return next, nil
}

// locked runs one turn on the record under its lease: load the transition,
// observe, let change apply the event, step, apply the actions, save, and
// schedule the next wake-up.
func (h *Handler) locked(ctx context.Context, owner string, change func(stampshift.State, stampshift.Observation) (stampshift.State, error)) error {
	record := h.Config.Record
	ok, err := h.Store.Claim(ctx, LeaseKey(record), owner, leaseTTL)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("%s: %w", record, ErrBusy)
	}
	defer func() {
		if err := h.Store.Release(context.WithoutCancel(ctx), LeaseKey(record), owner); err != nil {
			h.Log.WarnContext(ctx, "releasing the shift lease", "record", record, "error", err.Error())
		}
	}()
	s, version, err := h.load(ctx)
	if err != nil {
		return err
	}
	view := h.observe(ctx, s)
	next, err := change(s, view.obs)
	if err != nil {
		return err
	}
	acts, next, wake := stampshift.Step(h.Config.Policy(), next, view.obs)
	next = h.apply(ctx, next, view, acts)
	if err := h.save(ctx, next, version); err != nil {
		return err
	}
	h.report(ctx, s, next)
	if next.Active() && !wake.IsZero() {
		if err := h.Scheduler.WakeAt(ctx, stampshift.Key(record), wake); err != nil {
			return err
		}
	}
	return nil
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
	if err := h.Metrics.Emit(dims, metrics...); err != nil {
		h.Log.WarnContext(ctx, "writing shift metrics", "error", err.Error())
	}
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
