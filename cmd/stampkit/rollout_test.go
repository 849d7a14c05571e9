package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/stampkit/stampkit/shared/event"
)

func fixedNow() time.Time { return time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC) }

func TestRolloutCommandLambdaPayloadDecodes(t *testing.T) {
	var out bytes.Buffer
	if err := rollout([]string{"abort", "-fleet", "web", "-reason", "5xx on green", "-format", "lambda"}, &out, io.Discard, fixedNow); err != nil {
		t.Fatalf("rollout: %v", err)
	}
	evs, err := event.Decode(out.Bytes())
	if err != nil {
		t.Fatalf("the printed payload does not decode: %v\n%s", err, out.String())
	}
	want := &event.Command{Fleet: "web", Action: event.CommandAbort, Reason: "5xx on green"}
	if d := cmp.Diff(want, evs[0].Detail); d != "" {
		t.Errorf("decoded command (-want +got):\n%s", d)
	}
}

func TestRolloutCommandPutEventsEntries(t *testing.T) {
	var out bytes.Buffer
	if err := rollout([]string{"promote", "-fleet", "api"}, &out, io.Discard, fixedNow); err != nil {
		t.Fatalf("rollout: %v", err)
	}
	var entries []map[string]string
	if err := json.Unmarshal(out.Bytes(), &entries); err != nil || len(entries) != 1 {
		t.Fatalf("got %q, want one put-events entry: %v", out.String(), err)
	}
	e := entries[0]
	if e["EventBusName"] != event.CommandBus {
		t.Errorf("entry EventBusName = %q, want the command bus %q", e["EventBusName"], event.CommandBus)
	}
	if e["Source"] != event.SourceStampkit || e["DetailType"] != event.DetailTypeCommand {
		t.Errorf("entry source/detail-type = %q/%q, want %q/%q", e["Source"], e["DetailType"], event.SourceStampkit, event.DetailTypeCommand)
	}
	var detail map[string]string
	if err := json.Unmarshal([]byte(e["Detail"]), &detail); err != nil || detail["fleet"] != "api" || detail["action"] != "promote" {
		t.Errorf("entry detail = %q (%v), want fleet api, action promote", e["Detail"], err)
	}
}

func TestRolloutCommandRejects(t *testing.T) {
	tests := []struct {
		name string
		args []string
	}{
		{name: "no action", args: nil},
		{name: "unknown action", args: []string{"restart", "-fleet", "web"}},
		{name: "no fleet", args: []string{"pause"}},
		{name: "unknown format", args: []string{"pause", "-fleet", "web", "-format", "yaml"}},
		{name: "not a bus name", args: []string{"pause", "-fleet", "web", "-bus", "stampkit commands"}},
		{name: "a bus for a direct invoke", args: []string{"pause", "-fleet", "web", "-format", "lambda", "-bus", "stampkit-commands"}},
		{name: "a stamp for a direct invoke", args: []string{"pause", "-fleet", "web", "-format", "lambda", "-stamp", "eu1"}},
		{name: "a stamp and a bus", args: []string{"pause", "-fleet", "web", "-stamp", "eu1", "-bus", "stampkit-commands"}},
		{name: "a stamp that is no stamp name", args: []string{"pause", "-fleet", "web", "-stamp", "eu-1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			if err := rollout(tt.args, &out, io.Discard, fixedNow); !errors.Is(err, errUsage) {
				t.Errorf("rollout(%q) = %v, want a usage error", tt.args, err)
			}
		})
	}
}

func TestImageReadyPayloadDecodes(t *testing.T) {
	var out bytes.Buffer
	if err := image([]string{"ready", "-ami", "ami-0abc", "-format", "lambda"}, &out, io.Discard, fixedNow); err != nil {
		t.Fatalf("image ready: %v", err)
	}
	evs, err := event.Decode(out.Bytes())
	if err != nil {
		t.Fatalf("the printed payload does not decode: %v\n%s", err, out.String())
	}
	if d := cmp.Diff(&event.ImageReady{ImageID: "ami-0abc"}, evs[0].Detail); d != "" {
		t.Errorf("decoded event (-want +got):\n%s", d)
	}
	for _, args := range [][]string{{"ready"}, {"ready", "-ami", "i-123"}, {"done", "-ami", "ami-0abc"}} {
		if err := image(args, &bytes.Buffer{}, io.Discard, fixedNow); !errors.Is(err, errUsage) {
			t.Errorf("image %v: got %v, want a usage error", args, err)
		}
	}
}

// TestEventEntriesNameTheBus: both commands that write a put-events entry
// name the command bus, or the one -bus names; the stack acts on neither
// event anywhere else.
func TestEventEntriesNameTheBus(t *testing.T) {
	const other = "arn:aws:events:eu-west-1:123456789012:event-bus/stampkit-commands-blue"
	tests := []struct {
		name    string
		command func([]string, io.Writer, io.Writer, func() time.Time) error
		args    []string
		wantBus string
		wantDT  string
	}{
		{"rollout", rollout, []string{"pause", "-fleet", "web"}, event.CommandBus, event.DetailTypeCommand},
		{"rollout -bus", rollout, []string{"pause", "-fleet", "web", "-bus", "stampkit-commands-blue"}, "stampkit-commands-blue", event.DetailTypeCommand},
		{"image ready", image, []string{"ready", "-ami", "ami-0abc"}, event.CommandBus, event.DetailTypeImageReady},
		{"image ready -bus ARN", image, []string{"ready", "-ami", "ami-0abc", "-bus", other}, other, event.DetailTypeImageReady},
		{"rollout -stamp", rollout, []string{"pause", "-fleet", "web", "-stamp", "eu1"}, "stampkit-eu1-commands", event.DetailTypeCommand},
		{"image ready -stamp main", image, []string{"ready", "-ami", "ami-0abc", "-stamp", event.DefaultStamp}, event.CommandBus, event.DetailTypeImageReady},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			if err := tt.command(tt.args, &out, io.Discard, fixedNow); err != nil {
				t.Fatalf("%v: %v", tt.args, err)
			}
			var entries []map[string]string
			if err := json.Unmarshal(out.Bytes(), &entries); err != nil || len(entries) != 1 {
				t.Fatalf("got %q, want one put-events entry: %v", out.String(), err)
			}
			if got := entries[0]["EventBusName"]; got != tt.wantBus {
				t.Errorf("EventBusName: got %q, want %q", got, tt.wantBus)
			}
			if got := entries[0]["DetailType"]; got != tt.wantDT {
				t.Errorf("DetailType: got %q, want %q", got, tt.wantDT)
			}
		})
	}
}
