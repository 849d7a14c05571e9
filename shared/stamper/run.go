package stamper

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/stampkit/stampkit/shared/asg"
	"github.com/stampkit/stampkit/shared/awserr"
	"github.com/stampkit/stampkit/shared/config"
	"github.com/stampkit/stampkit/shared/elb"
	"github.com/stampkit/stampkit/shared/invocation"
	"github.com/stampkit/stampkit/shared/launchtemplate"
	"github.com/stampkit/stampkit/shared/logging"
	"github.com/stampkit/stampkit/shared/rollout"
	"github.com/stampkit/stampkit/shared/scaling"
	"github.com/stampkit/stampkit/shared/ssmparam"
)

// run steps the fleet's rollout until it waits or ends (starting the queued
// image when one ends), applies each step's actions, then writes the hold,
// schedules the wake-up and saves the state at version.
// The wake-up goes out before the save: a state saved with no wake-up on
// its way would strand the rollout, while a wake-up whose state was not
// saved is recognised as stale.
func (h *Handler) run(ctx context.Context, fleet config.Fleet, s rollout.State, version int64) error {
	fleet, err := h.withResources(ctx, fleet)
	if err != nil {
		return err
	}
	if fleet.Rollout.Strategy != rollout.StrategyBlueGreen || !movesServing(s.Phase) {
		return h.steps(ctx, fleet, s, version)
	}
	// These steps may change which group serves. The scaler reads that
	// and sizes the group under its own lease, which they therefore hold
	// too (after the rollout's: one order, no deadlock): a decision read
	// just before a promotion would otherwise size the group it empties.
	return invocation.Lease(ctx, h.Store, scaling.LeaseKey(fleet.Name), h.leaseWait(), func() error {
		return h.steps(ctx, fleet, s, version)
	})
}

// movesServing reports whether a blue/green step in phase may change the
// group State.Serving names: a promotion, a rollback, the traffic moving
// back.
func movesServing(phase rollout.Phase) bool {
	switch phase {
	case rollout.PhaseWarm, rollout.PhaseShift, rollout.PhaseRetain, rollout.PhaseRestore:
		return true
	}
	return false
}

// steps is run's loop.
func (h *Handler) steps(ctx context.Context, fleet config.Fleet, s rollout.State, version int64) error {
	p := fleet.Rollout
	var ms []logging.Metric
	// The rollouts that end in this run: the stamps after this one learn
	// how from its wave parameter, written before the record is saved; a
	// write that fails is kept in the record and retried apart
	// (recordWave), so the rollout itself goes on.
	var ended []rollout.State
	for i := 1; ; i++ {
		if s.Phase == rollout.PhaseStamp && s.Steps == 0 {
			// What a rollback restores was just read off the live fleet.
			// It goes on record before the first change: a retry after a
			// partial stamp would otherwise read the new image back as the
			// one to return to. The wake-up saved with it carries the
			// rollout on if this invocation goes no further.
			s.WakeAt = h.Clock.Now()
			if err := h.save(ctx, fleet, s, version); err != nil {
				return err
			}
			version++
		}
		if !s.Active() {
			if s.Queued == nil {
				break
			}
			next, started, err := h.startQueued(ctx, fleet, s)
			if err != nil {
				return err
			}
			s = next
			if !started {
				break
			}
			ms = append(ms, logging.Metric{Name: "RolloutsStarted", Value: 1, Unit: logging.Count})
			continue // on record first
		}
		obs := h.observe(ctx, p, s)
		acts, next, wake := rollout.Step(p, s, obs)
		rctx := logging.With(ctx, "rollout_id", next.ID, "image_id", next.Image.ID)
		h.logStep(rctx, s, next, acts, obs)
		next, err := h.apply(rctx, fleet, next, acts)
		if err != nil {
			aborted, ok := h.abortRejected(rctx, fleet, next, err)
			if !ok {
				return err
			}
			// The rollback starts in this invocation: step again now.
			ms = append(ms, logging.Metric{Name: "RolloutActionsRejected", Value: 1, Unit: logging.Count})
			s = aborted
			continue
		}
		ms = append(ms, stepMetrics(s, next, acts)...)
		if s.Active() && !next.Active() {
			ended = append(ended, next)
		}
		s = next
		if s.Active() && (wake.After(obs.Now) || i >= maxInlineSteps) {
			break
		}
		if i >= 2*maxInlineSteps {
			break // a queue of images that all end at once; the next tick goes on
		}
	}
	s, err := h.recordWave(ctx, fleet, s, endedRecords(ended)...)
	if err != nil {
		return err
	}
	if err := h.save(ctx, fleet, s, version); err != nil {
		return err
	}
	// One record per metric: a run can count the same metric twice.
	for _, m := range ms {
		h.emit(ctx, &fleet, m)
	}
	return nil
}

// abortRejected turns an action AWS refused as such (awserr.IsRejected: a
// validation error, a permission missing, a resource gone) into an abort
// of the rollout, so the next step rolls it back, and reports whether it
// did. Retried, the action would fail the same way until its deliveries
// ran out, leaving the fleet half-way: the default version and parameter
// on the new image and nothing taking it further. A rollout already
// rolling back is not aborted again: its error goes to the dead-letter
// queue and its alarm; so does one that only tidies up after a promotion.
func (h *Handler) abortRejected(ctx context.Context, fleet config.Fleet, s rollout.State, err error) (rollout.State, bool) {
	// A promoted rollout only tidies up (the old group emptied): rolling
	// the baked image back for a failed clean-up would be worse.
	if !awserr.IsRejected(err) || s.Phase == rollout.PhaseRetain {
		return s, false
	}
	next, cerr := rollout.Control(fleet.Rollout, s, rollout.Abort, "AWS rejected a rollout action: "+err.Error(), h.Clock.Now())
	if cerr != nil {
		return s, false
	}
	// WARN: a degraded path that goes on; were the invocation to fail
	// after all, Each writes its one ERROR line.
	h.Log.WarnContext(ctx, "rollout action rejected: rolling back", "error", err)
	return next, true
}

// startQueued checks the queued image against what the fleet now runs and
// begins its rollout, or drops it.
func (h *Handler) startQueued(ctx context.Context, fleet config.Fleet, s rollout.State) (rollout.State, bool, error) {
	img := *s.Queued
	ctx = logging.With(ctx, "image_id", img.ID)
	if s.Outcome == rollout.Failed {
		// A failed rollout is an operator's to look at before anything
		// else changes the fleet; the image can be sent again.
		h.Log.WarnContext(ctx, "queued image not started: the last rollout failed", "after", s.ID, "reason", s.Reason)
		h.emit(ctx, &fleet, logging.Metric{Name: "ImagesRejected", Value: 1, Unit: logging.Count})
		s.Queued = nil
		return s, false, nil
	}
	base, cur, err := h.baseline(ctx, fleet, s.Serving(fleet.Group))
	if err != nil {
		return s, false, err
	}
	why := rollout.Check(fleet.Rollout, img, cur)
	if len(why) == 0 && fleet.Rollout.Strategy == rollout.StrategyBlueGreen {
		if why, err = h.listenerUnfit(ctx, fleet, s); err != nil {
			return s, false, err
		}
	}
	if len(why) > 0 {
		h.Log.WarnContext(ctx, "queued image rejected: nothing changes", "reasons", why, "current_image", base.Image)
		h.emit(ctx, &fleet, logging.Metric{Name: "ImagesRejected", Value: 1, Unit: logging.Count})
		s.Queued = nil
		return s, false, nil
	}
	if fleet.DryRun {
		h.Log.InfoContext(ctx, "dry run: queued rollout not started")
		s.Queued = nil
		return s, false, nil
	}
	h.Log.InfoContext(ctx, "starting the queued image", "after", s.ID, "outcome", s.Outcome)
	return rollout.Begin(fleet.Rollout, s, fleet.Group, img, base, h.Clock.Now()), true, nil
}

// save schedules the wake-up and saves the state (whose hold the scaler
// reads: rollout.State.Hold).
func (h *Handler) save(ctx context.Context, fleet config.Fleet, s rollout.State, version int64) error {
	if s.Active() {
		if err := h.Scheduler.WakeAt(ctx, rollout.Key(fleet.Name), s.WakeAt); err != nil {
			return fmt.Errorf("scheduling rollout of fleet %s: %w", fleet.Name, err)
		}
	}
	return h.store(ctx, fleet, s, version)
}

// store saves the state at version, scheduling nothing: a change beside
// the running rollout (an image waiting for its wave) leaves its wake-up
// as it is.
func (h *Handler) store(ctx context.Context, fleet config.Fleet, s rollout.State, version int64) error {
	key := rollout.Key(fleet.Name)
	buf, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("encoding rollout of fleet %s: %w", fleet.Name, err)
	}
	if err := h.Store.Save(ctx, key, buf, version); err != nil {
		return fmt.Errorf("saving rollout of fleet %s: %w", fleet.Name, err)
	}
	return nil
}

// baseline reads what the group runs: the rollout's restore point, and the
// current image for rollout.Check.
func (h *Handler) baseline(ctx context.Context, fleet config.Fleet, group string) (rollout.Baseline, rollout.Current, error) {
	g, err := h.Groups.Describe(ctx, group)
	if err != nil {
		return rollout.Baseline{}, rollout.Current{}, fmt.Errorf("reading group %s: %w", group, err)
	}
	lt := g.LaunchTemplate
	if lt.ID == "" {
		return rollout.Baseline{}, rollout.Current{}, fmt.Errorf("group %s names no launch template by ID; a rollout needs one", group)
	}
	tpl, err := h.Templates.Template(ctx, lt.ID)
	if err != nil {
		return rollout.Baseline{}, rollout.Current{}, fmt.Errorf("reading launch template of group %s: %w", group, err)
	}
	spec := lt.Version
	var num int64
	switch spec {
	case "", "$Default":
		spec, num = "$Default", tpl.DefaultVersion
	case "$Latest":
		num = tpl.LatestVersion
	default:
		num, err = strconv.ParseInt(spec, 10, 64)
		if err != nil {
			return rollout.Baseline{}, rollout.Current{}, fmt.Errorf("group %s names launch template version %q: %w", group, spec, err)
		}
	}
	v, err := h.Templates.Version(ctx, lt.ID, strconv.FormatInt(num, 10))
	if err != nil {
		return rollout.Baseline{}, rollout.Current{}, fmt.Errorf("reading launch template %s version %d: %w", lt.ID, num, err)
	}
	param, err := h.Parameters.Get(ctx, fleet.Rollout.Parameter)
	if err != nil && !errors.Is(err, ssmparam.ErrNotFound) {
		return rollout.Baseline{}, rollout.Current{}, fmt.Errorf("reading the image parameter of fleet %s: %w", fleet.Name, err)
	}
	cur := rollout.Current{InstanceType: v.InstanceType}
	if v.ImageID != "" {
		im, err := h.Templates.Image(ctx, v.ImageID)
		switch {
		case errors.Is(err, launchtemplate.ErrNotFound):
			h.Log.WarnContext(ctx, "current image not found: age not checked", "current_image", v.ImageID)
		case err != nil:
			return rollout.Baseline{}, rollout.Current{}, fmt.Errorf("reading current image %s: %w", v.ImageID, err)
		default:
			ci := rolloutImage(im)
			cur.Image = &ci
		}
	}
	return rollout.Baseline{
		LaunchTemplate: lt.ID, GroupSpec: spec, GroupVersion: num, DefaultVersion: tpl.DefaultVersion,
		Image: v.ImageID, Parameter: param,
		Size: rollout.Size{Min: int(g.Min), Max: int(g.Max), Desired: int(g.Desired)},
	}, cur, nil
}

// observe reads what the rollout's phase looks at. Read failures become
// part of the observation: the step then waits rather than acting blind.
func (h *Handler) observe(ctx context.Context, p rollout.Policy, s rollout.State) rollout.Observation {
	var obs rollout.Observation
	var errs []string
	fail := func(err error) { errs = append(errs, err.Error()) }
	switch {
	case s.Phase == rollout.PhaseStamp && s.Strategy == rollout.StrategyRolling:
	case s.Phase == rollout.PhaseStamp:
		// The idle group must be empty before it is stamped.
		var err error
		if obs.To, err = h.group(ctx, s.To.Group); err != nil {
			fail(err)
		}
	case s.Strategy == rollout.StrategyRolling:
		if s.RefreshID != "" {
			r, err := h.Groups.DescribeInstanceRefresh(ctx, s.From.Group, s.RefreshID)
			switch {
			case errors.Is(err, asg.ErrNotFound):
				h.Log.WarnContext(ctx, "followed instance refresh not found", "refresh_id", s.RefreshID)
				obs.RefreshMissing = true
			case err != nil:
				fail(err)
			default:
				obs.Refresh = &rollout.Refresh{ID: r.ID, Status: r.Status, Reason: r.StatusReason, Percentage: int(r.PercentageComplete)}
			}
		}
		g, err := h.group(ctx, s.From.Group)
		if err != nil {
			fail(err)
		}
		obs.From = g
	default:
		var err error
		if obs.From, err = h.group(ctx, s.From.Group); err != nil {
			fail(err)
		}
		if obs.To, err = h.group(ctx, s.To.Group); err != nil {
			fail(err)
		}
		if obs.FromTargets, err = h.targets(ctx, s.From.TargetGroup); err != nil {
			fail(err)
		}
		if obs.ToTargets, err = h.targets(ctx, s.To.TargetGroup); err != nil {
			fail(err)
		}
		if len(p.Alarms) > 0 {
			alarms, err := h.Alarms.Alarms(ctx, p.Alarms)
			if err != nil {
				fail(err)
			}
			for _, a := range alarms {
				obs.Alarms = append(obs.Alarms, rollout.Alarm{Name: a.Name, State: a.State})
			}
		}
	}
	obs.Err = strings.Join(errs, "; ")
	obs.Now = h.Clock.Now()
	return obs
}

// group reads a group as the rollout sees it; instances on their way out
// are left out of the version counts.
func (h *Handler) group(ctx context.Context, name string) (rollout.Group, error) {
	g, err := h.Groups.Describe(ctx, name)
	if err != nil {
		return rollout.Group{Name: name}, err
	}
	out := rollout.Group{
		Name: name, Min: int(g.Min), Max: int(g.Max), Desired: int(g.Desired), InService: g.InService(),
		Launching: g.Pending(), Versions: map[string]int{},
	}
	for _, in := range g.Instances {
		switch in.LifecycleState {
		case asg.StateTerminating, asg.StateTerminatingWait, asg.StateTerminatingProceed:
			continue
		}
		out.Versions[in.LaunchTemplateVersion]++
	}
	return out, nil
}

// targets counts a target group's healthy targets, those in their first
// health checks, and all those not draining.
func (h *Handler) targets(ctx context.Context, arn string) (rollout.Targets, error) {
	var out rollout.Targets
	if arn == "" {
		return out, nil
	}
	ts, err := h.Listeners.TargetHealth(ctx, arn)
	if err != nil {
		return out, err
	}
	for _, t := range ts {
		switch t.State {
		case elb.StateDraining:
			continue
		case elb.StateHealthy:
			out.Healthy++
		case elb.StateInitial:
			out.Initial++
		}
		out.Total++
	}
	return out, nil
}

// apply performs a step's actions in order, recording what they return.
func (h *Handler) apply(ctx context.Context, fleet config.Fleet, s rollout.State, acts []rollout.Action) (rollout.State, error) {
	p := fleet.Rollout
	for _, a := range acts {
		attrs := []any{"action", a.Kind, "asg_name", a.Group, "version", a.Version, "image_id", a.Image}
		if fleet.DryRun {
			h.Log.InfoContext(ctx, "dry run: rollout action not applied", attrs...)
			continue
		}
		var err error
		var res rollout.Result
		switch a.Kind {
		case rollout.CreateVersion:
			desc := fmt.Sprintf("stampkit %s: %s %s", s.ID, a.Image, s.Image.Name)
			res.Version, err = h.Templates.CreateVersionWithImage(ctx, a.LaunchTemplate, strconv.FormatInt(a.Version, 10), a.Image, desc)
			attrs = append(attrs, "new_version", res.Version)
		case rollout.SetDefaultVersion:
			err = h.Templates.SetDefaultVersion(ctx, a.LaunchTemplate, a.Version)
		case rollout.PutParameter:
			err = h.Parameters.PutImage(ctx, p.Parameter, a.Image)
			attrs = append(attrs, "parameter", p.Parameter)
		case rollout.SetGroupVersion:
			err = h.Groups.SetLaunchTemplateVersion(ctx, a.Group, a.LaunchTemplate, strconv.FormatInt(a.Version, 10))
		case rollout.Resize:
			err = h.Groups.Resize(ctx, a.Group, asg.Size(a.Size))
			attrs = append(attrs, "desired", a.Size.Desired)
		case rollout.StartRefresh:
			res.RefreshID, err = h.startRefresh(ctx, p, a)
			attrs = append(attrs, "refresh_id", res.RefreshID)
		case rollout.RollbackRefresh:
			_, err = h.Groups.RollbackInstanceRefresh(ctx, a.Group)
		case rollout.CancelRefresh:
			_, err = h.Groups.CancelInstanceRefresh(ctx, a.Group)
		case rollout.SetWeights:
			for i, w := range a.Weights {
				attrs = append(attrs, "weight_"+strconv.Itoa(i), w.Weight)
			}
			err = h.setWeights(ctx, fleet.Name, p, a.Weights)
		default:
			err = fmt.Errorf("unknown action %q", a.Kind)
		}
		switch {
		case err == nil:
			h.Log.InfoContext(ctx, "rollout action applied", attrs...)
			s = s.Record(a, res)
		case a.BestEffort():
			// The next look at the refresh shows what this did or did not do.
			h.Log.WarnContext(ctx, "rollout action failed; going on", append(attrs, "error", err)...)
		default:
			return s, fmt.Errorf("applying %s to rollout %s: %w", a.Kind, s.ID, err)
		}
	}
	return s, nil
}

// setWeights records each target group's weight in the parameter the
// listener's template reads (when the fleet names them), then sets the
// listener. Parameters first: a deploy between the two then writes the
// weights the rollout is about to set, never ones it has moved away from.
// A parameter that cannot be written (throttled past the SDK's retries, a
// permission missing) never holds the listener back: moving traffic back
// matters more, and the listener's stack-update restore rule still puts
// the record's weights back after a deploy. It is logged and counted.
func (h *Handler) setWeights(ctx context.Context, fleet string, p rollout.Policy, weights []rollout.Weight) error {
	bg := p.BlueGreen
	params := map[string]string{bg.TargetGroup: bg.WeightParameters.TargetGroup, bg.PeerTargetGroup: bg.WeightParameters.PeerTargetGroup}
	ws := make([]elb.Weighted, len(weights))
	for i, w := range weights {
		if name := params[w.TargetGroup]; name != "" {
			if err := h.Parameters.Put(ctx, name, strconv.Itoa(w.Weight)); err != nil {
				h.Log.WarnContext(ctx, "listener weight not recorded for the template: a deploy may write an older one until the restore rule fires",
					"parameter", name, "target_group", w.TargetGroup, "weight", w.Weight, "error", err)
				h.report().Emit(ctx, fleet, logging.Metric{Name: "WeightParametersNotWritten", Value: 1, Unit: logging.Count})
			}
		}
		ws[i] = elb.Weighted{TargetGroupARN: w.TargetGroup, Weight: int32(w.Weight)}
	}
	return h.Listeners.SetForwardWeights(ctx, bg.Listener, ws)
}

// startRefresh starts an instance refresh, or follows the one already
// running: after a crash between the start and the save, the retry finds
// its own refresh there.
func (h *Handler) startRefresh(ctx context.Context, p rollout.Policy, a rollout.Action) (string, error) {
	spec := asg.RefreshSpec{
		Group:          a.Group,
		LaunchTemplate: asg.LaunchTemplate{ID: a.LaunchTemplate, Version: strconv.FormatInt(a.Version, 10)},
		MinHealthy:     percent(p.Rolling.MinHealthyPercentage), MaxHealthy: percent(p.Rolling.MaxHealthyPercentage),
		WarmupSeconds:   int32(p.Rolling.Warmup.Std() / time.Second),
		CheckpointDelay: p.Rolling.CheckpointDelay.Std(),
		SkipMatching:    a.SkipMatching,
		AutoRollback:    a.AutoRollback,
	}
	for _, c := range p.Rolling.Checkpoints {
		spec.Checkpoints = append(spec.Checkpoints, int32(c))
	}
	if a.AutoRollback {
		// The alarms fail (and so roll back) the forward refresh; a refresh
		// back to the old version must not be stopped by the same alarms.
		spec.AlarmNames = p.Alarms
	}
	id, err := h.Groups.StartInstanceRefresh(ctx, spec)
	// Only "a refresh already runs" means there is one to follow; other
	// conflicts (a scaling activity in progress, contention) are retried.
	if err == nil || awserr.Code(err) != "InstanceRefreshInProgress" {
		return id, err
	}
	r, lerr := h.Groups.LatestInstanceRefresh(ctx, a.Group)
	if lerr != nil {
		return "", errors.Join(err, lerr)
	}
	switch r.Status {
	case rollout.RefreshPending, rollout.RefreshInProgress, rollout.RefreshRollbackInProgress, rollout.RefreshBaking:
	default:
		// The newest refresh already ended: it is an earlier rollout's, not
		// the one that blocks this start, so fail and let the retry start anew.
		return "", fmt.Errorf("instance refresh in progress, but the newest (%s) is %s: %w", r.ID, r.Status, err)
	}
	h.Log.WarnContext(ctx, "instance refresh already running: following it", "refresh_id", r.ID, "refresh_status", r.Status)
	return r.ID, nil
}

// percent passes a refresh preference on as written: nil stays nil (AWS's
// default) and 0 stays 0.
func percent(p *int) *int32 {
	if p == nil {
		return nil
	}
	n := int32(*p)
	return &n
}

// logStep logs every transition (history noted, or actions taken) at info;
// a step that keeps waiting is logged at debug.
func (h *Handler) logStep(ctx context.Context, prev, next rollout.State, acts []rollout.Action, obs rollout.Observation) {
	kinds := make([]string, len(acts))
	for i, a := range acts {
		kinds[i] = string(a.Kind)
	}
	notes := newNotes(prev, next)
	if len(notes) == 0 && len(acts) == 0 {
		h.Log.DebugContext(ctx, "rollout waiting", "phase", next.Phase, "wake_at", next.WakeAt, "shifted", next.Shifted,
			"observe_error", obs.Err, "step", next.Steps)
		return
	}
	h.Log.InfoContext(ctx, "rollout step", "from", prev.Phase, "to", next.Phase, "outcome", next.Outcome,
		"notes", notes, "actions", kinds, "shifted", next.Shifted, "wake_at", next.WakeAt, "observe_error", obs.Err)
}

// newNotes returns the history lines next added to prev: those after
// prev's last line (the history is capped, so lengths do not tell).
func newNotes(prev, next rollout.State) []string {
	start := 0
	if n := len(prev.History); n > 0 {
		last := prev.History[n-1]
		for i := len(next.History) - 1; i >= 0; i-- {
			if next.History[i] == last {
				start = i + 1
				break
			}
		}
	}
	var out []string
	for _, e := range next.History[start:] {
		out = append(out, e.Note)
	}
	return out
}

// stepMetrics counts what a step did: traffic moved, a rollout ended.
func stepMetrics(prev, next rollout.State, acts []rollout.Action) []logging.Metric {
	var ms []logging.Metric
	for _, a := range acts {
		if a.Kind == rollout.SetWeights && len(a.Weights) == 2 {
			ms = append(ms, logging.Metric{Name: "TrafficShifted", Value: float64(a.Weights[1].Weight), Unit: logging.None})
		}
	}
	if next.BlindGiveUps > prev.BlindGiveUps {
		ms = append(ms, logging.Metric{Name: "RolloutsBlind", Value: float64(next.BlindGiveUps - prev.BlindGiveUps), Unit: logging.Count})
	}
	if prev.Active() && !next.Active() {
		name := map[rollout.Outcome]string{
			rollout.Succeeded: "RolloutsSucceeded", rollout.RolledBack: "RolloutsRolledBack",
			rollout.Superseded: "RolloutsSuperseded", rollout.Failed: "RolloutsFailed",
		}[next.Outcome]
		if name != "" {
			ms = append(ms, logging.Metric{Name: name, Value: 1, Unit: logging.Count},
				logging.Metric{Name: "RolloutDuration", Value: next.Ended.Sub(next.Started).Seconds(), Unit: logging.Seconds})
		}
	}
	return ms
}
