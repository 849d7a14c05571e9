package event

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"
)

// DetailTypeCommand is stampkit's own operator command to a running
// rollout (source stampkit), sent by the CLI through EventBridge or as the
// rollout function's direct input.
const DetailTypeCommand = "Rollout Command"

// CommandBus is the name of the event bus stampkit's own steering events
// (Rollout Command, Image Ready) are put on by the stamp named DefaultStamp:
// that stamp's command bus, whose policy names who may put them. The stamp
// ignores them on the default bus. Every other stamp has a bus of its own
// (CommandBusFor); the CLI reaches it with -stamp or -bus.
const CommandBus = "stampkit-commands"

// DefaultStamp is the name of the stamp a CDK app deploys when it declares
// no stamps: the one whose command bus keeps the name CommandBus, so that a
// single-stamp deployment, its bake scripts and the CLI's default agree.
const DefaultStamp = "main"

// CommandBusFor returns the name of the command bus of the stamp named
// stamp: CommandBus for DefaultStamp, "stampkit-<stamp>-commands" for any
// other. Bus names are unique per account and Region, and two stamps may
// share both.
func CommandBusFor(stamp string) string {
	if stamp == DefaultStamp {
		return CommandBus
	}
	return "stampkit-" + stamp + "-commands"
}

// Rollout commands (Command.Action).
const (
	CommandPause   = "pause"
	CommandResume  = "resume"
	CommandAbort   = "abort"
	CommandPromote = "promote"
)

// Command is an operator's control of a fleet's rollout: pause, resume,
// abort (roll back) or promote.
type Command struct {
	Fleet string
	// Action is one of the Command* constants.
	Action string
	// Reason is the operator's note, kept in the rollout's history.
	Reason string
}

// commandJSON is the command's detail.
type commandJSON struct {
	Fleet  string `json:"fleet"`
	Action string `json:"action"`
	Reason string `json:"reason,omitempty"`
}

func decodeCommandDetail(env envelope) (any, error) {
	var d commandJSON
	if err := unmarshal(env.Detail, &d, env.path("detail"), ""); err != nil {
		return nil, err
	}
	if err := firstErr(need(d.Fleet, env.detailPath("fleet")), need(d.Action, env.detailPath("action"))); err != nil {
		return nil, err
	}
	switch d.Action {
	case CommandPause, CommandResume, CommandAbort, CommandPromote:
	default:
		return nil, malformed(env.detailPath("action"), "%q is not %s, %s, %s or %s", d.Action,
			CommandPause, CommandResume, CommandAbort, CommandPromote)
	}
	return &Command{Fleet: d.Fleet, Action: d.Action, Reason: d.Reason}, nil
}

// CommandBody is the EventBridge event of a rollout command, as the CLI
// sends it (PutEvents entry or direct invocation) and Decode reads it back.
// Its id is derived from the command and at, so a resent command has the
// same id and is acted on once.
func CommandBody(c Command, at time.Time) ([]byte, error) {
	stamp := at.UTC().Format(time.RFC3339Nano)
	body, err := json.Marshal(map[string]any{
		"version":     "0",
		"id":          stableID(c.Fleet + "\x00" + c.Action + "\x00" + c.Reason + "\x00" + stamp),
		"source":      SourceStampkit,
		"detail-type": DetailTypeCommand,
		"account":     "",
		"region":      "",
		"time":        stamp,
		"resources":   []string{},
		"detail":      commandJSON(c),
	})
	if err != nil {
		return nil, fmt.Errorf("encoding rollout command %s for fleet %s: %w", c.Action, c.Fleet, err)
	}
	return body, nil
}

// stableID is a UUID-shaped event id derived from what the event says, so
// the same event sent twice is recognised as one.
func stableID(of string) string {
	sum := sha256.Sum256([]byte(of))
	id := hex.EncodeToString(sum[:16])
	return id[:8] + "-" + id[8:12] + "-" + id[12:16] + "-" + id[16:20] + "-" + id[20:]
}
