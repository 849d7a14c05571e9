package stamp

import (
	"fmt"
	"strconv"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsssm"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/stampkit/stampkit/infra/stampconfig"
)

// WeightsStackName is the name of the stack that holds the blue/green
// fleets' listener weight parameters of the stamp whose stack is named
// stack. A stamp's stack depends on its weights stack: `cdk deploy
// stampkit-main` (or 'stampkit-*', or --all) deploys it first.
func WeightsStackName(stack string) string { return stack + weightsStackSuffix }

// weightsStackSuffix names a stamp's weights stack after the stamp's.
const weightsStackSuffix = stampconfig.WeightsStackSuffix

// WeightPattern is the SSM AllowedPattern of a weight parameter: a listener
// weight is an integer 0..999, written in decimal. Parameter Store refuses
// any other value, so a bad write fails in the rollout Lambda and never
// reaches a deploy.
const WeightPattern = `^[0-9]{1,3}$`

// ListenerWeightsProps configures the weight parameters.
type ListenerWeightsProps struct {
	awscdk.StackProps
	// Fleets are the app's fleets; only blue/green fleets get parameters.
	Fleets []FleetConfig
	// DNS, when set, adds the parameter of the stamp's DNS weight: the
	// weight of its record in the app's weighted record (NewStampRecord).
	DNS *DNSWeight
}

// DNSWeight is a stamp's DNS weight parameter.
type DNSWeight struct {
	// Parameter is its name (Names.DNSWeightParameter).
	Parameter string
	// Initial is the weight it is created with (DNSConfig.InitialWeight).
	Initial int
}

// ListenerWeights is the stack holding, for each blue/green fleet, the SSM
// parameters named by FleetConfig.WeightParameters: the live weight of the
// fleet's target group (initially BlueWeight) and of its peer's (initially
// GreenWeight).
//
// Why the listener reads its weights from parameters: after a promotion
// the configured group is empty, and a deploy that updates the listener (a
// certificate, an SSL policy) would write the template's constant weights
// back and send all traffic to it. The rollout Lambda writes the live
// weights to these parameters before every ModifyListener, and the
// listener's Weight values are template parameters of type
// AWS::SSM::Parameter::Value<String> naming them (NewFleet), so a deploy
// writes what they hold.
//
// Why a stack of their own: CloudFormation resolves an SSM parameter type
// when it creates the change set, before any resource of the stack exists
// ("When you create or update stacks and create change sets, CloudFormation
// uses whatever values exist in Parameter Store at the time the operation
// is run. If a specified parameter doesn't exist in Parameter Store under
// the caller's AWS account, CloudFormation returns a validation error",
// "Systems Manager parameter types",
// https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/systems-manager-parameter-types.html).
// A {{resolve:ssm:NAME}} dynamic reference is no different: it is resolved
// for the change set too (the "processed template" of a change set shows
// the version used, "Get a plaintext value from Systems Manager Parameter
// Store", https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/dynamic-references-ssm.html),
// and one to a missing parameter fails the change set ("Failed to create
// ChangeSet ...: FAILED, Parameters: [ssm:NAME] cannot be found",
// aws/aws-cdk-cli#1130; the same message for a CDK forceDynamicReference,
// aws-samples/data-mesh-datazone-cdk-cloudformation#19). So a DependsOn on a
// parameter created by the same stack cannot help, on the first deploy or
// on the update that introduces the parameters. Deployed first, by its own
// stack, the parameters exist whenever the app's stack is changed.
//
// Why a deploy never resets them: CloudFormation "updates resources based
// on differences between what you submit and the stack's current template"
// ("Understand update behaviors of stack resources",
// https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/using-cfn-updating-stacks-update-behaviors.html),
// and these resources' properties are constants (TestListenerWeights holds
// them to an exact set). A change to any of them (a description, a tag, the
// pattern) would make CloudFormation update the parameter with its template
// Value and reset the live weight: do not add properties or tags here.
type ListenerWeights interface {
	Stack() awscdk.Stack
}

type listenerWeights struct {
	stack awscdk.Stack
}

// NewListenerWeights creates the weights stack, or returns nil when no
// fleet is blue/green and there is no DNS weight.
func NewListenerWeights(scope constructs.Construct, id string, props *ListenerWeightsProps) ListenerWeights {
	if props == nil {
		panic("NewListenerWeights: props is nil")
	}
	var blueGreen []FleetConfig
	for _, f := range props.Fleets {
		if f.BlueGreen() {
			blueGreen = append(blueGreen, f)
		}
	}
	if len(blueGreen) == 0 && props.DNS == nil {
		return nil
	}
	sp := props.StackProps
	if sp.Description == nil {
		sp.Description = jsii.String("stampkit: live listener weights of the blue/green fleets (written by the rollout Lambda)")
		if props.DNS != nil {
			sp.Description = jsii.String("stampkit: live listener weights of the blue/green fleets (written by the rollout Lambda) " +
				"and the stamp's DNS weight (written by the shift Lambda)")
		}
	}
	stack := awscdk.NewStack(scope, &id, &sp)
	if w := props.DNS; w != nil {
		// The same ownership as the listener weights: the shift function
		// writes the parameter once each ChangeResourceRecordSets is
		// accepted, the record's Weight reads it at each deploy
		// (NewStampRecord), and
		// these properties stay constant but for Initial, which
		// DNSConfig.InitialWeights says to leave as created.
		awsssm.NewStringParameter(stack, jsii.String("DnsWeight"), &awsssm.StringParameterProps{
			ParameterName:  jsii.String(w.Parameter),
			StringValue:    jsii.String(strconv.Itoa(w.Initial)),
			AllowedPattern: jsii.String(DNSWeightPattern),
			Description:    jsii.String("stampkit: live weight of the stamp's DNS record; the shift Lambda writes it, deploys read it"),
		})
	}
	for _, f := range blueGreen {
		names := f.WeightParameters()
		for _, p := range []struct {
			id, name string
			weight   int
		}{
			{"TargetGroupWeight", names.TargetGroup, BlueWeight},
			{"PeerTargetGroupWeight", names.PeerTargetGroup, GreenWeight},
		} {
			// A physical name, unlike the rest of the app: the listener's
			// template parameter must name it literally (a Default cannot
			// hold a reference to another stack).
			awsssm.NewStringParameter(stack, jsii.String(fmt.Sprintf("%s-%s", f.Name, p.id)), &awsssm.StringParameterProps{
				ParameterName:  jsii.String(p.name),
				StringValue:    jsii.String(strconv.Itoa(p.weight)),
				AllowedPattern: jsii.String(WeightPattern),
				Description:    jsii.String(fmt.Sprintf("stampkit %s: live listener weight; the rollout Lambda writes it, deploys read it", f.Name)),
			})
		}
	}
	return &listenerWeights{stack: stack}
}

func (w *listenerWeights) Stack() awscdk.Stack { return w.stack }
