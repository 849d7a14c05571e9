package stamper

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/stampkit/stampkit/shared/config"
	"github.com/stampkit/stampkit/shared/event"
	"github.com/stampkit/stampkit/shared/logging"
	"github.com/stampkit/stampkit/shared/rollout"
)

// onStackResource puts a blue/green fleet's listener weights back after a
// stack update touched the listener. The template declares the weights
// the fleet started with (blue 100, green 0); when CloudFormation updates
// the listener in place (a rotated certificate, an SSL policy, a port) it
// writes those default actions back, which after a promotion sends all
// traffic to a group scaled to zero. The rollout record knows what the
// weights should be.
func (h *Handler) onStackResource(ctx context.Context, ev event.Event, d *event.ResourceStatusChange) error {
	ctx = logging.With(ctx, "stack_id", d.StackID, "logical_resource_id", d.LogicalResourceID,
		"resource_type", d.ResourceType, "resource_status", d.Status, "listener_arn", d.PhysicalResourceID)
	if d.ResourceType != event.ResourceTypeListener || d.Status != event.ResourceUpdateComplete {
		h.Log.InfoContext(ctx, "ignoring stack resource change: not a listener update that completed")
		return nil
	}
	var errs []error
	matched := false
	for _, name := range h.Config.FleetNames() {
		configured, _, err := h.Config.FleetByName(name)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if configured.Rollout.Strategy != rollout.StrategyBlueGreen {
			continue
		}
		// Which fleet's listener changed is known only by its ARN.
		fleet, err := h.withResources(ctx, configured)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if fleet.Rollout.BlueGreen.Listener != d.PhysicalResourceID {
			continue
		}
		matched = true
		fctx := logging.With(ctx, "fleet", fleet.Name)
		// Per fleet and event: a later stack update is a new event and
		// writes the weights again.
		err = h.once(fctx, fleet.Name, "rollout-listener#"+fleet.Name+"#"+ev.ID, func() error {
			return h.restoreWeights(fctx, fleet)
		})
		if err != nil {
			errs = append(errs, err)
		}
	}
	if !matched {
		h.Log.InfoContext(ctx, "ignoring update of a listener no blue/green fleet shifts")
	}
	return errors.Join(errs...)
}

// restoreWeights sets the weights the fleet's rollout record implies, then
// saves the record unchanged at the version it read. It runs under the
// fleet's lease (once), which keeps rollout steps out meanwhile; the save
// still catches a writer outside the lease (an invocation of code from
// before it, mid-deploy): that writer saves first and this save fails (the
// retry reads the new record), or this one saves first and the other's
// save fails (its retry sets its weights again).
func (h *Handler) restoreWeights(ctx context.Context, fleet config.Fleet) error {
	s, version, err := h.load(ctx, fleet.Name)
	if err != nil {
		return err
	}
	ws := s.Weights(fleet.Rollout, fleet.Group)
	p := fleet.Rollout.BlueGreen
	attrs := []any{"rollout_id", s.ID, "phase", s.Phase, "live", s.Serving(fleet.Group)}
	for i, w := range ws {
		if w.TargetGroup != p.TargetGroup && w.TargetGroup != p.PeerTargetGroup {
			// The record predates a change of the fleet's target groups:
			// writing it would forward to a group the listener no longer
			// serves, and a retry cannot help.
			h.Log.WarnContext(ctx, "listener weights not restored: the rollout record names a target group the fleet no longer has",
				append(attrs, "target_group", w.TargetGroup)...)
			return nil
		}
		attrs = append(attrs, "weight_"+strconv.Itoa(i), w.TargetGroup+"="+strconv.Itoa(w.Weight))
	}
	if fleet.DryRun {
		h.Log.InfoContext(ctx, "dry run: listener weights not restored", attrs...)
		return nil
	}
	if err := h.setWeights(ctx, fleet.Name, fleet.Rollout, ws); err != nil {
		return fmt.Errorf("restoring weights of fleet %s: %w", fleet.Name, err)
	}
	buf, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("encoding rollout of fleet %s: %w", fleet.Name, err)
	}
	if err := h.Store.Save(ctx, rollout.Key(fleet.Name), buf, version); err != nil {
		return fmt.Errorf("saving rollout of fleet %s after restoring its weights: %w", fleet.Name, err)
	}
	h.Log.InfoContext(ctx, "listener weights restored after a stack update", attrs...)
	h.emit(ctx, &fleet, logging.Metric{Name: "WeightsRestored", Value: 1, Unit: logging.Count})
	return nil
}
