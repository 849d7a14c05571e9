package stamp

import (
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/constructs-go/constructs/v10"

	"github.com/stampkit/stampkit/infra/stampconfig"
	"github.com/stampkit/stampkit/shared/config"
)

// The configuration's types, parsing and validation live in
// infra/stampconfig, which imports no CDK, so that the stampkit CLI can
// read and check cdk.json without jsii or Node. These aliases keep the
// library's API as it was.
type (
	// Config is one stamp's typed configuration (stampconfig.Config).
	Config = stampconfig.Config
	// FleetConfig declares one fleet (stampconfig.FleetConfig).
	FleetConfig = stampconfig.FleetConfig
	// WarmPool is a group's warm pool (stampconfig.WarmPool).
	WarmPool = stampconfig.WarmPool
	// ScalingTarget is what scaling.DefaultPolicy holds the fleet at
	// (stampconfig.ScalingTarget).
	ScalingTarget = stampconfig.ScalingTarget
	// HealthAlarms are the thresholds of a fleet's health alarms
	// (stampconfig.HealthAlarms).
	HealthAlarms = stampconfig.HealthAlarms
	// Names are the physical names of a stamp's resources
	// (stampconfig.Names).
	Names = stampconfig.Names
)

// Context keys read from cdk.json (stampconfig's).
const (
	CtxStamp                     = stampconfig.CtxStamp
	CtxStamps                    = stampconfig.CtxStamps
	CtxStackName                 = stampconfig.CtxStackName
	CtxAccount                   = stampconfig.CtxAccount
	CtxRegion                    = stampconfig.CtxRegion
	CtxAssetsDir                 = stampconfig.CtxAssetsDir
	CtxMaxAzs                    = stampconfig.CtxMaxAzs
	CtxNatGateways               = stampconfig.CtxNatGateways
	CtxLogRetentionDays          = stampconfig.CtxLogRetentionDays
	CtxScalerReservedConcurrency = stampconfig.CtxScalerReservedConcurrency
	CtxFleets                    = stampconfig.CtxFleets
	CtxAppVersion                = stampconfig.CtxAppVersion
	CtxAlarmEmail                = stampconfig.CtxAlarmEmail
	CtxProfile                   = stampconfig.CtxProfile
	CtxInterfaceEndpoints        = stampconfig.CtxInterfaceEndpoints
	CtxCommandPrincipals         = stampconfig.CtxCommandPrincipals
	CtxImageKmsKeyArns           = stampconfig.CtxImageKmsKeyArns
)

// Defaults and bounds of the configuration (stampconfig's).
const (
	DefaultAccount                = stampconfig.DefaultAccount
	DefaultRegion                 = stampconfig.DefaultRegion
	DefaultAssetsDir              = stampconfig.DefaultAssetsDir
	DefaultAppVersion             = stampconfig.DefaultAppVersion
	DefaultStampName              = stampconfig.DefaultStampName
	DefaultTargetCPU              = stampconfig.DefaultTargetCPU
	DefaultTarget5xxPerMinute     = stampconfig.DefaultTarget5xxPerMinute
	DefaultElb5xxPerMinute        = stampconfig.DefaultElb5xxPerMinute
	DefaultP99LatencySeconds      = stampconfig.DefaultP99LatencySeconds
	DefaultUnhealthyHostMinutes   = stampconfig.DefaultUnhealthyHostMinutes
	MaxUnhealthyHostMinutes       = stampconfig.MaxUnhealthyHostMinutes
	ProfileDemo                   = stampconfig.ProfileDemo
	ProfileProduction             = stampconfig.ProfileProduction
	DemoAccessLogDays             = stampconfig.DemoAccessLogDays
	ProductionAccessLogDays       = stampconfig.ProductionAccessLogDays
	MinProductionLogRetentionDays = stampconfig.MinProductionLogRetentionDays
	PlaceholderGroup              = stampconfig.PlaceholderGroup
	PlaceholderLoadBalancer       = stampconfig.PlaceholderLoadBalancer
	PlaceholderTargetGroup        = stampconfig.PlaceholderTargetGroup
	LambdaEnvLimit                = stampconfig.LambdaEnvLimit
	LifecycleTimeout              = stampconfig.LifecycleTimeout
	LifecycleWakeVisibility       = stampconfig.LifecycleWakeVisibility
	LaunchHookName                = stampconfig.LaunchHookName
	TerminateHookName             = stampconfig.TerminateHookName
)

// ParseConfig reads one stamp's configuration (stampconfig.ParseConfig).
func ParseConfig(get func(key string) any) (Config, error) { return stampconfig.ParseConfig(get) }

// ParseStamps reads every stamp's configuration (stampconfig.ParseStamps).
func ParseStamps(get func(key string) any) ([]Config, error) { return stampconfig.ParseStamps(get) }

// LoadConfig reads and validates the configuration from a construct's
// context (the App's node in main).
func LoadConfig(node constructs.Node) (Config, error) {
	return ParseConfig(func(key string) any { return node.TryGetContext(&key) })
}

// LoadStamps reads and validates the stamps from a construct's context
// (the App's node in main): one Config per stamp, each complete. It checks
// the context as `stampkit validate` checks cdk.json
// (stampconfig.ParseContext), the build output included.
func LoadStamps(node constructs.Node) ([]Config, error) {
	// The keys only: nested values read through GetAllContext do not
	// come back from jsii as TryGetContext returns them.
	all, _ := node.GetAllContext(nil).(map[string]any)
	ctx := make(map[string]any, len(all))
	for key := range all {
		ctx[key] = node.TryGetContext(&key)
	}
	return stampconfig.ParseContext(ctx, true)
}

// NamesOf returns the names of the stamp named stamp (stampconfig.NamesOf).
func NamesOf(stamp string) Names { return stampconfig.NamesOf(stamp) }

// CheckStampName reports what is wrong with name as a stamp's name.
func CheckStampName(name string) error { return stampconfig.CheckStampName(name) }

// ResourcesParameter is the SSM parameter holding a blue/green fleet's
// listener and target group ARNs (stampconfig.ResourcesParameter).
func ResourcesParameter(parameterPrefix string) string {
	return stampconfig.ResourcesParameter(parameterPrefix)
}

// HandlerNames returns the Lambda functions `make build` writes to
// <assetsDir>/<name>/bootstrap.
func HandlerNames() []string { return stampconfig.HandlerNames() }

// HookNames returns the names of the toolkit's lifecycle hooks.
func HookNames() []string { return stampconfig.HookNames() }

// FleetsFor returns what function reads of fleets (stampconfig.FleetsFor).
func FleetsFor(function string, fleets []config.Fleet) []config.Fleet {
	return stampconfig.FleetsFor(function, fleets)
}

// LogRetention returns c's log retention as CDK's enum; Validate has
// checked that CloudWatch Logs accepts it.
func LogRetention(c Config) awslogs.RetentionDays {
	return retentionDays[c.LogRetentionDays]
}

// retentionDays maps the day counts CloudWatch Logs accepts to CDK's enum.
var retentionDays = map[int]awslogs.RetentionDays{
	1: awslogs.RetentionDays_ONE_DAY, 3: awslogs.RetentionDays_THREE_DAYS,
	5: awslogs.RetentionDays_FIVE_DAYS, 7: awslogs.RetentionDays_ONE_WEEK,
	14: awslogs.RetentionDays_TWO_WEEKS, 30: awslogs.RetentionDays_ONE_MONTH,
	60: awslogs.RetentionDays_TWO_MONTHS, 90: awslogs.RetentionDays_THREE_MONTHS,
	120: awslogs.RetentionDays_FOUR_MONTHS, 150: awslogs.RetentionDays_FIVE_MONTHS,
	180: awslogs.RetentionDays_SIX_MONTHS, 365: awslogs.RetentionDays_ONE_YEAR,
	400: awslogs.RetentionDays_THIRTEEN_MONTHS, 545: awslogs.RetentionDays_EIGHTEEN_MONTHS,
	731: awslogs.RetentionDays_TWO_YEARS, 1096: awslogs.RetentionDays_THREE_YEARS,
	1827: awslogs.RetentionDays_FIVE_YEARS,
}
