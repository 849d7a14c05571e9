package scaler_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/smithy-go"

	"github.com/stampkit/stampkit/shared/clock"
	"github.com/stampkit/stampkit/shared/config"
	"github.com/stampkit/stampkit/shared/event"
	"github.com/stampkit/stampkit/shared/invocation"
	"github.com/stampkit/stampkit/shared/logging"
	"github.com/stampkit/stampkit/shared/memstore"
	"github.com/stampkit/stampkit/shared/scaler"
	"github.com/stampkit/stampkit/shared/scaling"
)

// fleetWorld is many fleets behind the scaler's Groups and Alarms ports,
// safe for the concurrent calls of a fanned-out tick. Fleet fNNN has the
// group fNNN-asg and one scale-out alarm, fNNN-high, held in ALARM, so
// every evaluation of it raises its group by one.
type fleetWorld struct {
	mu     sync.Mutex
	groups map[string]*scaling.Group
	sets   map[string]int // capacity changes per fleet
	reads  map[string]int // alarm reads per fleet
	// deadlines are the context deadlines the fleets' alarm reads had.
	deadlines map[string]time.Time
	// hang makes a fleet's alarm read wait for its context to end; fail,
	// panics make it fail or panic.
	hang   map[string]bool
	fail   map[string]error
	panics map[string]bool
	// cut is how each hanging read ended; setsBeforeCut, how many capacity
	// changes other fleets had made by then.
	cut           map[string]error
	setsBeforeCut map[string]int
}

func newFleetWorld(names []string) *fleetWorld {
	w := &fleetWorld{
		groups: map[string]*scaling.Group{}, sets: map[string]int{}, reads: map[string]int{},
		deadlines: map[string]time.Time{}, hang: map[string]bool{}, fail: map[string]error{}, panics: map[string]bool{},
		cut: map[string]error{}, setsBeforeCut: map[string]int{},
	}
	for _, n := range names {
		w.groups[n+"-asg"] = &scaling.Group{Min: 1, Max: 1000, Desired: 2, InService: 2}
	}
	return w
}

// The ports fail once their context has ended, as the SDK's calls do.

func (w *fleetWorld) Capacity(ctx context.Context, group string) (scaling.Group, error) {
	if err := ctx.Err(); err != nil {
		return scaling.Group{}, err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	g, ok := w.groups[group]
	if !ok {
		return scaling.Group{}, fmt.Errorf("group %s not found", group)
	}
	return *g, nil
}

func (w *fleetWorld) SetDesiredCapacity(ctx context.Context, group string, desired int) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.groups[group].Desired, w.groups[group].InService = desired, desired
	w.sets[strings.TrimSuffix(group, "-asg")]++
	return nil
}

func (w *fleetWorld) Signals(ctx context.Context, names []string) ([]scaling.Signal, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	fleet := strings.TrimSuffix(names[0], "-high")
	w.mu.Lock()
	w.reads[fleet]++
	w.deadlines[fleet], _ = ctx.Deadline()
	hang, fail, panics := w.hang[fleet], w.fail[fleet], w.panics[fleet]
	w.mu.Unlock()
	switch {
	case panics:
		panic("alarm read of " + fleet)
	case fail != nil:
		return nil, fail
	case hang:
		<-ctx.Done()
		w.mu.Lock()
		defer w.mu.Unlock()
		w.cut[fleet] = ctx.Err()
		for f, n := range w.sets {
			if f != fleet {
				w.setsBeforeCut[fleet] += n
			}
		}
		return nil, ctx.Err()
	}
	return []scaling.Signal{{Alarm: names[0], State: scaling.StateAlarm, Value: 70, Threshold: 60, Since: t0.Add(-10 * time.Minute)}}, nil
}

// clearFaults makes every fleet answer again, and forgets the reads.
func (w *fleetWorld) clearFaults() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.hang, w.fail, w.panics, w.reads = map[string]bool{}, map[string]error{}, map[string]bool{}, map[string]int{}
}

func (w *fleetWorld) setsOf(fleet string) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.sets[fleet]
}

func (w *fleetWorld) readsNow() map[string]int {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := map[string]int{}
	for f, n := range w.reads {
		out[f] = n
	}
	return out
}

// lockedBuffer is a log both the logger and the metrics write to from
// every fleet's goroutine.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// records returns the log and EMF records whose message is key or
// that have a field key.
func (b *lockedBuffer) records(t *testing.T, key string) []map[string]any {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []map[string]any
	for line := range strings.SplitSeq(strings.TrimSpace(b.buf.String()), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if _, ok := rec[key]; ok || rec["msg"] == key {
			out = append(out, rec)
		}
	}
	return out
}

type fleetsRig struct {
	h      *scaler.Handler
	world  *fleetWorld
	clock  *clock.Manual
	logs   *lockedBuffer
	fleets []string
}

// newFleetsRig is a scaler of n fleets; none has a cooldown or a warm-up,
// so every evaluation of a fleet is a capacity change of its own.
func newFleetsRig(t *testing.T, n int) *fleetsRig {
	t.Helper()
	names := make([]string, n)
	cfg := config.Config{Table: "state"}
	for i := range names {
		names[i] = fmt.Sprintf("f%03d", i)
		cfg.Fleets = append(cfg.Fleets, config.Fleet{Name: names[i], Group: names[i] + "-asg", Scaling: scaling.Policy{
			Min: 1, Max: 1000,
			Rules: []scaling.Rule{{Alarm: names[i] + "-high", Direction: scaling.Out, AdjustmentType: scaling.ChangeInCapacity, Steps: []scaling.Step{{Adjustment: 1}}}},
		}})
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("test config: %v", err)
	}
	clk := clock.NewManual(t0)
	r := &fleetsRig{world: newFleetWorld(names), clock: clk, logs: &lockedBuffer{}, fleets: names}
	r.h = &scaler.Handler{
		Config: cfg, Groups: r.world, Alarms: r.world, Store: memstore.New(clk), Clock: clk,
		Log:     logging.New(r.logs, slog.LevelInfo),
		Metrics: logging.NewMetrics(r.logs, "Stampkit", clk.Now),
	}
	return r
}

// batchTick is the event batch's schedule rule delivers: its input
// transformer's template (event.TickInput) filled as EventBridge fills it.
func batchTick(t *testing.T, id string, at time.Time, batch int, fleets []string) []byte {
	t.Helper()
	it, err := event.TickInput(fleets)
	if err != nil {
		t.Fatalf("TickInput: %v", err)
	}
	values := map[string]any{
		"id": id, "time": at.Format(time.RFC3339), "region": "us-east-1", "account": "111111111111",
		"resources": []string{fmt.Sprintf("arn:aws:events:us-east-1:111111111111:rule/scaler-tick-%d", batch)},
	}
	out := it.InputTemplate
	for name := range it.InputPathsMap {
		v, err := json.Marshal(values[name])
		if err != nil {
			t.Fatal(err)
		}
		out = strings.ReplaceAll(out, "<"+name+">", string(v))
	}
	return []byte(out)
}

// deliver invokes the scaler once per event, all at once, as Lambda runs
// the rules' invocations side by side, each on a context of its own from
// newCtx; it returns their errors in order.
func (r *fleetsRig) deliver(t *testing.T, newCtx func() (context.Context, context.CancelFunc), events ...[]byte) []error {
	t.Helper()
	errs := make([]error, len(events))
	var wg sync.WaitGroup
	for i, raw := range events {
		wg.Go(func() {
			ctx, cancel := newCtx()
			defer cancel()
			errs[i] = r.h.Handle(ctx, raw)
		})
	}
	wg.Wait()
	return errs
}

// lambdaCtx gives an invocation the scaler's 30-second timeout.
func lambdaCtx(t *testing.T) func() (context.Context, context.CancelFunc) {
	return func() (context.Context, context.CancelFunc) { return context.WithTimeout(t.Context(), 30*time.Second) }
}

// undoneFleets returns the fleets err reports left undone, sorted.
func undoneFleets(err error) []string {
	var out []string
	var walk func(error)
	walk = func(err error) {
		if u, ok := err.(*invocation.Undone); ok {
			out = append(out, u.Fleet)
			return
		}
		switch e := err.(type) {
		case interface{ Unwrap() []error }:
			for _, inner := range e.Unwrap() {
				walk(inner)
			}
		case interface{ Unwrap() error }:
			walk(e.Unwrap())
		}
	}
	walk(err)
	slices.Sort(out)
	return slices.Compact(out)
}

// A hundred fleets in ten tick batches, for three minutes, with every
// batch's delivery of the second minute doubled: each fleet is evaluated
// exactly once a minute, and no invocation evaluates more than a batch.
func TestTickBatchesEvaluateEveryFleetOncePerMinute(t *testing.T) {
	r := newFleetsRig(t, 100)
	batches := event.TickBatches(r.fleets, event.TickBatchSize)
	const minutes = 3
	for m := range minutes {
		at := t0.Add(time.Duration(m) * time.Minute)
		r.clock.Set(at.Add(5 * time.Second))
		var events [][]byte
		for i, b := range batches {
			ev := batchTick(t, fmt.Sprintf("tick-%d-%d", m, i), at, i, b)
			events = append(events, ev)
			if m == 1 {
				events = append(events, ev) // EventBridge delivers at least once
			}
		}
		for i, err := range r.deliver(t, lambdaCtx(t), events...) {
			if err != nil {
				t.Fatalf("minute %d, delivery %d: %v", m, i, err)
			}
		}
	}
	for _, f := range r.fleets {
		if got := r.world.setsOf(f); got != minutes {
			t.Errorf("fleet %s: evaluated %d times in %d minutes, want once a minute", f, got, minutes)
		}
	}
	done := r.logs.records(t, "tick done")
	if got, want := len(done), minutes*len(batches)+len(batches); got != want {
		t.Errorf("got %d invocations, want %d", got, want)
	}
	for _, rec := range done {
		if n, _ := rec["fleets"].(float64); n > event.TickBatchSize {
			t.Errorf("an invocation evaluated %v fleets, want at most %d: %v", n, event.TickBatchSize, rec)
		}
	}
}

// One fleet's alarm read hangs and another's is throttled, in the same
// batch: the hanging read is cut at the fleet's deadline, which is inside
// the invocation's; the other fleets of the batch, and of every other
// batch, are evaluated before it is cut; the invocation fails naming only
// those two; and Lambda's retry of the batch evaluates only them.
func TestOneHangingAndOneFailingFleetDelayNoOther(t *testing.T) {
	r := newFleetsRig(t, 100)
	batches := event.TickBatches(r.fleets, event.TickBatchSize)
	const hanging, failing = "f013", "f017"
	r.world.hang[hanging] = true
	r.world.fail[failing] = &smithy.GenericAPIError{Code: "Throttling", Message: "Rate exceeded"}

	r.clock.Set(t0.Add(5 * time.Second))
	var events [][]byte
	for i, b := range batches {
		events = append(events, batchTick(t, fmt.Sprintf("tick-%d", i), t0, i, b))
	}
	// The hanging read ends only with its deadline: two seconds here, not
	// the scaler's thirty, to keep the test short.
	var invocationDeadline time.Time
	var mu sync.Mutex
	errs := r.deliver(t, func() (context.Context, context.CancelFunc) {
		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
		d, _ := ctx.Deadline()
		mu.Lock()
		if d.After(invocationDeadline) {
			invocationDeadline = d
		}
		mu.Unlock()
		return ctx, cancel
	}, events...)

	for i, err := range errs {
		want := []string(nil)
		if i == 1 {
			want = []string{hanging, failing}
		}
		if got := undoneFleets(err); !slices.Equal(got, want) {
			t.Errorf("batch %d: got fleets %v undone (error %v), want %v", i, got, err, want)
		}
	}
	if got := r.world.cut[hanging]; !errors.Is(got, context.DeadlineExceeded) {
		t.Errorf("the hanging read ended with %v, want its deadline", got)
	}
	deadline := r.world.deadlines[hanging]
	if deadline.IsZero() || deadline.After(invocationDeadline) {
		t.Errorf("the hanging fleet's deadline %v, want one no later than the invocation's %v", deadline, invocationDeadline)
	}
	if got, want := r.world.setsBeforeCut[hanging], 98; got != want {
		t.Errorf("capacity changes of other fleets before the hanging read was cut: got %d, want %d (every other fleet's)", got, want)
	}
	for _, f := range r.fleets {
		want := 1
		if f == hanging || f == failing {
			want = 0
		}
		if got := r.world.setsOf(f); got != want {
			t.Errorf("fleet %s: %d capacity changes, want %d", f, got, want)
		}
	}
	r.checkOutcome(t, hanging, "TickTimedOut")
	r.checkOutcome(t, failing, "TickFailed")
	for _, rec := range r.logs.records(t, "tick done") {
		if failed, _ := rec["failed"].([]any); len(failed) > 0 {
			if got := fmt.Sprint(failed, rec["timed_out"], rec["evaluated"]); got != "[f017] [f013] 8" {
				t.Errorf("tick done: got failed, timed out, evaluated %s, want [f017] [f013] 8", got)
			}
		}
	}

	// Lambda retries the failed invocation with the same event.
	r.world.clearFaults()
	r.clock.Set(t0.Add(65 * time.Second))
	if errs := r.deliver(t, lambdaCtx(t), events[1]); errs[0] != nil {
		t.Fatalf("retry: %v", errs[0])
	}
	if got, want := r.world.readsNow(), map[string]int{hanging: 1, failing: 1}; !sameCounts(got, want) {
		t.Errorf("the retry read the alarms of %v, want only the two fleets that failed", got)
	}
	for _, f := range batches[1] {
		if got := r.world.setsOf(f); got != 1 {
			t.Errorf("after the retry, fleet %s has %d capacity changes, want 1", f, got)
		}
	}
}

func sameCounts(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// checkOutcome finds the fleet's EMF record of its tick with metric at 1
// and the other outcomes at 0.
func (r *fleetsRig) checkOutcome(t *testing.T, fleet, metric string) {
	t.Helper()
	for _, rec := range r.logs.records(t, metric) {
		if rec["Fleet"] != fleet {
			continue
		}
		for _, m := range []string{"TickEvaluated", "TickFailed", "TickTimedOut"} {
			want := 0.0
			if m == metric {
				want = 1
			}
			if rec[m] != want {
				t.Errorf("fleet %s: %s = %v, want %v", fleet, m, rec[m], want)
			}
		}
		return
	}
	t.Errorf("fleet %s: no EMF record with %s", fleet, metric)
}

// A tick that names no fleets (a schedule rule from before tick batches)
// ticks all hundred, ten at a time, each with its share of the time: the
// ten that hang hold a worker each only for their share, not for the
// whole invocation, and the ninety after them are evaluated.
func TestTickOfEveryFleetRunsInRoundsEachWithItsShare(t *testing.T) {
	r := newFleetsRig(t, 100)
	for _, f := range r.fleets[:10] { // the first round, every worker
		r.world.hang[f] = true
	}
	errs := r.deliver(t, func() (context.Context, context.CancelFunc) { return context.WithTimeout(t.Context(), 3*time.Second) },
		tickEvent("tick-1", t0))
	if got, want := undoneFleets(errs[0]), r.fleets[:10]; !slices.Equal(got, want) {
		t.Errorf("got %v undone, want the ten that hang", got)
	}
	for _, f := range r.fleets[10:] {
		if got := r.world.setsOf(f); got != 1 {
			t.Errorf("fleet %s: %d capacity changes, want 1", f, got)
		}
	}
}

// A batch naming a fleet this scaler does not manage (a rule updated
// before the function, in a deploy) ticks the others and is no failure.
func TestTickSkipsFleetsItDoesNotManage(t *testing.T) {
	r := newFleetsRig(t, 3)
	errs := r.deliver(t, lambdaCtx(t), batchTick(t, "tick-1", t0, 0, []string{"f000", "gone", "f002"}))
	if errs[0] != nil {
		t.Fatalf("Handle: %v", errs[0])
	}
	for f, want := range map[string]int{"f000": 1, "f001": 0, "f002": 1} {
		if got := r.world.setsOf(f); got != want {
			t.Errorf("fleet %s: %d capacity changes, want %d", f, got, want)
		}
	}
	if len(r.logs.records(t, "TickUnknownFleets")) != 1 || len(r.logs.records(t, "tick names a fleet this scaler does not manage; skipped")) != 1 {
		t.Errorf("want the unknown fleet logged and counted once:\n%s", r.logs.buf.String())
	}
}

// A fleet that panics lets the others finish, then the panic goes on,
// naming the fleet, for the runtime to report and Lambda to retry.
func TestFleetPanicGoesOnAfterTheOthers(t *testing.T) {
	r := newFleetsRig(t, 10)
	r.world.panics["f004"] = true
	defer func() {
		p := recover()
		if p == nil || !strings.Contains(fmt.Sprint(p), "fleet f004: alarm read of f004") {
			t.Errorf("recovered %v, want the fleet's panic", p)
		}
		for _, f := range r.fleets {
			want := 1
			if f == "f004" {
				want = 0
			}
			if got := r.world.setsOf(f); got != want {
				t.Errorf("fleet %s: %d capacity changes, want %d", f, got, want)
			}
		}
	}()
	_ = r.h.Handle(t.Context(), batchTick(t, "tick-1", t0, 0, r.fleets))
}

// A fleet read from the fleets file that fails to decode (config.Config
// decodes each on first use) fails its own tick, counted and named, and
// the batch's other fleets are evaluated.
func TestTickFailsOnlyTheFleetThatDoesNotDecode(t *testing.T) {
	r := newFleetsRig(t, 3)
	raw, err := json.Marshal(r.h.Config.Fleets)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "fleets.json")
	bad := strings.Replace(string(raw), `"alarm":"f001-high","direction":"out"`, `"alarm":"f001-high","direction":"sideways"`, 1)
	if err := os.WriteFile(path, []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	r.h.Config, err = config.FromEnv(func(k string) string {
		return map[string]string{config.EnvTable: "state", config.EnvFleetsFile: path}[k]
	})
	if err != nil {
		t.Fatalf("FromEnv: %v", err)
	}
	errs := r.deliver(t, lambdaCtx(t), batchTick(t, "tick-1", t0, 0, r.fleets))
	if want := path + "[1].scaling.rules[0].direction"; errs[0] == nil || !strings.Contains(errs[0].Error(), want) {
		t.Errorf("Handle: %v, want an error naming %s", errs[0], want)
	}
	for f, want := range map[string]int{"f000": 1, "f001": 0, "f002": 1} {
		if got := r.world.setsOf(f); got != want {
			t.Errorf("fleet %s: %d capacity changes, want %d", f, got, want)
		}
	}
	done := r.logs.records(t, "tick done")
	if len(done) != 1 || fmt.Sprint(done[0]["failed"]) != "[f001]" {
		t.Errorf("tick done: got %v, want f001 failed", done)
	}
}
