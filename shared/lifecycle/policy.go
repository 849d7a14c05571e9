// Package lifecycle decides what to do with an instance that an Auto Scaling
// lifecycle hook holds in a wait state: gate a launching instance on
// readiness probes, drain a terminating one, keep the hook alive with
// heartbeats while either waits, and say when to look again.
//
// It is pure: Step takes the policy, the state kept since the last step and
// what the handler observed, and returns the actions to apply, the next
// state and when to wake up. No I/O, no SDK types, and time is passed in, so
// the Lambda, the tests and the local twin get the same answer for the same
// inputs. The waiting itself is durable and done elsewhere (a delayed
// message); nothing here sleeps.
//
// # When the load balancer sees a launching instance
//
// Auto Scaling registers a launching instance with the group's target
// groups only after the launch hook completes: the instance leaves
// Pending:Wait, goes through Pending:Proceed and is registered just before
// it reaches InService ("How lifecycle hooks work", step 3:
// https://docs.aws.amazon.com/autoscaling/ec2/userguide/lifecycle-hooks-overview.html).
// While the gate runs, no target group health check covers the instance, so
// the gate probes the instance directly (HTTP on its private address, SSM
// Run Command, EC2 status checks) and never waits on target health; a
// CONTINUE is what lets the load balancer start its own checks.
//
// # Terminating instances
//
// The same page (step 4) says Auto Scaling deregisters a terminating
// instance from its load balancer before the terminate hook's wait state.
// The drain still deregisters from every target group of the group itself
// (idempotent, and it covers target groups attached outside the group's
// own list and deregistration still in flight), waits until ELB reports the
// target unused or gone, bounded by each target group's deregistration
// delay (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-target-groups.html#deregistration-delay),
// optionally runs a drain command through SSM, and then CONTINUEs. Every
// terminate path ends in CONTINUE: a failed drain command or a target that
// never leaves "draining" delays termination, never stops it. Target groups
// that cannot be read delay it by at most the deregistration delay (ELB's
// default 300 s when none was read) and slack from the start of the drain,
// and not at all when AWS refuses the read as such; the outcome is then
// Unverified.
package lifecycle

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/stampkit/stampkit/shared/clock"
)

// ProbeKind says how a probe checks an instance.
type ProbeKind string

// Probe kinds.
const (
	// HTTP sends GET http://<private IP>:<port><path>; a 2xx answer passes,
	// 502, 503 and 504 are not ready yet, any other answer fails.
	HTTP ProbeKind = "http"
	// SSM runs shell commands on the instance with SSM Run Command
	// (AWS-RunShellScript); exit status 0 passes.
	SSM ProbeKind = "ssm"
	// EC2Status reads the EC2 instance and system status checks; both "ok"
	// passes, either "impaired" fails.
	EC2Status ProbeKind = "ec2-status"
)

// Defaults applied by WithDefaults.
const (
	// DefaultHeartbeatTimeout matches the hooks the CDK app creates; a
	// policy for a hook with another timeout must say so.
	DefaultHeartbeatTimeout = 300 * time.Second
	DefaultLaunchTimeout    = 15 * time.Minute
	DefaultInterval         = 10 * time.Second
	// DefaultSlack is how long past a target group's deregistration delay
	// the drain waits for ELB to report the target unused.
	DefaultSlack = 30 * time.Second
	// DefaultDeregistrationDelay is ELB's default deregistration delay
	// (deregistration_delay.timeout_seconds): what a drain that cannot
	// read its target groups assumes.
	DefaultDeregistrationDelay = 300 * time.Second
	DefaultHTTPTimeout         = 3 * time.Second
	DefaultSSMTimeout          = time.Minute
	DefaultSSMDocument         = "AWS-RunShellScript"
	minHeartbeatTimeout        = 30 * time.Second
	maxHeartbeatTimeout        = 7200 * time.Second
	// SSM Run Command accepts an execution timeout of 30 s to 48 h.
	minSSMTimeout = 30 * time.Second
	maxSSMTimeout = 48 * time.Hour
)

// Policy is one fleet's lifecycle policy: what makes a launching instance
// ready and how a terminating one drains. The zero Policy is usable: no
// launch probes (CONTINUE at once) and a drain through deregistration.
type Policy struct {
	// HeartbeatTimeout is the hooks' heartbeat timeout (30 s to 2 h). It
	// must match the hooks: the CDK app creates them from this value.
	HeartbeatTimeout clock.Duration `json:"heartbeatTimeout,omitempty"`
	// Launch is the readiness gate a launching instance passes.
	Launch Launch `json:"launch,omitzero"`
	// Terminate is how a terminating instance drains.
	Terminate Terminate `json:"terminate,omitzero"`
}

// Launch configures the launch readiness gate.
type Launch struct {
	// Probes must all pass before the instance may take traffic. None means
	// CONTINUE at once.
	Probes []Probe `json:"probes,omitempty"`
	// Timeout bounds the gate from the start of the lifecycle action; when
	// it passes with a probe still pending the instance is abandoned. It is
	// capped a margin below the hook's global timeout.
	Timeout clock.Duration `json:"timeout,omitempty"`
	// Interval is the time between probe rounds; at most half the heartbeat
	// timeout.
	Interval clock.Duration `json:"interval,omitempty"`
}

// Terminate configures the drain of a terminating instance.
type Terminate struct {
	// Command, when set, is an SSM probe run after the instance left every
	// target group (stop a worker, flush a queue). Its failure is logged;
	// the instance terminates anyway.
	Command *Probe `json:"command,omitempty"`
	// Interval is the time between drain checks.
	Interval clock.Duration `json:"interval,omitempty"`
	// Slack is how long past the deregistration delay (and past the
	// command's timeout) the drain waits before going on regardless.
	Slack clock.Duration `json:"slack,omitempty"`
}

// Probe is one readiness check.
type Probe struct {
	// Name identifies the probe in state, logs and metrics.
	Name string `json:"name"`
	// Kind says how the probe checks the instance: HTTP, SSM or EC2Status.
	Kind ProbeKind `json:"kind"`
	// Port and Path address an HTTP probe.
	Port int    `json:"port,omitempty"`
	Path string `json:"path,omitempty"`
	// Commands are the shell commands of an SSM probe, run by Document
	// (default AWS-RunShellScript).
	Commands []string `json:"commands,omitempty"`
	Document string   `json:"document,omitempty"`
	// Timeout bounds one HTTP request or one SSM command execution.
	Timeout clock.Duration `json:"timeout,omitempty"`
	// AllowedFailures is how many failed results the gate tolerates; one
	// more abandons the instance. A probe that cannot tell yet (connection
	// refused, HTTP 502, 503 or 504, command still running, status
	// initializing) is pending, not failed: only the gate's timeout ends
	// that wait.
	AllowedFailures int `json:"allowedFailures,omitempty"`
	// WarmPool says whether the probe also gates a launch into the warm
	// pool. Unset, EC2 status and SSM probes do (they check the boot) and
	// HTTP probes do not: Auto Scaling stops a warmed instance as soon as
	// the hook completes, so the application's readiness is checked when
	// the instance leaves the pool, with every probe.
	WarmPool *bool `json:"warmPool,omitempty"`
}

// GatesWarmPool reports whether p runs when an instance launches into the
// warm pool.
func (p Probe) GatesWarmPool() bool {
	if p.WarmPool != nil {
		return *p.WarmPool
	}
	return p.Kind != HTTP
}

// GlobalTimeout is the longest Auto Scaling keeps an instance in a wait
// state however many heartbeats it records: 100 heartbeat timeouts or 48
// hours, whichever is smaller (LifecycleHook.GlobalTimeout,
// https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_LifecycleHook.html).
func GlobalTimeout(heartbeat time.Duration) time.Duration {
	return min(100*heartbeat, 48*time.Hour)
}

// HeartbeatMargin is how long before the hook's timeout a heartbeat is
// due: a third of the timeout, at most a minute, which leaves room for a
// late wake-up (queue delivery, a cold start).
func HeartbeatMargin(heartbeat time.Duration) time.Duration {
	return min(heartbeat/3, time.Minute)
}

// WithDefaults returns p with every unset duration and probe field filled
// in.
func (p Policy) WithDefaults() Policy {
	def := func(d *clock.Duration, v time.Duration) {
		if *d == 0 {
			*d = clock.Duration(v)
		}
	}
	def(&p.HeartbeatTimeout, DefaultHeartbeatTimeout)
	def(&p.Launch.Timeout, DefaultLaunchTimeout)
	def(&p.Launch.Interval, DefaultInterval)
	def(&p.Terminate.Interval, DefaultInterval)
	def(&p.Terminate.Slack, DefaultSlack)
	probes := make([]Probe, len(p.Launch.Probes))
	for i, pr := range p.Launch.Probes {
		probes[i] = pr.withDefaults()
	}
	p.Launch.Probes = probes
	if p.Terminate.Command != nil {
		c := p.Terminate.Command.withDefaults()
		p.Terminate.Command = &c
	}
	return p
}

func (p Probe) withDefaults() Probe {
	switch p.Kind {
	case HTTP:
		if p.Timeout == 0 {
			p.Timeout = clock.Duration(DefaultHTTPTimeout)
		}
		if p.Path == "" {
			p.Path = "/"
		}
	case SSM:
		if p.Timeout == 0 {
			p.Timeout = clock.Duration(DefaultSSMTimeout)
		}
		if p.Document == "" {
			p.Document = DefaultSSMDocument
		}
	}
	return p
}

// Validate reports every problem with p, each naming the field.
func (p Policy) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", field, fmt.Sprintf(format, args...)))
	}
	hbOK := true
	if hb := p.HeartbeatTimeout.Std(); hb != 0 && (hb < minHeartbeatTimeout || hb > maxHeartbeatTimeout || hb%time.Second != 0) {
		bad("heartbeatTimeout", "%v is not a whole number of seconds from 30s to 2h", p.HeartbeatTimeout)
		hbOK = false
	}
	for field, d := range map[string]clock.Duration{
		"launch.timeout": p.Launch.Timeout, "launch.interval": p.Launch.Interval,
		"terminate.interval": p.Terminate.Interval, "terminate.slack": p.Terminate.Slack,
	} {
		if d < 0 {
			bad(field, "%v is negative", d)
		}
	}
	r := p.WithDefaults()
	hb := r.HeartbeatTimeout.Std()
	// What the heartbeat bounds is checked once the heartbeat is valid: a
	// bad one would fail every bound with it.
	if limit := GlobalTimeout(hb) - HeartbeatMargin(hb); hbOK && r.Launch.Timeout.Std() > limit {
		bad("launch.timeout", "%v is beyond what the hook allows with heartbeats (%v)", p.Launch.Timeout, limit)
	}
	// The wake-up after a heartbeat comes at most one interval later and
	// must come before the next heartbeat is due.
	for field, d := range map[string]clock.Duration{"launch.interval": r.Launch.Interval, "terminate.interval": r.Terminate.Interval} {
		if hbOK && (d.Std() > hb-HeartbeatMargin(hb) || d.Std() < time.Second) {
			bad(field, "%v must be from 1s to %v (heartbeat timeout %v less its margin)", d, hb-HeartbeatMargin(hb), hb)
		}
	}
	names := map[string]bool{}
	for i, pr := range p.Launch.Probes {
		field := fmt.Sprintf("launch.probes[%d]", i)
		if pr.Name == "" {
			bad(field+".name", "is empty")
		} else if names[pr.Name] {
			bad(field+".name", "%q names two probes", pr.Name)
		}
		names[pr.Name] = true
		pr.validate(field, bad)
	}
	if c := p.Terminate.Command; c != nil {
		if c.Kind != SSM {
			bad("terminate.command.kind", "%q: a drain command runs through SSM (kind %q)", c.Kind, SSM)
		}
		c.validate("terminate.command", bad)
	}
	return errors.Join(errs...)
}

// validate reports each problem with the probe at key through bad, under
// the field that holds it (launch.probes[0].port).
func (p Probe) validate(key string, bad func(field, format string, args ...any)) {
	if p.Timeout < 0 {
		bad(key+".timeout", "%v is negative", p.Timeout)
	}
	if p.AllowedFailures < 0 {
		bad(key+".allowedFailures", "%d is negative", p.AllowedFailures)
	}
	switch p.Kind {
	case HTTP:
		if p.Port < 1 || p.Port > 65535 {
			bad(key+".port", "%d is not 1-65535", p.Port)
		}
		if p.Path != "" && !strings.HasPrefix(p.Path, "/") {
			bad(key+".path", "%q does not start with /", p.Path)
		}
	case SSM:
		if len(p.Commands) == 0 {
			bad(key+".commands", "an SSM probe needs at least one command")
		}
		if t := p.Timeout.Std(); t != 0 && (t < minSSMTimeout || t > maxSSMTimeout) {
			bad(key+".timeout", "%v is not from 30s to 48h, the range SSM accepts", p.Timeout)
		}
	case EC2Status:
	default:
		bad(key+".kind", "%q is not %q, %q or %q", p.Kind, HTTP, SSM, EC2Status)
	}
}
