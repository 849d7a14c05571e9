package invocation_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stampkit/stampkit/shared/clock"
	"github.com/stampkit/stampkit/shared/event"
	"github.com/stampkit/stampkit/shared/invocation"
	"github.com/stampkit/stampkit/shared/logging"
	"github.com/stampkit/stampkit/shared/memstore"
)

const tick = `{"version":"0","id":"ev-1","detail-type":"Scheduled Event","source":"aws.events","account":"111111111111","time":"2026-11-25T12:00:00Z","region":"us-east-1","resources":["arn:aws:events:us-east-1:111111111111:rule/tick"],"detail":{}}`

func TestEach(t *testing.T) {
	tests := []struct {
		name      string
		raw       string
		handleErr error
		wantCalls int
		wantErr   string
		wantLog   string
	}{
		{name: "one event", raw: tick, wantCalls: 1, wantLog: `"event_id":"ev-1"`},
		{name: "handler error names the event", raw: tick, handleErr: errors.New("boom"), wantCalls: 1, wantErr: "event ev-1: boom"},
		{name: "malformed is rejected", raw: `{"source":`, wantErr: "decoding event", wantLog: "rejecting malformed event"},
		{name: "unknown kind is ignored", raw: `{"version":"0","id":"x","detail-type":"Other","source":"aws.other","time":"2026-11-25T12:00:00Z","detail":{}}`, wantLog: "ignoring event of unknown kind"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			log := logging.New(&logs, slog.LevelInfo)
			calls := 0
			err := invocation.Each(t.Context(), log, []byte(tt.raw), func(ctx context.Context, ev event.Event) error {
				calls++
				log.InfoContext(ctx, "handled")
				return tt.handleErr
			})
			if calls != tt.wantCalls {
				t.Errorf("handler called %d times, want %d", calls, tt.wantCalls)
			}
			if (tt.wantErr == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("Each error = %v, want %q", err, tt.wantErr)
			}
			if !strings.Contains(logs.String(), tt.wantLog) {
				t.Errorf("logs lack %s:\n%s", tt.wantLog, logs.String())
			}
		})
	}
}

type fixedClock struct{}

func (fixedClock) Now() time.Time { return time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC) }

func TestOnce(t *testing.T) {
	store := memstore.New(fixedClock{})
	ctx := t.Context()
	runs := 0
	effect := func(fail bool) func() error {
		return func() error {
			runs++
			if fail {
				return errors.New("effect failed")
			}
			return nil
		}
	}
	steps := []struct {
		name    string
		fail    bool
		wantRan bool
		wantErr bool
	}{
		{name: "failed effect", fail: true, wantRan: true, wantErr: true},
		{name: "retry after failure runs again", wantRan: true},
		{name: "duplicate does not run", wantRan: false},
	}
	for _, st := range steps {
		ran, err := invocation.Once(ctx, store, "k", time.Hour, effect(st.fail))
		if ran != st.wantRan || (err != nil) != st.wantErr {
			t.Errorf("%s: Once = %v, %v; want ran %v, error %v", st.name, ran, err, st.wantRan, st.wantErr)
		}
	}
	if runs != 2 {
		t.Errorf("effect ran %d times, want 2 (the failure and its retry)", runs)
	}
}

// claimsAfterDeadline records whether Release ran on a live context.
type claimsAfterDeadline struct {
	*memstore.Store
	releasedLive bool
}

func (c *claimsAfterDeadline) Release(ctx context.Context, key, owner string) error {
	c.releasedLive = ctx.Err() == nil
	return c.Store.Release(ctx, key, owner)
}

// An effect that fails because its context ran out must still give its
// claim back, or the retry would be dropped as a duplicate.
func TestOnceReleasesAfterTheContextEnds(t *testing.T) {
	claims := &claimsAfterDeadline{Store: memstore.New(fixedClock{})}
	ctx, cancel := context.WithCancel(t.Context())
	_, err := invocation.Once(ctx, claims, "k", time.Hour, func() error {
		cancel()
		return ctx.Err()
	})
	if err == nil {
		t.Fatal("Once succeeded, want the effect's error")
	}
	if !claims.releasedLive {
		t.Error("Release ran on a cancelled context, want a live one")
	}
	if ran, err := invocation.Once(t.Context(), claims, "k", time.Hour, func() error { return nil }); !ran || err != nil {
		t.Errorf("retry: Once = %v, %v; want it to run", ran, err)
	}
}

func TestEachLeavesHeadroomBeforeTheDeadline(t *testing.T) {
	deadline := time.Now().Add(time.Minute)
	ctx, cancel := context.WithDeadline(t.Context(), deadline)
	defer cancel()
	var got time.Time
	err := invocation.Each(ctx, logging.New(io.Discard, slog.LevelInfo), []byte(tick), func(ctx context.Context, _ event.Event) error {
		got, _ = ctx.Deadline()
		return nil
	})
	if err != nil {
		t.Fatalf("Each: %v", err)
	}
	if want := deadline.Add(-invocation.Headroom); !got.Equal(want) {
		t.Errorf("handler deadline = %v, want %v (the Lambda deadline less the headroom)", got, want)
	}
}

func TestReporterOnceLogsAndCountsDuplicates(t *testing.T) {
	var out bytes.Buffer
	r := invocation.Reporter{Log: logging.New(&out, slog.LevelInfo), Metrics: logging.NewMetrics(&out, "Stampkit", fixedClock{}.Now)}
	store := memstore.New(fixedClock{})
	for range 2 {
		if err := r.Once(t.Context(), store, time.Hour, "web", "k", func() error { return nil }); err != nil {
			t.Fatalf("Once: %v", err)
		}
	}
	for _, want := range []string{`"msg":"duplicate delivery: already claimed"`, `"claim":"k"`, `"Duplicates":1`, `"Fleet":"web"`} {
		if strings.Count(out.String(), want) != 1 {
			t.Errorf("output has %d of %s, want 1:\n%s", strings.Count(out.String(), want), want, out.String())
		}
	}
}

func TestReporterEmitWithoutFleet(t *testing.T) {
	var out bytes.Buffer
	r := invocation.Reporter{Log: logging.New(io.Discard, slog.LevelInfo), Metrics: logging.NewMetrics(&out, "Stampkit", fixedClock{}.Now)}
	r.Emit(t.Context(), "", logging.Metric{Name: "ImageBuildsFailed", Value: 1})
	if !strings.Contains(out.String(), `"Dimensions":[[]]`) || strings.Contains(out.String(), "Fleet") {
		t.Errorf("a metric with no fleet got %s, want no Fleet dimension", out.String())
	}
	(invocation.Reporter{Log: r.Log}).Emit(t.Context(), "web", logging.Metric{Name: "X", Value: 1}) // no Metrics: nothing, no panic
}

// A panicking effect must give its claim back: aws-lambda-go turns the
// panic into a failed invocation, and its retry must not be dropped as a
// duplicate.
func TestOnceReleasesAfterAPanic(t *testing.T) {
	store := memstore.New(fixedClock{})
	func() {
		defer func() {
			if recover() == nil {
				t.Error("Once swallowed the panic")
			}
		}()
		_, _ = invocation.Once(t.Context(), store, "k", time.Hour, func() error { panic("boom") })
	}()
	if ran, err := invocation.Once(t.Context(), store, "k", time.Hour, func() error { return nil }); !ran || err != nil {
		t.Errorf("retry: Once = %v, %v; want it to run", ran, err)
	}
}

func TestLease(t *testing.T) {
	store := memstore.New(fixedClock{})
	ctx := t.Context()
	var inner error
	err := invocation.Lease(ctx, store, "lease", 0, func() error {
		inner = invocation.Lease(ctx, store, "lease", 0, func() error {
			t.Error("second holder ran while the first held the lease")
			return nil
		})
		return nil
	})
	if err != nil {
		t.Fatalf("Lease: %v", err)
	}
	if !errors.Is(inner, invocation.ErrBusy) {
		t.Errorf("nested Lease: got %v, want ErrBusy", inner)
	}
	// Released after success, after a failure and after a panic.
	boom := errors.New("boom")
	if err := invocation.Lease(ctx, store, "lease", 0, func() error { return boom }); !errors.Is(err, boom) {
		t.Errorf("after release: got %v, want the effect's error", err)
	}
	func() {
		defer func() { _ = recover() }()
		_ = invocation.Lease(ctx, store, "lease", 0, func() error { panic("boom") })
	}()
	ran := false
	if err := invocation.Lease(ctx, store, "lease", 0, func() error { ran = true; return nil }); err != nil || !ran {
		t.Errorf("after a panic: Lease = %v, ran %v; want it free", err, ran)
	}
}

// The lease outlives the invocation's deadline (plus Headroom), so it never
// expires while its holder can still be running, and expires soon after.
func TestLeaseLastsUntilTheDeadline(t *testing.T) {
	start := time.Now()
	c := clock.NewManual(start)
	store := memstore.New(c)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	err := invocation.Lease(ctx, store, "lease", 0, func() error {
		for _, tc := range []struct {
			after time.Duration
			free  bool
		}{
			{after: 30 * time.Second, free: false},
			{after: 30*time.Second + invocation.Headroom + 2*time.Second, free: true},
		} {
			if got := claimableAt(t, store, c, start.Add(tc.after), "lease"); got != tc.free {
				t.Errorf("%s after the start: lease free %v, want %v", tc.after, got, tc.free)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// flakyClaims writes the first claim and then answers with an error, as a
// PutItem that landed but whose response was lost; or fails the claim
// that keeps an effect's key for its TTL.
type flakyClaims struct {
	*memstore.Store
	lostResponse, failKeep bool
	claims                 int
}

func (f *flakyClaims) Claim(ctx context.Context, key, owner string, ttl time.Duration) (bool, error) {
	f.claims++
	ok, err := f.Store.Claim(ctx, key, owner, ttl)
	switch {
	case f.lostResponse && f.claims == 1:
		return false, errors.New("connection reset")
	case f.failKeep && f.claims == 2:
		return false, errors.New("throttled")
	}
	return ok, err
}

func TestOnceWhenTheClaimWasWrittenButFailed(t *testing.T) {
	claims := &flakyClaims{Store: memstore.New(fixedClock{}), lostResponse: true}
	if ran, err := invocation.Once(t.Context(), claims, "k", time.Hour, func() error { return nil }); ran || err == nil {
		t.Fatalf("Once = %v, %v; want not run and the claim's error", ran, err)
	}
	if ran, err := invocation.Once(t.Context(), claims, "k", time.Hour, func() error { return nil }); !ran || err != nil {
		t.Errorf("retry: Once = %v, %v; want it to run, not meet the first attempt's claim", ran, err)
	}
}

// While the effect runs the claim lasts as long as the invocation can, so
// an invocation Lambda stops part-way does not drop its retry; once the
// effect is done the claim is kept for its TTL.
func TestOnceClaimLastsTheInvocationThenTheTTL(t *testing.T) {
	start := time.Now()
	c := clock.NewManual(start)
	store := memstore.New(c)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	other := func(at time.Duration) bool { return claimableAt(t, store, c, start.Add(at), "k") }
	_, err := invocation.Once(ctx, store, "k", time.Hour, func() error {
		if other(29 * time.Second) {
			t.Error("another delivery took the claim before the invocation's deadline")
		}
		if !other(30*time.Second + invocation.Headroom + 2*time.Second) {
			t.Error("the claim outlived the invocation's deadline while the effect ran")
		}
		c.Set(start)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if other(59 * time.Minute) {
		t.Error("a duplicate took the claim within its TTL after the effect succeeded")
	}
}

func TestOnceClaimNotKept(t *testing.T) {
	claims := &flakyClaims{Store: memstore.New(fixedClock{}), failKeep: true}
	ran, err := invocation.Once(t.Context(), claims, "k", time.Hour, func() error { return nil })
	if !ran || !errors.Is(err, invocation.ErrNotKept) {
		t.Fatalf("Once = %v, %v; want ran and ErrNotKept", ran, err)
	}
	var logs bytes.Buffer
	r := invocation.Reporter{Log: logging.New(&logs, slog.LevelInfo)}
	claims = &flakyClaims{Store: memstore.New(fixedClock{}), failKeep: true}
	if err := r.Once(t.Context(), claims, time.Hour, "web", "k", func() error { return nil }); err != nil {
		t.Errorf("Reporter.Once = %v, want nil: the effect is done, a retry would repeat it", err)
	}
	if !strings.Contains(logs.String(), "claim not kept") {
		t.Errorf("logs lack the warning:\n%s", logs.String())
	}
}

// A lease held by a short effect elsewhere is waited for, not failed.
func TestLeaseWaits(t *testing.T) {
	store := memstore.New(clock.System{})
	held := make(chan struct{})
	done := make(chan error)
	go func() {
		done <- invocation.Lease(t.Context(), store, "lease", 0, func() error {
			close(held)
			time.Sleep(300 * time.Millisecond)
			return nil
		})
	}()
	<-held
	ran := false
	if err := invocation.Lease(t.Context(), store, "lease", 5*time.Second, func() error { ran = true; return nil }); err != nil || !ran {
		t.Errorf("Lease with a wait: %v, ran %v; want it to run once the first is done", err, ran)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// An effect that finishes right as its context ends still keeps its claim:
// a later duplicate must not run it again.
func TestOnceKeepsTheClaimOfAnEffectDoneAtTheDeadline(t *testing.T) {
	store := ctxClaims{memstore.New(fixedClock{})}
	ctx, cancel := context.WithCancel(t.Context())
	if _, err := invocation.Once(ctx, store, "k", time.Hour, func() error { cancel(); return nil }); err != nil {
		t.Fatalf("Once: %v", err)
	}
	if ran, _ := invocation.Once(t.Context(), store, "k", time.Hour, func() error { return nil }); ran {
		t.Error("a duplicate ran the effect again: the claim was not kept")
	}
}

// ctxClaims fails calls on a context that has ended, as the SDK does.
type ctxClaims struct{ *memstore.Store }

func (c ctxClaims) Claim(ctx context.Context, key, owner string, ttl time.Duration) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	return c.Store.Claim(ctx, key, owner, ttl)
}

// claimableAt reports whether another owner could claim key at the given
// time, giving the claim back if it could.
func claimableAt(t *testing.T, store *memstore.Store, c *clock.Manual, at time.Time, key string) bool {
	t.Helper()
	c.Set(at)
	ok, err := store.Claim(t.Context(), key, "other", time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if ok {
		if err := store.Release(t.Context(), key, "other"); err != nil {
			t.Fatal(err)
		}
	}
	return ok
}
