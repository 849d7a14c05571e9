package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/google/go-cmp/cmp"

	"github.com/stampkit/stampkit/shared/awstest"
	"github.com/stampkit/stampkit/shared/dynamo"
	"github.com/stampkit/stampkit/shared/hooks"
	"github.com/stampkit/stampkit/shared/lifecycle"
	rolloutpkg "github.com/stampkit/stampkit/shared/rollout"
	"github.com/stampkit/stampkit/shared/scaler"
	"github.com/stampkit/stampkit/shared/scaling"
)

var emu = awstest.New()

func TestMain(m *testing.M) { os.Exit(emu.Run(m)) }

func TestStatusUsage(t *testing.T) {
	t.Setenv("STAMPKIT_TABLE", "")
	cases := []struct {
		name string
		args []string
		want error
	}{
		{"no table", []string{"status"}, errUsage},
		{"argument", []string{"status", "-table", "t", "web"}, errUsage},
		{"bad fleet name", []string{"status", "-table", "t", "-fleet", "Web_1"}, errUsage},
		{"group without fleet", []string{"status", "-table", "t", "-group", "web-asg"}, errUsage},
		{"unknown flag", []string{"status", "-nope"}, errFlag},
		{"help", []string{"status", "-h"}, errHelp},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var stderr bytes.Buffer
			err := run(t.Context(), c.args, io.Discard, &stderr)
			if !errors.Is(err, c.want) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
			if code := exitCode(err, c.args, &stderr); code != map[error]int{errUsage: 2, errFlag: 2, errHelp: 0}[c.want] {
				t.Errorf("exit code: got %d", code)
			}
			if c.want == errUsage && !strings.Contains(stderr.String(), synopses["status"]) {
				t.Errorf("stderr lacks the synopsis:\n%s", stderr.String())
			}
		})
	}
}

// TestStatusEmulator seeds the state table with the records the functions
// write (through the store, as JSON of their own types), and reads them
// back with the group's capacity through "status".
func TestStatusEmulator(t *testing.T) {
	cfg := emu.Fresh(t)
	fleet := awstest.NewFleet(t, cfg)
	awstest.NewTable(t, cfg, "stampkit-state")
	t.Setenv("AWS_ENDPOINT_URL", emu.Endpoint(t))
	t.Setenv("AWS_REGION", awstest.Region)
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_CONFIG_FILE", os.DevNull)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", os.DevNull)
	t.Setenv("STAMPKIT_TABLE", "")

	now := time.Now().UTC().Truncate(time.Second)
	store := dynamo.New(dynamodb.NewFromConfig(cfg), "stampkit-state")
	save := func(key string, v any) {
		t.Helper()
		buf, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if err := store.Save(t.Context(), key, buf, 0); err != nil {
			t.Fatalf("Save(%s): %v", key, err)
		}
	}
	save(scaler.StateKey("web"), scaling.State{
		LastScaleOut: now.Add(-10 * time.Minute), OutFrom: 1,
		Seen:  map[string]scaling.Seen{"web-high": {State: scaling.StateAlarm, Since: now.Add(-11 * time.Minute)}},
		Floor: 3, FloorUntil: now.Add(time.Hour),
	})
	save(rolloutpkg.Key("web"), rolloutpkg.State{
		Fleet: "web", ID: "r1", Strategy: rolloutpkg.StrategyBlueGreen, Phase: rolloutpkg.PhaseShift,
		Image: rolloutpkg.Image{ID: "ami-0new"},
		From:  rolloutpkg.Side{Group: fleet.GroupName}, To: rolloutpkg.Side{Group: "stampkit-web-green"},
		Step: 1, Steps: 4, Shifted: 25, Paused: true, Reason: "operator paused",
		Started: now.Add(-20 * time.Minute), WakeAt: now.Add(5 * time.Minute),
		History: []rolloutpkg.Entry{{At: now.Add(-time.Minute), Phase: rolloutpkg.PhaseShift, Shifted: 25, Note: "weights 75/25"}},
	})
	save(hooks.StateKey("tok-1"), lifecycle.State{
		Request: lifecycle.Request{Token: "tok-1", Group: fleet.GroupName, Hook: "launch-gate", InstanceID: "i-0abc", Transition: lifecycle.Launching, At: now.Add(-2 * time.Minute)},
		Gate:    lifecycle.GateReady, Phase: lifecycle.PhaseProbe, WakeAt: now.Add(30 * time.Second), Reason: "probe /healthz failing",
	})
	save(hooks.StateKey("tok-done"), lifecycle.State{
		Request: lifecycle.Request{Token: "tok-done", Group: fleet.GroupName, At: now.Add(-time.Hour)},
		Phase:   lifecycle.PhaseDone, Outcome: "continued", DoneAt: now.Add(-50 * time.Minute),
	})

	// A fleet whose records name no group, and an action of a group no
	// fleet record names.
	save(scaler.StateKey("api"), scaling.State{})
	save(hooks.StateKey("tok-2"), lifecycle.State{
		Request: lifecycle.Request{Token: "tok-2", Group: "other-asg", Hook: "drain", InstanceID: "i-0def", Transition: lifecycle.Terminating, At: now.Add(-time.Minute)},
		Gate:    lifecycle.GateDrain, Phase: lifecycle.PhaseDeregister,
	})

	var stdout, stderr bytes.Buffer
	if err := run(t.Context(), []string{"status", "-table", "stampkit-state", "-json"}, &stdout, &stderr); err != nil {
		t.Fatalf("status -json: %v\n%s", err, stderr.String())
	}
	var got []fleetStatus
	if err := json.Unmarshal(stdout.Bytes(), &got); err != nil {
		t.Fatalf("status -json printed no JSON array: %v\n%s", err, stdout.String())
	}
	api := fleetStatus{Fleet: "api", Scaler: &scalerStatus{Version: 1, Alarms: []alarmState{}}, Gates: []lifecycleGate{}}
	other := fleetStatus{
		Group: "other-asg", GroupFrom: "lifecycle", GroupError: "no such group",
		Gates: []lifecycleGate{{
			Token: "tok-2", Group: "other-asg", InstanceID: "i-0def", Hook: "drain", Transition: lifecycle.Terminating,
			Gate: lifecycle.GateDrain, Phase: lifecycle.PhaseDeregister, Since: now.Add(-time.Minute),
		}},
	}
	web := fleetStatus{
		Fleet: "web", Group: fleet.GroupName, GroupFrom: "rollout",
		Capacity: &groupStatus{Desired: awstest.FleetDesired, InService: awstest.FleetDesired, Min: awstest.FleetMin, Max: awstest.FleetMax},
		Scaler: &scalerStatus{
			Version: 1, LastScaleOut: now.Add(-10 * time.Minute), OutFrom: 1,
			Alarms: []alarmState{{Alarm: "web-high", State: scaling.StateAlarm, Since: now.Add(-11 * time.Minute)}},
			Floor:  3, FloorUntil: now.Add(time.Hour), FloorActive: true,
		},
		Rollout: &rolloutStatus{
			ID: "r1", Strategy: rolloutpkg.StrategyBlueGreen, Phase: rolloutpkg.PhaseShift, Active: true,
			Image: "ami-0new", From: fleet.GroupName, To: "stampkit-web-green",
			Weights: &weights{From: 75, To: 25}, Step: 1, Steps: 4, Paused: true,
			Hold:   &scaling.Hold{Rollout: "r1", LiveGroup: fleet.GroupName, Until: now.Add(5*time.Minute + rolloutpkg.HoldGrace)},
			Reason: "operator paused", Note: "weights 75/25",
			Started: now.Add(-20 * time.Minute), WakeAt: now.Add(5 * time.Minute),
		},
		Gates: []lifecycleGate{{
			Token: "tok-1", Group: fleet.GroupName, InstanceID: "i-0abc", Hook: "launch-gate", Transition: lifecycle.Launching,
			Gate: lifecycle.GateReady, Phase: lifecycle.PhaseProbe, Since: now.Add(-2 * time.Minute), WakeAt: now.Add(30 * time.Second),
			Reason: "probe /healthz failing",
		}},
	}
	if d := cmp.Diff([]fleetStatus{api, web, other}, got); d != "" {
		t.Errorf("status -json (-want +got):\n%s", d)
	}

	stdout.Reset()
	if err := run(t.Context(), []string{"status", "-table", "stampkit-state"}, &stdout, &stderr); err != nil {
		t.Fatalf("status: %v\n%s", err, stderr.String())
	}
	for _, line := range []string{
		"fleet web",
		fleet.GroupName + " (from rollout): desired 2, in service 2, min 1, max 4",
		"web-high ALARM since",
		"3 until " + now.Add(time.Hour).Format(time.RFC3339),
		"r1 bluegreen of ami-0new: shift, paused",
		"75/25 (step 1 of 4)",
		"scale-in held, capacity to " + fleet.GroupName,
		"i-0abc launching launch-gate ready/probe since",
		"probe /healthz failing",
		"fleet api",
		"unknown: no rollout record names it (stampkit status -fleet api -group NAME)",
		"group other-asg (no fleet record names it)",
	} {
		if !strings.Contains(stdout.String(), line) {
			t.Errorf("status output lacks %q:\n%s", line, stdout.String())
		}
	}

	// -fleet shows one fleet; -group names the group its records do not.
	stdout.Reset()
	if err := run(t.Context(), []string{"status", "-table", "stampkit-state", "-fleet", "api", "-group", fleet.GroupName, "-json"}, &stdout, &stderr); err != nil {
		t.Fatalf("status -fleet api: %v\n%s", err, stderr.String())
	}
	got = nil
	if err := json.Unmarshal(stdout.Bytes(), &got); err != nil {
		t.Fatalf("status -json printed no JSON array: %v\n%s", err, stdout.String())
	}
	api.Group, api.GroupFrom, api.Capacity = fleet.GroupName, "flag", web.Capacity
	api.Gates = web.Gates // the action is on the group -group names
	if d := cmp.Diff([]fleetStatus{api}, got); d != "" {
		t.Errorf("status -fleet api -group (-want +got):\n%s", d)
	}

	// A table that does not exist is a failure, not a usage error.
	err := run(t.Context(), []string{"status", "-table", "no-such-table"}, io.Discard, io.Discard)
	if err == nil || errors.Is(err, errUsage) {
		t.Errorf("status -table no-such-table: got %v, want an AWS error", err)
	}
}
