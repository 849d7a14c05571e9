package shifter_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/stampkit/stampkit/shared/clock"
	"github.com/stampkit/stampkit/shared/config"
	"github.com/stampkit/stampkit/shared/cwalarm"
	"github.com/stampkit/stampkit/shared/event"
	"github.com/stampkit/stampkit/shared/logging"
	"github.com/stampkit/stampkit/shared/memstore"
	"github.com/stampkit/stampkit/shared/route53dns"
	"github.com/stampkit/stampkit/shared/scaler"
	"github.com/stampkit/stampkit/shared/scaling"
	"github.com/stampkit/stampkit/shared/shifter"
	"github.com/stampkit/stampkit/shared/stampshift"
)

// fakeDNS is a hosted zone whose changes go INSYNC at the first GetChange
// after pending (as AWS: PENDING first, then INSYNC).
type fakeDNS struct {
	weights map[string]int64
	changes int
	pending map[string]int
	healthy map[string]bool
	refuse  int
	// throttle fails the next n changes as throttled past the SDK's
	// retries (not refused: Route 53 did not judge the batch).
	throttle int
	log      []string
}

func (d *fakeDNS) Weighted(context.Context, string, string) ([]route53dns.Record, error) {
	var out []route53dns.Record
	for s, w := range d.weights {
		out = append(out, route53dns.Record{Stamp: s, Weight: w, HealthCheck: "hc-" + s})
	}
	return out, nil
}

func (d *fakeDNS) SetWeights(_ context.Context, _ []route53dns.Record, w map[string]int64, _ string) (string, error) {
	if d.refuse > 0 {
		d.refuse--
		return "", fmt.Errorf("changing weights: %w", route53dns.ErrChangeRefused)
	}
	if d.throttle > 0 {
		d.throttle--
		return "", errors.New("changing weights: operation error Route 53: ChangeResourceRecordSets, Throttling: Rate exceeded")
	}
	maps.Copy(d.weights, w)
	d.changes++
	id := fmt.Sprintf("C%d", d.changes)
	d.pending[id] = 1
	d.log = append(d.log, fmt.Sprintf("change %s blue=%d green=%d", id, w["blue"], w["green"]))
	return id, nil
}

func (d *fakeDNS) ChangeInSync(_ context.Context, id string) (bool, error) {
	if d.pending[id] > 0 {
		d.pending[id]--
		return false, nil
	}
	return true, nil
}

func (d *fakeDNS) Healthy(_ context.Context, hc string) (bool, error) { return d.healthy[hc], nil }

type fakeStamp struct {
	name    string
	firing  bool
	group   scaling.Group
	desired []int
	// groups are the groups whose desired capacity was set.
	groups []string
	params *[]string
}

func (f *fakeStamp) Alarms(_ context.Context, names []string) ([]cwalarm.Alarm, error) {
	var out []cwalarm.Alarm
	for _, n := range names {
		st := cwalarm.StateOK
		if f.firing {
			st = cwalarm.StateAlarm
		}
		out = append(out, cwalarm.Alarm{Name: n, State: st})
	}
	return out, nil
}

func (f *fakeStamp) Capacity(context.Context, string) (scaling.Group, error) { return f.group, nil }

func (f *fakeStamp) SetDesiredCapacity(_ context.Context, group string, n int) error {
	f.desired = append(f.desired, n)
	f.groups = append(f.groups, group)
	f.group.Desired, f.group.InService = n, n
	return nil
}

func (f *fakeStamp) Put(_ context.Context, name, value string) error {
	*f.params = append(*f.params, name+"="+value)
	return nil
}

type wakes struct{ at []time.Time }

func (w *wakes) WakeAt(_ context.Context, _ string, at time.Time) error {
	w.at = append(w.at, at)
	return nil
}

type rig struct {
	h       *shifter.Handler
	clk     *clock.Manual
	dns     *fakeDNS
	blue    *fakeStamp
	green   *fakeStamp
	states  map[string]*memstore.Store
	params  []string
	wakes   *wakes
	store   *memstore.Store
	metrics bytes.Buffer
}

func newRig(t *testing.T) *rig {
	cfg, err := config.DecodeShift([]byte(`{"record":"www.example.com.","hostedZoneId":"Z1","ttl":"60s","bake":"4m",
	  "steps":[10,50,100],"table":"shift","stamps":[
	  {"name":"blue","region":"us-east-1","fleet":"web","group":"blue-web","weightParameter":"/blue/w","stateTable":"blue-state","healthAlarms":["blue-5xx"]},
	  {"name":"green","region":"eu-west-1","fleet":"web","group":"green-web","weightParameter":"/green/w","stateTable":"green-state","healthAlarms":["green-5xx"]}]}`), "shift.json")
	if err != nil {
		t.Fatal(err)
	}
	clk := clock.NewManual(time.Date(2026, 12, 9, 9, 0, 0, 0, time.UTC))
	r := &rig{clk: clk, wakes: &wakes{}, states: map[string]*memstore.Store{}}
	r.dns = &fakeDNS{weights: map[string]int64{"blue": 100, "green": 0}, pending: map[string]int{},
		healthy: map[string]bool{"hc-blue": true, "hc-green": true}}
	r.blue = &fakeStamp{name: "blue", group: scaling.Group{Min: 1, Max: 20, Desired: 8, InService: 8}, params: &r.params}
	r.green = &fakeStamp{name: "green", group: scaling.Group{Min: 1, Max: 20, Desired: 1, InService: 1}, params: &r.params}
	stamps := map[string]shifter.Stamp{}
	for _, f := range []*fakeStamp{r.blue, r.green} {
		r.states[f.name] = memstore.New(clk)
		stamps[f.name] = shifter.Stamp{Alarms: f, Groups: f, Parameters: f, State: r.states[f.name]}
	}
	r.store = memstore.New(clk)
	r.h = &shifter.Handler{Config: cfg, DNS: r.dns, Store: r.store, Scheduler: r.wakes, Stamps: stamps, Clock: clk,
		Log: slog.New(slog.DiscardHandler), Metrics: logging.NewMetrics(&r.metrics, "Test", clk.Now), LeaseWait: -1}
	return r
}

func (r *rig) command(t *testing.T, c event.ShiftCommand) {
	t.Helper()
	body, err := event.ShiftCommandBody(c, r.clk.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := r.h.Handle(t.Context(), body); err != nil {
		t.Fatalf("%s: %v", c.Action, err)
	}
}

// wake delivers the last scheduled wake-up at its time.
func (r *rig) wake(t *testing.T) {
	t.Helper()
	at := r.wakes.at[len(r.wakes.at)-1]
	r.clk.Set(at)
	body, _ := json.Marshal(map[string]any{"version": "0", "id": "w" + at.Format(time.RFC3339), "source": "stampkit", "detail-type": "Tick",
		"account": "", "region": "", "time": at.Format(time.RFC3339), "resources": []string{},
		"detail": map[string]string{"at": at.Format(time.RFC3339), "key": stampshift.Key("www.example.com.")}})
	if err := r.h.Handle(t.Context(), body); err != nil {
		t.Fatalf("wake at %s: %v", at, err)
	}
}

func (r *rig) state(t *testing.T) stampshift.State {
	data, _, err := r.store.Load(t.Context(), stampshift.Key("www.example.com."))
	if err != nil {
		t.Fatal(err)
	}
	var s stampshift.State
	if err := json.Unmarshal(data, &s); err != nil {
		t.Fatal(err)
	}
	return s
}

func (r *rig) runUntilDone(t *testing.T) stampshift.State {
	for range 100 {
		if s := r.state(t); !s.Active() {
			return s
		}
		r.wake(t)
	}
	t.Fatalf("still running: %+v", r.state(t))
	return stampshift.State{}
}

func TestShiftRollsBackOnAlarm(t *testing.T) {
	r := newRig(t)
	r.command(t, event.ShiftCommand{Record: "www.example.com", From: "blue", To: "green", Action: event.CommandStart})
	// Green carries 1 of the 8 the 10 % step needs of blue's 8... 1: it
	// goes at once, and green is raised ahead to 4 for the 50 % step.
	for r.state(t).Shifted < 50 {
		r.wake(t)
	}
	r.green.firing = true
	s := r.runUntilDone(t)
	if s.Outcome != stampshift.RolledBack || s.Reason != "green alarms in ALARM: green-5xx" {
		t.Fatalf("outcome %s (%s), want rolled_back on green-5xx", s.Outcome, s.Reason)
	}
	want := []string{"change C1 blue=90 green=10", "change C2 blue=50 green=50", "change C3 blue=100 green=0"}
	if diff := cmp.Diff(want, r.dns.log); diff != "" {
		t.Errorf("changes (-want +got):\n%s", diff)
	}
	// Each stamp's weight parameter is written once Route 53 accepted each change.
	wantParams := []string{"/blue/w=90", "/green/w=10", "/blue/w=50", "/green/w=50", "/blue/w=100", "/green/w=0"}
	if diff := cmp.Diff(wantParams, sortPairs(r.params)); diff != "" {
		t.Errorf("weight parameters (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]int{4, 8}, r.green.desired); diff != "" {
		t.Errorf("green desired capacity raised (-want +got):\n%s", diff)
	}
	// The transition held green's floor apart from the forecast's, and
	// released it when it ended.
	raw, _, _ := r.states["green"].Load(t.Context(), scaler.StateKey("web"))
	var st scaling.State
	if err := json.Unmarshal(raw, &st); err != nil || st.FloorAt(r.clk.Now()) != 0 || st.Floor != 0 {
		t.Errorf("green scaler state %s: want the shift's floor released and the forecast's untouched", raw)
	}
}

func TestShiftCommands(t *testing.T) {
	r := newRig(t)
	start := event.ShiftCommand{Record: "www.example.com.", From: "blue", To: "green", Action: event.CommandStart}
	r.command(t, start)
	r.command(t, start) // a resent start: no second transition, no second change
	if len(r.dns.log) != 1 {
		t.Errorf("changes after two starts: %v, want one", r.dns.log)
	}
	r.command(t, event.ShiftCommand{Record: "www.example.com.", Action: event.CommandPromote})
	s := r.runUntilDone(t)
	if s.Outcome != stampshift.Succeeded || r.dns.weights["green"] != 100 || r.dns.weights["blue"] != 0 {
		t.Errorf("outcome %s, weights %v; want succeeded with all on green", s.Outcome, r.dns.weights)
	}
	r.command(t, event.ShiftCommand{Record: "www.example.com.", Action: event.CommandAbort}) // late: ignored
	if got := r.state(t); got.Outcome != stampshift.Succeeded {
		t.Errorf("a late abort changed the finished transition: %s", got.Outcome)
	}
	r.command(t, event.ShiftCommand{Record: "api.example.com.", From: "blue", To: "green", Action: event.CommandStart})
	if got := r.state(t); got.From != "blue" || got.Active() {
		t.Errorf("a command for another record started something: %+v", got)
	}
}

func TestShiftLease(t *testing.T) {
	r := newRig(t)
	if ok, _ := r.store.Claim(t.Context(), shifter.LeaseKey("www.example.com."), "other", time.Minute); !ok {
		t.Fatal("claiming the lease")
	}
	body, _ := event.ShiftCommandBody(event.ShiftCommand{Record: "www.example.com.", From: "blue", To: "green", Action: event.CommandStart}, r.clk.Now())
	if err := r.h.Handle(t.Context(), body); !errors.Is(err, shifter.ErrBusy) {
		t.Fatalf("Handle while another holds the record: %v, want ErrBusy", err)
	}
	if len(r.dns.log) != 0 {
		t.Errorf("changed weights without the lease: %v", r.dns.log)
	}
}

// sortPairs orders each change's two parameter writes blue first (a map's
// order).
func sortPairs(p []string) []string {
	out := append([]string(nil), p...)
	for i := 0; i+1 < len(out); i += 2 {
		if out[i][1] == 'g' {
			out[i], out[i+1] = out[i+1], out[i]
		}
	}
	return out
}
