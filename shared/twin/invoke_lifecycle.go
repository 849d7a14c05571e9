package twin

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/stampkit/stampkit/shared/asg"
	"github.com/stampkit/stampkit/shared/config"
	"github.com/stampkit/stampkit/shared/elb"
	"github.com/stampkit/stampkit/shared/event"
	"github.com/stampkit/stampkit/shared/hooks"
	"github.com/stampkit/stampkit/shared/lifecycle"
	"github.com/stampkit/stampkit/shared/memstore"
)

// NeverReady, as LifecycleInvocation.ReadyAfter, is an instance whose
// application never answers its probes.
const NeverReady time.Duration = -1

// LifecycleInvocation is the world one in-process invocation of the
// lifecycle handler sees: the instance of the event, in a group with target
// groups.
type LifecycleInvocation struct {
	// Fleet is the fleet's name; empty is FleetName.
	Fleet string
	// GroupName is the group the fleet manages; empty means the group the
	// event names. Another group's actions are ignored, as in AWS.
	GroupName string
	// Policy is the fleet's lifecycle policy; nil means DefaultHooks.
	Policy *lifecycle.Policy
	// ReadyAfter is how long after the lifecycle action began the
	// instance passes its probes; NeverReady is never.
	ReadyAfter time.Duration
	// TargetGroups are the group's target groups (nil: TargetGroupARN). A
	// terminating instance drains from each from the event's time, for
	// DeregistrationDelay: Auto Scaling deregisters it before the hook's
	// wait begins.
	TargetGroups        []string
	DeregistrationDelay time.Duration
	// Registered keeps a terminating instance registered (healthy) in its
	// target groups until the handler deregisters it, as for target groups
	// attached outside the group's own list, which Auto Scaling does not
	// drain.
	Registered bool
	// Now is the handler's clock; zero means the event's time plus
	// Delay (a late delivery).
	Now   time.Time
	Delay time.Duration
	// Follow delivers each wake-up the handler schedules at its due time,
	// on a virtual clock, until the action ends.
	Follow bool
	// Log receives the handler's JSON log lines and EMF records.
	Log io.Writer
}

// LifecycleResult is what an invocation of the lifecycle handler did.
type LifecycleResult struct {
	Effects []Effect
	// Invocations counts the event and the wake-ups delivered.
	Invocations int
	// State is the action's record afterwards; nil when the handler kept
	// none (an event it ignored).
	State *lifecycle.State
}

// InvokeLifecycle runs the real lifecycle handler (shared/hooks) on raw
// against fakes of its ports: the action's instance becomes ready
// inv.ReadyAfter after the action began, drains from inv.TargetGroups, and
// each wake-up is recorded (and with inv.Follow, delivered).
func InvokeLifecycle(ctx context.Context, raw []byte, inv LifecycleInvocation) (LifecycleResult, error) {
	ev, _ := decodeFirst(raw)
	action, _ := ev.Detail.(*event.LifecycleAction)
	start, now := invocationTimes(ev, inv.Now, inv.Delay)
	group := cmp.Or(inv.GroupName, eventGroup(ev), DefaultConfig().Group)
	policy := inv.Policy
	if policy == nil {
		policy = DefaultHooks()
	}
	tgs := inv.TargetGroups
	if tgs == nil {
		tgs = []string{TargetGroupARN}
	}
	cfg := config.Config{Table: "twin", Namespace: config.DefaultNamespace, Fleets: []config.Fleet{{
		Name: Config{Fleet: inv.Fleet}.fleet(), Group: group, Lifecycle: *policy,
	}}}
	if err := cfg.Validate(); err != nil {
		return LifecycleResult{}, fmt.Errorf("invocation config: %w", err)
	}
	w := newWorld(now)
	f := &hookFakes{w: w, group: group, targetGroups: tgs, delay: inv.DeregistrationDelay,
		start: start, readyAfter: inv.ReadyAfter, done: map[string]bool{}, drainFrom: map[string]time.Time{}}
	if action != nil {
		f.instance = action.InstanceID
	}
	if !inv.Registered {
		for _, tg := range tgs {
			f.drainFrom[tg] = start
		}
	}
	store := memstore.New(w.clk)
	log, metrics := w.logger(inv.Log)
	h := &hooks.Handler{
		Config: cfg, Hooks: f, Groups: f, Targets: f, Prober: f, Scheduler: w,
		Store: store, Clock: w.clk, Log: log, Metrics: metrics,
	}
	state := func() (*lifecycle.State, error) {
		if action == nil {
			return nil, nil
		}
		data, version, err := store.Load(ctx, hooks.StateKey(action.Token))
		if err != nil || version == 0 {
			return nil, err
		}
		var s lifecycle.State
		if err := json.Unmarshal(data, &s); err != nil {
			return nil, fmt.Errorf("decoding lifecycle action %s: %w", action.Token, err)
		}
		return &s, nil
	}
	phase := func() string {
		if s, err := state(); err == nil && s != nil {
			return string(s.Phase)
		}
		return ""
	}
	n, err := w.drive(ctx, raw, inv.Follow, func(ctx context.Context, raw []byte) error { return h.Handle(ctx, raw) }, phase)
	res := LifecycleResult{Effects: w.effects, Invocations: n}
	if err != nil {
		return res, fmt.Errorf("invoking lifecycle: %w", err)
	}
	if res.State, err = state(); err != nil {
		return res, err
	}
	return res, nil
}

// hookFakes serves the lifecycle handler's ports for the one instance of
// the event.
type hookFakes struct {
	w            *world
	group        string
	targetGroups []string
	delay        time.Duration
	instance     string
	start        time.Time
	readyAfter   time.Duration
	done         map[string]bool // tokens completed
	// drainFrom says when the instance began to drain from each target
	// group; a target group without an entry still has it registered.
	drainFrom map[string]time.Time
}

var (
	_ hooks.Hooks     = (*hookFakes)(nil)
	_ hooks.Groups    = (*hookFakes)(nil)
	_ hooks.Targets   = (*hookFakes)(nil)
	_ hooks.Prober    = (*hookFakes)(nil)
	_ hooks.Scheduler = (*world)(nil)
)

func (f *hookFakes) active(group, token, id string) error {
	if group != f.group || id != f.instance || f.done[token] {
		return noActiveAction(id)
	}
	return nil
}

// CompleteLifecycleAction ends the action; a second completion finds no
// active action, as in Auto Scaling.
func (f *hookFakes) CompleteLifecycleAction(_ context.Context, c asg.LifecycleCompletion) error {
	if err := f.active(c.Group, c.Token, c.InstanceID); err != nil {
		return err
	}
	f.done[c.Token] = true
	f.w.record(EffectCompleted, "%s %s (group %s, hook %s)", c.Result, c.InstanceID, c.Group, c.Hook)
	return nil
}

// RecordHeartbeat restarts the hook's heartbeat timeout.
func (f *hookFakes) RecordHeartbeat(_ context.Context, l asg.LifecycleAction) error {
	if err := f.active(l.Group, l.Token, l.InstanceID); err != nil {
		return err
	}
	f.w.record(EffectHeartbeat, "%s (group %s, hook %s)", l.InstanceID, l.Group, l.Hook)
	return nil
}

// Describe reports the group with its target groups.
func (f *hookFakes) Describe(_ context.Context, name string) (asg.Group, error) {
	if name != f.group {
		return asg.Group{}, groupNotFound(name)
	}
	return asg.Group{Name: name, TargetGroupARNs: f.targetGroups}, nil
}

func (f *hookFakes) targetGroup(arn string) error {
	for _, tg := range f.targetGroups {
		if tg == arn {
			return nil
		}
	}
	return notRegistered(arn)
}

// TargetHealth lists the instance as healthy while registered, draining
// for the deregistration delay, then not at all.
func (f *hookFakes) TargetHealth(_ context.Context, arn string) ([]elb.Target, error) {
	if err := f.targetGroup(arn); err != nil {
		return nil, err
	}
	from, draining := f.drainFrom[arn]
	switch {
	case !draining:
		return []elb.Target{{ID: f.instance, Port: 8080, State: elb.StateHealthy}}, nil
	case f.w.clk.Now().Before(from.Add(f.delay)):
		return []elb.Target{{ID: f.instance, Port: 8080, State: elb.StateDraining, Reason: "Target.DeregistrationInProgress"}}, nil
	}
	return nil, nil
}

// Deregister starts the instance's drain from a target group, unless it
// already drains there.
func (f *hookFakes) Deregister(_ context.Context, arn, id string) error {
	if err := f.targetGroup(arn); err != nil {
		return err
	}
	if _, ok := f.drainFrom[arn]; !ok && id == f.instance {
		f.drainFrom[arn] = f.w.clk.Now()
	}
	f.w.record(EffectDeregistered, "%s from %s", id, arn)
	return nil
}

// DeregistrationDelay is the delay every target group has.
func (f *hookFakes) DeregistrationDelay(_ context.Context, arn string) (time.Duration, error) {
	if err := f.targetGroup(arn); err != nil {
		return 0, err
	}
	return f.delay, nil
}

// Probe passes once the instance is ready; before that, and forever for
// NeverReady, the application refuses connections.
func (f *hookFakes) Probe(_ context.Context, id string, p lifecycle.Probe, _ string) lifecycle.ProbeResult {
	r := lifecycle.ProbeResult{Name: p.Name, Status: lifecycle.Pending, Detail: "connection refused"}
	switch {
	case id != f.instance:
		r.Status, r.Detail = lifecycle.Error, "instance not found"
	case f.readyAfter < 0 || f.w.clk.Now().Before(f.start.Add(f.readyAfter)):
	case p.Kind == lifecycle.HTTP:
		r.Status, r.Detail = lifecycle.Pass, "HTTP 200"
	default:
		r.Status, r.Detail = lifecycle.Pass, "ok"
	}
	return r
}
