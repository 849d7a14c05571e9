package invocation_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/stampkit/stampkit/shared/event"
	"github.com/stampkit/stampkit/shared/invocation"
)

type wakeCall struct {
	key string
	at  time.Time
}

type fakeScheduler struct {
	calls []wakeCall
	err   error
}

func (f *fakeScheduler) WakeAt(_ context.Context, key string, at time.Time) error {
	f.calls = append(f.calls, wakeCall{key, at})
	return f.err
}

func TestForwardEarly(t *testing.T) {
	due := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name      string
		now       time.Time
		err       error
		wantEarly bool
		wantErr   bool
	}{
		{name: "due now", now: due},
		{name: "late", now: due.Add(time.Minute)},
		{name: "early within tolerance", now: due.Add(-invocation.EarlyTolerance)},
		{name: "a link in a long wait", now: due.Add(-10 * time.Minute), wantEarly: true},
		{name: "sending on fails", now: due.Add(-10 * time.Minute), err: errors.New("throttled"), wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &fakeScheduler{err: tt.err}
			tick := &event.Tick{At: due, Key: "rollout#web"}
			early, err := invocation.ForwardEarly(t.Context(), slog.New(slog.NewJSONHandler(io.Discard, nil)), s, tt.now, tick)
			if early != tt.wantEarly || (err != nil) != tt.wantErr {
				t.Fatalf("ForwardEarly = %v, %v; want %v, error %v", early, err, tt.wantEarly, tt.wantErr)
			}
			sent := tt.wantEarly || tt.wantErr
			if want := []wakeCall{{"rollout#web", due}}; sent && (len(s.calls) != 1 || s.calls[0] != want[0]) {
				t.Errorf("WakeAt calls = %v, want %v", s.calls, want)
			}
			if !sent && len(s.calls) != 0 {
				t.Errorf("WakeAt calls = %v, want none", s.calls)
			}
		})
	}
}

func TestAheadOfRecord(t *testing.T) {
	recorded := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		at     time.Time // the wake-up's due time
		now    time.Time
		expect bool
	}{
		{name: "older than the record: stale", at: recorded.Add(-time.Minute), now: recorded},
		{name: "newer and due now: its save may be on its way", at: recorded.Add(time.Second), now: recorded.Add(time.Second), expect: true},
		{name: "newer, due, but older than any save takes: stale", at: recorded.Add(time.Second), now: recorded.Add(time.Second + invocation.SaveInFlight)},
		{name: "a link of a longer wait the record no longer expects: stale", at: recorded.Add(time.Hour), now: recorded.Add(15 * time.Minute)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := invocation.AheadOfRecord(&event.Tick{At: tt.at}, recorded, tt.now); got != tt.expect {
				t.Errorf("AheadOfRecord = %v, want %v", got, tt.expect)
			}
		})
	}
}
