package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"github.com/stampkit/stampkit/shared/config"
	"io"
	"slices"
	"time"

	"github.com/stampkit/stampkit/shared/event"
)

// rollout writes the event that pauses, resumes, aborts or promotes a
// fleet's running rollout. It calls no AWS API: the operator sends it with
// their own credentials, to EventBridge (the stack routes "Rollout Command"
// events to the rollout function) or straight to the function.
func rollout(args []string, stdout, stderr io.Writer, now func() time.Time) error {
	fs := newFlagSet("rollout", synopses["rollout"], stderr)
	fleet := fs.String("fleet", "", "fleet whose rollout to control (required)")
	reason := fs.String("reason", "", "why, for the rollout's log")
	format := formatFlag(fs)
	if len(args) == 0 {
		return fmt.Errorf("rollout needs an action: pause, resume, abort or promote: %w", errUsage)
	}
	if isHelp(args[0]) {
		fs.Usage()
		return errHelp
	}
	action := args[0]
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	if err := noArgs(fs); err != nil {
		return err
	}
	if !slices.Contains(commandActions, action) {
		return fmt.Errorf("rollout action %q is not %s: %w", action, orList(commandActions), errUsage)
	}
	if *fleet == "" {
		return fmt.Errorf("rollout: -fleet is required: %w", errUsage)
	}
	if err := config.CheckFleetName(*fleet); err != nil {
		return fmt.Errorf("rollout: -fleet %w: %w", err, errUsage)
	}
	cmd := event.Command{Fleet: *fleet, Action: action, Reason: *reason}
	body, err := event.CommandBody(cmd, now())
	if err != nil {
		return err
	}
	return writeEvent(stdout, "rollout", body, *format)
}

// writeEvent prints a stampkit event in the chosen format: an entries file
// for "aws events put-events", or the payload for "aws lambda invoke".
func writeEvent(stdout io.Writer, cmd string, body []byte, format string) error {
	// Decoding it back is the check that the function will accept it.
	if _, err := event.Decode(body); err != nil {
		return fmt.Errorf("%s event does not decode: %w", cmd, err)
	}
	switch format {
	case "lambda":
		_, err := fmt.Fprintf(stdout, "%s\n", body)
		return err
	case "put-events":
		var env struct {
			Source     string          `json:"source"`
			DetailType string          `json:"detail-type"`
			Detail     json.RawMessage `json:"detail"`
		}
		if err := json.Unmarshal(body, &env); err != nil {
			return fmt.Errorf("reading back the %s event: %w", cmd, err)
		}
		entries, err := json.MarshalIndent([]map[string]string{{
			"Source": env.Source, "DetailType": env.DetailType, "Detail": string(env.Detail),
		}}, "", "  ")
		if err != nil {
			return fmt.Errorf("encoding put-events entries: %w", err)
		}
		_, err = fmt.Fprintf(stdout, "%s\n", entries)
		return err
	}
	return fmt.Errorf("%s: -format %q is not put-events or lambda: %w", cmd, format, errUsage)
}

// formatFlag is the -format flag of the commands that write an event.
func formatFlag(fs *flag.FlagSet) *string {
	return fs.String("format", "put-events", `"put-events": an entries file for "aws events put-events --entries file://…"; "lambda": the payload for "aws lambda invoke --payload file://…"`)
}
