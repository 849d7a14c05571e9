package stampshift_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stampkit/stampkit/shared/stampshift"
)

func begin(t *testing.T, w *world) stampshift.State {
	t.Helper()
	s, err := stampshift.Begin(policy(), stampshift.State{Record: "www.example.com."}, stampshift.Start{ID: "e1", Record: "www.example.com.", From: "old", To: "new"}, w.observe())
	if err != nil {
		t.Fatalf("Begin: %v", err)
	}
	return s
}

func TestBegin(t *testing.T) {
	running := begin(t, newWorld())
	done := running
	done.Phase = stampshift.PhaseDone
	cases := []struct {
		name      string
		last      stampshift.State
		start     stampshift.Start
		weights   map[string]int64
		wantErr   error
		wantSame  bool
		wantStep  int
		wantTotal int64
	}{
		{name: "fresh record", start: stampshift.Start{ID: "e2", From: "old", To: "new"}, wantTotal: 100},
		{name: "repeated start of the running transition", last: running, start: stampshift.Start{ID: "e9", From: "old", To: "new"}, wantSame: true},
		{name: "late duplicate of a finished start", last: done, start: stampshift.Start{ID: "e1", From: "old", To: "new"}, wantSame: true},
		{name: "another transition while one runs", last: running, start: stampshift.Start{ID: "e2", From: "new", To: "other"}, wantErr: stampshift.ErrBusy},
		{name: "a stamp the record lacks", start: stampshift.Start{ID: "e2", From: "old", To: "nope"}, wantErr: stampshift.ErrUnknownStamp},
		{name: "To already carries 30%: steps behind it are skipped", start: stampshift.Start{ID: "e2", From: "old", To: "new"},
			weights: map[string]int64{"old": 140, "new": 60}, wantStep: 2, wantTotal: 200},
		{name: "weights above 255 together are capped; the share is the live one", start: stampshift.Start{ID: "e2", From: "old", To: "new"},
			weights: map[string]int64{"old": 300, "new": 100}, wantStep: 2, wantTotal: 255},
		{name: "two zero weights move 100", start: stampshift.Start{ID: "e2", From: "old", To: "new"},
			weights: map[string]int64{"old": 0, "new": 0}, wantTotal: 100},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld()
			if tc.weights != nil {
				w.weights = tc.weights
			}
			if tc.last.Record == "" {
				tc.last.Record = "www.example.com."
			}
			got, err := stampshift.Begin(policy(), tc.last, tc.start, w.observe())
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err %v, want %v", err, tc.wantErr)
			}
			if tc.wantErr != nil || tc.wantSame {
				if diff := cmp.Diff(tc.last, got); diff != "" {
					t.Errorf("state changed (-want +got):\n%s", diff)
				}
				return
			}
			if got.Step != tc.wantStep || got.Total != tc.wantTotal || got.Phase != stampshift.PhaseShift {
				t.Errorf("step %d, total %d, phase %s; want %d, %d, shift", got.Step, got.Total, got.Phase, tc.wantStep, tc.wantTotal)
			}
		})
	}
}

func TestControl(t *testing.T) {
	running := begin(t, newWorld())
	paused, _ := stampshift.Control(running, stampshift.Pause, "", "", "", t0)
	aborted, _ := stampshift.Control(running, stampshift.Abort, "", "", "", t0)
	done := running
	done.Phase = stampshift.PhaseDone
	cases := []struct {
		name     string
		s        stampshift.State
		c        stampshift.Command
		from, to string
		wantErr  error
	}{
		{name: "pause", s: running, c: stampshift.Pause},
		{name: "second pause", s: paused, c: stampshift.Pause, wantErr: stampshift.ErrNotApplicable},
		{name: "resume without pause", s: running, c: stampshift.Resume, wantErr: stampshift.ErrNotApplicable},
		{name: "second abort", s: aborted, c: stampshift.Abort, wantErr: stampshift.ErrNotApplicable},
		{name: "pause while rolling back", s: aborted, c: stampshift.Pause, wantErr: stampshift.ErrNotApplicable},
		{name: "late abort of a finished transition", s: done, c: stampshift.Abort, wantErr: stampshift.ErrNotActive},
		{name: "command naming other stamps", s: running, c: stampshift.Abort, from: "new", to: "old", wantErr: stampshift.ErrNotActive},
		{name: "command naming the running stamps", s: running, c: stampshift.Promote, from: "old", to: "new"},
		{name: "unknown command", s: running, c: "launch", wantErr: stampshift.ErrNotApplicable},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := stampshift.Control(tc.s, tc.c, tc.from, tc.to, "", t0)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err %v, want %v", err, tc.wantErr)
			}
			if err != nil {
				if diff := cmp.Diff(tc.s, got); diff != "" {
					t.Errorf("a refused command changed the state (-want +got):\n%s", diff)
				}
			}
		})
	}
}

func TestStepRepeats(t *testing.T) {
	p := policy()
	ws := newWorld()
	s := begin(t, ws)
	acts, s, _ := stampshift.Step(p, s, ws.observe())
	s = ws.apply(s, acts)
	ws.now = ws.now.Add(time.Minute)
	obs := ws.observe()

	t.Run("a late observation changes nothing", func(t *testing.T) {
		late := obs
		late.Now = t0.Add(-time.Second)
		acts, got, wake := stampshift.Step(p, s, late)
		if len(acts) != 0 || wake != s.WakeAt || cmp.Diff(s, got) != "" {
			t.Errorf("got %v, wake %s, state diff %s; want nothing", acts, wake, cmp.Diff(s, got))
		}
	})
	t.Run("GetChange for another change confirms nothing", func(t *testing.T) {
		other := obs
		other.Change = stampshift.ChangeStatus{ID: "C0", InSync: true}
		_, got, _ := stampshift.Step(p, s, other)
		if !got.InSyncAt.IsZero() || got.Change != s.Change {
			t.Errorf("in sync at %s, change %q; want still waiting for %q", got.InSyncAt, got.Change, s.Change)
		}
	})
	t.Run("an observation that failed only waits", func(t *testing.T) {
		blind := stampshift.Observation{Now: obs.Now, Err: "throttled"}
		acts, got, wake := stampshift.Step(p, s, blind)
		if len(acts) != 0 || got.Change != s.Change || wake != obs.Now.Add(p.PollInterval.Std()) {
			t.Errorf("acts %v, change %q, wake %s; want none, %q, a poll later", acts, got.Change, wake, s.Change)
		}
	})
	t.Run("the same observation twice acts once", func(t *testing.T) {
		_, once, _ := stampshift.Step(p, s, obs)
		acts, twice, _ := stampshift.Step(p, once, obs)
		if len(acts) != 0 || !twice.InSyncAt.Equal(once.InSyncAt) {
			t.Errorf("second step: acts %v, in sync at %s; want none, %s", acts, twice.InSyncAt, once.InSyncAt)
		}
	})
}

func TestCapacityAhead(t *testing.T) {
	ws := newWorld()
	s := drive(t, policy(), ws, nil)
	if s.Outcome != stampshift.Succeeded {
		t.Fatalf("outcome %s: %s", s.Outcome, s.Reason)
	}
	var got []int
	for _, a := range ws.raised {
		if a.Stamp != "new" || !a.Until.After(t0) {
			t.Errorf("raise %+v: want stamp new with a hold", a)
		}
		got = append(got, a.Capacity)
	}
	// old had 10 in service: each step raises new to the next step's share.
	if diff := cmp.Diff([]int{3, 5, 10}, got); diff != "" {
		t.Errorf("floors raised (-want +got):\n%s", diff)
	}
}

func TestPolicyValidate(t *testing.T) {
	cases := []struct {
		name  string
		steps []int
		want  string
	}{
		{name: "defaults", want: ""},
		{name: "not ending at 100", steps: []int{10, 50}, want: "the last step is 50"},
		{name: "not increasing", steps: []int{50, 50, 100}, want: "steps: [1] = 50"},
		{name: "above 100", steps: []int{50, 150}, want: "steps: [1] = 150"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := stampshift.Policy{Steps: tc.steps}.WithDefaults()
			err := p.Validate()
			if (err == nil) != (tc.want == "") || (err != nil && !strings.Contains(err.Error(), tc.want)) {
				t.Errorf("Validate() = %v, want %q", err, tc.want)
			}
		})
	}
}
