package config_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/stampkit/stampkit/shared/config"
	"github.com/stampkit/stampkit/shared/config/configtest"
)

// writeFleets writes fleets as the fleets file, each fleet's JSON passed
// through edit (by its position), and returns the file's path.
func writeFleets(t *testing.T, fleets []config.Fleet, edit func(i int, raw string) string) string {
	t.Helper()
	parts := make([]string, len(fleets))
	for i, f := range fleets {
		raw, err := json.Marshal(f)
		if err != nil {
			t.Fatal(err)
		}
		parts[i] = string(raw)
		if edit != nil {
			parts[i] = edit(i, parts[i])
		}
	}
	path := filepath.Join(t.TempDir(), "fleets.json")
	if err := os.WriteFile(path, []byte("["+strings.Join(parts, ",")+"]"), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func scalerFleets(t *testing.T, n int) []config.Fleet {
	t.Helper()
	c, err := configtest.Config("scaler", n)
	if err != nil {
		t.Fatal(err)
	}
	return c.Fleets
}

// TestFleetsFileDecodesOnFirstUse: a fleet whose policies do not decode or
// validate does not fail the cold start, nor events of other fleets; it
// fails every use of it, naming the file and the key, as the cold start
// used to.
func TestFleetsFileDecodesOnFirstUse(t *testing.T) {
	fleets := scalerFleets(t, 3)
	path := writeFleets(t, fleets, func(i int, raw string) string {
		switch i {
		case 1:
			return strings.Replace(raw, `"min":`, `"min":-`, 1)
		case 2:
			return strings.Replace(raw, `"rules":`, `"rulez":[],"rules":`, 1)
		}
		return raw
	})
	c, err := config.FromEnv(env(map[string]string{config.EnvTable: "state", config.EnvFleetsFile: path}))
	if err != nil {
		t.Fatalf("FromEnv: %v; want the fleets decoded on first use", err)
	}
	want := []string{fleets[0].Name, fleets[1].Name, fleets[2].Name}
	if d := cmp.Diff(want, c.FleetNames()); d != "" {
		t.Errorf("FleetNames (-want +got):\n%s", d)
	}

	// The first fleet is found by each of the keys events route by, with
	// the others not decoded (or they would have failed).
	good := fleets[0]
	for lookup, find := range map[string]func() (config.Fleet, bool, error){
		"name":  func() (config.Fleet, bool, error) { return c.FleetByName(good.Name) },
		"group": func() (config.Fleet, bool, error) { return c.FleetByGroup(good.Group) },
		"alarm": func() (config.Fleet, bool, error) { return c.FleetByAlarm(good.Scaling.Rules[1].Alarm) },
	} {
		got, ok, err := find()
		if err != nil || !ok {
			t.Fatalf("by %s: %v, %v; want fleet %s", lookup, ok, err, good.Name)
		}
		if d := cmp.Diff(good, got); d != "" {
			t.Errorf("by %s (-want +got):\n%s", lookup, d)
		}
	}

	tests := []struct {
		name    string
		find    func() (config.Fleet, bool, error)
		wantErr []string
	}{
		{name: "invalid policy, by alarm", find: func() (config.Fleet, bool, error) { return c.FleetByAlarm(fleets[1].Scaling.Rules[0].Alarm) },
			wantErr: []string{path + "[1].scaling.min:"}},
		{name: "invalid policy, by group", find: func() (config.Fleet, bool, error) { return c.FleetByGroup(fleets[1].Group) },
			wantErr: []string{path + "[1].scaling.min:"}},
		{name: "unknown field, by name", find: func() (config.Fleet, bool, error) { return c.FleetByName(fleets[2].Name) },
			wantErr: []string{path + "[2]: not a fleet as this code knows them", `unknown field "rulez"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Twice: the error is kept, not forgotten after the first use.
			for range 2 {
				f, ok, err := tt.find()
				if err == nil {
					t.Fatalf("got fleet %q (%v), want an error containing %q", f.Name, ok, tt.wantErr)
				}
				for _, w := range tt.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not contain %q", err, w)
					}
				}
			}
		})
	}

	// Whatever needs every fleet reports every one that fails.
	err = c.Validate()
	for _, w := range []string{path + "[1].scaling.min:", path + "[2]: not a fleet"} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("Validate: %v, want an error containing %q", err, w)
		}
	}
	if _, err := c.Env(); err == nil {
		t.Error("Env succeeded, want the fleets' errors")
	}
	if _, ok, err := c.FleetByGroup(fleets[1].Group); err == nil || !strings.Contains(err.Error(), path+"[1].scaling.min:") {
		t.Errorf("FleetByGroup of a fleet that fails to decode: ok %v, err %v; want its own error", ok, err)
	}
}

// TestFleetsFileRoutesAtColdStart: what events are routed by is checked
// for every fleet at cold start, as before, in the same words.
func TestFleetsFileRoutesAtColdStart(t *testing.T) {
	fleets := scalerFleets(t, 3)
	tests := []struct {
		name    string
		edit    func(i int, raw string) string
		wantErr string
	}{
		{name: "no name", wantErr: "[1].name: is empty",
			edit: func(i int, raw string) string {
				return replaceIn(i, 1, raw, `"name":"`+fleets[1].Name+`"`, `"name":""`)
			}},
		{name: "a name twice", wantErr: fmt.Sprintf("[2].name: %q is used by another fleet", fleets[0].Name),
			edit: func(i int, raw string) string {
				return replaceIn(i, 2, raw, `"name":"`+fleets[2].Name+`"`, `"name":"`+fleets[0].Name+`"`)
			}},
		{name: "no group", wantErr: "[0].group: is empty",
			edit: func(i int, raw string) string {
				return replaceIn(i, 0, raw, `"group":"`+fleets[0].Group+`"`, `"group":""`)
			}},
		{name: "a group twice", wantErr: fmt.Sprintf("[1].group: %q is also a group of fleet %q", fleets[0].Group, fleets[0].Name),
			edit: func(i int, raw string) string {
				return replaceIn(i, 1, raw, `"group":"`+fleets[1].Group+`"`, `"group":"`+fleets[0].Group+`"`)
			}},
		{name: "an alarm twice", wantErr: fmt.Sprintf("[2].scaling.rules: alarm %q also scales fleet %q", fleets[0].Scaling.Rules[0].Alarm, fleets[0].Name),
			edit: func(i int, raw string) string {
				return replaceIn(i, 2, raw, fleets[2].Scaling.Rules[0].Alarm, fleets[0].Scaling.Rules[0].Alarm)
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFleets(t, fleets, tt.edit)
			_, err := config.FromEnv(env(map[string]string{config.EnvTable: "state", config.EnvFleetsFile: path}))
			if err == nil || !strings.Contains(err.Error(), path+tt.wantErr) {
				t.Errorf("FromEnv: %v, want an error containing %q", err, path+tt.wantErr)
			}
		})
	}
}

// replaceIn replaces old with new in raw if it is the JSON of fleet want.
func replaceIn(i, want int, raw, old, new string) string {
	if i != want {
		return raw
	}
	return strings.Replace(raw, old, new, 1)
}

// TestFleetsFileOddRoutes: JSON whose route only encoding/json knows how
// to read (escapes, keys in another case, keys twice, nulls) reads as it
// does from the environment, which decodes it whole.
func TestFleetsFileOddRoutes(t *testing.T) {
	rule := `{"alarm":"web-high","direction":"out","adjustmentType":"ChangeInCapacity","steps":[{"lower":0,"adjustment":2}]}`
	scaling := `{"min":1,"max":3,"rules":[` + rule + `]}`
	tests := []struct{ name, fleet string }{
		{name: "escaped name", fleet: `{"name":"w\u0065b","group":"web-asg"}`},
		{name: "escaped key", fleet: `{"n\u0061me":"web","group":"web-asg"}`},
		{name: "key in another case", fleet: `{"name":"web","Group":"web-asg"}`},
		{name: "key twice, the last wins", fleet: `{"name":"web","group":"old-asg","group":"web-asg"}`},
		{name: "non-ASCII group", fleet: `{"name":"web","group":"web-ä-asg"}`},
		{name: "null group, then the group", fleet: `{"name":"web","group":null,"group":"web-asg"}`},
		{name: "scaling null", fleet: `{"name":"web","group":"web-asg","scaling":null}`},
		{name: "scaling twice: objects merge", fleet: `{"name":"web","group":"web-asg","scaling":` + scaling + `,"scaling":{"max":4}}`},
		{name: "alarm in another case", fleet: `{"name":"web","group":"web-asg","scaling":{"min":1,"max":3,"rules":[` + strings.Replace(rule, `"alarm"`, `"ALARM"`, 1) + `]}}`},
		{name: "peer group escaped", fleet: `{"name":"web","group":"web-asg","rollout":{"blueGreen":{"peerGroup":"web-\u0067reen"}}}`},
		{name: "blank space everywhere", fleet: "{ \"name\" :\t\"web\" ,\n\"group\" : \"web-asg\" , \"scaling\" : " + scaling + " }"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := "[" + tt.fleet + "]"
			want, err := config.FromEnv(env(map[string]string{config.EnvTable: "state", config.EnvFleets: raw}))
			if err != nil {
				t.Fatalf("FromEnv(%s): %v", config.EnvFleets, err)
			}
			path := filepath.Join(t.TempDir(), "fleets.json")
			if err := os.WriteFile(path, []byte(raw), 0o644); err != nil {
				t.Fatal(err)
			}
			got, err := config.FromEnv(env(map[string]string{config.EnvTable: "state", config.EnvFleetsFile: path}))
			if err != nil {
				t.Fatalf("FromEnv(%s): %v", config.EnvFleetsFile, err)
			}
			if d := cmp.Diff(want, decoded(t, got), sameFleets); d != "" {
				t.Errorf("the file reads otherwise than the environment (-env +file):\n%s", d)
			}
			f := want.Fleets[0]
			if _, ok, err := got.FleetByGroup(f.Group); !ok || err != nil {
				t.Errorf("FleetByGroup(%q): %v, %v; want fleet %s", f.Group, ok, err, f.Name)
			}
			for _, r := range f.Scaling.Rules {
				if _, ok, err := got.FleetByAlarm(r.Alarm); !ok || err != nil {
					t.Errorf("FleetByAlarm(%q): %v, %v; want fleet %s", r.Alarm, ok, err, f.Name)
				}
			}
			if peer := f.Rollout.BlueGreen.PeerGroup; peer != "" {
				if _, ok, err := got.FleetByGroup(peer); !ok || err != nil {
					t.Errorf("FleetByGroup(%q): %v, %v; want fleet %s", peer, ok, err, f.Name)
				}
			}
		})
	}
}

// TestFleetsFileConcurrentFirstUse: the scaler's tick looks fleets up from
// ten goroutines at once; each fleet is decoded once, and every caller
// gets that one decode (its rules are the same slice).
func TestFleetsFileConcurrentFirstUse(t *testing.T) {
	fleets := scalerFleets(t, 20)
	c, err := config.FromEnv(env(map[string]string{config.EnvTable: "state", config.EnvFleetsFile: writeFleets(t, fleets, nil)}))
	if err != nil {
		t.Fatal(err)
	}
	const callers = 16
	got := make([][]*config.Fleet, callers)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for g := range callers {
		wg.Go(func() {
			<-start
			for i, want := range fleets {
				var f config.Fleet
				var ok bool
				var err error
				// By each key in turn: they share one decode per fleet.
				switch (g + i) % 3 {
				case 0:
					f, ok, err = c.FleetByName(want.Name)
				case 1:
					f, ok, err = c.FleetByGroup(want.Group)
				default:
					f, ok, err = c.FleetByAlarm(want.Scaling.Rules[0].Alarm)
				}
				if err != nil || !ok {
					t.Errorf("fleet %s: %v, %v", want.Name, ok, err)
					return
				}
				got[g] = append(got[g], &f)
			}
		})
	}
	close(start)
	wg.Wait()
	if t.Failed() {
		return
	}
	for i, want := range fleets {
		first := got[0][i]
		if d := cmp.Diff(want, *first); d != "" {
			t.Fatalf("fleet %s (-want +got):\n%s", want.Name, d)
		}
		for g := 1; g < callers; g++ {
			if &got[g][i].Scaling.Rules[0] != &first.Scaling.Rules[0] {
				t.Fatalf("fleet %s: callers 0 and %d got rules decoded apart; want one decode", want.Name, g)
			}
		}
	}
}
