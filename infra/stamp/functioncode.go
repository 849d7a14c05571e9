package stamp

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"

	"github.com/stampkit/stampkit/shared/config"
)

// FleetsFileName is the fleets file in each function's code, next to its
// bootstrap: what STAMPKIT_FLEETS_FILE names, relative to the directory
// Lambda unpacks the code into (config.EnvTaskRoot).
const FleetsFileName = "fleets.json"

// stagingDir is where synth writes each stamp's function code, under the
// cloud assembly's directory: <outdir>/stampkit-code/<stack>/<function>.
const stagingDir = "stampkit-code"

// functionCode is what a function's code asset holds and what its
// environment says of its fleets.
type functionCode struct {
	// dir is the staged directory: the bootstrap and, with the fleets in a
	// file, FleetsFileName.
	dir string
	// env is STAMPKIT_FLEETS_FILE, or STAMPKIT_FLEETS with fleets whose
	// configuration holds values only CloudFormation knows.
	env map[string]*string
}

// stageFunctionCode writes function's code directory for stack: a hard link
// to (or, across file systems, a copy of) <assetsDir>/<function>/bootstrap,
// and the function's share of fleets (FleetsFor) as FleetsFileName. The
// file cannot hold a token, so the fleets a function reads must be names
// the stamp sets (Names) and constants; the one exception is a forecast
// that reads a metric of the fleet's load balancer or target group, whose
// dimensions exist only once CloudFormation has created them: the
// scaler's fleets then stay in its environment (STAMPKIT_FLEETS), with
// Lambda's 4 KB limit on it (Config.checkEnvSize names the fleet).
func stageFunctionCode(stack awscdk.Stack, assetsDir, function string, fleets []config.Fleet) (functionCode, error) {
	raw, err := json.Marshal(fleets)
	if err != nil {
		return functionCode{}, fmt.Errorf("encoding the %s function's fleets: %w", function, err)
	}
	dir, err := stageBootstrap(stack, assetsDir, function)
	if err != nil {
		return functionCode{}, err
	}
	if holdsTokens(string(raw)) {
		return functionCode{dir: dir, env: map[string]*string{config.EnvFleets: FleetsJSON(stack, fleets)}}, nil
	}
	if err := os.WriteFile(filepath.Join(dir, FleetsFileName), raw, 0o644); err != nil {
		return functionCode{}, fmt.Errorf("staging the %s function's fleets: %w", function, err)
	}
	return functionCode{dir: dir, env: map[string]*string{config.EnvFleetsFile: strPtr(FleetsFileName)}}, nil
}

// stageBootstrap makes function's code directory for stack, empty but for
// a hard link to (or, across file systems, a copy of)
// <assetsDir>/<function>/bootstrap, and returns it.
func stageBootstrap(stack awscdk.Stack, assetsDir, function string) (string, error) {
	dir := filepath.Join(*awscdk.Stage_Of(stack).Outdir(), stagingDir, *stack.ArtifactId(), function)
	if err := os.RemoveAll(dir); err != nil {
		return "", fmt.Errorf("clearing %s: %w", dir, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("staging the %s function's code: %w", function, err)
	}
	if err := linkOrCopy(filepath.Join(assetsDir, function, "bootstrap"), filepath.Join(dir, "bootstrap")); err != nil {
		return "", fmt.Errorf("staging the %s function's code: %w", function, err)
	}
	return dir, nil
}

// holdsTokens reports whether s holds a value CloudFormation resolves at
// deploy time.
func holdsTokens(s string) bool { return strings.Contains(s, "${Token[") }

func strPtr(s string) *string { return &s }

// linkOrCopy makes dst the file src: a hard link (the asset's hash reads
// the same bytes, and nothing is copied), or a copy with src's mode where
// the two directories are on different file systems.
func linkOrCopy(src, dst string) error {
	if err := os.Link(src, dst); err == nil {
		return nil
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	info, err := in.Stat()
	if err != nil {
		return err
	}
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, info.Mode().Perm())
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("copying %s to %s: %w", src, dst, err)
	}
	return out.Close()
}
