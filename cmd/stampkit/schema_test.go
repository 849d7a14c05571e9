package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestSchema checks that "stampkit schema" prints the committed
// docs/cdk.schema.json, which infra/stampconfig's tests keep current.
func TestSchema(t *testing.T) {
	want, err := os.ReadFile(filepath.Join("..", "..", "docs", "cdk.schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout []byte
		stderr []string
	}{
		{name: "prints the schema", args: []string{"schema"}, stdout: want},
		{name: "an argument", args: []string{"schema", "cdk.json"}, code: 2, stderr: []string{"schema takes no arguments", "usage: stampkit schema"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			runChecked(t, tt.args, &stdout, &stderr, tt.code, tt.stderr)
			if tt.stdout != nil && !bytes.Equal(stdout.Bytes(), tt.stdout) {
				t.Errorf("stdout is not docs/cdk.schema.json (run `make docs`):\n%.300s", stdout.String())
			}
		})
	}
}
