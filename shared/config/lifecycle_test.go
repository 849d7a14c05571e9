package config_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/stampkit/stampkit/shared/clock"
	"github.com/stampkit/stampkit/shared/config"
	"github.com/stampkit/stampkit/shared/lifecycle"
)

// withLifecycle puts a lifecycle section into the test fleet.
func withLifecycle(section string) string {
	return strings.Replace(fleetsJSON, `"group":"web-asg",`, `"group":"web-asg","lifecycle":`+section+`,`, 1)
}

func TestFromEnvLifecycle(t *testing.T) {
	tests := []struct {
		name    string
		fleets  string
		want    lifecycle.Policy
		wantErr string
	}{
		{name: "absent section is the zero policy", fleets: fleetsJSON},
		{
			name:   "probes and heartbeat",
			fleets: withLifecycle(`{"heartbeatTimeout":"2m","launch":{"probes":[{"name":"app","kind":"http","port":8080,"path":"/ready"}]}}`),
			want: lifecycle.Policy{HeartbeatTimeout: clock.Duration(2 * time.Minute), Launch: lifecycle.Launch{
				Probes: []lifecycle.Probe{{Name: "app", Kind: lifecycle.HTTP, Port: 8080, Path: "/ready"}},
			}},
		},
		{
			name:    "problems name the full key",
			fleets:  withLifecycle(`{"launch":{"probes":[{"name":"app","kind":"http"}]}}`),
			wantErr: "STAMPKIT_FLEETS[0].lifecycle.launch.probes[0].port: 0 is not 1-65535",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := config.FromEnv(env(map[string]string{config.EnvTable: "state", config.EnvFleets: tt.fleets}))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("FromEnv: %v", err)
			}
			if diff := cmp.Diff(tt.want, got.Fleets[0].Lifecycle); diff != "" {
				t.Errorf("lifecycle (-want +got):\n%s", diff)
			}
			back, err := got.Env()
			if err != nil {
				t.Fatalf("Env: %v", err)
			}
			again, err := config.FromEnv(env(back))
			if err != nil {
				t.Fatalf("FromEnv(Env()): %v", err)
			}
			if diff := cmp.Diff(got, again, sameFleets); diff != "" {
				t.Errorf("round trip (-want +got):\n%s", diff)
			}
		})
	}
}

func TestHooks(t *testing.T) {
	withHooks := func(hooks string) string {
		return strings.Replace(fleetsJSON, `"group":"web-asg",`, `"group":"web-asg","hooks":`+hooks+`,`, 1)
	}
	tests := []struct {
		name    string
		fleets  string
		owns    map[string]bool
		wantErr string
	}{
		{
			name:   "no names: every hook is the toolkit's",
			fleets: fleetsJSON,
			owns:   map[string]bool{"stampkit-launch": true, "other-tool": true},
		},
		{
			name:   "named: only those",
			fleets: withHooks(`{"launch":"stampkit-launch","terminate":"stampkit-terminate"}`),
			owns:   map[string]bool{"stampkit-launch": true, "stampkit-terminate": true, "other-tool": false, "": false},
		},
		{
			name:    "one name alone",
			fleets:  withHooks(`{"launch":"stampkit-launch"}`),
			wantErr: "STAMPKIT_FLEETS[0].hooks: name both launch and terminate, or neither",
		},
		{
			name:    "one name twice",
			fleets:  withHooks(`{"launch":"hook","terminate":"hook"}`),
			wantErr: `STAMPKIT_FLEETS[0].hooks: launch and terminate both name "hook"`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := config.FromEnv(env(map[string]string{config.EnvTable: "state", config.EnvFleets: tt.fleets}))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("FromEnv: %v", err)
			}
			for hook, want := range tt.owns {
				if owns := got.Fleets[0].Hooks.Owns(hook); owns != want {
					t.Errorf("Owns(%q): got %v, want %v", hook, owns, want)
				}
			}
		})
	}
}

// TestFleetByGroup finds a fleet by either of its groups, built in process
// and read from a fleets file (routed without decoding the fleet).
func TestFleetByGroup(t *testing.T) {
	c := config.Config{Table: "state", Fleets: []config.Fleet{{Name: "web", Group: "web-asg"}, {Name: "api", Group: "api-asg"}}}
	c.Fleets[1].Rollout.BlueGreen.PeerGroup = "api-asg-green"
	for source, c := range map[string]config.Config{"in process": c, "fleets file": fromFile(t, c)} {
		t.Run(source, func(t *testing.T) {
			if f, ok, err := c.FleetByGroup("api-asg"); err != nil || !ok || f.Name != "api" {
				t.Errorf("FleetByGroup(api-asg) = %q, %v, %v; want api, true", f.Name, ok, err)
			}
			if f, ok, err := c.FleetByGroup("api-asg-green"); err != nil || !ok || f.Name != "api" {
				t.Errorf("FleetByGroup(api-asg-green) = %q, %v, %v; want api, true (the blue/green peer)", f.Name, ok, err)
			}
			if f, ok, err := c.FleetByGroup("other"); ok || err != nil {
				t.Errorf("FleetByGroup(other) = %q, %v; want none", f.Name, err)
			}
			if f, ok, err := c.FleetByGroup("api-asg-green"); !ok || err != nil || f.Name != "api" {
				t.Errorf("FleetByGroup(api-asg-green) = %q, %v, %v; want api, true, nil", f.Name, ok, err)
			}
		})
	}
}

func TestWakeQueueFromEnv(t *testing.T) {
	tests := []struct {
		name, value, want, wantErr string
	}{
		{name: "queue URL", value: "https://sqs.us-east-1.amazonaws.com/111111111111/wake", want: "https://sqs.us-east-1.amazonaws.com/111111111111/wake"},
		{name: "unset", wantErr: "STAMPKIT_WAKE_QUEUE_URL: is not set"},
		{name: "a name, not a URL", value: "wake", wantErr: `STAMPKIT_WAKE_QUEUE_URL: "wake" is not a queue URL`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := config.WakeQueueFromEnv(env(map[string]string{config.EnvWakeQueue: tt.value}))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got %q, %v; want error containing %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}
