package scaler

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/stampkit/stampkit/shared/awserr"
	"github.com/stampkit/stampkit/shared/config"
	"github.com/stampkit/stampkit/shared/event"
	"github.com/stampkit/stampkit/shared/invocation"
	"github.com/stampkit/stampkit/shared/logging"
	"github.com/stampkit/stampkit/shared/rollout"
	"github.com/stampkit/stampkit/shared/scaling"
)

// StateKey is the state-table key of a fleet's scaler state.
func StateKey(fleet string) string { return "scaler#" + fleet }

// once runs effect unless another delivery already claimed key.
func (h *Handler) once(ctx context.Context, fleet, key string, effect func() error) error {
	return h.report().Once(ctx, h.Store, ClaimTTL, fleet, key, effect)
}

// evaluate decides on one signal for fleet and applies the decision, once
// per claim key.
func (h *Handler) evaluate(ctx context.Context, fleet config.Fleet, sig scaling.Signal, claim string) error {
	ctx = logging.With(ctx, "alarm", sig.Alarm) // the caller's ctx names the fleet
	return h.once(ctx, fleet.Name, claim, func() error {
		// One decision per fleet at a time: two alarms deciding at once
		// would both pass the cooldown from the same state and the last
		// absolute capacity written would win (a scale-in over a
		// scale-out). A decision takes milliseconds: wait for it.
		return invocation.Lease(ctx, h.Store, scaling.LeaseKey(fleet.Name), leaseWait, func() error { return h.decide(ctx, fleet, sig) })
	})
}

// leaseWait is how long a decision waits for the fleet's lease before its
// delivery fails (and Lambda retries it).
const leaseWait = 5 * time.Second

func (h *Handler) decide(ctx context.Context, fleet config.Fleet, sig scaling.Signal) error {
	return h.apply(ctx, fleet, func(state scaling.State, obs scaling.Observation) (scaling.Decision, scaling.State) {
		obs.Signal = sig
		return scaling.Decide(fleet.Scaling, state, obs)
	})
}

// decideFunc decides from the fleet's state and what the handler observed.
type decideFunc func(scaling.State, scaling.Observation) (scaling.Decision, scaling.State)

// apply loads the fleet's state and the group that serves, decides with
// decide, applies the decision and saves the state it leaves. The caller
// holds the fleet's lease.
func (h *Handler) apply(ctx context.Context, fleet config.Fleet, decide decideFunc, extra ...logging.Metric) error {
	started := time.Now()
	state, version, err := h.state(ctx, fleet.Name)
	if err != nil {
		return err
	}
	ro, err := h.rollout(ctx, fleet.Name)
	if err != nil {
		return err
	}
	// After a blue/green promotion the peer group serves, and while a
	// rollout runs it holds scale-in on the group it keeps serving.
	group := ro.Serving(fleet.Group)
	ctx = logging.With(ctx, "asg_name", group)
	capacity, err := h.Groups.Capacity(ctx, group)
	if err != nil {
		return fmt.Errorf("reading capacity of %s: %w", group, err)
	}

	now := h.Clock.Now()
	d, next := decide(state, scaling.Observation{Now: now, Group: capacity, Hold: ro.Hold(fleet.Group)})
	if d.Action != scaling.None && !fleet.DryRun {
		if err := h.Groups.SetDesiredCapacity(ctx, group, d.To); err != nil && !h.made(ctx, group, d.To, err) {
			return fmt.Errorf("setting desired capacity of %s to %d: %w", group, d.To, err)
		}
	}
	if d.Outcome != scaling.Stale && d.Outcome != scaling.NoForecast && !fleet.DryRun {
		if err := h.save(ctx, fleet.Name, next, version); err != nil {
			return err
		}
	}
	h.Log.InfoContext(ctx, "scaling decision",
		"action", d.Action, "outcome", d.Outcome, "from", d.From, "to", d.To,
		"reason", d.Reason, "dry_run", fleet.DryRun, "wake_at", d.WakeAt)
	h.emit(ctx, fleet.Name, append([]logging.Metric{
		{Name: "Decisions", Value: 1, Unit: logging.Count},
		{Name: "CapacityDelta", Value: float64(d.To - d.From), Unit: logging.Count},
		{Name: "SuppressedByCooldown", Value: boolMetric(d.Outcome == scaling.Cooldown), Unit: logging.Count},
		{Name: "DecisionLatency", Value: float64(time.Since(started).Microseconds()) / 1000, Unit: logging.Milliseconds},
	}, extra...)...)
	return nil
}

func (h *Handler) state(ctx context.Context, fleet string) (scaling.State, int64, error) {
	data, version, err := h.Store.Load(ctx, StateKey(fleet))
	if err != nil {
		return scaling.State{}, 0, fmt.Errorf("loading state of fleet %s: %w", fleet, err)
	}
	var state scaling.State
	if len(data) > 0 {
		if err := json.Unmarshal(data, &state); err != nil {
			return scaling.State{}, 0, fmt.Errorf("decoding state of fleet %s: %w", fleet, err)
		}
	}
	return state, version, nil
}

// lookTimeout bounds the look at the group after a capacity change that
// failed, on a context of its own: the invocation's may be what ran out.
const lookTimeout = time.Second

// made reports whether a capacity change that failed with err is made
// after all, and so is kept (on record, under its claim) rather than
// failed. The SDK retries the call itself, so err is only its last
// attempt's: an earlier attempt may have landed and lost its answer (the
// last then throttled), and a 5xx may be a refusal (ResourceContention).
// Desired capacity is absolute and can be read, so the group says: at the
// value, the change is made, and failing the invocation would have
// Lambda's retry decide again from a state without it and step a second
// time; elsewhere, it is not, and the retry makes it. Only when the group
// cannot be read does the error decide (awserr.MayHaveApplied); a change
// kept that did not land is made by the tick that re-evaluates the alarm
// still in ALARM, once the cooldown allows.
func (h *Handler) made(ctx context.Context, group string, desired int, err error) bool {
	lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), lookTimeout)
	defer cancel()
	g, rerr := h.Groups.Capacity(lctx, group)
	switch {
	case rerr == nil && g.Desired == desired:
		h.Log.WarnContext(ctx, "capacity change failed but the group has it: kept as made", "to", desired, "error", err)
		return true
	case rerr == nil:
		return false
	case awserr.MayHaveApplied(err):
		h.Log.WarnContext(ctx, "capacity change unanswered and the group unreadable: kept as made", "to", desired, "error", err, "read_error", rerr)
		return true
	}
	return false
}

// saveAttempts bounds the save rounds: against concurrent deciders, and
// against a store that fails.
const saveAttempts = 3

// lateSave bounds the save rounds left when the invocation's own deadline
// has passed: one DynamoDB call's worth, as long as invocation gives the
// release or keep of a claim.
const lateSave = time.Second

// save stores the state a decision left. The decision's effect is already
// applied, so nothing here may make the invocation fail and be retried:
// the retry would decide again from the old state and apply the effect a
// second time. Losing the version race to another decision merges the two
// states and saves over the newer one; a store that keeps failing is
// logged and counted (StateNotSaved), and the claim stands.
//
// A decision whose invocation ran out of time (a change retried through
// throttling, a save DynamoDB never answered) still saves, on a context of
// its own bounded by lateSave, as invocation.Once keeps its claim: its
// deadline comes invocation.Headroom before Lambda's. Without the state,
// the next tick would find no cooldown and apply the change again.
func (h *Handler) save(ctx context.Context, fleet string, next scaling.State, version int64) error {
	buf, err := json.Marshal(next)
	if err != nil {
		return fmt.Errorf("encoding state of fleet %s: %w", fleet, err)
	}
	late := false
	for range saveAttempts {
		if ctx.Err() != nil && !late {
			// One budget for every round left, inside the headroom
			// invocation keeps before Lambda's deadline.
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(context.WithoutCancel(ctx), lateSave)
			defer cancel()
			late = true
		}
		if err = h.Store.Save(ctx, StateKey(fleet), buf, version); err == nil {
			return nil
		}
		cur, curVersion, lerr := h.state(ctx, fleet)
		if lerr != nil || curVersion == version {
			continue // the store failed, not the race: try the same save again
		}
		h.Log.InfoContext(ctx, "scaler state changed under the decision; merging", "loaded_version", version, "stored_version", curVersion)
		next, version = next.Merge(cur), curVersion
		if buf, err = json.Marshal(next); err != nil {
			return fmt.Errorf("encoding state of fleet %s: %w", fleet, err)
		}
	}
	h.Log.ErrorContext(ctx, "scaling applied but its state not saved: the next decision may repeat it", "error", err)
	h.emit(ctx, fleet, logging.Metric{Name: "StateNotSaved", Value: 1, Unit: logging.Count})
	return nil
}

// rollout loads the fleet's rollout record: the zero State when the fleet
// never rolled out.
func (h *Handler) rollout(ctx context.Context, fleet string) (rollout.State, error) {
	data, _, err := h.Store.Load(ctx, rollout.Key(fleet))
	if err != nil {
		return rollout.State{}, fmt.Errorf("loading rollout record of fleet %s: %w", fleet, err)
	}
	var st rollout.State
	if len(data) > 0 {
		if err := json.Unmarshal(data, &st); err != nil {
			return rollout.State{}, fmt.Errorf("decoding rollout record of fleet %s: %w", fleet, err)
		}
	}
	return st, nil
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
