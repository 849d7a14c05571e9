package stampshift_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stampkit/stampkit/shared/stampshift"
)

// w is a pair of weights sent: old's, new's.
type w [2]int64

func sentPairs(ws *world) []w {
	out := make([]w, len(ws.sent))
	for i, m := range ws.sent {
		out[i] = w{m["old"], m["new"]}
	}
	return out
}

func TestStep(t *testing.T) {
	forward := []w{{95, 5}, {75, 25}, {50, 50}, {0, 100}}
	cases := []struct {
		name        string
		setup       func(*world)
		events      func(t *testing.T) []event
		want        stampshift.Outcome
		wantSent    []w
		wantReason  string
		wantElapsed time.Duration // from start to end
	}{{
		name:     "every step confirmed, then baked TTL + bake",
		want:     stampshift.Succeeded,
		wantSent: forward,
		// INSYNC is seen at the poll after the change: 30 s.
		wantElapsed: 4 * (30*time.Second + 5*time.Minute),
	}, {
		name:        "a step counts from INSYNC, not from the change",
		setup:       func(w *world) { w.insyncAfter = 2 * time.Minute },
		want:        stampshift.Succeeded,
		wantSent:    forward,
		wantElapsed: 4 * 7 * time.Minute,
	}, {
		name: "an alarm on the receiving stamp rolls all the weight back",
		events: func(*testing.T) []event {
			return []event{{7 * time.Minute, setHealth("new", func(h *stampshift.Health) { h.Alarms = []string{"new-5xx"} })}}
		},
		want:       stampshift.RolledBack,
		wantSent:   []w{{95, 5}, {75, 25}, {100, 0}},
		wantReason: "new alarms in ALARM: new-5xx",
	}, {
		name: "an unhealthy health check rolls back",
		events: func(*testing.T) []event {
			return []event{{12 * time.Minute, setHealth("new", func(h *stampshift.Health) { h.Healthy = false })}}
		},
		want:       stampshift.RolledBack,
		wantSent:   []w{{95, 5}, {75, 25}, {50, 50}, {100, 0}},
		wantReason: "new health check unhealthy",
	}, {
		// Resolvers answer with To's share for a TTL after INSYNC.
		name:  "a rollback waits for its own INSYNC, then the TTL",
		setup: func(w *world) { w.insyncAfter = 3 * time.Minute },
		events: func(*testing.T) []event {
			return []event{{4 * time.Minute, setHealth("new", func(h *stampshift.Health) { h.Healthy = false })}}
		},
		want:        stampshift.RolledBack,
		wantSent:    []w{{95, 5}, {100, 0}},
		wantElapsed: 8 * time.Minute,
	}, {
		name: "the receiving fleet is short: the step waits, then rolls back",
		setup: func(w *world) {
			w.health["new"] = stampshift.Health{Healthy: true, InService: 3}
		},
		want:       stampshift.RolledBack,
		wantSent:   []w{{95, 5}, {75, 25}, {100, 0}},
		wantReason: "new has 3 in service after 10m0s, the step to 50% needs 5",
	}, {
		name:  "capacity that arrives in time lets the step go on",
		setup: func(w *world) { w.health["new"] = stampshift.Health{Healthy: true, InService: 3} },
		events: func(*testing.T) []event {
			return []event{{15 * time.Minute, setHealth("new", func(h *stampshift.Health) { h.InService = 10 })}}
		},
		want:     stampshift.Succeeded,
		wantSent: forward,
	}, {
		name:       "abort rolls back",
		events:     func(t *testing.T) []event { return []event{{6 * time.Minute, command(t, stampshift.Abort)}} },
		want:       stampshift.RolledBack,
		wantSent:   []w{{95, 5}, {75, 25}, {100, 0}},
		wantReason: "operator abort",
	}, {
		name: "pause holds the step; resume bakes it again",
		events: func(t *testing.T) []event {
			return []event{{2 * time.Minute, command(t, stampshift.Pause)}, {30 * time.Minute, command(t, stampshift.Resume)}}
		},
		want:        stampshift.Succeeded,
		wantSent:    forward,
		wantElapsed: 30*time.Minute + 5*time.Minute + 3*(30*time.Second+5*time.Minute),
	}, {
		name: "paused, an alarm still rolls back",
		events: func(t *testing.T) []event {
			return []event{{2 * time.Minute, command(t, stampshift.Pause)}, {20 * time.Minute, setHealth("new", func(h *stampshift.Health) { h.Alarms = []string{"new-latency"} })}}
		},
		want:     stampshift.RolledBack,
		wantSent: []w{{95, 5}, {100, 0}},
	}, {
		name:        "promote goes to 100% at the next step",
		events:      func(t *testing.T) []event { return []event{{time.Minute, command(t, stampshift.Promote)}} },
		want:        stampshift.Succeeded,
		wantSent:    []w{{95, 5}, {0, 100}},
		wantElapsed: time.Minute + 30*time.Second + 5*time.Minute,
	}, {
		name: "a refused change is sent again, then the transition rolls back",
		setup: func(w *world) {
			w.refuse = 3
		},
		want:       stampshift.RolledBack,
		wantSent:   []w{{95, 5}, {95, 5}, {95, 5}, {100, 0}},
		wantReason: "not confirmed after 3 attempts",
	}, {
		name:       "a rollback refused again and again keeps trying until its change is made",
		setup:      func(w *world) { w.refuse = 10 },
		want:       stampshift.RolledBack,
		wantSent:   []w{{95, 5}, {95, 5}, {95, 5}, {100, 0}, {100, 0}, {100, 0}, {100, 0}, {100, 0}, {100, 0}, {100, 0}, {100, 0}},
		wantReason: "not confirmed after 3 attempts",
	}, {
		name:     "throttled changes do not count against a step's attempts",
		setup:    func(w *world) { w.throttle = 5 },
		want:     stampshift.Succeeded,
		wantSent: append([]w{{95, 5}, {95, 5}, {95, 5}, {95, 5}, {95, 5}}, forward...),
	}, {
		name: "weights changed outside pause it; resume sends the step again",
		events: func(t *testing.T) []event {
			return []event{
				{7 * time.Minute, func(w *world, s stampshift.State) stampshift.State { w.weights["new"] = 0; return s }},
				{20 * time.Minute, command(t, stampshift.Resume)},
			}
		},
		want:     stampshift.Succeeded,
		wantSent: []w{{95, 5}, {75, 25}, {75, 25}, {50, 50}, {0, 100}},
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ws := newWorld()
			if tc.setup != nil {
				tc.setup(ws)
			}
			var events []event
			if tc.events != nil {
				events = tc.events(t)
			}
			s := drive(t, policy(), ws, events)
			if s.Outcome != tc.want {
				t.Fatalf("outcome %q (%s), want %q; history:\n%s", s.Outcome, s.Reason, tc.want, history(s))
			}
			if diff := cmp.Diff(tc.wantSent, sentPairs(ws)); diff != "" {
				t.Errorf("weights sent (-want +got):\n%s\nhistory:\n%s", diff, history(s))
			}
			if !strings.Contains(s.Reason, tc.wantReason) {
				t.Errorf("reason %q, want it to contain %q", s.Reason, tc.wantReason)
			}
			if tc.wantElapsed != 0 && s.Ended.Sub(t0) != tc.wantElapsed {
				t.Errorf("ended after %s, want %s", s.Ended.Sub(t0), tc.wantElapsed)
			}
			if got := ws.weights["other"]; got != 50 {
				t.Errorf("the other stamp's weight is %d, want it left at 50", got)
			}
		})
	}
}

func history(s stampshift.State) string {
	var b strings.Builder
	for _, e := range s.History {
		b.WriteString("  " + e.At.Sub(t0).String() + " " + string(e.Phase) + " " + e.Note + "\n")
	}
	return b.String()
}
