package logging_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/google/go-cmp/cmp"

	"github.com/stampkit/stampkit/shared/logging"
)

func TestLoggerAddsRequestIDAndContextAttrs(t *testing.T) {
	var buf bytes.Buffer
	log := logging.New(&buf, slog.LevelInfo)
	ctx := lambdacontext.NewContext(t.Context(), &lambdacontext.LambdaContext{AwsRequestID: "req-1"})
	ctx = logging.With(ctx, "event_id", "ev-1")
	ctx = logging.With(ctx, "asg_name", "web")

	log.InfoContext(ctx, "decided", "to", 4)

	var got map[string]any
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatalf("log line is not JSON: %v: %s", err, buf.String())
	}
	delete(got, "time")
	want := map[string]any{"level": "INFO", "msg": "decided", "to": 4.0, "request_id": "req-1", "event_id": "ev-1", "asg_name": "web"}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("log record (-want +got):\n%s", d)
	}
}

func TestLoggerWithoutLambdaContext(t *testing.T) {
	var buf bytes.Buffer
	logging.New(&buf, slog.LevelInfo).InfoContext(context.Background(), "plain")
	var got map[string]any
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatalf("log line is not JSON: %v", err)
	}
	if _, ok := got["request_id"]; ok {
		t.Errorf("got request_id %v outside an invocation, want none", got["request_id"])
	}
}

func TestParseLevel(t *testing.T) {
	tests := []struct {
		in   string
		want slog.Level
	}{
		{"DEBUG", slog.LevelDebug},
		{"warn", slog.LevelWarn},
		{"ERROR", slog.LevelError},
		{"", slog.LevelInfo},
		{"LOUD", slog.LevelInfo},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := logging.ParseLevel(tt.in); got != tt.want {
				t.Errorf("ParseLevel(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func TestMetricsEmitsEMF(t *testing.T) {
	var buf bytes.Buffer
	at := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	m := logging.NewMetrics(&buf, "Stampkit", func() time.Time { return at })
	err := m.Emit(map[string]string{"Fleet": "web", "Function": "scaler"},
		logging.Metric{Name: "Decisions", Value: 1, Unit: logging.Count},
		logging.Metric{Name: "CapacityDelta", Value: 3})
	if err != nil {
		t.Fatalf("Emit: %v", err)
	}
	var got map[string]any
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatalf("record is not JSON: %v", err)
	}
	want := map[string]any{
		"Fleet": "web", "Function": "scaler", "Decisions": 1.0, "CapacityDelta": 3.0,
		"_aws": map[string]any{
			"Timestamp": float64(at.UnixMilli()),
			"CloudWatchMetrics": []any{map[string]any{
				"Namespace":  "Stampkit",
				"Dimensions": []any{[]any{"Fleet", "Function"}},
				"Metrics": []any{
					map[string]any{"Name": "Decisions", "Unit": "Count"},
					map[string]any{"Name": "CapacityDelta", "Unit": "None"},
				},
			}},
		},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("EMF record (-want +got):\n%s", d)
	}
}

func TestMetricsEmitNothing(t *testing.T) {
	var buf bytes.Buffer
	m := logging.NewMetrics(&buf, "Stampkit", time.Now)
	if err := m.Emit(map[string]string{"Fleet": "web"}); err != nil {
		t.Fatalf("Emit: %v", err)
	}
	if buf.Len() != 0 {
		t.Errorf("got %q for no metrics, want no output", buf.String())
	}
}

func TestMetricsWithoutDimensions(t *testing.T) {
	var buf bytes.Buffer
	m := logging.NewMetrics(&buf, "Stampkit", time.Now)
	if err := m.Emit(nil, logging.Metric{Name: "ImageBuildsFailed", Value: 1}); err != nil {
		t.Fatalf("Emit: %v", err)
	}
	if !strings.Contains(buf.String(), `"Dimensions":[[]]`) {
		t.Errorf("got %s, want an empty dimension set [[]] (null is rejected by CloudWatch)", buf.String())
	}
}
