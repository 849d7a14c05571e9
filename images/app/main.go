// Command app is the workload stampkit's images run: a small HTTP service
// with a liveness probe (/healthz), a readiness probe (/readyz) that the
// load balancer and the lifecycle gate read, a CPU-bound endpoint for load
// tests (/work?ms=N) and a graceful shutdown on SIGTERM.
//
// Configuration comes from flags, each defaulting to an environment
// variable (the systemd unit reads /etc/stampkit/app.env):
//
//	-host              STAMPKIT_APP_HOST              listen address ("" = all interfaces)
//	-port              STAMPKIT_APP_PORT              listen port (8080)
//	-warmup            STAMPKIT_APP_WARMUP            time before /readyz turns 200 (10s)
//	-drain-delay       STAMPKIT_APP_DRAIN_DELAY       time /readyz reports 503 before the listener closes (5s)
//	-shutdown-timeout  STAMPKIT_APP_SHUTDOWN_TIMEOUT  time in-flight requests get to finish (20s)
//	-max-work          STAMPKIT_APP_MAX_WORK          largest ms /work accepts (2s)
//	-log-level         STAMPKIT_APP_LOG_LEVEL         debug, info, warn or error (info)
//
// Logs are JSON lines (log/slog) on standard output; request lines are at
// debug level so that a load test does not flood the log shipper.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"
)

// version is the app version, set at link time with
// -ldflags "-X main.version=1.2.3"; it is never written at run time.
var version = "dev"

func main() {
	cfg, err := parseConfig(os.Args[1:], os.Getenv)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "stampkit-app: %v\n", err)
		os.Exit(2)
	}
	if cfg.PrintVersion {
		fmt.Println(version)
		return
	}
	log := slog.New(slog.NewJSONHandler(os.Stdout, &slog.HandlerOptions{Level: cfg.LogLevel}))

	// SIGTERM is what systemd (and so an instance shutdown) sends; SIGINT
	// is a developer's Ctrl-C.
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()

	ln, err := net.Listen("tcp", cfg.Addr())
	if err != nil {
		log.Error("listening", "addr", cfg.Addr(), "error", err)
		os.Exit(1)
	}
	a := newApp(cfg, log, version)
	if err := serve(ctx, a, ln); err != nil {
		log.Error("server stopped with an error", "error", err)
		os.Exit(1)
	}
}
