package stamp

import (
	"cmp"
	"fmt"
	"maps"
	"path/filepath"
	"slices"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/stampkit/stampkit/infra/stampconfig"
	"github.com/stampkit/stampkit/shared/config"
)

// MetricNamespace is the namespace of the toolkit's own metrics: the
// Lambdas write it (STAMPKIT_METRIC_NAMESPACE) and the dashboards read it.
const MetricNamespace = config.DefaultNamespace

// DemoWarningID identifies the warning a demo stack carries at synth
// (Config.DemoWarning); `cdk synth` prints it, and --strict fails on it.
const DemoWarningID = "stampkit:demoProfile"

// Props configures a stamp. Only Config is required, and of it only the
// fleets; every other field is an escape hatch whose zero value keeps
// what the stamp makes itself.
type Props struct {
	// StackProps are the stack's. Env defaults to Config.Account and
	// Config.Region, so that synth needs no credentials.
	awscdk.StackProps
	// Config declares the stamp, its fleets and settings, as cdk.json
	// does (LoadConfig, LoadStamps). Zero fields take their defaults; its
	// Name names the stamp's resources (Names) and its StackName the stack,
	// unless StackProps.StackName does.
	Config Config
	// Vpc, when set, is the VPC the stamp runs in, in place of one of its
	// own (NewNetwork): the stamp adds no endpoints and no flow logs to it,
	// and Config's MaxAzs, NatGateways and InterfaceEndpoints (which must
	// be false) do not apply, nor does the production profile's demand on
	// them. Its private subnets need a way to AWS's APIs (NAT, or
	// endpoints for the services NetworkProps.InterfaceEndpoints lists).
	Vpc awsec2.IVpc
	// PublicSubnets selects Vpc's subnets for the fleets' internet-facing
	// load balancers (default: its public subnets). Only with Vpc.
	PublicSubnets *awsec2.SubnetSelection
	// PrivateSubnets selects Vpc's subnets for the instances, the image
	// builds and the lifecycle function (default: its private subnets with
	// egress). Only with Vpc.
	PrivateSubnets *awsec2.SubnetSelection
	// Fleets holds fleets' escape hatches by fleet name: a load balancer,
	// a shared listener, instance role statements.
	Fleets map[string]FleetOptions
	// Functions overrides the Lambdas' memory, timeout, log retention and
	// reserved concurrency, by name (HandlerNames).
	Functions map[string]FunctionOptions
	// Wave is the stamp's place in the app's waves (PlanWaves): which
	// fleets it builds images for and where to, and which stamp each
	// fleet's rollout waits for. Nil: a lone stamp, which builds every
	// fleet's image for its own Region and waits for no one.
	Wave *WavePlan
	// Tags are added to every resource of the stamp that takes tags, but
	// for the types tagProps leaves alone (and says why).
	Tags map[string]string
	// DNS, when set, is the app's weighted record (LoadDNS): the stamp
	// adds its own record to it, with a health check, in the stack of the
	// fleet it routes to (NewStampRecord), and its DNS weight parameter to
	// its weights stack.
	DNS *DNSConfig
}

// Stack is a stamp: the whole toolkit in one stack (and, with blue/green
// fleets, the stack of their listener weights beside it).
type Stack interface {
	Stack() awscdk.Stack
	Network() Network
	State() State
	Fleets() []ManagedFleet
	Handlers() Handlers
	// Commands is the bus the rollout's commands and image-ready events
	// arrive on.
	Commands() CommandBus
	Observability() Observability
	// Weights is the stack of the blue/green fleets' listener weight
	// parameters and the DNS weight parameter, deployed before this one;
	// nil without blue/green fleets or DNS.
	Weights() ListenerWeights
	// Record is the stamp's weighted record; nil without Props.DNS.
	Record() StampRecord
}

type stampStack struct {
	stack    awscdk.Stack
	network  Network
	state    State
	fleets   []ManagedFleet
	handlers Handlers
	commands CommandBus
	obs      Observability
	weights  ListenerWeights
	record   StampRecord
}

// NewStack adds a stamp to scope (an App, or a Stage) as the stack id
// (named Config.StackName unless StackProps name it), with the constructs
// wired together, and with blue/green fleets the stack id+"-weights" of
// their listener weights (named WeightsStackName), which it depends on.
// The environment is fixed (Props.Env,
// or Config.Account and Config.Region) so that synth needs no credentials;
// availability zones come from the availability-zones context key, or
// CDK's placeholders without it. Like a construct, it panics on invalid
// props, naming what is wrong.
func NewStack(scope constructs.Construct, id string, props *Props) Stack {
	if props == nil {
		panic("NewStack: props is nil")
	}
	cfg := checkProps(props)
	sp := props.StackProps
	if sp.Env == nil {
		sp.Env = &awscdk.Environment{Account: jsii.String(cfg.Account), Region: jsii.String(cfg.Region)}
	}
	if sp.Description == nil {
		sp.Description = jsii.String(fmt.Sprintf("stampkit (%s profile): event-driven autoscaling fleets (ALB + ASG + Go Lambdas)", cfg.Profile))
	}
	if sp.TerminationProtection == nil {
		sp.TerminationProtection = jsii.Bool(cfg.Production())
	}
	if sp.StackName == nil {
		sp.StackName = jsii.String(cfg.StackName)
	}
	names := cfg.Names()
	stack := awscdk.NewStack(scope, &id, &sp)
	stack.Node().SetContext(jsii.String(stampMarker), cfg.Name)
	checkLimits(stack)
	if !cfg.Production() {
		awscdk.Annotations_Of(stack).AddWarningV2(jsii.String(DemoWarningID), jsii.String(cfg.DemoWarning()))
	}

	s := &stampStack{stack: stack}
	var dnsWeight *DNSWeight
	if props.DNS != nil {
		dnsWeight = &DNSWeight{Parameter: names.DNSWeightParameter(), Initial: props.DNS.InitialWeight(cfg.Name)}
	}
	s.weights = NewListenerWeights(scope, id+weightsStackSuffix, &ListenerWeightsProps{
		StackProps: awscdk.StackProps{
			Env: sp.Env, TerminationProtection: sp.TerminationProtection,
			StackName: jsii.String(WeightsStackName(*sp.StackName)),
		},
		Fleets: cfg.Fleets,
		DNS:    dnsWeight,
	})
	if s.weights != nil {
		// The listeners' and the record's weights resolve from its
		// parameters when this stack's change set is created
		// (NewListenerWeights).
		stack.AddStackDependency(s.weights.Stack(), jsii.String("blue/green listeners and the DNS record read their weights from its SSM parameters"))
	}
	if props.Vpc != nil {
		s.network = &givenNetwork{
			vpc:     props.Vpc,
			public:  cmp.Or(props.PublicSubnets, &awsec2.SubnetSelection{SubnetType: awsec2.SubnetType_PUBLIC}),
			private: cmp.Or(props.PrivateSubnets, &awsec2.SubnetSelection{SubnetType: awsec2.SubnetType_PRIVATE_WITH_EGRESS}),
		}
	} else {
		s.network = NewNetwork(stack, "Network", &NetworkProps{
			MaxAzs:             cfg.MaxAzs,
			NatGateways:        cfg.NatGateways,
			InterfaceEndpoints: cfg.InterfaceEndpoints,
			FlowLogRetention:   LogRetention(cfg),
		})
	}
	s.state = NewState(stack, "State", &StateProps{})
	if props.DNS != nil {
		publishStateTable(stack, names, s.state.Table())
	}
	for _, fc := range cfg.Fleets {
		// A stack of the fleet's own, nested in the stamp's: a fleet is
		// about 35 resources and a stack may hold 500 (Limits), and a
		// fleet's resources never move between stacks as fleets come and
		// go, which for resources of set names (Names) CloudFormation
		// could not do in one update.
		fs := awscdk.NewNestedStack(stack, jsii.String(fleetStackID(fc.Name)), &awscdk.NestedStackProps{
			Description: jsii.String(fmt.Sprintf("stampkit %s: fleet %s", cfg.Name, fc.Name)),
		})
		f := NewFleet(fs, "Fleet-"+fc.Name, &FleetProps{
			Network: s.network, Config: fc, Names: names, AppLogRetention: LogRetention(cfg),
			AccessLogDays: cfg.AccessLogDays(), DeletionProtection: cfg.Production(),
			FleetOptions: props.Fleets[fc.Name],
		})
		sc := NewScaling(fs, "Scaling-"+fc.Name, &ScalingProps{Fleet: f, Names: names, Policy: fc.ScalingPolicy()})
		// Each fleet's image is baked by its own pipeline; the images it
		// builds carry the fleet's tag, which is how the rollout Lambda
		// knows where they go. The app in the image listens where the
		// target groups and probes look, and logs to the fleet's group.
		wave, waves := props.Wave.Fleet(fc.Name)
		var img ImagePipeline
		if wave.Build {
			img = NewImagePipeline(fs, "Image-"+fc.Name, &ImagePipelineProps{
				Fleet: fc.Name, Names: &names, AppVersion: cfg.AppVersion, AppBinary: cfg.AppBinary(),
				Vpc: s.network.Vpc(), Subnets: s.network.PrivateSubnets(), RootVolumeGiB: fc.RootVolumeGiB,
				App:           AppSettings{Port: f.AppPort(), HealthPath: f.HealthCheckPath(), LogGroup: names.AppLogGroup(f.Name())},
				Distributions: wave.Distributions,
			})
		}
		mf := ManagedFleet{Stack: fs, Fleet: f, Scaling: sc, Image: img, Config: bindFleet(names, fc, f, sc)}
		if waves && mf.Config.Rollout.Enabled() {
			w := wave.Wave
			mf.Config.Rollout.Wave = &w
			if wave.SkippedAccount != "" {
				awscdk.Annotations_Of(fs).AddWarningV2(jsii.String(WaveAcrossAccountsWarningID), jsii.String(fmt.Sprintf(
					"fleet %s does not wait for stamp %s, which is in another account: waves do not cross accounts (README, Stamps in many Regions)",
					fc.Name, wave.SkippedAccount)))
			}
		}
		s.fleets = append(s.fleets, mf)
		if props.DNS != nil && props.DNS.Fleet == fc.Name {
			// Beside the load balancer it routes to: no reference crosses
			// a stack.
			s.record = NewStampRecord(fs, "Dns", &StampRecordProps{
				DNS: props.DNS, Names: names, Fleet: f, HTTPS: fc.CertificateArn != "",
			})
		}
	}
	s.commands = NewCommandBus(stack, "Commands", &CommandBusProps{
		Name:       names.CommandBus(),
		Principals: cfg.CommandPrincipals,
	})
	s.handlers = NewHandlers(stack, "Handlers", &HandlersProps{
		Names:                     names,
		Network:                   s.network,
		Table:                     s.state.Table(),
		Fleets:                    s.fleets,
		AssetsDir:                 cfg.AssetsDir,
		LogRetention:              LogRetention(cfg),
		ScalerReservedConcurrency: cfg.ScalerReservedConcurrency,
		CommandBus:                s.commands.Bus(),
		Functions:                 props.Functions,
	})
	fleetStacks := map[string]constructs.Construct{}
	for _, mf := range s.fleets {
		fleetStacks[mf.Fleet.Name()] = mf.Stack
	}
	s.obs = NewObservability(stack, "Observability", &ObservabilityProps{
		FleetScope: func(fleet string) constructs.Construct { return fleetStacks[fleet] },
		Names:      names,
		Fleets:     s.fleets,
		Handlers:   s.handlers,
		Namespace:  MetricNamespace,
		AlarmEmail: cfg.AlarmEmail,
		CommandBus: s.commands,
	})
	boundCustomResourceProviders(stack, LogRetention(cfg))
	addOutputs(s)
	stampTags(stack, cfg.Name, props.Tags)
	return s
}

// checkProps returns props' Config with its defaults, and panics naming
// the first thing wrong with props.
func checkProps(props *Props) Config {
	cfg := props.Config.WithDefaults()
	if props.Vpc == nil && (props.PublicSubnets != nil || props.PrivateSubnets != nil) {
		panic("NewStack: PublicSubnets and PrivateSubnets select subnets of Vpc, which is nil")
	}
	if props.Vpc != nil {
		if cfg.InterfaceEndpoints {
			panic("NewStack: Config.InterfaceEndpoints is for the stamp's own VPC; add endpoints to Vpc where it is made")
		}
		// What the stamp's own VPC would have to offer under the
		// production profile (one NAT gateway per zone) is the given
		// VPC's owner's to choose.
		cfg.NatGateways = cfg.MaxAzs
	}
	checkFunctionOptions("NewStack", props.Functions)
	refuseStampTagKeys("NewStack", props.Tags)
	// From the working directory as it is now: the jsii runtime resolves
	// a relative path against the one the process had when it started.
	if abs, err := filepath.Abs(cfg.AssetsDir); err == nil {
		cfg.AssetsDir = abs
	}
	if err := cfg.ValidateFor(lifecycleTimeout(props.Functions)); err != nil {
		panic(fmt.Sprintf("NewStack: invalid Config: %v", err))
	}
	for _, name := range slices.Sorted(maps.Keys(props.Fleets)) {
		if !slices.ContainsFunc(cfg.Fleets, func(f FleetConfig) bool { return f.Name == name }) {
			panic(fmt.Sprintf("NewStack: Fleets[%q]: Config declares no such fleet", name))
		}
	}
	checkDNSProps(props, cfg)
	return cfg
}

// fleetStackID is the construct id of fleet's stack, nested in the stamp's.
func fleetStackID(fleet string) string { return "FleetStack-" + fleet }

func (s *stampStack) Stack() awscdk.Stack          { return s.stack }
func (s *stampStack) Network() Network             { return s.network }
func (s *stampStack) State() State                 { return s.state }
func (s *stampStack) Fleets() []ManagedFleet       { return s.fleets }
func (s *stampStack) Handlers() Handlers           { return s.handlers }
func (s *stampStack) Commands() CommandBus         { return s.commands }
func (s *stampStack) Observability() Observability { return s.obs }
func (s *stampStack) Weights() ListenerWeights     { return s.weights }
func (s *stampStack) Record() StampRecord          { return s.record }

// ManagedFleet is a fleet with its scaling alarms, its image pipeline and
// the configuration the Lambdas read for it.
type ManagedFleet struct {
	// Stack is the stack nested in the stamp's that holds the fleet's
	// resources (NewStack).
	Stack   awscdk.NestedStack
	Fleet   Fleet
	Scaling Scaling
	// Image bakes the fleet's AMI.
	Image ImagePipeline
	// Config is the fleet as the functions read it: the policies declared
	// in cdk.json, bound to the deployed resources by name (Names), and by
	// tokens where only CloudFormation knows them.
	Config config.Fleet
}

// bindFleet binds a fleet's declared policies to its resources: the group
// and alarm names, and for a rollout the health alarms and the blue/green
// peer group and the parameter holding its listener and target groups.
func bindFleet(names Names, fc FleetConfig, f Fleet, sc Scaling) config.Fleet {
	res := stampconfig.RolloutResources{HealthAlarms: stampconfig.HealthAlarmNames(names, fc)}
	if f.PeerGroup() != nil {
		res.ResourcesParameter = ResourcesParameter(fc.ParameterPrefix)
		res.PeerGroup = names.PeerGroup(fc.Name)
		res.WeightParameters = fc.WeightParameters()
	}
	return stampconfig.LambdaFleet(fc, names.Group(fc.Name), sc.Policy(), stampconfig.BindRollout(fc.Rollout, res))
}
