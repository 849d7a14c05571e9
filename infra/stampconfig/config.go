package stampconfig

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/stampkit/stampkit/shared/clock"
	"github.com/stampkit/stampkit/shared/config"
	"github.com/stampkit/stampkit/shared/lifecycle"
	"github.com/stampkit/stampkit/shared/rollout"
	"github.com/stampkit/stampkit/shared/scaling"
)

// Context keys read from cdk.json (or `cdk -c key=value`).
const (
	// CtxStamp names the stamp when cdk.json declares no stamps[]
	// (default DefaultStampName).
	CtxStamp                     = "stamp"
	CtxStackName                 = "stackName"
	CtxAccount                   = "account"
	CtxRegion                    = "region"
	CtxAssetsDir                 = "assetsDir"
	CtxMaxAzs                    = "maxAzs"
	CtxNatGateways               = "natGateways"
	CtxLogRetentionDays          = "logRetentionDays"
	CtxScalerReservedConcurrency = "scalerReservedConcurrency"
	CtxFleets                    = "fleets"
	CtxAppVersion                = "appVersion"
	CtxAlarmEmail                = "alarmEmail"
	CtxProfile                   = "profile"
	CtxInterfaceEndpoints        = "interfaceEndpoints"
	CtxCommandPrincipals         = "commandPrincipals"
	CtxImageKmsKeyArns           = "imageKmsKeyArns"
)

// Defaults for keys that cdk.json may leave out. The account is a fixed
// placeholder so that `cdk synth` needs no credentials; a deploy overrides it
// with -c account=… (and the matching availability-zones context key).
const (
	DefaultAccount   = "111111111111"
	DefaultRegion    = "us-east-1"
	DefaultAssetsDir = "bin/arm64"
	// DefaultAppVersion tags images baked from a build that names no
	// version (`make synth` passes the git description).
	DefaultAppVersion = "dev"
)

// maxStackNameLength is CloudFormation's 128 characters for a stack's
// name, less what the weights stack adds to it.
const maxStackNameLength = 128 - len(WeightsStackSuffix)

// WeightsStackSuffix names a stamp's weights stack after the stamp's
// (stamp.WeightsStackName).
const WeightsStackSuffix = "-weights"

// HandlerNames returns the Lambda functions `make build` writes to
// <assetsDir>/<name>/bootstrap.
func HandlerNames() []string { return []string{"scaler", "lifecycle", "rollout"} }

// Config is one stamp's typed configuration, read once from the CDK
// context (ParseStamps). Each fleet's scaling, lifecycle and rollout
// policies are declared here once, in the shared packages' own types: the
// stack derives the alarms, hooks and rules from them and writes them,
// bound to the deployed resources, into each function's fleets file
// (FleetsFor, stageFunctionCode).
type Config struct {
	// Name is the stamp's (default DefaultStampName): every physical name
	// the stamp sets carries it (Names), and StampTagKey tags every
	// resource with it.
	Name string `json:"name"`
	// StackName is the stamp's stack's (default Names.Stack,
	// "stampkit-<name>").
	StackName string `json:"stackName,omitempty"`
	// Account is the AWS account the stamp deploys to (default
	// DefaultAccount, a placeholder that lets `cdk synth` run without
	// credentials; a deploy sets the real one).
	Account string `json:"account"`
	// Region is the AWS Region the stamp deploys to.
	Region string `json:"region"`
	// AssetsDir is where `make build` wrote the functions' bootstraps and
	// the app binary the images bake, relative to cdk.json.
	AssetsDir string `json:"assetsDir"`
	// MaxAzs is how many Availability Zones the VPC spans.
	MaxAzs int `json:"maxAzs"`
	// NatGateways is how many NAT gateways give the private subnets
	// egress, at most one per zone (production wants one per zone, or
	// interfaceEndpoints).
	NatGateways int `json:"natGateways"`
	// LogRetentionDays applies to the Lambda and VPC flow log groups; it
	// must be a value CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, …).
	LogRetentionDays int `json:"logRetentionDays"`
	// ScalerReservedConcurrency reserves concurrency for the scaler; 0
	// reserves nothing. The scaler serialises each fleet's decisions
	// itself (a lease in the state table), so this only guarantees it
	// capacity; an account whose quota would leave under 100 unreserved
	// refuses any reservation.
	ScalerReservedConcurrency int `json:"scalerReservedConcurrency"`
	// Fleets are the stamp's fleets, at least one.
	Fleets []FleetConfig `json:"fleets"`
	// AppVersion tags the images the fleets' pipelines bake.
	AppVersion string `json:"appVersion"`
	// AlarmEmail, optional, is subscribed to the topic the operator alarms
	// (dead-letter queues, fleet health) notify; AWS first mails it a link
	// to confirm the subscription.
	AlarmEmail string `json:"alarmEmail,omitempty"`
	// Profile is ProfileDemo (the default) or ProfileProduction, which
	// requires and turns on what production needs (profile.go).
	Profile string `json:"profile"`
	// InterfaceEndpoints gives the private subnets interface endpoints for
	// every AWS service the lifecycle function and the instances call, so
	// that no NAT gateway is on their way to AWS (NetworkProps).
	InterfaceEndpoints bool `json:"interfaceEndpoints,omitempty"`
	// CommandPrincipals, optional, are the IAM role and user ARNs that may
	// put rollout commands and image-ready events on the command bus;
	// every other principal is denied. Left out, any principal of the
	// account whose IAM policies allow events:PutEvents may.
	CommandPrincipals []string `json:"commandPrincipals,omitempty"`
	// ImageKmsKeyArns, optional, maps a Region to the customer managed KMS
	// key (key or alias ARN) that encrypts the images of the fleets this
	// stamp builds, there: the recipe's root volume in the stamp's own
	// Region, each distributed copy in its Region. A fleet with a stamp in
	// another account needs one for every Region it runs in (an AMI
	// encrypted with the default EBS key cannot be shared:
	// CheckImageKeys).
	ImageKmsKeyArns map[string]string `json:"imageKmsKeyArns,omitempty"`

	// keys, when the stamp comes from stamps[], say where its settings and
	// fleets are declared (ParseStamps).
	keys *contextKeys
	// skipAssets leaves the build output out of Validate (ParseContext).
	skipAssets bool
}

// FleetConfig declares one fleet: an ASG behind its own ALB.
type FleetConfig struct {
	// Name names the fleet in the stamp's resources, parameters and
	// commands (config.CheckFleetName: lowercase letters, digits and
	// hyphens).
	Name string `json:"name"`
	// InstanceType is the EC2 instance type the group launches; its
	// architecture must be the image's (arm64 for the t4g, m7g, … types
	// the shipped app is built for).
	InstanceType string `json:"instanceType"`
	// MinCapacity is the fewest instances the group runs.
	MinCapacity int `json:"minCapacity"`
	// MaxCapacity is the most instances the group runs.
	MaxCapacity int `json:"maxCapacity"`
	// DesiredCapacity is optional: when set, every deploy resets the group
	// to it, undoing what the scaler did, so cdk.json leaves it out.
	DesiredCapacity *int `json:"desiredCapacity,omitempty"`
	// ParameterPrefix is where the fleet's SSM parameters live (default
	// /stampkit/<stamp>/<name>, Names.ParameterPrefix): the AMI parameter
	// by default, and a blue/green fleet's listener weight and resources
	// parameters always (WeightParameters, ResourcesParameter). Two stamps
	// in one account and Region must not share one.
	ParameterPrefix string `json:"parameterPrefix,omitempty"`
	// AmiParameter is the SSM parameter holding the AMI id the fleet runs
	// (default <parameterPrefix>/ami).
	AmiParameter string `json:"amiParameter"`
	// AppPort is the port the app listens on, which the target groups
	// and the load balancer's security group use.
	AppPort int `json:"appPort"`
	// HealthCheckPath is the path the target groups' health checks GET.
	HealthCheckPath string `json:"healthCheckPath"`
	// DeregistrationDelaySeconds is how long the load balancer lets a
	// deregistering target finish its requests.
	DeregistrationDelaySeconds int `json:"deregistrationDelaySeconds"`
	// RootVolumeGiB is the size of the instances' (encrypted gp3) root
	// volume.
	RootVolumeGiB int `json:"rootVolumeGiB"`
	// CertificateArn switches the listener to HTTPS on 443 with an
	// HTTP→HTTPS redirect on 80.
	CertificateArn string `json:"certificateArn,omitempty"`
	// DryRun makes the Lambdas decide, log and count, but change nothing.
	DryRun bool `json:"dryRun,omitempty"`
	// Scaling is the fleet's scaling policy (shared/scaling). Each rule with
	// a trigger gets its CloudWatch alarm; see ScalingPolicy for the
	// dimension placeholders and defaults. Left out, the fleet runs
	// scaling.DefaultPolicy for ScalingTarget.
	Scaling *scaling.Policy `json:"scaling,omitempty"`
	// ScalingTarget parameterises scaling.DefaultPolicy when Scaling is left
	// out (default: 50 % CPU, no request-count rule).
	ScalingTarget *ScalingTarget `json:"scalingTarget,omitempty"`
	// Lifecycle is the launch gate and drain (shared/lifecycle); its
	// heartbeat timeout is also the hooks' heartbeat timeout.
	Lifecycle lifecycle.Policy `json:"lifecycle,omitzero"`
	// Rollout is how new images reach the fleet (shared/rollout). The stack
	// fills in what it owns: the AMI parameter, the health alarms and, for
	// blue/green, the listener, target groups and peer group.
	Rollout rollout.Policy `json:"rollout,omitzero"`
	// HealthAlarms tunes the fleet's health alarms (target and load
	// balancer 5xx, p99 latency, unhealthy targets), which a rollout
	// watches.
	HealthAlarms HealthAlarms `json:"healthAlarms,omitzero"`
	// WarmPool, when set, keeps launched and initialised instances beside
	// each of the fleet's groups, so that a scale-out (the forecast's
	// included) starts them instead of launching.
	WarmPool *WarmPool `json:"warmPool,omitempty"`
}

// WarmPool is a group's warm pool ("Warm pools for Amazon EC2 Auto
// Scaling"). Its instances pass the launch hook on their way into the
// pool, where the lifecycle policy's probes marked warmPool gate them.
type WarmPool struct {
	// MinSize is the fewest instances the pool keeps.
	MinSize int `json:"minSize"`
	// MaxPrepared is the pool's MaxGroupPreparedCapacity: the instances
	// the group and its pool hold together, in service or prepared; left
	// out, the group's maximum capacity.
	MaxPrepared *int `json:"maxPrepared,omitempty"`
	// State is the state pool instances wait in: "Stopped" (the default:
	// only their volumes are paid for) or "Running".
	State string `json:"state,omitempty"`
}

// Warm pool states (WarmPool.State), as Auto Scaling spells them.
const (
	WarmPoolStopped = "Stopped"
	WarmPoolRunning = "Running"
)

// ScalingTarget is what scaling.DefaultPolicy holds the fleet at.
type ScalingTarget struct {
	// CPU is the average CPU utilisation to hold, in percent.
	CPU float64 `json:"cpu"`
	// RequestsPerMinute one instance serves at CPU; 0 leaves out the
	// request-count rule.
	RequestsPerMinute float64 `json:"requestsPerMinute,omitempty"`
}

// HealthAlarms are the thresholds of a fleet's health alarms.
type HealthAlarms struct {
	// Target5xxPerMinute is how many 5xx answers from the targets in one
	// minute make the fleet unhealthy (default 10).
	Target5xxPerMinute int `json:"target5xxPerMinute,omitempty"`
	// Elb5xxPerMinute is how many 5xx answers the load balancer gives
	// itself in one minute, for two minutes, make the fleet unhealthy
	// (default 10): the 502, 503 and 504 it sends when targets refuse
	// connections, reset them or time out, which the targets' own 5xx
	// count never sees.
	Elb5xxPerMinute int `json:"elb5xxPerMinute,omitempty"`
	// P99LatencySeconds is the p99 target response time above which the
	// fleet is unhealthy (default 2).
	P99LatencySeconds float64 `json:"p99LatencySeconds,omitempty"`
	// UnhealthyHostMinutes is how many consecutive minutes a target group
	// may hold a target its health checks call unhealthy before the fleet
	// is unhealthy (default 3, at most 60). The group's own ELB health
	// check replaces a single failed instance well within the default.
	UnhealthyHostMinutes int `json:"unhealthyHostMinutes,omitempty"`
}

// Defaults for the policy-related fleet keys.
const (
	DefaultTargetCPU            = 50
	DefaultTarget5xxPerMinute   = 10
	DefaultElb5xxPerMinute      = 10
	DefaultP99LatencySeconds    = 2
	DefaultUnhealthyHostMinutes = 3
)

// MaxUnhealthyHostMinutes bounds HealthAlarms.UnhealthyHostMinutes: a
// rollout's bake must be able to see the alarm fire.
const MaxUnhealthyHostMinutes = 60

// retentionDays are the day counts CloudWatch Logs accepts as a log
// group's retention ("PutRetentionPolicy",
// https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutRetentionPolicy.html).
var retentionDays = []int{1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827}

// ParseConfig reads the configuration through get, which returns a context
// value or nil. Values given on the command line (-c key=value) arrive as
// strings and are parsed as JSON when the field is not a string.
func ParseConfig(get func(key string) any) (Config, error) { return parseConfig(get, false) }

// parseConfig is ParseConfig, checking the build output unless skipAssets.
func parseConfig(get func(key string) any, skipAssets bool) (Config, error) {
	if get(CtxStamps) != nil {
		stamps, err := ParseStamps(get)
		if err != nil {
			return Config{}, err
		}
		if len(stamps) != 1 {
			return Config{}, fmt.Errorf("context %q: %d stamps, and ParseConfig reads one: use ParseStamps (LoadStamps)", CtxStamps, len(stamps))
		}
		return stamps[0], nil
	}
	c := Config{skipAssets: skipAssets}.withSettingDefaults()
	fields := []struct {
		key string
		dst any
	}{
		{CtxStamp, &c.Name},
		{CtxStackName, &c.StackName},
		{CtxAccount, &c.Account},
		{CtxRegion, &c.Region},
		{CtxAssetsDir, &c.AssetsDir},
		{CtxMaxAzs, &c.MaxAzs},
		{CtxNatGateways, &c.NatGateways},
		{CtxLogRetentionDays, &c.LogRetentionDays},
		{CtxScalerReservedConcurrency, &c.ScalerReservedConcurrency},
		{CtxFleets, &c.Fleets},
		{CtxAppVersion, &c.AppVersion},
		{CtxAlarmEmail, &c.AlarmEmail},
		{CtxProfile, &c.Profile},
		{CtxInterfaceEndpoints, &c.InterfaceEndpoints},
		{CtxCommandPrincipals, &c.CommandPrincipals},
		{CtxImageKmsKeyArns, &c.ImageKmsKeyArns},
	}
	var errs []error
	for _, f := range fields {
		errs = append(errs, decodeContext(f.key, get(f.key), f.dst)...)
	}
	if err := errors.Join(errs...); err != nil {
		return Config{}, err
	}
	// Not withDefaults: a zero given in the context is an error to report.
	c = c.withFleetDefaults()
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// decodeContext copies the context value v of key into dst through
// JSON, so cdk.json numbers, objects and arrays and command-line strings
// all decode the same. Keys dst does not know are refused. What does not
// fit is reported in full, each problem under its key (shapeErrors).
func decodeContext(key string, v, dst any) []error {
	if v == nil {
		return nil
	}
	var raw []byte
	if s, ok := v.(string); ok {
		if d, wantString := dst.(*string); wantString {
			*d = s
			return nil
		}
		if !json.Valid([]byte(s)) {
			// -c key=yes, or "yes" in cdk.json where true belongs.
			return shapeErrors(key, s, reflect.TypeOf(dst).Elem())
		}
		raw = []byte(s)
	} else {
		var err error
		if raw, err = json.Marshal(v); err != nil {
			return []error{fmt.Errorf("context %q: encoding value: %w", key, err)}
		}
	}
	return decodeStrict(key, raw, dst)
}

// decodeStrict decodes raw into dst, refusing keys dst does not know; on
// failure it lists every problem under its key, or encoding/json's own
// error when the shape check finds none.
func decodeStrict(key string, raw []byte, dst any) []error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	err := dec.Decode(dst)
	if err == nil {
		return nil
	}
	var v any
	generic := json.NewDecoder(bytes.NewReader(raw))
	generic.UseNumber()
	if generic.Decode(&v) == nil {
		if errs := shapeErrors(key, v, reflect.TypeOf(dst).Elem()); len(errs) > 0 {
			return errs
		}
	}
	return []error{fmt.Errorf("context %q: decoding %s: %w", key, abbreviate(raw), err)}
}

// abbreviate keeps an error about a long value (the fleets) readable.
func abbreviate(raw []byte) string {
	const limit = 120
	if len(raw) <= limit {
		return string(raw)
	}
	return string(raw[:limit]) + "…"
}

// WithDefaults fills in every setting left at its zero value, the fleets'
// included; none of them has a zero that Validate would accept.
func (c Config) WithDefaults() Config { return c.withSettingDefaults().withFleetDefaults() }

// withSettingDefaults fills in the stamp's settings left at their zero
// value, but what derives from others (withFleetDefaults).
func (c Config) withSettingDefaults() Config {
	c.Name = cmp.Or(c.Name, DefaultStampName)
	c.Account = cmp.Or(c.Account, DefaultAccount)
	c.Region = cmp.Or(c.Region, DefaultRegion)
	c.AssetsDir = cmp.Or(c.AssetsDir, DefaultAssetsDir)
	c.MaxAzs = cmp.Or(c.MaxAzs, 3)
	c.NatGateways = cmp.Or(c.NatGateways, 1)
	c.LogRetentionDays = cmp.Or(c.LogRetentionDays, 30)
	c.AppVersion = cmp.Or(c.AppVersion, DefaultAppVersion)
	c.Profile = cmp.Or(c.Profile, ProfileDemo)
	return c
}

// withFleetDefaults fills in what derives from the stamp's name (the
// stack's name) and the fleets' settings left at their zero value.
func (c Config) withFleetDefaults() Config {
	c.Name = cmp.Or(c.Name, DefaultStampName)
	c.StackName = cmp.Or(c.StackName, c.Names().Stack())
	c.Fleets = slices.Clone(c.Fleets)
	for i := range c.Fleets {
		c.Fleets[i].applyDefaults(c.Names())
	}
	return c
}

// Names are the physical names of the stamp's resources.
func (c Config) Names() Names { return NamesOf(c.Name) }

// applyDefaults fills in what f leaves out, its parameters under the
// stamp's names.
func (f *FleetConfig) applyDefaults(names Names) {
	if f.HealthCheckPath == "" {
		f.HealthCheckPath = "/readyz"
	}
	if f.DeregistrationDelaySeconds == 0 {
		f.DeregistrationDelaySeconds = 30
	}
	if f.RootVolumeGiB == 0 {
		f.RootVolumeGiB = 16
	}
	if f.ParameterPrefix == "" && f.Name != "" {
		f.ParameterPrefix = names.ParameterPrefix(f.Name)
	}
	if f.AmiParameter == "" && f.ParameterPrefix != "" {
		f.AmiParameter = f.ParameterPrefix + "/ami"
	}
	if f.Scaling == nil && f.ScalingTarget == nil {
		f.ScalingTarget = &ScalingTarget{CPU: DefaultTargetCPU}
	}
	// The hooks are created with this timeout, and the Lambda must assume
	// the same one: write it down rather than rely on two defaults agreeing.
	if f.Lifecycle.HeartbeatTimeout == 0 {
		f.Lifecycle.HeartbeatTimeout = clock.Duration(lifecycle.DefaultHeartbeatTimeout)
	}
	if f.Rollout.Enabled() && f.Rollout.Parameter == "" {
		f.Rollout.Parameter = f.AmiParameter
	}
	if f.HealthAlarms.Target5xxPerMinute == 0 {
		f.HealthAlarms.Target5xxPerMinute = DefaultTarget5xxPerMinute
	}
	if f.HealthAlarms.P99LatencySeconds == 0 {
		f.HealthAlarms.P99LatencySeconds = DefaultP99LatencySeconds
	}
	if f.HealthAlarms.Elb5xxPerMinute == 0 {
		f.HealthAlarms.Elb5xxPerMinute = DefaultElb5xxPerMinute
	}
	if f.HealthAlarms.UnhealthyHostMinutes == 0 {
		f.HealthAlarms.UnhealthyHostMinutes = DefaultUnhealthyHostMinutes
	}
}

var (
	accountRe = regexp.MustCompile(`^[0-9]{12}$`)
	// stackNameRe is a stack name CreateStack takes
	// (https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_CreateStack.html),
	// short enough for the weights stack's suffix (WeightsStackName).
	stackNameRe = regexp.MustCompile(`^[A-Za-z][-A-Za-z0-9]{0,` + strconv.Itoa(maxStackNameLength-1) + `}$`)
	regionRe    = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]$`)
	ssmNameRe   = regexp.MustCompile(`^/[A-Za-z0-9_.\-/]+$`)
	acmArnRe    = regexp.MustCompile(`^arn:aws[a-z-]*:acm:[a-z0-9-]+:[0-9]{12}:certificate/[A-Za-z0-9-]+$`)
	// kmsKeyArnRe is a KMS key or alias ARN; the group is its Region.
	kmsKeyArnRe = regexp.MustCompile(`^arn:aws[a-z-]*:kms:([a-z0-9-]+):[0-9]{12}:(key/[A-Za-z0-9-]+|alias/[A-Za-z0-9/_-]+)$`)
	// emailRe is a sanity check (one @, a dotted domain, no spaces), not
	// RFC 5322: SNS itself rejects what it cannot deliver to.
	emailRe = regexp.MustCompile(`^[^@\s]+@[^@\s]+\.[^@\s]+$`)
)

// Validate reports every problem at once, each naming its context key.
func (c Config) Validate() error { return c.ValidateFor(LifecycleTimeout) }

// ValidateFor is Validate for a lifecycle function with the given timeout
// (FunctionOptions.Timeout), which the fleets' lifecycle timing must fit.
func (c Config) ValidateFor(lifecycleTimeout time.Duration) error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("context %q: "+format, append([]any{key}, args...)...))
	}
	if err := CheckStampName(c.Name); err != nil {
		bad(c.key(CtxStamp), "%s", err)
	}
	if !stackNameRe.MatchString(c.StackName) {
		bad(c.key(CtxStackName), "got %q, want a CloudFormation stack name: a letter, then letters, digits and hyphens, at most %d", c.StackName, maxStackNameLength)
	}
	if !accountRe.MatchString(c.Account) {
		bad(c.key(CtxAccount), "got %q, want a 12-digit account id", c.Account)
	}
	if !regionRe.MatchString(c.Region) {
		bad(c.key(CtxRegion), "got %q, want a region such as us-east-1", c.Region)
	}
	if c.MaxAzs < 2 || c.MaxAzs > 3 {
		bad(c.key(CtxMaxAzs), "got %d, want 2 or 3", c.MaxAzs)
	}
	if c.NatGateways < 1 || c.NatGateways > c.MaxAzs {
		bad(c.key(CtxNatGateways), "got %d, want 1..%d (private subnets need egress)", c.NatGateways, c.MaxAzs)
	}
	if !slices.Contains(retentionDays, c.LogRetentionDays) {
		bad(c.key(CtxLogRetentionDays), "got %d, want a CloudWatch Logs retention such as 7, 14, 30, 90, 365", c.LogRetentionDays)
	}
	if c.AlarmEmail != "" && !emailRe.MatchString(c.AlarmEmail) {
		bad(c.key(CtxAlarmEmail), "got %q, want an email address such as ops@example.com (or leave it out)", c.AlarmEmail)
	}
	errs = append(errs, CommandPrincipalErrors(c.key(CtxCommandPrincipals), c.CommandPrincipals)...)
	for _, region := range slices.Sorted(maps.Keys(c.ImageKmsKeyArns)) {
		arn := c.ImageKmsKeyArns[region]
		m := kmsKeyArnRe.FindStringSubmatch(arn)
		switch {
		case !regionRe.MatchString(region):
			bad(c.key(CtxImageKmsKeyArns), "key %q: want a Region such as eu-west-1", region)
		case m == nil:
			bad(c.key(CtxImageKmsKeyArns)+"."+region, "got %q, want a KMS key or alias ARN such as arn:aws:kms:%s:111111111111:key/1234abcd-…", arn, region)
		case m[1] != region:
			bad(c.key(CtxImageKmsKeyArns)+"."+region, "%s is a key in %s: Image Builder encrypts each Region's copy with a key of that Region", arn, m[1])
		}
	}
	if c.ScalerReservedConcurrency < 0 {
		bad(c.key(CtxScalerReservedConcurrency), "got %d, want >= 0", c.ScalerReservedConcurrency)
	}
	for _, p := range c.assets() {
		if _, err := os.Stat(p); err != nil && !c.skipAssets {
			bad(c.key(CtxAssetsDir), "%s is missing (run `make build`, or pass -c %s=DIR): %w", p, CtxAssetsDir, missingAsset{err})
		}
	}
	if len(c.Fleets) == 0 {
		bad(c.key(CtxFleets), "no fleets declared")
	}
	names, prefixes := map[string]bool{}, map[string]bool{}
	for i, f := range c.Fleets {
		key := c.fleetKey(i)
		if names[f.Name] {
			bad(key+".name", "%q is used by another fleet", f.Name)
		}
		names[f.Name] = true
		if prefixes[f.ParameterPrefix] {
			bad(key+".parameterPrefix", "%q is used by another fleet", f.ParameterPrefix)
		}
		prefixes[f.ParameterPrefix] = true
		errs = append(errs, f.Errors(key)...)
		errs = append(errs, f.validateLifecycleTiming(key, lifecycleTimeout)...)
	}
	errs = append(errs, c.validateProfile()...)
	if len(errs) == 0 {
		// What is left is what the Lambdas check across fleets: their own
		// validation, run on stand-ins for the deployed names.
		for _, e := range unjoin(c.lambdaConfig().Validate()) {
			errs = append(errs, fmt.Errorf("context %q: the Lambdas would reject it: %w", c.key(CtxFleets), e))
		}
		errs = append(errs, c.checkEnvSize()...)
	}
	return errors.Join(errs...)
}

// Errors lists what is wrong with the fleet, each error naming its key
// under key (fleets[0]).
func (f FleetConfig) Errors(key string) []error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("context %q: "+format, append([]any{key + "." + field}, args...)...))
	}
	if err := config.CheckFleetName(f.Name); err != nil {
		bad("name", "%s", err)
	}
	if !strings.Contains(f.InstanceType, ".") {
		bad("instanceType", "got %q, want a type such as t4g.small", f.InstanceType)
	}
	if f.MinCapacity < 0 {
		bad("minCapacity", "got %d, want >= 0", f.MinCapacity)
	}
	if f.MaxCapacity < 1 || f.MaxCapacity < f.MinCapacity {
		bad("maxCapacity", "got %d, want >= 1 and >= minCapacity %d", f.MaxCapacity, f.MinCapacity)
	}
	if d := f.DesiredCapacity; d != nil && (*d < f.MinCapacity || *d > f.MaxCapacity) {
		bad("desiredCapacity", "got %d, want %d..%d", *d, f.MinCapacity, f.MaxCapacity)
	}
	if !ssmNameRe.MatchString(f.ParameterPrefix) || strings.HasSuffix(f.ParameterPrefix, "/") {
		bad("parameterPrefix", "got %q, want an SSM parameter path such as /stampkit/%s (no trailing /)", f.ParameterPrefix, f.Name)
	}
	if !ssmNameRe.MatchString(f.AmiParameter) {
		bad("amiParameter", "got %q, want an SSM parameter name such as /stampkit/%s/ami", f.AmiParameter, f.Name)
	}
	if f.AppPort < 1024 || f.AppPort > 65535 {
		bad("appPort", "got %d, want 1024..65535 (an unprivileged port)", f.AppPort)
	}
	if !strings.HasPrefix(f.HealthCheckPath, "/") {
		bad("healthCheckPath", "got %q, want a path starting with /", f.HealthCheckPath)
	}
	if f.DeregistrationDelaySeconds < 0 || f.DeregistrationDelaySeconds > 3600 {
		bad("deregistrationDelaySeconds", "got %d, want 0..3600", f.DeregistrationDelaySeconds)
	}
	if f.RootVolumeGiB < 8 || f.RootVolumeGiB > 1024 {
		bad("rootVolumeGiB", "got %d, want 8..1024", f.RootVolumeGiB)
	}
	// A token is the ARN of a certificate the app itself declares.
	if f.CertificateArn != "" && !acmArnRe.MatchString(f.CertificateArn) && !isToken(f.CertificateArn) {
		bad("certificateArn", "got %q, want an ACM certificate ARN", f.CertificateArn)
	}
	if f.HealthAlarms.Target5xxPerMinute < 1 {
		bad("healthAlarms.target5xxPerMinute", "got %d, want >= 1", f.HealthAlarms.Target5xxPerMinute)
	}
	if f.HealthAlarms.P99LatencySeconds <= 0 {
		bad("healthAlarms.p99LatencySeconds", "got %g, want > 0", f.HealthAlarms.P99LatencySeconds)
	}
	if f.HealthAlarms.Elb5xxPerMinute < 1 {
		bad("healthAlarms.elb5xxPerMinute", "got %d, want >= 1", f.HealthAlarms.Elb5xxPerMinute)
	}
	if m := f.HealthAlarms.UnhealthyHostMinutes; m < 1 || m > MaxUnhealthyHostMinutes {
		bad("healthAlarms.unhealthyHostMinutes", "got %d, want 1..%d", m, MaxUnhealthyHostMinutes)
	}
	if w := f.WarmPool; w != nil {
		if w.MinSize < 0 || w.MinSize > f.MaxCapacity {
			bad("warmPool.minSize", "got %d, want 0..maxCapacity %d", w.MinSize, f.MaxCapacity)
		}
		if m := w.MaxPrepared; m != nil && (*m < max(w.MinSize, f.MinCapacity, 1) || *m > f.MaxCapacity) {
			bad("warmPool.maxPrepared", "got %d, want at least minSize and minCapacity and at most maxCapacity %d", *m, f.MaxCapacity)
		}
		if w.State != "" && w.State != WarmPoolStopped && w.State != WarmPoolRunning {
			bad("warmPool.state", "got %q, want %s or %s", w.State, WarmPoolStopped, WarmPoolRunning)
		}
	}
	errs = append(errs, f.validatePolicies(key)...)
	return errs
}

// AppBinary is the linux/arm64 app binary the image pipelines bake
// (`make build` writes it beside the bootstraps).
func (c Config) AppBinary() string { return filepath.Join(c.AssetsDir, "app", "stampkit-app") }

// MissingAssets lists the files synth uploads that are not there.
func (c Config) MissingAssets() []string {
	var out []string
	for _, p := range c.assets() {
		if _, err := os.Stat(p); err != nil {
			out = append(out, p)
		}
	}
	return out
}

// assets lists the files synth uploads: each handler's bootstrap and the app.
func (c Config) assets() []string {
	var paths []string
	for _, name := range HandlerNames() {
		paths = append(paths, filepath.Join(c.AssetsDir, name, "bootstrap"))
	}
	return append(paths, c.AppBinary())
}

// isToken reports whether s stands for a value CloudFormation resolves at
// deploy time: a string token of the CDK, as a construct's attribute gives
// it (an app that builds its Config in code may pass one). This package
// reads configuration without the CDK, so it recognises the token by its
// encoding alone, which cdk.json cannot hold by accident.
func isToken(s string) bool { return strings.Contains(s, "${Token[") }
