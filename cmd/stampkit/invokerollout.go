package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/stampkit/stampkit/shared/cwalarm"
	rolloutpkg "github.com/stampkit/stampkit/shared/rollout"
	"github.com/stampkit/stampkit/shared/twin"
)

// invokeRollout runs the rollout handler on an image, instance refresh or
// rollout command event against a group on launch template version 1.
func invokeRollout(ctx context.Context, rest []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("invoke rollout", flag.ContinueOnError)
	fs.SetOutput(stderr)
	group := fs.String("group", "", "the fleet's Auto Scaling group (default: with -config the stack's name for it, else the one the event names, else web-asg)")
	strategy := fs.String("strategy", string(rolloutpkg.StrategyRolling), "rolling (instance refresh) or bluegreen (peer group behind a weighted listener); wins over -config, whose fleet's own policy runs when its strategy is this one")
	minSize := fs.Int("min", 2, "group minimum; wins over -config (default there: the fleet's minCapacity)")
	maxSize := fs.Int("max", 20, "group maximum; wins over -config (default there: the fleet's maxCapacity)")
	desired := fs.Int("desired", 4, "desired capacity; wins over -config (default there: the fleet's desiredCapacity, else its minimum)")
	running := fs.Bool("running", false, "a rollout of an earlier image already runs (started a minute before the event); a refresh event is about its refresh")
	alarm := fs.String("alarm", cwalarm.StateOK, "state of the fleet's health alarm: OK or ALARM (rolls a refresh back, stops a shift)")
	replace := fs.Duration("replace", 5*time.Minute, "how long new instances take to be healthy, and an instance refresh to replace the group")
	now := fs.String("now", "", "the handler's clock: RFC 3339, or +duration after the event's time (default: the event's time)")
	follow := fs.Bool("follow", false, "deliver each wake-up the handler schedules, on a virtual clock, until the rollout ends")
	fleet := addFleetFlags(fs)
	file, err := parseInvoke(fs, "rollout", rest, stderr)
	if err != nil {
		return err
	}
	own, err := fleet.load(stderr)
	if err != nil {
		return err
	}
	var policy *rolloutpkg.Policy
	fleetName := twin.FleetName
	if own != nil {
		fmt.Fprintln(stderr, own.describe())
		// What the deployed rollout function reads of the fleet.
		p := own.functionFleet("rollout").Rollout
		switch {
		case !flagSet(fs, "strategy") && !p.Enabled():
			return fmt.Errorf("fleet %s declares no rollout in %s, so the deployed rollout function leaves its images alone; -strategy runs the twin's: %w", own.decl.Name, own.path, errUsage)
		case !flagSet(fs, "strategy"):
			*strategy = string(p.Strategy)
		}
		policy, fleetName = &p, own.decl.Name
		if *group == "" {
			*group = own.bound.Group
		}
		own.capacityDefaults(fs, minSize, maxSize, desired)
	}
	s := rolloutpkg.Strategy(*strategy)
	if s != rolloutpkg.StrategyRolling && s != rolloutpkg.StrategyBlueGreen {
		return fmt.Errorf("-strategy %q: want %s or %s: %w", *strategy, rolloutpkg.StrategyRolling, rolloutpkg.StrategyBlueGreen, errUsage)
	}
	if *alarm != cwalarm.StateOK && *alarm != cwalarm.StateAlarm {
		return fmt.Errorf("-alarm %q: want %s or %s: %w", *alarm, cwalarm.StateOK, cwalarm.StateAlarm, errUsage)
	}
	if *replace < 0 {
		return fmt.Errorf("-replace %s is negative: %w", *replace, errUsage)
	}
	at, after, err := parseNow(*now)
	if err != nil {
		return err
	}
	raw, err := readInput(file)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "fleet %s (%s): min %d max %d desired %d on %s version 1 (%s), parameter %s = %s; health alarm %s; new instances healthy after %s",
		fleetName, s, *minSize, *maxSize, *desired, twin.LaunchTemplateID, twin.ImageV1, twin.ImageParameter, twin.ImageV1, *alarm, *replace)
	if *running {
		fmt.Fprintf(stderr, "; rolling out %s since a minute before the event", twin.RunningImage)
	}
	fmt.Fprintln(stderr)
	res, err := twin.InvokeRollout(ctx, raw, twin.RolloutInvocation{
		Fleet: fleetName, Policy: policy, GroupName: *group, Strategy: s, Min: *minSize, Max: *maxSize, Desired: *desired,
		Running: *running, Alarm: *alarm, Replace: *replace, Now: at, Delay: after, Follow: *follow, Log: stdout,
	})
	printEffects(stderr, res.Effects, *follow, res.Invocations)
	if err != nil {
		return err
	}
	st := res.State
	if st.ID == "" {
		fmt.Fprintln(stderr, "no rollout record: nothing rolled out")
	} else {
		fmt.Fprintf(stderr, "rollout %s of %s (%s): phase %s", st.ID, st.Image.ID, st.Strategy, st.Phase)
		if st.Outcome != "" {
			fmt.Fprintf(stderr, ", outcome %s", st.Outcome)
		}
		if st.Strategy == rolloutpkg.StrategyBlueGreen {
			fmt.Fprintf(stderr, ", %d%% shifted", st.Shifted)
		}
		if !st.WakeAt.IsZero() {
			fmt.Fprintf(stderr, ", next look at %s", st.WakeAt.UTC().Format(time.RFC3339))
		}
		if st.Queued != nil {
			fmt.Fprintf(stderr, ", %s queued", st.Queued.ID)
		}
		if st.Reason != "" {
			fmt.Fprintf(stderr, ": %s", st.Reason)
		}
		fmt.Fprintln(stderr)
	}
	fmt.Fprintf(stderr, "launch template default version %d; %s = %s\n", res.DefaultVersion, twin.ImageParameter, res.Parameter)
	return nil
}
