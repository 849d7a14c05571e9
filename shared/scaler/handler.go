// Package scaler turns CloudWatch alarm notifications and scheduled ticks
// into capacity changes on the fleets it manages. It loads state, asks
// scaling.Decide, applies the decision through its ports and remembers it;
// every effect is claimed first so duplicate deliveries change nothing.
package scaler

import (
	"context"
	"encoding/json"
	"log/slog"
	"time"

	"github.com/stampkit/stampkit/shared/clock"
	"github.com/stampkit/stampkit/shared/config"
	"github.com/stampkit/stampkit/shared/event"
	"github.com/stampkit/stampkit/shared/invocation"
	"github.com/stampkit/stampkit/shared/logging"
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
	// AlarmBatch, when set, reads a tick batch's alarms with one describe
	// (onTick); nil has each fleet read its own.
	AlarmBatch AlarmBatch
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
	fleet, ok, err := h.Config.FleetByAlarm(a.AlarmName)
	if err != nil {
		return err
	}
	if !ok {
		h.Log.InfoContext(ctx, "ignoring alarm no fleet scales on", "alarm", a.AlarmName)
		return nil
	}
	return h.evaluate(logging.With(ctx, "fleet", fleet.Name), fleet, signalOf(a), "alarm#"+a.Key())
}
