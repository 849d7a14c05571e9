package config_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/stampkit/stampkit/shared/config"
)

// TestFromEnvFleetsFile reads the fleets from the file STAMPKIT_FLEETS_FILE
// names, as the functions do once the CDK app bundles it with their code.
func TestFromEnvFleetsFile(t *testing.T) {
	want, err := config.FromEnv(env(map[string]string{config.EnvTable: "state", config.EnvFleets: fleetsJSON}))
	if err != nil {
		t.Fatalf("FromEnv(%s): %v", config.EnvFleets, err)
	}
	root := t.TempDir()
	write := func(name, content string) string {
		t.Helper()
		path := filepath.Join(root, name)
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	good := write("fleets.json", fleetsJSON)
	unknown := write("unknown.json", strings.Replace(fleetsJSON, `"group":"web-asg"`, `"group":"web-asg","grup":"x"`, 1))
	invalid := write("invalid.json", strings.Replace(fleetsJSON, `"group":"web-asg",`, "", 1))
	unreadable := write("unreadable.json", fleetsJSON)
	if err := os.Chmod(unreadable, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := os.ReadFile(unreadable); err == nil {
		unreadable = filepath.Join(root, "missing.json") // as root, a mode does not stop a read
	}
	// The relative path with no task root is resolved against the working
	// directory, which t.Chdir makes root for the one case that needs it.
	tests := []struct {
		name    string
		vars    map[string]string
		chdir   bool
		wantErr []string
	}{
		{name: "absolute path", vars: map[string]string{config.EnvFleetsFile: good}},
		{name: "absolute path ignores the task root", vars: map[string]string{config.EnvFleetsFile: good, config.EnvTaskRoot: "/nowhere"}},
		{name: "relative path under the task root", vars: map[string]string{config.EnvFleetsFile: "fleets.json", config.EnvTaskRoot: root}},
		{name: "relative path, no task root: the working directory", vars: map[string]string{config.EnvFleetsFile: "fleets.json"}, chdir: true},
		{name: "relative path under another task root", vars: map[string]string{config.EnvFleetsFile: "fleets.json", config.EnvTaskRoot: t.TempDir()},
			wantErr: []string{"STAMPKIT_FLEETS_FILE: reading the fleets", "fleets.json"}},
		{name: "both set", vars: map[string]string{config.EnvFleetsFile: good, config.EnvFleets: fleetsJSON},
			wantErr: []string{"STAMPKIT_FLEETS and STAMPKIT_FLEETS_FILE: both are set"}},
		{name: "neither set", vars: map[string]string{},
			wantErr: []string{"STAMPKIT_FLEETS and STAMPKIT_FLEETS_FILE: neither is set"}},
		{name: "unreadable file", vars: map[string]string{config.EnvFleetsFile: unreadable},
			wantErr: []string{"STAMPKIT_FLEETS_FILE: reading the fleets", unreadable}},
		{name: "unknown field names the file and the key", vars: map[string]string{config.EnvFleetsFile: unknown},
			wantErr: []string{unknown + `[0]: not a fleet as this code knows them`, `unknown field "grup"`}},
		{name: "not an array of objects", vars: map[string]string{config.EnvFleetsFile: write("object.json", `{"name":"web"}`)},
			wantErr: []string{filepath.Join(root, "object.json") + `: not a JSON array of fleets as this code knows them`}},
		{name: "invalid fleet names the file and the key", vars: map[string]string{config.EnvFleetsFile: invalid},
			wantErr: []string{invalid + "[0].group: is empty"}},
		{name: "empty list names the file", vars: map[string]string{config.EnvFleetsFile: write("empty.json", "[]")},
			wantErr: []string{filepath.Join(root, "empty.json") + ": no fleets"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.chdir {
				t.Chdir(root)
			}
			vars := map[string]string{config.EnvTable: "state"}
			for k, v := range tt.vars {
				vars[k] = v
			}
			got, err := config.FromEnv(env(vars))
			if len(tt.wantErr) > 0 {
				if err == nil {
					t.Fatalf("FromEnv succeeded, want an error containing %q", tt.wantErr)
				}
				for _, w := range tt.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not contain %q", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("FromEnv: %v", err)
			}
			if d := cmp.Diff(want, decoded(t, got), sameFleets); d != "" {
				t.Errorf("config from the file differs from the one from %s (-want +got):\n%s", config.EnvFleets, d)
			}
		})
	}
}

// decoded returns c with every fleet decoded into Fleets, as FromEnv reads
// them from the environment.
func decoded(t *testing.T, c config.Config) config.Config {
	t.Helper()
	out := config.Config{Table: c.Table, Namespace: c.Namespace, LogLevel: c.LogLevel}
	for _, name := range c.FleetNames() {
		f, ok, err := c.FleetByName(name)
		if err != nil || !ok {
			t.Fatalf("FleetByName(%s): %v, %v; want the fleet", name, ok, err)
		}
		out.Fleets = append(out.Fleets, f)
	}
	return out
}

// fromFile is c as a function reads it back from a fleets file.
func fromFile(t testing.TB, c config.Config) config.Config {
	t.Helper()
	path := filepath.Join(t.TempDir(), "fleets.json")
	raw, err := json.Marshal(c.Fleets)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := config.FromEnv(env(map[string]string{config.EnvTable: c.Table, config.EnvFleetsFile: path}))
	if err != nil {
		t.Fatalf("FromEnv(%s): %v", path, err)
	}
	return got
}
