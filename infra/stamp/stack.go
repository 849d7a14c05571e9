package stamp

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/stampkit/stampkit/shared/config"
)

// MetricNamespace is the namespace of the toolkit's own metrics: the
// Lambdas write it (STAMPKIT_METRIC_NAMESPACE) and the dashboards read it.
const MetricNamespace = config.DefaultNamespace

// StackName is the CloudFormation stack (and construct id) of the app.
const StackName = "Stampkit"

// DemoWarningID identifies the warning a demo stack carries at synth
// (Config.DemoWarning); `cdk synth` prints it, and --strict fails on it.
const DemoWarningID = "stampkit:demoProfile"

// StampkitStackProps configures the stack from the validated Config.
type StampkitStackProps struct {
	awscdk.StackProps
	Config Config
}

// StampkitStack is the whole toolkit in one stack.
type StampkitStack interface {
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
	// parameters, deployed before this one; nil without blue/green fleets.
	Weights() ListenerWeights
}

type stampkitStack struct {
	stack    awscdk.Stack
	network  Network
	state    State
	fleets   []ManagedFleet
	handlers Handlers
	commands CommandBus
	obs      Observability
	weights  ListenerWeights
}

// NewStampkitStack wires the constructs together. The environment is fixed
// (Config.Account/Region) so that synth needs no credentials; availability
// zones come from the availability-zones context key.
func NewStampkitStack(scope constructs.Construct, id string, props *StampkitStackProps) StampkitStack {
	if props == nil {
		panic("NewStampkitStack: props is nil")
	}
	cfg := props.Config
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
	stack := awscdk.NewStack(scope, &id, &sp)
	if !cfg.Production() {
		awscdk.Annotations_Of(stack).AddWarningV2(jsii.String(DemoWarningID), jsii.String(cfg.DemoWarning()))
	}

	s := &stampkitStack{stack: stack}
	s.weights = NewListenerWeights(scope, WeightsStackName, &ListenerWeightsProps{
		StackProps: awscdk.StackProps{Env: sp.Env, TerminationProtection: sp.TerminationProtection},
		Fleets:     cfg.Fleets,
	})
	if s.weights != nil {
		// The listeners' weights resolve from its parameters when this
		// stack's change set is created (NewListenerWeights).
		stack.AddStackDependency(s.weights.Stack(), jsii.String("blue/green listeners read their weights from its SSM parameters"))
	}
	s.network = NewNetwork(stack, "Network", &NetworkProps{
		MaxAzs:             cfg.MaxAzs,
		NatGateways:        cfg.NatGateways,
		InterfaceEndpoints: cfg.InterfaceEndpoints,
		FlowLogRetention:   cfg.LogRetention(),
	})
	s.state = NewState(stack, "State", &StateProps{})
	for _, fc := range cfg.Fleets {
		f := NewFleet(stack, "Fleet-"+fc.Name, &FleetProps{
			Network: s.network, Config: fc, AppLogRetention: cfg.LogRetention(),
			AccessLogDays: cfg.AccessLogDays(), DeletionProtection: cfg.Production(),
		})
		sc := NewScaling(stack, "Scaling-"+fc.Name, &ScalingProps{Fleet: f, Policy: fc.ScalingPolicy()})
		// Each fleet's image is baked by its own pipeline; the images it
		// builds carry the fleet's tag, which is how the rollout Lambda
		// knows where they go. The app in the image listens where the
		// target groups and probes look, and logs to the fleet's group.
		img := NewImagePipeline(stack, "Image-"+fc.Name, &ImagePipelineProps{
			Fleet: fc.Name, AppVersion: cfg.AppVersion, AppBinary: cfg.AppBinary(),
			Vpc: s.network.Vpc(), RootVolumeGiB: fc.RootVolumeGiB,
			App: AppSettings{Port: f.AppPort(), HealthPath: f.HealthCheckPath(), LogGroup: AppLogGroupName(f.Name())},
		})
		s.fleets = append(s.fleets, ManagedFleet{Fleet: f, Scaling: sc, Image: img, Config: bindFleet(fc, f, sc)})
	}
	s.commands = NewCommandBus(stack, "Commands", &CommandBusProps{
		Name:       CommandBusName,
		Principals: cfg.CommandPrincipals,
	})
	s.handlers = NewHandlers(stack, "Handlers", &HandlersProps{
		Network:                   s.network,
		Table:                     s.state.Table(),
		Fleets:                    s.fleets,
		AssetsDir:                 cfg.AssetsDir,
		LogRetention:              cfg.LogRetention(),
		ScalerReservedConcurrency: cfg.ScalerReservedConcurrency,
		CommandBus:                s.commands.Bus(),
	})
	s.obs = NewObservability(stack, "Observability", &ObservabilityProps{
		Fleets:     s.fleets,
		Handlers:   s.handlers,
		Namespace:  MetricNamespace,
		AlarmEmail: cfg.AlarmEmail,
		CommandBus: s.commands,
	})
	boundCustomResourceProviders(stack, cfg.LogRetention())
	return s
}

func (s *stampkitStack) Stack() awscdk.Stack          { return s.stack }
func (s *stampkitStack) Network() Network             { return s.network }
func (s *stampkitStack) State() State                 { return s.state }
func (s *stampkitStack) Fleets() []ManagedFleet       { return s.fleets }
func (s *stampkitStack) Handlers() Handlers           { return s.handlers }
func (s *stampkitStack) Commands() CommandBus         { return s.commands }
func (s *stampkitStack) Observability() Observability { return s.obs }
func (s *stampkitStack) Weights() ListenerWeights     { return s.weights }

// ManagedFleet is a fleet with its scaling alarms, its image pipeline and
// the configuration the Lambdas read for it.
type ManagedFleet struct {
	Fleet   Fleet
	Scaling Scaling
	// Image bakes the fleet's AMI.
	Image ImagePipeline
	// Config is the fleet's entry in STAMPKIT_FLEETS: the policies declared
	// in cdk.json, bound to the deployed resources by tokens.
	Config config.Fleet
}

// bindFleet binds a fleet's declared policies to its resources: the group
// and alarm names, and for a rollout the health alarms and the blue/green
// listener, target groups and peer group.
func bindFleet(fc FleetConfig, f Fleet, sc Scaling) config.Fleet {
	var res rolloutResources
	for _, a := range f.HealthAlarms() {
		res.HealthAlarms = append(res.HealthAlarms, *a.AlarmName())
	}
	if peer := f.PeerGroup(); peer != nil {
		res.Listener = *f.Listener().ListenerArn()
		res.TargetGroup = *f.BlueTargetGroup().TargetGroupArn()
		res.PeerGroup = *peer.AutoScalingGroupName()
		res.PeerTargetGroup = *f.GreenTargetGroup().TargetGroupArn()
		res.WeightParameters = fc.WeightParameters()
	}
	return lambdaFleet(fc, *f.AutoScalingGroup().AutoScalingGroupName(), sc.Policy(), bindRollout(fc.Rollout, res))
}
