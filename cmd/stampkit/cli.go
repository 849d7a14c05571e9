package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"runtime/debug"
	"strings"
)

// The command line's conventions are Go's and Unix's: "-h" prints a
// command's usage and exits 0; a command line that cannot run prints why,
// then the usage, all on stderr, and exits 2; a command that fails prints
// why and exits 1.
var (
	// errUsage marks a command line that cannot run: main prints the
	// error's message, then the command's usage.
	errUsage = errors.New("usage")
	// errHelp is "-h": the usage has been printed; nothing failed.
	errHelp = errors.New("help requested")
	// errFlag is a flag the flag package refused: it has printed why and
	// the command's flags.
	errFlag = errors.New("bad flag")
)

// synopses are the commands' one-line usages, for the error that names
// a command but has no flag set to describe it.
var synopses = map[string]string{
	"demo":     "stampkit demo [-out dir] [-seed n] [-json]",
	"simulate": "stampkit simulate [-scenario name | -trace file.csv] [-policy name|all] [-config cdk.json [-fleet name]] [flags]",
	"compare":  "stampkit compare -trace file.csv [-config cdk.json [-fleet name]] [flags]",
	"events":   "stampkit events [-json] [name] | stampkit events generate KIND [flags]",
	"invoke":   "stampkit invoke scaler|lifecycle|rollout [flags] event.json",
	"shift":    "stampkit shift start|pause|resume|abort|promote -record name [-from stamp -to stamp] [-reason text] [-stamp name | -bus name] [-format put-events|lambda]",
	"rollout":  "stampkit rollout pause|resume|abort|promote -fleet name [-reason text] [-stamp name | -bus name] [-format put-events|lambda]",
	"image":    "stampkit image ready -ami ami-… [-stamp name | -bus name] [-format put-events|lambda]",
	"status":   "stampkit status [-fleet name [-group name]] [-table name] [-region r] [-json]",
	"validate": "stampkit validate [-config cdk.json]",
	"schema":   "stampkit schema",
	"version":  "stampkit version",
	"help":     "stampkit help [command]",
}

// newFlagSet returns the flag set of command name: its usage is synopsis
// and its flags, on stderr.
func newFlagSet(name, synopsis string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: %s\n", synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses args into fs: "-h" is errHelp, a flag fs refuses is
// errFlag (fs has printed why, then its usage).
func parseFlags(fs *flag.FlagSet, args []string) error {
	switch err := fs.Parse(args); {
	case err == nil:
		return nil
	case errors.Is(err, flag.ErrHelp):
		return errHelp
	default:
		return fmt.Errorf("%s: %w", err, errFlag)
	}
}

// noArgs refuses the arguments a command that takes none was given.
func noArgs(fs *flag.FlagSet) error {
	if fs.NArg() > 0 {
		return fmt.Errorf("%s takes no arguments, got %q (flags go before arguments): %w", fs.Name(), fs.Args(), errUsage)
	}
	return nil
}

// isHelp reports whether arg asks for help.
func isHelp(arg string) bool { return arg == "-h" || arg == "-help" || arg == "--help" }

// exitCode reports err the way the conventions say and returns the exit
// status: 0 for none or help, 2 for a command line that cannot run, 1 for
// a failure.
func exitCode(err error, args []string, stderr io.Writer) int {
	switch {
	case err == nil, errors.Is(err, errHelp):
		return 0
	case errors.Is(err, errFlag):
		return 2
	case errors.Is(err, errUsage):
		if msg := strings.TrimSuffix(err.Error(), ": "+errUsage.Error()); err != errUsage {
			fmt.Fprintln(stderr, "stampkit:", msg)
		}
		if len(args) > 0 && synopses[args[0]] != "" {
			fmt.Fprintf(stderr, "usage: %s\n(\"stampkit %s -h\" lists its flags)\n", synopses[args[0]], args[0])
		} else {
			fmt.Fprint(stderr, usage)
		}
		return 2
	}
	fmt.Fprintln(stderr, "stampkit:", err)
	return 1
}

// help is "stampkit help [command]": the usage, or one command's, on
// stdout.
func help(args []string, run func(args []string, stderr io.Writer) error, stdout io.Writer) error {
	switch len(args) {
	case 0:
		_, err := fmt.Fprint(stdout, usage)
		return err
	case 1:
		if _, ok := synopses[args[0]]; !ok || args[0] == "help" {
			return fmt.Errorf("help: unknown command %q: %w", args[0], errUsage)
		}
		if err := run([]string{args[0], "-h"}, stdout); !errors.Is(err, errHelp) {
			return err
		}
		return nil
	}
	return fmt.Errorf("help takes one command at most, got %q: %w", args, errUsage)
}

// version is set at link time (-ldflags "-X main.version=v1.2.3"); a
// build without it reports the module's version and its commit.
var version = ""

// versionLine describes this build: its version, commit and Go.
func versionLine() string {
	v, rev, modified, goVersion := version, "", false, ""
	if bi, ok := debug.ReadBuildInfo(); ok {
		goVersion = bi.GoVersion
		if v == "" {
			v = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
	}
	if v == "" {
		v = "(devel)"
	}
	out := "stampkit " + v
	if rev != "" {
		out += " commit " + rev[:min(len(rev), 12)]
		if modified {
			out += " (modified)"
		}
	}
	if goVersion != "" {
		out += " " + goVersion
	}
	return out
}
