package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/stampkit/stampkit/shared/scaling"
	"github.com/stampkit/stampkit/shared/twin"
)

// invoke runs a handler in-process on an event file.
func invoke(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("invoke needs a function name: scaler, lifecycle or rollout: %w", errUsage)
	}
	if isHelp(args[0]) {
		fmt.Fprintf(stderr, "usage: %s\n  \"stampkit invoke FUNCTION -h\" lists a function's flags\n", synopses["invoke"])
		return errHelp
	}
	fn, rest := args[0], args[1:]
	switch fn {
	case "scaler":
		return invokeScaler(ctx, rest, stdout, stderr)
	case "lifecycle":
		return invokeLifecycle(ctx, rest, stdout, stderr)
	case "rollout":
		return invokeRollout(ctx, rest, stdout, stderr)
	}
	return fmt.Errorf("unknown function %q: want scaler, lifecycle or rollout: %w", fn, errUsage)
}

// invokeScaler runs the scaler handler against a static group.
func invokeScaler(ctx context.Context, rest []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("invoke scaler", flag.ContinueOnError)
	fs.SetOutput(stderr)
	group := fs.String("group", "web-asg", "Auto Scaling group name; the default policy's alarms are named after it (with -config: the stack's name for the fleet's group)")
	minSize := fs.Int("min", 2, "group minimum; wins over -config (default there: the fleet's minCapacity)")
	maxSize := fs.Int("max", 20, "group maximum; wins over -config (default there: the fleet's maxCapacity)")
	desired := fs.Int("desired", 4, "desired capacity before the event; wins over -config (default there: the fleet's desiredCapacity, else its minimum)")
	inService := fs.Int("in-service", -1, "instances in service (default: desired)")
	target := fs.Float64("target", 60, "target CPU percent of the default policy; wins over a -config fleet's scalingTarget")
	now := fs.String("now", "", "the handler's clock, RFC 3339 (default: the wall clock)")
	fleet := addFleetFlags(fs)
	file, err := parseInvoke(fs, "scaler", rest, stderr)
	if err != nil {
		return err
	}
	own, err := fleet.load(stderr)
	if err != nil {
		return err
	}
	if own != nil {
		if err := own.scalerDefaults(fs, group, minSize, maxSize, desired, target); err != nil {
			return err
		}
	}
	if err := checkGroupFlags(*minSize, *maxSize, *desired, *inService, *target); err != nil {
		return err
	}
	if *inService < 0 {
		*inService = *desired
	}
	clock := time.Now()
	if *now != "" {
		if clock, err = time.Parse(time.RFC3339, *now); err != nil {
			return fmt.Errorf("-now %q is not an RFC 3339 time like 2026-11-02T12:00:00Z: %w", *now, errUsage)
		}
	}
	raw, err := readInput(file)
	if err != nil {
		return err
	}
	policy, fleetName := scaling.DefaultPolicy(*group, *minSize, *maxSize, scaling.Target{CPU: *target}), twin.FleetName
	if own != nil {
		// What the deployed scaler reads of the fleet (its fleets file).
		policy, fleetName = own.functionFleet("scaler").Scaling, own.decl.Name
		fmt.Fprintln(stderr, own.describe())
	}
	fmt.Fprintf(stderr, "fleet %s, group %s: min %d max %d desired %d in service %d; alarms:", fleetName, *group, *minSize, *maxSize, *desired, *inService)
	for _, r := range policy.Rules {
		fmt.Fprintf(stderr, " %s", r.Alarm)
	}
	fmt.Fprintln(stderr)
	before := scaling.Group{Min: *minSize, Max: *maxSize, Desired: *desired, InService: *inService}
	after, err := twin.InvokeScaler(ctx, raw, twin.Invocation{Fleet: fleetName, GroupName: *group, Group: before, Policy: policy, Now: clock, Log: stdout})
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "desired capacity %d -> %d\n", before.Desired, after.Desired)
	return nil
}

// checkGroupFlags checks the group invoke scaler pretends, in the flags'
// own words, before the handler's configuration would name them by its
// keys.
func checkGroupFlags(minSize, maxSize, desired, inService int, target float64) error {
	var errs []string
	switch {
	case minSize < 0:
		errs = append(errs, fmt.Sprintf("-min %d is negative", minSize))
	case maxSize < 1:
		errs = append(errs, fmt.Sprintf("-max %d: a group holds at least 1", maxSize))
	case minSize > maxSize:
		errs = append(errs, fmt.Sprintf("-min %d is above -max %d", minSize, maxSize))
	case desired < minSize || desired > maxSize:
		errs = append(errs, fmt.Sprintf("-desired %d is outside -min %d to -max %d", desired, minSize, maxSize))
	}
	// -1 is the flag's "as desired".
	if inService < -1 {
		errs = append(errs, fmt.Sprintf("-in-service %d is negative", inService))
	}
	if !(target >= 1 && target <= 100) {
		errs = append(errs, fmt.Sprintf("-target %g is not a CPU percentage from 1 to 100", target))
	}
	if len(errs) > 0 {
		return fmt.Errorf("%s: %w", strings.Join(errs, "; "), errUsage)
	}
	return nil
}

// parseInvoke parses the flags of `invoke fn` and returns its one event
// file.
func parseInvoke(fs *flag.FlagSet, fn string, args []string, stderr io.Writer) (string, error) {
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: stampkit invoke %s [flags] event.json   (- reads stdin)\n", fn)
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return "", err
	}
	if fs.NArg() != 1 {
		return "", fmt.Errorf("invoke %s needs one event file after its flags, got %q: %w", fn, fs.Args(), errUsage)
	}
	return fs.Arg(0), nil
}

func readInput(path string) ([]byte, error) {
	if path == "-" {
		b, err := io.ReadAll(os.Stdin)
		if err != nil {
			return nil, fmt.Errorf("reading stdin: %w", err)
		}
		return b, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading event: %w", err)
	}
	return b, nil
}

// parseNow reads a -now flag: empty (the event's time), "+duration" (that
// long after the event's time) or an RFC 3339 time.
func parseNow(s string) (time.Time, time.Duration, error) {
	switch {
	case s == "":
		return time.Time{}, 0, nil
	case strings.HasPrefix(s, "+"):
		d, err := time.ParseDuration(s[1:])
		if err != nil || d < 0 {
			return time.Time{}, 0, fmt.Errorf("-now %q: want +duration, for example +16m", s)
		}
		return time.Time{}, d, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, 0, fmt.Errorf("-now: %w", err)
	}
	return t, 0, nil
}

// printEffects lists what an invoked handler did, each with its time and
// how long after the first invocation it came. A followed invocation
// delivered its wake-ups, so they are counted instead of listed.
func printEffects(w io.Writer, effects []twin.Effect, followed bool, invocations int) {
	if len(effects) == 0 {
		fmt.Fprintln(w, "no effect")
	}
	var start time.Time
	wakeUps := 0
	for i, e := range effects {
		if i == 0 {
			start = e.At
		}
		if followed && e.What == twin.EffectWakeUp {
			wakeUps++
			continue
		}
		fmt.Fprintf(w, "%s %-8s %-15s %s\n", e.At.UTC().Format(time.RFC3339), "+"+e.At.Sub(start).String(), e.What, e.Detail)
	}
	if followed {
		fmt.Fprintf(w, "%d invocations: the event and %d wake-ups\n", invocations, wakeUps)
	}
}
