package shifter

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"

	"github.com/stampkit/stampkit/shared/invocation"
	"github.com/stampkit/stampkit/shared/logging"
	"github.com/stampkit/stampkit/shared/rollout"
	"github.com/stampkit/stampkit/shared/route53dns"
	"github.com/stampkit/stampkit/shared/scaler"
	"github.com/stampkit/stampkit/shared/scaling"
	"github.com/stampkit/stampkit/shared/stampshift"
)

// apply carries out the reducer's actions. A failed action is logged, not
// returned: the transition is saved as the reducer left it, and the next
// wake-up asks again. A change Route 53 refused as such counts against the
// step's attempts (State.Refused); any other failure does not. A floor not
// raised is asked for again while the step waits on capacity.
func (h *Handler) apply(ctx context.Context, s stampshift.State, v view, acts []stampshift.Action) stampshift.State {
	log := h.Log.With("record", s.Record, "from", s.From, "to", s.To, "step", s.Step)
	for _, a := range acts {
		switch a.Kind {
		case stampshift.SetWeights:
			id, err := h.DNS.SetWeights(ctx, v.records, a.Weights, "stampkit shift: "+a.Reason)
			if err != nil {
				refused := errors.Is(err, route53dns.ErrChangeRefused)
				if refused {
					s = s.Refused()
				}
				log.WarnContext(ctx, "weights not changed", "weights", a.Weights, "refused", refused,
					"fault", invocation.FaultOf(err), "tries", s.Tries, "error", err.Error())
				continue
			}
			s = s.Sent(id, v.obs.Now)
			log.InfoContext(ctx, "weights sent", "weights", a.Weights, "change_id", id, "reason", a.Reason)
		case stampshift.RaiseFloor, stampshift.ReleaseFloor:
			if err := h.holdFloor(ctx, a); err != nil {
				log.WarnContext(ctx, "floor not changed", "kind", a.Kind, "stamp", a.Stamp, "capacity", a.Capacity, "error", err.Error())
				continue
			}
			log.InfoContext(ctx, "floor changed", "kind", a.Kind, "stamp", a.Stamp, "capacity", a.Capacity, "until", a.Until, "reason", a.Reason)
		}
	}
	return h.writeParams(ctx, s)
}

// writeParams writes each stamp's weight parameter with the weights of the
// last change Route 53 accepted, once, best effort: after the change, so a
// parameter never holds a weight that was not applied, and never in its
// way, so an SSM failure cannot hold a rollback up. Until it is written a
// deploy of the stamp's stack reads the weight before the change and sets
// the record back to it; the transition sees the drift and pauses (or, in
// a rollback, sends its weights again), and the next turn writes again.
func (h *Handler) writeParams(ctx context.Context, s stampshift.State) stampshift.State {
	due := s.ParamsDue()
	if due == nil {
		return s
	}
	var errs []error
	for _, stamp := range slices.Sorted(maps.Keys(due)) {
		cfg, _ := h.Config.Stamp(stamp)
		clients, ok := h.Stamps[stamp]
		if !ok {
			errs = append(errs, fmt.Errorf("stamp %s: not configured", stamp))
			continue
		}
		if err := clients.Parameters.Put(ctx, cfg.WeightParameter, strconv.FormatInt(due[stamp], 10)); err != nil {
			errs = append(errs, fmt.Errorf("stamp %s weight parameter %s: %w", stamp, cfg.WeightParameter, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		h.Log.WarnContext(ctx, "weight parameters not written; the next turn writes them again", "record", s.Record, "weights", due, "error", err.Error())
		if err := h.Metrics.Emit(map[string]string{"Record": s.Record}, logging.Metric{Name: "ShiftWeightParameterNotWritten", Value: 1, Unit: logging.Count}); err != nil {
			h.Log.WarnContext(ctx, "writing shift metrics", "error", err.Error())
		}
		return s
	}
	return s.ParamsWritten(due)
}

// holdFloor holds (RaiseFloor) or releases (ReleaseFloor) the stamp
// shift's floor on the stamp's fleet, in the scaler's own state
// (scaling.State.ShiftFloor, apart from the forecast's floor, so neither
// lowers the other), under the scaler's fleet lease and with its version
// check, as the scaler's own turns write it. A raise also sets the serving
// group's desired capacity to the floor now, within its maximum: after a
// blue/green promotion that is the rollout's peer group, as the scaler
// reads it (rollout.State.Serving).
func (h *Handler) holdFloor(ctx context.Context, a stampshift.Action) error {
	cfg, _ := h.Config.Stamp(a.Stamp)
	clients, ok := h.Stamps[a.Stamp]
	if !ok {
		return fmt.Errorf("stamp %s: not configured", a.Stamp)
	}
	return invocation.Lease(ctx, clients.State, scaling.LeaseKey(cfg.Fleet), h.leaseWait(), func() error {
		key := scaler.StateKey(cfg.Fleet)
		raw, version, err := clients.State.Load(ctx, key)
		if err != nil {
			return err
		}
		var st scaling.State
		if len(raw) > 0 {
			if err := json.Unmarshal(raw, &st); err != nil {
				return fmt.Errorf("decoding %s: %w", key, err)
			}
		}
		next := st
		now := h.Clock.Now()
		if a.Kind == stampshift.ReleaseFloor {
			next.ShiftFloor, next.ShiftFloorUntil = 0, now
		} else {
			// The transition's own earlier, higher floor stays while it lasts.
			if now.Before(st.ShiftFloorUntil) {
				next.ShiftFloor = max(st.ShiftFloor, a.Capacity)
			} else {
				next.ShiftFloor = a.Capacity
			}
			if a.Until.After(st.ShiftFloorUntil) {
				next.ShiftFloorUntil = a.Until
			}
		}
		if next.ShiftFloor != st.ShiftFloor || !next.ShiftFloorUntil.Equal(st.ShiftFloorUntil) {
			data, err := json.Marshal(next)
			if err != nil {
				return fmt.Errorf("encoding %s: %w", key, err)
			}
			if err := clients.State.Save(ctx, key, data, version); err != nil {
				return err
			}
		}
		if a.Kind == stampshift.ReleaseFloor {
			return nil
		}
		group, err := h.serving(ctx, clients, cfg.Fleet, cfg.Group)
		if err != nil {
			return err
		}
		g, err := clients.Groups.Capacity(ctx, group)
		if err != nil {
			return err
		}
		if want := min(a.Capacity, g.Max); want > g.Desired {
			return clients.Groups.SetDesiredCapacity(ctx, group, want)
		}
		return nil
	})
}

// serving is the group that serves the fleet: its peer after a blue/green
// promotion, as the fleet's rollout record says.
func (h *Handler) serving(ctx context.Context, clients Stamp, fleet, group string) (string, error) {
	data, _, err := clients.State.Load(ctx, rollout.Key(fleet))
	if err != nil {
		return "", fmt.Errorf("loading rollout record of fleet %s: %w", fleet, err)
	}
	var ro rollout.State
	if len(data) > 0 {
		if err := json.Unmarshal(data, &ro); err != nil {
			return "", fmt.Errorf("decoding rollout record of fleet %s: %w", fleet, err)
		}
	}
	return ro.Serving(group), nil
}
