// Package hooks answers Auto Scaling lifecycle hooks for the fleets it
// manages: a launching instance is gated on readiness probes, a terminating
// one drains before it goes. It drives the pure lifecycle.Step: decode the
// event, load the action's state, observe, step, apply the actions, and
// schedule a wake-up instead of waiting.
//
// Durable waits: the state lives in the Store under the action's token and
// each wait ends with a stampkit Tick sent through the Scheduler (a delayed
// SQS message feeding the same function). A Tick is acted on only if its
// due time is the one the state expects, so duplicates and leftovers of an
// earlier chain change nothing.
//
// Never stranded: if this function fails for good (retries exhausted, a
// wake-up lost), the hook's own heartbeat timeout ends the wait with its
// default result. The CDK app therefore gives the terminate hook the
// default result CONTINUE (an instance always gets to terminate) and the
// launch hook ABANDON (an instance nobody vouched for never takes traffic).
package hooks

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/stampkit/stampkit/shared/asg"
	"github.com/stampkit/stampkit/shared/awserr"
	"github.com/stampkit/stampkit/shared/clock"
	"github.com/stampkit/stampkit/shared/config"
	"github.com/stampkit/stampkit/shared/elb"
	"github.com/stampkit/stampkit/shared/event"
	"github.com/stampkit/stampkit/shared/invocation"
	"github.com/stampkit/stampkit/shared/lifecycle"
	"github.com/stampkit/stampkit/shared/logging"
)

// KeyPrefix starts the state key of every lifecycle action, and the key of
// its wake-ups.
const KeyPrefix = "lifecycle#"

// StateKey is the state-table key of the lifecycle action with token; its
// wake-up Ticks carry the same key.
func StateKey(token string) string { return KeyPrefix + token }

// ClaimTTL is how long a claim outlives its effect: past the longest a
// lifecycle action can exist (48 h), a duplicate is harmless.
const ClaimTTL = 49 * time.Hour

// maxInlineSteps bounds the steps one invocation takes when a step is due
// at once (a phase change that needs a fresh observation).
const maxInlineSteps = 4

// Handler is the lifecycle Lambda's handler.
type Handler struct {
	Config    config.Config
	Hooks     Hooks
	Groups    Groups
	Targets   Targets
	Prober    Prober
	Scheduler Scheduler
	Store     Store
	Clock     clock.Clock
	Log       *slog.Logger
	Metrics   *logging.Metrics
}

// Handle processes one invocation payload: a lifecycle action from
// EventBridge (or SNS/SQS), or a wake-up Tick from the queue. Malformed
// input is an error; other kinds, and the Auto Scaling test notification,
// are logged and ignored.
func (h *Handler) Handle(ctx context.Context, raw json.RawMessage) error {
	return invocation.Each(ctx, h.Log, raw, h.handleEvent)
}

func (h *Handler) handleEvent(ctx context.Context, ev event.Event) error {
	switch d := ev.Detail.(type) {
	case *event.LifecycleAction:
		return h.onAction(ctx, ev, d)
	case *event.Tick:
		if !strings.HasPrefix(d.Key, KeyPrefix) {
			h.Log.InfoContext(ctx, "ignoring tick for another handler", "key", d.Key)
			return nil
		}
		return h.onTick(ctx, d)
	case *event.TestNotification:
		h.Log.InfoContext(ctx, "ignoring Auto Scaling test notification", "asg_name", d.GroupName)
		return nil
	default:
		h.Log.InfoContext(ctx, "ignoring event the lifecycle handler does not handle", "source", ev.Source, "detail_type", ev.DetailType)
		return nil
	}
}

func (h *Handler) onAction(ctx context.Context, ev event.Event, a *event.LifecycleAction) error {
	ctx = logging.With(ctx, "asg_name", a.GroupName, "instance_id", a.InstanceID, "token", a.Token,
		"hook", a.HookName, "transition", transition(a.Transition))
	fleet, ok, err := h.Config.FleetByGroup(a.GroupName)
	if err != nil {
		return err
	}
	if !ok {
		// The hook's default result ends the wait.
		h.Log.WarnContext(ctx, "ignoring lifecycle action of a group no fleet manages")
		return nil
	}
	ctx = logging.With(ctx, "fleet", fleet.Name)
	if !fleet.Hooks.Owns(a.HookName) {
		// Another tool's hook on the same group: its action is that tool's
		// to complete, and completing it here would cut its work short.
		// The stack's rule already matches the hook names; this is the
		// second lock on the same door.
		h.Log.InfoContext(ctx, "ignoring lifecycle action of a hook the toolkit does not own")
		return nil
	}
	return h.once(ctx, fleet.Name, "lifecycle-event#"+a.Token, func() error { return h.begin(ctx, fleet, ev, a) })
}

// begin starts the gate or drain of a lifecycle action seen for the first
// time.
func (h *Handler) begin(ctx context.Context, fleet config.Fleet, ev event.Event, a *event.LifecycleAction) error {
	_, version, err := h.Store.Load(ctx, StateKey(a.Token))
	if err != nil {
		return fmt.Errorf("loading lifecycle action %s: %w", a.Token, err)
	}
	if version > 0 {
		h.Log.InfoContext(ctx, "duplicate lifecycle action: already in hand")
		h.emit(ctx, fleet.Name, logging.Metric{Name: "Duplicates", Value: 1, Unit: logging.Count})
		return nil
	}
	at := ev.Time
	if at.IsZero() {
		at = h.Clock.Now()
	}
	s := lifecycle.Begin(fleet.Lifecycle, lifecycle.Request{
		Token: a.Token, Group: a.GroupName, Hook: a.HookName, InstanceID: a.InstanceID,
		Transition:   transition(a.Transition),
		FromWarmPool: a.Origin == event.PlaceWarmPool, ToWarmPool: a.Destination == event.PlaceWarmPool,
		At: at,
	})
	h.Log.InfoContext(ctx, "lifecycle action received", "gate", s.Gate, "phase", s.Phase,
		"origin", a.Origin, "destination", a.Destination, "probes", len(s.Probes))
	return h.run(ctx, fleet, s, 0)
}

func (h *Handler) onTick(ctx context.Context, t *event.Tick) error {
	token := strings.TrimPrefix(t.Key, KeyPrefix)
	ctx = logging.With(ctx, "token", token, "due_at", t.At)
	data, version, err := h.Store.Load(ctx, StateKey(token))
	if err != nil {
		return fmt.Errorf("loading lifecycle action %s: %w", token, err)
	}
	if version == 0 {
		h.Log.WarnContext(ctx, "ignoring wake-up of an unknown lifecycle action")
		return nil
	}
	var s lifecycle.State
	if err := json.Unmarshal(data, &s); err != nil {
		return fmt.Errorf("decoding lifecycle action %s: %w", token, err)
	}
	r := s.Request
	ctx = logging.With(ctx, "asg_name", r.Group, "instance_id", r.InstanceID, "hook", r.Hook, "transition", r.Transition)
	switch {
	case s.Done():
		h.Log.InfoContext(ctx, "ignoring wake-up of a finished lifecycle action", "outcome", s.Outcome)
		return nil
	case invocation.AheadOfRecord(t, s.WakeAt, h.Clock.Now()):
		return fmt.Errorf("lifecycle action %s recorded its wake-up for %s: %w", token, s.WakeAt.UTC().Format(time.RFC3339Nano), invocation.ErrAheadOfRecord)
	case !t.At.Equal(s.WakeAt):
		h.Log.InfoContext(ctx, "ignoring stale wake-up", "wake_at", s.WakeAt)
		return nil
	}
	if early, err := invocation.ForwardEarly(ctx, h.Log, h.Scheduler, h.Clock.Now(), t); early || err != nil {
		return err
	}
	fleet, ok, err := h.Config.FleetByGroup(r.Group)
	if err != nil {
		return err
	}
	if !ok {
		// The fleet left the configuration mid-action: finish with the
		// default policy rather than strand the instance.
		h.Log.WarnContext(ctx, "lifecycle action of a group no fleet manages any more; using the default policy")
		fleet = config.Fleet{Name: r.Group, Group: r.Group}
	}
	ctx = logging.With(ctx, "fleet", fleet.Name)
	// The record's version is part of the claim: a wake-up acted on within
	// EarlyTolerance of its time may schedule the same time again, and
	// that second wake-up must not meet the first one's claim.
	key := fmt.Sprintf("lifecycle-tick#%s@%s#v%d", token, t.At.UTC().Format(time.RFC3339Nano), version)
	return h.once(ctx, fleet.Name, key, func() error {
		return h.run(ctx, fleet, s, version)
	})
}

// once runs effect unless another delivery already claimed key.
func (h *Handler) once(ctx context.Context, fleet, key string, effect func() error) error {
	return h.report().Once(ctx, h.Store, ClaimTTL, fleet, key, effect)
}

// run steps the action until it waits or ends, applies each step's actions,
// schedules the wake-up and saves the state. The wake-up goes out before
// the save: a state saved with no wake-up on its way would strand the gate
// until the hook times out, while a wake-up whose state was not saved is
// recognised as stale.
func (h *Handler) run(ctx context.Context, fleet config.Fleet, s lifecycle.State, version int64) error {
	heartbeats := s.Heartbeats
	for i := 1; ; i++ {
		var err error
		if s, err = h.pastRecord(ctx, fleet, s); err != nil {
			return err
		}
		obs := h.observe(ctx, s)
		acts, next, wake := lifecycle.Step(fleet.Lifecycle, s, obs)
		h.logStep(ctx, s, next, acts, obs)
		next, err = h.apply(ctx, fleet, next, acts, obs.Now)
		if err != nil {
			return err
		}
		s = next
		if s.Done() || wake.After(obs.Now) || i == maxInlineSteps {
			break
		}
	}
	key := StateKey(s.Request.Token)
	if !s.Done() {
		if err := h.Scheduler.WakeAt(ctx, key, s.WakeAt); err != nil {
			return fmt.Errorf("scheduling lifecycle action %s: %w", s.Request.Token, err)
		}
	}
	buf, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("encoding lifecycle action %s: %w", s.Request.Token, err)
	}
	if err := h.Store.Save(ctx, key, buf, version); err != nil {
		return fmt.Errorf("saving lifecycle action %s: %w", s.Request.Token, err)
	}
	h.metrics(ctx, fleet.Name, s, s.Heartbeats-heartbeats)
	return nil
}

// pastRecord asks Auto Scaling, with a heartbeat, whether the hook of an
// action whose record says it has timed out is still alive, before the
// step takes it for gone. The record can be behind: a heartbeat sent by
// an invocation that failed before saving (a wake-up it could not
// schedule) kept the hook alive with no trace of it, and a launch given
// up then would be left to the hook's default result, ABANDON, however
// ready its instance. Alive, the heartbeat goes on record; timed out, the
// step records it.
func (h *Handler) pastRecord(ctx context.Context, fleet config.Fleet, s lifecycle.State) (lifecycle.State, error) {
	now := h.Clock.Now()
	if s.Done() || fleet.DryRun || now.Before(s.Expiry(fleet.Lifecycle)) {
		return s, nil
	}
	r := s.Request
	err := h.Hooks.RecordHeartbeat(ctx, asg.LifecycleAction{Group: r.Group, Hook: r.Hook, Token: r.Token, InstanceID: r.InstanceID})
	switch {
	case err == nil:
		h.Log.WarnContext(ctx, "hook alive past its recorded timeout: a heartbeat was not on record", "expiry", s.Expiry(fleet.Lifecycle))
		s.HeartbeatAt = now
		s.Heartbeats++
		return s, nil
	case awserr.IsNoActiveLifecycleAction(err), awserr.IsRejected(err):
		// Gone, or its group is (deleted or replaced by a stack update):
		// either way no heartbeat will ever say otherwise, and retrying
		// would only carry the record into the dead-letter queue.
		return s, nil
	}
	return s, fmt.Errorf("asking whether lifecycle action %s is still active: %w", r.Token, err)
}

// observe gathers what the action's phase looks at. API failures become
// part of the observation, so the reducer's bounds decide what they mean.
func (h *Handler) observe(ctx context.Context, s lifecycle.State) lifecycle.Observation {
	var obs lifecycle.Observation
	id := s.Request.InstanceID
	switch s.Phase {
	case lifecycle.PhaseProbe:
		for _, ps := range s.PendingProbes() {
			obs.Probes = append(obs.Probes, h.Prober.Probe(ctx, id, ps.Probe, ps.CommandID))
		}
	case lifecycle.PhaseDeregister:
		if s.Gate == lifecycle.GateRelease {
			break
		}
		targets, err := h.targets(ctx, s)
		if err != nil {
			obs.TargetsErr = err.Error()
			obs.TargetsRejected = awserr.IsRejected(err)
		}
		obs.Targets = targets
	case lifecycle.PhaseCommand:
		r := h.Prober.Probe(ctx, id, s.Command.Probe, s.Command.CommandID)
		obs.Command = &r
	}
	obs.Now = h.Clock.Now()
	return obs
}

// targets reads the instance's state in every target group of its group:
// the ones already draining, and on the first look the group's list.
func (h *Handler) targets(ctx context.Context, s lifecycle.State) ([]lifecycle.Target, error) {
	known := map[string]time.Duration{}
	var arns []string
	for _, t := range s.Targets {
		known[t.TargetGroupARN] = t.Delay
		arns = append(arns, t.TargetGroupARN)
	}
	if len(arns) == 0 {
		g, err := h.Groups.Describe(ctx, s.Request.Group)
		if err != nil {
			return nil, err
		}
		arns = g.TargetGroupARNs
	}
	out := make([]lifecycle.Target, 0, len(arns))
	for _, arn := range arns {
		t := lifecycle.Target{TargetGroupARN: arn}
		delay, ok := known[arn]
		if !ok {
			d, err := h.Targets.DeregistrationDelay(ctx, arn)
			switch {
			case elb.IsNotRegistered(err):
				out = append(out, t) // the target group is gone: nothing to drain
				continue
			case err != nil:
				return nil, err
			}
			delay = d
		}
		t.Delay = delay
		health, err := h.Targets.TargetHealth(ctx, arn)
		switch {
		case elb.IsNotRegistered(err):
		case err != nil:
			return nil, err
		}
		for _, th := range health {
			if th.ID == s.Request.InstanceID {
				t.State = th.State
				break
			}
		}
		out = append(out, t)
	}
	return out, nil
}

// apply performs a step's actions in order. A completion or heartbeat that
// Auto Scaling answers with "No active Lifecycle Action found" ends the
// action as Gone instead of failing: retrying it could never succeed.
func (h *Handler) apply(ctx context.Context, fleet config.Fleet, s lifecycle.State, acts []lifecycle.Action, now time.Time) (lifecycle.State, error) {
	r := s.Request
	for _, a := range acts {
		if fleet.DryRun {
			h.Log.InfoContext(ctx, "dry run: lifecycle action not applied", "action", a.Kind, "result", a.Result, "target_group", a.TargetGroupARN)
			continue
		}
		var err error
		switch a.Kind {
		case lifecycle.Heartbeat:
			err = h.Hooks.RecordHeartbeat(ctx, asg.LifecycleAction{Group: r.Group, Hook: r.Hook, Token: r.Token, InstanceID: r.InstanceID})
		case lifecycle.Complete:
			err = h.Hooks.CompleteLifecycleAction(ctx, asg.LifecycleCompletion{
				Group: r.Group, Hook: r.Hook, Token: r.Token, InstanceID: r.InstanceID, Result: a.Result,
			})
		case lifecycle.Deregister:
			err = h.Targets.Deregister(ctx, a.TargetGroupARN, r.InstanceID)
			if elb.IsNotRegistered(err) {
				err = nil
			}
		}
		switch {
		case err == nil:
			h.Log.InfoContext(ctx, "lifecycle action applied", "action", a.Kind, "result", a.Result, "target_group", a.TargetGroupARN)
		case awserr.IsNoActiveLifecycleAction(err):
			gone := lifecycle.MarkGone(s, now)
			h.Log.WarnContext(ctx, "lifecycle action no longer active: treated as done", "outcome", gone.Outcome,
				"reason", gone.Reason, "action", a.Kind, "error", err)
			return gone, nil
		default:
			return s, fmt.Errorf("applying %s to lifecycle action %s: %w", a.Kind, r.Token, err)
		}
	}
	return s, nil
}

// logStep logs every transition (a phase change or the end) at info, with
// the reason; a step that keeps waiting is logged at debug.
func (h *Handler) logStep(ctx context.Context, prev, next lifecycle.State, acts []lifecycle.Action, obs lifecycle.Observation) {
	kinds := make([]string, len(acts))
	for i, a := range acts {
		kinds[i] = string(a.Kind)
	}
	if next.Phase != prev.Phase {
		h.Log.InfoContext(ctx, "lifecycle transition", "from", prev.Phase, "to", next.Phase, "outcome", next.Outcome,
			"result", next.Result, "reason", next.Reason, "actions", kinds, "elapsed", obs.Now.Sub(next.Request.At).Round(time.Millisecond))
		return
	}
	waiting := make([]string, 0, len(obs.Probes))
	for _, r := range obs.Probes {
		waiting = append(waiting, r.Name+": "+string(r.Status)+" "+r.Detail)
	}
	h.Log.DebugContext(ctx, "lifecycle waiting", "phase", next.Phase, "wake_at", next.WakeAt, "actions", kinds,
		"probes", waiting, "targets_error", obs.TargetsErr, "step", next.Steps)
}

// metrics emits the heartbeats sent and, once the action is over, its
// outcome: time to ready (or to warm, for the warm pool) and time to drain
// in seconds from the start of the action, and counts of the rest.
func (h *Handler) metrics(ctx context.Context, fleet string, s lifecycle.State, heartbeats int) {
	var ms []logging.Metric
	if heartbeats > 0 {
		ms = append(ms, logging.Metric{Name: "Heartbeats", Value: float64(heartbeats), Unit: logging.Count})
	}
	if s.Done() {
		elapsed := s.DoneAt.Sub(s.Request.At).Seconds()
		switch {
		case s.Outcome == lifecycle.Ready && s.Gate == lifecycle.GateBoot:
			ms = append(ms, logging.Metric{Name: "TimeToWarm", Value: elapsed, Unit: logging.Seconds})
		case s.Outcome == lifecycle.Ready:
			ms = append(ms, logging.Metric{Name: "TimeToReady", Value: elapsed, Unit: logging.Seconds})
		case s.Outcome == lifecycle.Drained:
			ms = append(ms, logging.Metric{Name: "TimeToDrain", Value: elapsed, Unit: logging.Seconds})
		case s.Outcome == lifecycle.Abandoned:
			ms = append(ms, logging.Metric{Name: "Abandoned", Value: 1, Unit: logging.Count})
		case s.Outcome == lifecycle.Expired:
			ms = append(ms, logging.Metric{Name: "HookExpired", Value: 1, Unit: logging.Count})
		case s.Outcome == lifecycle.Gone:
			ms = append(ms, logging.Metric{Name: "HookGone", Value: 1, Unit: logging.Count})
		case s.Outcome == lifecycle.Unverified:
			ms = append(ms, logging.Metric{Name: "DrainUnverified", Value: 1, Unit: logging.Count})
		}
	}
	h.emit(ctx, fleet, ms...)
}

func (h *Handler) emit(ctx context.Context, fleet string, ms ...logging.Metric) {
	h.report().Emit(ctx, fleet, ms...)
}

func (h *Handler) report() invocation.Reporter {
	return invocation.Reporter{Log: h.Log, Metrics: h.Metrics}
}

func transition(t string) lifecycle.Transition {
	if t == event.TransitionTerminating {
		return lifecycle.Terminating
	}
	return lifecycle.Launching
}
