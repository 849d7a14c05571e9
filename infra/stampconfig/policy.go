package stampconfig

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/stampkit/stampkit/shared/config"
	"github.com/stampkit/stampkit/shared/lifecycle"
	"github.com/stampkit/stampkit/shared/rollout"
	"github.com/stampkit/stampkit/shared/scaling"
)

// Placeholders a scaling rule's trigger may use in its dimension values, as
// scaling.DefaultPolicy's rules do. The stack replaces them with the names
// CloudFormation gives the fleet's resources, which cdk.json cannot know:
// the stack sets no physical names.
const (
	// PlaceholderGroup is the Auto Scaling group's name.
	PlaceholderGroup = "${group}"
	// PlaceholderLoadBalancer is the load balancer's full name
	// ("app/NAME/ID"), its metrics' LoadBalancer dimension.
	PlaceholderLoadBalancer = "${loadBalancer}"
	// PlaceholderTargetGroup is the blue target group's full name
	// ("targetgroup/NAME/ID"), its metrics' TargetGroup dimension.
	PlaceholderTargetGroup = "${targetGroup}"
)

var (
	placeholderRe = regexp.MustCompile(`\$\{[^}]*\}`)
	alarmIDRe     = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)
)

func knownPlaceholder(p string) bool {
	return p == PlaceholderGroup || p == PlaceholderLoadBalancer || p == PlaceholderTargetGroup
}

// ScalingPolicy returns the fleet's scaling policy as declared, its
// placeholders not yet replaced:
//   - with Scaling left out, scaling.DefaultPolicy for ScalingTarget
//     between minCapacity and maxCapacity;
//   - otherwise a copy of Scaling whose min and max, when both are 0, are
//     minCapacity and maxCapacity, and whose triggers without dimensions
//     get those of the group (LoadBalancer and TargetGroup in the
//     AWS/ApplicationELB namespace, AutoScalingGroupName elsewhere); a
//     forecast without dimensions gets the group's, or in the
//     AWS/ApplicationELB namespace the load balancer's alone.
func (f FleetConfig) ScalingPolicy() scaling.Policy {
	if f.Scaling == nil {
		t := ScalingTarget{CPU: DefaultTargetCPU}
		if f.ScalingTarget != nil {
			t = *f.ScalingTarget
		}
		return scaling.DefaultPolicy(PlaceholderGroup, f.MinCapacity, f.MaxCapacity, scaling.Target{
			CPU: t.CPU, RequestsPerMinute: t.RequestsPerMinute,
			LoadBalancer: PlaceholderLoadBalancer, TargetGroup: PlaceholderTargetGroup,
		})
	}
	p := ClonePolicy(*f.Scaling)
	if p.Min == 0 && p.Max == 0 {
		p.Min, p.Max = f.MinCapacity, f.MaxCapacity
	}
	for _, r := range p.Rules {
		if r.Trigger != nil && len(r.Trigger.Dimensions) == 0 {
			r.Trigger.Dimensions = defaultDimensions(r.Trigger.Namespace)
		}
	}
	if f := p.Forecast; f != nil && len(f.Dimensions) == 0 {
		f.Dimensions = defaultDimensions(f.Namespace)
		if f.Namespace == "AWS/ApplicationELB" {
			// The load balancer's whole load: a blue/green rollout moves it
			// between the target groups, and each fleet has its own.
			f.Dimensions = map[string]string{"LoadBalancer": PlaceholderLoadBalancer}
		}
	}
	return p
}

func defaultDimensions(namespace string) map[string]string {
	if namespace == "AWS/ApplicationELB" {
		return map[string]string{"LoadBalancer": PlaceholderLoadBalancer, "TargetGroup": PlaceholderTargetGroup}
	}
	return map[string]string{"AutoScalingGroupName": PlaceholderGroup}
}

// ClonePolicy copies p deeply enough that binding the copy leaves p alone.
func ClonePolicy(p scaling.Policy) scaling.Policy {
	p.Rules = slices.Clone(p.Rules)
	for i := range p.Rules {
		r := &p.Rules[i]
		r.Steps = slices.Clone(r.Steps)
		if r.Trigger != nil {
			t := *r.Trigger
			t.Dimensions = maps.Clone(t.Dimensions)
			r.Trigger = &t
		}
	}
	if p.Forecast != nil {
		f := *p.Forecast
		f.Dimensions = maps.Clone(f.Dimensions)
		p.Forecast = &f
	}
	return p
}

// AlarmID is the construct id of the alarm a rule's trigger declares: the
// rule's alarm with its placeholders taken out ("${group}-cpu-high" is
// "cpu-high").
func AlarmID(alarm string) string {
	return strings.Trim(placeholderRe.ReplaceAllString(alarm, ""), "-_.")
}

// ExpandPlaceholders replaces the placeholders in s with their values in vars.
func ExpandPlaceholders(s string, vars map[string]string) string {
	return placeholderRe.ReplaceAllStringFunc(s, func(p string) string {
		if v, ok := vars[p]; ok {
			return v
		}
		return p
	})
}

// BindScaling returns p bound to the deployed fleet: trigger and forecast
// dimensions expanded with vars, and each triggered rule's alarm set to the name that
// alarm returns for it (the alarm's name token in the stack). Rules without
// a trigger keep the literal name of an alarm managed elsewhere.
func BindScaling(p scaling.Policy, vars map[string]string, alarm func(id string, r scaling.Rule) string) scaling.Policy {
	p = ClonePolicy(p)
	for i := range p.Rules {
		r := &p.Rules[i]
		if r.Trigger == nil {
			continue
		}
		for k, v := range r.Trigger.Dimensions {
			r.Trigger.Dimensions[k] = ExpandPlaceholders(v, vars)
		}
		r.Alarm = alarm(AlarmID(r.Alarm), *r)
	}
	if f := p.Forecast; f != nil {
		for k, v := range f.Dimensions {
			f.Dimensions[k] = ExpandPlaceholders(v, vars)
		}
	}
	return p
}

// RolloutResources are the names a rollout policy gets from the stack.
type RolloutResources struct {
	// HealthAlarms are the fleet's health alarm names.
	HealthAlarms []string
	// PeerGroup and ResourcesParameter bind a blue/green policy: the peer
	// group's name and the SSM parameter holding the listener and target
	// group ARNs (ResourcesParameter).
	PeerGroup, ResourcesParameter string
	// WeightParameters name the SSM parameters a blue/green fleet's
	// listener reads its weights from.
	WeightParameters rollout.WeightParameters
}

// WeightParameters returns the names of the SSM parameters that hold a
// blue/green fleet's live listener weights (the zero value for any other
// fleet), under its ParameterPrefix. The rollout Lambda writes them before
// it changes the weights and the listener reads them at every deploy
// (NewListenerWeights has the why).
func (f FleetConfig) WeightParameters() rollout.WeightParameters {
	if !f.BlueGreen() {
		return rollout.WeightParameters{}
	}
	return rollout.WeightParameters{
		TargetGroup:     f.ParameterPrefix + "/listener-weight/target-group",
		PeerTargetGroup: f.ParameterPrefix + "/listener-weight/peer-target-group",
	}
}

// BindRollout returns p with what the stack owns filled in. A policy
// without a strategy stays off and unchanged.
func BindRollout(p rollout.Policy, res RolloutResources) rollout.Policy {
	if !p.Enabled() {
		return p
	}
	p.Alarms = append(slices.Clone(p.Alarms), res.HealthAlarms...)
	if p.Strategy == rollout.StrategyBlueGreen {
		p.BlueGreen.ResourcesParameter = res.ResourcesParameter
		p.BlueGreen.PeerGroup = res.PeerGroup
		p.BlueGreen.WeightParameters = res.WeightParameters
	}
	return p
}

// BlueGreen reports whether the fleet rolls out to a second group.
func (f FleetConfig) BlueGreen() bool { return f.Rollout.Strategy == rollout.StrategyBlueGreen }

// validatePolicies checks the fleet's scaling, lifecycle and rollout
// policies with the shared packages' own Validate, plus what the stack
// adds: placeholders, construct ids, capacity bounds, derived fields.
func (f FleetConfig) validatePolicies(key string) []error {
	var errs []error
	bad := func(field string, err error) {
		errs = append(errs, keyedError(key+"."+field, err))
	}
	if f.Scaling != nil && f.ScalingTarget != nil {
		bad("scalingTarget", errors.New("set either scaling or scalingTarget, not both"))
	}
	if t := f.ScalingTarget; t != nil && f.Scaling == nil {
		if t.CPU <= 0 || t.CPU > 95 {
			bad("scalingTarget.cpu", fmt.Errorf("got %g, want 0 < cpu <= 95 (the scale-out alarm sits 5 points above it)", t.CPU))
		}
		if t.RequestsPerMinute < 0 {
			bad("scalingTarget.requestsPerMinute", fmt.Errorf("got %g, want >= 0", t.RequestsPerMinute))
		}
	}
	p := f.ScalingPolicy()
	// A policy whose bounds are the fleet's capacities fails with them:
	// the capacities' own error says it once.
	capacityOK := f.MinCapacity >= 0 && f.MaxCapacity >= 1 && f.MaxCapacity >= f.MinCapacity
	derived := f.Scaling == nil || (f.Scaling.Min == 0 && f.Scaling.Max == 0)
	for _, e := range unjoin(p.Validate()) {
		if !capacityOK && derived && (strings.HasPrefix(e.Error(), "min: ") || strings.HasPrefix(e.Error(), "max: ")) {
			continue
		}
		bad("scaling", e)
	}
	if capacityOK && (p.Min < f.MinCapacity || p.Max > f.MaxCapacity) {
		bad("scaling", fmt.Errorf("min %d and max %d must lie within minCapacity %d and maxCapacity %d: the group refuses a desired capacity outside them",
			p.Min, p.Max, f.MinCapacity, f.MaxCapacity))
	}
	ids := map[string]int{}
	for i, r := range p.Rules {
		rk := fmt.Sprintf("scaling.rules[%d]", i)
		if r.Trigger == nil {
			if strings.Contains(r.Alarm, "${") {
				bad(rk+".alarm", fmt.Errorf("%q: a rule without a trigger names an existing alarm literally; placeholders need a trigger", r.Alarm))
			}
			continue
		}
		id := AlarmID(r.Alarm)
		if !alarmIDRe.MatchString(id) {
			bad(rk+".alarm", fmt.Errorf("%q gives the alarm id %q, want letters, digits, '-', '_' or '.' (at most 64)", r.Alarm, id))
		} else if j, dup := ids[id]; dup {
			bad(rk+".alarm", fmt.Errorf("%q gives the same alarm id %q as rules[%d]", r.Alarm, id, j))
		}
		ids[id] = i
		for _, k := range slices.Sorted(maps.Keys(r.Trigger.Dimensions)) {
			v := r.Trigger.Dimensions[k]
			if k == "" || v == "" {
				bad(rk+".trigger.dimensions", fmt.Errorf("%q: %q: names and values must not be empty", k, v))
			}
			for _, ph := range placeholderRe.FindAllString(v, -1) {
				if !knownPlaceholder(ph) {
					bad(rk+".trigger.dimensions."+k, fmt.Errorf("%q is not one of %s, %s, %s", ph,
						PlaceholderGroup, PlaceholderLoadBalancer, PlaceholderTargetGroup))
				}
			}
		}
		// AWS services publish at one-minute resolution at best; a 10 s or
		// 30 s alarm needs a high-resolution custom metric (CWAgent).
		if r.Trigger.Period.Std() < time.Minute && strings.HasPrefix(r.Trigger.Namespace, "AWS/") {
			bad(rk+".trigger.period", fmt.Errorf("%v needs a high-resolution metric, which %s does not publish", r.Trigger.Period, r.Trigger.Namespace))
		}
	}
	if fc := p.Forecast; fc != nil {
		for _, k := range slices.Sorted(maps.Keys(fc.Dimensions)) {
			for _, ph := range placeholderRe.FindAllString(fc.Dimensions[k], -1) {
				switch {
				case !knownPlaceholder(ph):
					bad("scaling.forecast.dimensions."+k, fmt.Errorf("%q is not one of %s, %s, %s", ph,
						PlaceholderGroup, PlaceholderLoadBalancer, PlaceholderTargetGroup))
				case f.BlueGreen() && ph != PlaceholderLoadBalancer:
					// One side's series goes quiet when the other is
					// promoted, and the forecast would fade with it.
					bad("scaling.forecast.dimensions."+k, fmt.Errorf("%s is one side of a blue/green fleet; the forecast must read the load of both: %s", ph, PlaceholderLoadBalancer))
				}
			}
		}
	}
	for _, e := range unjoin(f.Lifecycle.Validate()) {
		bad("lifecycle", e)
	}
	if r := f.Rollout; r.Enabled() {
		if r.Parameter != f.AmiParameter {
			bad("rollout.parameter", fmt.Errorf("got %q, want the fleet's amiParameter %q, which the launch template reads (or leave it out)",
				r.Parameter, f.AmiParameter))
		}
		for field, v := range map[string]string{
			"listener": r.BlueGreen.Listener, "targetGroup": r.BlueGreen.TargetGroup,
			"peerGroup": r.BlueGreen.PeerGroup, "peerTargetGroup": r.BlueGreen.PeerTargetGroup,
			"resourcesParameter":               r.BlueGreen.ResourcesParameter,
			"weightParameters.targetGroup":     r.BlueGreen.WeightParameters.TargetGroup,
			"weightParameters.peerTargetGroup": r.BlueGreen.WeightParameters.PeerTargetGroup,
		} {
			if v != "" {
				bad("rollout.blueGreen."+field, fmt.Errorf("got %q: the stack creates and fills it in; leave it out", v))
			}
		}
	}
	// The stack places a fleet in its wave from stamps[]; one written in
	// cdk.json would reach the rollout function as it is when the app has
	// no waves.
	if f.Rollout.Wave != nil {
		bad("rollout.wave", errors.New("the stack fills it in from stamps[]; leave it out"))
	}
	for _, e := range unjoin(BindRollout(f.Rollout, standInRollout(NamesOf(DefaultStampName), f)).Validate()) {
		bad("rollout", e)
	}
	return errs
}

// fieldPathRe is the field path a shared package's Validate puts before
// its message ("rules[0].steps: …").
var fieldPathRe = regexp.MustCompile(`^([A-Za-z][A-Za-z0-9]*(?:\[[0-9]+\])*(?:\.[A-Za-z][A-Za-z0-9]*(?:\[[0-9]+\])*)*): (.*)$`)

// keyedError names err's context key: key, followed by the field path err
// starts with, if any, so that the key reads as cdk.json's
// (fleets[0].scaling.rules[0].steps).
func keyedError(key string, err error) error {
	if m := fieldPathRe.FindStringSubmatch(err.Error()); m != nil {
		return fmt.Errorf("context %q: %s", key+"."+m[1], m[2])
	}
	return fmt.Errorf("context %q: %w", key, err)
}

// unjoin lists the errors err joins (errors.Join), or err itself.
func unjoin(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// standInStack is as long as the longest stack name a stamp gets by
// default (Names.Stack), for stand-ins of the names CloudFormation
// generates from it.
var standInStack = NamePrefix + strings.Repeat("x", 20)

// standInName is as long as the names CloudFormation generates for a
// stamp's resources ("<stack>-<logical id>-<12 characters>"), so that the
// environment size estimate holds once deployed.
func standInName(parts ...string) string {
	const length = 56
	s := standInStack + "-" + strings.Join(parts, "-") + "-"
	if len(s) < length {
		s += strings.Repeat("X", length-len(s))
	}
	return s
}

// standInELBName is as long as the name CloudFormation gives a load
// balancer or target group (32 characters), and unique to parts.
func standInELBName(parts ...string) string {
	s := strings.Join(parts, "-") + "-" + strings.Repeat("X", 32)
	return s[:32]
}

// Stand-ins for the deployed names and ARNs CloudFormation gives (the
// load balancer's and target groups'), beside the names the stamp sets,
// so that the configuration the Lambdas will read can be checked with
// config.Config.Validate before synthesis.
func standInVars(names Names, fleet string) map[string]string {
	return map[string]string{
		PlaceholderGroup:        names.Group(fleet),
		PlaceholderLoadBalancer: "app/" + standInELBName(fleet, "lb") + "/0123456789abcdef",
		PlaceholderTargetGroup:  "targetgroup/" + standInELBName(fleet, "blue") + "/0123456789abcdef",
	}
}

func standInRollout(names Names, f FleetConfig) RolloutResources {
	fleet := f.Name
	return RolloutResources{
		HealthAlarms:       HealthAlarmNames(names, f),
		PeerGroup:          names.PeerGroup(fleet),
		ResourcesParameter: ResourcesParameter(f.ParameterPrefix),
		WeightParameters:   f.WeightParameters(),
	}
}

// lambdaConfig is the configuration the Lambdas would read, with
// stand-ins for what CloudFormation names.
func (c Config) lambdaConfig() config.Config {
	names := c.Names()
	out := config.Config{Table: standInName("state"), Namespace: config.DefaultNamespace}
	for _, f := range c.Fleets {
		vars := standInVars(names, f.Name)
		out.Fleets = append(out.Fleets, c.BindFleet(f, vars[PlaceholderLoadBalancer], vars[PlaceholderTargetGroup]))
	}
	return out
}

// BindFleet returns fleet f of the stamp as its functions read it, before
// FleetsFor takes each function's share: its policies bound as the stack
// binds them (the stack's bindFleet and NewScaling), to the names the
// stamp sets (Names: the group, the scaling and health alarms, the peer
// group, the parameters), with loadBalancer and targetGroup for the
// load balancer's and blue target group's metric dimensions
// ("app/NAME/ID", "targetgroup/NAME/ID"), which only CloudFormation
// knows. Rules keep their triggers: FleetsFor drops them. The stampkit
// CLI runs the handlers and the twin on it, so that what they do locally
// is what the deployed functions would do.
func (c Config) BindFleet(f FleetConfig, loadBalancer, targetGroup string) config.Fleet {
	names := c.Names()
	vars := map[string]string{
		PlaceholderGroup:        names.Group(f.Name),
		PlaceholderLoadBalancer: loadBalancer,
		PlaceholderTargetGroup:  targetGroup,
	}
	sc := BindScaling(f.ScalingPolicy(), vars, func(id string, _ scaling.Rule) string {
		return names.ScalingAlarm(f.Name, id)
	})
	return LambdaFleet(f, vars[PlaceholderGroup], sc, BindRollout(f.Rollout, standInRollout(names, f)))
}

// FleetsFor returns what function reads of fleets: its fleets file. Each
// fleet keeps its name and group. Only the scaler gets the scaling rules,
// and not their triggers: the CDK app made each trigger into the alarm the
// rule names, and no Lambda reads them. Only the lifecycle function gets
// the lifecycle policies and hook names (and a blue/green fleet's peer
// group) and only the rollout function the rollout policies: each cold
// start decodes only what it uses.
func FleetsFor(function string, fleets []config.Fleet) []config.Fleet {
	out := make([]config.Fleet, 0, len(fleets))
	for _, f := range fleets {
		f.Scaling = ClonePolicy(f.Scaling)
		for i := range f.Scaling.Rules {
			f.Scaling.Rules[i].Trigger = nil
		}
		if function != "scaler" {
			f.Scaling = scaling.Policy{}
		}
		if function != "lifecycle" {
			f.Lifecycle = lifecycle.Policy{}
			f.Hooks = config.Hooks{}
		}
		switch function {
		case "rollout":
		case "lifecycle":
			// The peer group alone, no strategy: the lifecycle function
			// answers the peer's hooks as the fleet's (config.FleetByGroup).
			f.Rollout = rollout.Policy{BlueGreen: rollout.BlueGreen{PeerGroup: f.Rollout.BlueGreen.PeerGroup}}
		default:
			f.Rollout = rollout.Policy{}
		}
		out = append(out, f)
	}
	return out
}

// LambdaEnvLimit is Lambda's limit on a function's environment: 4 KB for
// all keys and values together.
const LambdaEnvLimit = 4096

// envOverhead is what the other variables take once deployed: the table
// name, the namespace, a wake-up queue URL, the fleets file's name and the
// keys.
const envOverhead = 350

// forecastAtDeploy reports whether f's forecast reads a metric whose
// dimensions only CloudFormation knows: its load balancer's or a target
// group's "app/NAME/ID", which the fleets file, written at synth, cannot
// hold.
func (f FleetConfig) forecastAtDeploy() bool {
	fc := f.ScalingPolicy().Forecast
	if fc == nil {
		return false
	}
	for _, v := range fc.Dimensions {
		if strings.Contains(v, PlaceholderLoadBalancer) || strings.Contains(v, PlaceholderTargetGroup) {
			return true
		}
	}
	return false
}

// FleetsInEnvironment lists the fleets that keep function's fleets in its
// environment (STAMPKIT_FLEETS) instead of the fleets file: the scaler's,
// when a fleet forecasts on a metric only CloudFormation can name
// (stageFunctionCode).
func (c Config) FleetsInEnvironment(function string) []string {
	var out []string
	for _, f := range c.Fleets {
		if function == "scaler" && f.forecastAtDeploy() {
			out = append(out, f.Name)
		}
	}
	return out
}

// EnvSizes estimates, from stand-ins as long as the deployed names, each
// function's environment once deployed, in bytes.
func (c Config) EnvSizes() map[string]int {
	lc := c.lambdaConfig()
	out := map[string]int{}
	for _, fn := range HandlerNames() {
		out[fn] = envOverhead
		if len(c.FleetsInEnvironment(fn)) > 0 {
			// Cannot fail: config types marshal without error.
			raw, _ := json.Marshal(FleetsFor(fn, lc.Fleets))
			out[fn] += len(raw)
		}
	}
	return out
}

// checkEnvSize keeps cdk synth from producing a stack that the deploy
// would fail on: a function whose environment is over Lambda's limit. Only
// a scaler whose fleets stay in its environment (fleetsInEnvironment) can
// come near it.
func (c Config) checkEnvSize() []error {
	var errs []error
	sizes := c.EnvSizes()
	for _, fn := range HandlerNames() {
		if n := sizes[fn]; n > LambdaEnvLimit {
			errs = append(errs, fmt.Errorf("context %q: the %s function's fleets are in its environment, not a file, because fleets %s "+
				"forecast on a metric of their load balancer or target group, whose name CloudFormation gives at deploy time; "+
				"the environment would be about %d bytes once deployed, over Lambda's %d: forecast on a metric the group names "+
				"(AWS/AutoScaling, CWAgent), or declare fewer fleets in the stamp", c.key(CtxFleets), fn,
				strings.Join(c.FleetsInEnvironment(fn), ", "), n, LambdaEnvLimit))
		}
	}
	return errs
}

// LambdaFleet is one fleet as the Lambdas read it from STAMPKIT_FLEETS.
func LambdaFleet(f FleetConfig, group string, sc scaling.Policy, ro rollout.Policy) config.Fleet {
	return config.Fleet{
		Name: f.Name, Group: group, DryRun: f.DryRun,
		Scaling: sc, Lifecycle: f.Lifecycle, Rollout: ro,
		Hooks: config.Hooks{Launch: LaunchHookName, Terminate: TerminateHookName},
	}
}

// validateLifecycleTiming checks the fleet's lifecycle policy against the
// timing of a lifecycle function with the given timeout (LifecycleTimeout
// unless FunctionOptions say otherwise). The heartbeat is due
// HeartbeatMargin before the hook expires; if the wake-up that sends it
// fails, the queue delivers it again the wake queue's visibility timeout
// later (wakeVisibility), which must still be before the hook expires
// (past it, a launch is abandoned). And one round of HTTP probes must
// leave the function time for its AWS calls.
func (f FleetConfig) validateLifecycleTiming(key string, timeout time.Duration) []error {
	var errs []error
	visibility := WakeVisibility(timeout)
	p := f.Lifecycle.WithDefaults()
	hb := p.HeartbeatTimeout.Std()
	// A heartbeat the lifecycle package refuses is reported once, by it.
	heartbeatOK := lifecycle.Policy{HeartbeatTimeout: f.Lifecycle.HeartbeatTimeout}.Validate() == nil
	if margin := lifecycle.HeartbeatMargin(hb); heartbeatOK && margin <= visibility {
		want := "no heartbeat timeout has a margin that long; shorten the lifecycle wake queue's visibility timeout"
		for s := hb + time.Second; s <= 2*time.Hour; s += time.Second {
			if lifecycle.HeartbeatMargin(s) > visibility {
				want = fmt.Sprintf("want at least %v", s)
				break
			}
		}
		errs = append(errs, fmt.Errorf("context %q: fleet %s: heartbeat timeout %v leaves a heartbeat margin of %v, "+
			"not longer than the lifecycle wake queue's visibility timeout %v: a failed wake-up would come back after the hook expired; %s",
			key+".lifecycle.heartbeatTimeout", f.Name, hb, margin, visibility, want))
	}
	var probing time.Duration
	for _, pr := range p.Launch.Probes {
		if pr.Kind == lifecycle.HTTP {
			probing += pr.Timeout.Std()
		}
	}
	if probing > timeout/2 {
		errs = append(errs, fmt.Errorf("context %q: fleet %s: the HTTP probes' timeouts add up to %v, more than half the lifecycle function's %v timeout; "+
			"one round of probes that time out would leave no time for the AWS calls",
			key+".lifecycle.launch.probes", f.Name, probing, timeout))
	}
	return errs
}
