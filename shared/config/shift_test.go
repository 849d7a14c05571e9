package config_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stampkit/stampkit/shared/config"
)

// shiftJSON is a shift configuration as the CDK app writes it.
const shiftJSON = `{
  "record": "www.example.com.",
  "hostedZoneId": "Z0123456789ABC",
  "ttl": "60s",
  "steps": [5, 25, 50, 100],
  "bake": "5m",
  "table": "stampkit-shift",
  "stamps": [
    {"name": "blue", "region": "us-east-1", "fleet": "web", "group": "stampkit-blue-web",
     "weightParameter": "/stampkit/blue/web/dns-weight", "healthAlarms": ["stampkit-blue-health-web-5xx"],
     "stateTable": "stampkit-blue-state"},
    {"name": "green", "region": "eu-west-1", "fleet": "web", "group": "stampkit-green-web",
     "weightParameter": "/stampkit/green/web/dns-weight", "stateTable": "stampkit-green-state"}
  ]
}`

func TestShiftFromEnv(t *testing.T) {
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, "shift.json"), []byte(shiftJSON), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := config.ShiftFromEnv(env(map[string]string{config.EnvShiftFile: "shift.json", config.EnvTaskRoot: root}))
	if err != nil {
		t.Fatalf("ShiftFromEnv: %v", err)
	}
	p := s.Policy()
	if p.Bake.Std() != 5*time.Minute || p.TTL.Std() != time.Minute || len(p.Steps) != 4 || p.PollInterval == 0 {
		t.Errorf("policy %+v: want bake 5m, ttl 60s, 4 steps, a poll interval", p)
	}
	if green, ok := s.Stamp("green"); !ok || green.Region != "eu-west-1" {
		t.Errorf("Stamp(green) = %+v, %v; want the eu-west-1 stamp", green, ok)
	}
	if !s.SameRecord("WWW.example.com") || s.SameRecord("api.example.com.") || s.RecordType() != "A" {
		t.Errorf("SameRecord or RecordType wrong for %s", s.Record)
	}
}

func TestDecodeShiftRefuses(t *testing.T) {
	cases := []struct {
		name string
		edit func(string) string
		want string
	}{
		{"unknown field", func(s string) string { return strings.Replace(s, `"bake"`, `"baking"`, 1) }, `unknown field "baking"`},
		{"no record", func(s string) string { return strings.Replace(s, `"www.example.com."`, `""`, 1) }, "record: is empty"},
		{"steps not ending at 100", func(s string) string { return strings.Replace(s, `[5, 25, 50, 100]`, `[5, 50]`, 1) }, "steps: the last step is 50"},
		{"one stamp", func(s string) string {
			return s[:strings.Index(s, `,
    {"name": "green"`)] + "]}"
		}, "stamps: 1 given"},
		{"duplicate stamp", func(s string) string { return strings.Replace(s, `"green"`, `"blue"`, 1) }, `stamps[1].name: "blue" is stamps[0]'s too`},
		{"stamp without state table", func(s string) string {
			return strings.Replace(s, `"stateTable": "stampkit-green-state"`, `"stateTable": ""`, 1)
		}, "stamps[1].stateTable: is empty"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := config.DecodeShift([]byte(tc.edit(shiftJSON)), "shift.json")
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "shift.json: ") {
				t.Errorf("DecodeShift: %v, want an error naming shift.json and %q", err, tc.want)
			}
		})
	}
	if _, err := config.ShiftFromEnv(env(nil)); err == nil || !strings.Contains(err.Error(), config.EnvShiftFile) {
		t.Errorf("ShiftFromEnv without %s: %v, want an error naming it", config.EnvShiftFile, err)
	}
}
