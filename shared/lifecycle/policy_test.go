package lifecycle_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/stampkit/stampkit/shared/lifecycle"
)

func TestPolicyValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(*lifecycle.Policy)
		want   []string // substrings, one per expected problem; none: valid
	}{
		{name: "test policy is valid", change: func(*lifecycle.Policy) {}},
		{name: "zero policy is valid", change: func(p *lifecycle.Policy) { *p = lifecycle.Policy{} }},
		{name: "heartbeat below 30s", change: func(p *lifecycle.Policy) { p.HeartbeatTimeout = dur(sec(20)) },
			want: []string{"heartbeatTimeout: 20s is not a whole number of seconds from 30s to 2h"}},
		{name: "heartbeat above 2h", change: func(p *lifecycle.Policy) { p.HeartbeatTimeout = dur(3 * time.Hour) },
			want: []string{"heartbeatTimeout: 3h0m0s"}},
		{name: "gate beyond the global timeout", change: func(p *lifecycle.Policy) {
			p.HeartbeatTimeout, p.Launch.Timeout = dur(sec(30)), dur(time.Hour)
		}, want: []string{"launch.timeout: 1h0m0s is beyond what the hook allows with heartbeats (49m50s)"}},
		{name: "interval too long for the heartbeat", change: func(p *lifecycle.Policy) { p.Launch.Interval = dur(sec(241)) },
			want: []string{"launch.interval: 4m1s must be from 1s to 4m0s"}},
		{name: "negative durations", change: func(p *lifecycle.Policy) { p.Terminate.Slack = dur(-sec(1)) },
			want: []string{"terminate.slack: -1s is negative"}},
		{name: "probe problems, each named", change: func(p *lifecycle.Policy) {
			p.Launch.Probes = []lifecycle.Probe{
				{Name: "", Kind: lifecycle.HTTP, Port: 0, Path: "healthz"},
				{Name: "x", Kind: lifecycle.SSM, Timeout: dur(sec(5))},
				{Name: "x", Kind: "ping", AllowedFailures: -1},
			}
		}, want: []string{
			"launch.probes[0].name: is empty",
			"launch.probes[0].port: 0 is not 1-65535",
			`launch.probes[0].path: "healthz" does not start with /`,
			"launch.probes[1].commands: an SSM probe needs at least one command",
			"launch.probes[1].timeout: 5s is not from 30s to 48h",
			`launch.probes[2].name: "x" names two probes`,
			"launch.probes[2].allowedFailures: -1 is negative",
			`launch.probes[2].kind: "ping" is not`,
		}},
		{name: "drain command must be SSM", change: func(p *lifecycle.Policy) {
			p.Terminate.Command = &lifecycle.Probe{Name: "drain", Kind: lifecycle.HTTP, Port: 80}
		}, want: []string{`terminate.command.kind: "http": a drain command runs through SSM`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := testPolicy()
			tt.change(&p)
			err := p.Validate()
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("got %v, want no error", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("got no error, want %q", tt.want)
			}
			lines := strings.Split(err.Error(), "\n")
			if len(lines) != len(tt.want) {
				t.Errorf("got %d problems, want %d:\n%v", len(lines), len(tt.want), err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("got %v, want a line containing %q", err, w)
				}
			}
		})
	}
}

func TestPolicyWithDefaults(t *testing.T) {
	p := lifecycle.Policy{
		Launch: lifecycle.Launch{Probes: []lifecycle.Probe{
			{Name: "app", Kind: lifecycle.HTTP, Port: 80},
			{Name: "boot", Kind: lifecycle.SSM, Commands: []string{"true"}},
		}},
		Terminate: lifecycle.Terminate{Command: &lifecycle.Probe{Name: "drain", Kind: lifecycle.SSM, Commands: []string{"true"}}},
	}
	got := p.WithDefaults()
	want := lifecycle.Policy{
		HeartbeatTimeout: dur(lifecycle.DefaultHeartbeatTimeout),
		Launch: lifecycle.Launch{
			Timeout: dur(lifecycle.DefaultLaunchTimeout), Interval: dur(lifecycle.DefaultInterval),
			Probes: []lifecycle.Probe{
				{Name: "app", Kind: lifecycle.HTTP, Port: 80, Path: "/", Timeout: dur(lifecycle.DefaultHTTPTimeout)},
				{Name: "boot", Kind: lifecycle.SSM, Commands: []string{"true"}, Document: lifecycle.DefaultSSMDocument, Timeout: dur(lifecycle.DefaultSSMTimeout)},
			},
		},
		Terminate: lifecycle.Terminate{
			Interval: dur(lifecycle.DefaultInterval), Slack: dur(lifecycle.DefaultSlack),
			Command: &lifecycle.Probe{Name: "drain", Kind: lifecycle.SSM, Commands: []string{"true"}, Document: lifecycle.DefaultSSMDocument, Timeout: dur(lifecycle.DefaultSSMTimeout)},
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("WithDefaults (-want +got):\n%s", diff)
	}
	if p.Launch.Probes[0].Path != "" || p.Terminate.Command.Document != "" {
		t.Error("WithDefaults changed its receiver's probes")
	}
}

func TestPolicyJSON(t *testing.T) {
	const doc = `{
		"heartbeatTimeout": "5m",
		"launch": {"timeout": "10m", "interval": "10s", "probes": [
			{"name": "app", "kind": "http", "port": 8080, "path": "/healthz", "allowedFailures": 1},
			{"name": "boot", "kind": "ssm", "commands": ["cloud-init status --wait"]},
			{"name": "status", "kind": "ec2-status"}
		]},
		"terminate": {"interval": "10s", "slack": "30s"}
	}`
	var got lifecycle.Policy
	if err := json.Unmarshal([]byte(doc), &got); err != nil {
		t.Fatalf("decoding: %v", err)
	}
	if diff := cmp.Diff(testPolicy(), got); diff != "" {
		t.Errorf("decoded policy (-want +got):\n%s", diff)
	}
}

func TestStateJSONRoundTrip(t *testing.T) {
	// The handler stores the state as JSON between steps; a round trip must
	// keep every field, wake-up times to the nanosecond included, since a
	// wake-up is matched to the state by exact time.
	p := testPolicy()
	p.Terminate.Command = &lifecycle.Probe{Name: "drain", Kind: lifecycle.SSM, Commands: []string{"true"}}
	s := lifecycle.Begin(p, terminate())
	_, s, _ = lifecycle.Step(p, s, lifecycle.Observation{Now: t0.Add(1234567 * time.Nanosecond),
		Targets: []lifecycle.Target{{TargetGroupARN: tgBlue, State: "healthy", Delay: sec(60)}}})
	buf, err := json.Marshal(s)
	if err != nil {
		t.Fatalf("encoding: %v", err)
	}
	var back lifecycle.State
	if err := json.Unmarshal(buf, &back); err != nil {
		t.Fatalf("decoding: %v", err)
	}
	if diff := cmp.Diff(s, back); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
}
