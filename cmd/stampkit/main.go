// Command stampkit runs the toolkit locally: the twin demo, single
// simulations, the real sample events, and in-process handler invocations.
//
// "invoke" runs the real scaler, lifecycle or rollout handler once on an
// event file, against small twin-side fakes of its ports (no AWS, no
// emulator): the handler's JSON log and EMF go to stdout, what it did
// (capacity set, lifecycle completions, heartbeats, deregistrations,
// launch template versions, parameter, refresh, weights, wake-ups) to
// stderr. With -follow, the lifecycle and rollout handlers also get the
// wake-ups they schedule, on a virtual clock, until the action or rollout
// ends.
//
// "status" is the one command that reads a deployed stack: the state
// table and the fleets' Auto Scaling groups, with the default AWS
// credential chain (AWS_ENDPOINT_URL points it at an emulator).
//
//	stampkit demo [-out dir] [-seed n]
//	stampkit simulate [-scenario name | -trace file.csv] [-policy name|all] [-seed n] [-out dir] [-log]
//	                  [-image-at d] [-strategy rolling|bluegreen] [-bad-image share] [-warm-pool n] [-chaos[=scale]]
//	stampkit compare -trace file.csv [-from minute] [-minutes n] [-peak n] [-warm-pool n] [-seed n] [-seeds n] [-policies a,b] [-json] [-out dir]
//	stampkit events [-json] [name]
//	stampkit events generate KIND [-id uuid] [-time t] [flags]
//	stampkit invoke scaler [flags] event.json
//	stampkit invoke lifecycle [-ready-after d|never] [-registered] [-now t|+d] [-follow] [flags] event.json
//	stampkit invoke rollout [-strategy rolling|bluegreen] [-running] [-alarm OK|ALARM] [-now t|+d] [-follow] [flags] event.json
//	stampkit rollout pause|resume|abort|promote -fleet name [-reason text] [-stamp name | -bus name] [-format put-events|lambda]
//	stampkit shift start|pause|resume|abort|promote -record name [-from stamp -to stamp] [-reason text] [-stamp name | -bus name] [-format put-events|lambda]
//	stampkit image ready -ami ami-… [-stamp name | -bus name] [-format put-events|lambda]
//	stampkit status [-fleet name [-group name]] [-table name] [-region r] [-json]
//	stampkit validate [-config cdk.json]
//	stampkit schema
//	stampkit version
//	stampkit help [command]
//
// "-h" on any command prints its usage and exits 0. A command line that
// cannot run prints why, then the command's usage, on stderr, and exits
// 2; a command that fails prints why and exits 1.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"time"
)

const usage = `usage: stampkit <command> [flags]

commands:
  demo       run every scenario under every policy; print the summary, write a report
  simulate   run one scenario (or a CSV trace) under one or all policies
  compare    run every policy at every setting on a CSV trace; compare them at equal cost
  events     list the real sample events, or print one; "events generate KIND"
             writes an event of any kind the functions accept, with the fields you set
  invoke     run the scaler, lifecycle or rollout handler in-process on an event file
             against twin fakes of its ports ("stampkit invoke <function> -h")
  rollout    write the event that pauses, resumes, aborts or promotes a fleet's rollout,
             for the stack's command bus
  shift      write the event that starts, pauses, resumes, aborts or promotes a
             record's weight transition between stamps, for a command bus
  image      write the event that marks a baked AMI ready to roll out ("image ready -ami ami-…"),
             for the stack's command bus
  status     show each fleet's group, scaler state, forecast floor, rollout and pending
             lifecycle actions, read from the state table and Auto Scaling (needs AWS)
  validate   check a cdk.json as cdk synth does, without the CDK: every mistake at once,
             each under its key
  schema     print the JSON Schema of cdk.json, for editors (docs/cdk.schema.json)
  version    print the version, commit and Go release this binary was built from
  help       print this, or "help <command>" a command's usage and flags

"stampkit <command> -h" describes a command's flags. Exit status: 0 done,
1 failed, 2 a command line that cannot run.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(exitCode(err, os.Args[1:], os.Stderr))
}

// run dispatches a command line; it is main without the process.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("no command: %w", errUsage)
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "demo":
		return demo(ctx, rest, stdout, stderr)
	case "simulate":
		return simulate(ctx, rest, stdout, stderr)
	case "compare":
		return compareCmd(ctx, rest, stdout, stderr)
	case "events":
		return events(rest, stdout, stderr, time.Now)
	case "invoke":
		return invoke(ctx, rest, stdout, stderr)
	case "rollout":
		return rollout(rest, stdout, stderr, time.Now)
	case "shift":
		return shift(rest, stdout, stderr, time.Now)
	case "image":
		return image(rest, stdout, stderr, time.Now)
	case "status":
		return status(ctx, rest, stdout, stderr, os.Getenv, time.Now)
	case "validate":
		return validate(rest, stdout, stderr)
	case "schema":
		return schema(rest, stdout, stderr)
	case "version":
		if len(rest) > 0 {
			return fmt.Errorf("version takes no arguments, got %q: %w", rest, errUsage)
		}
		_, err := fmt.Fprintln(stdout, versionLine())
		return err
	case "help":
		return help(rest, func(args []string, w io.Writer) error { return run(ctx, args, w, w) }, stdout)
	case "-h", "-help", "--help":
		_, err := fmt.Fprint(stderr, usage)
		if err != nil {
			return err
		}
		return errHelp
	}
	return fmt.Errorf("unknown command %q: %w", cmd, errUsage)
}
