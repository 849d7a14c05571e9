package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stampkit/stampkit/shared/event"
)

// sampleFile writes a real AWS sample event to a file and returns its path.
func sampleFile(t *testing.T, name string) string {
	t.Helper()
	samples, err := event.Samples()
	if err != nil {
		t.Fatal(err)
	}
	raw, ok := samples[name]
	if !ok {
		t.Fatalf("no sample %s", name)
	}
	path := filepath.Join(t.TempDir(), name+".json")
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestInvokeHandlers(t *testing.T) {
	malformed := filepath.Join(t.TempDir(), "malformed.json")
	if err := os.WriteFile(malformed, []byte(`{"Records":[]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		// wantStderr are lines (or parts of lines) stderr must hold, in
		// order; wantNot must not appear.
		wantStderr []string
		wantNot    []string
		wantLog    string
		wantErr    bool
		// wantErrText is in the error when set.
		wantErrText string
	}{
		{
			name: "launch of a ready instance continues",
			args: []string{"lifecycle", sampleFile(t, "autoscaling-launch-lifecycle-action")},
			wantStderr: []string{
				"2024-05-14T09:30:12Z +0s      completed       CONTINUE i-1234567890abcdef0 (group my-asg, hook my-lifecycle-hook)",
				"phase done, outcome ready, result CONTINUE",
			},
			wantLog: `"msg":"lifecycle transition"`,
		},
		{
			name: "followed launch that never gets ready is abandoned",
			args: []string{"lifecycle", "-ready-after", "never", "-follow", sampleFile(t, "autoscaling-launch-lifecycle-action-sns")},
			wantStderr: []string{
				"+4m0s    heartbeat       i-0598c7d356eba48d7",
				"+15m0s   completed       ABANDON i-0598c7d356eba48d7",
				"91 invocations: the event and 90 wake-ups",
				"outcome abandoned, result ABANDON",
			},
			wantNot: []string{"wake-up "},
		},
		{
			name: "terminate of a registered instance deregisters it and waits",
			args: []string{"lifecycle", "-registered", sampleFile(t, "autoscaling-terminate-lifecycle-action")},
			wantStderr: []string{
				"deregistered    i-1234567890abcdef0 from arn:aws:elasticloadbalancing:",
				"wake-up         lifecycle#87654321-4321-4321-4321-210987654321 at 2024-05-14T10:02:55Z",
				"phase deregister, next look at 2024-05-14T10:02:55Z",
			},
		},
		{
			name:       "lifecycle ignores a test notification",
			args:       []string{"lifecycle", sampleFile(t, "autoscaling-test-notification-sqs")},
			wantStderr: []string{"no effect", "the handler ignored the event"},
			wantLog:    "ignoring Auto Scaling test notification",
		},
		{
			name:    "lifecycle rejects a malformed event",
			args:    []string{"lifecycle", malformed},
			wantErr: true, wantStderr: []string{"no effect"}, wantLog: "rejecting malformed event",
		},
		{
			name: "AMI rolled out by instance refresh",
			args: []string{"rollout", sampleFile(t, "ec2-ami-state-change-available")},
			wantStderr: []string{
				"version created lt-0a1b2c3d4e5f60718 version 2 from version 1 with ami-0abcdef1234567890",
				"default version lt-0a1b2c3d4e5f60718 default version 2",
				"parameter       /stampkit/web/ami = ami-0abcdef1234567890",
				"refresh started",
				"wake-up         rollout#web at 2024-05-13T21:05:10Z",
				"phase refresh",
			},
			wantLog: `"msg":"rollout step"`,
		},
		{
			name: "followed blue/green rollout shifts the weights",
			args: []string{"rollout", "-strategy", "bluegreen", "-follow", sampleFile(t, "ec2-ami-state-change-available")},
			wantStderr: []string{
				"resized         web-asg-green to min 2, max 20, desired 4",
				"weights         web-asg 90, web-asg-green 10",
				"weights         web-asg 50, web-asg-green 50",
				"weights         web-asg 0, web-asg-green 100",
				"resized         web-asg to min 0, max 20, desired 0",
				"phase done, outcome succeeded, 100% shifted",
			},
		},
		{
			name:       "abort command rolls the running rollout back",
			args:       []string{"rollout", "-running", sampleFile(t, "stampkit-rollout-command")},
			wantStderr: []string{"refresh rollback", "phase revert", "launch template default version 1; /stampkit/web/ami = ami-0a1b2c3d4e5f60001"},
		},
		{
			name:       "rollout ignores a failed AMI",
			args:       []string{"rollout", sampleFile(t, "ec2-ami-state-change-failed")},
			wantStderr: []string{"no effect", "nothing rolled out"},
			wantLog:    "AMI failed: nothing rolled out",
		},
		{
			name:    "rollout rejects a malformed event",
			args:    []string{"rollout", malformed},
			wantErr: true, wantStderr: []string{"no effect"}, wantLog: "rejecting malformed event",
		},
		{name: "bad strategy", args: []string{"rollout", "-strategy", "canary", sampleFile(t, "ec2-ami-state-change-available")}, wantErr: true, wantErrText: "-strategy"},
		{name: "bad readiness", args: []string{"lifecycle", "-ready-after", "soon", sampleFile(t, "autoscaling-launch-lifecycle-action")}, wantErr: true, wantErrText: "-ready-after"},
		{name: "bad clock", args: []string{"lifecycle", "-now", "+later", sampleFile(t, "autoscaling-launch-lifecycle-action")}, wantErr: true, wantErrText: "-now"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := run(t.Context(), append([]string{"invoke"}, tc.args...), &stdout, &stderr)
			if (err != nil) != tc.wantErr {
				t.Fatalf("got error %v, want error %t\n%s", err, tc.wantErr, stderr.String())
			}
			// A handler's failure is not the command line's: a usage error
			// (exit 2) is for a flag value alone, and says which.
			if errors.Is(err, errUsage) && tc.wantErrText == "" {
				t.Errorf("got a usage error %v, want the handler's failure", err)
			}
			if tc.wantErrText != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErrText)) {
				t.Errorf("got error %v, want one naming %s", err, tc.wantErrText)
			}
			rest := stderr.String()
			for _, want := range tc.wantStderr {
				i := strings.Index(rest, want)
				if i < 0 {
					t.Fatalf("stderr lacks %q after the earlier lines:\n%s", want, stderr.String())
				}
				rest = rest[i+len(want):]
			}
			for _, not := range tc.wantNot {
				if strings.Contains(stderr.String(), not) {
					t.Errorf("stderr holds %q:\n%s", not, stderr.String())
				}
			}
			if !strings.Contains(stdout.String(), tc.wantLog) {
				t.Errorf("stdout lacks %q:\n%s", tc.wantLog, stdout.String())
			}
		})
	}
}
