package event

import (
	"embed"
	"fmt"
	"io/fs"
	"strings"
)

// sampleFiles holds the real AWS sample events used by the tests; the CLI
// prints them. testdata/events/SOURCES.md says where each came from.
//
//go:embed testdata/events/*.json
var sampleFiles embed.FS

// Samples returns the sample payloads that Decode is tested against, keyed
// by name (the file name without ".json", for example
// "autoscaling-launch-lifecycle-action").
func Samples() (map[string][]byte, error) {
	paths, err := fs.Glob(sampleFiles, "testdata/events/*.json")
	if err != nil {
		return nil, fmt.Errorf("listing samples: %w", err)
	}
	out := make(map[string][]byte, len(paths))
	for _, p := range paths {
		b, err := sampleFiles.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("reading sample %s: %w", p, err)
		}
		name := strings.TrimSuffix(strings.TrimPrefix(p, "testdata/events/"), ".json")
		out[name] = b
	}
	return out, nil
}
