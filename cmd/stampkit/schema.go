package main

import (
	"io"

	"github.com/stampkit/stampkit/infra/stampconfig"
)

// schema prints the JSON Schema of cdk.json, generated from the
// configuration's Go types: what docs/cdk.schema.json holds, for an editor
// to check and complete cdk.json as it is written (README
// "Configuration").
func schema(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("schema", synopses["schema"], stderr)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := noArgs(fs); err != nil {
		return err
	}
	raw, err := stampconfig.Schema()
	if err != nil {
		return err
	}
	_, err = stdout.Write(raw)
	return err
}
