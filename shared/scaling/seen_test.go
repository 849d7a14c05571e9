package scaling_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/stampkit/stampkit/shared/scaling"
)

// A tick reads when the alarm entered its state from DescribeAlarms, an
// event from its own state.timestamp; the two may differ. Whichever comes
// first and whichever is later, the second reading must still act, and the
// alarm's record keeps the later time.
func TestDecideSameStateReadings(t *testing.T) {
	for _, skew := range []time.Duration{time.Millisecond, time.Second} {
		for _, later := range []string{"event", "tick"} {
			for _, first := range []string{"event", "tick"} {
				t.Run(fmt.Sprintf("%s later by %s, %s first", later, skew, first), func(t *testing.T) {
					since := map[string]time.Time{"event": t0, "tick": t0}
					since[later] = t0.Add(skew)
					second := map[string]string{"event": "tick", "tick": "event"}[first]
					p := testPolicy()

					d1, s := scaling.Decide(p, scaling.State{}, scaling.Observation{Now: t0.Add(time.Minute), Signal: high(65, since[first]), Group: steady(4)})
					if d1.Outcome != scaling.Scaled {
						t.Fatalf("first reading (%s): %s (%s), want scaled", first, d1.Outcome, d1.Reason)
					}
					// Past the cooldown and the warm-up: only staleness can stop it.
					d2, s := scaling.Decide(p, s, scaling.Observation{Now: t0.Add(6 * time.Minute), Signal: high(65, since[second]), Group: steady(d1.To)})
					if d2.Outcome != scaling.Scaled || d2.To != d1.To+1 {
						t.Errorf("second reading (%s): %s to %d (%s), want scaled to %d", second, d2.Outcome, d2.To, d2.Reason, d1.To+1)
					}
					if got, want := s.Seen["high"], inAlarm(t0.Add(skew)); !cmp.Equal(got, want) {
						t.Errorf("Seen[high] = %+v, want %+v (the later reading, never moved back)", got, want)
					}
				})
			}
		}
	}
}

func TestStateJSON(t *testing.T) {
	t.Run("decodes records saved before the state was kept", func(t *testing.T) {
		old := `{"lastScaleOut":"2026-11-25T11:58:00Z","outFrom":4,"seen":{"high":"2026-11-25T12:00:00.001Z","low":"2026-11-25T11:00:00Z"}}`
		var got scaling.State
		if err := json.Unmarshal([]byte(old), &got); err != nil {
			t.Fatalf("Unmarshal: %v", err)
		}
		want := scaling.State{LastScaleOut: t0.Add(-2 * time.Minute), OutFrom: 4, Seen: map[string]scaling.Seen{
			"high": {Since: t0.Add(time.Millisecond)},
			"low":  {Since: t0.Add(-time.Hour)},
		}}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("state (-want +got):\n%s", d)
		}
		// The old record came from an event a millisecond after what the
		// tick reads: the tick must act and record its state.
		d, next := scaling.Decide(testPolicy(), got, scaling.Observation{Now: t0.Add(5 * time.Minute), Signal: high(65, t0), Group: steady(5)})
		if d.Outcome != scaling.Scaled {
			t.Errorf("tick after an old record: %s (%s), want scaled", d.Outcome, d.Reason)
		}
		if want := inAlarm(t0); !cmp.Equal(next.Seen["high"], want) {
			t.Errorf("Seen[high] = %+v, want %+v", next.Seen["high"], want)
		}
	})
	t.Run("saves the state with its time", func(t *testing.T) {
		buf, err := json.Marshal(scaling.State{Seen: map[string]scaling.Seen{"high": inAlarm(t0.Add(time.Millisecond))}})
		if err != nil {
			t.Fatalf("Marshal: %v", err)
		}
		if got, want := string(buf), `{"seen":{"high":{"state":"ALARM","since":"2026-11-25T12:00:00.001Z"}}}`; got != want {
			t.Errorf("JSON = %s, want %s", got, want)
		}
		var back scaling.State
		if err := json.Unmarshal(buf, &back); err != nil {
			t.Fatalf("Unmarshal: %v", err)
		}
		if want := inAlarm(t0.Add(time.Millisecond)); !cmp.Equal(back.Seen["high"], want) {
			t.Errorf("round trip Seen[high] = %+v, want %+v", back.Seen["high"], want)
		}
	})
}

// FuzzStateJSON: whatever the state table holds, a decoded state saves and
// decodes back to itself.
func FuzzStateJSON(f *testing.F) {
	f.Add(`{"lastScaleOut":"2026-11-25T11:58:00Z","outFrom":4,"seen":{"high":"2026-11-25T12:00:00.001Z"}}`)
	f.Add(`{"seen":{"high":{"state":"ALARM","since":"2026-11-25T12:00:00.001Z"},"low":{"since":"2026-11-25T11:00:00Z"}}}`)
	f.Add(`{"seen":{"high":null}}`)
	f.Add(`{"seen":{}}`)
	f.Fuzz(func(t *testing.T, in string) {
		var s scaling.State
		if json.Unmarshal([]byte(in), &s) != nil {
			return
		}
		buf, err := json.Marshal(s)
		if err != nil {
			t.Fatalf("Marshal of a decoded state: %v", err)
		}
		var back scaling.State
		if err := json.Unmarshal(buf, &back); err != nil {
			t.Fatalf("decoding %s: %v", buf, err)
		}
		if d := cmp.Diff(s, back, cmpopts.EquateEmpty()); d != "" {
			t.Errorf("round trip of %s (-decoded +round trip):\n%s", in, d)
		}
	})
}
