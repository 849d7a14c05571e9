package scaler_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/stampkit/stampkit/shared/clock"
	"github.com/stampkit/stampkit/shared/config"
	"github.com/stampkit/stampkit/shared/logging"
	"github.com/stampkit/stampkit/shared/memstore"
	"github.com/stampkit/stampkit/shared/rollout"
	"github.com/stampkit/stampkit/shared/scaler"
	"github.com/stampkit/stampkit/shared/scaling"
)

var t0 = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

// fakeGroups is an Auto Scaling group that records every capacity change.
type fakeGroups struct {
	groups map[string]*scaling.Group
	sets   []string // "group=desired"
	fail   error
}

func (f *fakeGroups) Capacity(_ context.Context, group string) (scaling.Group, error) {
	g, ok := f.groups[group]
	if !ok {
		return scaling.Group{}, fmt.Errorf("group %s not found", group)
	}
	return *g, nil
}

func (f *fakeGroups) SetDesiredCapacity(_ context.Context, group string, desired int) error {
	if f.fail != nil {
		return f.fail
	}
	f.sets = append(f.sets, fmt.Sprintf("%s=%d", group, desired))
	// Instances come into service at once, so only the claim, not warm-up
	// or in-flight accounting, can stop a duplicate from scaling again.
	f.groups[group].Desired = desired
	f.groups[group].InService = desired
	return nil
}

type fakeAlarms struct{ signals []scaling.Signal }

func (f *fakeAlarms) Signals(_ context.Context, names []string) ([]scaling.Signal, error) {
	var out []scaling.Signal
	for _, s := range f.signals {
		for _, n := range names {
			if s.Alarm == n {
				out = append(out, s)
			}
		}
	}
	return out, nil
}

type rig struct {
	h      *scaler.Handler
	groups *fakeGroups
	alarms *fakeAlarms
	store  *memstore.Store
	clock  *clock.Manual
	logs   *bytes.Buffer
}

func newRig(t testing.TB, dryRun bool) *rig {
	t.Helper()
	clk := clock.NewManual(t0)
	logs := &bytes.Buffer{}
	r := &rig{
		groups: &fakeGroups{groups: map[string]*scaling.Group{
			"web-asg":   {Min: 1, Max: 20, Desired: 4, InService: 4},
			"web-green": {Min: 0, Max: 20, Desired: 4, InService: 4},
		}},
		alarms: &fakeAlarms{},
		store:  memstore.New(clk),
		clock:  clk,
		logs:   logs,
	}
	cfg := config.Config{Table: "state", Fleets: []config.Fleet{{
		Name: "web", Group: "web-asg", DryRun: dryRun,
		Scaling: scaling.Policy{
			Min: 2, Max: 20,
			ScaleOutCooldown: clock.Duration(time.Minute), ScaleInCooldown: clock.Duration(5 * time.Minute),
			Warmup: clock.Duration(3 * time.Minute), ScaleInHold: clock.Duration(5 * time.Minute),
			Rules: []scaling.Rule{
				{Alarm: "web-high", Direction: scaling.Out, AdjustmentType: scaling.ChangeInCapacity, Steps: []scaling.Step{{Upper: 20, Adjustment: 1}, {Lower: 20, Adjustment: 4}}},
				{Alarm: "web-low", Direction: scaling.In, AdjustmentType: scaling.ChangeInCapacity, Steps: []scaling.Step{{Adjustment: 1}}},
			},
		},
	}}}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("test config: %v", err)
	}
	r.h = &scaler.Handler{
		Config: cfg, Groups: r.groups, Alarms: r.alarms, Store: r.store, Clock: clk,
		Log:     logging.New(logs, slog.LevelDebug),
		Metrics: logging.NewMetrics(logs, "Stampkit", clk.Now),
	}
	return r
}

// alarmEvent is an EventBridge "CloudWatch Alarm State Change" in the shape
// of AWS's published sample (see shared/event/testdata/events).
func alarmEvent(id, alarm, state string, at time.Time, value, threshold float64) json.RawMessage {
	reason := fmt.Sprintf(`{"version":"1.0","statistic":"Average","period":60,"recentDatapoints":[%g],"threshold":%g}`, value, threshold)
	reasonJSON, _ := json.Marshal(reason)
	return json.RawMessage(fmt.Sprintf(`{
  "version": "0", "id": %q, "detail-type": "CloudWatch Alarm State Change", "source": "aws.cloudwatch",
  "account": "111111111111", "time": %q, "region": "us-east-1",
  "resources": ["arn:aws:cloudwatch:us-east-1:111111111111:alarm:%s"],
  "detail": {
    "alarmName": %q,
    "state": {"value": %q, "reason": "Threshold Crossed", "reasonData": %s, "timestamp": %q},
    "previousState": {"value": "OK", "reason": "ok", "timestamp": %q},
    "configuration": {"metrics": [{"id": "m1", "metricStat": {"metric": {"namespace": "AWS/EC2", "name": "CPUUtilization", "dimensions": {}}, "period": 60, "stat": "Average"}, "returnData": true}]}
  }
}`, id, at.Format(time.RFC3339), alarm, alarm, state, reasonJSON, at.Format("2006-01-02T15:04:05.000-0700"), at.Add(-time.Hour).Format("2006-01-02T15:04:05.000-0700")))
}

func tickEvent(id string, at time.Time) json.RawMessage {
	return json.RawMessage(fmt.Sprintf(`{"version":"0","id":%q,"detail-type":"Scheduled Event","source":"aws.events","account":"111111111111","time":%q,"region":"us-east-1","resources":["arn:aws:events:us-east-1:111111111111:rule/tick"],"detail":{}}`,
		id, at.Format(time.RFC3339)))
}

func (r *rig) handle(t *testing.T, raw json.RawMessage) error {
	t.Helper()
	return r.h.Handle(t.Context(), raw)
}

func TestAlarmScalesOut(t *testing.T) {
	r := newRig(t, false)
	if err := r.handle(t, alarmEvent("e1", "web-high", "ALARM", t0, 95, 60)); err != nil {
		t.Fatalf("Handle: %v", err)
	}
	if got, want := strings.Join(r.groups.sets, ","), "web-asg=8"; got != want {
		t.Errorf("capacity changes = %q, want %q", got, want)
	}
	for _, want := range []string{`"msg":"scaling decision"`, `"fleet":"web"`, `"event_id":"e1"`, `"asg_name":"web-asg"`, `"CapacityDelta":4`} {
		if !strings.Contains(r.logs.String(), want) {
			t.Errorf("logs lack %s:\n%s", want, r.logs.String())
		}
	}
}

func TestDuplicatesAndReorderingActOnce(t *testing.T) {
	r := newRig(t, false)
	high := alarmEvent("e1", "web-high", "ALARM", t0, 70, 60)
	ok := alarmEvent("e2", "web-high", "OK", t0.Add(2*time.Minute), 50, 60)
	// Delivered: OK first (reordered), then the ALARM it followed, then both again.
	for i, raw := range []json.RawMessage{ok, high, ok, high} {
		r.clock.Set(t0.Add(3*time.Minute + time.Duration(i)*time.Second))
		if err := r.handle(t, raw); err != nil {
			t.Fatalf("delivery %d: %v", i, err)
		}
	}
	if len(r.groups.sets) != 0 {
		t.Errorf("capacity changes = %v, want none: the ALARM was superseded by a later OK", r.groups.sets)
	}

	r2 := newRig(t, false)
	r2.h.Config.Fleets[0].Scaling.ScaleOutCooldown = 0
	r2.h.Config.Fleets[0].Scaling.Warmup = 0
	for i := range 3 {
		if err := r2.handle(t, high); err != nil {
			t.Fatalf("delivery %d: %v", i, err)
		}
	}
	if got, want := strings.Join(r2.groups.sets, ","), "web-asg=5"; got != want {
		t.Errorf("capacity changes after 3 identical deliveries = %q, want %q", got, want)
	}
	if !strings.Contains(r2.logs.String(), "duplicate delivery") {
		t.Errorf("duplicate deliveries were not logged")
	}
}

func TestFailedChangeIsRetryable(t *testing.T) {
	r := newRig(t, false)
	// Auto Scaling refused it: nothing changed.
	r.groups.fail = &smithy.GenericAPIError{Code: "ScalingActivityInProgress", Message: "Scaling activity is in progress", Fault: smithy.FaultClient}
	ev := alarmEvent("e1", "web-high", "ALARM", t0, 70, 60)
	if err := r.handle(t, ev); err == nil || !strings.Contains(err.Error(), "setting desired capacity of web-asg to 5") {
		t.Fatalf("Handle = %v, want the failed change named", err)
	}
	r.groups.fail = nil
	if err := r.handle(t, ev); err != nil {
		t.Fatalf("retry: %v", err)
	}
	if got, want := strings.Join(r.groups.sets, ","), "web-asg=5"; got != want {
		t.Errorf("capacity changes after retry = %q, want %q (the claim must be released on failure)", got, want)
	}
}

func TestTickReevaluatesHeldAlarms(t *testing.T) {
	r := newRig(t, false)
	r.alarms.signals = []scaling.Signal{
		{Alarm: "web-low", State: scaling.StateAlarm, Value: 10, Threshold: 30, Since: t0},
		{Alarm: "web-high", State: scaling.StateOK, Since: t0},
	}
	steps := []struct {
		at   time.Time
		id   string
		want string
	}{
		{at: t0.Add(2 * time.Minute), id: "tick-1", want: ""},                          // hold not over
		{at: t0.Add(5*time.Minute + 10*time.Second), id: "tick-2", want: "web-asg=3"},  // hold over
		{at: t0.Add(5*time.Minute + 20*time.Second), id: "tick-2b", want: "web-asg=3"}, // same window: duplicate
		{at: t0.Add(6 * time.Minute), id: "tick-3", want: "web-asg=3"},                 // cooldown
		{at: t0.Add(11 * time.Minute), id: "tick-4", want: "web-asg=3,web-asg=2"},      // after cooldown
		{at: t0.Add(17 * time.Minute), id: "tick-5", want: "web-asg=3,web-asg=2"},      // at min
	}
	for _, st := range steps {
		r.clock.Set(st.at)
		if err := r.handle(t, tickEvent(st.id, st.at)); err != nil {
			t.Fatalf("%s: %v", st.id, err)
		}
		if got := strings.Join(r.groups.sets, ","); got != st.want {
			t.Errorf("after %s at %s: capacity changes = %q, want %q", st.id, st.at.Format(time.Kitchen), got, st.want)
		}
	}
}

func TestDryRunChangesNothing(t *testing.T) {
	r := newRig(t, true)
	if err := r.handle(t, alarmEvent("e1", "web-high", "ALARM", t0, 95, 60)); err != nil {
		t.Fatalf("Handle: %v", err)
	}
	if len(r.groups.sets) != 0 {
		t.Errorf("dry run changed capacity: %v", r.groups.sets)
	}
	if !strings.Contains(r.logs.String(), `"dry_run":true`) || !strings.Contains(r.logs.String(), `"to":8`) {
		t.Errorf("dry run did not log the decision it would take:\n%s", r.logs.String())
	}
}

func TestRolloutHoldRoutesScaleOutAndPausesScaleIn(t *testing.T) {
	r := newRig(t, false)
	// A blue/green rollout retaining the old group: green serves, and the
	// rollout wakes again in 45 minutes, so its hold lasts past the low alarm.
	rec, _ := json.Marshal(rollout.State{
		Fleet: "web", ID: "r1", Strategy: rollout.StrategyBlueGreen, Phase: rollout.PhaseRetain,
		From: rollout.Side{Group: "web-asg"}, To: rollout.Side{Group: "web-green"},
		WakeAt: t0.Add(45 * time.Minute),
	})
	if err := r.store.Save(t.Context(), rollout.Key("web"), rec, 0); err != nil {
		t.Fatalf("writing rollout record: %v", err)
	}
	if err := r.handle(t, alarmEvent("e1", "web-high", "ALARM", t0, 70, 60)); err != nil {
		t.Fatalf("Handle: %v", err)
	}
	r.clock.Set(t0.Add(30 * time.Minute))
	if err := r.handle(t, alarmEvent("e2", "web-low", "ALARM", t0.Add(10*time.Minute), 5, 30)); err != nil {
		t.Fatalf("Handle: %v", err)
	}
	if got, want := strings.Join(r.groups.sets, ","), "web-green=5"; got != want {
		t.Errorf("capacity changes = %q, want %q", got, want)
	}
}

func TestRejectsAndIgnores(t *testing.T) {
	tests := []struct {
		name    string
		raw     string
		wantErr bool
	}{
		{name: "not JSON", raw: `{"source":`, wantErr: true},
		{name: "alarm event without detail", raw: `{"version":"0","id":"x","detail-type":"CloudWatch Alarm State Change","source":"aws.cloudwatch","time":"2026-11-25T12:00:00Z"}`, wantErr: true},
		{name: "unknown kind", raw: `{"version":"0","id":"x","detail-type":"Something Else","source":"aws.whatever","time":"2026-11-25T12:00:00Z","detail":{}}`},
		{name: "alarm of no fleet", raw: string(alarmEvent("e9", "other-alarm", "ALARM", t0, 99, 1))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, false)
			err := r.handle(t, json.RawMessage(tt.raw))
			if (err != nil) != tt.wantErr {
				t.Errorf("Handle error = %v, wantErr %v", err, tt.wantErr)
			}
			if len(r.groups.sets) != 0 {
				t.Errorf("capacity changed: %v", r.groups.sets)
			}
		})
	}
}

// A duplicated tick that arrives after an alarm went into ALARM must not
// evaluate its window again: the first copy already did, with the alarm OK.
func TestDuplicateTickAfterStateChangeDoesNothing(t *testing.T) {
	r := newRig(t, false)
	r.h.Config.Fleets[0].Scaling.ScaleInHold = 0
	tick := tickEvent("tick-1", t0)
	r.alarms.signals = []scaling.Signal{{Alarm: "web-low", State: scaling.StateOK, Since: t0.Add(-time.Hour)}}
	if err := r.handle(t, tick); err != nil {
		t.Fatalf("first tick: %v", err)
	}
	r.alarms.signals = []scaling.Signal{{Alarm: "web-low", State: scaling.StateAlarm, Value: 5, Threshold: 30, Since: t0.Add(20 * time.Second)}}
	r.clock.Set(t0.Add(40 * time.Second))
	if err := r.handle(t, tick); err != nil {
		t.Fatalf("duplicate tick: %v", err)
	}
	if len(r.groups.sets) != 0 {
		t.Errorf("capacity changes = %v, want none from a duplicated tick", r.groups.sets)
	}
}

// After a blue/green rollout the peer group serves the fleet; with no hold
// left, the scaler must follow the rollout record to it.
func TestScalesTheGroupARolloutLeftServing(t *testing.T) {
	r := newRig(t, false)
	rec, _ := json.Marshal(rollout.State{Fleet: "web", Live: "web-green"})
	if err := r.store.Save(t.Context(), rollout.Key("web"), rec, 0); err != nil {
		t.Fatalf("writing rollout record: %v", err)
	}
	if err := r.handle(t, alarmEvent("e1", "web-high", "ALARM", t0, 70, 60)); err != nil {
		t.Fatalf("Handle: %v", err)
	}
	if got, want := strings.Join(r.groups.sets, ","), "web-green=5"; got != want {
		t.Errorf("capacity changes = %q, want %q", got, want)
	}
}

// racingStore lets another decision save the fleet's scaler state between
// this decision's load and its save, once.
type racingStore struct {
	*memstore.Store
	rival scaling.State
	raced bool
}

func (s *racingStore) Save(ctx context.Context, key string, data []byte, version int64) error {
	if key == scaler.StateKey("web") && !s.raced {
		s.raced = true
		buf, _ := json.Marshal(s.rival)
		if err := s.Store.Save(ctx, key, buf, version); err != nil {
			return err
		}
	}
	return s.Store.Save(ctx, key, data, version)
}

func TestLostSaveRaceMergesInsteadOfRepeatingTheChange(t *testing.T) {
	r := newRig(t, false)
	rival := scaling.State{Seen: map[string]scaling.Seen{"web-high": {State: scaling.StateOK, Since: t0.Add(-20 * time.Minute)}}}
	store := &racingStore{Store: r.store, rival: rival}
	r.h.Store = store
	low := t0.Add(-10 * time.Minute) // held past ScaleInHold
	if err := r.handle(t, alarmEvent("e1", "web-low", "ALARM", low, 5, 30)); err != nil {
		t.Fatalf("Handle: %v (an applied change must not fail on a lost save race)", err)
	}
	if !store.raced {
		t.Fatal("the rival decision never saved: the test proves nothing")
	}
	// A re-evaluation a second later must see the scale-in and its cooldown.
	r.clock.Set(t0.Add(time.Second))
	if err := r.handle(t, alarmEvent("e2", "web-low", "ALARM", low, 5, 30)); err != nil {
		t.Fatalf("second Handle: %v", err)
	}
	if got, want := strings.Join(r.groups.sets, ","), "web-asg=3"; got != want {
		t.Errorf("capacity changes = %q, want %q", got, want)
	}
	data, _, err := r.store.Load(t.Context(), scaler.StateKey("web"))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	var got scaling.State
	if err := json.Unmarshal(data, &got); err != nil {
		t.Fatalf("decoding state: %v", err)
	}
	if !got.LastScaleIn.Equal(t0) || got.Seen["web-high"] != rival.Seen["web-high"] || !got.Seen["web-low"].Since.Equal(low) {
		t.Errorf("stored state = %+v; want the scale-in at %s merged with the rival's web-high signal", got, t0.Format(time.Kitchen))
	}
}

// brokenSaves fails every save of the fleet's scaler state.
type brokenSaves struct{ *memstore.Store }

func (s brokenSaves) Save(ctx context.Context, key string, data []byte, version int64) error {
	if key == scaler.StateKey("web") {
		return errors.New("ProvisionedThroughputExceededException")
	}
	return s.Store.Save(ctx, key, data, version)
}

func TestUnsavedStateDoesNotRepeatTheChange(t *testing.T) {
	r := newRig(t, false)
	r.h.Store = brokenSaves{r.store}
	ev := alarmEvent("e1", "web-high", "ALARM", t0, 70, 60)
	if err := r.handle(t, ev); err != nil {
		t.Fatalf("Handle: %v (an applied change must not fail the invocation and be retried)", err)
	}
	if err := r.handle(t, ev); err != nil {
		t.Fatalf("redelivery: %v", err)
	}
	if got, want := strings.Join(r.groups.sets, ","), "web-asg=5"; got != want {
		t.Errorf("capacity changes = %q, want %q", got, want)
	}
	for _, want := range []string{"state not saved", `"StateNotSaved":1`} {
		if !strings.Contains(r.logs.String(), want) {
			t.Errorf("logs lack %s:\n%s", want, r.logs.String())
		}
	}
}

// losingGroups applies every capacity change and then, as a connection
// reset after the request reached Auto Scaling would, fails it.
type losingGroups struct{ *fakeGroups }

func (g losingGroups) SetDesiredCapacity(ctx context.Context, group string, desired int) error {
	if err := g.fakeGroups.SetDesiredCapacity(ctx, group, desired); err != nil {
		return err
	}
	return &smithy.OperationError{ServiceID: "Auto Scaling", OperationName: "SetDesiredCapacity",
		Err: &smithyhttp.RequestSendError{Err: &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}}}
}

// TestLostResponseIsNotAppliedTwice: a change whose response was lost may
// well have landed. Failed, the invocation would be retried by Lambda a
// minute and then two minutes later, and a retry past the scale-out's
// warm-up (or the scale-in's held alarm) would decide again on the same
// signal and step a second time. The change is kept as made instead: on
// record, with its claim, so a redelivery of the event is a duplicate.
func TestLostResponseIsNotAppliedTwice(t *testing.T) {
	tests := []struct {
		name string
		ev   json.RawMessage
		want string
	}{
		{"scale-out", alarmEvent("e1", "web-high", "ALARM", t0, 70, 60), "web-asg=5"},
		// Held past ScaleInHold.
		{"scale-in", alarmEvent("e1", "web-low", "ALARM", t0.Add(-10*time.Minute), 5, 30), "web-asg=3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, false)
			r.h.Groups = losingGroups{r.groups}
			err := r.handle(t, tt.ev)
			r.h.Groups = r.groups
			// Lambda's retries (had it failed), or EventBridge's duplicates.
			for _, after := range []time.Duration{time.Minute, 3 * time.Minute} {
				r.clock.Set(t0.Add(after))
				_ = r.handle(t, tt.ev)
			}
			if err != nil {
				t.Errorf("Handle: %v; want nil: a change that may have landed is kept as made", err)
			}
			if got := strings.Join(r.groups.sets, ","); got != tt.want {
				t.Errorf("capacity changes = %q, want %q: the decision was applied a second time", got, tt.want)
			}
			if !strings.Contains(r.logs.String(), "capacity change failed but the group has it: kept as made") {
				t.Errorf("logs lack the unanswered change:\n%s", r.logs.String())
			}
		})
	}
}

// deadlineGroups makes its change as the invocation's deadline passes.
type deadlineGroups struct {
	*fakeGroups
	expire context.CancelFunc
}

func (g deadlineGroups) SetDesiredCapacity(ctx context.Context, group string, desired int) error {
	defer g.expire()
	return g.fakeGroups.SetDesiredCapacity(ctx, group, desired)
}

// ctxStore fails every call on a context that has ended, as the DynamoDB
// client does.
type ctxStore struct{ *memstore.Store }

func (s ctxStore) Load(ctx context.Context, key string) ([]byte, int64, error) {
	if err := ctx.Err(); err != nil {
		return nil, 0, err
	}
	return s.Store.Load(ctx, key)
}

func (s ctxStore) Save(ctx context.Context, key string, data []byte, version int64) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.Store.Save(ctx, key, data, version)
}

// TestChangeAtTheDeadlineIsKeptOnRecord: a change made just as the
// invocation's time runs out is saved in the headroom the invocation
// keeps for it; unsaved, the next decision would make it again.
func TestChangeAtTheDeadlineIsKeptOnRecord(t *testing.T) {
	r := newRig(t, false)
	ctx, expire := context.WithCancel(t.Context())
	defer expire()
	r.h.Groups = deadlineGroups{fakeGroups: r.groups, expire: expire}
	r.h.Store = ctxStore{r.store}
	if err := r.h.Handle(ctx, alarmEvent("e1", "web-high", "ALARM", t0, 70, 60)); err != nil {
		t.Fatalf("Handle: %v (the change is made)", err)
	}
	data, _, err := r.store.Load(t.Context(), scaler.StateKey("web"))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	var got scaling.State
	if len(data) > 0 {
		if err := json.Unmarshal(data, &got); err != nil {
			t.Fatalf("decoding state: %v", err)
		}
	}
	if !got.LastScaleOut.Equal(t0) {
		t.Errorf("stored LastScaleOut = %v, want the change at %v on record", got.LastScaleOut, t0)
	}
}

// heldSave holds the first save of the fleet's scaler state until the
// invocation's context ends, as a DynamoDB call that never answers would;
// like an SDK client, it fails every call on a context that has ended.
type heldSave struct {
	*memstore.Store
	held bool
}

func (s *heldSave) Save(ctx context.Context, key string, data []byte, version int64) error {
	if key == scaler.StateKey("web") && !s.held {
		s.held = true
		<-ctx.Done()
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.Store.Save(ctx, key, data, version)
}

func (s *heldSave) Load(ctx context.Context, key string) ([]byte, int64, error) {
	if err := ctx.Err(); err != nil {
		return nil, 0, err
	}
	return s.Store.Load(ctx, key)
}

// A scale-out whose state save outlasted the invocation's deadline must
// still record its cooldown: the next tick, seeing the alarm still in
// ALARM, would otherwise scale out again. Found by the fault sweep
// (e2e/sweep: scale-out, a Lambda timeout on the state's PutItem).
func TestSaveThatOutlastsTheDeadlineStillRecordsTheChange(t *testing.T) {
	r := newRig(t, false)
	store := &heldSave{Store: r.store}
	r.h.Store = store
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	if err := r.h.Handle(ctx, alarmEvent("e1", "web-high", "ALARM", t0, 70, 60)); err != nil {
		t.Fatalf("Handle: %v (an applied change must not fail the invocation)", err)
	}
	if !store.held {
		t.Fatal("the save was never held: the test proves nothing")
	}
	r.alarms.signals = []scaling.Signal{{Alarm: "web-high", State: scaling.StateAlarm, Value: 70, Threshold: 60, Since: t0}}
	at := t0.Add(30 * time.Second) // within the one-minute scale-out cooldown
	r.clock.Set(at)
	if err := r.handle(t, tickEvent("tick-1", at)); err != nil {
		t.Fatalf("tick: %v", err)
	}
	if got, want := strings.Join(r.groups.sets, ","), "web-asg=5"; got != want {
		t.Errorf("capacity changes = %q, want %q (one scale-out, then the cooldown)", got, want)
	}
}

// answeredGroups makes the change or not, then fails with err: the SDK's
// last attempt's error, whatever the earlier attempts did.
type answeredGroups struct {
	*fakeGroups
	apply bool
	err   error
}

func (g answeredGroups) SetDesiredCapacity(ctx context.Context, group string, desired int) error {
	if g.apply {
		if err := g.fakeGroups.SetDesiredCapacity(ctx, group, desired); err != nil {
			return err
		}
	}
	return g.err
}

// TestFailedChangeIsJudgedByTheGroup: the SDK retries a capacity change
// itself, so the error it returns is its last attempt's. An earlier
// attempt may have landed (answer lost) before the last was throttled,
// and a 5xx may be a refusal (ResourceContention). The group says which.
func TestFailedChangeIsJudgedByTheGroup(t *testing.T) {
	throttled := &smithy.GenericAPIError{Code: "Throttling", Message: "Rate exceeded", Fault: smithy.FaultClient}
	contention := &smithy.GenericAPIError{Code: "ResourceContention", Message: "You already have a pending update", Fault: smithy.FaultServer}
	tests := []struct {
		name     string
		apply    bool
		err      error
		wantErr  bool
		wantSets string
	}{
		{"landed, then throttled", true, throttled, false, "web-asg=5"},
		{"refused with a 5xx", false, contention, true, "web-asg=5"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, false)
			r.h.Groups = answeredGroups{fakeGroups: r.groups, apply: tt.apply, err: tt.err}
			err := r.handle(t, alarmEvent("e1", "web-high", "ALARM", t0, 70, 60))
			if (err != nil) != tt.wantErr {
				t.Fatalf("Handle: got %v, want error %v", err, tt.wantErr)
			}
			// Lambda's retry of a failed invocation, or a duplicate.
			r.h.Groups = r.groups
			r.clock.Set(t0.Add(time.Minute))
			_ = r.handle(t, alarmEvent("e1", "web-high", "ALARM", t0, 70, 60))
			if got := strings.Join(r.groups.sets, ","); got != tt.wantSets {
				t.Errorf("capacity changes = %q, want %q (made once)", got, tt.wantSets)
			}
		})
	}
}
