package main

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/stampkit/stampkit/shared/event"
)

// events lists the real sample events, or prints the one named; "events
// generate KIND" writes an event of a kind with the fields a user sets.
func events(args []string, stdout, stderr io.Writer, now func() time.Time) error {
	if len(args) > 0 && args[0] == "generate" {
		// No sample is named "generate": TestSamplesAreNotGenerate.
		return generate(args[1:], stdout, stderr, now)
	}
	fs := newFlagSet("events", synopses["events"], stderr)
	asJSON := fs.Bool("json", false, "list the names as a JSON array")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	samples, err := event.Samples()
	if err != nil {
		return err
	}
	names := slices.Sorted(maps.Keys(samples))
	switch fs.NArg() {
	case 0:
		if *asJSON {
			return json.NewEncoder(stdout).Encode(names)
		}
		_, err := fmt.Fprintln(stdout, strings.Join(names, "\n"))
		return err
	case 1:
		raw, ok := samples[fs.Arg(0)]
		if !ok {
			return fmt.Errorf("no sample event %q; %q lists them", fs.Arg(0), "stampkit events")
		}
		_, err := stdout.Write(raw)
		return err
	}
	return fmt.Errorf("events takes at most one name, got %q: %w", fs.Args(), errUsage)
}
