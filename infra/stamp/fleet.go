package stamp

import (
	"fmt"
	"slices"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsautoscaling"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	elb "github.com/aws/aws-cdk-go/awscdk/v2/awselasticloadbalancingv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsssm"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/stampkit/stampkit/infra/stampconfig"
)

// FleetTagKey tags every resource of a fleet, and the instances its
// groups launch, with the fleet's name.
const FleetTagKey = "stampkit:fleet"

// Blue/green weights the listener starts with; the rollout Lambda shifts
// them during a weight transition. A rolling fleet's listener keeps them;
// a blue/green fleet's reads the live ones from its weight parameters,
// which start with them (NewListenerWeights).
const (
	BlueWeight  = 100
	GreenWeight = 0
)

// FleetProps configures one fleet.
type FleetProps struct {
	Network Network
	Config  FleetConfig
	// Names are the stamp's: the fleet's groups, health alarms, app log
	// group and instance role path are named by them.
	Names Names
	// AppLogRetention is how long the app's log group keeps what the
	// instances' CloudWatch agent ships.
	AppLogRetention awslogs.RetentionDays
	// AccessLogDays is how long the load balancer's access logs are kept
	// (default DemoAccessLogDays).
	AccessLogDays int
	// DeletionProtection keeps the load balancer from being deleted until
	// it is turned off again, by a stack update or anyone else.
	DeletionProtection bool
	FleetOptions
}

// FleetOptions are a fleet's escape hatches (Props.Fleets). Each is
// optional; left out, the fleet has what it makes itself.
type FleetOptions struct {
	// LoadBalancer, when set, is an existing application load balancer in
	// the stamp's VPC that the fleet's listeners are added to, in place of
	// one of its own (with its security group, access-log bucket and
	// deletion protection): its ARN, security group and DNS name. Its
	// security group must admit the listener ports; the fleet admits it to
	// the app port. The ports the fleet listens on (80, and 443 with a
	// certificate) must be free on it, unless Listener is set.
	//
	// Attributes, not a construct: the fleet imports the load balancer into
	// the stamp's stack, where the security group rules between it and the
	// instances then go. A load balancer construct of another stack would
	// take them into that stack, which would reference the stamp's, as the
	// stamp's references it: a cycle CloudFormation cannot deploy.
	// Attributes may be tokens of another stack's load balancer.
	LoadBalancer *elb.ApplicationLoadBalancerAttributes
	// Listener, when set, is a listener of LoadBalancer the fleet joins
	// with a rule, in place of listeners of its own. Rolling fleets only:
	// a blue/green rollout shifts weights on a listener it owns.
	Listener *SharedListener
	// InstanceRoleStatements are added to the instance role, for what the
	// app itself calls (its queue, its bucket, its secrets).
	InstanceRoleStatements []awsiam.PolicyStatement
}

// Fleet is one Auto Scaling group behind an ALB (its own, or one
// FleetOptions bring) with blue and green target groups (and, for a
// blue/green rollout, a peer group on green).
type Fleet interface {
	Name() string
	AppPort() int
	HealthCheckPath() string
	AmiParameterName() string
	AutoScalingGroup() awsautoscaling.AutoScalingGroup
	// PeerGroup is the second group a blue/green rollout moves the fleet
	// to, attached to the green target group; nil for other strategies.
	PeerGroup() awsautoscaling.AutoScalingGroup
	// Groups are the fleet's groups: the group, then the peer group if any.
	Groups() []awsautoscaling.AutoScalingGroup
	// HealthAlarms watch the load balancer for target and load balancer
	// 5xx, latency and, per target group that can carry traffic, unhealthy
	// targets; a rollout rolls back when one of them goes to ALARM.
	HealthAlarms() []awscloudwatch.Alarm
	LaunchTemplate() awsec2.LaunchTemplate
	InstanceRole() awsiam.IRole
	// AppLogGroup receives the app's log from the instances' CloudWatch
	// agent; it is named Names.AppLogGroup, as the image's agent
	// configuration expects.
	AppLogGroup() awslogs.LogGroup
	InstanceSecurityGroup() awsec2.ISecurityGroup
	// LoadBalancer is the fleet's own load balancer, or the one
	// FleetOptions brought.
	LoadBalancer() elb.IApplicationLoadBalancer
	// LoadBalancerFullName is the load balancer's "app/NAME/ID", the
	// LoadBalancer dimension of its metrics.
	LoadBalancerFullName() *string
	// Listener is the listener whose default action is the weighted
	// blue/green forward (HTTPS when a certificate is configured), or the
	// shared listener whose rule forwards to the fleet.
	Listener() elb.IApplicationListener
	// URL is the fleet's address: http:// or https:// (as its listener
	// serves) and the load balancer's DNS name.
	URL() *string
	BlueTargetGroup() elb.ApplicationTargetGroup
	GreenTargetGroup() elb.ApplicationTargetGroup
	// ResourcesParameter holds a blue/green fleet's listener and target
	// group ARNs, written by CloudFormation, for the rollout function
	// (rollout.BlueGreen.ResourcesParameter); nil for other strategies.
	ResourcesParameter() awsssm.IStringParameter
}

type fleet struct {
	cfg         FleetConfig
	asg         awsautoscaling.AutoScalingGroup
	peer        awsautoscaling.AutoScalingGroup
	health      []awscloudwatch.Alarm
	lt          awsec2.LaunchTemplate
	role        awsiam.IRole
	appLogs     awslogs.LogGroup
	instanceSG  awsec2.ISecurityGroup
	front       frontEnd
	blue, green elb.ApplicationTargetGroup
	resources   awsssm.IStringParameter
}

// NewFleet creates the security groups, launch template, Auto Scaling group
// with lifecycle hooks, target groups, load balancer and listener(s).
func NewFleet(scope constructs.Construct, id string, props *FleetProps) Fleet {
	if props == nil {
		panic("NewFleet: props is nil")
	}
	if props.Network == nil {
		panic("NewFleet: Network is nil")
	}
	if props.AppLogRetention == "" {
		panic("NewFleet: AppLogRetention is empty")
	}
	if props.AccessLogDays < 0 {
		panic("NewFleet: AccessLogDays is negative")
	}
	if err := CheckStampName(props.Names.Stamp()); err != nil {
		panic(fmt.Sprintf("NewFleet: Names: the stamp's name %v (NamesOf)", err))
	}
	if errs := props.Config.Errors("Config"); len(errs) > 0 {
		panic(fmt.Sprintf("NewFleet: invalid Config: %v", errs))
	}
	checkFrontEnd(props)
	cfg := props.Config
	names := props.Names
	c := constructs.NewConstruct(scope, &id)
	// Cost allocation by fleet: every resource of the fleet, and the
	// instances its groups launch.
	awscdk.Tags_Of(c).Add(jsii.String(FleetTagKey), jsii.String(cfg.Name), tagProps())
	vpc := props.Network.Vpc()

	instanceSG := awsec2.NewSecurityGroup(c, jsii.String("InstanceSecurityGroup"), &awsec2.SecurityGroupProps{
		Vpc:         vpc,
		Description: jsii.String(fmt.Sprintf("stampkit %s instances", cfg.Name)),
		// Instances reach SSM, package mirrors and their own dependencies
		// through NAT; nothing reaches them but the ALB (and the readiness
		// probe the stack allows).
		AllowAllOutbound: jsii.Bool(true),
	})

	role := awsiam.NewRole(c, jsii.String("InstanceRole"), &awsiam.RoleProps{
		AssumedBy: awsiam.NewServicePrincipal(jsii.String("ec2.amazonaws.com"), nil),
		// The rollout passes the roles under this path, and no other.
		Path:        jsii.String(names.RolePath(*awscdk.Stack_Of(c).Region())),
		Description: jsii.String(fmt.Sprintf("stampkit %s instances: Session Manager and CloudWatch agent metrics and app log", cfg.Name)),
		ManagedPolicies: &[]awsiam.IManagedPolicy{
			awsiam.ManagedPolicy_FromAwsManagedPolicyName(jsii.String("AmazonSSMManagedInstanceCore")),
		},
	})
	// The CloudWatch agent publishes the group's high-resolution CPU (the
	// default policy's scale-out signal); it reads the group name from the
	// instance's tags.
	role.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:    jsii.Strings("cloudwatch:PutMetricData"),
		Resources:  jsii.Strings("*"),
		Conditions: &map[string]any{"StringEquals": map[string]any{"cloudwatch:namespace": AgentNamespace}},
	}))
	role.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings("ec2:DescribeTags"),
		Resources: jsii.Strings("*"),
	}))
	// The agent ships /var/log/stampkit/app.log to the group the image names
	// (Names.AppLogGroup). It finds the group in place, so the role may only
	// write streams into it, not create groups. Destroyed with the stack
	// like the Lambdas' groups, so a redeploy can create it again.
	appLogs := awslogs.NewLogGroup(c, jsii.String("AppLogs"), &awslogs.LogGroupProps{
		LogGroupName:  jsii.String(names.AppLogGroup(cfg.Name)),
		Retention:     props.AppLogRetention,
		RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
	})
	appLogs.Grant(role, jsii.String("logs:CreateLogStream"), jsii.String("logs:PutLogEvents"), jsii.String("logs:DescribeLogStreams"))
	// AmazonSSMManagedInstanceCore is AWS's policy "to enable AWS Systems
	// Manager service core functionality" on an instance
	// (https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AmazonSSMManagedInstanceCore.html).
	cdknag.NagSuppressions_AddResourceSuppressions(role, &[]*cdknag.NagPackSuppression{{
		Id: jsii.String("AwsSolutions-IAM4"),
		Reason: jsii.String("AmazonSSMManagedInstanceCore is the AWS-maintained policy with which the SSM Agent " +
			"takes Session Manager sessions (in place of SSH key pairs) and Run Command commands (the lifecycle " +
			"policies' SSM probes and drain commands)"),
		AppliesTo: &[]interface{}{"Policy::arn:<AWS::Partition>:iam::aws:policy/AmazonSSMManagedInstanceCore"},
	}}, jsii.Bool(true))
	for _, st := range props.InstanceRoleStatements {
		role.AddToPolicy(st)
	}
	suppressUnscoped(role)

	lt := awsec2.NewLaunchTemplate(c, jsii.String("LaunchTemplate"), &awsec2.LaunchTemplateProps{
		// A deploy-time CloudFormation parameter of type
		// AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>: no synth-time lookup.
		MachineImage: awsec2.MachineImage_FromSsmParameter(jsii.String(cfg.AmiParameter), &awsec2.SsmParameterImageOptions{
			Os: awsec2.OperatingSystemType_LINUX,
		}),
		InstanceType:            awsec2.NewInstanceType(jsii.String(cfg.InstanceType)),
		SecurityGroup:           instanceSG,
		Role:                    role,
		HttpEndpoint:            jsii.Bool(true),
		HttpTokens:              awsec2.LaunchTemplateHttpTokens_REQUIRED,
		HttpPutResponseHopLimit: jsii.Number(1),
		// One-minute EC2 metrics, for alarms on AWS/EC2 CPUUtilization.
		DetailedMonitoring:       jsii.Bool(true),
		AssociatePublicIpAddress: jsii.Bool(false),
		BlockDevices: &[]*awsec2.BlockDevice{{
			DeviceName: jsii.String("/dev/xvda"),
			Volume: awsec2.BlockDeviceVolume_Ebs(jsii.Number(cfg.RootVolumeGiB), &awsec2.EbsDeviceOptions{
				VolumeType:          awsec2.EbsDeviceVolumeType_GP3,
				Encrypted:           jsii.Bool(true),
				DeleteOnTermination: jsii.Bool(true),
			}),
		}},
	})

	newGroup := func(groupID, name string, min int, desired *int) awsautoscaling.AutoScalingGroup {
		p := &awsautoscaling.AutoScalingGroupProps{
			// Named, so that the functions' fleets file (written at synth)
			// can name it, and the stamp's policies and rules match it by
			// prefix (Names).
			AutoScalingGroupName: jsii.String(name),
			Vpc:                  vpc,
			VpcSubnets:           props.Network.PrivateSubnets(),
			LaunchTemplate:       lt,
			MinCapacity:          jsii.Number(min),
			MaxCapacity:          jsii.Number(cfg.MaxCapacity),
			// The launch hook holds an instance until it is ready, so the
			// ELB check can start soon after it goes InService.
			HealthChecks: awsautoscaling.HealthChecks_WithAdditionalChecks(&awsautoscaling.AdditionalHealthChecksOptions{
				AdditionalTypes: &[]awsautoscaling.AdditionalHealthCheckType{awsautoscaling.AdditionalHealthCheckType_ELB},
				GracePeriod:     awscdk.Duration_Seconds(jsii.Number(60)),
			}),
			DefaultInstanceWarmup: awscdk.Duration_Seconds(jsii.Number(120)),
			// GroupDesiredCapacity, GroupInServiceInstances and friends, one
			// minute apart, for the dashboard.
			GroupMetrics: &[]awsautoscaling.GroupMetrics{awsautoscaling.GroupMetrics_All()},
		}
		if desired != nil {
			p.DesiredCapacity = jsii.Number(*desired)
		}
		g := awsautoscaling.NewAutoScalingGroup(c, jsii.String(groupID), p)
		cdknag.NagSuppressions_AddResourceSuppressions(g, &[]*cdknag.NagPackSuppression{{
			Id: jsii.String("AwsSolutions-AS3"),
			Reason: jsii.String("scaling and lifecycle activity reaches the toolkit through EventBridge " +
				"(aws.autoscaling events), which needs no SNS notification configuration"),
		}}, jsii.Bool(true))
		return g
	}
	asg := newGroup("Group", names.Group(cfg.Name), cfg.MinCapacity, cfg.DesiredCapacity)

	// The hooks are part of each group (LifecycleHookSpecificationList), not
	// AWS::AutoScaling::LifecycleHook resources: CloudFormation adds a
	// separate hook only after the group exists, so the instances the group
	// launched first would go into service ungated ("One or more lifecycle
	// hooks to add to the Auto Scaling group before instances are
	// launched", AWS::AutoScaling::AutoScalingGroup
	// LifecycleHookSpecificationList). The CDK's group has no property for
	// them, hence the escape hatch. Their names are fixed (a hook name is
	// unique per group): the lifecycle rule matches them, so a lifecycle
	// action of another tool's hook on the same group never reaches the
	// toolkit, which would otherwise CONTINUE it.
	//
	// No notification target: Auto Scaling emits the lifecycle actions to
	// EventBridge, where the lifecycle rule routes them. If the lifecycle
	// Lambda never answers, the default result applies after the heartbeat
	// timeout: a launch nobody vouched for is abandoned, a termination
	// always proceeds (an instance is never stranded in Terminating:Wait).
	heartbeat := jsii.Number(cfg.Lifecycle.WithDefaults().HeartbeatTimeout.Std().Seconds())
	addHooks := func(g awsautoscaling.AutoScalingGroup) {
		cfn, ok := g.Node().DefaultChild().(awsautoscaling.CfnAutoScalingGroup)
		if !ok {
			panic(fmt.Sprintf("NewFleet: group %s has no CfnAutoScalingGroup to declare its hooks on", *g.Node().Path()))
		}
		cfn.SetLifecycleHookSpecificationList(&[]any{
			&awsautoscaling.CfnAutoScalingGroup_LifecycleHookSpecificationProperty{
				LifecycleHookName:   jsii.String(LaunchHookName),
				LifecycleTransition: jsii.String("autoscaling:EC2_INSTANCE_LAUNCHING"),
				DefaultResult:       jsii.String(string(awsautoscaling.DefaultResult_ABANDON)),
				HeartbeatTimeout:    heartbeat,
			},
			&awsautoscaling.CfnAutoScalingGroup_LifecycleHookSpecificationProperty{
				LifecycleHookName:   jsii.String(TerminateHookName),
				LifecycleTransition: jsii.String("autoscaling:EC2_INSTANCE_TERMINATING"),
				DefaultResult:       jsii.String(string(awsautoscaling.DefaultResult_CONTINUE)),
				HeartbeatTimeout:    heartbeat,
			},
		})
	}
	addHooks(asg)
	// A blue/green fleet's peer gets a pool too: after a promotion it is
	// the group that scales.
	addPool := func(g awsautoscaling.AutoScalingGroup) {
		w := cfg.WarmPool
		if w == nil {
			return
		}
		opts := &awsautoscaling.WarmPoolOptions{MinSize: jsii.Number(w.MinSize), PoolState: awsautoscaling.PoolState_STOPPED}
		if w.State == stampconfig.WarmPoolRunning {
			opts.PoolState = awsautoscaling.PoolState_RUNNING
		}
		if w.MaxPrepared != nil {
			opts.MaxGroupPreparedCapacity = jsii.Number(*w.MaxPrepared)
		}
		g.AddWarmPool(opts)
	}
	addPool(asg)

	newTG := func(tgID string) elb.ApplicationTargetGroup {
		return elb.NewApplicationTargetGroup(c, jsii.String(tgID), &elb.ApplicationTargetGroupProps{
			Vpc:        vpc,
			Port:       jsii.Number(cfg.AppPort),
			Protocol:   elb.ApplicationProtocol_HTTP,
			TargetType: elb.TargetType_INSTANCE,
			// Defaults are 300 s of draining and 30 s × 5 to turn healthy;
			// both would stretch every scale-in and rollout step.
			DeregistrationDelay: awscdk.Duration_Seconds(jsii.Number(cfg.DeregistrationDelaySeconds)),
			HealthCheck: &elb.HealthCheck{
				Path:                    jsii.String(cfg.HealthCheckPath),
				Interval:                awscdk.Duration_Seconds(jsii.Number(10)),
				Timeout:                 awscdk.Duration_Seconds(jsii.Number(5)),
				HealthyThresholdCount:   jsii.Number(2),
				UnhealthyThresholdCount: jsii.Number(3),
				HealthyHttpCodes:        jsii.String("200"),
			},
		})
	}
	blue, green := newTG("BlueTargetGroup"), newTG("GreenTargetGroup")
	asg.AttachToApplicationTargetGroup(blue)
	var peer awsautoscaling.AutoScalingGroup
	if cfg.BlueGreen() {
		// Empty until a rollout sizes it (no desired capacity, so a deploy
		// never resets what the rollout set). Its launches are gated and
		// its terminations drained like the group's: the lifecycle Lambda
		// knows it as the fleet's peer (config.FleetByGroup).
		peer = newGroup("PeerGroup", names.PeerGroup(cfg.Name), 0, nil)
		peer.AttachToApplicationTargetGroup(green)
		addHooks(peer)
		addPool(peer)
	}

	front := newFrontEnd(c, props, instanceSG, blue, green)
	health := newHealthAlarms(c, cfg, names, front, blue, green)
	var resources awsssm.IStringParameter
	if cfg.BlueGreen() {
		// The fleets file is written at synth, before these ARNs exist:
		// CloudFormation writes them here, as rollout.Resources, and the
		// fleets file names the parameter. Under the fleet's prefix, so
		// the rollout reads it with the stamp's parameters.
		resources = awsssm.NewStringParameter(c, jsii.String("ResourcesParameter"), &awsssm.StringParameterProps{
			ParameterName: jsii.String(ResourcesParameter(cfg.ParameterPrefix)),
			StringValue: awscdk.Stack_Of(c).ToJsonString(map[string]any{
				"listener": front.listener.ListenerArn(), "targetGroup": blue.TargetGroupArn(), "peerTargetGroup": green.TargetGroupArn(),
			}, nil),
			Description: jsii.String(fmt.Sprintf("stampkit %s: the blue/green listener and target group ARNs the rollout function shifts traffic with", cfg.Name)),
		})
	}

	return &fleet{
		cfg: cfg, asg: asg, peer: peer, health: health, lt: lt, role: role, appLogs: appLogs, instanceSG: instanceSG,
		front: front, blue: blue, green: green, resources: resources,
	}
}

func (f *fleet) Name() string                                      { return f.cfg.Name }
func (f *fleet) AppPort() int                                      { return f.cfg.AppPort }
func (f *fleet) HealthCheckPath() string                           { return f.cfg.HealthCheckPath }
func (f *fleet) AmiParameterName() string                          { return f.cfg.AmiParameter }
func (f *fleet) AutoScalingGroup() awsautoscaling.AutoScalingGroup { return f.asg }
func (f *fleet) PeerGroup() awsautoscaling.AutoScalingGroup        { return f.peer }
func (f *fleet) HealthAlarms() []awscloudwatch.Alarm               { return slices.Clone(f.health) }
func (f *fleet) LaunchTemplate() awsec2.LaunchTemplate             { return f.lt }
func (f *fleet) InstanceRole() awsiam.IRole                        { return f.role }
func (f *fleet) AppLogGroup() awslogs.LogGroup                     { return f.appLogs }
func (f *fleet) InstanceSecurityGroup() awsec2.ISecurityGroup      { return f.instanceSG }
func (f *fleet) LoadBalancer() elb.IApplicationLoadBalancer        { return f.front.alb }
func (f *fleet) LoadBalancerFullName() *string                     { return f.front.fullName }
func (f *fleet) Listener() elb.IApplicationListener                { return f.front.listener }
func (f *fleet) URL() *string                                      { return f.front.url }
func (f *fleet) BlueTargetGroup() elb.ApplicationTargetGroup       { return f.blue }
func (f *fleet) GreenTargetGroup() elb.ApplicationTargetGroup      { return f.green }
func (f *fleet) ResourcesParameter() awsssm.IStringParameter       { return f.resources }

func (f *fleet) Groups() []awsautoscaling.AutoScalingGroup {
	if f.peer == nil {
		return []awsautoscaling.AutoScalingGroup{f.asg}
	}
	return []awsautoscaling.AutoScalingGroup{f.asg, f.peer}
}

// How many one-minute periods in a row the 5xx and latency alarms need.
const (
	target5xxMinutes = 2
	elb5xxMinutes    = 2
	latencyMinutes   = 3
)

// newHealthAlarms creates the fleet's health alarms on the load balancer:
// what a rollout watches (the instance refresh's alarm specification, a
// blue/green bake). They span both target groups, so they see whichever
// side serves, except the unhealthy-targets alarms, one per target group.
//
// Two failures never show in the targets' own 5xx count ("CloudWatch
// metrics for your Application Load Balancer",
// https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-cloudwatch-metrics.html):
// when targets refuse connections, reset them or time out, the load
// balancer answers 502, 503 or 504 itself (HTTPCode_ELB_5XX_Count); and a
// target group whose targets are all unhealthy still gets its weight, the
// load balancer "fails open" and routes to them regardless ("Health checks
// for Application Load Balancer target groups",
// https://docs.aws.amazon.com/elasticloadbalancing/latest/application/target-group-health-checks.html).
// The unhealthy-targets alarms go to ALARM when a target group has had an
// unhealthy target (UnHealthyHostCount, per TargetGroup and LoadBalancer)
// for UnhealthyHostMinutes. Not HealthyHostCount below a floor: an idle
// side (no targets, weight 0) has no healthy host and would hold the alarm
// in ALARM, vetoing every rollout, and a floor would have to follow each
// group's capacity. Load balancer metrics are published only while
// requests flow and a 5xx count only when it is not zero, so missing data
// is not a breach, for every alarm here.
func newHealthAlarms(scope constructs.Construct, cfg FleetConfig, names Names, front frontEnd, blue, green elb.ApplicationTargetGroup) []awscloudwatch.Alarm {
	alb := front.alb
	minute := awscdk.Duration_Minutes(jsii.Number(1))
	h := cfg.HealthAlarms
	alarm := func(id string, props *awscloudwatch.AlarmProps) awscloudwatch.Alarm {
		// Named: the rollout policy in the fleets file lists them.
		props.AlarmName = jsii.String(names.HealthAlarm(cfg.Name, stampconfig.HealthAlarmKind(id)))
		props.TreatMissingData = awscloudwatch.TreatMissingData_NOT_BREACHING
		props.DatapointsToAlarm = props.EvaluationPeriods
		return awscloudwatch.NewAlarm(scope, jsii.String(id), props)
	}
	byID := map[string]awscloudwatch.Alarm{
		stampconfig.Target5xxAlarmID: alarm(stampconfig.Target5xxAlarmID, &awscloudwatch.AlarmProps{
			Metric: alb.Metrics().HttpCodeTarget(elb.HttpCodeTarget_TARGET_5XX_COUNT, &awscloudwatch.MetricOptions{
				Period: minute, Statistic: jsii.String("Sum"),
			}),
			Threshold:          jsii.Number(h.Target5xxPerMinute),
			ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
			EvaluationPeriods:  jsii.Number(target5xxMinutes),
			AlarmDescription: jsii.String(fmt.Sprintf("stampkit %s health: targets answered >= %d 5xx per minute for %d minutes",
				cfg.Name, h.Target5xxPerMinute, target5xxMinutes)),
		}),
		stampconfig.Elb5xxAlarmID: alarm(stampconfig.Elb5xxAlarmID, &awscloudwatch.AlarmProps{
			Metric: alb.Metrics().HttpCodeElb(elb.HttpCodeElb_ELB_5XX_COUNT, &awscloudwatch.MetricOptions{
				Period: minute, Statistic: jsii.String("Sum"),
			}),
			Threshold:          jsii.Number(h.Elb5xxPerMinute),
			ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
			EvaluationPeriods:  jsii.Number(elb5xxMinutes),
			AlarmDescription: jsii.String(fmt.Sprintf("stampkit %s health: the load balancer answered >= %d 5xx per minute itself "+
				"(502/503/504: targets refused, reset or timed out) for %d minutes", cfg.Name, h.Elb5xxPerMinute, elb5xxMinutes)),
		}),
		stampconfig.LatencyAlarmID: alarm(stampconfig.LatencyAlarmID, &awscloudwatch.AlarmProps{
			Metric: alb.Metrics().TargetResponseTime(&awscloudwatch.MetricOptions{
				Period: minute, Statistic: jsii.String("p99"),
			}),
			Threshold:          jsii.Number(h.P99LatencySeconds),
			ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_THRESHOLD,
			EvaluationPeriods:  jsii.Number(latencyMinutes),
			AlarmDescription: jsii.String(fmt.Sprintf("stampkit %s health: p99 target response time above %gs for %d minutes",
				cfg.Name, h.P99LatencySeconds, latencyMinutes)),
		}),
	}
	unhealthy := func(id, side string, tg elb.ApplicationTargetGroup) {
		byID[id] = alarm(id, &awscloudwatch.AlarmProps{
			// Both dimensions straight from the resources (the target
			// group's own metrics would derive the load balancer's name
			// from the listener ARN).
			Metric: awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
				Namespace:  jsii.String("AWS/ApplicationELB"),
				MetricName: jsii.String("UnHealthyHostCount"),
				DimensionsMap: &map[string]*string{
					"LoadBalancer": front.fullName,
					"TargetGroup":  tg.TargetGroupFullName(),
				},
				Period: minute, Statistic: jsii.String("Maximum"),
			}),
			Threshold:          jsii.Number(0),
			ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_THRESHOLD,
			EvaluationPeriods:  jsii.Number(h.UnhealthyHostMinutes),
			AlarmDescription: jsii.String(fmt.Sprintf("stampkit %s health: the %s target group had an unhealthy target for %d minutes "+
				"(all unhealthy, the load balancer still sends it its weight)", cfg.Name, side, h.UnhealthyHostMinutes)),
		})
	}
	unhealthy(stampconfig.BlueUnhealthyAlarmID, "blue", blue)
	if cfg.BlueGreen() {
		unhealthy(stampconfig.GreenUnhealthyAlarmID, "green", green)
	}
	var out []awscloudwatch.Alarm
	for _, id := range stampconfig.HealthAlarmIDs(cfg) {
		out = append(out, byID[id])
	}
	return out
}

// AgentNamespace is where the CloudWatch agent publishes the instances'
// metrics, among them cpu_usage_active per Auto Scaling group, the CPU
// signal of scaling.DefaultPolicy. The baked image configures the agent
// (imagepipeline.go); the instance role lets it publish.
const AgentNamespace = "CWAgent"
