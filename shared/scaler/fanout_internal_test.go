package scaler

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/stampkit/stampkit/shared/clock"
	"github.com/stampkit/stampkit/shared/config"
	"github.com/stampkit/stampkit/shared/event"
	"github.com/stampkit/stampkit/shared/logging"
	"github.com/stampkit/stampkit/shared/memstore"
	"github.com/stampkit/stampkit/shared/scaling"
)

func TestShareOf(t *testing.T) {
	const left = 28 * time.Second // the scaler's 30 s less invocation.Headroom
	tests := []struct {
		name       string
		n, workers int
		want       time.Duration
	}{
		{"one fleet", 1, 10, left},
		{"a tick batch: one round", event.TickBatchSize, tickWorkers, left},
		{"one fleet over a round", 11, 10, left / 2},
		{"every one of 100 fleets", 100, 10, left / 10},
		{"every one of 101 fleets", 101, 10, left / 11},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := shareOf(left, tt.n, tt.workers)
			if got != tt.want {
				t.Errorf("shareOf(%v, %d, %d) = %v, want %v", left, tt.n, tt.workers, got, tt.want)
			}
			// The busiest worker's rounds, each cut at its share, end by
			// the deadline.
			if rounds := (tt.n + tt.workers - 1) / tt.workers; time.Duration(rounds)*got > left {
				t.Errorf("%d rounds of %v overrun %v", rounds, got, left)
			}
		})
	}
}

// slowPorts are the scaler's Groups, Alarms and Store for fleets whose
// scale-out alarm is held in ALARM, each call taking rtt: a round trip to
// AWS, so that a benchmark measures the time an invocation spends waiting
// as well as computing.
type slowPorts struct {
	rtt   time.Duration
	store *memstore.Store
	mu    sync.Mutex
	// desired is each group's capacity; it only grows.
	desired map[string]int
}

func (p *slowPorts) wait() {
	if p.rtt > 0 {
		time.Sleep(p.rtt)
	}
}

func (p *slowPorts) Capacity(_ context.Context, group string) (scaling.Group, error) {
	p.wait()
	p.mu.Lock()
	defer p.mu.Unlock()
	d := p.desired[group]
	return scaling.Group{Min: 1, Max: 1 << 30, Desired: d, InService: d}, nil
}

func (p *slowPorts) SetDesiredCapacity(_ context.Context, group string, desired int) error {
	p.wait()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.desired[group] = desired
	return nil
}

func (p *slowPorts) Signals(_ context.Context, names []string) ([]scaling.Signal, error) {
	p.wait()
	return []scaling.Signal{{Alarm: names[0], State: scaling.StateAlarm, Value: 70, Threshold: 60}}, nil
}

func (p *slowPorts) Claim(ctx context.Context, key, owner string, ttl time.Duration) (bool, error) {
	p.wait()
	return p.store.Claim(ctx, key, owner, ttl)
}

func (p *slowPorts) Release(ctx context.Context, key, owner string) error {
	p.wait()
	return p.store.Release(ctx, key, owner)
}

func (p *slowPorts) Load(ctx context.Context, key string) ([]byte, int64, error) {
	p.wait()
	return p.store.Load(ctx, key)
}

func (p *slowPorts) Save(ctx context.Context, key string, data []byte, version int64) error {
	p.wait()
	return p.store.Save(ctx, key, data, version)
}

// sequentialTick is the tick as it was before fan-out: every fleet in
// turn, each under its tick claim, on the invocation's context.
func (h *Handler) sequentialTick(ctx context.Context, at time.Time) error {
	window := at.Truncate(TickWindow).UTC().Format(time.RFC3339)
	var errs []error
	for _, fleet := range h.Config.Fleets {
		fctx := logging.With(ctx, "fleet", fleet.Name)
		errs = append(errs, h.once(fctx, fleet.Name, "tick#"+fleet.Name+"@"+window, func() error {
			return h.tickFleet(fctx, fleet, window, h.Alarms.Signals)
		}))
	}
	return errors.Join(errs...)
}

// BenchmarkTickFanOut times the longest invocation of a minute's tick of
// 100 fleets, each with an alarm in ALARM and so a capacity change every
// minute: the sequential tick before fan-out, which evaluated all 100 in
// one invocation, against one tick batch of event.TickBatchSize fleets
// evaluated at once. Compare sequential-100 with batch-10 at the same rtt
// (0: computing only; 2ms: a round trip per AWS call, DynamoDB's order of
// magnitude, the Auto Scaling and CloudWatch calls' lower bound).
func BenchmarkTickFanOut(b *testing.B) {
	for _, rtt := range []time.Duration{0, 2 * time.Millisecond} {
		clk := clock.NewManual(t0Bench)
		ports := &slowPorts{rtt: rtt, store: memstore.New(clk), desired: map[string]int{}}
		cfg := config.Config{Table: "state"}
		var names []string
		for i := range 100 {
			name := fmt.Sprintf("f%03d", i)
			names = append(names, name)
			ports.desired[name+"-asg"] = 2
			cfg.Fleets = append(cfg.Fleets, config.Fleet{Name: name, Group: name + "-asg", Scaling: scaling.Policy{
				Min: 1, Max: 1 << 30,
				Rules: []scaling.Rule{{Alarm: name + "-high", Direction: scaling.Out, AdjustmentType: scaling.ChangeInCapacity, Steps: []scaling.Step{{Adjustment: 1}}}},
			}})
		}
		if err := cfg.Validate(); err != nil {
			b.Fatal(err)
		}
		h := &Handler{Config: cfg, Groups: ports, Alarms: ports, Store: ports, Clock: clk, Log: logging.New(io.Discard, slog.LevelInfo)}
		batch := event.TickBatches(names, event.TickBatchSize)[0]
		minute := 0
		// Each tick is of a minute of its own: a tick of a window already
		// ticked would find every claim taken and do nothing.
		tick := func(b *testing.B, run func(ctx context.Context, at time.Time) error) {
			for b.Loop() {
				minute++
				at := t0Bench.Add(time.Duration(minute) * time.Minute)
				clk.Set(at)
				ctx, cancel := context.WithTimeout(b.Context(), 30*time.Second)
				err := run(ctx, at)
				cancel()
				if err != nil {
					b.Fatal(err)
				}
			}
		}
		b.Run(fmt.Sprintf("rtt=%v/sequential-100", rtt), func(b *testing.B) {
			tick(b, h.sequentialTick)
		})
		b.Run(fmt.Sprintf("rtt=%v/batch-10", rtt), func(b *testing.B) {
			tick(b, func(ctx context.Context, at time.Time) error {
				return h.onTick(ctx, &event.Tick{At: at, Fleets: batch})
			})
		})
		if ports.desired["f000-asg"] <= 2 || ports.desired["f099-asg"] <= 2 {
			b.Fatal("no capacity changes: the ticks timed decided nothing")
		}
	}
}

var t0Bench = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
