// Package runtimetest runs the toolkit's functions the way Lambda does: each
// is built as a Linux `bootstrap` with the shipped build flags and run as a
// custom runtime under the AWS Lambda Runtime Interface Emulator (RIE, the
// module's `aws-lambda-rie` tool), which serves the Runtime API to the
// bootstrap and the Invoke API to the caller. The end-to-end tests (e2e/)
// and the runtime benchmark (bench/runtime) share it.
//
// It needs the go command (to build) and Linux (RIE execs the bootstrap and
// the memory probe reads /proc). Nothing binds beyond 127.0.0.1.
package runtimetest

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// RIEPackage is the import path of the emulator's command; go.mod lists it
// as a tool, which pins its version.
const RIEPackage = "github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie"

// SDKNoInline is the -gcflags value of the shipped functions: every
// github.com/aws module (the SDK's generated service packages, request
// serialisers, response deserialisers and shape types, its core, smithy-go
// and aws-lambda-go) compiles without inlining. The service packages alone
// ("github.com/aws/aws-sdk-go-v2/service/...=-l") save 0.3–0.8 MB per
// bootstrap against the default; the wider scope saves another 38 KB of
// rollout's code and tables, which is what keeps it at 152 64 KB pages, the
// most 10,000,000 bytes holds: with the narrower scope it is 10,027,170
// bytes even with GOARM64. Measured in Dec 2026 (bench/sdkcall, and cold
// starts under RIE as bench/runtime takes them; both scopes and the default
// interleaved in one run; two runs on a shared 2-core machine at load
// 9–13), wide over narrow: SDK calls 0.72–1.15×, cold-start
// init 0.88–1.20×, first invoke 0.95–1.24×, with no consistent sign: no
// cost that those machines can resolve, where the code waits on the
// network anyway. `make bench` reports both ratios (shipped-x-inlined,
// shipped-x-services) on every run.
const SDKNoInline = "github.com/aws/...=-l"

// GOARM64 is the arm64 target of the shipped functions (the Makefile's
// LAMBDA_GOARM64): Lambda's arm64 functions run on Graviton processors,
// Armv8.2-A or later, which all have the LSE atomic instructions. With lse
// the compiler emits those alone, where the v8.0 default emits each atomic
// twice behind a run-time CPU check: 34 KB less code in the rollout
// bootstrap, 64 KB less file for lifecycle. A CPU without LSE stops the
// program at start with a message saying so (runtime/asm_arm64.s), not
// with a fault later.
const GOARM64 = "v8.0,lse"

// BuildFlags returns the go build flags of the shipped functions, as the
// Makefile's GO_BUILD_FLAGS: no RPC runtime (provided.al2023 needs none),
// reproducible paths, no symbol table or DWARF, SDKNoInline.
func BuildFlags() []string {
	return []string{"-tags", "lambda.norpc", "-trimpath", "-ldflags", "-s -w", "-gcflags", SDKNoInline}
}

// Build builds each package (an import path or a ./relative path resolved
// in the working directory) for linux/goarch with BuildFlags, CGO off and,
// for arm64, GOARM64, in one go build run, and returns each binary's path,
// keyed by the package's last path element: dir/<name>/bootstrap, the name
// Lambda's provided runtimes execute.
func Build(ctx context.Context, dir, goarch string, pkgs ...string) (map[string]string, error) {
	if len(pkgs) == 0 {
		return map[string]string{}, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("creating %s: %w", dir, err)
	}
	staging, err := os.MkdirTemp(dir, "build-")
	if err != nil {
		return nil, fmt.Errorf("creating build directory: %w", err)
	}
	defer os.RemoveAll(staging)
	args := append([]string{"build"}, BuildFlags()...)
	// With several packages, -o names a directory and each binary takes its
	// package's last element, so one run shares the compile of the SDK.
	args = append(args, "-o", staging+string(filepath.Separator))
	args = append(args, pkgs...)
	env := []string{"CGO_ENABLED=0", "GOOS=linux", "GOARCH=" + goarch}
	if goarch == "arm64" {
		env = append(env, "GOARM64="+GOARM64)
	}
	if err := goCommand(ctx, env, args...); err != nil {
		return nil, err
	}
	out := make(map[string]string, len(pkgs))
	for _, p := range pkgs {
		name := filepath.Base(p)
		if _, dup := out[name]; dup {
			return nil, fmt.Errorf("building %s: two packages named %s", p, name)
		}
		dst := filepath.Join(dir, name, "bootstrap")
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return nil, fmt.Errorf("creating %s: %w", filepath.Dir(dst), err)
		}
		if err := os.Rename(filepath.Join(staging, name), dst); err != nil {
			return nil, fmt.Errorf("placing %s: %w", dst, err)
		}
		out[name] = dst
	}
	return out, nil
}

// BuildRIE builds the runtime interface emulator for the host into dir and
// returns its path. The version is the one go.mod's tool directive pins.
func BuildRIE(ctx context.Context, dir string) (string, error) {
	path := filepath.Join(dir, "aws-lambda-rie")
	if err := goCommand(ctx, []string{"CGO_ENABLED=0"}, "build", "-trimpath", "-o", path, RIEPackage); err != nil {
		return "", err
	}
	return path, nil
}

// goCommand runs the go command with extra environment; its output becomes
// the error on failure.
func goCommand(ctx context.Context, env []string, args ...string) error {
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Env = append(os.Environ(), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, out.Bytes())
	}
	return nil
}
