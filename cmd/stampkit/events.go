package main

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/stampkit/stampkit/shared/event"
)

// events lists the real sample events, or prints the one named.
func events(args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && isHelp(args[0]) {
		fmt.Fprintf(stderr, "usage: %s\n  with no name, list the sample events; with one, print it\n", synopses["events"])
		return errHelp
	}
	samples, err := event.Samples()
	if err != nil {
		return err
	}
	names := slices.Sorted(maps.Keys(samples))
	switch len(args) {
	case 0:
		_, err := fmt.Fprintln(stdout, strings.Join(names, "\n"))
		return err
	case 1:
		raw, ok := samples[args[0]]
		if !ok {
			return fmt.Errorf("no sample event %q; %q lists them", args[0], "stampkit events")
		}
		_, err := stdout.Write(raw)
		return err
	}
	return fmt.Errorf("events takes at most one name, got %q: %w", args, errUsage)
}
