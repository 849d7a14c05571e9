package stampshift_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/stampkit/stampkit/shared/stampshift"
)

// R1: a small moved weight rounds steps to 0 and then jumps to 100 %.
func TestBeginScalesASmallMovedWeight(t *testing.T) {
	p := policy()
	obs := stampshift.Observation{Now: t0, Weights: map[string]int64{"old": 1, "new": 0},
		Stamps: map[string]stampshift.Health{"old": {Healthy: true, InService: 10}, "new": {Healthy: true, InService: 10}}}
	s, err := stampshift.Begin(p, stampshift.State{Record: "r"}, stampshift.Start{ID: "1", From: "old", To: "new"}, obs)
	if err != nil {
		t.Fatal(err)
	}
	var sent []map[string]int64
	now := t0
	for i := 0; i < 200 && s.Active(); i++ {
		obs.Now = now
		if s.Change != "" {
			obs.Change = stampshift.ChangeStatus{ID: s.Change, InSync: true}
		}
		acts, next, _ := stampshift.Step(p, s, obs)
		s = next
		for _, a := range acts {
			if a.Kind == stampshift.SetWeights {
				sent = append(sent, a.Weights)
				s = s.Sent("C", now)
				obs.Weights = a.Weights
			}
		}
		now = now.Add(30 * time.Second)
	}
	t.Logf("changes sent: %v", sent)
	if sent[0]["new"] == 0 {
		t.Errorf("the 5%% step gives new weight 0 (no traffic; Route 53 returns weight-0 records only when all others are unhealthy), yet it 'bakes' and counts")
	}
}

// R2: an observation error freezes everything, even an abort and an alarm on To.
func TestStepRollsBackWhileFromIsUnreadable(t *testing.T) {
	p := policy()
	s := stampshift.State{Record: "r", ID: "1", From: "old", To: "new", Phase: stampshift.PhaseShift,
		Steps: []int{5, 25, 50, 100}, Step: 2, Total: 100, Weights: map[string]int64{"old": 50, "new": 50},
		Shifted: 50, Capacity: 10, InSyncAt: t0, Abort: "operator abort"}
	now := t0
	for i := 0; i < 120; i++ { // an hour
		now = now.Add(30 * time.Second)
		obs := stampshift.Observation{Now: now, Weights: map[string]int64{"old": 50, "new": 50},
			Stamps: map[string]stampshift.Health{"new": {Healthy: true, Alarms: []string{"new-5xx"}, InService: 10}},
			Err:    "stamp old: DescribeAlarms (us-east-1): RequestTimeout"}
		acts, next, _ := stampshift.Step(p, s, obs)
		if len(acts) > 0 || next.Phase != stampshift.PhaseShift {
			return
		}
		s = next
	}
	t.Errorf("an hour with To in ALARM and an operator abort, From's Region unreadable: phase %s, no action", s.Phase)
}

// R3: a redelivered start of an earlier transition starts it again.
func TestBeginIgnoresAStaleStart(t *testing.T) {
	p := policy()
	// id1 (old -> new) was sent at t0 and ran; id2 (new -> old) started an
	// hour later and finished. EventBridge delivers id1 again.
	done := stampshift.State{Record: "r", ID: "id2", From: "new", To: "old", Phase: stampshift.PhaseDone, Outcome: stampshift.Succeeded,
		Started: t0.Add(time.Hour), Ended: t0.Add(2 * time.Hour)}
	obs := stampshift.Observation{Now: t0.Add(3 * time.Hour), Weights: map[string]int64{"old": 100, "new": 0},
		Stamps: map[string]stampshift.Health{"old": {Healthy: true, InService: 10}, "new": {Healthy: true, InService: 10}}}
	s, err := stampshift.Begin(p, done, stampshift.Start{ID: "id1", From: "old", To: "new", At: t0}, obs)
	if !errors.Is(err, stampshift.ErrStale) || s.Active() {
		t.Errorf("a redelivered start id1 (superseded by id2): err %v, active %v; want ErrStale and nothing begun", err, s.Active())
	}
	// A start sent after the last transition began is a new one.
	s, err = stampshift.Begin(p, done, stampshift.Start{ID: "id3", From: "old", To: "new", At: t0.Add(150 * time.Minute)}, obs)
	if err != nil || !s.Active() {
		t.Errorf("a new start: err %v, active %v; want it begun", err, s.Active())
	}
}

// R4: a start where To already carries weight sizes To for From's partial load.
func TestBeginSizesToForTheShareItCarries(t *testing.T) {
	p := policy()
	obs := stampshift.Observation{Now: t0, Weights: map[string]int64{"old": 50, "new": 50},
		Stamps: map[string]stampshift.Health{"old": {Healthy: true, InService: 5}, "new": {Healthy: true, InService: 5}}}
	s, _ := stampshift.Begin(p, stampshift.State{Record: "r"}, stampshift.Start{ID: "1", From: "old", To: "new"}, obs)
	if s.Capacity < 10 {
		t.Errorf("Capacity %d: at 100%% To carries old's 5 + its own 5 instances' load, needs ~10", s.Capacity)
	}
}

// running50 is a transition at its 50 % step, confirmed at t0.
func running50() stampshift.State {
	return stampshift.State{Record: "r", ID: "1", From: "old", To: "new", Phase: stampshift.PhaseShift,
		Steps: []int{5, 25, 50, 100}, Step: 2, Total: 100, Weights: map[string]int64{"old": 50, "new": 50},
		Shifted: 50, Capacity: 10, InSyncAt: t0}
}

func TestStepRollsBackWhenToStaysUnread(t *testing.T) {
	p := policy()
	s := running50()
	var rolledAt time.Duration
	for now := t0; now.Before(t0.Add(10 * time.Minute)); now = now.Add(30 * time.Second) {
		// Only old is read: new's health check status is throttled.
		obs := stampshift.Observation{Now: now, Weights: map[string]int64{"old": 50, "new": 50},
			Stamps: map[string]stampshift.Health{"old": {Healthy: true, InService: 10}},
			Err:    "stamp new: GetHealthCheckStatus: Throttling"}
		_, s, _ = stampshift.Step(p, s, obs)
		if s.Phase == stampshift.PhaseRollback {
			rolledAt = now.Sub(t0)
			break
		}
	}
	if rolledAt != p.UnreadTimeout.Std() {
		t.Errorf("rolled back after %s unread (phase %s), want after %s", rolledAt, s.Phase, p.UnreadTimeout)
	}
}

func TestRollbackNeverGivesUp(t *testing.T) {
	p := policy()
	s := running50()
	s.Abort = "operator abort"
	now := t0
	var gaps []time.Duration
	for range 12 {
		obs := stampshift.Observation{Now: now, Weights: map[string]int64{"old": 50, "new": 50},
			Stamps: map[string]stampshift.Health{"new": {Healthy: true, InService: 10}}}
		acts, next, wake := stampshift.Step(p, s, obs)
		if len(acts) != 1 || acts[0].Kind != stampshift.SetWeights || next.Phase != stampshift.PhaseRollback {
			t.Fatalf("at %s: acts %v, phase %s; want the rollback's change asked for again", now.Sub(t0), acts, next.Phase)
		}
		// Every change throttled: neither Sent nor Refused.
		s = next
		gaps = append(gaps, wake.Sub(now))
		now = wake
	}
	if !s.Stuck {
		t.Errorf("not Stuck after %d failed tries", s.Tries)
	}
	want := []time.Duration{30 * time.Second, 30 * time.Second, 30 * time.Second, 30 * time.Second, time.Minute, 2 * time.Minute, 4 * time.Minute, 5 * time.Minute}
	if got := gaps[:len(want)]; !slices.Equal(got, want) {
		t.Errorf("waits between tries %v, want %v then %s", got, want, stampshift.MaxBackoff)
	}
}
