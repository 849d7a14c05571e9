package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/stampkit/stampkit/shared/clock"
	"github.com/stampkit/stampkit/shared/twin"
)

// invokeLifecycle runs the lifecycle handler on a lifecycle action against
// one instance that becomes ready after a delay, or never.
func invokeLifecycle(ctx context.Context, rest []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("invoke lifecycle", flag.ContinueOnError)
	fs.SetOutput(stderr)
	group := fs.String("group", "", "Auto Scaling group the fleet manages (default: with -config the stack's name for the fleet's group, else the one the event names)")
	readyAfter := fs.String("ready-after", "0s", `how long after the action began the instance passes its probes, or "never"`)
	launchTimeout := fs.Duration("launch-timeout", 15*time.Minute, "the readiness gate's timeout; past it the launch is abandoned; wins over the -config fleet's lifecycle.launch.timeout")
	targetGroups := fs.String("target-groups", twin.TargetGroupARN, `comma-separated target group ARNs of the group, or "none"`)
	delay := fs.Duration("deregistration-delay", 30*time.Second, "how long a terminating instance drains from its target groups; wins over the -config fleet's deregistrationDelaySeconds")
	registered := fs.Bool("registered", false, "a terminating instance is still registered in its target groups (attached outside the group), so the handler deregisters it")
	now := fs.String("now", "", "the handler's clock: RFC 3339, or +duration after the event's time (default: the event's time)")
	follow := fs.Bool("follow", false, "deliver each wake-up the handler schedules, on a virtual clock, until the action ends")
	fleet := addFleetFlags(fs)
	file, err := parseInvoke(fs, "lifecycle", rest, stderr)
	if err != nil {
		return err
	}
	own, err := fleet.load(stderr)
	if err != nil {
		return err
	}
	ready := twin.NeverReady
	if *readyAfter != "never" {
		d, err := time.ParseDuration(*readyAfter)
		if err != nil || d < 0 {
			return fmt.Errorf(`-ready-after %q: want a duration or "never"`, *readyAfter)
		}
		ready = d
	}
	var tgs []string
	if *targetGroups != "none" {
		for _, arn := range strings.Split(*targetGroups, ",") {
			if arn = strings.TrimSpace(arn); arn != "" {
				tgs = append(tgs, arn)
			}
		}
	}
	if tgs == nil {
		tgs = []string{} // nil would mean the twin's default target group
	}
	at, after, err := parseNow(*now)
	if err != nil {
		return err
	}
	raw, err := readInput(file)
	if err != nil {
		return err
	}
	policy, fleetName := twin.DefaultHooks(), twin.FleetName
	if own != nil {
		// What the deployed lifecycle function reads of the fleet.
		p := own.functionFleet("lifecycle").Lifecycle
		policy, fleetName = &p, own.decl.Name
		if *group == "" {
			*group = own.bound.Group
		}
		if !flagSet(fs, "deregistration-delay") {
			*delay = time.Duration(own.decl.DeregistrationDelaySeconds) * time.Second
		}
		fmt.Fprintln(stderr, own.describe())
	}
	if own == nil || flagSet(fs, "launch-timeout") {
		policy.Launch.Timeout = clock.Duration(*launchTimeout)
	}
	if err := policy.Validate(); err != nil {
		return fmt.Errorf("-launch-timeout: %w: %w", err, errUsage)
	}
	readiness := "never ready"
	if ready >= 0 {
		readiness = "ready " + ready.String() + " after the action began"
	}
	fmt.Fprintf(stderr, "fleet %s: launch gate probes", fleetName)
	for _, p := range policy.Launch.Probes {
		fmt.Fprintf(stderr, " %s (%s :%d%s)", p.Name, p.Kind, p.Port, p.Path)
	}
	fmt.Fprintf(stderr, " every %s for up to %s; instance %s; target groups %d, deregistration delay %s\n",
		policy.WithDefaults().Launch.Interval, policy.WithDefaults().Launch.Timeout, readiness, len(tgs), *delay)
	res, err := twin.InvokeLifecycle(ctx, raw, twin.LifecycleInvocation{
		Fleet: fleetName, GroupName: *group, Policy: policy, ReadyAfter: ready, TargetGroups: tgs, DeregistrationDelay: *delay,
		Registered: *registered,
		Now:        at, Delay: after, Follow: *follow, Log: stdout,
	})
	printEffects(stderr, res.Effects, *follow, res.Invocations)
	if err != nil {
		return err
	}
	if s := res.State; s != nil {
		fmt.Fprintf(stderr, "lifecycle action %s (%s, gate %s): phase %s", s.Request.Token, s.Request.Transition, s.Gate, s.Phase)
		if s.Outcome != "" {
			fmt.Fprintf(stderr, ", outcome %s", s.Outcome)
		}
		if s.Result != "" {
			fmt.Fprintf(stderr, ", result %s", s.Result)
		}
		if !s.WakeAt.IsZero() {
			fmt.Fprintf(stderr, ", next look at %s", s.WakeAt.UTC().Format(time.RFC3339))
		}
		if s.Reason != "" {
			fmt.Fprintf(stderr, ": %s", s.Reason)
		}
		fmt.Fprintln(stderr)
	} else {
		fmt.Fprintln(stderr, "no lifecycle action in hand: the handler ignored the event")
	}
	return nil
}
