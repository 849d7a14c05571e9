package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/stampkit/stampkit/shared/scaling"
	"github.com/stampkit/stampkit/shared/twin"
)

// invoke runs a handler in-process on an event file.
func invoke(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("invoke needs a function name: %w", errUsage)
	}
	fn, rest := args[0], args[1:]
	if fn != "scaler" {
		return fmt.Errorf("function %q cannot be invoked yet: only the scaler has a handler", fn)
	}
	fs := flag.NewFlagSet("invoke scaler", flag.ContinueOnError)
	fs.SetOutput(stderr)
	group := fs.String("group", "web-asg", "Auto Scaling group name; the default policy's alarms are named after it")
	minSize := fs.Int("min", 2, "group minimum")
	maxSize := fs.Int("max", 20, "group maximum")
	desired := fs.Int("desired", 4, "desired capacity before the event")
	inService := fs.Int("in-service", -1, "instances in service (default: desired)")
	target := fs.Float64("target", 60, "target CPU percent of the default policy")
	now := fs.String("now", "", "the handler's clock, RFC 3339 (default: the wall clock)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: stampkit invoke scaler [flags] event.json   (- reads stdin)")
		fs.PrintDefaults()
	}
	if err := fs.Parse(rest); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return fmt.Errorf("invoke scaler needs one event file: %w", errUsage)
	}
	raw, err := readInput(fs.Arg(0))
	if err != nil {
		return err
	}
	clock := time.Now()
	if *now != "" {
		if clock, err = time.Parse(time.RFC3339, *now); err != nil {
			return fmt.Errorf("-now: %w", err)
		}
	}
	if *inService < 0 {
		*inService = *desired
	}
	policy := scaling.DefaultPolicy(*group, *minSize, *maxSize, scaling.Target{CPU: *target})
	fmt.Fprintf(stderr, "fleet %s, group %s: min %d max %d desired %d in service %d; alarms:", twin.FleetName, *group, *minSize, *maxSize, *desired, *inService)
	for _, r := range policy.Rules {
		fmt.Fprintf(stderr, " %s", r.Alarm)
	}
	fmt.Fprintln(stderr)
	before := scaling.Group{Min: *minSize, Max: *maxSize, Desired: *desired, InService: *inService}
	after, err := twin.InvokeScaler(ctx, raw, twin.Invocation{GroupName: *group, Group: before, Policy: policy, Now: clock, Log: stdout})
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "desired capacity %d -> %d\n", before.Desired, after.Desired)
	return nil
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
