package config_test

import (
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/stampkit/stampkit/shared/clock"
	"github.com/stampkit/stampkit/shared/config"
	"github.com/stampkit/stampkit/shared/scaling"
)

const fleetsJSON = `[{"name":"web","group":"web-asg","scaling":{"min":2,"max":10,
 "scaleOutCooldown":"1m","scaleInCooldown":"5m","warmup":"3m","scaleInHold":"5m",
 "rules":[{"alarm":"web-high","direction":"out","adjustmentType":"ChangeInCapacity","steps":[{"lower":0,"adjustment":2}]},
          {"alarm":"web-low","direction":"in","adjustmentType":"ChangeInCapacity","steps":[{"lower":0,"adjustment":1}]}]}}]`

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// sameFleets compares configurations by what they hold, not by whether
// their fleets are decoded yet.
var sameFleets = cmpopts.IgnoreUnexported(config.Config{})

func TestFromEnv(t *testing.T) {
	got, err := config.FromEnv(env(map[string]string{
		config.EnvTable: "state", config.EnvFleets: fleetsJSON, config.EnvLogLevel: "DEBUG",
	}))
	if err != nil {
		t.Fatalf("FromEnv: %v", err)
	}
	want := config.Config{
		Table: "state", Namespace: config.DefaultNamespace, LogLevel: slog.LevelDebug,
		Fleets: []config.Fleet{{Name: "web", Group: "web-asg", Scaling: scaling.Policy{
			Min: 2, Max: 10,
			ScaleOutCooldown: clock.Duration(time.Minute), ScaleInCooldown: clock.Duration(5 * time.Minute),
			Warmup: clock.Duration(3 * time.Minute), ScaleInHold: clock.Duration(5 * time.Minute),
			Rules: []scaling.Rule{
				{Alarm: "web-high", Direction: scaling.Out, AdjustmentType: scaling.ChangeInCapacity, Steps: []scaling.Step{{Adjustment: 2}}},
				{Alarm: "web-low", Direction: scaling.In, AdjustmentType: scaling.ChangeInCapacity, Steps: []scaling.Step{{Adjustment: 1}}},
			},
		}}},
	}
	if d := cmp.Diff(want, got, sameFleets); d != "" {
		t.Errorf("config (-want +got):\n%s", d)
	}
	f, ok, err := got.FleetByAlarm("web-low")
	if err != nil || !ok || f.Name != "web" {
		t.Errorf("FleetByAlarm(web-low) = %q, %v, %v; want web, true", f.Name, ok, err)
	}
	if f, ok, err := got.FleetByAlarm("web-low"); !ok || err != nil || f.Name != "web" {
		t.Errorf("FleetByAlarm(web-low) = %q, %v, %v; want web, true, nil", f.Name, ok, err)
	}
	if _, ok, err := got.FleetByAlarm("other"); ok || err != nil {
		t.Errorf("FleetByAlarm(other) found a fleet (%v), want none", err)
	}
}

func TestFleetWithoutScalingIsNotScaled(t *testing.T) {
	got, err := config.FromEnv(env(map[string]string{
		config.EnvTable: "state", config.EnvFleets: `[{"name":"web","group":"web-asg"}]`,
	}))
	if err != nil {
		t.Fatalf("FromEnv: %v (a fleet may leave scaling to someone else)", err)
	}
	if !got.Fleets[0].Scaling.IsZero() {
		t.Errorf("scaling: got %+v, want none", got.Fleets[0].Scaling)
	}
	vars, err := got.Env()
	if err != nil {
		t.Fatalf("Env: %v", err)
	}
	if raw := vars[config.EnvFleets]; strings.Contains(raw, "scaling") {
		t.Errorf("encoded fleets %s carry an empty scaling policy, want it left out", raw)
	}
	if _, ok, _ := got.FleetByAlarm(""); ok {
		t.Errorf("FleetByAlarm found a fleet without rules")
	}
}

func TestEnvRoundTrip(t *testing.T) {
	in, err := config.FromEnv(env(map[string]string{config.EnvTable: "state", config.EnvFleets: fleetsJSON}))
	if err != nil {
		t.Fatalf("FromEnv: %v", err)
	}
	vars, err := in.Env()
	if err != nil {
		t.Fatalf("Env: %v", err)
	}
	out, err := config.FromEnv(env(vars))
	if err != nil {
		t.Fatalf("FromEnv(Env()): %v", err)
	}
	if d := cmp.Diff(in, out, sameFleets); d != "" {
		t.Errorf("round trip (-want +got):\n%s", d)
	}
}

func TestFromEnvErrorsNameTheKey(t *testing.T) {
	tests := []struct {
		name string
		vars map[string]string
		want []string
	}{
		{name: "fleets missing", vars: map[string]string{config.EnvTable: "t"}, want: []string{"STAMPKIT_FLEETS and STAMPKIT_FLEETS_FILE: neither is set"}},
		{name: "fleets not JSON", vars: map[string]string{config.EnvTable: "t", config.EnvFleets: "{"}, want: []string{"STAMPKIT_FLEETS: not a JSON array"}},
		{name: "table missing", vars: map[string]string{config.EnvFleets: fleetsJSON}, want: []string{"STAMPKIT_TABLE: is not set"}},
		{name: "bad duration", vars: map[string]string{config.EnvTable: "t", config.EnvFleets: strings.Replace(fleetsJSON, `"1m"`, `"60"`, 1)}, want: []string{"STAMPKIT_FLEETS", "duration \"60\""}},
		{name: "every policy problem named", vars: map[string]string{config.EnvTable: "t", config.EnvFleets: strings.NewReplacer(`"min":2`, `"min":-1`, `"direction":"in"`, `"direction":"down"`).Replace(fleetsJSON)},
			want: []string{"STAMPKIT_FLEETS[0].scaling.min:", "STAMPKIT_FLEETS[0].scaling.rules[1].direction:"}},
		{name: "fleet without group", vars: map[string]string{config.EnvTable: "t", config.EnvFleets: strings.Replace(fleetsJSON, `"group":"web-asg",`, "", 1)}, want: []string{"STAMPKIT_FLEETS[0].group: is empty"}},
		{name: "group shared by two fleets", vars: map[string]string{config.EnvTable: "t", config.EnvFleets: "[" + fleetsJSON[1:len(fleetsJSON)-1] + "," + strings.NewReplacer(`"name":"web"`, `"name":"api"`, `"web-high"`, `"api-high"`, `"web-low"`, `"api-low"`).Replace(fleetsJSON[1:len(fleetsJSON)-1]) + "]"},
			want: []string{`STAMPKIT_FLEETS[1].group: "web-asg" is also a group of fleet "web"`}},
		{name: "alarm shared by two fleets", vars: map[string]string{config.EnvTable: "t", config.EnvFleets: "[" + fleetsJSON[1:len(fleetsJSON)-1] + "," + strings.Replace(fleetsJSON[1:len(fleetsJSON)-1], `"name":"web"`, `"name":"api"`, 1) + "]"},
			want: []string{`STAMPKIT_FLEETS[1].scaling.rules: alarm "web-high" also scales fleet "web"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := config.FromEnv(env(tt.vars))
			if err == nil {
				t.Fatalf("FromEnv succeeded, want an error naming %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

// A field the code does not know is refused at cold start, as the CDK app
// refuses it in cdk.json, rather than ignored.
func TestFromEnvRefusesUnknownFields(t *testing.T) {
	for _, raw := range []string{
		`[{"name":"web","group":"web-asg","scalling":{}}]`,
		`[{"name":"web","group":"web-asg","scaling":{"min":1,"max":2,"rules":[],"scaleOutColdown":"1m"}}]`,
	} {
		_, err := config.FromEnv(env(map[string]string{config.EnvTable: "state", config.EnvFleets: raw}))
		if err == nil || !strings.Contains(err.Error(), "unknown field") {
			t.Errorf("FromEnv(%s) = %v, want an unknown-field error", raw, err)
		}
	}
}
