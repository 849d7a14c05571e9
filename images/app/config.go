package main

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"time"
)

// config is the app's configuration after flags and environment.
type config struct {
	Host            string
	Port            int
	WarmUp          time.Duration
	DrainDelay      time.Duration
	ShutdownTimeout time.Duration
	MaxWork         time.Duration
	LogLevel        slog.Level
	PrintVersion    bool
}

// Addr is the listen address.
func (c config) Addr() string { return net.JoinHostPort(c.Host, strconv.Itoa(c.Port)) }

// defaultWork is what /work spends when the request names no ms.
const defaultWork = 50 * time.Millisecond

// parseConfig reads the flags in args; each flag's default comes from an
// environment variable (through getenv) and then from the built-in
// default. An invalid environment value is an error naming the variable.
func parseConfig(args []string, getenv func(string) string) (config, error) {
	cfg := config{
		Port:            8080,
		WarmUp:          10 * time.Second,
		DrainDelay:      5 * time.Second,
		ShutdownTimeout: 20 * time.Second,
		MaxWork:         2 * time.Second,
		LogLevel:        slog.LevelInfo,
	}
	var errs []error
	envString := func(name string, dst *string) {
		if v := getenv(name); v != "" {
			*dst = v
		}
	}
	envInt := func(name string, dst *int) {
		if v := getenv(name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %q is not an integer", name, v))
				return
			}
			*dst = n
		}
	}
	envDuration := func(name string, dst *time.Duration) {
		if v := getenv(name); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %q is not a duration (e.g. 5s)", name, v))
				return
			}
			*dst = d
		}
	}
	envLevel := func(name string, dst *slog.Level) {
		if v := getenv(name); v != "" {
			if err := dst.UnmarshalText([]byte(v)); err != nil {
				errs = append(errs, fmt.Errorf("%s: %q is not a log level (debug, info, warn, error)", name, v))
			}
		}
	}
	envString("STAMPKIT_APP_HOST", &cfg.Host)
	envInt("STAMPKIT_APP_PORT", &cfg.Port)
	envDuration("STAMPKIT_APP_WARMUP", &cfg.WarmUp)
	envDuration("STAMPKIT_APP_DRAIN_DELAY", &cfg.DrainDelay)
	envDuration("STAMPKIT_APP_SHUTDOWN_TIMEOUT", &cfg.ShutdownTimeout)
	envDuration("STAMPKIT_APP_MAX_WORK", &cfg.MaxWork)
	envLevel("STAMPKIT_APP_LOG_LEVEL", &cfg.LogLevel)
	if len(errs) > 0 {
		return config{}, errs[0]
	}

	fs := flag.NewFlagSet("stampkit-app", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&cfg.Host, "host", cfg.Host, "listen address (empty: all interfaces)")
	fs.IntVar(&cfg.Port, "port", cfg.Port, "listen port")
	fs.DurationVar(&cfg.WarmUp, "warmup", cfg.WarmUp, "time before /readyz reports ready")
	fs.DurationVar(&cfg.DrainDelay, "drain-delay", cfg.DrainDelay, "time /readyz reports 503 on SIGTERM before the listener closes")
	fs.DurationVar(&cfg.ShutdownTimeout, "shutdown-timeout", cfg.ShutdownTimeout, "time in-flight requests get to finish on SIGTERM")
	fs.DurationVar(&cfg.MaxWork, "max-work", cfg.MaxWork, "largest duration /work accepts")
	fs.TextVar(&cfg.LogLevel, "log-level", cfg.LogLevel, "debug, info, warn or error")
	fs.BoolVar(&cfg.PrintVersion, "version", false, "print the version and exit")
	if err := fs.Parse(args); err != nil {
		return config{}, err
	}
	if fs.NArg() > 0 {
		return config{}, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	return cfg, cfg.validate()
}

func (c config) validate() error {
	switch {
	case c.Port < 1 || c.Port > 65535:
		return fmt.Errorf("port: %d is outside 1..65535", c.Port)
	case c.WarmUp < 0:
		return fmt.Errorf("warmup: %s is negative", c.WarmUp)
	case c.DrainDelay < 0:
		return fmt.Errorf("drain-delay: %s is negative", c.DrainDelay)
	case c.ShutdownTimeout <= 0:
		return fmt.Errorf("shutdown-timeout: %s is not positive", c.ShutdownTimeout)
	case c.MaxWork < defaultWork:
		return fmt.Errorf("max-work: %s is below the default work of %s", c.MaxWork, defaultWork)
	}
	return nil
}
