package stamp

import (
	"fmt"
	"regexp"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/stampkit/stampkit/infra/stampconfig"
	"github.com/stampkit/stampkit/shared/event"
)

// Stack outputs: what an operator or a bake script reads to reach the bus.
const (
	OutputCommandBusName = "CommandBusName"
	OutputCommandBusArn  = "CommandBusArn"
)

// CommandBusProps configures the bus that carries stampkit's own steering
// events.
type CommandBusProps struct {
	// Name is the bus's physical name (Names.CommandBus).
	Name string
	// Principals are the IAM role and user ARNs that may put events on
	// the bus; every other principal is denied. Empty leaves it to the
	// account: any of its principals whose IAM policies allow
	// events:PutEvents, and no other account. Each must exist when the
	// stack deploys: EventBridge checks a policy's principals when it is
	// written
	// (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-eventsv2-resourcepolicy.html).
	Principals []string
}

// CommandBus is the event bus the rollout's commands and image-ready
// events arrive on, and the queue that keeps what arrives on the default
// bus instead, where nothing acts on it.
type CommandBus interface {
	Bus() awsevents.IEventBus
	// Ignored holds every event with stampkit's source put on the default
	// bus, for an operator to inspect.
	Ignored() awssqs.Queue
	// IgnoredAlarm fires on the first of them; it is an operator alarm.
	IgnoredAlarm() awscloudwatch.Alarm
}

type commandBus struct {
	bus          awsevents.EventBus
	ignored      awssqs.Queue
	ignoredAlarm awscloudwatch.Alarm
}

// NewCommandBus creates the command bus with its resource policy, the
// default-bus rule that sets stampkit's events there aside, and the stack
// outputs naming the bus.
func NewCommandBus(scope constructs.Construct, id string, props *CommandBusProps) CommandBus {
	switch {
	case props == nil:
		panic("NewCommandBus: props is nil")
	case !busNameRe.MatchString(props.Name) || props.Name == "default":
		panic(fmt.Sprintf("NewCommandBus: Name %q is not the name of a bus of its own", props.Name))
	}
	for i, arn := range props.Principals {
		if err := stampconfig.CheckPrincipalArn(arn); err != nil {
			panic(fmt.Sprintf("NewCommandBus: Principals[%d]: %v", i, err))
		}
	}
	if err := stampconfig.CheckPolicySize(props.Principals); err != nil {
		panic(fmt.Sprintf("NewCommandBus: Principals: %v", err))
	}
	c := constructs.NewConstruct(scope, &id)
	stack := awscdk.Stack_Of(c)
	bus := awsevents.NewEventBus(c, jsii.String("Bus"), &awsevents.EventBusProps{
		EventBusName: jsii.String(props.Name),
		Description:  jsii.String("stampkit rollout commands and image-ready events, from the principals its policy names"),
	})
	// The bus's own Policy property, not AWS::Events::EventBusPolicy
	// resources: CloudFormation names those by statement id account-wide,
	// so two stamps of the stack would collide
	// (https://github.com/aws/aws-cdk/issues/29627), and one document is
	// written at once. It names the bus by its ARN from the name: the
	// bus's own Arn attribute would make the bus depend on itself.
	busArn := stack.FormatArn(&awscdk.ArnComponents{
		Service: jsii.String("events"), Resource: jsii.String("event-bus"), ResourceName: jsii.String(props.Name),
	})
	bus.Node().DefaultChild().(awsevents.CfnEventBus).SetPolicy(commandBusPolicy(busArn, props.Principals))

	// Nothing routes stampkit's source on the default bus to a function:
	// what arrives there (an old CLI or bake script, a principal the bus
	// would refuse) is kept and alarmed on, so it is seen, not obeyed.
	ignored, alarm := newDeadLetters(c, "Ignored",
		"an inspection queue nothing reads from: it keeps stampkit events put on the default bus for an "+
			"operator to look at, so there is no failed receive to redrive",
		fmt.Sprintf("stampkit: events with source %q were put on the default event bus, where nothing acts on them; "+
			"commands and image-ready events go to the %s bus. The queue keeps them for inspection "+
			"(an old CLI or bake script, or a principal the command bus would refuse)", event.SourceStampkit, props.Name))
	awsevents.NewRule(c, jsii.String("IgnoredRule"), &awsevents.RuleProps{
		Description:  jsii.String("stampkit events on the default bus: kept for inspection, acted on by nothing"),
		EventPattern: &awsevents.EventPattern{Source: jsii.Strings(event.SourceStampkit)},
		Targets:      &[]awsevents.IRuleTarget{awseventstargets.NewSqsQueue(ignored, nil)},
	})

	output := func(id, logicalID, description string, value *string) {
		o := awscdk.NewCfnOutput(c, jsii.String(id), &awscdk.CfnOutputProps{Value: value, Description: jsii.String(description)})
		// A fixed key: scripts read it with describe-stacks.
		o.OverrideLogicalId(jsii.String(logicalID))
	}
	output("NameOutput", OutputCommandBusName, "The bus `stampkit rollout` and `stampkit image ready` put events on (-stamp, -bus)", bus.EventBusName())
	output("ArnOutput", OutputCommandBusArn, "The command bus's ARN, for the IAM policies of the principals that may put events on it", bus.EventBusArn())
	return &commandBus{bus: bus, ignored: ignored, ignoredAlarm: alarm}
}

// commandBusPolicy lets the named principals put events on the bus and
// denies everyone else. The Deny is what keeps the rest of the account
// out: within one account, an identity policy that allows
// events:PutEvents on "*" suffices without the bus's Allow, and only an
// explicit Deny overrides it
// (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_policy-eval-basics.html).
// IAM advises aws:PrincipalArn with an ARN operator over NotPrincipal
// (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notprincipal.html);
// for a role it is the role's ARN whatever the session
// (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-principalarn).
// A negated operator matches a request without the key, so a service
// principal putting events is denied as well: nothing of the stack puts
// events on this bus (EventBridge invokes the rules' targets, which is no
// PutEvents), and the Deny covers events:PutEvents only, so deploying the
// bus and its rules is unaffected. A rule of another bus forwarding here
// sends with its role, which must then be listed.
// Without principals the bus admits its own account only, as a bus with
// no policy does, written out.
func commandBusPolicy(busArn *string, principals []string) awsiam.PolicyDocument {
	putEvents := jsii.Strings("events:PutEvents")
	resources := jsii.Strings(*busArn)
	if len(principals) == 0 {
		return awsiam.NewPolicyDocument(&awsiam.PolicyDocumentProps{Statements: &[]awsiam.PolicyStatement{
			awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
				Sid:        jsii.String("AccountMayPutEvents"),
				Principals: &[]awsiam.IPrincipal{awsiam.NewAccountRootPrincipal()},
				Actions:    putEvents,
				Resources:  resources,
			}),
		}})
	}
	var named []awsiam.IPrincipal
	for _, arn := range principals {
		named = append(named, awsiam.NewArnPrincipal(jsii.String(arn)))
	}
	return awsiam.NewPolicyDocument(&awsiam.PolicyDocumentProps{Statements: &[]awsiam.PolicyStatement{
		awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:        jsii.String("NamedPrincipalsMayPutEvents"),
			Principals: &named,
			Actions:    putEvents,
			Resources:  resources,
		}),
		awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:        jsii.String("OthersMayNot"),
			Effect:     awsiam.Effect_DENY,
			Principals: &[]awsiam.IPrincipal{awsiam.NewAnyPrincipal()},
			Actions:    putEvents,
			Resources:  resources,
			Conditions: &map[string]any{"ArnNotEquals": map[string]any{"aws:PrincipalArn": principals}},
		}),
	}})
}

var (
	// busNameRe is a bus name as CreateEventBus takes it
	// (https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_CreateEventBus.html).
	busNameRe = regexp.MustCompile(`^[/.\-_A-Za-z0-9]{1,256}$`)
)

func (b *commandBus) Bus() awsevents.IEventBus          { return b.bus }
func (b *commandBus) Ignored() awssqs.Queue             { return b.ignored }
func (b *commandBus) IgnoredAlarm() awscloudwatch.Alarm { return b.ignoredAlarm }
