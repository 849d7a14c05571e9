package stamp

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambdadestinations"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambdaeventsources"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/stampkit/stampkit/shared/config"
	"github.com/stampkit/stampkit/shared/lifecycle"
)

// HandlersProps configures the three Lambdas and their event wiring.
type HandlersProps struct {
	// Names are the stamp's: the handlers' rules and permissions match the
	// stamp's resources by them.
	Names   Names
	Network Network
	Table   awsdynamodb.ITable
	Fleets  []ManagedFleet
	// AssetsDir holds <name>/bootstrap for each of HandlerNames.
	AssetsDir    string
	LogRetention awslogs.RetentionDays
	// ScalerReservedConcurrency reserves concurrency for the scaler; 0
	// leaves it in the unreserved pool (decisions are serialised per fleet
	// by the handler's lease either way).
	ScalerReservedConcurrency int
	// CommandBus carries the rollout's commands and image-ready events
	// (NewCommandBus): their rules live on it, not on the default bus.
	CommandBus awsevents.IEventBus
	// Functions, optional, overrides functions' settings by name.
	Functions map[string]FunctionOptions
}

// Handler is one Lambda with the queue that catches what it could not
// process, and the alarm on that queue.
type Handler struct {
	Function awslambda.Function
	// CodeDir is the function's code as synth staged it: its bootstrap
	// and, unless its fleets are in its environment, FleetsFileName.
	CodeDir         string
	Role            awsiam.Role
	LogGroup        awslogs.LogGroup
	DeadLetterQueue awssqs.Queue
	DeadLetterAlarm awscloudwatch.Alarm
	// WakeQueue carries the function's durable wake-ups (delayed stampkit
	// Ticks) back to it; nil for a function that never waits. Messages it
	// fails on go to WakeDeadLetterQueue, watched by WakeDeadLetterAlarm.
	WakeQueue           awssqs.Queue
	WakeDeadLetterQueue awssqs.Queue
	WakeDeadLetterAlarm awscloudwatch.Alarm
}

// Handlers are the scaler, lifecycle and rollout Lambdas and the
// EventBridge rules that feed them.
type Handlers interface {
	Scaler() Handler
	Lifecycle() Handler
	Rollout() Handler
	// LifecycleSecurityGroup is the lifecycle Lambda's security group; it
	// may reach the fleets' app port to probe readiness.
	LifecycleSecurityGroup() awsec2.ISecurityGroup
}

type handlers struct {
	scaler, lifecycle, rollout Handler
	lifecycleSG                awsec2.ISecurityGroup
}

// delivery is how hard to try before an event lands in the DLQ, both for
// Lambda's async retries and for the EventBridge rule targets.
type delivery struct {
	retryAttempts int
	maxEventAge   awscdk.Duration
}

type functionSpec struct {
	name        string
	description string
	timeout     time.Duration
	reserved    int
	vpc         bool
	delivery    delivery
	// wakeQueueEnv, when set, gives the function a wake-up queue whose URL
	// it reads from this variable.
	wakeQueueEnv string
	// wakeVisibility is the wake-up queue's visibility timeout; zero takes
	// Lambda's advice for an SQS event source, six times the function
	// timeout, so a retried batch is not delivered twice while the first
	// attempt still runs.
	wakeVisibility time.Duration
	// memoryMiB and logRetention are FunctionOptions' or the defaults.
	memoryMiB    int
	logRetention awslogs.RetentionDays
}

// NewHandlers creates the functions, their DLQs and alarms, their IAM
// permissions and the EventBridge rules.
func NewHandlers(scope constructs.Construct, id string, props *HandlersProps) Handlers {
	if props == nil {
		panic("NewHandlers: props is nil")
	}
	switch {
	case CheckStampName(props.Names.Stamp()) != nil:
		panic(fmt.Sprintf("NewHandlers: Names: the stamp's name %v (NamesOf)", CheckStampName(props.Names.Stamp())))
	case props.Network == nil:
		panic("NewHandlers: Network is nil")
	case props.Table == nil:
		panic("NewHandlers: Table is nil")
	case len(props.Fleets) == 0:
		panic("NewHandlers: Fleets is empty")
	case props.AssetsDir == "":
		panic("NewHandlers: AssetsDir is empty")
	case props.LogRetention == "":
		panic("NewHandlers: LogRetention is empty")
	case props.ScalerReservedConcurrency < 0:
		panic("NewHandlers: ScalerReservedConcurrency is negative")
	case props.CommandBus == nil:
		panic("NewHandlers: CommandBus is nil")
	}
	for i, mf := range props.Fleets {
		if mf.Fleet == nil || mf.Scaling == nil {
			panic(fmt.Sprintf("NewHandlers: Fleets[%d] has a nil Fleet or Scaling", i))
		}
	}
	checkFunctionOptions("NewHandlers", props.Functions)
	c := constructs.NewConstruct(scope, &id)
	stack := awscdk.Stack_Of(c)

	lifecycleSG := awsec2.NewSecurityGroup(c, jsii.String("LifecycleSecurityGroup"), &awsec2.SecurityGroupProps{
		Vpc:              props.Network.Vpc(),
		Description:      jsii.String("stampkit lifecycle Lambda: AWS APIs and fleet readiness probes"),
		AllowAllOutbound: jsii.Bool(false),
	})
	lifecycleSG.AddEgressRule(awsec2.Peer_AnyIpv4(), awsec2.Port_Tcp(jsii.Number(443)),
		jsii.String("AWS APIs through NAT"), nil)
	for _, mf := range props.Fleets {
		allowProbes(mf, lifecycleSG)
	}

	env := map[string]*string{
		config.EnvTable:     props.Table.TableName(),
		config.EnvNamespace: jsii.String(MetricNamespace),
	}
	newFn := func(spec functionSpec) Handler {
		return newHandler(c, props.Functions[spec.name].applyTo(spec, props.LogRetention), props, env, lifecycleSG)
	}
	h := &handlers{lifecycleSG: lifecycleSG}
	h.scaler = newFn(functionSpec{
		name:        "scaler",
		description: "stampkit scaler: alarm state changes and the re-evaluation tick to desired capacity",
		timeout:     30 * time.Second,
		reserved:    props.ScalerReservedConcurrency,
		// A scaling event older than a few minutes describes a past load;
		// the one-minute tick re-evaluates anyway.
		delivery: delivery{retryAttempts: 2, maxEventAge: awscdk.Duration_Minutes(jsii.Number(10))},
	})
	h.lifecycle = newFn(functionSpec{
		name:        "lifecycle",
		description: "stampkit lifecycle: readiness gate and drain for launch/terminate hooks",
		timeout:     LifecycleTimeout,
		vpc:         true,
		// Past the hook's heartbeat timeout the default result has applied.
		delivery:       delivery{retryAttempts: 2, maxEventAge: awscdk.Duration_Minutes(jsii.Number(30))},
		wakeQueueEnv:   config.EnvWakeQueue,
		wakeVisibility: LifecycleWakeVisibility,
	})
	h.rollout = newFn(functionSpec{
		name:        "rollout",
		description: "stampkit rollout: new image to launch template, instance refresh and weight shift",
		timeout:     time.Minute,
		// A new image is worth acting on hours later; 6 h is Lambda's cap.
		// Its waits (refresh checkpoints, bakes) are bound to no hook, so
		// its wake queue keeps the six-fold visibility timeout.
		delivery:     delivery{retryAttempts: 2, maxEventAge: awscdk.Duration_Hours(jsii.Number(6))},
		wakeQueueEnv: config.EnvRolloutQueue,
	})

	grantScaler(stack, h.scaler, props)
	grantLifecycle(stack, h.lifecycle, props)
	grantRollout(stack, h.rollout, props)
	addRules(c, h, props)
	for _, handler := range []Handler{h.scaler, h.lifecycle, h.rollout} {
		suppressUnscoped(handler.Role)
		suppressStampScope(handler.Role)
	}
	return h
}

func newHandler(c constructs.Construct, spec functionSpec, props *HandlersProps, baseEnv map[string]*string, sg awsec2.ISecurityGroup) Handler {
	var fleets []config.Fleet
	for _, mf := range props.Fleets {
		fleets = append(fleets, mf.Config)
	}
	code, err := stageFunctionCode(awscdk.Stack_Of(c), props.AssetsDir, spec.name, FleetsFor(spec.name, fleets))
	if err != nil {
		panic(fmt.Sprintf("NewHandlers: %v", err))
	}
	var vpc *functionVpc
	if spec.vpc {
		vpc = &functionVpc{network: props.Network, sg: sg}
	}
	return newFunction(c, spec, code, baseEnv, vpc)
}

// functionVpc is the network a function in a VPC runs in.
type functionVpc struct {
	network Network
	sg      awsec2.ISecurityGroup
}

// newFunction creates one of the toolkit's Lambdas from its staged code:
// its log group, role, dead-letter queue and alarm, and, when spec asks,
// its wake-up queue; in vpc's private subnets when set.
func newFunction(c constructs.Construct, spec functionSpec, code functionCode, baseEnv map[string]*string, vpc *functionVpc) Handler {
	scope := constructs.NewConstruct(c, jsii.String(titleCase(spec.name)))
	logGroup := awslogs.NewLogGroup(scope, jsii.String("Logs"), &awslogs.LogGroupProps{
		Retention:     spec.logRetention,
		RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
	})
	dlq, dlqAlarm := newDeadLetters(scope, "DeadLetters",
		"this queue is itself the dead-letter queue for the function's async invocations and its "+
			"EventBridge rule targets; a DLQ of a DLQ adds nothing",
		fmt.Sprintf("stampkit %s: events were dropped into its dead-letter queue", spec.name))
	env := maps.Clone(baseEnv)
	maps.Copy(env, code.env)
	var wake, wakeDLQ awssqs.Queue
	var wakeAlarm awscloudwatch.Alarm
	if spec.wakeQueueEnv != "" {
		// cdk-nag sees this one is the wake-up queue's redrive target: no
		// SQS3 suppression needed.
		wakeDLQ, wakeAlarm = newDeadLetters(scope, "WakeDeadLetters", "",
			fmt.Sprintf("stampkit %s: wake-ups failed %d times and were dropped; a wait was cut short", spec.name, WakeMaxReceives))
		visibility := spec.wakeVisibility
		if visibility == 0 {
			visibility = 6 * spec.timeout
		}
		if visibility < spec.timeout {
			panic(fmt.Sprintf("NewHandlers: %s wake queue visibility timeout %v is below the function timeout %v, which Lambda rejects",
				spec.name, visibility, spec.timeout))
		}
		wake = awssqs.NewQueue(scope, jsii.String("WakeQueue"), &awssqs.QueueProps{
			Encryption:        awssqs.QueueEncryption_SQS_MANAGED,
			EnforceSSL:        jsii.Bool(true),
			VisibilityTimeout: awscdk.Duration_Seconds(jsii.Number(visibility.Seconds())),
			// A wake-up chain re-sends itself every 15 minutes at most; a
			// day covers any backlog after an outage.
			RetentionPeriod: awscdk.Duration_Days(jsii.Number(1)),
			DeadLetterQueue: &awssqs.DeadLetterQueue{Queue: wakeDLQ, MaxReceiveCount: jsii.Number(WakeMaxReceives)},
		})
		env[spec.wakeQueueEnv] = wake.QueueUrl()
	}

	// An own role instead of the default one: no AWS managed policies, and
	// the log permissions are scoped to this function's log group.
	role := awsiam.NewRole(scope, jsii.String("Role"), &awsiam.RoleProps{
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("lambda.amazonaws.com"), nil),
		Description: jsii.String(fmt.Sprintf("stampkit %s Lambda", spec.name)),
	})
	logGroup.GrantWrite(role)

	fnProps := &awslambda.FunctionProps{
		Description:  jsii.String(spec.description),
		Runtime:      awslambda.Runtime_PROVIDED_AL2023(),
		Architecture: awslambda.Architecture_ARM_64(),
		Handler:      jsii.String("bootstrap"),
		Code:         awslambda.Code_FromAsset(jsii.String(code.dir), nil),
		MemorySize:   jsii.Number(spec.memoryMiB),
		Timeout:      awscdk.Duration_Seconds(jsii.Number(spec.timeout.Seconds())),
		Role:         role,
		Environment:  &env,
		LogGroup:     logGroup,
		// JSON logs let Lambda filter by level and set AWS_LAMBDA_LOG_LEVEL,
		// which the handlers' slog setup reads.
		LoggingFormat:         awslambda.LoggingFormat_JSON,
		ApplicationLogLevelV2: awslambda.ApplicationLogLevel_INFO,
		SystemLogLevelV2:      awslambda.SystemLogLevel_WARN,
		RetryAttempts:         jsii.Number(spec.delivery.retryAttempts),
		MaxEventAge:           spec.delivery.maxEventAge,
		OnFailure:             awslambdadestinations.NewSqsDestination(dlq),
	}
	if spec.reserved > 0 {
		fnProps.ReservedConcurrentExecutions = jsii.Number(spec.reserved)
	}
	if vpc != nil {
		fnProps.Vpc = vpc.network.Vpc()
		fnProps.VpcSubnets = vpc.network.PrivateSubnets()
		fnProps.SecurityGroups = &[]awsec2.ISecurityGroup{vpc.sg}
		grantNetworkInterfaces(role, fnProps.Vpc, fnProps.VpcSubnets, vpc.sg)
	}
	fn := awslambda.NewFunction(scope, jsii.String("Function"), fnProps)
	dropDependsOnReferenced(fn.Node().DefaultChild().(awscdk.CfnResource), role.Node().DefaultChild().(awscdk.CfnResource))
	if wake != nil {
		// One wake-up per invocation: a failure returns just that message
		// to the queue, with no partial-batch bookkeeping.
		fn.AddEventSource(awslambdaeventsources.NewSqsEventSource(wake, &awslambdaeventsources.SqsEventSourceProps{
			BatchSize: jsii.Number(1),
		}))
		wake.Grant(role, jsii.String("sqs:SendMessage"))
		// The function is the only sender of its wake-ups. Within the
		// account an identity policy allowing sqs:SendMessage on "*" would
		// otherwise do; the Deny holds against it (the rollout function
		// also refuses anything but a wake-up from the queue).
		wake.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:        jsii.String("OnlyTheFunctionSendsWakeUps"),
			Effect:     awsiam.Effect_DENY,
			Principals: &[]awsiam.IPrincipal{awsiam.NewAnyPrincipal()},
			Actions:    jsii.Strings("sqs:SendMessage"),
			Resources:  jsii.Strings(*wake.QueueArn()),
			Conditions: &map[string]any{"ArnNotEquals": map[string]any{"aws:PrincipalArn": role.RoleArn()}},
		}))
	}
	return Handler{
		Function: fn, CodeDir: code.dir, Role: role, LogGroup: logGroup, DeadLetterQueue: dlq, DeadLetterAlarm: dlqAlarm,
		WakeQueue: wake, WakeDeadLetterQueue: wakeDLQ, WakeDeadLetterAlarm: wakeAlarm,
	}
}

// WakeMaxReceives is how often a wake-up is retried before it goes to the
// wake dead-letter queue.
const WakeMaxReceives = 5

// newDeadLetters creates an encrypted, SSL-only dead-letter queue and the
// alarm that fires on its first message. nagReason, when set, suppresses
// cdk-nag's "queue without a DLQ" (SQS3) finding.
func newDeadLetters(scope constructs.Construct, id, nagReason, alarmDescription string) (awssqs.Queue, awscloudwatch.Alarm) {
	dlq := awssqs.NewQueue(scope, jsii.String(id), &awssqs.QueueProps{
		Encryption:      awssqs.QueueEncryption_SQS_MANAGED,
		EnforceSSL:      jsii.Bool(true),
		RetentionPeriod: awscdk.Duration_Days(jsii.Number(14)),
	})
	if nagReason != "" {
		cdknag.NagSuppressions_AddResourceSuppressions(dlq, &[]*cdknag.NagPackSuppression{{
			Id: jsii.String("AwsSolutions-SQS3"), Reason: jsii.String(nagReason),
		}}, jsii.Bool(false))
	}
	alarm := awscloudwatch.NewAlarm(scope, jsii.String(id+"Alarm"), &awscloudwatch.AlarmProps{
		Metric: dlq.MetricApproximateNumberOfMessagesVisible(&awscloudwatch.MetricOptions{
			Period:    awscdk.Duration_Minutes(jsii.Number(1)),
			Statistic: jsii.String("Maximum"),
		}),
		Threshold:          jsii.Number(0),
		ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_THRESHOLD,
		EvaluationPeriods:  jsii.Number(1),
		TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
		AlarmDescription:   jsii.String(alarmDescription),
	})
	return dlq, alarm
}

// FleetsJSON is STAMPKIT_FLEETS as config.FromEnv reads it, with the
// tokens inside (group, alarm, listener and target group names) resolving
// at deploy time.
func FleetsJSON(stack awscdk.Stack, list []config.Fleet) *string {
	// Through encoding/json first, so the shared types' JSON tags and
	// duration encoding apply; then as plain values to CDK, which turns the
	// tokens inside the strings into an Fn::Join.
	raw, err := json.Marshal(list)
	if err != nil {
		panic(fmt.Sprintf("encoding %s: %v", config.EnvFleets, err))
	}
	var plain any
	if err := json.Unmarshal(raw, &plain); err != nil {
		panic(fmt.Sprintf("decoding %s: %v", config.EnvFleets, err))
	}
	return stack.ToJsonString(plain, nil)
}

// allowProbes lets the lifecycle function reach the fleet's instances on
// its probe ports: the egress from the function's group and the ingress to
// the instances', both declared beside the instances' group, in the
// fleet's stack, so that a stamp's own stack holds no rule per fleet.
func allowProbes(mf ManagedFleet, lifecycleSG awsec2.ISecurityGroup) {
	instances := mf.Fleet.InstanceSecurityGroup()
	scope := awscdk.Stack_Of(instances)
	for _, port := range probePorts(mf) {
		description := jsii.String(fmt.Sprintf("readiness probe of fleet %s", mf.Fleet.Name()))
		awsec2.NewCfnSecurityGroupEgress(scope, jsii.String(fmt.Sprintf("LifecycleProbeEgress-%s-%d", mf.Fleet.Name(), port)), &awsec2.CfnSecurityGroupEgressProps{
			GroupId: lifecycleSG.SecurityGroupId(), DestinationSecurityGroupId: instances.SecurityGroupId(),
			IpProtocol: jsii.String("tcp"), FromPort: jsii.Number(port), ToPort: jsii.Number(port), Description: description,
		})
		awsec2.NewCfnSecurityGroupIngress(scope, jsii.String(fmt.Sprintf("LifecycleProbeIngress-%s-%d", mf.Fleet.Name(), port)), &awsec2.CfnSecurityGroupIngressProps{
			GroupId: instances.SecurityGroupId(), SourceSecurityGroupId: lifecycleSG.SecurityGroupId(),
			IpProtocol: jsii.String("tcp"), FromPort: jsii.Number(port), ToPort: jsii.Number(port), Description: description,
		})
	}
}

// probePorts are the ports the lifecycle Lambda's HTTP probes reach on a
// fleet's instances.
func probePorts(mf ManagedFleet) []int {
	var ports []int
	for _, p := range mf.Config.Lifecycle.Launch.Probes {
		if p.Kind == lifecycle.HTTP && !slices.Contains(ports, p.Port) {
			ports = append(ports, p.Port)
		}
	}
	slices.Sort(ports)
	return ports
}

func titleCase(s string) string {
	if s == "" {
		return s
	}
	return string(s[0]-'a'+'A') + s[1:]
}

func (h *handlers) Scaler() Handler                               { return h.scaler }
func (h *handlers) Lifecycle() Handler                            { return h.lifecycle }
func (h *handlers) Rollout() Handler                              { return h.rollout }
func (h *handlers) LifecycleSecurityGroup() awsec2.ISecurityGroup { return h.lifecycleSG }
