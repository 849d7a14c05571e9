package event_test

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/stampkit/stampkit/shared/event"
)

func TestShiftCommandMalformed(t *testing.T) {
	tests := []struct {
		name   string
		change func(m map[string]any)
		field  string
	}{
		{name: "record missing", change: func(m map[string]any) { delete(detail(m), "record") }, field: "detail.record"},
		{name: "action unknown", change: func(m map[string]any) { detail(m)["action"] = "drain" }, field: "detail.action"},
		{name: "start without to", change: func(m map[string]any) { delete(detail(m), "to") }, field: "detail.to"},
		{name: "from and to the same", change: func(m map[string]any) { detail(m)["to"] = "blue" }, field: "detail.to"},
		{name: "unknown field", change: func(m map[string]any) { detail(m)["form"] = "blue" }, field: "detail"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := event.Decode([]byte(edit(t, "stampkit-shift-command", tt.change)))
			var me *event.MalformedError
			if !errors.As(err, &me) {
				t.Fatalf("Decode: got %v, want a *MalformedError", err)
			}
			if me.Field != tt.field {
				t.Errorf("field: got %q, want %q", me.Field, tt.field)
			}
		})
	}
}

func TestShiftCommandBodyRoundTrip(t *testing.T) {
	at := time.Date(2026, 12, 9, 9, 30, 0, 0, time.UTC)
	for _, c := range []event.ShiftCommand{
		{Record: "www.example.com.", From: "blue", To: "green", Action: event.CommandStart},
		{Record: "www.example.com.", Action: event.CommandAbort, Reason: "5xx in green"},
		{Record: "www.example.com.", From: "blue", To: "green", Action: event.CommandPromote},
	} {
		t.Run(c.Action, func(t *testing.T) {
			body, err := event.ShiftCommandBody(c, at)
			if err != nil {
				t.Fatal(err)
			}
			evs, err := event.Decode(body)
			if err != nil || len(evs) != 1 {
				t.Fatalf("Decode: %v, %d events", err, len(evs))
			}
			if diff := cmp.Diff(&c, evs[0].Detail); diff != "" {
				t.Errorf("detail (-want +got):\n%s", diff)
			}
			again, _ := event.ShiftCommandBody(c, at)
			evs2, _ := event.Decode(again)
			if evs2[0].ID != evs[0].ID {
				t.Errorf("a resent command has id %s, want %s", evs2[0].ID, evs[0].ID)
			}
		})
	}
}
