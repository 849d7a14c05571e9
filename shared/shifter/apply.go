package shifter

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/stampkit/stampkit/shared/route53dns"
	"github.com/stampkit/stampkit/shared/scaler"
	"github.com/stampkit/stampkit/shared/scaling"
	"github.com/stampkit/stampkit/shared/stampshift"
)

// apply carries out the reducer's actions. A failed action is logged, not
// returned: the transition is saved as the reducer left it, and the next
// wake-up asks again (a SetWeights not confirmed counts an attempt; a
// floor not raised is asked for while the step waits on capacity).
func (h *Handler) apply(ctx context.Context, s stampshift.State, v view, acts []stampshift.Action) stampshift.State {
	log := h.Log.With("record", s.Record, "from", s.From, "to", s.To, "step", s.Step)
	for _, a := range acts {
		switch a.Kind {
		case stampshift.SetWeights:
			id, err := h.setWeights(ctx, v.records, a)
			if err != nil {
				log.WarnContext(ctx, "weights not changed", "weights", a.Weights, "refused", errors.Is(err, route53dns.ErrChangeRefused), "error", err.Error())
				continue
			}
			s = s.Sent(id, v.obs.Now)
			log.InfoContext(ctx, "weights sent", "weights", a.Weights, "change_id", id, "reason", a.Reason)
		case stampshift.RaiseFloor:
			if err := h.raiseFloor(ctx, a); err != nil {
				log.WarnContext(ctx, "floor not raised", "stamp", a.Stamp, "capacity", a.Capacity, "error", err.Error())
				continue
			}
			log.InfoContext(ctx, "floor raised", "stamp", a.Stamp, "capacity", a.Capacity, "until", a.Until, "reason", a.Reason)
		}
	}
	return s
}

// setWeights writes each stamp's weight parameter first, so that a deploy
// that runs while the change is in flight already reads the new weight,
// then sends the change.
func (h *Handler) setWeights(ctx context.Context, records []route53dns.Record, a stampshift.Action) (string, error) {
	for stamp, w := range a.Weights {
		cfg, _ := h.Config.Stamp(stamp)
		clients, ok := h.Stamps[stamp]
		if !ok {
			return "", fmt.Errorf("stamp %s: not configured", stamp)
		}
		if err := clients.Parameters.Put(ctx, cfg.WeightParameter, strconv.FormatInt(w, 10)); err != nil {
			return "", fmt.Errorf("stamp %s weight parameter: %w", stamp, err)
		}
	}
	return h.DNS.SetWeights(ctx, records, a.Weights, "stampkit shift: "+a.Reason)
}

// raiseFloor holds the stamp's scaler at a.Capacity until a.Until, written
// into the scaler's own state with its version check (the scaler's floor,
// as its forecast sets it: scaling.State.Floor), and raises the group's
// desired capacity to it now, within the group's maximum.
func (h *Handler) raiseFloor(ctx context.Context, a stampshift.Action) error {
	cfg, _ := h.Config.Stamp(a.Stamp)
	clients, ok := h.Stamps[a.Stamp]
	if !ok {
		return fmt.Errorf("stamp %s: not configured", a.Stamp)
	}
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
	// A higher floor the forecast holds stays; an expired one is not revived.
	if cur := st.FloorAt(h.Clock.Now()); cur < a.Capacity || st.FloorUntil.Before(a.Until) {
		st.Floor, st.FloorUntil = max(cur, a.Capacity), a.Until
		data, err := json.Marshal(st)
		if err != nil {
			return fmt.Errorf("encoding %s: %w", key, err)
		}
		// A scaler that wrote in between wins (dynamo.ErrVersionConflict):
		// the next wake-up reads its state and asks again.
		if err := clients.State.Save(ctx, key, data, version); err != nil {
			return err
		}
	}
	g, err := clients.Groups.Capacity(ctx, cfg.Group)
	if err != nil {
		return err
	}
	if want := min(a.Capacity, g.Max); want > g.Desired {
		return clients.Groups.SetDesiredCapacity(ctx, cfg.Group, want)
	}
	return nil
}
