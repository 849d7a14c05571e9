package awsproxy

import (
	"net/http"
	"sync"
	"time"
)

// autoScalingXMLNS is the Auto Scaling Query API's XML namespace.
const autoScalingXMLNS = "http://autoscaling.amazonaws.com/doc/2011-01-01/"

// Lifecycle action results.
const (
	Continue = "CONTINUE"
	Abandon  = "ABANDON"
)

// Lifecycle models Auto Scaling lifecycle actions, which moto neither enacts
// nor serves (CompleteLifecycleAction and RecordLifecycleActionHeartbeat
// answer HTTP 500 NotImplemented). It follows the Amazon EC2 Auto Scaling API
// Reference, CompleteLifecycleAction and RecordLifecycleActionHeartbeat, and
// the user guide's "Amazon EC2 Auto Scaling lifecycle hooks" ("Complete a
// lifecycle action", "Configure a notification target… heartbeat timeout"):
//
//   - an action exists only once the test registers it (Pend): moto launches
//     and terminates without waiting for hooks;
//   - it is named by its token, or by its instance ID, with the group and hook
//     name; a heartbeat restarts its heartbeat timeout, but never past the
//     global timeout (100 heartbeat timeouts or 48 hours, whichever is less);
//   - it ends once: a completion with CONTINUE or ABANDON, or the timeout,
//     which applies the hook's default result;
//   - a completion or heartbeat for an action that has ended, or that never
//     existed, is Auto Scaling's ValidationError "No active Lifecycle Action
//     found with token …" (or "… with instance ID …" when named by instance),
//     what awserr.IsNoActiveLifecycleAction recognises.
//
// What Auto Scaling then does with the instance (puts it in service,
// terminates it) is not enacted either: moto's instance is untouched.
type Lifecycle struct {
	p       *Proxy
	mu      sync.Mutex
	actions []*action
}

// LifecycleAction is an instance held in a wait state by a lifecycle hook.
type LifecycleAction struct {
	Group      string
	Hook       string
	InstanceID string
	// Token is the action's token, as the lifecycle event carries it.
	Token string
	// Transition is "autoscaling:EC2_INSTANCE_LAUNCHING" or
	// "autoscaling:EC2_INSTANCE_TERMINATING"; informational.
	Transition string
	// HeartbeatTimeout is the hook's heartbeat timeout, 30 s to 7200 s; zero
	// means the default, 3600 s.
	HeartbeatTimeout time.Duration
	// DefaultResult applies when the action times out; "" means Abandon, the
	// hook's default.
	DefaultResult string
}

// LifecycleOutcome is how a lifecycle action ended.
type LifecycleOutcome struct {
	Result string // Continue or Abandon
	// TimedOut is true when no completion came in time and Result is the
	// hook's default result.
	TimedOut bool
	At       time.Time
	// Heartbeats counts the heartbeats accepted before the end.
	Heartbeats int
	// Completions counts every CompleteLifecycleAction naming the action,
	// the one accepted and any refused after it.
	Completions int
}

type action struct {
	LifecycleAction
	expires, deadline time.Time
	outcome           *LifecycleOutcome
	heartbeats        int
	completions       int
}

func newLifecycle(p *Proxy) *Lifecycle { return &Lifecycle{p: p} }

func (l *Lifecycle) reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.actions = nil
}

// Pend registers a pending action, as Auto Scaling creates one when it puts
// an instance into Pending:Wait or Terminating:Wait, and starts its heartbeat
// timeout on the proxy's clock.
func (l *Lifecycle) Pend(a LifecycleAction) {
	if a.HeartbeatTimeout == 0 {
		a.HeartbeatTimeout = time.Hour
	}
	if a.DefaultResult == "" {
		a.DefaultResult = Abandon
	}
	now := l.p.clock()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.actions = append(l.actions, &action{
		LifecycleAction: a,
		expires:         now.Add(a.HeartbeatTimeout),
		deadline:        now.Add(min(100*a.HeartbeatTimeout, 48*time.Hour)),
	})
}

// Outcome returns how the action with token ended; ok is false while it is
// pending or when there is no such action.
func (l *Lifecycle) Outcome(token string) (o LifecycleOutcome, ok bool) {
	now := l.p.clock()
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, a := range l.actions {
		a.expire(now)
		if a.Token == token && a.outcome != nil {
			return *a.outcome, true
		}
	}
	return LifecycleOutcome{}, false
}

// Pending returns the actions that have not ended.
func (l *Lifecycle) Pending() []LifecycleAction {
	now := l.p.clock()
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []LifecycleAction
	for _, a := range l.actions {
		if a.expire(now); a.outcome == nil {
			out = append(out, a.LifecycleAction)
		}
	}
	return out
}

// expire ends the action with its default result once its timeout passed.
func (a *action) expire(now time.Time) {
	if a.outcome != nil || now.Before(a.expires) {
		return
	}
	a.outcome = &LifecycleOutcome{Result: a.DefaultResult, TimedOut: true, At: a.expires, Heartbeats: a.heartbeats, Completions: a.completions}
}

func (l *Lifecycle) handles(op string) bool {
	return op == "CompleteLifecycleAction" || op == "RecordLifecycleActionHeartbeat"
}

func (l *Lifecycle) serve(req *request) answer {
	a := l.respond(req)
	a.model = "lifecycle"
	return a
}

func (l *Lifecycle) respond(req *request) answer {
	f := req.form
	group, hook := f.Get("AutoScalingGroupName"), f.Get("LifecycleHookName")
	token, instance := f.Get("LifecycleActionToken"), f.Get("InstanceId")
	result := f.Get("LifecycleActionResult")
	now := l.p.clock()
	l.mu.Lock()
	defer l.mu.Unlock()

	if token == "" && instance == "" {
		return errorAnswer(req, http.StatusBadRequest, "ValidationError", "Either LifecycleActionToken or InstanceId must be specified.")
	}
	complete := req.operation == "CompleteLifecycleAction"
	if complete && result != Continue && result != Abandon {
		return errorAnswer(req, http.StatusBadRequest, "ValidationError", "Invalid lifecycle action result: "+result+". Valid values are CONTINUE and ABANDON.")
	}
	var found *action
	for _, a := range l.actions {
		a.expire(now)
		if a.Group != group || a.Hook != hook || token != "" && a.Token != token || instance != "" && a.InstanceID != instance {
			continue
		}
		if complete {
			a.completions++
			if a.outcome != nil {
				a.outcome.Completions = a.completions
			}
		}
		if a.outcome == nil {
			found = a
		}
	}
	if found == nil {
		msg := "No active Lifecycle Action found with token " + token
		if token == "" {
			msg = "No active Lifecycle Action found with instance ID " + instance
		}
		return errorAnswer(req, http.StatusBadRequest, "ValidationError", msg)
	}
	if complete {
		found.outcome = &LifecycleOutcome{Result: result, At: now, Heartbeats: found.heartbeats, Completions: found.completions}
	} else {
		found.heartbeats++
		found.expires = now.Add(found.HeartbeatTimeout)
		if found.expires.After(found.deadline) {
			found.expires = found.deadline
		}
	}
	return queryResult(req.operation, autoScalingXMLNS, "")
}
