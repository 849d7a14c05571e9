package event_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/stampkit/stampkit/shared/event"
)

func TestCommandMalformed(t *testing.T) {
	tests := []struct {
		name   string
		change func(m map[string]any)
		field  string
	}{
		{name: "fleet missing", change: func(m map[string]any) { delete(detail(m), "fleet") }, field: "detail.fleet"},
		{name: "action missing", change: func(m map[string]any) { delete(detail(m), "action") }, field: "detail.action"},
		{name: "action unknown", change: func(m map[string]any) { detail(m)["action"] = "reboot" }, field: "detail.action"},
		{name: "fleet not a string", change: func(m map[string]any) { detail(m)["fleet"] = 7 }, field: "detail.fleet"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := event.Decode([]byte(edit(t, "stampkit-rollout-command", tt.change)))
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

func TestCommandBodyRoundTrip(t *testing.T) {
	at := time.Date(2026, 11, 25, 15, 4, 5, 0, time.UTC)
	for _, action := range []string{event.CommandPause, event.CommandResume, event.CommandAbort, event.CommandPromote} {
		t.Run(action, func(t *testing.T) {
			c := event.Command{Fleet: "web", Action: action, Reason: "because"}
			body, err := event.CommandBody(c, at)
			if err != nil {
				t.Fatalf("CommandBody: %v", err)
			}
			evs, err := event.Decode(body)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if len(evs) != 1 {
				t.Fatalf("Decode: got %d events, want 1", len(evs))
			}
			if diff := cmp.Diff(&c, evs[0].Detail); diff != "" {
				t.Errorf("detail (-want +got):\n%s", diff)
			}
			if !evs[0].Time.Equal(at) || evs[0].Source != event.SourceStampkit {
				t.Errorf("envelope: got time %s source %q, want %s %q", evs[0].Time, evs[0].Source, at, event.SourceStampkit)
			}
			again, _ := event.CommandBody(c, at)
			other, _ := event.CommandBody(c, at.Add(time.Second))
			if string(again) != string(body) {
				t.Errorf("CommandBody is not stable for the same command and time")
			}
			if strings.Contains(string(other), evs[0].ID) {
				t.Errorf("CommandBody: a later command reuses id %s", evs[0].ID)
			}
		})
	}
}

func TestImageReadyMalformed(t *testing.T) {
	tests := []struct {
		name   string
		change func(m map[string]any)
	}{
		{name: "image missing", change: func(m map[string]any) { delete(detail(m), "imageId") }},
		{name: "not an AMI", change: func(m map[string]any) { detail(m)["imageId"] = "arn:aws:imagebuilder:x" }},
		{name: "not a string", change: func(m map[string]any) { detail(m)["imageId"] = 7 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := event.Decode([]byte(edit(t, "stampkit-image-ready", tt.change)))
			var me *event.MalformedError
			if !errors.As(err, &me) || me.Field != "detail.imageId" {
				t.Fatalf("Decode: got %v, want a *MalformedError on detail.imageId", err)
			}
		})
	}
}

func TestImageReadyBodyRoundTrip(t *testing.T) {
	at := time.Date(2026, 12, 7, 14, 2, 11, 0, time.UTC)
	body, err := event.ImageReadyBody("ami-0abc", at)
	if err != nil {
		t.Fatalf("ImageReadyBody: %v", err)
	}
	evs, err := event.Decode(body)
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	if diff := cmp.Diff(&event.ImageReady{ImageID: "ami-0abc"}, evs[0].Detail); diff != "" {
		t.Errorf("detail (-want +got):\n%s", diff)
	}
	again, _ := event.ImageReadyBody("ami-0abc", at.Add(time.Hour))
	if evs2, _ := event.Decode(again); evs2[0].ID != evs[0].ID {
		t.Errorf("ids: %s then %s; want one id per AMI, so a resend is acted on once", evs[0].ID, evs2[0].ID)
	}
}

// TestCommandBusFor: the default stamp keeps the bus single-stamp
// deployments, bake scripts and the CLI already name; every other stamp's
// bus carries its name, and none is another's.
func TestCommandBusFor(t *testing.T) {
	if got := event.CommandBusFor(event.DefaultStamp); got != event.CommandBus {
		t.Errorf("CommandBusFor(%q) = %q, want %q", event.DefaultStamp, got, event.CommandBus)
	}
	seen := map[string]string{}
	for _, stamp := range []string{event.DefaultStamp, "eu1", "us2", "commands"} {
		bus := event.CommandBusFor(stamp)
		if other, dup := seen[bus]; dup {
			t.Errorf("stamps %q and %q share the bus %q", other, stamp, bus)
		}
		seen[bus] = stamp
	}
	if got, want := event.CommandBusFor("eu1"), "stampkit-eu1-commands"; got != want {
		t.Errorf("CommandBusFor(eu1) = %q, want %q", got, want)
	}
}
