package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// ownFleetConfig is a cdk.json whose one fleet (api, stamp edge) differs
// from the demo fleet in every dimension: m7g.large, capacity 3-12, its
// own scaling rules, probes and deregistration delay, a blue/green
// rollout in steps of 25 and 100 %.
const ownFleetConfig = "testdata/own-fleet.cdk.json"

// TestSimulateOwnFleet runs simulate on ownFleetConfig and checks that the
// run is that fleet's: its group's name and capacities, its scaling
// rules' alarms, its probes, its blue/green steps and its price.
func TestSimulateOwnFleet(t *testing.T) {
	dir := t.TempDir()
	var stdout, stderr bytes.Buffer
	args := []string{"simulate", "-config", ownFleetConfig, "-scenario", "spike", "-image-at", "1h", "-policy", "stampkit", "-log", "-json", "-out", dir}
	runChecked(t, args, &stdout, &stderr, 0, []string{"fleet api of stamp edge: group stampkit-edge-api, m7g.large, capacity 3-12"})
	var runs []runRow
	if err := json.Unmarshal(stdout.Bytes(), &runs); err != nil || len(runs) != 1 {
		t.Fatalf("stdout: %v, %d runs, want 1:\n%s", err, len(runs), stdout.String())
	}
	// m7g.large in us-east-1, not the demo's c7g.large at $0.0725.
	if got := runs[0].Cost / runs[0].InstanceHours; math.Abs(got-0.0816) > 1e-9 {
		t.Errorf("price per instance-hour %g, want 0.0816 (m7g.large)", got)
	}
	scaling := readCSV(t, filepath.Join(dir, "scaling-stampkit.csv"))
	groups := map[string]bool{}
	scaled := 0
	for _, r := range scaling {
		groups[r["group"]] = true
		if r["by"] != "stampkit" {
			continue
		}
		scaled++
		if to, _ := strconv.Atoi(r["to"]); to < 3 || to > 12 {
			t.Errorf("the scaler set %s to %d, outside the fleet's 3-12", r["group"], to)
		}
		if !strings.Contains(r["reason"], "stampkit-edge-scale-api-") {
			t.Errorf("scaling reason %q names none of the fleet's alarms (stampkit-edge-scale-api-busy, -idle)", r["reason"])
		}
	}
	if scaled == 0 {
		t.Error("the scaler never changed the capacity")
	}
	for _, g := range []string{"stampkit-edge-api", "stampkit-edge-api-peer"} {
		if !groups[g] {
			t.Errorf("no capacity change of group %s; groups changed: %v", g, groups)
		}
	}
	// The listener's share to the new group moves only in the fleet's
	// steps (25, 100), not the demo's (10, 50, 100).
	shares := map[float64]bool{}
	for _, r := range readCSV(t, filepath.Join(dir, "samples-stampkit.csv")) {
		offered, _ := strconv.ParseFloat(r["offered"], 64)
		peer, _ := strconv.ParseFloat(r["peer_offered"], 64)
		if offered > 0 && peer > 0 {
			shares[math.Round(100*peer/offered)] = true
		}
	}
	if !shares[25] || !shares[100] || len(shares) != 2 {
		t.Errorf("shares of traffic to the new group %v, want the fleet's steps 25 and 100", shares)
	}
	log, err := os.ReadFile(filepath.Join(dir, "scaler-log.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"fleet":"api"`, "booted, live passed"} {
		if !bytes.Contains(log, []byte(want)) {
			t.Errorf("the handlers' log lacks %q (the fleet's name, its launch probes)", want)
		}
	}
}

func readCSV(t *testing.T, path string) []map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil || len(rows) == 0 {
		t.Fatalf("%s: %v, %d rows", path, err, len(rows))
	}
	var out []map[string]string
	for _, row := range rows[1:] {
		m := map[string]string{}
		for i, h := range rows[0] {
			m[h] = row[i]
		}
		out = append(out, m)
	}
	return out
}

// TestInvokeOwnFleet invokes each handler on an event generated for the
// names the stack gives ownFleetConfig's fleet: each routes it to that
// fleet and acts on it with the fleet's policy.
func TestInvokeOwnFleet(t *testing.T) {
	generate := func(args ...string) string {
		var out, errs bytes.Buffer
		runChecked(t, append([]string{"events", "generate"}, args...), &out, &errs, 0, nil)
		path := filepath.Join(t.TempDir(), "event.json")
		if err := os.WriteFile(path, out.Bytes(), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	tests := []struct {
		name   string
		args   []string
		stderr []string
	}{
		{name: "scaler on the fleet's scale-out alarm",
			args: []string{"invoke", "scaler", "-config", ownFleetConfig, "-desired", "6", "-now", "2026-11-02T12:00:05Z",
				generate("alarm", "-alarm", "stampkit-edge-scale-api-busy", "-time", "2026-11-02T12:00:00Z")},
			// 49.5 points past the threshold: the rule's 60 % step.
			stderr: []string{"fleet api, group stampkit-edge-api: min 3 max 12 desired 6", "alarms: stampkit-edge-scale-api-busy stampkit-edge-scale-api-idle", "desired capacity 6 -> 9"}},
		{name: "scaler: -min and -max win over the fleet's",
			args: []string{"invoke", "scaler", "-config", ownFleetConfig, "-min", "1", "-max", "30", "-desired", "6", "-now", "2026-11-02T12:00:05Z",
				generate("alarm", "-alarm", "stampkit-edge-scale-api-busy", "-time", "2026-11-02T12:00:00Z")},
			stderr: []string{"min 1 max 30 desired 6"}},
		{name: "lifecycle with the fleet's probes",
			args: []string{"invoke", "lifecycle", "-config", ownFleetConfig, "-ready-after", "1m", "-follow",
				generate("lifecycle-launch", "-group", "stampkit-edge-api", "-time", "2026-11-02T12:00:00Z")},
			stderr: []string{"booted (ec2-status", "live (http :9090/healthz) every 15s for up to 10m0s", "deregistration delay 20s", "result CONTINUE: ready after 1m0s: booted, live passed"}},
		{name: "rollout blue/green in the fleet's steps",
			args: []string{"invoke", "rollout", "-config", ownFleetConfig, "-follow", generate("ami-available", "-time", "2026-11-02T12:00:00Z")},
			stderr: []string{"fleet api (bluegreen): min 3 max 12 desired 3", "resized         stampkit-edge-api-peer to min 3, max 12, desired 3",
				"weights         stampkit-edge-api 75, stampkit-edge-api-peer 25", "outcome succeeded"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			runChecked(t, tt.args, &stdout, &stderr, 0, tt.stderr)
			if !strings.Contains(stdout.String(), `"fleet":"api"`) {
				t.Errorf("the handler's log names no fleet api:\n%s", stdout.String())
			}
		})
	}
}

// TestOwnFleetMistakes: a fleet the configuration lacks is a usage error
// that lists its fleets; a file that is missing or not valid is a
// failure, reported as validate reports it.
func TestOwnFleetMistakes(t *testing.T) {
	shipped, err := os.ReadFile(ownFleetConfig)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write := func(name, content string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	invalid := write("invalid.json", strings.Replace(string(shipped), `"minCapacity": 3`, `"minCapcity": 3`, 1))
	unpriced := write("unpriced.json", strings.Replace(string(shipped), `"m7g.large"`, `"x2gd.medium"`, 1))
	missing := filepath.Join(dir, "missing.json")
	event := write("alarm.json", "{}")
	tests := []struct {
		name   string
		args   []string
		code   int
		stderr []string
	}{
		{name: "unknown fleet", args: []string{"simulate", "-config", ownFleetConfig, "-fleet", "apu"}, code: 2,
			stderr: []string{`no fleet "apu" in the configuration (have api); did you mean "api"?`, "usage: stampkit simulate"}},
		{name: "unknown stamp", args: []string{"invoke", "scaler", "-config", ownFleetConfig, "-stamp", "main", event}, code: 2,
			stderr: []string{`no stamp "main" (have edge)`}},
		{name: "-fleet without -config", args: []string{"compare", "-trace", missing, "-fleet", "api"}, code: 2,
			stderr: []string{"-fleet and -stamp pick a fleet of a cdk.json: give -config too"}},
		{name: "missing file", args: []string{"simulate", "-config", missing}, code: 1, stderr: []string{"missing.json: no such file"}},
		{name: "invalid config", args: []string{"invoke", "lifecycle", "-config", invalid, event}, code: 1,
			stderr: []string{`invalid.json: fleets[0].minCapcity: not a key of a fleet; did you mean "minCapacity"?`, "invalid.json: 1 problem"}},
		{name: "an instance type without a price", args: []string{"simulate", "-config", unpriced}, code: 2,
			stderr: []string{"instance type x2gd.medium is not in stampkit's price table", "give its price an hour with -price"}},
		{name: "-target on the fleet's own rules", args: []string{"invoke", "scaler", "-config", ownFleetConfig, "-target", "40", event}, code: 2,
			stderr: []string{"fleet api declares its own scaling rules"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			runChecked(t, tt.args, &stdout, &stderr, tt.code, tt.stderr)
		})
	}
}

// TestPriceFlag: -price prices an instance type the table lacks.
func TestPriceFlag(t *testing.T) {
	shipped, err := os.ReadFile(ownFleetConfig)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "cdk.json")
	if err := os.WriteFile(path, []byte(strings.Replace(string(shipped), `"m7g.large"`, `"x2gd.medium"`, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	runChecked(t, []string{"simulate", "-config", path, "-price", "0.5", "-scenario", "step", "-policy", "stampkit", "-json", "-out", t.TempDir()}, &stdout, &stderr, 0, nil)
	var runs []runRow
	if err := json.Unmarshal(stdout.Bytes(), &runs); err != nil || len(runs) != 1 {
		t.Fatalf("stdout: %v:\n%s", err, stdout.String())
	}
	if got := runs[0].Cost / runs[0].InstanceHours; math.Abs(got-0.5) > 1e-9 || !slices.Contains([]string{"stampkit"}, runs[0].Policy) {
		t.Errorf("price per instance-hour %g, want -price 0.5", got)
	}
}

// TestCompareOwnFleet: compare runs the fleet's own scaling policy as
// stampkit's one setting, on the fleet's group and capacities, against the
// baselines' sweeps.
func TestCompareOwnFleet(t *testing.T) {
	var stdout, stderr bytes.Buffer
	args := []string{"compare", "-config", ownFleetConfig, "-trace", writeSurgeTrace(t), "-peak", "10", "-policies", "stampkit,target-tracking", "-json", "-out", ""}
	runChecked(t, args, &stdout, &stderr, 0, []string{"fleet api of stamp edge"})
	var rows []compareRow
	if err := json.Unmarshal(stdout.Bytes(), &rows); err != nil {
		t.Fatalf("stdout: %v:\n%s", err, stdout.String())
	}
	var stampkit []string
	for _, r := range rows {
		if r.Policy == "stampkit" {
			stampkit = append(stampkit, r.Setting)
		}
	}
	if !slices.Equal(stampkit, []string{"fleet=api"}) || len(rows) < 2 {
		t.Errorf("stampkit's settings %v among %d rows, want the fleet's policy alone", stampkit, len(rows))
	}
}
