package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/stampkit/stampkit/shared/config"
	"github.com/stampkit/stampkit/shared/event"
)

// rollout writes the event that pauses, resumes, aborts or promotes a
// fleet's running rollout. It calls no AWS API: the operator sends it with
// their own credentials, to the stack's command bus (whose rule routes
// "Rollout Command" events to the rollout function, and whose policy
// names who may put them) or straight to the function.
func rollout(args []string, stdout, stderr io.Writer, now func() time.Time) error {
	fs := newFlagSet("rollout", synopses["rollout"], stderr)
	fleet := fs.String("fleet", "", "fleet whose rollout to control (required)")
	reason := fs.String("reason", "", "why, for the rollout's log")
	out := eventFlags(fs)
	action, err := parseAction(fs, "rollout", args, commandActions)
	if err != nil {
		return err
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
	return out.write(stdout, "rollout", body)
}

// parseAction reads the command line of a command that takes an action
// first ("rollout pause -fleet web"): the action, one of actions, then
// fs's flags and no other argument.
func parseAction(fs *flag.FlagSet, cmd string, args, actions []string) (string, error) {
	if len(args) == 0 {
		return "", fmt.Errorf("%s needs an action: %s: %w", cmd, orList(actions), errUsage)
	}
	if isHelp(args[0]) {
		fs.Usage()
		return "", errHelp
	}
	action := args[0]
	if err := parseFlags(fs, args[1:]); err != nil {
		return "", err
	}
	if err := noArgs(fs); err != nil {
		return "", err
	}
	if !slices.Contains(actions, action) {
		return "", fmt.Errorf("%s action %q is not %s: %w", cmd, action, orList(actions), errUsage)
	}
	return action, nil
}

// eventOutput is how a command that writes a stampkit event writes it:
// its -format, -stamp and -bus flags.
type eventOutput struct {
	fs     *flag.FlagSet
	format *string
	stamp  *string
	bus    *string
}

// eventFlags defines the -format, -stamp and -bus flags of the commands
// that write an event.
func eventFlags(fs *flag.FlagSet) eventOutput {
	return eventOutput{
		fs: fs,
		format: fs.String("format", "put-events", `"put-events": an entries file for "aws events put-events --entries file://…", for the bus -bus names; `+
			`"lambda": the payload for "aws lambda invoke --payload file://…", straight to the rollout function, `+
			`which its lambda:InvokeFunction permissions govern, not the bus's policy`),
		stamp: fs.String("stamp", event.DefaultStamp, "the stamp (cdk.json stamps[].name) whose command bus the put-events entry names, unless -bus names one: "+
			event.CommandBus+" for the stamp "+event.DefaultStamp+", stampkit-<stamp>-commands for any other"),
		bus: fs.String("bus", "", "the event bus the put-events entry names (default: the -stamp's): the stamp's command bus "+
			"(stack output CommandBusName; its policy names who may put events on it). "+
			"EventBridge accepts, and drops, an entry for a bus that does not exist, and the stack ignores stampkit events on the default bus"),
	}
}

// busName is the bus the put-events entry names: -bus, or the -stamp's.
func (o eventOutput) busName() string {
	if *o.bus != "" {
		return *o.bus
	}
	return event.CommandBusFor(*o.stamp)
}

// The -bus help warns of a misspelt bus: PutEvents answers success for an
// entry naming a bus that does not exist, and drops it
// (https://github.com/aws/aws-sdk/issues/186; the API reference does not
// say so).

// busRe is an EventBusName PutEvents takes: a name or a bus ARN
// (https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutEventsRequestEntry.html).
var busRe = regexp.MustCompile(`^(?:arn:aws[a-z-]*:events:[a-z0-9-]+:[0-9]{12}:event-bus/)?[/.\-_A-Za-z0-9]{1,256}$`)

// write prints a stampkit event in the chosen format: an entries file for
// "aws events put-events", or the payload for "aws lambda invoke".
func (o eventOutput) write(stdout io.Writer, cmd string, body []byte) error {
	// Decoding it back is the check that the function will accept it.
	if _, err := event.Decode(body); err != nil {
		return fmt.Errorf("%s event does not decode: %w", cmd, err)
	}
	var busFlags []string
	o.fs.Visit(func(f *flag.Flag) {
		if f.Name == "bus" || f.Name == "stamp" {
			busFlags = append(busFlags, "-"+f.Name)
		}
	})
	switch *o.format {
	case "lambda":
		if len(busFlags) > 0 {
			return fmt.Errorf("%s: %s has no effect with -format lambda, which goes to the function, not a bus: %w", cmd, strings.Join(busFlags, " and "), errUsage)
		}
		_, err := fmt.Fprintf(stdout, "%s\n", body)
		return err
	case "put-events":
		if len(busFlags) == 2 {
			return fmt.Errorf("%s: -stamp and -bus both name the bus; give one: %w", cmd, errUsage)
		}
		if err := config.CheckStampName(*o.stamp); err != nil {
			return fmt.Errorf("%s: -stamp: %v: %w", cmd, err, errUsage)
		}
		bus := o.busName()
		if !busRe.MatchString(bus) {
			return fmt.Errorf("%s: -bus %q is not an event bus name or ARN: %w", cmd, bus, errUsage)
		}
		var env struct {
			Source     string          `json:"source"`
			DetailType string          `json:"detail-type"`
			Detail     json.RawMessage `json:"detail"`
		}
		if err := json.Unmarshal(body, &env); err != nil {
			return fmt.Errorf("reading back the %s event: %w", cmd, err)
		}
		entries, err := json.MarshalIndent([]map[string]string{{
			"Source": env.Source, "DetailType": env.DetailType, "Detail": string(env.Detail), "EventBusName": bus,
		}}, "", "  ")
		if err != nil {
			return fmt.Errorf("encoding put-events entries: %w", err)
		}
		_, err = fmt.Fprintf(stdout, "%s\n", entries)
		return err
	}
	return fmt.Errorf("%s: -format %q is not put-events or lambda: %w", cmd, *o.format, errUsage)
}
