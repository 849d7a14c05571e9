package runtimetest

import (
	"bufio"
	"os"
	"slices"
	"strings"
	"testing"
)

// The e2e tests and the runtime benchmark must measure the bootstraps that
// ship, which the Makefile builds: its GO_BUILD_FLAGS and BuildFlags are the
// same arguments, its LAMBDA_GOARM64 is GOARM64.
func TestBuildFlagsMatchMakefile(t *testing.T) {
	f, err := os.Open("../../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var line, goarm64 string
	for sc := bufio.NewScanner(f); sc.Scan(); {
		if v, ok := strings.CutPrefix(sc.Text(), "GO_BUILD_FLAGS := "); ok {
			line = v
		}
		if v, ok := strings.CutPrefix(sc.Text(), "LAMBDA_GOARM64 := "); ok {
			goarm64 = v
		}
	}
	if goarm64 != GOARM64 {
		t.Errorf("Makefile LAMBDA_GOARM64 = %q, want GOARM64 %q", goarm64, GOARM64)
	}
	if line == "" {
		t.Fatal("Makefile sets no GO_BUILD_FLAGS")
	}
	if got := shellWords(line); !slices.Equal(got, BuildFlags()) {
		t.Errorf("Makefile GO_BUILD_FLAGS = %q\nBuildFlags()         = %q", got, BuildFlags())
	}
}

// shellWords splits s as the shell would a line of unescaped words and
// double-quoted strings, the only syntax GO_BUILD_FLAGS uses.
func shellWords(s string) []string {
	var words []string
	for i, part := range strings.Split(s, `"`) {
		if i%2 == 1 {
			words = append(words, part)
			continue
		}
		words = append(words, strings.Fields(part)...)
	}
	return words
}
