// Package stamp is stampkit's CDK library: the constructs of a stamp, one
// deployed copy of the toolkit, and NewStack, which wires them into a
// stack. The app in stampkit's infra/ is a thin one over it; a platform
// team's own CDK app can use it the same way.
//
// A stamp runs fleets. A fleet is an Auto Scaling group behind an
// application load balancer, with blue and green target groups; three Go
// Lambdas keep it: the scaler (alarm state changes and a one-minute tick
// to desired capacity), the lifecycle function (launch gate and drain on
// the groups' lifecycle hooks) and the rollout function (new images to
// the fleet, by instance refresh or by blue/green weights). They share a
// DynamoDB state table and hear operators' commands on the stamp's own
// event bus.
//
// # Using it
//
// Declare the stamp and its fleets in a Config, from the CDK context as
// cdk.json holds it (LoadStamps, a Config per entry of stamps[];
// LoadConfig for one) or in Go, and add the stamp to an app:
//
//	app := awscdk.NewApp(nil)
//	st := stamp.NewStack(app, "Stamp", &stamp.Props{Config: stamp.Config{
//		AssetsDir: "bin/arm64",
//		Fleets: []stamp.FleetConfig{{
//			Name: "web", InstanceType: "t4g.small", MinCapacity: 2, MaxCapacity: 10, AppPort: 8080,
//		}},
//	}})
//	awscdk.Aspects_Of(st.Stack()).Add(cdknag.NewAwsSolutionsChecks(nil), nil)
//	app.Synth(nil)
//
// Config's zero fields take defaults that work: a VPC of three zones with
// one NAT gateway, 30 days of logs, the demo profile (see Config and
// README "Profiles"), and per fleet the default scaling policy at 50 %
// CPU and the default lifecycle policy. A fleet runs the AMI named by the
// SSM parameter /stampkit/<stamp>/<fleet>/ami, which must exist before
// the first deploy; with a rollout policy, the rollout function writes
// each new image there.
//
// # Stamps and names
//
// Config.Name is the stamp's (default DefaultStampName). Every physical
// name the stamp sets carries it (Names): groups, alarms, dashboards,
// parameters, the app log groups, Image Builder resources, the command
// bus and the stack, stampkit-<stamp> by default. So stamps of the same
// fleets coexist in one account and Region, the functions read the
// names from a file written at synth (FleetsFileName), and the stamp's
// event patterns and IAM policies match its resources by the prefix of
// their names, by its tag (StampTagKey) or by IAM path, not fleet by
// fleet. Each fleet's resources are a stack nested in the stamp's
// (ManagedFleet.Stack), and synth fails, saying to split fleets across
// stamps, before a stack or policy outgrows what AWS accepts (MaxResources
// and the other limits).
//
// AssetsDir holds what synth uploads: <name>/bootstrap for each of
// HandlerNames, linux/arm64 Lambda bootstraps, and app/stampkit-app, the
// app the images carry; stampkit's `make build` writes them to bin/arm64.
//
// # Escape hatches
//
// Each is optional and leaves the stamp as it is when left out: a VPC of
// the caller's (Props.Vpc, with PublicSubnets and PrivateSubnets); per
// fleet an existing load balancer, a listener to share with a rule
// (rolling fleets) and instance role statements (Props.Fleets,
// FleetOptions); an existing certificate by ARN, or a token of one the
// app declares (FleetConfig.CertificateArn); per function memory,
// timeout, log retention and reserved concurrency (Props.Functions,
// FunctionOptions); and tags (Props.Tags).
//
// # Outputs and tags
//
// The stack outputs the state table's name (OutputStateTableName) and
// each fleet's URL; each fleet's stack its load balancer's DNS name, its
// URL and its dashboard's name and console address (FleetOutput). Every resource that takes tags
// is tagged StampTagKey with the stamp's name, and every resource of a
// fleet FleetTagKey with the fleet's, for cost allocation.
//
// # Constructs
//
// NewStack uses them all; each can be used alone, with props validated in
// its constructor, which panics naming what is wrong as CDK constructs
// do: NewNetwork (the VPC and its endpoints), NewState (the state table),
// NewFleet (groups, hooks, launch template, target groups, load balancer,
// health alarms), NewScaling (the alarms the scaler acts on),
// NewImagePipeline (the fleet's EC2 Image Builder bake), NewCommandBus,
// NewHandlers (the Lambdas, their queues and rules), NewObservability
// (dashboards and the operator alarm topic), NewListenerWeights (the
// blue/green fleets' live weights and the stamp's DNS weight, in a stack
// of their own deployed first) and NewStampRecord (the stamp's weighted
// record and health check).
//
// # Stamp shift
//
// With a DNS record (CtxDNS, LoadDNS; Props.DNS), every stamp adds its
// own weighted alias record to the app's record, whose weight a deploy
// reads from the stamp's DNS weight parameter, and NewShiftStack adds the
// stack of the shift function, which moves the weight between stamps.
// AddStamps composes an app of stamps as infra/ does.
//
// The stamp carries the cdk-nag suppressions its findings need, each with
// its reason; the caller applies the AwsSolutions checks, to the stamp's
// stack or to the app. The synthesized templates are clean under cdk-nag
// and cfn-lint.
package stamp
