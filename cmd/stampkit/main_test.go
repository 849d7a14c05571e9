package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stampkit/stampkit/shared/event"
	"github.com/stampkit/stampkit/shared/twin/suite"
)

func TestEvents(t *testing.T) {
	samples, err := event.Samples()
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := run(t.Context(), []string{"events"}, &out, &out); err != nil {
		t.Fatalf("events: %v", err)
	}
	if got, want := len(strings.Fields(out.String())), len(samples); got != want {
		t.Errorf("listed %d events, want %d", got, want)
	}
	name := "eventbridge-scheduled-event"
	out.Reset()
	if err := run(t.Context(), []string{"events", name}, &out, &out); err != nil {
		t.Fatalf("events %s: %v", name, err)
	}
	if !bytes.Equal(out.Bytes(), samples[name]) {
		t.Errorf("printed %q, want the sample itself", out.String())
	}
	if err := run(t.Context(), []string{"events", "no-such-event"}, &out, &out); err == nil {
		t.Error("unknown event: got no error")
	}
}

func TestInvokeScaler(t *testing.T) {
	path := filepath.Join(t.TempDir(), "alarm.json")
	raw := `{"version":"0","id":"1","detail-type":"CloudWatch Alarm State Change","source":"aws.cloudwatch","account":"111122223333","time":"2026-11-02T12:00:00Z","region":"us-east-1",
"resources":["arn:aws:cloudwatch:us-east-1:111122223333:alarm:web-asg-cpu-high"],
"detail":{"alarmName":"web-asg-cpu-high","state":{"value":"ALARM","reason":"r","reasonData":"{\"recentDatapoints\":[80],\"threshold\":65}","timestamp":"2026-11-02T12:00:00.000+0000"}}}`
	if err := os.WriteFile(path, []byte(raw), 0o600); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	err := run(t.Context(), []string{"invoke", "scaler", "-desired", "10", "-now", "2026-11-02T12:00:05Z", path}, &stdout, &stderr)
	if err != nil {
		t.Fatalf("invoke: %v\n%s", err, stderr.String())
	}
	// 15 points past the threshold takes the 40 % step: 10 -> 14.
	if !strings.Contains(stderr.String(), "desired capacity 10 -> 14") {
		t.Errorf("stderr lacks the capacity change:\n%s", stderr.String())
	}
	if !strings.Contains(stdout.String(), `"msg":"scaling decision"`) {
		t.Errorf("stdout lacks the handler's decision log:\n%s", stdout.String())
	}
}

func TestSimulateWritesOutputs(t *testing.T) {
	dir := t.TempDir()
	var stdout, stderr bytes.Buffer
	if err := run(t.Context(), []string{"simulate", "-scenario", suite.Step, "-out", dir, "-log"}, &stdout, &stderr); err != nil {
		t.Fatalf("simulate: %v\n%s", err, stderr.String())
	}
	for _, f := range []string{"report.html", "summary.txt", "samples-stampkit.csv", "scaling-target-tracking.csv", "scaler-log.jsonl"} {
		info, err := os.Stat(filepath.Join(dir, f))
		if err != nil || info.Size() == 0 {
			t.Errorf("%s: %v (size %d), want a non-empty file", f, err, sizeOf(info))
		}
	}
	if !strings.Contains(stdout.String(), "stampkit vs target tracking") {
		t.Errorf("summary not printed:\n%s", stdout.String())
	}
}

func sizeOf(info os.FileInfo) int64 {
	if info == nil {
		return 0
	}
	return info.Size()
}

func TestDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("the full demo simulates a week; -short skips it")
	}
	dir := t.TempDir()
	var stdout, stderr bytes.Buffer
	if err := run(t.Context(), []string{"demo", "-out", dir, "-seed", "3"}, &stdout, &stderr); err != nil {
		t.Fatalf("demo: %v\n%s", err, stderr.String())
	}
	for _, name := range suite.Names() {
		if !strings.Contains(stdout.String(), name) {
			t.Errorf("summary lacks scenario %s", name)
		}
	}
	if got := strings.Count(stderr.String(), "instance-hours"); got != len(suite.Names())*len(suite.PolicyNames()) {
		t.Errorf("got %d progress lines, want one per simulation", got)
	}
	saved, err := os.ReadFile(filepath.Join(dir, "summary.txt"))
	if err != nil || !bytes.Equal(saved, stdout.Bytes()) {
		t.Errorf("summary.txt differs from what was printed (err %v)", err)
	}
}

func TestUsage(t *testing.T) {
	var out bytes.Buffer
	for _, args := range [][]string{nil, {"frobnicate"}, {"invoke"}, {"invoke", "frobnicate", "event.json"}, {"invoke", "rollout"}} {
		if err := run(t.Context(), args, &out, &out); !errors.Is(err, errUsage) {
			t.Errorf("run(%q) = %v, want a usage error", args, err)
		}
	}
}

func TestSimulateChaos(t *testing.T) {
	dir := t.TempDir()
	var stdout, stderr bytes.Buffer
	if err := run(t.Context(), []string{"simulate", "-scenario", suite.Spike, "-policy", suite.Stampkit, "-chaos", "-out", dir}, &stdout, &stderr); err != nil {
		t.Fatalf("simulate -chaos: %v\n%s", err, stderr.String())
	}
	faults, err := os.ReadFile(filepath.Join(dir, "faults-stampkit.csv"))
	if err != nil {
		t.Fatalf("faults: %v", err)
	}
	if lines := strings.Count(string(faults), "\n"); lines < 10 {
		t.Errorf("faults-stampkit.csv has %d lines, want the faults injected:\n%s", lines, faults)
	}
	if !strings.Contains(stdout.String(), suite.Spike+"-chaos") {
		t.Errorf("summary does not name the scenario under chaos:\n%s", stdout.String())
	}
	for _, bad := range []string{"-chaos=-1", "-chaos=lots"} {
		if err := run(t.Context(), []string{"simulate", "-scenario", suite.Spike, bad, "-out", dir}, &stdout, &stderr); err == nil {
			t.Errorf("simulate %s: got no error", bad)
		}
	}
}
