// Package coldstart is what every stampkit Lambda reads once at cold start,
// before it builds its handler: the typed configuration, the JSON logger
// (also slog's default), the EMF metrics writer and the aws.Config the
// service clients are built from.
package coldstart

import (
	"io"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/stampkit/stampkit/shared/awsclient/lambdaenv"
	"github.com/stampkit/stampkit/shared/config"
	"github.com/stampkit/stampkit/shared/logging"
)

// Env is a function's cold-start environment.
type Env struct {
	Config  config.Config
	Log     *slog.Logger
	Metrics *logging.Metrics
	AWS     aws.Config
}

// Load reads the configuration from getenv (os.Getenv in a Lambda) and
// writes logs and metrics to out (os.Stdout, which Lambda ships to
// CloudWatch Logs). The SDK config comes from the environment Lambda sets
// alone (lambdaenv): the SDK's default chain would link SSO, STS and
// sign-in clients no function uses.
func Load(getenv func(string) string, out io.Writer) (Env, error) {
	cfg, err := config.FromEnv(getenv)
	if err != nil {
		return Env{}, err
	}
	env, err := Runtime(getenv, out)
	if err != nil {
		return Env{}, err
	}
	env.Config = cfg
	return env, nil
}

// Runtime is Load for a function whose configuration is not the fleets'
// (the shift function reads its own): the logger, the metrics, and the
// aws.Config whose clients count their retries. Env.Config stays empty.
func Runtime(getenv func(string) string, out io.Writer) (Env, error) {
	level, namespace := config.TelemetryFromEnv(getenv)
	logger := logging.New(out, level)
	slog.SetDefault(logger)
	awsCfg, err := lambdaenv.Load(getenv)
	if err != nil {
		return Env{}, err
	}
	metrics := logging.NewMetrics(out, namespace, time.Now)
	awsCfg.APIOptions = append(awsCfg.APIOptions, countRetries(metrics))
	return Env{Log: logger, AWS: awsCfg, Metrics: metrics}, nil
}

// Fail writes why function could not start as one JSON line at ERROR to
// out (os.Stdout: Load may have failed before it had a logger) and returns
// the exit status for os.Exit. Lambda then reports an init error, and the
// line is what the log group shows at any log level.
func Fail(out io.Writer, function string, err error) int {
	slog.New(slog.NewJSONHandler(out, nil)).Error("function cannot start", "function", function, "error", err.Error())
	return 1
}
