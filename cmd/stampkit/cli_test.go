package main

import (
	"bytes"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestConventions checks the command line's conventions as a user meets
// them: the exit status, and what stdout and stderr say. A command line
// that cannot run says why before it prints the usage.
func TestConventions(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing.json")
	tests := []struct {
		name       string
		args       []string
		code       int
		stderr     []string
		stdout     []string
		quietUsage bool // stderr must not carry the top-level usage
	}{
		{name: "no command", args: nil, code: 2, stderr: []string{"stampkit: no command", "usage: stampkit <command>"}},
		{name: "unknown command", args: []string{"frobnicate"}, code: 2, stderr: []string{`stampkit: unknown command "frobnicate"`, "usage: stampkit <command>"}},
		{name: "top-level -h", args: []string{"-h"}, code: 0, stderr: []string{"usage: stampkit <command>"}},
		{name: "help", args: []string{"help"}, code: 0, stdout: []string{"usage: stampkit <command>", "version"}},
		{name: "help on a command", args: []string{"help", "simulate"}, code: 0, stdout: []string{"usage: stampkit simulate", "-warm-pool"}},
		{name: "help on an unknown command", args: []string{"help", "frobnicate"}, code: 2, stderr: []string{`unknown command "frobnicate"`}},
		{name: "command -h", args: []string{"simulate", "-h"}, code: 0, stderr: []string{"usage: stampkit simulate", "-scenario"}, quietUsage: true},
		{name: "compare -h", args: []string{"compare", "-h"}, code: 0, stderr: []string{"usage: stampkit compare", "-seeds"}, quietUsage: true},
		{name: "rollout -h", args: []string{"rollout", "-h"}, code: 0, stderr: []string{"usage: stampkit rollout", "-fleet"}, quietUsage: true},
		{name: "invoke -h", args: []string{"invoke", "-h"}, code: 0, stderr: []string{"usage: stampkit invoke"}, quietUsage: true},
		{name: "invoke scaler -h", args: []string{"invoke", "scaler", "-h"}, code: 0, stderr: []string{"usage: stampkit invoke scaler", "-desired"}, quietUsage: true},
		{name: "events -h", args: []string{"events", "-h"}, code: 0, stderr: []string{"usage: stampkit events"}, quietUsage: true},
		{name: "image -h", args: []string{"image", "-h"}, code: 0, stderr: []string{"usage: stampkit image ready"}, quietUsage: true},
		{name: "unknown flag", args: []string{"simulate", "-frobnicate"}, code: 2, stderr: []string{"flag provided but not defined: -frobnicate", "usage: stampkit simulate"}, quietUsage: true},
		{name: "bad flag value", args: []string{"demo", "-seed", "x"}, code: 2, stderr: []string{`invalid value "x" for flag -seed`}, quietUsage: true},
		{name: "rollout without -fleet", args: []string{"rollout", "pause"}, code: 2, stderr: []string{"stampkit: rollout: -fleet is required", "usage: stampkit rollout"}, quietUsage: true},
		{name: "rollout without an action", args: []string{"rollout"}, code: 2, stderr: []string{"stampkit: rollout needs an action", "usage: stampkit rollout"}, quietUsage: true},
		{name: "a flag after the argument", args: []string{"invoke", "scaler", missing, "-desired", "3"}, code: 2, stderr: []string{"needs one event file after its flags", "usage: stampkit invoke"}, quietUsage: true},
		{name: "extra argument", args: []string{"simulate", "extra"}, code: 2, stderr: []string{`simulate takes no arguments, got ["extra"]`}, quietUsage: true},
		{name: "out-of-range value", args: []string{"simulate", "-warm-pool", "-1"}, code: 2, stderr: []string{"-warm-pool -1: need 0 or more", "usage: stampkit simulate"}, quietUsage: true},
		{name: "unknown compare policy", args: []string{"compare", "-trace", missing, "-policies", "magic"}, code: 2, stderr: []string{`unknown policy "magic"`}, quietUsage: true},
		{name: "a failure is not a usage error", args: []string{"invoke", "scaler", missing}, code: 1, stderr: []string{"stampkit: ", "missing.json"}, quietUsage: true},
		{name: "negative desired", args: []string{"invoke", "scaler", "-desired", "-1", missing}, code: 2, stderr: []string{"stampkit: -desired -1 is outside -min 2 to -max 20\n"}, quietUsage: true},
		{name: "min above max", args: []string{"invoke", "scaler", "-min", "5", "-max", "2", missing}, code: 2, stderr: []string{"-min 5 is above -max 2"}, quietUsage: true},
		{name: "target out of range", args: []string{"invoke", "scaler", "-target", "150", missing}, code: 2, stderr: []string{"-target 150 is not a CPU percentage from 1 to 100"}, quietUsage: true},
		{name: "a time that is not RFC 3339", args: []string{"invoke", "scaler", "-now", "yesterday", missing}, code: 2, stderr: []string{`-now "yesterday" is not an RFC 3339 time`}, quietUsage: true},
		{name: "events -json", args: []string{"events", "-json"}, code: 0, stdout: []string{`["`, `"eventbridge-scheduled-event"`}},
		{name: "simulate -json", args: []string{"simulate", "-scenario", "step", "-policy", "target-tracking", "-json", "-out", "OUT"}, code: 0, stdout: []string{`"scenario": "step"`, `"policy": "target-tracking"`, `"sloMinutes"`, `"instanceHours"`}},
		{name: "version", args: []string{"version"}, code: 0, stdout: []string{"stampkit ", "go1."}},
		{name: "version takes no arguments", args: []string{"version", "x"}, code: 2, stderr: []string{"version takes no arguments"}, quietUsage: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			args := slices.Clone(tt.args)
			if i := slices.Index(args, "OUT"); i >= 0 {
				args[i] = t.TempDir()
			}
			runChecked(t, args, &stdout, &stderr, tt.code, tt.stderr)
			for _, want := range tt.stdout {
				if !strings.Contains(stdout.String(), want) {
					t.Errorf("stdout lacks %q:\n%s", want, stdout.String())
				}
			}
			if tt.quietUsage && strings.Contains(stderr.String(), "usage: stampkit <command>") {
				t.Errorf("stderr carries the top-level usage, want the command's alone:\n%s", stderr.String())
			}
			if strings.Contains(stderr.String(), "STAMPKIT_") {
				t.Errorf("stderr leaks an internal configuration key:\n%s", stderr.String())
			}
			if tt.code != 0 && stdout.Len() > 0 {
				t.Errorf("a failed command wrote to stdout:\n%s", stdout.String())
			}
		})
	}
}

// TestVersionFromTheLinker builds the command line as `make cli` does and
// checks that `version` prints the version the linker stamped, not the
// build info's "(devel)".
func TestVersionFromTheLinker(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the command line")
	}
	bin := filepath.Join(t.TempDir(), "stampkit")
	build := exec.Command("go", "build", "-trimpath", "-ldflags", "-X main.version=v9.8.7-test", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "version").Output()
	if err != nil {
		t.Fatalf("stampkit version: %v", err)
	}
	if got := string(out); !strings.HasPrefix(got, "stampkit v9.8.7-test ") {
		t.Errorf("stampkit version = %q, want the linker's version v9.8.7-test first", got)
	}
}

// runChecked runs a command line as main does and checks its exit status
// and that stderr says each of wantStderr.
func runChecked(t *testing.T, args []string, stdout, stderr *bytes.Buffer, wantCode int, wantStderr []string) {
	t.Helper()
	code := exitCode(run(t.Context(), args, stdout, stderr), args, stderr)
	if code != wantCode {
		t.Errorf("exit %d, want %d\nstderr:\n%s", code, wantCode, stderr.String())
	}
	for _, want := range wantStderr {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr.String())
		}
	}
}
