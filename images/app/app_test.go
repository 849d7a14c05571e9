package main

// The app is a command, so its tests are in package main.

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func testConfig() config {
	return config{
		Port:            8080,
		WarmUp:          0,
		DrainDelay:      0,
		ShutdownTimeout: 5 * time.Second,
		MaxWork:         time.Second,
		LogLevel:        slog.LevelDebug,
	}
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewJSONHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// testWriter sends log lines to t.Log, so they show only for failures.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func TestParseConfig(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		check   func(config) string // "" when as wanted
		wantErr string
	}{
		{name: "defaults", check: func(c config) string {
			if c.Addr() != ":8080" || c.WarmUp != 10*time.Second || c.DrainDelay != 5*time.Second ||
				c.ShutdownTimeout != 20*time.Second || c.MaxWork != 2*time.Second || c.LogLevel != slog.LevelInfo {
				return "not the documented defaults"
			}
			return ""
		}},
		{name: "environment", env: map[string]string{
			"STAMPKIT_APP_PORT": "9090", "STAMPKIT_APP_HOST": "127.0.0.1", "STAMPKIT_APP_WARMUP": "3s",
			"STAMPKIT_APP_LOG_LEVEL": "debug",
		}, check: func(c config) string {
			if c.Addr() != "127.0.0.1:9090" || c.WarmUp != 3*time.Second || c.LogLevel != slog.LevelDebug {
				return "environment not applied"
			}
			return ""
		}},
		{name: "flag beats environment", args: []string{"-port", "7070", "-max-work", "500ms"},
			env: map[string]string{"STAMPKIT_APP_PORT": "9090"}, check: func(c config) string {
				if c.Port != 7070 || c.MaxWork != 500*time.Millisecond {
					return "flags not applied over the environment"
				}
				return ""
			}},
		{name: "bad environment duration", env: map[string]string{"STAMPKIT_APP_DRAIN_DELAY": "5"}, wantErr: "STAMPKIT_APP_DRAIN_DELAY"},
		{name: "bad environment port", env: map[string]string{"STAMPKIT_APP_PORT": "http"}, wantErr: "STAMPKIT_APP_PORT"},
		{name: "port out of range", args: []string{"-port", "70000"}, wantErr: "port"},
		{name: "negative warm-up", args: []string{"-warmup", "-1s"}, wantErr: "warmup"},
		{name: "zero shutdown timeout", args: []string{"-shutdown-timeout", "0s"}, wantErr: "shutdown-timeout"},
		{name: "max work below default", args: []string{"-max-work", "10ms"}, wantErr: "max-work"},
		{name: "stray argument", args: []string{"serve"}, wantErr: "unexpected arguments"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := parseConfig(tc.args, func(k string) string { return tc.env[k] })
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got error %v, want one naming %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("got error %v, want none", err)
			}
			if msg := tc.check(cfg); msg != "" {
				t.Errorf("got %+v: %s", cfg, msg)
			}
		})
	}
}

// get returns the status and decoded JSON body of a GET.
func get(t *testing.T, client *http.Client, url string) (int, map[string]any) {
	t.Helper()
	resp, err := client.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("GET %s: decoding body: %v", url, err)
	}
	return resp.StatusCode, body
}

func TestReadinessFlips(t *testing.T) {
	a := newApp(testConfig(), testLogger(t), "test")
	srv := httptest.NewServer(a.handler())
	defer srv.Close()
	c := srv.Client()

	expect := func(stage string, wantReady int, wantStatus string) {
		t.Helper()
		code, body := get(t, c, srv.URL+"/readyz")
		if code != wantReady || body["status"] != wantStatus {
			t.Errorf("%s: /readyz got %d %v, want %d %q", stage, code, body["status"], wantReady, wantStatus)
		}
		if code, _ := get(t, c, srv.URL+"/healthz"); code != http.StatusOK {
			t.Errorf("%s: /healthz got %d, want 200 (liveness never depends on readiness)", stage, code)
		}
	}
	expect("before warm-up", http.StatusServiceUnavailable, "warming")

	// A cancelled warm-up never makes the app ready.
	cancelled, cancel := context.WithCancel(t.Context())
	cancel()
	a.warmUp(cancelled, time.Hour)
	expect("after a cancelled warm-up", http.StatusServiceUnavailable, "warming")

	start := time.Now()
	a.warmUp(t.Context(), 80*time.Millisecond)
	if took := time.Since(start); took < 80*time.Millisecond {
		t.Errorf("warm-up took %s, want at least 80ms", took)
	}
	expect("after warm-up", http.StatusOK, "ready")

	a.drain()
	expect("draining", http.StatusServiceUnavailable, "draining")
	// A late warm-up must not make a draining app ready again.
	a.warmUp(t.Context(), 0)
	expect("warm-up after drain", http.StatusServiceUnavailable, "draining")
}

func TestWorkBoundsItsInput(t *testing.T) {
	cfg := testConfig()
	cfg.MaxWork = 100 * time.Millisecond
	a := newApp(cfg, testLogger(t), "test")
	srv := httptest.NewServer(a.handler())
	defer srv.Close()

	tests := []struct {
		query    string
		wantCode int
		wantMS   float64
	}{
		{"", http.StatusOK, 50},
		{"?ms=0", http.StatusOK, 0},
		{"?ms=30", http.StatusOK, 30},
		{"?ms=100", http.StatusOK, 100},
		{"?ms=101", http.StatusBadRequest, 0},
		{"?ms=-1", http.StatusBadRequest, 0},
		{"?ms=1e3", http.StatusBadRequest, 0},
		{"?ms=abc", http.StatusBadRequest, 0},
		{"?ms=99999999999999999999", http.StatusBadRequest, 0},
	}
	for _, tc := range tests {
		t.Run("work"+tc.query, func(t *testing.T) {
			start := time.Now()
			code, body := get(t, srv.Client(), srv.URL+"/work"+tc.query)
			took := time.Since(start)
			if code != tc.wantCode {
				t.Fatalf("got %d %v, want %d", code, body, tc.wantCode)
			}
			if code != http.StatusOK {
				if msg, _ := body["error"].(string); !strings.Contains(msg, "0..100") {
					t.Errorf("error got %q, want it to state the bound 0..100", msg)
				}
				return
			}
			if body["ms"] != tc.wantMS {
				t.Errorf("ms got %v, want %v", body["ms"], tc.wantMS)
			}
			if want := time.Duration(tc.wantMS) * time.Millisecond; took < want {
				t.Errorf("request took %s, want at least %s of work", took, want)
			}
			if tc.wantMS > 0 && body["hashes"].(float64) < 1 {
				t.Errorf("hashes got %v, want some", body["hashes"])
			}
		})
	}

	resp, err := srv.Client().Post(srv.URL+"/work", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /work got %d, want 405", resp.StatusCode)
	}
}

// startServe runs serve on a loopback port and waits until it is ready.
func startServe(t *testing.T, cfg config) (a *app, base string, cancel context.CancelFunc, done <-chan error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a = newApp(cfg, testLogger(t), "test")
	ctx, cancel := context.WithCancel(t.Context())
	errc := make(chan error, 1)
	go func() { errc <- serve(ctx, a, ln) }()
	base = "http://" + ln.Addr().String()
	waitFor(t, "ready", func() bool { return a.phase.Load() == phaseReady })
	return a, base, cancel, errc
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

type result struct {
	code int
	err  error
	at   time.Time
}

// getAsync GETs url in the background and reports when the body is read.
func getAsync(client *http.Client, url string) <-chan result {
	out := make(chan result, 1)
	go func() {
		resp, err := client.Get(url)
		if err != nil {
			out <- result{err: err, at: time.Now()}
			return
		}
		_, err = io.ReadAll(resp.Body)
		resp.Body.Close()
		out <- result{code: resp.StatusCode, err: err, at: time.Now()}
	}()
	return out
}

func TestGracefulDrainWaitsForInFlight(t *testing.T) {
	cfg := testConfig()
	cfg.DrainDelay = 200 * time.Millisecond
	a, base, cancel, done := startServe(t, cfg)
	client := &http.Client{Timeout: 10 * time.Second}

	work := getAsync(client, base+"/work?ms=700")
	waitFor(t, "the work request in flight", func() bool { return a.inFlight.Load() == 1 })
	cancel() // as SIGTERM does

	// During the drain delay the listener still answers, readiness first.
	waitFor(t, "draining", func() bool { return a.phase.Load() == phaseDraining })
	if code, body := get(t, client, base+"/readyz"); code != http.StatusServiceUnavailable || body["status"] != "draining" {
		t.Errorf("/readyz while draining got %d %v, want 503 draining", code, body["status"])
	}

	var err error
	var stopped time.Time
	select {
	case err = <-done:
		stopped = time.Now()
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not return")
	}
	if err != nil {
		t.Fatalf("serve got error %v, want a clean shutdown", err)
	}
	r := <-work
	if r.err != nil || r.code != http.StatusOK {
		t.Fatalf("in-flight /work got %d, %v; want 200 (shutdown must wait for it)", r.code, r.err)
	}
	if stopped.Before(r.at.Add(-50 * time.Millisecond)) {
		t.Errorf("serve returned at %s, before the in-flight request finished at %s", stopped.Format(time.StampMicro), r.at.Format(time.StampMicro))
	}
	if _, err := client.Get(base + "/healthz"); err == nil {
		t.Error("GET after shutdown succeeded, want the listener closed")
	}
}

func TestShutdownDeadlineCutsOff(t *testing.T) {
	cfg := testConfig()
	cfg.MaxWork = 10 * time.Second
	cfg.ShutdownTimeout = 150 * time.Millisecond
	a, base, cancel, done := startServe(t, cfg)
	client := &http.Client{Timeout: 20 * time.Second}

	work := getAsync(client, base+"/work?ms=8000")
	waitFor(t, "the work request in flight", func() bool { return a.inFlight.Load() == 1 })
	start := time.Now()
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("serve got error %v, want one wrapping context.DeadlineExceeded", err)
		}
		if took := time.Since(start); took > 3*time.Second {
			t.Errorf("shutdown took %s, want about the 150ms deadline", took)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("serve did not return within 5s of a 150ms shutdown deadline")
	}
	if r := <-work; r.err == nil && r.code == http.StatusOK {
		t.Error("the 8 s request completed, want it cut off by the deadline")
	}
	// The handler sees its connection close and stops burning CPU.
	waitFor(t, "the cut-off request to stop", func() bool { return a.inFlight.Load() == 0 })
}
