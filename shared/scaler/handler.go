// Package scaler turns CloudWatch alarm notifications and scheduled ticks
// into capacity changes on the fleets it manages. It loads state, asks
// scaling.Decide, applies the decision through its ports and remembers it;
// every effect is claimed first so duplicate deliveries change nothing.
package scaler

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
	"github.com/stampkit/stampkit/shared/invocation"
	"github.com/stampkit/stampkit/shared/logging"
	"github.com/stampkit/stampkit/shared/scaling"
)

// ClaimTTL is how long a claim outlives its effect. EventBridge retries a
// delivery for up to 24 hours, so a duplicate can arrive that late.
const ClaimTTL = 25 * time.Hour

// TickWindow is the re-evaluation period: one claim per alarm per window,
// so a re-delivered or doubled tick acts once.
const TickWindow = time.Minute

// Handler is the scaler Lambda's handler.
type Handler struct {
	Config config.Config
	Groups Groups
	Alarms Alarms
	// History reads the load history a policy's forecast needs; nil
	// leaves forecasts off.
	History History
	Store   Store
	Clock   clock.Clock
	Log     *slog.Logger
	Metrics *logging.Metrics
}

// Handle processes one invocation payload. Malformed input is an error (the
// invocation fails and, after Lambda's retries, lands in the DLQ with its
// payload); events of other kinds are logged and ignored.
func (h *Handler) Handle(ctx context.Context, raw json.RawMessage) error {
	return invocation.Each(ctx, h.Log, raw, h.handleEvent)
}

func (h *Handler) handleEvent(ctx context.Context, ev event.Event) error {
	switch d := ev.Detail.(type) {
	case *event.AlarmStateChange:
		return h.onAlarm(ctx, d)
	case *event.Tick:
		return h.onTick(ctx, d)
	default:
		h.Log.InfoContext(ctx, "ignoring event the scaler does not handle", "source", ev.Source, "detail_type", ev.DetailType)
		return nil
	}
}

func (h *Handler) onAlarm(ctx context.Context, a *event.AlarmStateChange) error {
	fleet, ok := h.Config.FleetForAlarm(a.AlarmName)
	if !ok {
		h.Log.InfoContext(ctx, "ignoring alarm no fleet scales on", "alarm", a.AlarmName)
		return nil
	}
	return h.evaluate(logging.With(ctx, "fleet", fleet.Name), fleet, signalOf(a), "alarm#"+a.Key())
}

// onTick re-evaluates every managed alarm still in ALARM: EventBridge reports
// only state changes, so without the tick a long overload gets one step and a
// held low alarm never reaches its scale-in.
func (h *Handler) onTick(ctx context.Context, t *event.Tick) error {
	window := t.At.Truncate(TickWindow).UTC().Format(time.RFC3339)
	var errs []error
	for _, fleet := range h.Config.Fleets {
		fctx := logging.With(ctx, "fleet", fleet.Name)
		// The tick itself is claimed per fleet: a duplicate that arrives after
		// an alarm changed state must not evaluate the window a second time.
		err := h.once(fctx, fleet.Name, "tick#"+fleet.Name+"@"+window, func() error {
			return h.tickFleet(fctx, fleet, window)
		})
		if err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// tickFleet raises the fleet to its forecast floor, then evaluates its
// alarms in ALARM. Each of these keeps its own claim, so a retry after a
// partial failure redoes only what failed.
func (h *Handler) tickFleet(ctx context.Context, fleet config.Fleet, window string) error {
	// The alarms first: an alarm still in ALARM is re-evaluated only by the
	// tick, and a floor raise just before it would put it in its scale-out
	// cooldown; a slow history read must not delay it either.
	errs := []error{h.tickAlarms(ctx, fleet, window)}
	errs = append(errs, h.forecast(ctx, fleet, window))
	return errors.Join(errs...)
}

// tickAlarms re-evaluates the fleet's alarms that are in ALARM.
func (h *Handler) tickAlarms(ctx context.Context, fleet config.Fleet, window string) error {
	names := make([]string, 0, len(fleet.Scaling.Rules))
	for _, r := range fleet.Scaling.Rules {
		names = append(names, r.Alarm)
	}
	sigs, err := h.Alarms.Signals(ctx, names)
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
