package twin

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/aws/smithy-go"

	"github.com/stampkit/stampkit/shared/asg"
	"github.com/stampkit/stampkit/shared/clock"
	"github.com/stampkit/stampkit/shared/config"
	"github.com/stampkit/stampkit/shared/elb"
	"github.com/stampkit/stampkit/shared/event"
	"github.com/stampkit/stampkit/shared/hooks"
	"github.com/stampkit/stampkit/shared/lifecycle"
	"github.com/stampkit/stampkit/shared/logging"
	"github.com/stampkit/stampkit/shared/memstore"
)

// Names of the simulated group's lifecycle hooks and target group.
const (
	LaunchHook     = "stampkit-launch"
	TerminateHook  = "stampkit-terminate"
	TargetGroupARN = "arn:aws:elasticloadbalancing:" + region + ":" + account + ":targetgroup/web/73e2d6bc24d8a067"
)

// Lifecycle timeline events, in LifecycleEvent.What.
const (
	// LaunchGated: a launching instance reached Pending:Wait.
	LaunchGated = "launch gated"
	// LaunchReady: the handler completed the launch with CONTINUE.
	LaunchReady = "ready"
	// LaunchAbandoned: the handler completed the launch with ABANDON.
	LaunchAbandoned = "abandoned"
	// Drained: the handler completed a termination once the target drained.
	Drained = "drained"
	// Warmed: the handler completed a launch into the warm pool; the
	// instance is stopped there once booted.
	Warmed = "warmed"
	// HookExpired: nobody completed the action or recorded a heartbeat
	// within the hook's heartbeat timeout, and Auto Scaling applied its
	// default result (the CDK app's: ABANDON at launch, CONTINUE at
	// termination).
	HookExpired = "expired"
)

// DefaultHooks is the lifecycle policy the demo fleet runs: launches are
// gated on an HTTP health check of the application, probed every 10 s for
// up to 15 minutes; terminations drain through the target group.
func DefaultHooks() *lifecycle.Policy {
	return &lifecycle.Policy{
		HeartbeatTimeout: clock.Duration(lifecycle.DefaultHeartbeatTimeout),
		Launch: lifecycle.Launch{
			Probes:   []lifecycle.Probe{{Name: "app", Kind: lifecycle.HTTP, Port: 8080, Path: "/healthz"}},
			Timeout:  clock.Duration(lifecycle.DefaultLaunchTimeout),
			Interval: clock.Duration(10 * time.Second),
		},
		Terminate: lifecycle.Terminate{Interval: clock.Duration(10 * time.Second)},
	}
}

// heldAction is an instance waiting at a lifecycle hook.
type heldAction struct {
	in         *instance
	transition string
	at         time.Duration
	// beat is when the hook's heartbeat timeout last started: at the
	// hold, then at each heartbeat recorded.
	beat time.Duration
	// token is the action's; ended says how it ended, if it has:
	// completed with a result, expired, or released.
	token string
	ended string
	// retrying is set when the hook timed out while a failed delivery
	// about the action waited for its retry.
	retrying bool
}

// How a lifecycle action ended, in heldAction.ended.
const (
	endedContinue = "continue"
	endedAbandon  = "abandon"
	endedExpired  = "expired"
	endedReleased = "released"
)

// hookSim gives the group its lifecycle hooks: it publishes the lifecycle
// actions on the bus to the real lifecycle handler (shared/hooks) and
// serves the handler's ports from the simulated group, load balancer and
// instances. Deliveries draw their delays from their own random stream, so
// that a policy that launches more instances does not move the delivery of
// another's alarms.
type hookSim struct {
	s       *sim
	h       *hooks.Handler
	fn      *lambda
	rng     *rand.Rand
	actions map[string]*heldAction
	// held lists every action held, in order.
	held []*heldAction
	// heartbeat is the hooks' heartbeat timeout.
	heartbeat time.Duration
}

func (s *sim) attachHooks() error {
	p := *s.cfg.Hooks
	// As deployed, the lifecycle function is given no scaling policy.
	c := config.Config{Table: "twin", Namespace: config.DefaultNamespace, Fleets: []config.Fleet{{
		Name: s.cfg.fleet(), Group: s.cfg.Group, Lifecycle: p,
		// A blue/green fleet's peer group is the fleet's too: the handler
		// finds the fleet of a lifecycle action by either group.
		Rollout: s.rolloutPolicy(),
	}}}
	if err := c.Validate(); err != nil {
		return fmt.Errorf("lifecycle hooks: %w", err)
	}
	hs := &hookSim{s: s, rng: rand.New(rand.NewPCG(s.cfg.Seed, streamHooks)), actions: map[string]*heldAction{},
		heartbeat: p.WithDefaults().HeartbeatTimeout.Std()}
	hs.h = &hooks.Handler{
		Config: c, Hooks: hs, Groups: hs, Targets: hs, Prober: hs, Scheduler: hs,
		Store: s.store(memstore.New(s)), Clock: s, Log: s.handlerLog(nil),
	}
	if s.cfg.HandlerLog != nil {
		hs.h.Metrics = logging.NewMetrics(s.cfg.HandlerLog, c.Namespace, s.Now)
	}
	hs.fn = s.newLambda(LifecycleFunction, func(ctx context.Context, raw []byte) error { return hs.h.Handle(ctx, raw) })
	s.hooks = hs
	return nil
}

// The handler's ports, served by the twin.
var (
	_ hooks.Hooks     = (*hookSim)(nil)
	_ hooks.Groups    = (*hookSim)(nil)
	_ hooks.Targets   = (*hookSim)(nil)
	_ hooks.Prober    = (*hookSim)(nil)
	_ hooks.Scheduler = (*hookSim)(nil)
)

func (hs *hookSim) record(in *instance, transition, what string, wait time.Duration) {
	pool := transition == Launching && (in.fromPool || in.state == warming)
	hs.s.res.Lifecycle = append(hs.s.res.Lifecycle, LifecycleEvent{At: hs.s.Now(), InstanceID: in.id(), What: what, Transition: transition, Wait: wait, WarmPool: pool})
}

// hold puts in at the hook of transition and publishes the lifecycle
// action EventBridge would send.
func (hs *hookSim) hold(in *instance, transition string) {
	code, hook, detailType, origin, dest := 1, LaunchHook, event.DetailTypeLaunchLifecycleAction, event.PlaceEC2, event.PlaceAutoScalingGroup
	switch {
	case transition == Terminating:
		code, hook, detailType, origin, dest = 2, TerminateHook, event.DetailTypeTerminateLifecycleAction, event.PlaceAutoScalingGroup, event.PlaceEC2
	case in.state == warming:
		code, dest = 3, event.PlaceWarmPool
	case in.fromPool:
		code, origin = 4, event.PlaceWarmPool
	}
	token := fmt.Sprintf("%08x-%04x-4000-8000-%012x", uint32(hs.s.cfg.Seed), code, in.n)
	in.action = token
	a := &heldAction{in: in, transition: transition, at: hs.s.now, beat: hs.s.now, token: token}
	hs.actions[token] = a
	hs.held = append(hs.held, a)
	hs.watch(token, a)
	if transition == Launching {
		hs.record(in, transition, LaunchGated, 0)
	}
	raw, err := hs.s.bus.encode(detailType, event.SourceAutoScaling, hs.s.Now(),
		[]string{"arn:aws:autoscaling:" + region + ":" + account + ":autoScalingGroup:twin:autoScalingGroupName/" + in.g.name},
		lifecycleDetail{Token: token, Group: in.g.name, Hook: hook, InstanceID: in.id(), Transition: transition, Origin: origin, Destination: dest})
	if err != nil {
		hs.s.res.HandlerErrors = append(hs.s.res.HandlerErrors, err.Error())
		return
	}
	hs.send(token, raw, false)
}

// watch applies the hook's default result to a if it is still held when
// its heartbeat timeout, or the hook's global timeout, has passed: "If
// the lifecycle hook times out, Amazon EC2 Auto Scaling performs the
// action that you specified in the DefaultResult property"
// (LifecycleHook, EC2 Auto Scaling API reference,
// https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_LifecycleHook.html).
// The handler keeps a long wait alive with heartbeats, so in a run whose
// invocations all succeed no hook expires.
func (hs *hookSim) watch(token string, a *heldAction) {
	due := func() time.Duration { return min(a.beat+hs.heartbeat, a.at+lifecycle.GlobalTimeout(hs.heartbeat)) }
	hs.s.at(due(), prioFleet, func(context.Context) {
		if hs.actions[token] != a {
			return // completed, or the instance left the hook
		}
		if hs.s.now < due() {
			hs.watch(token, a) // a heartbeat moved the timeout on
			return
		}
		delete(hs.actions, token)
		a.in.action = ""
		result := asg.ResultContinue
		if a.transition == Launching {
			result = asg.ResultAbandon
		}
		a.ended, a.retrying = endedExpired, hs.s.retrying(token)
		hs.finish(a, result, true)
	})
}

// release forgets the action of an instance that leaves its hook without
// a completion (terminated while it waited): a later completion finds no
// active action, as in Auto Scaling.
func (hs *hookSim) release(in *instance) {
	if in.action != "" {
		if a := hs.actions[in.action]; a != nil {
			a.ended = endedReleased
		}
		delete(hs.actions, in.action)
		in.action = ""
	}
}

// send puts an event for the lifecycle function on the bus; queued marks
// a wake-up, which comes through the function's queue.
func (hs *hookSim) send(key string, raw []byte, queued bool) {
	hs.s.bus.send(hs.rng, "lifecycle:"+key, raw, hs.fn, queued)
}

type lifecycleDetail struct {
	Token       string `json:"LifecycleActionToken"`
	Group       string `json:"AutoScalingGroupName"`
	Hook        string `json:"LifecycleHookName"`
	InstanceID  string `json:"EC2InstanceId"`
	Transition  string `json:"LifecycleTransition"`
	Origin      string `json:"Origin"`
	Destination string `json:"Destination"`
}

func noActiveAction(id string) error {
	return &smithy.GenericAPIError{Code: "ValidationError", Message: "No active Lifecycle Action found with instance ID " + id}
}

// CompleteLifecycleAction moves a held instance on: a launch that
// continues goes InService and is registered with the target group; one
// abandoned is terminated and replaced; a termination ends.
func (hs *hookSim) CompleteLifecycleAction(ctx context.Context, c asg.LifecycleCompletion) error {
	return hs.s.call(ctx, svcAutoScaling, "CompleteLifecycleAction", true, func() error {
		a, ok := hs.actions[c.Token]
		if !ok || a.in.id() != c.InstanceID || c.Group != a.in.g.name {
			return noActiveAction(c.InstanceID)
		}
		delete(hs.actions, c.Token)
		a.in.action = ""
		a.ended = endedContinue
		if c.Result != asg.ResultContinue {
			a.ended = endedAbandon
		}
		hs.finish(a, c.Result, false)
		return nil
	})
}

// finish moves the instance of a, no longer held, on with result;
// expired marks the hook's default result.
func (hs *hookSim) finish(a *heldAction, result string, expired bool) {
	f, wait := a.in.g, hs.s.now-a.at
	what := func(w string) string {
		if expired {
			return HookExpired
		}
		return w
	}
	switch {
	case a.transition == Launching && a.in.state == warming && result == asg.ResultContinue:
		hs.record(a.in, a.transition, what(Warmed), wait)
		f.stopInPool(a.in)
	case a.transition == Launching && result == asg.ResultContinue:
		hs.record(a.in, a.transition, what(LaunchReady), wait)
		f.enterService(a.in)
	case a.transition == Launching:
		hs.record(a.in, a.transition, what(LaunchAbandoned), wait)
		f.gone(a.in)
		f.reconcile()
	default:
		hs.record(a.in, a.transition, what(Drained), wait)
		f.gone(a.in)
	}
}

// RecordHeartbeat restarts the action's heartbeat timeout while it is
// active.
func (hs *hookSim) RecordHeartbeat(ctx context.Context, l asg.LifecycleAction) error {
	return hs.s.call(ctx, svcAutoScaling, "RecordLifecycleActionHeartbeat", true, func() error {
		a, ok := hs.actions[l.Token]
		if !ok {
			return noActiveAction(l.InstanceID)
		}
		a.beat = hs.s.now
		return nil
	})
}

// Describe reports a group with its one target group.
func (hs *hookSim) Describe(ctx context.Context, name string) (asg.Group, error) {
	return callValue(hs.s, ctx, svcAutoScaling, "DescribeAutoScalingGroups", false, func() (asg.Group, error) {
		f := hs.s.group(name)
		if f == nil {
			return asg.Group{}, groupNotFound(name)
		}
		return asg.Group{Name: name, Min: int32(f.min), Max: int32(f.max), Desired: int32(f.desired), TargetGroupARNs: []string{f.tg}}, nil
	})
}

func notRegistered(arn string) error {
	return &smithy.GenericAPIError{Code: "TargetGroupNotFound", Message: "One or more target groups not found: " + arn}
}

// TargetHealth lists the target group's targets.
func (hs *hookSim) TargetHealth(ctx context.Context, arn string) ([]elb.Target, error) {
	return callValue(hs.s, ctx, svcELB, "DescribeTargetHealth", false, func() ([]elb.Target, error) { return hs.s.targetHealth(arn) })
}

// targetHealth lists the target group's targets: initial while health
// checks run, healthy, unhealthy once they fail, or draining until the
// deregistration delay ends, when the target leaves the list.
func (s *sim) targetHealth(arn string) ([]elb.Target, error) {
	f := s.groupByTarget(arn)
	if f == nil {
		return nil, notRegistered(arn)
	}
	var out []elb.Target
	for _, in := range f.live {
		t := elb.Target{ID: in.id(), Port: 8080}
		switch {
		case in.state == registered:
			t.State, t.Reason = elb.StateInitial, "Elb.RegistrationInProgress"
		case in.state == healthy:
			t.State = elb.StateHealthy
		case in.state == unhealthy:
			t.State, t.Reason = elb.StateUnhealthy, "Target.FailedHealthChecks"
		case in.state == draining && s.now < in.drainUntil:
			t.State, t.Reason = elb.StateDraining, "Target.DeregistrationInProgress"
		default:
			continue
		}
		out = append(out, t)
	}
	return out, nil
}

// Deregister drains a target still taking traffic; Auto Scaling has
// already deregistered a terminating instance, so this is usually a no-op.
func (hs *hookSim) Deregister(ctx context.Context, arn, id string) error {
	return hs.s.call(ctx, svcELB, "DeregisterTargets", true, func() error {
		if hs.s.groupByTarget(arn) == nil {
			return notRegistered(arn)
		}
		in := hs.s.byID[id]
		if in == nil || in.g.tg != arn || in.state == pending || in.state > draining {
			return &smithy.GenericAPIError{Code: "InvalidTarget", Message: "The following targets are not registered: '" + id + "'"}
		}
		if in.isInService() {
			in.state, in.drainUntil = draining, hs.s.now+hs.s.cfg.DeregistrationDelay
		}
		return nil
	})
}

// DeregistrationDelay is the target group's configured delay.
func (hs *hookSim) DeregistrationDelay(ctx context.Context, arn string) (time.Duration, error) {
	return callValue(hs.s, ctx, svcELB, "DescribeTargetGroupAttributes", false, func() (time.Duration, error) {
		if hs.s.groupByTarget(arn) == nil {
			return 0, notRegistered(arn)
		}
		return hs.s.cfg.DeregistrationDelay, nil
	})
}

// Probe answers from the instance model: the application answers HTTP once
// the instance has booted and the application warmed up; before that the
// connection is refused. Other probes (EC2 status, SSM) pass once booted.
func (hs *hookSim) Probe(ctx context.Context, id string, p lifecycle.Probe, _ string) lifecycle.ProbeResult {
	var r lifecycle.ProbeResult
	if err := hs.s.call(ctx, svcProbe, string(p.Kind), false, func() error {
		r = hs.probe(id, p)
		return nil
	}); err != nil {
		return lifecycle.ProbeResult{Name: p.Name, Status: lifecycle.Error, Detail: err.Error()}
	}
	return r
}

func (hs *hookSim) probe(id string, p lifecycle.Probe) lifecycle.ProbeResult {
	r := lifecycle.ProbeResult{Name: p.Name, Status: lifecycle.Pending, Detail: "connection refused"}
	in := hs.s.byID[id]
	switch {
	case in == nil || in.state == gone:
		r.Status, r.Detail = lifecycle.Error, "instance not found"
	case in.state == warm:
		r.Detail = "instance stopped"
	case p.Kind == lifecycle.HTTP && hs.s.now >= in.booted+hs.s.cfg.AppWarmup:
		r.Status, r.Detail = lifecycle.Pass, "HTTP 200"
	case p.Kind != lifecycle.HTTP && hs.s.now >= in.booted:
		r.Status, r.Detail = lifecycle.Pass, "ok"
	}
	return r
}

// WakeAt is the delayed message: at the due time a stampkit Tick goes on
// the bus to the handler.
func (hs *hookSim) WakeAt(ctx context.Context, key string, at time.Time) error {
	return hs.s.wakeAt(ctx, key, at, hs.send)
}

// wakeAt sends a handler's delayed wake-up (an SQS message with a delay):
// at the due time a stampkit Tick with key goes to send, as a wake-up.
func (s *sim) wakeAt(ctx context.Context, key string, at time.Time, send func(key string, raw []byte, queued bool)) error {
	return s.call(ctx, svcSQS, "SendMessage", true, func() error {
		s.at(at.Sub(s.start), prioBus, func(context.Context) {
			raw, err := s.bus.encode(event.DetailTypeTick, event.SourceStampkit, s.Now(), []string{},
				tickDetail{At: at.UTC().Format(time.RFC3339Nano), Key: key})
			if err != nil {
				s.res.HandlerErrors = append(s.res.HandlerErrors, err.Error())
				return
			}
			send(key, raw, true)
		})
		return nil
	})
}

type tickDetail struct {
	At  string `json:"at"`
	Key string `json:"key"`
}
