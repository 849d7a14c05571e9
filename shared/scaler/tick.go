package scaler

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/stampkit/stampkit/shared/config"
	"github.com/stampkit/stampkit/shared/event"
	"github.com/stampkit/stampkit/shared/logging"
	"github.com/stampkit/stampkit/shared/scaling"
)

// How a fleet's part of a tick ended, as the logs name it.
const (
	tickEvaluated = "evaluated"
	// tickDuplicate: another delivery of the same window already
	// evaluated the fleet (a retry of a batch whose other fleets failed).
	tickDuplicate = "duplicate"
	tickFailed    = "failed"
	// tickTimedOut: the fleet's share of the invocation ran out.
	tickTimedOut = "timed_out"
)

// fleetTick is how one fleet's part of a tick ended; err is set when it
// failed or timed out.
type fleetTick struct {
	fleet   string
	outcome string
	err     error
}

// onTick re-evaluates the fleets the tick names — its batch (event.TickInput),
// or every fleet when it names none — each alarm still in ALARM and each
// forecast floor: EventBridge reports only state changes, so without the
// tick a long overload gets one step and a held low alarm never reaches
// its scale-in.
//
// The fleets are evaluated at once (fanOut), each under a deadline of its
// own, so one that hangs or fails delays no other. The invocation fails
// only if a fleet did, and then names those fleets; Lambda's retry of it
// redoes only them, as every other fleet's tick for the window is claimed.
func (h *Handler) onTick(ctx context.Context, t *event.Tick) error {
	window := t.At.Truncate(TickWindow).UTC().Format(time.RFC3339)
	fleets, unread := h.tickFleets(ctx, t.Fleets)
	read := h.batchRead(ctx, fleets)
	ticks := h.fanOut(ctx, fleets, func(ctx context.Context, fleet config.Fleet) fleetTick {
		return h.tickOne(ctx, fleet, window, read)
	})
	return h.tickReport(ctx, append(unread, ticks...))
}

// tickFleets returns the fleets names lists, in its order, or every fleet
// for nil. A name this scaler does not manage is logged and counted
// (TickUnknownFleets), not failed: while a deploy updates the schedule
// rules and the function one after the other, a rule may name a fleet the
// function's configuration does not have (yet, or any more), and a retry
// would find the same. A fleet that cannot be read (a fleets file decodes
// each on first use: config.Config.FleetByName) fails its own tick, in
// unread, and no other's.
func (h *Handler) tickFleets(ctx context.Context, names []string) (fleets []config.Fleet, unread []fleetTick) {
	if names == nil {
		names = h.Config.FleetNames()
	}
	fleets = make([]config.Fleet, 0, len(names))
	for _, name := range names {
		f, ok, err := h.Config.FleetByName(name)
		switch {
		case err != nil:
			unread = append(unread, fleetTick{fleet: name, outcome: tickFailed, err: err})
			h.emit(ctx, name, logging.Metric{Name: "TickFailed", Value: 1, Unit: logging.Count})
		case !ok:
			h.Log.WarnContext(ctx, "tick names a fleet this scaler does not manage; skipped", "tick_fleet", name)
			// No Fleet dimension: the name comes from the event, not the
			// configuration.
			h.emit(ctx, "", logging.Metric{Name: "TickUnknownFleets", Value: 1, Unit: logging.Count})
		default:
			fleets = append(fleets, f)
		}
	}
	return fleets, unread
}

// tickOne evaluates one fleet's tick for window, on ctx, whose deadline is
// the fleet's own (fanOut), reading its alarms with read, and logs and
// counts how it ended.
func (h *Handler) tickOne(ctx context.Context, fleet config.Fleet, window string, read signalsFunc) fleetTick {
	ctx = logging.With(ctx, "fleet", fleet.Name)
	started := time.Now()
	ran := false
	// The tick itself is claimed per fleet: a duplicate that arrives after
	// an alarm changed state must not evaluate the window a second time,
	// and a retry of the batch evaluates only the fleets that failed.
	err := h.once(ctx, fleet.Name, "tick#"+fleet.Name+"@"+window, func() error {
		ran = true
		return h.tickFleet(ctx, fleet, window, read)
	})
	t := fleetTick{fleet: fleet.Name, outcome: tickEvaluated, err: err}
	switch {
	case err != nil && errors.Is(ctx.Err(), context.DeadlineExceeded):
		t.outcome = tickTimedOut
	case err != nil:
		t.outcome = tickFailed
	case !ran:
		t.outcome = tickDuplicate
	}
	took := time.Since(started)
	// The error itself goes back to the invocation, which logs it once.
	h.Log.DebugContext(ctx, "fleet ticked", "outcome", t.outcome, "took_ms", took.Milliseconds())
	if t.outcome != tickDuplicate { // counted as Duplicates already
		h.emit(ctx, fleet.Name,
			logging.Metric{Name: "TickEvaluated", Value: boolMetric(t.outcome == tickEvaluated), Unit: logging.Count},
			logging.Metric{Name: "TickFailed", Value: boolMetric(t.outcome == tickFailed), Unit: logging.Count},
			logging.Metric{Name: "TickTimedOut", Value: boolMetric(t.outcome == tickTimedOut), Unit: logging.Count},
			logging.Metric{Name: "TickLatency", Value: float64(took.Microseconds()) / 1000, Unit: logging.Milliseconds})
	}
	return t
}

// tickReport logs what the tick did for its fleets in one line and
// returns the errors of those that failed or timed out, joined.
func (h *Handler) tickReport(ctx context.Context, ticks []fleetTick) error {
	counts := map[string]int{}
	var failed, timedOut []string
	var errs []error
	for _, t := range ticks {
		counts[t.outcome]++
		switch t.outcome {
		case tickFailed:
			failed = append(failed, t.fleet)
		case tickTimedOut:
			timedOut = append(timedOut, t.fleet)
		}
		if t.err != nil {
			errs = append(errs, t.err)
		}
	}
	h.Log.InfoContext(ctx, "tick done",
		"fleets", len(ticks), tickEvaluated, counts[tickEvaluated], tickDuplicate, counts[tickDuplicate],
		tickFailed, failed, tickTimedOut, timedOut)
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("tick of %d fleets: %d failed, %d timed out: %w", len(ticks), len(failed), len(timedOut), errors.Join(errs...))
}

// tickFleet raises the fleet to its forecast floor, then evaluates its
// alarms in ALARM. Each of these keeps its own claim, so a retry after a
// partial failure redoes only what failed.
func (h *Handler) tickFleet(ctx context.Context, fleet config.Fleet, window string, read signalsFunc) error {
	// The alarms first: an alarm still in ALARM is re-evaluated only by the
	// tick, and a floor raise just before it would put it in its scale-out
	// cooldown; a slow history read must not delay it either.
	errs := []error{h.tickAlarms(ctx, fleet, window, read)}
	errs = append(errs, h.forecast(ctx, fleet, window))
	return errors.Join(errs...)
}

// tickAlarms re-evaluates the fleet's alarms that are in ALARM, as read
// reads them.
func (h *Handler) tickAlarms(ctx context.Context, fleet config.Fleet, window string, read signalsFunc) error {
	sigs, err := read(ctx, alarmsOf(fleet))
	if err != nil {
		return fmt.Errorf("reading alarms of fleet %s: %w", fleet.Name, err)
	}
	var errs []error
	for _, sig := range sigs {
		if sig.State != scaling.StateAlarm {
			continue
		}
		if err := h.evaluate(ctx, fleet, sig, "tick#"+sig.Alarm+"@"+window); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// alarmsOf names the alarms fleet scales on.
func alarmsOf(fleet config.Fleet) []string {
	names := make([]string, 0, len(fleet.Scaling.Rules))
	for _, r := range fleet.Scaling.Rules {
		names = append(names, r.Alarm)
	}
	return names
}

// signalsFunc reads the signals of the named alarms.
type signalsFunc = func(ctx context.Context, alarms []string) ([]scaling.Signal, error)

// batchReadShare is the part of the invocation's time left that the
// batch's one alarm read may take: the rest is the fleets', each of which
// reads its own alarms again if the batch read failed.
const batchReadShare = 4

// batchRead returns how the tick's fleets read their alarms. A tick batch
// describes all its fleets' alarms with one call (AlarmBatch): a hundred
// fleets ticking in the same second would otherwise make a hundred
// DescribeAlarms calls, past CloudWatch's rate quota for it. Each fleet
// still reads the metrics of its alarms in ALARM itself, under its own
// deadline.
//
// When that read fails or takes longer than its share of the time left
// (batchReadShare), each fleet reads its own alarms, as without
// AlarmBatch: one bad read fails no fleet. A batch of one fleet reads its
// own, as a prefetch would save nothing there; so does a tick of more
// fleets than a batch (every fleet), whose later rounds would act on a
// read made before the rounds ahead of them.
func (h *Handler) batchRead(ctx context.Context, fleets []config.Fleet) signalsFunc {
	if h.AlarmBatch == nil || len(fleets) < 2 || len(fleets) > tickWorkers {
		return h.Alarms.Signals
	}
	var names []string
	for _, f := range fleets {
		names = append(names, alarmsOf(f)...)
	}
	bctx := ctx
	if deadline, ok := ctx.Deadline(); ok {
		var cancel context.CancelFunc
		bctx, cancel = context.WithTimeout(ctx, time.Until(deadline)/batchReadShare)
		defer cancel()
	}
	read, err := h.AlarmBatch.Prefetch(bctx, names)
	if err != nil {
		h.Log.WarnContext(ctx, "reading the tick batch's alarms at once failed: each fleet reads its own", "fleets", len(fleets), "error", err)
		h.emit(ctx, "", logging.Metric{Name: "TickBatchReadFailed", Value: 1, Unit: logging.Count})
		return h.Alarms.Signals
	}
	return read
}
