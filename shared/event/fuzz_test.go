package event_test

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/stampkit/stampkit/shared/event"
)

// FuzzDecode feeds Decode arbitrary bytes, starting from every real sample:
// it must not panic, every error must be ErrMalformed or ErrUnknown, and
// every success must carry a typed detail.
func FuzzDecode(f *testing.F) {
	paths, err := filepath.Glob(filepath.Join("testdata", "events", "*.json"))
	if err != nil {
		f.Fatal(err)
	}
	if len(paths) == 0 {
		f.Fatal("no samples in testdata/events")
	}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{"", "null", "[]", "{}", `{"Records":[]}`, `{"Records":[{"body":"{}"}]}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		evs, err := event.Decode(raw)
		if err != nil {
			if !errors.Is(err, event.ErrMalformed) && !errors.Is(err, event.ErrUnknown) {
				t.Fatalf("Decode: got error %v (%T), want one matching ErrMalformed or ErrUnknown", err, err)
			}
			if evs != nil {
				t.Errorf("Decode: got %d events with error %v, want none", len(evs), err)
			}
			return
		}
		if len(evs) == 0 {
			t.Fatalf("Decode: got no events and no error, want at least one event")
		}
		for i, ev := range evs {
			if ev.Detail == nil || reflect.ValueOf(ev.Detail).IsNil() {
				t.Errorf("event %d: got nil Detail %#v, want a typed detail", i, ev.Detail)
			}
			switch ev.Detail.(type) {
			case *event.AlarmStateChange, *event.LifecycleAction, *event.InstanceActivity, *event.InstanceRefresh,
				*event.ImageStateChange, *event.AMIStateChange, *event.ResourceStatusChange, *event.TestNotification, *event.Tick, *event.Command, *event.ImageReady, *event.ShiftCommand:
			default:
				t.Errorf("event %d: got Detail of type %T, want one of the package's detail types", i, ev.Detail)
			}
		}
	})
}
