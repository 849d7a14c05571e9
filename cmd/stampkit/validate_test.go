package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestValidate runs "stampkit validate" on the shipped cdk.json, changed
// as a new user would get it wrong: the exit status and what stderr says.
func TestValidate(t *testing.T) {
	shipped, err := os.ReadFile(filepath.Join("..", "..", "cdk.json"))
	if err != nil {
		t.Fatal(err)
	}
	edit := func(old, new string) string {
		if !bytes.Contains(shipped, []byte(old)) {
			t.Fatalf("cdk.json lacks %q", old)
		}
		return strings.Replace(string(shipped), old, new, 1)
	}
	tests := []struct {
		name   string
		file   string // the cdk.json; "" for none
		args   []string
		code   int
		stderr []string
		stdout string
	}{
		{name: "the shipped file", file: string(shipped), code: 0, stdout: "valid: 1 stamp(s), 1 fleet(s)", stderr: []string{"note: ", "make build"}},
		{name: "typo in a key", file: edit(`"minCapacity"`, `"minCapcity"`), code: 1,
			stderr: []string{`fleets[0].minCapcity: not a key of a fleet; did you mean "minCapacity"?`, "1 problem"}},
		{name: "duration without a unit", file: edit(`"heartbeatTimeout": "5m"`, `"heartbeatTimeout": 300`), code: 1,
			stderr: []string{`fleets[0].lifecycle.heartbeatTimeout: got 300, want a duration like "5m"`}},
		{name: "two mistakes at once", file: strings.Replace(edit(`"strategy": "rolling"`, `"strategy": "canary"`), `"kind": "http"`, `"kind": "tcp"`, 1), code: 1,
			stderr: []string{`fleets[0].rollout.strategy: "canary"`, `fleets[0].lifecycle.launch.probes[1].kind: "tcp"`, "2 problems"}},
		{name: "not JSON", file: edit(`"maxAzs": 3,`, `"maxAzs": 3,,`), code: 1, stderr: []string{"cdk.json:12:", "not JSON"}},
		{name: "no context", file: `{"app": "go run ./infra"}`, code: 1, stderr: []string{`no "context" object`}},
		{name: "no file", code: 1, stderr: []string{"cdk.json: no such file"}},
		{name: "an argument", file: string(shipped), args: []string{"cdk.json"}, code: 2, stderr: []string{"validate takes no arguments", "usage: stampkit validate"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "cdk.json")
			if tt.file != "" {
				if err := os.WriteFile(path, []byte(tt.file), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			args := append([]string{"validate", "-config", path}, tt.args...)
			var stdout, stderr bytes.Buffer
			runChecked(t, args, &stdout, &stderr, tt.code, tt.stderr)
			if !strings.Contains(stdout.String(), tt.stdout) {
				t.Errorf("stdout lacks %q:\n%s", tt.stdout, stdout.String())
			}
		})
	}
}
