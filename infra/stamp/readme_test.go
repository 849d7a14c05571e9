package stamp_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestReadmeShowsTheExample keeps README "Use it as a library" and
// Example the same code: the Example's lines between its README markers
// appear, in order and together, in the README's Go sample.
func TestReadmeShowsTheExample(t *testing.T) {
	example, err := os.ReadFile("example_test.go")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(example), "// README: from here\n")
	marked, _, ok2 := strings.Cut(rest, "// README: to here\n")
	if !ok || !ok2 {
		t.Fatal("example_test.go: no README markers around the code the README shows")
	}
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(readme), "\n## Use it as a library\n")
	if !ok {
		t.Fatal(`README.md: no section "## Use it as a library"`)
	}
	_, sample, ok := strings.Cut(section, "```go\n")
	sample, _, ok2 = strings.Cut(sample, "```\n")
	if !ok || !ok2 {
		t.Fatal(`README.md "Use it as a library": no Go sample`)
	}
	if !strings.Contains(trimLines(sample), trimLines(marked)) {
		t.Errorf("README's sample differs from the Example; want these lines in it, in order:\n%s\nREADME's:\n%s", marked, sample)
	}
}

// trimLines drops each line's indentation, which Example and README do
// not share.
func trimLines(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimSpace(l)
	}
	return strings.Join(lines, "\n")
}
