package twin

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"time"

	"github.com/stampkit/stampkit/shared/clock"
	"github.com/stampkit/stampkit/shared/config"
	"github.com/stampkit/stampkit/shared/event"
	"github.com/stampkit/stampkit/shared/logging"
)

// Effect is one thing a handler did to the world of an in-process
// invocation, in the order it did it.
type Effect struct {
	At time.Time
	// What is one of the Effect* constants.
	What   string
	Detail string
}

// Effects an invoked handler can have, in Effect.What.
const (
	// EffectCompleted: CompleteLifecycleAction; Detail starts with the
	// result (CONTINUE or ABANDON).
	EffectCompleted = "completed"
	// EffectHeartbeat: RecordLifecycleActionHeartbeat.
	EffectHeartbeat = "heartbeat"
	// EffectDeregistered: a target deregistered from a target group.
	EffectDeregistered = "deregistered"
	// EffectWakeUp: a wake-up scheduled (the delayed Tick the scheduler
	// would send); Detail is its key and due time.
	EffectWakeUp = "wake-up"
	// EffectVersionCreated: a launch template version created with the
	// new image.
	EffectVersionCreated = "version created"
	// EffectDefaultVersion: the launch template's default version moved.
	EffectDefaultVersion = "default version"
	// EffectParameter: the fleet's image parameter written.
	EffectParameter = "parameter"
	// EffectGroupVersion: a group pointed at a launch template version.
	EffectGroupVersion = "group version"
	// EffectResized: a group's size set.
	EffectResized = "resized"
	// EffectRefreshStarted, EffectRefreshCancelled and
	// EffectRefreshRollback: an instance refresh started, cancelled or
	// rolled back.
	EffectRefreshStarted   = "refresh started"
	EffectRefreshCancelled = "refresh cancelled"
	EffectRefreshRollback  = "refresh rollback"
	// EffectWeights: the listener's forward weights set.
	EffectWeights = "weights"
	// EffectPhase: the handler's record moved to another phase; Detail is
	// "from -> to".
	EffectPhase = "phase"
)

// maxFollow bounds the wake-ups a followed invocation delivers: far more
// than the default policies need (a 15-minute gate probed every 10 s is 90),
// few enough to stop a policy that never ends.
const maxFollow = 5000

// world is what every invoked handler's fakes share: the clock (it stands
// still while a handler runs and jumps to each followed wake-up), the
// effects seen so far and the wake-ups scheduled and not yet delivered.
type world struct {
	clk     *clock.Manual
	effects []Effect
	pending []wakeUp
}

type wakeUp struct {
	key string
	at  time.Time
}

func newWorld(now time.Time) *world { return &world{clk: clock.NewManual(now)} }

func (w *world) record(what, format string, args ...any) {
	w.effects = append(w.effects, Effect{At: w.clk.Now(), What: what, Detail: fmt.Sprintf(format, args...)})
}

// WakeAt is the scheduler both handlers use: it records the wake-up and
// keeps it for a followed invocation.
func (w *world) WakeAt(_ context.Context, key string, at time.Time) error {
	w.record(EffectWakeUp, "%s at %s", key, at.UTC().Format(time.RFC3339))
	w.pending = append(w.pending, wakeUp{key: key, at: at})
	return nil
}

// next removes and returns the earliest pending wake-up.
func (w *world) next() (wakeUp, bool) {
	if len(w.pending) == 0 {
		return wakeUp{}, false
	}
	i := 0
	for j, p := range w.pending {
		if p.at.Before(w.pending[i].at) {
			i = j
		}
	}
	p := w.pending[i]
	w.pending = slices.Delete(w.pending, i, i+1)
	return p, true
}

// logger is the handler's JSON log on out, stamped with the virtual time,
// and its EMF metrics.
func (w *world) logger(out io.Writer) (*slog.Logger, *logging.Metrics) {
	if out == nil {
		out = io.Discard
	}
	return slog.New(&clocked{now: w.clk.Now, next: logging.New(out, slog.LevelDebug).Handler()}),
		logging.NewMetrics(out, config.DefaultNamespace, w.clk.Now)
}

// drive delivers raw to handle and, when follow is set, every wake-up the
// handler schedules, as the Tick the scheduler would send, at its due time,
// until none is pending. phase reads the handler's record, so that its
// phase changes show among the effects. It returns the invocations made.
func (w *world) drive(ctx context.Context, raw []byte, follow bool, handle func(context.Context, []byte) error, phase func() string) (int, error) {
	last := phase()
	step := func(raw []byte) error {
		err := handle(ctx, raw)
		if now := phase(); now != last {
			w.record(EffectPhase, "%s -> %s", orDash(last), orDash(now))
			last = now
		}
		return err
	}
	if err := step(raw); err != nil {
		return 1, err
	}
	n := 1
	for follow {
		p, ok := w.next()
		if !ok {
			break
		}
		if n > maxFollow {
			return n, fmt.Errorf("still waiting after %d invocations", n)
		}
		if err := ctx.Err(); err != nil {
			return n, err
		}
		if p.at.After(w.clk.Now()) {
			w.clk.Set(p.at)
		}
		tick, err := tickEvent(fmt.Sprintf("invoke-tick-%d", n), p.key, p.at)
		if err != nil {
			return n, err
		}
		n++
		if err := step(tick); err != nil {
			return n, fmt.Errorf("delivering wake-up %s at %s: %w", p.key, p.at.UTC().Format(time.RFC3339), err)
		}
	}
	return n, nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// tickEvent is the stampkit Tick a delayed wake-up delivers.
func tickEvent(id, key string, at time.Time) ([]byte, error) {
	b, err := json.Marshal(map[string]any{
		"version": "0", "id": id, "detail-type": event.DetailTypeTick, "source": event.SourceStampkit,
		"account": account, "region": region, "time": at.UTC().Format(time.RFC3339Nano), "resources": []string{},
		"detail": tickDetail{At: at.UTC().Format(time.RFC3339Nano), Key: key},
	})
	if err != nil {
		return nil, fmt.Errorf("encoding wake-up %s: %w", key, err)
	}
	return b, nil
}

// decodeFirst returns the first event in raw, whose time starts the clock
// and whose names shape the fakes; ok is false when raw does not decode
// (the handler then reports why).
func decodeFirst(raw []byte) (event.Event, bool) {
	evs, err := event.Decode(raw)
	if err != nil || len(evs) == 0 {
		return event.Event{}, false
	}
	return evs[0], true
}

// invocationTimes returns when the event happened (its time, else now) and
// the handler's clock for it: now when given, else delay after the event.
func invocationTimes(ev event.Event, now time.Time, delay time.Duration) (start, clock time.Time) {
	start = ev.Time
	if start.IsZero() {
		start = now
	}
	clock = now
	if clock.IsZero() && !start.IsZero() {
		clock = start.Add(delay)
	}
	if clock.IsZero() {
		// Nothing says when: an event that does not decode, which the
		// handler rejects or ignores without reading the clock.
		clock = time.Now()
	}
	return start, clock
}
