package main

import (
	"fmt"
	"io"
	"time"

	"github.com/stampkit/stampkit/shared/event"
)

// shiftActions are what "stampkit shift" does to a record's transition.
var shiftActions = []string{event.CommandStart, event.CommandPause, event.CommandResume, event.CommandAbort, event.CommandPromote}

// shift writes the event that starts, pauses, resumes, aborts or promotes
// the weight transition of a Route 53 record between stamps. Like
// rollout, it calls no AWS API: the operator puts the event on the command
// bus that routes "Stamp Shift Command" to the shift function, or passes
// it to the function directly.
func shift(args []string, stdout, stderr io.Writer, now func() time.Time) error {
	fs := newFlagSet("shift", synopses["shift"], stderr)
	record := fs.String("record", "", "the weighted record whose weight moves, e.g. www.example.com (required)")
	from := fs.String("from", "", "the stamp giving up its weight (its records' SetIdentifier; required by start)")
	to := fs.String("to", "", "the stamp taking the weight (required by start)")
	reason := fs.String("reason", "", "why, for the transition's log")
	out := eventFlags(fs)
	action, err := parseAction(fs, "shift", args, shiftActions)
	if err != nil {
		return err
	}
	switch {
	case *record == "":
		return fmt.Errorf("shift: -record is required: %w", errUsage)
	case action == event.CommandStart && (*from == "" || *to == ""):
		return fmt.Errorf("shift start: -from and -to are required: %w", errUsage)
	case *from != "" && *from == *to:
		return fmt.Errorf("shift: -from and -to both name %q: %w", *from, errUsage)
	}
	c := event.ShiftCommand{Record: *record, From: *from, To: *to, Action: action, Reason: *reason}
	body, err := event.ShiftCommandBody(c, now())
	if err != nil {
		return err
	}
	return out.write(stdout, "shift", body)
}
