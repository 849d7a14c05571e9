package stampconfig_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stampkit/stampkit/infra/stampconfig"
)

// mistake is a change a new user is likely to make to the shipped
// cdk.json's context, and a line validate must print for it.
type mistake struct {
	name string
	edit func(ctx map[string]any)
	want []string
}

func web(ctx map[string]any) map[string]any { return ctx["fleets"].([]any)[0].(map[string]any) }

func sub(m map[string]any, keys ...string) map[string]any {
	for _, k := range keys {
		m = m[k].(map[string]any)
	}
	return m
}

func mistakes() []mistake {
	return []mistake{
		{name: "typo in a key", edit: func(ctx map[string]any) {
			f := web(ctx)
			f["minCapcity"] = f["minCapacity"]
			delete(f, "minCapacity")
		}, want: []string{`"fleets[0].minCapcity"`, `did you mean "minCapacity"`}},
		{name: "number in quotes", edit: func(ctx map[string]any) { web(ctx)["maxCapacity"] = "10" },
			want: []string{`"fleets[0].maxCapacity"`, `got "10", want a whole number`}},
		{name: "duration without a unit", edit: func(ctx map[string]any) { sub(web(ctx), "lifecycle")["heartbeatTimeout"] = 300 },
			want: []string{`"fleets[0].lifecycle.heartbeatTimeout"`, `got 300, want a duration like "5m"`, `write "300s" for 300 seconds`}},
		{name: "min above max", edit: func(ctx map[string]any) { web(ctx)["minCapacity"] = 12 },
			want: []string{`"fleets[0].maxCapacity"`, "minCapacity 12"}},
		{name: "unknown fleet in stamps", edit: func(ctx map[string]any) {
			ctx["stamps"].([]any)[0].(map[string]any)["fleets"] = []any{"wbe"}
		}, want: []string{`"stamps[0].fleets[0]"`, `did you mean "web"`}},
		{name: "duplicate fleet name", edit: func(ctx map[string]any) {
			ctx["fleets"] = append(ctx["fleets"].([]any), web(ctx))
		}, want: []string{`"fleets[1].name"`, `"web" is also fleets[0]'s name`}},
		{name: "bad scaling step", edit: func(ctx map[string]any) {
			f := web(ctx)
			delete(f, "scalingTarget")
			f["scaling"] = map[string]any{"min": 2, "max": 10, "rules": []any{map[string]any{
				"alarm": "${group}-cpu-high", "direction": "out", "adjustmentType": "ChangeInCapacity",
				"steps": []any{map[string]any{"lower": 20, "upper": 10, "adjustment": 2}},
				"trigger": map[string]any{"namespace": "AWS/EC2", "metric": "CPUUtilization", "statistic": "Average",
					"period": "1m", "evaluationPeriods": 3, "datapointsToAlarm": 2, "threshold": 60},
			}}}
		}, want: []string{`"fleets[0].scaling.rules[0].steps"`}},
		{name: "unknown probe kind", edit: func(ctx map[string]any) {
			sub(web(ctx), "lifecycle", "launch")["probes"].([]any)[0].(map[string]any)["kind"] = "tcp"
		}, want: []string{`"fleets[0].lifecycle.launch.probes[0].kind"`, `"tcp"`, "http"}},
		{name: "bad rollout strategy", edit: func(ctx map[string]any) { sub(web(ctx), "rollout")["strategy"] = "canary" },
			want: []string{`"fleets[0].rollout.strategy"`, `"canary"`, "rolling"}},
		{name: "percent out of range", edit: func(ctx map[string]any) {
			sub(web(ctx), "rollout", "rolling")["minHealthyPercentage"] = 150
		}, want: []string{`"fleets[0].rollout.rolling.minHealthyPercentage"`, "150"}},
		{name: "heartbeat too short", edit: func(ctx map[string]any) { sub(web(ctx), "lifecycle")["heartbeatTimeout"] = "10s" },
			want: []string{`"fleets[0].lifecycle.heartbeatTimeout"`, "from 30s to 2h"}},
		{name: "true in quotes", edit: func(ctx map[string]any) { ctx["interfaceEndpoints"] = "yes" },
			want: []string{`"interfaceEndpoints"`, `got "yes", want true or false`}},
		{name: "typo in a top-level key", edit: func(ctx map[string]any) { ctx["maxAZs"] = 2 },
			want: []string{`"maxAZs"`, `did you mean "maxAzs"`}},
		{name: "dns record outside its zone", edit: func(ctx map[string]any) {
			ctx["dns"] = map[string]any{"hostedZoneId": "Z1", "zoneName": "example.com", "recordName": "app.example.org"}
		}, want: []string{`"dns.recordName"`, `"app.example.org" is not in zone "example.com"`}},
	}
}

// shippedContext is the shipped cdk.json's context, with dummy build
// output where synth would look for it.
func shippedContext(t *testing.T) map[string]any {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "cdk.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Context map[string]any `json:"context"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, name := range append(stampconfig.HandlerNames(), "app") {
		file := "bootstrap"
		if name == "app" {
			file = "stampkit-app"
		}
		if err := os.MkdirAll(filepath.Join(dir, name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name, file), []byte("not a binary"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	doc.Context[stampconfig.CtxAssetsDir] = dir
	return doc.Context
}

// TestMistakes checks what a new user's likely mistakes say: the key, in
// cdk.json's words, what was expected, and the mistake once, without the
// errors that would follow from it.
func TestMistakes(t *testing.T) {
	for _, m := range mistakes() {
		t.Run(m.name, func(t *testing.T) {
			ctx := shippedContext(t)
			m.edit(ctx)
			_, err := stampconfig.ParseContext(ctx, true)
			if err == nil {
				t.Fatal("got no error")
			}
			t.Logf("%v", err)
			lines := strings.Split(err.Error(), "\n")
			if len(lines) != 1 {
				t.Errorf("got %d errors, want the mistake once:\n%v", len(lines), err)
			}
			for _, want := range m.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error lacks %q:\n%v", want, err)
				}
			}
			for _, goWord := range []string{"Go struct", "of type", "json:", "clock.Duration", "unmarshal"} {
				if strings.Contains(err.Error(), goWord) {
					t.Errorf("error speaks Go (%q):\n%v", goWord, err)
				}
			}
		})
	}
}

func TestShippedContextIsValid(t *testing.T) {
	if _, err := stampconfig.ParseContext(shippedContext(t), true); err != nil {
		t.Fatal(err)
	}
}

func TestMissingAssets(t *testing.T) {
	ctx := shippedContext(t)
	ctx[stampconfig.CtxAssetsDir] = filepath.Join(t.TempDir(), "none")
	if _, err := stampconfig.ParseContext(ctx, true); !errors.Is(err, stampconfig.ErrMissingAssets) {
		t.Errorf("checking assets: got %v, want ErrMissingAssets", err)
	}
	stamps, err := stampconfig.ParseContext(ctx, false)
	if err != nil {
		t.Fatalf("not checking assets: got %v, want none", err)
	}
	if got := len(stamps[0].MissingAssets()); got != 4 {
		t.Errorf("MissingAssets: got %d, want the 3 bootstraps and the app", got)
	}
}
