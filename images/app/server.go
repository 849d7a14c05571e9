package main

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"
)

// Phases of the app's life, as /readyz reports them.
const (
	phaseWarming int32 = iota
	phaseReady
	phaseDraining
)

var phaseNames = [...]string{phaseWarming: "warming", phaseReady: "ready", phaseDraining: "draining"}

// app is the service's state: its phase and the requests in flight.
type app struct {
	cfg      config
	log      *slog.Logger
	version  string
	started  time.Time
	phase    atomic.Int32
	inFlight atomic.Int64
}

func newApp(cfg config, log *slog.Logger, version string) *app {
	return &app{cfg: cfg, log: log, version: version, started: time.Now()}
}

// handler routes the app's endpoints behind the request middleware.
func (a *app) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", a.healthz)
	mux.HandleFunc("GET /readyz", a.readyz)
	mux.HandleFunc("GET /work", a.work)
	return a.track(mux)
}

// warmUp stands for the start-up work a real service does before it can
// serve well (loading caches, opening pools): it waits d, then marks the
// app ready unless it is already draining or ctx ends first.
func (a *app) warmUp(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return
	case <-t.C:
	}
	if a.phase.CompareAndSwap(phaseWarming, phaseReady) {
		a.log.InfoContext(ctx, "ready", "warmup", d.String(), "version", a.version)
	}
}

// drain marks the app draining: /readyz turns 503 for good, so the load
// balancer and the lifecycle gate stop sending it new work.
func (a *app) drain() { a.phase.Store(phaseDraining) }

func (a *app) healthz(w http.ResponseWriter, r *http.Request) {
	// Liveness stays 200 while draining: the process is healthy, it is
	// only leaving; restarting it would cut the requests it is finishing.
	writeJSON(w, http.StatusOK, map[string]any{
		"status":   "ok",
		"version":  a.version,
		"uptime_s": int(time.Since(a.started).Seconds()),
	})
}

func (a *app) readyz(w http.ResponseWriter, r *http.Request) {
	p := a.phase.Load()
	code := http.StatusServiceUnavailable
	if p == phaseReady {
		code = http.StatusOK
	}
	writeJSON(w, code, map[string]any{"status": phaseNames[p], "in_flight": a.inFlight.Load()})
}

// work burns CPU for ?ms= milliseconds (default 50), bounded by MaxWork so
// that a load test cannot pin a core for minutes with one request.
func (a *app) work(w http.ResponseWriter, r *http.Request) {
	d := defaultWork
	if s := r.URL.Query().Get("ms"); s != "" {
		ms, err := strconv.Atoi(s)
		if err != nil || ms < 0 || time.Duration(ms)*time.Millisecond > a.cfg.MaxWork {
			writeJSON(w, http.StatusBadRequest, map[string]any{
				"error": fmt.Sprintf("ms must be an integer in 0..%d, got %q", a.cfg.MaxWork.Milliseconds(), s),
			})
			return
		}
		d = time.Duration(ms) * time.Millisecond
	}
	start := time.Now()
	n, err := spin(r.Context(), d)
	if err != nil {
		// The client went away or the server is closing: nobody reads a
		// response, but log why the work stopped short.
		a.log.WarnContext(r.Context(), "work cut short", "ms", d.Milliseconds(), "error", err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"ms":         d.Milliseconds(),
		"elapsed_ms": time.Since(start).Milliseconds(),
		"hashes":     n,
	})
}

// spin hashes a buffer until d has passed, checking ctx between rounds.
// It returns the number of hashes.
func spin(ctx context.Context, d time.Duration) (int, error) {
	var buf [1024]byte
	deadline := time.Now().Add(d)
	n := 0
	for time.Now().Before(deadline) {
		for range 32 {
			sum := sha256.Sum256(buf[:])
			copy(buf[:], sum[:])
			n++
		}
		if err := ctx.Err(); err != nil {
			return n, err
		}
	}
	return n, nil
}

// track counts requests in flight and logs each one (debug level; server
// errors at warn).
func (a *app) track(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.inFlight.Add(1)
		defer a.inFlight.Add(-1)
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		level := slog.LevelDebug
		if rec.status >= 500 && r.URL.Path != "/readyz" {
			level = slog.LevelWarn
		}
		a.log.Log(r.Context(), level, "request",
			"method", r.Method, "path", r.URL.Path, "status", rec.status,
			"duration_ms", time.Since(start).Milliseconds(), "remote_addr", r.RemoteAddr)
	})
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

func writeJSON(w http.ResponseWriter, code int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(body) // a failed write means the client left
}

// serve runs the app on ln until ctx ends, then shuts down gracefully:
// /readyz turns 503 at once, the listener keeps accepting for DrainDelay
// (the load balancer needs a few health checks to notice), then it closes
// and in-flight requests get ShutdownTimeout to finish. It returns nil
// after a clean shutdown and an error if requests were cut off.
func serve(ctx context.Context, a *app, ln net.Listener) error {
	srv := &http.Server{
		Handler:           a.handler(),
		ReadHeaderTimeout: 5 * time.Second,
		IdleTimeout:       75 * time.Second, // above the ALB's 60 s idle timeout
		ErrorLog:          slog.NewLogLogger(a.log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	warmCtx, stopWarm := context.WithCancel(ctx)
	defer stopWarm()
	go a.warmUp(warmCtx, a.cfg.WarmUp)
	a.log.InfoContext(ctx, "listening", "addr", ln.Addr().String(), "version", a.version, "warmup", a.cfg.WarmUp.String())

	select {
	case err := <-served:
		return fmt.Errorf("serving on %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	ctx = context.WithoutCancel(ctx)
	a.drain()
	// New connections make the load balancer pick another target sooner.
	srv.SetKeepAlivesEnabled(false)
	a.log.InfoContext(ctx, "draining", "in_flight", a.inFlight.Load(), "drain_delay", a.cfg.DrainDelay.String())
	time.Sleep(a.cfg.DrainDelay)

	shutdownCtx, cancel := context.WithTimeout(ctx, a.cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		left := a.inFlight.Load()
		_ = srv.Close() // cut what is left; Close's error adds nothing
		return fmt.Errorf("shutting down with %d requests in flight after %s: %w", left, a.cfg.ShutdownTimeout, err)
	}
	if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serving on %s: %w", ln.Addr(), err)
	}
	a.log.InfoContext(ctx, "stopped")
	return nil
}
