// Package config is the toolkit's one typed configuration. The CDK app
// builds it from cdk.json context, validates it, and hands it to each
// Lambda: the fleets in a file bundled with the function's code
// (EnvFleetsFile) or, for a few small fleets, in its environment (Env);
// the Lambdas read it back once at cold start with FromEnv. One
// declaration drives both the AWS resources and the code.
package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/stampkit/stampkit/shared/lifecycle"
	"github.com/stampkit/stampkit/shared/logging"
	"github.com/stampkit/stampkit/shared/scaling"
)

// Environment variable names.
const (
	EnvTable  = "STAMPKIT_TABLE"
	EnvFleets = "STAMPKIT_FLEETS"
	// EnvFleetsFile names a file holding what EnvFleets would hold. Lambda
	// caps a function's environment at 4 KB in all, which two or three
	// fleets fill (Lambda quotas, "Function configuration, deployment, and
	// execution": https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html);
	// the file, bundled with the code, has no such cap. A relative path is
	// resolved against EnvTaskRoot. Exactly one of the two is set.
	EnvFleetsFile = "STAMPKIT_FLEETS_FILE"
	// EnvTaskRoot is the directory Lambda unpacks the function's code into
	// (a reserved variable: "Defined runtime environment variables",
	// https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime).
	// Unset, as outside Lambda, a relative EnvFleetsFile is resolved against
	// the working directory.
	EnvTaskRoot  = "LAMBDA_TASK_ROOT"
	EnvNamespace = "STAMPKIT_METRIC_NAMESPACE"
	// EnvLogLevel is the variable Lambda's advanced logging controls set.
	EnvLogLevel = "AWS_LAMBDA_LOG_LEVEL"
)

// DefaultNamespace is the CloudWatch namespace of the toolkit's metrics.
const DefaultNamespace = "Stampkit"

// Config is what every function needs.
type Config struct {
	// Table is the DynamoDB table holding idempotency claims, cooldowns and
	// rollout records.
	Table     string
	Namespace string
	LogLevel  slog.Level
	// Fleets are the fleets of a configuration built in process or read
	// from EnvFleets. Read from a fleets file, they are decoded one at a
	// time on first use and Fleets is empty: the functions read them with
	// FleetNames, FleetByName, FleetByGroup and FleetByAlarm, which serve
	// both.
	Fleets []Fleet
	// file holds the fleets read from a fleets file (fleetfile.go).
	file *fleetFile
}

// Fleet is one Auto Scaling group the toolkit manages.
type Fleet struct {
	Name string `json:"name"`
	// Group is the Auto Scaling group's name.
	Group string `json:"group"`
	// DryRun makes the functions decide, log and count, but change nothing.
	DryRun bool `json:"dryRun,omitempty"`
	// Scaling is how the scaler sizes the fleet; a fleet without one is not
	// scaled by the toolkit, and only the scaler function is given it.
	Scaling scaling.Policy `json:"scaling,omitzero"`
	// Lifecycle gates launches and drains terminations (shared/lifecycle).
	Lifecycle lifecycle.Policy `json:"lifecycle,omitzero"`
	// Hooks names the lifecycle hooks the toolkit answers on the fleet's
	// groups; only the lifecycle function is given them.
	Hooks Hooks `json:"hooks,omitzero"`
	// Rollout stamps new images into the fleet (shared/rollout).
	Rollout Rollout `json:"rollout,omitzero"`
}

// TelemetryFromEnv reads what every function logs and measures with: the
// log level Lambda's advanced logging controls set (EnvLogLevel) and the
// metrics' namespace (EnvNamespace, default DefaultNamespace).
func TelemetryFromEnv(getenv func(string) string) (level slog.Level, namespace string) {
	namespace = getenv(EnvNamespace)
	if namespace == "" {
		namespace = DefaultNamespace
	}
	return logging.ParseLevel(getenv(EnvLogLevel)), namespace
}

// FromEnv reads and validates the configuration; getenv is os.Getenv in a
// Lambda and a map lookup in tests. The fleets come from EnvFleets or from
// the file EnvFleetsFile names, read once here and never again. A changed
// file is changed code: it reaches the function only by a code update (a
// new version: a version's code is immutable, "Manage Lambda function
// versions", https://docs.aws.amazon.com/lambda/latest/dg/configuration-versions.html),
// after which Lambda processes events with the new code ("LastUpdateStatus",
// https://docs.aws.amazon.com/lambda/latest/api/API_UpdateFunctionConfiguration.html),
// in environments that ran this cold start again. So nothing read here can
// go stale, and there is no cache to invalidate.
//
// The fleets file is checked here only as far as events are routed by
// it (readFleetsFile); each fleet is decoded and checked in full on first
// use, and a fleet that fails then fails every event that needs it.
func FromEnv(getenv func(string) string) (Config, error) {
	c := Config{Table: getenv(EnvTable)}
	c.LogLevel, c.Namespace = TelemetryFromEnv(getenv)
	raw, source, err := fleetsJSON(getenv)
	if err != nil {
		return Config{}, err
	}
	if source != EnvFleets {
		file, err := readFleetsFile(raw, source)
		if !errors.Is(err, errScan) {
			if err := errors.Join(append(c.checkTable(), err)...); err != nil {
				return Config{}, err
			}
			c.file = file
			return c, nil
		}
		// Not laid out as the scan reads it: decoded whole, below, so that
		// encoding/json says what is wrong. The environment's few fleets
		// (4 KB) are decoded whole too, as they always were.
	}
	fleets, err := decodeFleets(raw, source)
	if err != nil {
		return Config{}, err
	}
	c.Fleets = fleets
	if err := c.validate(source); err != nil {
		return Config{}, err
	}
	return c, nil
}

// decodeFleets decodes the whole array of fleets at once. Unknown fields
// are refused, as the CDK app refuses them in cdk.json: a misspelt key
// silently ignored is a policy silently not applied.
func decodeFleets(raw []byte, source string) ([]Fleet, error) {
	var fleets []Fleet
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&fleets); err != nil {
		return nil, fmt.Errorf("%s: not a JSON array of fleets as this code knows them: %w", source, err)
	}
	return fleets, nil
}

// fleetsJSON returns the fleets' JSON and what to call its source in
// errors: EnvFleets, or the path of the file EnvFleetsFile names.
func fleetsJSON(getenv func(string) string) (raw []byte, source string, err error) {
	inline, file := getenv(EnvFleets), getenv(EnvFleetsFile)
	switch {
	case inline != "" && file != "":
		return nil, "", fmt.Errorf("%s and %s: both are set; set one (the fleets as JSON, or a file holding them)", EnvFleets, EnvFleetsFile)
	case inline != "":
		return []byte(inline), EnvFleets, nil
	case file == "":
		return nil, "", fmt.Errorf("%s and %s: neither is set; one holds the fleets as JSON, the other names a file holding them", EnvFleets, EnvFleetsFile)
	}
	if root := getenv(EnvTaskRoot); root != "" && !filepath.IsAbs(file) {
		file = filepath.Join(root, file)
	}
	raw, err = os.ReadFile(file)
	if err != nil {
		return nil, "", fmt.Errorf("%s: reading the fleets: %w", EnvFleetsFile, err)
	}
	return raw, file, nil
}

// Env returns the environment that FromEnv reads back as c.
func (c Config) Env() (map[string]string, error) {
	list, err := c.fleetList()
	if err != nil {
		return nil, err
	}
	fleets, err := json.Marshal(list)
	if err != nil {
		return nil, fmt.Errorf("encoding %s: %w", EnvFleets, err)
	}
	return map[string]string{
		EnvTable:     c.Table,
		EnvNamespace: c.Namespace,
		EnvFleets:    string(fleets),
	}, nil
}

// Validate reports every problem, each naming the key that holds it. Of
// fleets read from a file, it decodes every one.
func (c Config) Validate() error {
	if c.file != nil {
		_, err := c.file.all()
		return errors.Join(append(c.checkTable(), err)...)
	}
	return c.validate(EnvFleets)
}

// validate is Validate with the fleets' problems named under source
// (EnvFleets, or the file holding them).
func (c Config) validate(source string) error {
	errs := c.checkTable()
	routes := make([]route, len(c.Fleets))
	for i, f := range c.Fleets {
		routes[i] = routeOf(f)
	}
	_, routeErrs := indexRoutes(source, routes)
	errs = append(errs, routeErrs...)
	for i, f := range c.Fleets {
		errs = append(errs, validateFleet(fleetKey(source, i), f)...)
	}
	return errors.Join(errs...)
}

func (c Config) checkTable() []error {
	if c.Table == "" {
		return []error{fmt.Errorf("%s: is not set; it names the state table", EnvTable)}
	}
	return nil
}

// fleetKey names the i-th fleet of source in errors.
func fleetKey(source string, i int) string { return fmt.Sprintf("%s[%d]", source, i) }

// validateFleet checks what of a fleet no other fleet bears on, its
// policies; key names the fleet.
func validateFleet(key string, f Fleet) []error {
	var errs []error
	if !f.Scaling.IsZero() {
		errs = append(errs, prefixed(key+".scaling", f.Scaling.Validate())...)
	}
	errs = append(errs, validateLifecycle(key, f)...)
	return append(errs, validateRollout(key, f)...)
}

// prefixed puts prefix before each error that err joins, so every line of a
// nested validation names its full key.
func prefixed(prefix string, err error) []error {
	if err == nil {
		return nil
	}
	list := []error{err}
	if joined, ok := err.(interface{ Unwrap() []error }); ok {
		list = joined.Unwrap()
	}
	out := make([]error, len(list))
	for i, e := range list {
		out[i] = fmt.Errorf("%s.%w", prefix, e)
	}
	return out
}
