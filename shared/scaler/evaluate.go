package scaler

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/stampkit/stampkit/shared/config"
	"github.com/stampkit/stampkit/shared/event"
	"github.com/stampkit/stampkit/shared/invocation"
	"github.com/stampkit/stampkit/shared/logging"
	"github.com/stampkit/stampkit/shared/rollout"
	"github.com/stampkit/stampkit/shared/scaling"
)

// StateKey is the state-table key of a fleet's scaler state.
func StateKey(fleet string) string { return "scaler#" + fleet }

// HoldKey is the state-table key of a fleet's rollout hold: a JSON
// scaling.Hold the rollout function writes while it moves the fleet and the
// scaler only reads. While the hold lasts, scale-in pauses and scale-out
// goes to Hold.LiveGroup.
func HoldKey(fleet string) string { return "hold#" + fleet }

// once runs effect unless another delivery already claimed key.
func (h *Handler) once(ctx context.Context, fleet, key string, effect func() error) error {
	return h.report().Once(ctx, h.Store, ClaimTTL, fleet, key, effect)
}

// evaluate decides on one signal for fleet and applies the decision, once
// per claim key.
func (h *Handler) evaluate(ctx context.Context, fleet config.Fleet, sig scaling.Signal, claim string) error {
	ctx = logging.With(ctx, "fleet", fleet.Name, "alarm", sig.Alarm)
	return h.once(ctx, fleet.Name, claim, func() error { return h.decide(ctx, fleet, sig) })
}

func (h *Handler) decide(ctx context.Context, fleet config.Fleet, sig scaling.Signal) error {
	started := time.Now()
	data, version, err := h.Store.Load(ctx, StateKey(fleet.Name))
	if err != nil {
		return fmt.Errorf("loading state of fleet %s: %w", fleet.Name, err)
	}
	var state scaling.State
	if len(data) > 0 {
		if err := json.Unmarshal(data, &state); err != nil {
			return fmt.Errorf("decoding state of fleet %s: %w", fleet.Name, err)
		}
	}
	hold, err := h.hold(ctx, fleet.Name)
	if err != nil {
		return err
	}
	group, err := h.serving(ctx, fleet)
	if err != nil {
		return err
	}
	now := h.Clock.Now()
	if hold.Active(now) && hold.LiveGroup != "" {
		group = hold.LiveGroup
	}
	ctx = logging.With(ctx, "asg_name", group)
	capacity, err := h.Groups.Capacity(ctx, group)
	if err != nil {
		return fmt.Errorf("reading capacity of %s: %w", group, err)
	}

	d, next := scaling.Decide(fleet.Scaling, state, scaling.Observation{Now: now, Signal: sig, Group: capacity, Hold: hold})
	if d.Action != scaling.None && !fleet.DryRun {
		if err := h.Groups.SetDesiredCapacity(ctx, group, d.To); err != nil {
			return fmt.Errorf("setting desired capacity of %s to %d: %w", group, d.To, err)
		}
	}
	if d.Outcome != scaling.Stale && !fleet.DryRun {
		buf, err := json.Marshal(next)
		if err != nil {
			return fmt.Errorf("encoding state of fleet %s: %w", fleet.Name, err)
		}
		if err := h.Store.Save(ctx, StateKey(fleet.Name), buf, version); err != nil {
			return fmt.Errorf("saving state of fleet %s: %w", fleet.Name, err)
		}
	}
	h.Log.InfoContext(ctx, "scaling decision",
		"action", d.Action, "outcome", d.Outcome, "from", d.From, "to", d.To,
		"reason", d.Reason, "dry_run", fleet.DryRun, "wake_at", d.WakeAt)
	h.emit(ctx, fleet.Name,
		logging.Metric{Name: "Decisions", Value: 1, Unit: logging.Count},
		logging.Metric{Name: "CapacityDelta", Value: float64(d.To - d.From), Unit: logging.Count},
		logging.Metric{Name: "SuppressedByCooldown", Value: boolMetric(d.Outcome == scaling.Cooldown), Unit: logging.Count},
		logging.Metric{Name: "DecisionLatency", Value: float64(time.Since(started).Microseconds()) / 1000, Unit: logging.Milliseconds})
	return nil
}

func (h *Handler) hold(ctx context.Context, fleet string) (*scaling.Hold, error) {
	data, _, err := h.Store.Load(ctx, HoldKey(fleet))
	if err != nil {
		return nil, fmt.Errorf("loading rollout hold of fleet %s: %w", fleet, err)
	}
	if len(data) == 0 {
		return nil, nil
	}
	var hold scaling.Hold
	if err := json.Unmarshal(data, &hold); err != nil {
		return nil, fmt.Errorf("decoding rollout hold of fleet %s: %w", fleet, err)
	}
	return &hold, nil
}

// serving returns the group that serves the fleet: after a blue/green
// rollout the peer group may have taken over from the configured one, and
// the fleet's rollout record says so.
func (h *Handler) serving(ctx context.Context, fleet config.Fleet) (string, error) {
	data, _, err := h.Store.Load(ctx, rollout.Key(fleet.Name))
	if err != nil {
		return "", fmt.Errorf("loading rollout record of fleet %s: %w", fleet.Name, err)
	}
	if len(data) == 0 {
		return fleet.Group, nil
	}
	var st rollout.State
	if err := json.Unmarshal(data, &st); err != nil {
		return "", fmt.Errorf("decoding rollout record of fleet %s: %w", fleet.Name, err)
	}
	return st.Serving(fleet.Group), nil
}

func (h *Handler) emit(ctx context.Context, fleet string, ms ...logging.Metric) {
	h.report().Emit(ctx, fleet, ms...)
}

func (h *Handler) report() invocation.Reporter {
	return invocation.Reporter{Log: h.Log, Metrics: h.Metrics}
}

func boolMetric(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// signalOf reads the alarm's newest datapoint and threshold from its reason
// data. Without them (an SNS notification or an expression alarm) the value
// is the threshold itself, which takes the rule's first step: the smallest
// move, the safe one when the distance past the threshold is unknown.
func signalOf(a *event.AlarmStateChange) scaling.Signal {
	sig := scaling.Signal{Alarm: a.AlarmName, State: a.State.Value, Since: a.State.Timestamp}
	sig.Value, sig.Threshold, _ = event.ReasonValues(a.State.ReasonData)
	return sig
}
