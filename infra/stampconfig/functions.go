package stampconfig

import "time"

// LifecycleTimeout is the lifecycle function's timeout. One invocation
// loads the action's state, runs each pending probe once (an HTTP probe
// waits at most its own timeout, lifecycle.DefaultHTTPTimeout unless set;
// an SSM probe only sends or reads a command; the EC2 status probe is one
// call) and makes a few AWS calls. Config.Validate keeps a fleet's HTTP
// probes within half of it. It is short because the wake queue's
// visibility timeout must be at least this long (LifecycleWakeVisibility).
const LifecycleTimeout = 20 * time.Second

// LifecycleWakeVisibility is the lifecycle wake queue's visibility timeout:
// a wake-up whose invocation failed is delivered again this long after it
// was received. Lambda accepts no less than the function timeout for an
// SQS event source; the 10 s above it cover the poller's hand-off. The
// retry of the wake-up that sends a hook's heartbeat must still come
// before the hook expires, so every fleet's heartbeat margin
// (lifecycle.HeartbeatMargin) must be longer; Config.Validate checks. Six
// times the timeout, Lambda's general advice, would return a failed
// wake-up after the hook had expired and the launch been abandoned.
const LifecycleWakeVisibility = LifecycleTimeout + wakeHandOff

// wakeHandOff is how much longer than the lifecycle function's timeout its
// wake queue's visibility timeout is (LifecycleWakeVisibility says why).
const wakeHandOff = 10 * time.Second

// WakeVisibility is the lifecycle wake queue's visibility timeout for a
// lifecycle function with the given timeout.
func WakeVisibility(lifecycleTimeout time.Duration) time.Duration {
	return lifecycleTimeout + wakeHandOff
}

// Names of the lifecycle hooks every group of a fleet carries (the peer
// group's too). Hook names are unique per group, so fixed names cannot
// clash between groups; other tools' hooks on the same group have other
// names, and the lifecycle rule matches only these.
const (
	LaunchHookName    = "stampkit-launch"
	TerminateHookName = "stampkit-terminate"
)

// HookNames returns the names of the toolkit's lifecycle hooks.
func HookNames() []string { return []string{LaunchHookName, TerminateHookName} }
