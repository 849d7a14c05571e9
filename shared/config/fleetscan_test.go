package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// FuzzReadFleetsFile: the fleets file read lazily (routes at once, each
// fleet on first use) is the file decoded whole: every fleet the same,
// and an error from one exactly when there is one from the other. The
// scan refuses no file that decodes.
func FuzzReadFleetsFile(f *testing.F) {
	shipped, err := filepath.Glob("configtest/testdata/*.json")
	if err != nil || len(shipped) == 0 {
		f.Fatalf("no shipped fleets: %v", err)
	}
	for _, path := range shipped {
		raw, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
	}
	rule := `{"alarm":"web-high","direction":"out","adjustmentType":"ChangeInCapacity","steps":[{"lower":0,"adjustment":2}]}`
	for _, seed := range []string{
		`[]`, `null`, `[null]`, `{}`, `[{}]`, `[{"name":"web"}]`,
		`[{"name":"web","group":"web-asg"}]`,
		`[{"name":"web","group":"web-asg"},{"name":"api","group":"web-asg"}]`,
		`[{"name":"w\u0065b","group":"web-asg","Group":"x"}]`,
		`[{"name":"web","group":"web-asg","rollout":{"blueGreen":{"peerGroup":"web-asg"},"strategy":"bluegreen"}}]`,
		`[{"name":"web","group":"web-asg","scaling":{"min":1,"max":3,"rules":[` + rule + `,` + strings.Replace(rule, "high", "low", 1) + `]}}]`,
		`[{"name":"web","group":"web-asg","scaling":{"rules":[{"alarm":"a","alarm":"b"}]}}]`,
		`[{"name":"web","group":"web-asg","lifecycle":{"launch":{"probes":[{"name":"a\"}]","kind":"http"}]}}}]`,
		`[{"name":"web","group":"web-asg"}] trailing`,
		"[{\"name\":\"web\",\"group\":\"web\x01asg\"}]",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		want, wantErr := decodeFleets(raw, "f")
		if wantErr == nil {
			wantErr = Config{Table: "t", Fleets: want}.validate("f")
		}
		file, err := readFleetsFile(raw, "f")
		if errors.Is(err, errScan) {
			if wantErr == nil {
				t.Fatalf("the scan refused fleets that decode: %s", raw)
			}
			return
		}
		var got []Fleet
		if err == nil {
			got, err = file.all()
		}
		switch {
		case err == nil && wantErr != nil:
			t.Fatalf("read lazily: no error; whole: %v\n%s", wantErr, raw)
		case err != nil && wantErr == nil:
			t.Fatalf("read lazily: %v; whole: no error\n%s", err, raw)
		case err == nil:
			if d := cmp.Diff(want, got); d != "" {
				t.Fatalf("read lazily (+) and whole (-) differ:\n%s\n%s", d, raw)
			}
		}
	})
}

// TestDecodeRefusesAFleetRoutedOtherwise: should the scan ever read a
// route other than the full decode, the fleet fails rather than take
// events meant for another.
func TestDecodeRefusesAFleetRoutedOtherwise(t *testing.T) {
	file, err := readFleetsFile([]byte(`[{"name":"web","group":"web-asg"}]`), "fleets.json")
	if err != nil {
		t.Fatal(err)
	}
	file.fleets[0].route.group = "api-asg"
	_, err = file.get(0)
	if err == nil || !strings.Contains(err.Error(), "fleets.json[0]: decoded, the fleet is") {
		t.Errorf("got %v, want the fleet refused", err)
	}
}
