package invocation_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/stampkit/stampkit/shared/clock"
	"github.com/stampkit/stampkit/shared/event"
	"github.com/stampkit/stampkit/shared/invocation"
	"github.com/stampkit/stampkit/shared/logging"
	"github.com/stampkit/stampkit/shared/memstore"
)

// TestFailedEffectLogsOneErrorLine: at the WARN level Lambda's advanced
// logging can set, a failed invocation still leaves exactly one line, at
// ERROR, naming the event, the fleet, what was left undone and why.
func TestFailedEffectLogsOneErrorLine(t *testing.T) {
	tests := []struct {
		name      string
		err       error
		wantFault string
	}{
		{"throttled", &smithy.GenericAPIError{Code: "Throttling", Message: "Rate exceeded"}, invocation.FaultThrottled},
		{"rejected", &smithy.GenericAPIError{Code: "ValidationError", Message: "bad"}, invocation.FaultRejected},
		{"busy", invocation.ErrBusy, invocation.FaultBusy},
		{"timed out", context.DeadlineExceeded, invocation.FaultTimeout},
		{"connection", errors.New("read tcp 127.0.0.1:1->127.0.0.1:2: read: connection reset by peer"), invocation.FaultConnection},
		{"server", &smithyhttp.ResponseError{Response: &smithyhttp.Response{Response: &http.Response{StatusCode: 500}}, Err: errors.New("InternalFailure")}, invocation.FaultServer},
		{"other", errors.New("decoding rollout record: unexpected end of JSON input"), invocation.FaultOther},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs, emf bytes.Buffer
			c := clock.NewManual(time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC))
			r := invocation.Reporter{Log: logging.New(&logs, slog.LevelWarn), Metrics: logging.NewMetrics(&emf, "Stampkit", c.Now)}
			store := memstore.New(c)
			err := invocation.Each(t.Context(), r.Log, []byte(tick), func(ctx context.Context, _ event.Event) error {
				ctx = logging.With(ctx, "fleet", "web")
				return r.Once(ctx, store, time.Hour, "web", "scale#web@t", func() error {
					return errors.Join(errors.New("setting desired capacity of web-asg to 4"), tt.err)
				})
			})
			if err == nil {
				t.Fatal("Each: got nil, want the effect's error")
			}
			lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
			if len(lines) != 1 {
				t.Fatalf("log: got %d lines, want exactly 1:\n%s", len(lines), logs.String())
			}
			var rec map[string]any
			if err := json.Unmarshal([]byte(lines[0]), &rec); err != nil {
				t.Fatal(err)
			}
			for k, want := range map[string]string{
				"level": "ERROR", "event_id": "ev-1", "fleet": "web", "undone": "scale#web@t", "fault": tt.wantFault,
			} {
				if got, _ := rec[k].(string); got != want {
					t.Errorf("%s: got %q, want %q", k, got, want)
				}
			}
			if e, _ := rec["error"].(string); !strings.Contains(e, "setting desired capacity") {
				t.Errorf("error: got %q, want the whole chain", e)
			}
			if !strings.Contains(emf.String(), `"EffectsFailed":1`) || !strings.Contains(emf.String(), `"Fault":"`+tt.wantFault+`"`) {
				t.Errorf("metrics: want EffectsFailed with Fault=%s, got %s", tt.wantFault, emf.String())
			}
		})
	}
}

func TestPanicLeavesItsErrorLine(t *testing.T) {
	var logs bytes.Buffer
	log := logging.New(&logs, slog.LevelWarn)
	defer func() {
		if recover() == nil {
			t.Error("the panic was swallowed; want it to go on to the runtime")
		}
		if !strings.Contains(logs.String(), `"level":"ERROR"`) || !strings.Contains(logs.String(), `"fault":"panic"`) ||
			!strings.Contains(logs.String(), `"event_id":"ev-1"`) {
			t.Errorf("log: want one ERROR line for the panic, got\n%s", logs.String())
		}
	}()
	_ = invocation.Each(t.Context(), log, []byte(tick), func(context.Context, event.Event) error { panic("index out of range") })
}

// TestNestedClaimsCountOnceAndNameEveryFleet: a tick holds each alarm's
// claim under its own, and may fail for two fleets at once.
func TestNestedClaimsCountOnceAndNameEveryFleet(t *testing.T) {
	var logs, emf bytes.Buffer
	c := clock.NewManual(time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC))
	r := invocation.Reporter{Log: logging.New(&logs, slog.LevelWarn), Metrics: logging.NewMetrics(&emf, "Stampkit", c.Now)}
	store := memstore.New(c)
	err := invocation.Each(t.Context(), r.Log, []byte(tick), func(ctx context.Context, _ event.Event) error {
		var errs []error
		for _, fleet := range []string{"web", "api"} {
			errs = append(errs, r.Once(ctx, store, time.Hour, fleet, "tick#"+fleet, func() error {
				return r.Once(ctx, store, time.Hour, fleet, "alarm#"+fleet, func() error { return errors.New("throttled") })
			}))
		}
		return errors.Join(errs...)
	})
	if err == nil {
		t.Fatal("Each: got nil, want the failures")
	}
	if n := strings.Count(emf.String(), `"EffectsFailed":1`); n != 2 {
		t.Errorf("EffectsFailed records: got %d, want 2 (one per failed effect, not per claim)", n)
	}
	var rec map[string]any
	if err := json.Unmarshal([]byte(strings.TrimSpace(logs.String())), &rec); err != nil {
		t.Fatalf("want exactly one log line: %v\n%s", err, logs.String())
	}
	if rec["fleet"] != "web,api" || rec["undone"] != "tick#web,tick#api" {
		t.Errorf("fleet %v, undone %v; want both fleets and both claims", rec["fleet"], rec["undone"])
	}
}
