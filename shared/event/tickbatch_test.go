package event_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/stampkit/stampkit/shared/event"
)

// fleetNames returns n fleet names, f000, f001, …
func fleetNames(n int) []string {
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("f%03d", i)
	}
	return names
}

func TestTickBatches(t *testing.T) {
	tests := []struct {
		name   string
		fleets []string
		size   int
		want   [][]string
	}{
		{"no fleets", nil, 10, nil},
		{"fewer than a batch", []string{"web", "api"}, 10, [][]string{{"web", "api"}}},
		{"exactly a batch", []string{"a", "b", "c"}, 3, [][]string{{"a", "b", "c"}}},
		{"the last batch short", []string{"a", "b", "c", "d", "e"}, 2, [][]string{{"a", "b"}, {"c", "d"}, {"e"}}},
		// The order is the caller's: a fleet appended to the configuration
		// lands in the last batch and moves no other.
		{"in the order given", []string{"web", "api", "batch"}, 2, [][]string{{"web", "api"}, {"batch"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := event.TickBatches(tt.fleets, tt.size)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("TickBatches (-want +got):\n%s", diff)
			}
		})
	}
}

// A hundred fleets at TickBatchSize: ten batches, every fleet in exactly
// one, the same batches on every call, and batches that do not share the
// caller's array (the CDK app may edit either).
func TestTickBatchesOfAHundredFleets(t *testing.T) {
	fleets := fleetNames(100)
	batches := event.TickBatches(fleets, event.TickBatchSize)
	if got, want := len(batches), 100/event.TickBatchSize; got != want {
		t.Fatalf("got %d batches, want %d", got, want)
	}
	seen := map[string]int{}
	for i, b := range batches {
		if len(b) > event.TickBatchSize {
			t.Errorf("batch %d: got %d fleets, want at most %d", i, len(b), event.TickBatchSize)
		}
		for _, f := range b {
			seen[f]++
		}
	}
	for _, f := range fleets {
		if seen[f] != 1 {
			t.Errorf("fleet %s: in %d batches, want 1", f, seen[f])
		}
	}
	if diff := cmp.Diff(batches, event.TickBatches(slices.Clone(fleets), event.TickBatchSize)); diff != "" {
		t.Errorf("a second call gave other batches (-first +second):\n%s", diff)
	}
	batches[0][0] = "changed"
	if fleets[0] != "f000" {
		t.Errorf("editing a batch changed the caller's fleets: fleets[0] = %q", fleets[0])
	}
}

func TestTickBatchesPanicsBelowOne(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("TickBatches(…, 0): got no panic, want one")
		}
	}()
	event.TickBatches([]string{"web"}, 0)
}

// transform fills it's template from the event raw as EventBridge does for
// a JSON template: each <variable> becomes the JSON value at its path.
// The paths it takes are top-level fields ("$.id"); any other fails the
// test, which would then not show what EventBridge sends.
func transform(t *testing.T, it event.InputTransformer, raw []byte) []byte {
	t.Helper()
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		t.Fatalf("decoding the matched event: %v", err)
	}
	out := it.InputTemplate
	for name, path := range it.InputPathsMap {
		field, ok := strings.CutPrefix(path, "$.")
		if !ok || strings.ContainsAny(field, ".[*") {
			t.Fatalf("InputPathsMap[%q] = %q: want a top-level field, $.name", name, path)
		}
		v, ok := fields[field]
		if !ok {
			t.Fatalf("InputPathsMap[%q] = %q: the scheduled event has no %s", name, path, field)
		}
		var compact bytes.Buffer
		if err := json.Compact(&compact, v); err != nil {
			t.Fatal(err)
		}
		out = strings.ReplaceAll(out, "<"+name+">", compact.String())
	}
	if i := strings.IndexAny(out, "<>"); i >= 0 {
		t.Fatalf("a placeholder without a variable is left in the input: %s", out[max(0, i-20):])
	}
	return []byte(out)
}

// The rendered template, filled from a real scheduled event the way
// EventBridge fills it, decodes as that rule's tick naming the batch's
// fleets.
func TestTickInputDecodesAsItsBatch(t *testing.T) {
	scheduled := readSample(t, "eventbridge-scheduled-event")
	for i, batch := range event.TickBatches(fleetNames(25), event.TickBatchSize) {
		t.Run(fmt.Sprintf("batch %d", i), func(t *testing.T) {
			it, err := event.TickInput(batch)
			if err != nil {
				t.Fatalf("TickInput: %v", err)
			}
			got, err := event.Decode(transform(t, it, scheduled))
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			want := []event.Event{{
				ID: "cdc73f9d-aea9-11e3-9d5a-835b769c0d9c", Source: event.SourceEvents, DetailType: event.DetailTypeScheduled,
				Time: at("2019-03-01T01:23:45Z"), Region: "us-east-2", Account: "123456789012",
				Resources: []string{"arn:aws:events:us-east-2:123456789012:rule/my-schedule"},
				Detail: &event.Tick{
					At: at("2019-03-01T01:23:45Z"), Rule: "arn:aws:events:us-east-2:123456789012:rule/my-schedule", Fleets: batch,
				},
			}}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Decode (-want +got):\n%s", diff)
			}
		})
	}
}

// The sample of a tick batch's event is what TickInput makes of the AWS
// sample, so that the sample, the fuzz seed it is and the contract agree.
func TestTickBatchSampleIsTheTransformedSample(t *testing.T) {
	it, err := event.TickInput([]string{"web", "api"})
	if err != nil {
		t.Fatal(err)
	}
	var got, want any
	if err := json.Unmarshal(transform(t, it, readSample(t, "eventbridge-scheduled-event")), &got); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(readSample(t, "eventbridge-scheduled-event-fleets"), &want); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("testdata sample vs TickInput's (-sample +rendered):\n%s", diff)
	}
}

func TestTickInputRefuses(t *testing.T) {
	tests := []struct {
		name   string
		fleets []string
		want   string
	}{
		{"no fleets", nil, "fleets: empty"},
		{"an invalid name", []string{"web", "Web-2"}, `fleets[1]: not a fleet name: got "Web-2"`},
		{"a fleet twice", []string{"web", "api", "web"}, `fleets[2]: fleet "web" is listed twice`},
		// 400 names of 20 characters: over EventBridge's 8,192.
		{"a template over EventBridge's limit", longNames(400), "over EventBridge's 8192"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := event.TickInput(tt.fleets)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("TickInput: got error %v, want one saying %q", err, tt.want)
			}
		})
	}
}

func longNames(n int) []string {
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("fleet%015d", i)
	}
	return names
}

// A schedule rule without a transformer (as before tick batches, or the
// twin's) sends an empty detail: a tick of every fleet, Fleets nil, not an
// empty list.
func TestScheduledEventWithoutFleetsTicksEveryFleet(t *testing.T) {
	for _, d := range []map[string]any{{}, {"fleets": nil}} {
		t.Run(fmt.Sprint(d), func(t *testing.T) {
			evs, err := event.Decode([]byte(edit(t, "eventbridge-scheduled-event", func(m map[string]any) { m["detail"] = d })))
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if got := evs[0].Detail.(*event.Tick).Fleets; got != nil {
				t.Errorf("Fleets: got %#v, want nil (every fleet)", got)
			}
		})
	}
}
