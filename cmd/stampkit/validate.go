package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/stampkit/stampkit/infra/stampconfig"
)

// validate checks a cdk.json as `cdk synth` does (stampconfig, without the
// CDK or Node): every mistake at once, each under its key. Build output
// synth would upload and cannot find is a note: it is not in the file.
func validate(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("validate", synopses["validate"], stderr)
	path := fs.String("config", "cdk.json", "the CDK app's cdk.json")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := noArgs(fs); err != nil {
		return err
	}
	ctx, err := readContext(*path)
	if err != nil {
		return err
	}
	stamps, err := stampconfig.ParseContext(ctx, false)
	if err != nil {
		return reportProblems(*path, err, stderr)
	}
	if missing := stamps[0].MissingAssets(); len(missing) > 0 {
		fmt.Fprintf(stderr, "%s: note: %s and %d more are not built yet; `make build` writes them, and cdk synth needs them\n",
			*path, missing[0], len(missing)-1)
	}
	fleets := 0
	for _, s := range stamps {
		fleets += len(s.Fleets)
	}
	_, err = fmt.Fprintf(stdout, "%s: valid: %d stamp(s), %d fleet(s)\n", *path, len(stamps), fleets)
	return err
}

// reportProblems prints each of the configuration's problems under its
// key, and returns the failure that counts them.
func reportProblems(path string, err error, stderr io.Writer) error {
	problems := flatten(err)
	for _, e := range problems {
		fmt.Fprintf(stderr, "%s: %s\n", path, keyed(e))
	}
	if len(problems) == 1 {
		return fmt.Errorf("%s: 1 problem", path)
	}
	return fmt.Errorf("%s: %d problems", path, len(problems))
}

// readContext reads the "context" of the cdk.json at path. A relative
// assetsDir is made relative to the file's directory, where `cdk synth`
// runs the app.
func readContext(path string) (map[string]any, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var doc struct {
		Context map[string]any `json:"context"`
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(&doc); err != nil {
		var syntax *json.SyntaxError
		if errors.As(err, &syntax) {
			line, col := position(raw, syntax.Offset)
			return nil, fmt.Errorf("%s:%d:%d: not JSON: %w", path, line, col, err)
		}
		return nil, fmt.Errorf("%s: not a cdk.json: %w", path, err)
	}
	if doc.Context == nil {
		return nil, fmt.Errorf("%s: no \"context\" object: stampkit reads its settings and fleets from it", path)
	}
	assets, _ := doc.Context[stampconfig.CtxAssetsDir].(string)
	if assets == "" {
		assets = stampconfig.DefaultAssetsDir
	}
	if !filepath.IsAbs(assets) {
		doc.Context[stampconfig.CtxAssetsDir] = filepath.Join(filepath.Dir(path), assets)
	}
	return doc.Context, nil
}

// position turns a byte offset into a 1-based line and column.
func position(raw []byte, offset int64) (line, col int) {
	before := raw[:min(int(offset), len(raw))]
	line = bytes.Count(before, []byte("\n")) + 1
	col = len(before) - bytes.LastIndexByte(before, '\n')
	return line, col
}

// flatten lists the errors err joins, however deeply.
func flatten(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, flatten(e)...)
		}
		return out
	}
	return []error{err}
}

// contextKeyRe is how the configuration's errors name their key.
var contextKeyRe = regexp.MustCompile(`^context "([^"]*)": `)

// keyed writes e as "key: what is wrong": in a file, the key is a path
// in it, not a CDK context key.
func keyed(e error) string {
	msg := e.Error()
	if m := contextKeyRe.FindStringSubmatch(msg); m != nil {
		return m[1] + ": " + strings.TrimPrefix(msg, m[0])
	}
	return msg
}
