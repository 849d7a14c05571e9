package stamp

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
)

// cfn-lint's exit code is a bit field: 2 = error, 4 = warning,
// 8 = informational (1 = the linter itself failed). The test fails on
// errors, on warnings (none is ignored) and on a linter failure;
// informational findings are printed only.
const cfnLintFailBits = 1 | 2 | 4

// TestCfnLint lints the synthesized templates of both profiles. It is
// skipped when cfn-lint is not installed, unless STAMPKIT_REQUIRE_CFNLINT=1
// (CI sets it).
func TestCfnLint(t *testing.T) {
	bin, err := exec.LookPath("cfn-lint")
	if err != nil {
		if os.Getenv("STAMPKIT_REQUIRE_CFNLINT") == "1" {
			t.Fatalf("cfn-lint not found and STAMPKIT_REQUIRE_CFNLINT=1: %v", err)
		}
		t.Skip("cfn-lint not installed (pip install cfn-lint); set STAMPKIT_REQUIRE_CFNLINT=1 to require it")
	}
	for name, synth := range profiles() {
		t.Run(name, func(t *testing.T) { lint(t, bin, synth(t)) })
	}
	// Every stack of the two-stamp app behind a weighted record.
	t.Run("dns", func(t *testing.T) { lint(t, bin, synthDNS(t).stamps[0]) })
}

// lint runs cfn-lint on every template of f's app but those of the
// stacks named in others (not the stamp's).
func lint(t *testing.T, bin string, f *fixture, others ...string) {
	t.Helper()
	// Every stack of the app: the weights stack and the fleets' stacks
	// nested in the stamp's too.
	var paths []string
	check(t, "synthesizing the assembly", func() {
		asm := f.app.Synth(nil)
		for _, s := range *asm.Stacks() {
			if !slices.Contains(others, *s.StackName()) {
				paths = append(paths, *s.TemplateFullPath())
			}
		}
		nested, err := filepath.Glob(filepath.Join(*asm.Directory(), "*.nested.template.json"))
		if err != nil {
			panic(err)
		}
		paths = append(paths, nested...)
	})
	if len(paths) < 2+len(f.stack.Fleets()) {
		t.Fatalf("templates: got %v, want the app's stack, the weights stack and a stack per fleet", paths)
	}
	args := []string{"--format", "parseable", "--"}
	args = append(args, paths...)
	out, err := exec.CommandContext(t.Context(), bin, args...).CombinedOutput()
	code := 0
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		code = exit.ExitCode()
	case err != nil:
		t.Fatalf("running cfn-lint: %v", err)
	}
	if code&cfnLintFailBits != 0 {
		t.Fatalf("cfn-lint exit code %d (2 = error, 4 = warning); findings:\n%s", code, out)
	}
	if len(out) > 0 {
		t.Logf("cfn-lint informational findings:\n%s", out)
	}
}
