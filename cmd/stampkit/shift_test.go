package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/stampkit/stampkit/shared/event"
)

func TestShiftCommand(t *testing.T) {
	tests := []struct {
		name string
		args []string
		bus  string
		want *event.ShiftCommand
	}{
		{name: "start", args: []string{"start", "-record", "www.example.com", "-from", "blue", "-to", "green"}, bus: event.CommandBus,
			want: &event.ShiftCommand{Record: "www.example.com", From: "blue", To: "green", Action: event.CommandStart}},
		{name: "abort on a stamp's bus", args: []string{"abort", "-record", "www.example.com", "-reason", "5xx", "-stamp", "eu1"}, bus: "stampkit-eu1-commands",
			want: &event.ShiftCommand{Record: "www.example.com", Action: event.CommandAbort, Reason: "5xx"}},
		{name: "promote on a named bus", args: []string{"promote", "-record", "www.example.com", "-bus", "ops"}, bus: "ops",
			want: &event.ShiftCommand{Record: "www.example.com", Action: event.CommandPromote}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			if err := shift(tt.args, &out, io.Discard, fixedNow); err != nil {
				t.Fatalf("shift: %v", err)
			}
			var entries []map[string]string
			if err := json.Unmarshal(out.Bytes(), &entries); err != nil || len(entries) != 1 {
				t.Fatalf("got %q, want one put-events entry: %v", out.String(), err)
			}
			e := entries[0]
			if e["EventBusName"] != tt.bus || e["DetailType"] != event.DetailTypeShiftCommand || e["Source"] != event.SourceStampkit {
				t.Errorf("entry bus/source/detail-type = %q/%q/%q, want %q/%q/%q", e["EventBusName"], e["Source"], e["DetailType"],
					tt.bus, event.SourceStampkit, event.DetailTypeShiftCommand)
			}
			var got event.ShiftCommand
			if err := json.Unmarshal([]byte(e["Detail"]), &got); err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tt.want, &got); d != "" {
				t.Errorf("detail (-want +got):\n%s", d)
			}
		})
	}
}

func TestShiftCommandLambdaPayloadDecodes(t *testing.T) {
	var out bytes.Buffer
	if err := shift([]string{"pause", "-record", "www.example.com", "-format", "lambda"}, &out, io.Discard, fixedNow); err != nil {
		t.Fatalf("shift: %v", err)
	}
	evs, err := event.Decode(out.Bytes())
	if err != nil {
		t.Fatalf("the printed payload does not decode: %v", err)
	}
	if d := cmp.Diff(&event.ShiftCommand{Record: "www.example.com", Action: event.CommandPause}, evs[0].Detail); d != "" {
		t.Errorf("decoded (-want +got):\n%s", d)
	}
}

func TestShiftCommandRejects(t *testing.T) {
	for _, args := range [][]string{
		nil,
		{"drain", "-record", "www.example.com"},
		{"pause"},
		{"start", "-record", "www.example.com", "-from", "blue"},
		{"start", "-record", "www.example.com", "-from", "blue", "-to", "blue"},
		{"pause", "-record", "www.example.com", "extra"},
	} {
		if err := shift(args, io.Discard, io.Discard, fixedNow); !errors.Is(err, errUsage) {
			t.Errorf("shift %q: %v, want a usage error", args, err)
		}
	}
}
