package main

import (
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/stampkit/stampkit/infra/stampconfig"
	"github.com/stampkit/stampkit/shared/config"
	"github.com/stampkit/stampkit/shared/twin"
)

// fleetFlags are -config, -fleet and -stamp: they run a local tool on a
// cdk.json's fleet instead of the built-in demo fleet.
type fleetFlags struct {
	config, fleet, stamp *string
}

func addFleetFlags(fs *flag.FlagSet) fleetFlags {
	return fleetFlags{
		config: fs.String("config", "", "run your fleet from this cdk.json (its policies, as the deployed functions read them) instead of the built-in demo fleet"),
		fleet:  fs.String("fleet", "", "with -config: the fleet to run (default: the configuration's only fleet)"),
		stamp:  fs.String("stamp", "", "with -config: the stamp whose names the fleet takes (default: the first stamp that has the fleet)"),
	}
}

// ownFleet is a cdk.json's fleet as the stamp's functions read it.
type ownFleet struct {
	path  string
	stamp stampconfig.Config
	decl  stampconfig.FleetConfig
	// bound is decl as the functions read it, bound to the names the
	// stack sets (stampconfig.Config.BindFleet), its rules' triggers kept
	// for the twin's alarms; the metric dimensions only CloudFormation
	// names are the twin's load balancer and target group.
	bound config.Fleet
}

// load reads the fleet the flags name; nil without -config. A file that
// cannot be read or a configuration that is not valid is a failure, the
// latter reported as `stampkit validate` reports it; a fleet or stamp it
// does not declare is a usage error.
func (ff fleetFlags) load(stderr io.Writer) (*ownFleet, error) {
	path := *ff.config
	if path == "" {
		if *ff.fleet != "" || *ff.stamp != "" {
			return nil, fmt.Errorf("-fleet and -stamp pick a fleet of a cdk.json: give -config too: %w", errUsage)
		}
		return nil, nil
	}
	ctx, err := readContext(path)
	if err != nil {
		return nil, err
	}
	stamps, err := stampconfig.ParseContext(ctx, false)
	if err != nil {
		return nil, reportProblems(path, err, stderr)
	}
	s, f, err := stampconfig.SelectFleet(stamps, *ff.stamp, *ff.fleet)
	if err != nil {
		return nil, fmt.Errorf("%s: %w: %w", path, err, errUsage)
	}
	return &ownFleet{path: path, stamp: s, decl: f, bound: s.BindFleet(f, twin.LoadBalancerDimension, twin.TargetGroupDimension)}, nil
}

// functionFleet is the fleet as function reads it from its fleets file
// (stampconfig.FleetsFor): the scaler's rules without their triggers,
// the lifecycle function's peer group alone of the rollout.
func (o *ownFleet) functionFleet(function string) config.Fleet {
	return stampconfig.FleetsFor(function, []config.Fleet{o.bound})[0]
}

// describe is the fleet in one line, for stderr.
func (o *ownFleet) describe() string {
	strategy := "no rollout"
	if o.bound.Rollout.Enabled() {
		strategy = string(o.bound.Rollout.Strategy) + " rollout"
	}
	return fmt.Sprintf("%s: fleet %s of stamp %s: group %s, %s, capacity %d-%d, health check :%d%s, %d scaling rules, %d launch probes, %s",
		o.path, o.decl.Name, o.stamp.Name, o.bound.Group, o.decl.InstanceType, o.decl.MinCapacity, o.decl.MaxCapacity,
		o.decl.AppPort, o.decl.HealthCheckPath, len(o.bound.Scaling.Rules), len(o.bound.Lifecycle.Launch.Probes), strategy)
}

// twinConfig is the twin's fleet for o: its group and capacities, its
// instances at price an hour, its lifecycle hooks, deregistration delay,
// warm pool and rollout policy. The service on the instances (capacity,
// boot and warm-up times, latency) and the load balancer's health checks
// stay the twin's: cdk.json does not describe them.
func (o *ownFleet) twinConfig(price float64) twin.Config {
	cfg := twin.DefaultConfig()
	cfg.Fleet, cfg.Group = o.decl.Name, o.bound.Group
	cfg.Min, cfg.Max = o.decl.MinCapacity, o.decl.MaxCapacity
	cfg.PricePerHour = price
	cfg.DeregistrationDelay = time.Duration(o.decl.DeregistrationDelaySeconds) * time.Second
	hooks := o.bound.Lifecycle
	cfg.Hooks = &hooks
	if wp := o.decl.WarmPool; wp != nil {
		// The stack leaves MaxGroupPreparedCapacity unset unless told,
		// which AWS reads as the group's maximum (twin.WarmPool).
		pool := twin.DefaultWarmPool(cfg, wp.MinSize)
		pool.MaxPrepared = 0
		if wp.MaxPrepared != nil {
			pool.MaxPrepared = *wp.MaxPrepared
		}
		cfg.WarmPool = pool
	}
	if o.bound.Rollout.Enabled() {
		p := o.bound.Rollout
		p.BlueGreen.Steps = slices.Clone(p.BlueGreen.Steps)
		cfg.Rollout = &p
	}
	return cfg
}

// twinFleet is the twin's fleet for a simulation: the -config fleet's
// (nil without -config) priced at price an hour, or -price's table price,
// else the demo fleet.
func twinFleet(fs *flag.FlagSet, ff fleetFlags, price float64, stderr io.Writer) (*ownFleet, twin.Config, error) {
	own, err := ff.load(stderr)
	if err != nil {
		return nil, twin.Config{}, err
	}
	if own == nil {
		if flagSet(fs, "price") {
			return nil, twin.Config{}, fmt.Errorf("-price prices a -config fleet's instances: give -config too: %w", errUsage)
		}
		return nil, twin.DefaultConfig(), nil
	}
	p, err := own.instancePrice(price, stderr)
	if err != nil {
		return nil, twin.Config{}, err
	}
	fmt.Fprintln(stderr, own.describe())
	return own, own.twinConfig(p), nil
}

// addPriceFlag adds -price: an instance-hour's price, overriding the table.
func addPriceFlag(fs *flag.FlagSet) *float64 {
	return fs.Float64("price", 0, "with -config: the on-demand price of an instance-hour in USD, over stampkit's table of us-east-1 Linux prices (needed for an instance type not in it)")
}

// instancePrice is what an hour of o's instances costs: -price when given,
// else the table's price for its instance type. A type the table lacks is
// a usage error: the run's cost would be made up.
func (o *ownFleet) instancePrice(flagPrice float64, stderr io.Writer) (float64, error) {
	switch {
	case flagPrice < 0:
		return 0, fmt.Errorf("-price %g: want USD an hour, 0 or more: %w", flagPrice, errUsage)
	case flagPrice > 0:
		return flagPrice, nil
	}
	price, ok := onDemandPrices[o.decl.InstanceType]
	if !ok {
		return 0, fmt.Errorf("%s: fleet %s: instance type %s is not in stampkit's price table (%s): give its price an hour with -price: %w",
			o.path, o.decl.Name, o.decl.InstanceType, strings.Join(priceTableTypes(), ", "), errUsage)
	}
	if o.stamp.Region != priceRegion {
		fmt.Fprintf(stderr, "%s: note: %s priced at its %s price, $%g an hour; -price gives %s's\n", o.path, o.decl.InstanceType, priceRegion, price, o.stamp.Region)
	}
	return price, nil
}

// priceRegion is the Region of onDemandPrices.
const priceRegion = "us-east-1"

// onDemandPrices are EC2 on-demand prices in USD per instance-hour, Linux,
// US East (N. Virginia), from https://aws.amazon.com/ec2/pricing/on-demand/
// as listed in 2026 (m7g.large $0.0816 and t3.large $0.0832 as quoted for
// June 2026; c7g.large $0.0725 is the twin's demo price). Prices change and
// differ by Region: -price overrides.
var onDemandPrices = map[string]float64{
	"t4g.nano": 0.0042, "t4g.micro": 0.0084, "t4g.small": 0.0168, "t4g.medium": 0.0336, "t4g.large": 0.0672, "t4g.xlarge": 0.1344,
	"t3.micro": 0.0104, "t3.small": 0.0208, "t3.medium": 0.0416, "t3.large": 0.0832,
	"c7g.medium": 0.0363, "c7g.large": 0.0725, "c7g.xlarge": 0.145, "c7g.2xlarge": 0.29,
	"m7g.medium": 0.0408, "m7g.large": 0.0816, "m7g.xlarge": 0.1632,
	"c6g.large": 0.068, "m6g.large": 0.077,
	"c7i.large": 0.08925, "m7i.large": 0.1008,
	"c5.large": 0.085, "m5.large": 0.096,
}

func priceTableTypes() []string {
	var out []string
	for t := range onDemandPrices {
		out = append(out, t)
	}
	slices.Sort(out)
	return out
}

// flagSet reports whether the command line set flag name.
func flagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) {
		if f.Name == name {
			set = true
		}
	})
	return set
}

// scalerDefaults fills the flags of invoke scaler the command line left
// unset from o: its group, capacities and desired capacity. A -target that
// was set replaces the CPU of the fleet's scalingTarget, which needs a
// fleet on the default policy.
func (o *ownFleet) scalerDefaults(fs *flag.FlagSet, group *string, minSize, maxSize, desired *int, target *float64) error {
	if flagSet(fs, "target") {
		if o.decl.Scaling != nil {
			return fmt.Errorf("-target sets the CPU of the default scaling policy; fleet %s declares its own scaling rules in %s: %w", o.decl.Name, o.path, errUsage)
		}
		t := stampconfig.ScalingTarget{CPU: *target}
		if o.decl.ScalingTarget != nil {
			t.RequestsPerMinute = o.decl.ScalingTarget.RequestsPerMinute
		}
		o.decl.ScalingTarget = &t
		o.bound = o.stamp.BindFleet(o.decl, twin.LoadBalancerDimension, twin.TargetGroupDimension)
	}
	if !flagSet(fs, "group") {
		*group = o.bound.Group
	}
	o.capacityDefaults(fs, minSize, maxSize, desired)
	return nil
}

// capacityDefaults fills -min, -max and -desired, where the command line
// left them unset, from o's capacities.
func (o *ownFleet) capacityDefaults(fs *flag.FlagSet, minSize, maxSize, desired *int) {
	if !flagSet(fs, "min") {
		*minSize = o.decl.MinCapacity
	}
	if !flagSet(fs, "max") {
		*maxSize = o.decl.MaxCapacity
	}
	if !flagSet(fs, "desired") {
		*desired = *minSize
		if o.decl.DesiredCapacity != nil {
			*desired = *o.decl.DesiredCapacity
		}
	}
}
