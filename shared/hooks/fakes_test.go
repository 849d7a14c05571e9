package hooks_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stampkit/stampkit/shared/asg"
	"github.com/stampkit/stampkit/shared/clock"
	"github.com/stampkit/stampkit/shared/config"
	"github.com/stampkit/stampkit/shared/elb"
	"github.com/stampkit/stampkit/shared/hooks"
	"github.com/stampkit/stampkit/shared/lifecycle"
	"github.com/stampkit/stampkit/shared/logging"
	"github.com/stampkit/stampkit/shared/memstore"
	"github.com/stampkit/stampkit/shared/sqsqueue"
)

// Hand-written fakes of the handler's ports. Auto Scaling's
// CompleteLifecycleAction and RecordLifecycleActionHeartbeat have no
// emulator support (moto answers HTTP 500), so every test of what the
// handler sends to a hook goes through fakeHooks.

type fakeHooks struct {
	completions []asg.LifecycleCompletion
	heartbeats  []asg.LifecycleAction
	completeErr []error // returned by successive completions; nil entries succeed
	beatErr     error
}

func (f *fakeHooks) CompleteLifecycleAction(_ context.Context, c asg.LifecycleCompletion) error {
	f.completions = append(f.completions, c)
	if len(f.completeErr) > 0 {
		err := f.completeErr[0]
		f.completeErr = f.completeErr[1:]
		return err
	}
	return nil
}

func (f *fakeHooks) RecordHeartbeat(_ context.Context, l asg.LifecycleAction) error {
	f.heartbeats = append(f.heartbeats, l)
	return f.beatErr
}

type fakeGroups struct {
	groups    map[string]asg.Group
	describes int
	errs      []error // returned by successive calls; nil entries succeed
}

func (f *fakeGroups) Describe(_ context.Context, name string) (asg.Group, error) {
	f.describes++
	if len(f.errs) > 0 {
		err := f.errs[0]
		f.errs = f.errs[1:]
		if err != nil {
			return asg.Group{}, err
		}
	}
	g, ok := f.groups[name]
	if !ok {
		return asg.Group{}, fmt.Errorf("describing auto scaling group %s: %w", name, asg.ErrNotFound)
	}
	return g, nil
}

// fakeTargets behaves like ELB: a deregistered target drains, then
// disappears when drainFor has passed.
type fakeTargets struct {
	clock        clock.Clock
	delays       map[string]time.Duration
	health       map[string][]elb.Target
	drainFor     time.Duration
	deregistered map[string]time.Time // "arn|id" -> when
	calls        []string
	deregErr     error
}

func (f *fakeTargets) TargetHealth(_ context.Context, arn string) ([]elb.Target, error) {
	var out []elb.Target
	for _, t := range f.health[arn] {
		if at, ok := f.deregistered[arn+"|"+t.ID]; ok {
			if f.clock.Now().Sub(at) >= f.drainFor {
				continue
			}
			t.State = elb.StateDraining
		}
		out = append(out, t)
	}
	return out, nil
}

func (f *fakeTargets) Deregister(_ context.Context, arn, id string) error {
	f.calls = append(f.calls, "deregister "+arn+" "+id)
	if f.deregErr != nil {
		return f.deregErr
	}
	if f.deregistered == nil {
		f.deregistered = map[string]time.Time{}
	}
	if _, ok := f.deregistered[arn+"|"+id]; !ok {
		f.deregistered[arn+"|"+id] = f.clock.Now()
	}
	return nil
}

func (f *fakeTargets) DeregistrationDelay(_ context.Context, arn string) (time.Duration, error) {
	return f.delays[arn], nil
}

// fakeProber answers each probe from a script keyed by probe name: the
// status to give from a time on (the latest entry at or before now).
type fakeProber struct {
	clock  clock.Clock
	script map[string][]scripted
	calls  []string
	sent   int
}

type scripted struct {
	from   time.Time
	status lifecycle.Status
}

func (f *fakeProber) Probe(_ context.Context, id string, p lifecycle.Probe, commandID string) lifecycle.ProbeResult {
	f.calls = append(f.calls, p.Name)
	now := f.clock.Now()
	status := lifecycle.Pending
	for _, s := range f.script[p.Name] {
		if !now.Before(s.from) {
			status = s.status
		}
	}
	r := lifecycle.ProbeResult{Name: p.Name, Status: status, Detail: fmt.Sprintf("%s on %s: %s", p.Name, id, status)}
	if p.Kind == lifecycle.SSM && status == lifecycle.Pending {
		r.CommandID = commandID
		if r.CommandID == "" {
			f.sent++
			r.CommandID = fmt.Sprintf("cmd-%d", f.sent)
		}
	}
	return r
}

type wake struct {
	key string
	at  time.Time
}

type fakeScheduler struct {
	wakes []wake
	err   error
}

func (f *fakeScheduler) WakeAt(_ context.Context, key string, at time.Time) error {
	if f.err != nil {
		return f.err
	}
	f.wakes = append(f.wakes, wake{key, at})
	return nil
}

// next removes and returns the earliest scheduled wake-up.
func (f *fakeScheduler) next() (wake, bool) {
	if len(f.wakes) == 0 {
		return wake{}, false
	}
	sort.SliceStable(f.wakes, func(i, j int) bool { return f.wakes[i].at.Before(f.wakes[j].at) })
	w := f.wakes[0]
	f.wakes = f.wakes[1:]
	return w, true
}

// rig is a handler wired to fakes.
type rig struct {
	h       *hooks.Handler
	clock   *clock.Manual
	hooks   *fakeHooks
	groups  *fakeGroups
	targets *fakeTargets
	prober  *fakeProber
	sched   *fakeScheduler
	store   *memstore.Store
	logs    *bytes.Buffer
	metrics *bytes.Buffer
}

const (
	group   = "web-asg"
	tgBlue  = "arn:aws:elasticloadbalancing:us-east-1:111111111111:targetgroup/blue/1"
	tgGreen = "arn:aws:elasticloadbalancing:us-east-1:111111111111:targetgroup/green/2"
)

var t0 = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

func sec(n int) time.Duration { return time.Duration(n) * time.Second }

func testPolicy() lifecycle.Policy {
	return lifecycle.Policy{
		HeartbeatTimeout: clock.Duration(sec(300)),
		Launch: lifecycle.Launch{
			Timeout: clock.Duration(10 * time.Minute), Interval: clock.Duration(sec(10)),
			Probes: []lifecycle.Probe{
				{Name: "app", Kind: lifecycle.HTTP, Port: 8080, Path: "/healthz"},
				{Name: "status", Kind: lifecycle.EC2Status},
			},
		},
		Terminate: lifecycle.Terminate{Interval: clock.Duration(sec(10)), Slack: clock.Duration(sec(30))},
	}
}

func newRig(t *testing.T, p lifecycle.Policy) *rig {
	t.Helper()
	c := clock.NewManual(t0)
	r := &rig{
		clock: c,
		hooks: &fakeHooks{},
		groups: &fakeGroups{groups: map[string]asg.Group{
			group: {Name: group, TargetGroupARNs: []string{tgBlue, tgGreen}},
		}},
		targets: &fakeTargets{clock: c, drainFor: sec(45),
			delays: map[string]time.Duration{tgBlue: sec(60), tgGreen: sec(60)},
			health: map[string][]elb.Target{
				tgBlue:  {{ID: "i-1", Port: 8080, State: elb.StateHealthy}, {ID: "i-2", Port: 8080, State: elb.StateHealthy}},
				tgGreen: {{ID: "i-2", Port: 8080, State: elb.StateHealthy}},
			}},
		prober:  &fakeProber{clock: c, script: map[string][]scripted{}},
		sched:   &fakeScheduler{},
		store:   memstore.New(c),
		logs:    &bytes.Buffer{},
		metrics: &bytes.Buffer{},
	}
	r.h = &hooks.Handler{
		Config: config.Config{Table: "state", Fleets: []config.Fleet{{Name: "web", Group: group, Lifecycle: p}}},
		Hooks:  r.hooks, Groups: r.groups, Targets: r.targets, Prober: r.prober,
		Scheduler: r.sched, Store: r.store, Clock: c,
		Log:     logging.New(r.logs, slog.LevelDebug),
		Metrics: logging.NewMetrics(r.metrics, "Stampkit", c.Now),
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("handler log:\n%s", r.logs)
		}
	})
	return r
}

// probe scripts probe name to answer status from d after t0 on.
func (r *rig) probe(name string, d time.Duration, status lifecycle.Status) {
	r.prober.script[name] = append(r.prober.script[name], scripted{from: t0.Add(d), status: status})
}

type action struct {
	transition, token, instance, origin, destination string
	at                                               time.Time
}

func launchAction(token string) action {
	return action{transition: "autoscaling:EC2_INSTANCE_LAUNCHING", token: token, instance: "i-1", origin: "EC2", destination: "AutoScalingGroup", at: t0}
}

func terminateAction(token string) action {
	return action{transition: "autoscaling:EC2_INSTANCE_TERMINATING", token: token, instance: "i-1", origin: "AutoScalingGroup", destination: "EC2", at: t0}
}

// payload is the EventBridge event Auto Scaling sends for a.
func (a action) payload(t *testing.T) []byte {
	t.Helper()
	dt := "EC2 Instance-launch Lifecycle Action"
	if strings.HasSuffix(a.transition, "TERMINATING") {
		dt = "EC2 Instance-terminate Lifecycle Action"
	}
	b, err := json.Marshal(map[string]any{
		"version": "0", "id": "ev-" + a.token, "detail-type": dt, "source": "aws.autoscaling",
		"account": "111111111111", "time": a.at.Format(time.RFC3339), "region": "us-east-1", "resources": []string{},
		"detail": map[string]string{
			"LifecycleActionToken": a.token, "AutoScalingGroupName": group, "LifecycleHookName": "hook",
			"EC2InstanceId": a.instance, "LifecycleTransition": a.transition, "Origin": a.origin, "Destination": a.destination,
		},
	})
	if err != nil {
		t.Fatalf("encoding event: %v", err)
	}
	return b
}

// tick is the SQS batch the wake-up queue delivers for w.
func tick(t *testing.T, w wake) []byte {
	t.Helper()
	body, err := sqsqueue.TickBody(w.key, w.at, w.at)
	if err != nil {
		t.Fatalf("TickBody: %v", err)
	}
	b, err := json.Marshal(map[string]any{"Records": []map[string]any{{
		"messageId": "m-" + w.at.Format(time.RFC3339Nano), "receiptHandle": "r", "body": string(body),
		"attributes":     map[string]string{"SentTimestamp": fmt.Sprint(w.at.UnixMilli())},
		"eventSource":    "aws:sqs",
		"eventSourceARN": "arn:aws:sqs:us-east-1:111111111111:wake", "awsRegion": "us-east-1",
	}}})
	if err != nil {
		t.Fatalf("encoding SQS batch: %v", err)
	}
	return b
}

func (r *rig) handle(t *testing.T, payload []byte) {
	t.Helper()
	if err := r.h.Handle(t.Context(), payload); err != nil {
		t.Fatalf("Handle: %v", err)
	}
}

// drive delivers scheduled wake-ups, each late by lateness, until none is
// left or limit deliveries were made.
func (r *rig) drive(t *testing.T, lateness time.Duration, limit int) int {
	t.Helper()
	n := 0
	for ; n < limit; n++ {
		w, ok := r.sched.next()
		if !ok {
			break
		}
		r.clock.Set(w.at.Add(lateness))
		r.handle(t, tick(t, w))
	}
	return n
}

func (r *rig) state(t *testing.T, token string) (lifecycle.State, int64) {
	t.Helper()
	data, version, err := r.store.Load(t.Context(), hooks.StateKey(token))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	var s lifecycle.State
	if version > 0 {
		if err := json.Unmarshal(data, &s); err != nil {
			t.Fatalf("decoding state: %v", err)
		}
	}
	return s, version
}

// metricNames lists the metric names of every EMF record written.
func (r *rig) metricNames(t *testing.T) []string {
	t.Helper()
	var names []string
	for _, line := range strings.Split(strings.TrimSpace(r.metrics.String()), "\n") {
		if line == "" {
			continue
		}
		var rec struct {
			AWS struct {
				CloudWatchMetrics []struct {
					Metrics []struct{ Name string }
				}
			} `json:"_aws"`
		}
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("metric record %q: %v", line, err)
		}
		for _, m := range rec.AWS.CloudWatchMetrics[0].Metrics {
			names = append(names, m.Name)
		}
	}
	slices.Sort(names)
	return names
}

// metricValue returns the value of the last record holding name.
func (r *rig) metricValue(t *testing.T, name string) (float64, bool) {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(r.metrics.String()), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		var rec map[string]any
		if err := json.Unmarshal([]byte(lines[i]), &rec); err != nil {
			continue
		}
		if v, ok := rec[name].(float64); ok {
			return v, true
		}
	}
	return 0, false
}
