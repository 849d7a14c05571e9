package shifter_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stampkit/stampkit/shared/event"
	"github.com/stampkit/stampkit/shared/rollout"
	"github.com/stampkit/stampkit/shared/route53dns"
	"github.com/stampkit/stampkit/shared/stampshift"
)

type flakyDNS struct {
	*fakeDNS
	fail map[string]int
}

func (d *flakyDNS) Healthy(ctx context.Context, hc string) (bool, error) {
	if d.fail[hc] > 0 {
		d.fail[hc]--
		return false, errors.New("Throttling: Rate exceeded")
	}
	return d.fakeDNS.Healthy(ctx, hc)
}

// A start whose From could not be read is retried, not begun with a
// capacity of 1; its retry (the same event) begins it sized from blue's 8.
func TestShiftStartRetriesAnUnreadCapacity(t *testing.T) {
	r := newRig(t)
	r.h.DNS = &flakyDNS{fakeDNS: r.dns, fail: map[string]int{"hc-blue": 1}}
	body, err := event.ShiftCommandBody(event.ShiftCommand{Record: "www.example.com", From: "blue", To: "green", Action: event.CommandStart}, r.clk.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := r.h.Handle(t.Context(), body); !errors.Is(err, stampshift.ErrUnobserved) {
		t.Fatalf("first delivery: %v, want ErrUnobserved (retried)", err)
	}
	if data, _, _ := r.store.Load(t.Context(), stampshift.Key("www.example.com.")); len(data) != 0 || len(r.dns.log) != 0 {
		t.Fatalf("a start on a failed read saved %s and changed %v", data, r.dns.log)
	}
	if err := r.h.Handle(t.Context(), body); err != nil {
		t.Fatalf("retry: %v", err)
	}
	if s := r.state(t); !s.Active() || s.Capacity != 8 {
		t.Errorf("after the retry: active %v, capacity %d; want begun with 8", s.Active(), s.Capacity)
	}
}

// A rollback whose change is throttled and refused, again and again, keeps
// trying until green carries nothing.
func TestShiftRollbackOutlastsThrottles(t *testing.T) {
	r := newRig(t)
	r.command(t, event.ShiftCommand{Record: "www.example.com", From: "blue", To: "green", Action: event.CommandStart})
	for r.state(t).Shifted < 50 {
		r.wake(t)
	}
	r.green.firing = true
	r.dns.refuse, r.dns.throttle = 6, 6
	s := r.runUntilDone(t)
	if s.Outcome != stampshift.RolledBack || r.dns.weights["green"] != 0 {
		t.Errorf("outcome %s, green %d; want rolled back to 0", s.Outcome, r.dns.weights["green"])
	}
	if !strings.Contains(r.metrics.String(), `"ShiftRollbackStuck":1`) {
		t.Errorf("no ShiftRollbackStuck 1 among the metrics:\n%s", r.metrics.String())
	}
}

// aliasDNS: weighted alias records with EvaluateTargetHealth and no
// HealthCheckId (AWS's advice for alias records).
type aliasDNS struct{ *fakeDNS }

func (d aliasDNS) Weighted(ctx context.Context, n, ty string) ([]route53dns.Record, error) {
	rs, err := d.fakeDNS.Weighted(ctx, n, ty)
	for i := range rs {
		rs[i].HealthCheck = ""
	}
	return rs, err
}

// Route 53 judges such a record by its ALB's targets, which the function
// cannot read: a transition to it is refused, not run on an assumed
// "healthy" that would let it succeed while Route 53 answers with blue.
func TestShiftRefusesARecordWithoutHealthCheck(t *testing.T) {
	r := newRig(t)
	r.h.DNS = aliasDNS{r.dns}
	r.command(t, event.ShiftCommand{Record: "www.example.com", From: "blue", To: "green", Action: event.CommandStart})
	if s := r.state(t); s.Active() || len(r.dns.log) != 0 {
		t.Errorf("a start without health checks: active %v, changes %v; want refused", s.Active(), r.dns.log)
	}
}

// A health check removed from To's record while a transition runs leaves
// To unread: after the unread timeout the transition rolls back.
func TestShiftRollsBackWhenToLosesItsHealthCheck(t *testing.T) {
	r := newRig(t)
	r.command(t, event.ShiftCommand{Record: "www.example.com", From: "blue", To: "green", Action: event.CommandStart})
	r.wake(t)
	r.h.DNS = aliasDNS{r.dns}
	s := r.runUntilDone(t)
	if s.Outcome != stampshift.RolledBack || !strings.Contains(s.Reason, "green health unread") {
		t.Errorf("outcome %s (%s), want rolled back on green's unread health", s.Outcome, s.Reason)
	}
}

// Every turn schedules a wake-up; only the one the record waits for acts,
// so commands do not multiply the polling chains.
func TestShiftWakeUpsDoNotMultiply(t *testing.T) {
	r := newRig(t)
	r.command(t, event.ShiftCommand{Record: "www.example.com", From: "blue", To: "green", Action: event.CommandStart})
	r.clk.Set(r.clk.Now().Add(10 * time.Second))
	r.command(t, event.ShiftCommand{Record: "www.example.com", Action: event.CommandPause})
	r.clk.Set(r.clk.Now().Add(10 * time.Second))
	r.command(t, event.ShiftCommand{Record: "www.example.com", Action: event.CommandResume})
	stale := r.wakes.at[0]
	before := r.state(t)
	r.clk.Set(stale)
	deliverTick(t, r, stale)
	if got := r.state(t); got.Seen != before.Seen || len(r.wakes.at) != 3 {
		t.Errorf("a superseded wake-up acted: seen %s -> %s, %d wake-ups scheduled, want 3", before.Seen, got.Seen, len(r.wakes.at))
	}
	r.wake(t)
	if got := r.state(t); !got.Seen.After(before.Seen) {
		t.Errorf("the record's own wake-up did not act")
	}
}

// A command delivered twice acts once; a command sent before the last
// one applied is stale.
func TestShiftCommandsOnce(t *testing.T) {
	r := newRig(t)
	r.command(t, event.ShiftCommand{Record: "www.example.com", From: "blue", To: "green", Action: event.CommandStart})
	pause, _ := event.ShiftCommandBody(event.ShiftCommand{Record: "www.example.com", Action: event.CommandPause}, r.clk.Now())
	lateResume, _ := event.ShiftCommandBody(event.ShiftCommand{Record: "www.example.com", Action: event.CommandResume}, r.clk.Now().Add(-time.Minute))
	for _, body := range [][]byte{pause, lateResume, pause} {
		if err := r.h.Handle(t.Context(), body); err != nil {
			t.Fatal(err)
		}
	}
	if s := r.state(t); !s.Paused {
		t.Errorf("paused %v: a late resume (sent before the pause) was applied", s.Paused)
	}
}

// The floor is held on the group that serves after a blue/green promotion.
func TestShiftRaisesTheServingGroup(t *testing.T) {
	r := newRig(t)
	ro := rollout.State{ID: "r1", Phase: rollout.PhaseDone, Strategy: rollout.StrategyBlueGreen, Live: "green-web-peer"}
	data, _ := json.Marshal(ro)
	if err := r.states["green"].Save(t.Context(), rollout.Key("web"), data, 0); err != nil {
		t.Fatal(err)
	}
	if got := ro.Serving("green-web"); got != "green-web-peer" {
		t.Skipf("rollout.State.Serving gives %s for this record; the test's rollout record is wrong", got)
	}
	r.command(t, event.ShiftCommand{Record: "www.example.com", From: "blue", To: "green", Action: event.CommandStart})
	if len(r.green.groups) == 0 || r.green.groups[len(r.green.groups)-1] != "green-web-peer" {
		t.Errorf("groups sized %v, want green-web-peer", r.green.groups)
	}
}

func deliverTick(t *testing.T, r *rig, at time.Time) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"version": "0", "id": "w" + at.Format(time.RFC3339Nano), "source": "stampkit", "detail-type": "Tick",
		"account": "", "region": "", "time": at.Format(time.RFC3339), "resources": []string{},
		"detail": map[string]string{"at": at.Format(time.RFC3339Nano), "key": stampshift.Key("www.example.com.")}})
	if err := r.h.Handle(t.Context(), body); err != nil {
		t.Fatalf("tick at %s: %v", at, err)
	}
}
