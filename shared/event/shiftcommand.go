package event

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"
)

// DetailTypeShiftCommand is stampkit's own command to a record's weight
// transition between stamps (source stampkit): start one, or pause,
// resume, abort or promote the running one. The CLI puts it on a command
// bus or passes it to the shift function directly.
const DetailTypeShiftCommand = "Stamp Shift Command"

// Shift command actions (ShiftCommand.Action); the others are the rollout
// commands' CommandPause, CommandResume, CommandAbort and CommandPromote.
const CommandStart = "start"

// ShiftCommand is an operator's command to the transition of Record (a DNS
// name) from the stamp From to the stamp To.
type ShiftCommand struct {
	Record string `json:"record"`
	// From and To are stamp names (the records' SetIdentifiers): required
	// by start; for the other actions, when given, they must name the
	// running transition's stamps.
	From   string `json:"from,omitempty"`
	To     string `json:"to,omitempty"`
	Action string `json:"action"`
	Reason string `json:"reason,omitempty"`
}

// decodeShiftCommandDetail reads the detail strictly: an unknown field is
// malformed, as a misspelt "form" would silently start nothing.
func decodeShiftCommandDetail(env envelope) (any, error) {
	var d ShiftCommand
	dec := json.NewDecoder(bytes.NewReader(env.Detail))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&d); err != nil {
		return nil, malformed(env.path("detail"), "%v", err)
	}
	if err := firstErr(need(d.Record, env.detailPath("record")), need(d.Action, env.detailPath("action"))); err != nil {
		return nil, err
	}
	switch d.Action {
	case CommandStart:
		if err := firstErr(need(d.From, env.detailPath("from")), need(d.To, env.detailPath("to"))); err != nil {
			return nil, err
		}
	case CommandPause, CommandResume, CommandAbort, CommandPromote:
	default:
		return nil, malformed(env.detailPath("action"), "%q is not %s, %s, %s, %s or %s", d.Action,
			CommandStart, CommandPause, CommandResume, CommandAbort, CommandPromote)
	}
	if d.From != "" && d.From == d.To {
		return nil, malformed(env.detailPath("to"), "%q is also from: a shift needs two stamps", d.To)
	}
	return &d, nil
}

// ShiftCommandBody is the EventBridge event of a shift command, as the CLI
// sends it and Decode reads it back. Its id is derived from the command
// and at, so a resent command has the same id and is acted on once.
func ShiftCommandBody(c ShiftCommand, at time.Time) ([]byte, error) {
	stamp := at.UTC().Format(time.RFC3339Nano)
	body, err := json.Marshal(map[string]any{
		"version":     "0",
		"id":          stableID(DetailTypeShiftCommand + "\x00" + c.Record + "\x00" + c.From + "\x00" + c.To + "\x00" + c.Action + "\x00" + c.Reason + "\x00" + stamp),
		"source":      SourceStampkit,
		"detail-type": DetailTypeShiftCommand,
		"account":     "",
		"region":      "",
		"time":        stamp,
		"resources":   []string{},
		"detail":      c,
	})
	if err != nil {
		return nil, fmt.Errorf("encoding shift command %s for %s: %w", c.Action, c.Record, err)
	}
	return body, nil
}
