package stamp

import (
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/stampkit/stampkit/shared/lifecycle"
	"github.com/stampkit/stampkit/shared/rollout"
)

// The handlers' permissions: exactly the calls their adapters make
// (shared/asg, cwalarm, dynamo, elb, ec2instance, ssmcommand, sqsqueue,
// launchtemplate, ssmparam, imagebuilder), scoped to the stamp's resources
// by the names it gives them (iam_stamp.go), by ARN, or by tag, launch
// template or VPC where IAM scopes no further. Only the calls in
// UnscopedActions, which IAM cannot scope, use "*"; no action is a
// wildcard.

// allow adds one statement; with no resources (nothing in the stack needs
// the actions) it adds nothing.
func allow(role awsiam.Role, actions []string, resources ...*string) {
	if len(resources) == 0 {
		return
	}
	role.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings(actions...),
		Resources: &resources,
	}))
}

// stateActions are the calls shared/dynamo makes: claims, versioned
// records, releases.
var stateActions = []string{"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem"}

// externalAlarms are the alarms the fleets' scaling rules name that the
// stamp does not create (rules without a trigger): all but those named
// with prefix.
func externalAlarms(fleets []ManagedFleet, prefix string) []string {
	var out []string
	for _, mf := range fleets {
		for _, r := range mf.Config.Scaling.Rules {
			if !strings.HasPrefix(r.Alarm, prefix) && !slices.Contains(out, r.Alarm) {
				out = append(out, r.Alarm)
			}
		}
	}
	slices.Sort(out)
	return out
}

// grantScaler: asg.Capacity and SetDesiredCapacity, cwalarm.Signals
// (DescribeAlarms, GetMetricData), dynamo. The scaler may scale a peer group
// too: during a blue/green rollout its hold names the side that serves.
// Groups and alarms by the stamp's names, alarms it does not create by
// name.
func grantScaler(stack awscdk.Stack, h Handler, props *HandlersProps) {
	props.Table.Grant(h.Role, *jsii.Strings(stateActions...)...)
	allow(h.Role, []string{"autoscaling:SetDesiredCapacity"}, stampGroupsArn(stack, props.Names))
	alarms := []*string{alarmArn(stack, props.Names.ScalingAlarmPrefix()+"*")}
	for _, a := range externalAlarms(props.Fleets, props.Names.ScalingAlarmPrefix()) {
		alarms = append(alarms, alarmArn(stack, a))
	}
	allow(h.Role, []string{"cloudwatch:DescribeAlarms"}, alarms...)
	// cwalarm.Signals reads an alarm held in ALARM from its metric: the
	// state reason keeps the transition's value.
	allowUnscoped(h.Role, "autoscaling:DescribeAutoScalingGroups", "cloudwatch:GetMetricData")
}

// grantLifecycle: asg lifecycle actions and Describe (target groups), elb
// drain calls, ec2instance (private IP, status checks), ssmcommand (probe
// and drain commands, when a policy has any), sqsqueue (the wake queue's
// SendMessage is granted with the queue), dynamo.
func grantLifecycle(stack awscdk.Stack, h Handler, props *HandlersProps) {
	props.Table.Grant(h.Role, *jsii.Strings(stateActions...)...)
	allow(h.Role, []string{"autoscaling:CompleteLifecycleAction", "autoscaling:RecordLifecycleActionHeartbeat"},
		stampGroupsArn(stack, props.Names))
	// The fleets' target groups, by the stamp's tag: their ARNs carry
	// names and IDs CloudFormation gives.
	h.Role.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions: jsii.Strings("elasticloadbalancing:DeregisterTargets"),
		Resources: jsii.Strings(*stack.FormatArn(&awscdk.ArnComponents{
			Service: jsii.String("elasticloadbalancing"), Resource: jsii.String("targetgroup"), ResourceName: jsii.String("*/*"),
		})),
		Conditions: tagged(props.Names),
	}))
	allowUnscoped(h.Role, "autoscaling:DescribeAutoScalingGroups", "ec2:DescribeInstances", "ec2:DescribeInstanceStatus",
		"elasticloadbalancing:DescribeTargetHealth", "elasticloadbalancing:DescribeTargetGroupAttributes")

	fleets, documents := ssmUse(props.Fleets)
	if len(fleets) > 0 {
		// Run Command authorises the document and each target instance: the
		// documents by ARN, the instances by the stamp's and fleet's tags,
		// which the groups propagate to them.
		var docArns []*string
		for _, d := range documents {
			docArns = append(docArns, documentArn(stack, d))
		}
		allow(h.Role, []string{"ssm:SendCommand"}, docArns...)
		h.Role.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Actions: jsii.Strings("ssm:SendCommand"),
			Resources: jsii.Strings(*stack.FormatArn(&awscdk.ArnComponents{
				Service: jsii.String("ec2"), Resource: jsii.String("instance"), ResourceName: jsii.String("*"),
			})),
			Conditions: &map[string]any{"StringEquals": map[string]any{
				"ssm:resourceTag/" + StampTagKey: props.Names.Stamp(),
				"ssm:resourceTag/" + FleetTagKey: fleets,
			}},
		}))
		allowUnscoped(h.Role, "ssm:GetCommandInvocation")
		cdknag.NagSuppressions_AddResourceSuppressions(h.Role, &[]*cdknag.NagPackSuppression{{
			Id: jsii.String("AwsSolutions-IAM5"),
			Reason: jsii.String(fmt.Sprintf("instances are launched by Auto Scaling and unknown at deploy time; "+
				"ssm:SendCommand on them is limited by condition to those tagged %s with this stamp and %s with a fleet whose policy runs commands", StampTagKey, FleetTagKey)),
			AppliesTo: &[]interface{}{&cdknag.RegexAppliesTo{
				Regex: jsii.String(`/^Resource::arn:[^:]+:ec2:[^:]+:[0-9]+:instance\/\*$/`),
			}},
		}}, jsii.Bool(true))
	}
}

// ssmUse returns the fleets whose lifecycle policy runs SSM commands, and
// the documents those commands use.
func ssmUse(fleets []ManagedFleet) (names, documents []string) {
	for _, mf := range fleets {
		p := mf.Config.Lifecycle.WithDefaults()
		cmds := slices.Clone(p.Launch.Probes)
		if p.Terminate.Command != nil {
			cmds = append(cmds, *p.Terminate.Command)
		}
		for _, c := range cmds {
			if c.Kind != lifecycle.SSM {
				continue
			}
			if !slices.Contains(names, mf.Fleet.Name()) {
				names = append(names, mf.Fleet.Name())
			}
			if !slices.Contains(documents, c.Document) {
				documents = append(documents, c.Document)
			}
		}
	}
	slices.Sort(documents)
	return names, documents
}

// documentArn is an SSM document's ARN: AWS-owned documents (AWS-*) have no
// account in theirs.
func documentArn(stack awscdk.Stack, name string) *string {
	if strings.HasPrefix(name, "arn:") {
		return jsii.String(name)
	}
	c := &awscdk.ArnComponents{Service: jsii.String("ssm"), Resource: jsii.String("document"), ResourceName: jsii.String(name)}
	if strings.HasPrefix(name, "AWS-") {
		c.Account = jsii.String("")
	}
	return stack.FormatArn(c)
}

// grantRollout: asg (template version, resize, instance refreshes),
// launchtemplate and imagebuilder (both ec2:DescribeImages), ssmparam (the
// AMI parameters, the blue/green listener weights and resources), elb
// (weights, target health), cwalarm (the health alarms), sqsqueue, dynamo.
// The stamp's groups, templates, instance roles, health alarms and
// parameters by its names and tag; what lies outside them (a parameter
// not under /stampkit/<stamp>, an alarm the policy names) and the
// blue/green listeners by ARN. Nothing but the table when no fleet rolls
// out.
func grantRollout(stack awscdk.Stack, h Handler, props *HandlersProps) {
	props.Table.Grant(h.Role, *jsii.Strings(stateActions...)...)
	names := props.Names
	var listeners, ownWaves, beforeWaves []*string
	var amiParams, weightParams, readParams, alarms []string
	for _, mf := range props.Fleets {
		ro := mf.Config.Rollout
		if !ro.Enabled() {
			continue
		}
		amiParams = append(amiParams, ro.Parameter)
		// Its own wave parameter, and the one of the stamp before it (in
		// that stamp's Region, the same account: PlanWaves), read only.
		if w := ro.Wave; w != nil {
			ownWaves = append(ownWaves, parameterArn(stack, w.Parameter))
			if a := w.After; a != nil {
				beforeWaves = append(beforeWaves, stack.FormatArn(&awscdk.ArnComponents{
					Service: jsii.String("ssm"), Region: jsii.String(a.Region), Resource: jsii.String("parameter"),
					ResourceName: jsii.String(strings.TrimPrefix(a.Parameter, "/")),
				}))
			}
		}
		if ro.Strategy == rollout.StrategyBlueGreen {
			listeners = append(listeners, mf.Fleet.Listener().ListenerArn())
			// The live weights, written before each weight change so that
			// a deploy writes them too (NewListenerWeights). Never read
			// back: the listener is the truth.
			if w := ro.BlueGreen.WeightParameters; w.TargetGroup != "" {
				weightParams = append(weightParams, w.TargetGroup, w.PeerTargetGroup)
			}
			// The listener and target group ARNs, which CloudFormation
			// writes; read when a rollout first needs them.
			if p := ro.BlueGreen.ResourcesParameter; p != "" {
				readParams = append(readParams, p)
			}
		}
		for _, a := range ro.Alarms {
			if !strings.HasPrefix(a, names.HealthAlarmPrefix()) && !slices.Contains(alarms, a) {
				alarms = append(alarms, a)
			}
		}
	}
	if len(amiParams) == 0 {
		return
	}
	groups := stampGroupsArn(stack, names)
	allow(h.Role, []string{"autoscaling:UpdateAutoScalingGroup", "autoscaling:StartInstanceRefresh",
		"autoscaling:CancelInstanceRefresh", "autoscaling:RollbackInstanceRefresh"}, groups)
	templates := stack.FormatArn(&awscdk.ArnComponents{
		Service: jsii.String("ec2"), Resource: jsii.String("launch-template"), ResourceName: jsii.String("*"),
	})
	h.Role.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:    jsii.Strings("ec2:CreateLaunchTemplateVersion", "ec2:ModifyLaunchTemplate"),
		Resources:  &[]*string{templates},
		Conditions: tagged(names),
	}))
	allowLaunchFrom(stack, h.Role, names, templates)
	passInstanceRoles(h.Role, stack.FormatArn(&awscdk.ArnComponents{
		Service: jsii.String("iam"), Region: jsii.String(""), Resource: jsii.String("role"),
		ResourceName: jsii.String(strings.TrimPrefix(names.RolePath(*stack.Region()), "/") + "*"),
	}))
	// The templates carry tag specifications (the CDK tags instances and
	// volumes with Name), so Auto Scaling also checks that the caller may
	// tag what RunInstances creates ("ec2:CreateTags – To tag instances
	// and volumes on launch when a launch template with a tag
	// specification is provided", Amazon EC2 Auto Scaling API
	// permissions): each call that points a group at a template version
	// (UpdateAutoScalingGroup, StartInstanceRefresh with a desired
	// configuration, RollbackInstanceRefresh back to the old one) is
	// denied without it. ec2:CreateAction limits it to tagging at launch.
	h.Role.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:    jsii.Strings("ec2:CreateTags"),
		Resources:  launchTaggedArns(stack),
		Conditions: &map[string]any{"StringEquals": map[string]any{"ec2:CreateAction": "RunInstances"}},
	}))
	cdknag.NagSuppressions_AddResourceSuppressions(h.Role, &[]*cdknag.NagPackSuppression{{
		Id: jsii.String("AwsSolutions-IAM5"),
		Reason: jsii.String("instances and volumes are created by Auto Scaling and unknown at deploy time; " +
			"ec2:CreateTags on them, which Auto Scaling checks for launch templates with tag specifications, " +
			"is limited by condition (ec2:CreateAction = RunInstances) to tagging at launch"),
		AppliesTo: &[]interface{}{&cdknag.RegexAppliesTo{
			Regex: jsii.String(`/^Resource::arn:[^:]+:ec2:[^:]+:[0-9]+:(instance|volume)\/\*$/`),
		}},
	}}, jsii.Bool(true))
	// A statement per twenty listeners: the CDK moves whole statements to
	// the role's managed policies when its inline policy is full, so no
	// one statement may outgrow a managed policy (Limits). A Sid of its
	// own keeps the CDK from merging them back into one
	// (@aws-cdk/aws-iam:minimizePolicies).
	i := 0
	for chunk := range slices.Chunk(listeners, listenersPerStatement) {
		h.Role.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:       jsii.String(fmt.Sprintf("BlueGreenListeners%d", i)),
			Actions:   jsii.Strings("elasticloadbalancing:ModifyListener"),
			Resources: &chunk,
		}))
		i++
	}

	root := names.ParameterRoot()
	arns := func(params []string) []*string {
		var out []*string
		for _, p := range params {
			out = append(out, parameterArn(stack, p))
		}
		return out
	}
	allow(h.Role, []string{"ssm:GetParameter", "ssm:PutParameter"},
		append([]*string{parameterArn(stack, root+"/*/ami")}, arns(underRoot(names, amiParameterRe, amiParams))...)...)
	if len(weightParams) > 0 {
		allow(h.Role, []string{"ssm:PutParameter"},
			append([]*string{parameterArn(stack, root+"/*/listener-weight/*")}, arns(underRoot(names, weightParameterRe, weightParams))...)...)
	}
	if len(readParams) > 0 {
		allow(h.Role, []string{"ssm:GetParameter"},
			append([]*string{parameterArn(stack, root+"/*")}, arns(underRoot(names, anyParameterRe, readParams))...)...)
	}
	allow(h.Role, []string{"ssm:GetParameter", "ssm:PutParameter"}, ownWaves...)
	allow(h.Role, []string{"ssm:GetParameter"}, beforeWaves...)
	described := []*string{alarmArn(stack, names.HealthAlarmPrefix()+"*")}
	for _, a := range alarms {
		described = append(described, alarmArn(stack, a))
	}
	allow(h.Role, []string{"cloudwatch:DescribeAlarms"}, described...)
	// ec2:DescribeImages also serves shared/imagebuilder: it finds an Image
	// Builder image's AMIs by their Ec2ImageBuilderArn tag, not GetImage.
	allowUnscoped(h.Role, "ec2:DescribeImages", "ec2:DescribeLaunchTemplates", "ec2:DescribeLaunchTemplateVersions",
		"autoscaling:DescribeAutoScalingGroups", "autoscaling:DescribeInstanceRefreshes",
		"elasticloadbalancing:DescribeListeners", "elasticloadbalancing:DescribeTargetHealth")
}

// listenersPerStatement bounds the listener ARNs of one ModifyListener
// statement: at about 130 characters each once deployed, twenty fit a
// managed policy (MaxManagedPolicySize) with room to spare.
const listenersPerStatement = 20

// allowLaunchFrom lets role point groups at the stamp's launch templates:
// Auto Scaling checks that the caller may launch from the template
// (ec2:RunInstances, "checked when an Auto Scaling group is created or
// updated using a launch template",
// https://docs.aws.amazon.com/autoscaling/ec2/userguide/ec2-auto-scaling-launch-template-permissions.html).
// A launch touches an instance, volumes, a network interface, the
// subnet, security groups and the template, all ARNs in the stack's
// account and region, and the image and its snapshots, whose ARNs have no
// account (Amazon EC2 resource types, Service Authorization Reference).
// Only the template version says which ones, so the Allow names those ARN
// patterns for launches from a launch template (the ec2:LaunchTemplate
// condition, which each of these resource types carries for RunInstances),
// and a Deny refuses any template, itself one of the resources a launch
// touches, that does not carry the stamp's tag. The templates are the
// stamp's by that tag alone: their ARNs hold IDs EC2 assigns.
func allowLaunchFrom(stack awscdk.Stack, role awsiam.Role, names Names, templates *string) {
	noAccount := jsii.String("")
	ec2Arn := func(account *string, resource string) *string {
		return stack.FormatArn(&awscdk.ArnComponents{
			Service: jsii.String("ec2"), Account: account,
			Resource: jsii.String(resource), ResourceName: jsii.String("*"),
		})
	}
	role.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:    jsii.Strings("ec2:RunInstances"),
		Resources:  &[]*string{ec2Arn(nil, "*"), ec2Arn(noAccount, "image"), ec2Arn(noAccount, "snapshot")},
		Conditions: &map[string]any{"ArnLike": map[string]any{"ec2:LaunchTemplate": templates}},
	}))
	role.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("OnlyTheStampsLaunchTemplates"),
		Effect:     awsiam.Effect_DENY,
		Actions:    jsii.Strings("ec2:RunInstances"),
		Resources:  &[]*string{templates},
		Conditions: &map[string]any{"StringNotEquals": map[string]any{"aws:ResourceTag/" + StampTagKey: names.Stamp()}},
	}))
	cdknag.NagSuppressions_AddResourceSuppressions(role, &[]*cdknag.NagPackSuppression{{
		Id: jsii.String("AwsSolutions-IAM5"),
		Reason: jsii.String("ec2:RunInstances, which Auto Scaling checks when a group is pointed at a launch template, " +
			"touches resources the template version decides (instance, volumes, network interface, subnet, security " +
			"groups, the image and its snapshots); they are limited to this stack's account and region and, by the " +
			"ec2:LaunchTemplate condition, to launches from a launch template, which a Deny limits to those tagged " +
			"with this stamp"),
		AppliesTo: &[]any{&cdknag.RegexAppliesTo{
			Regex: jsii.String(`/^Resource::arn:[^:]+:ec2:[^:]+:([0-9]+:\*|:image|:snapshot)\/\*$/`),
		}},
	}}, jsii.Bool(true))
}

// passInstanceRoles lets role pass the stamp's instance roles, as pointing
// a group at a template version whose instance profile holds one does:
// roles is the ARN pattern of the roles under the stamp's path
// (Names.RolePath). The role goes to EC2 ("iam:PassedToService":
// ec2.amazonaws.com, and ec2.amazonaws.com.cn in the China partition, as
// AWS's example policy for Auto Scaling groups with an instance profile
// states: https://docs.aws.amazon.com/autoscaling/ec2/userguide/us-iam-role.html),
// and to no other service.
func passInstanceRoles(role awsiam.Role, roles *string) {
	role.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings("iam:PassRole"),
		Resources: &[]*string{roles},
		Conditions: &map[string]any{"StringEquals": map[string]any{
			"iam:PassedToService": []string{"ec2.amazonaws.com", "ec2.amazonaws.com.cn"},
		}},
	}))
}

// launchTaggedArns are the ARNs of every resource, in the stack's account
// and region, of the types the fleets' launch templates tag at launch
// (their TagSpecifications): instances and volumes, no network interface.
func launchTaggedArns(stack awscdk.Stack) *[]*string {
	var out []*string
	for _, typ := range []string{"instance", "volume"} {
		out = append(out, stack.FormatArn(&awscdk.ArnComponents{
			Service: jsii.String("ec2"), Resource: jsii.String(typ), ResourceName: jsii.String("*"),
		}))
	}
	return &out
}

// grantNetworkInterfaces lets a VPC function's role manage the function's
// network interfaces: Lambda creates and deletes them with the function's
// role (https://docs.aws.amazon.com/lambda/latest/dg/configuration-vpc.html),
// refuses to create a VPC function whose role may not ("The provided
// execution role does not have permissions to call CreateNetworkInterface
// on EC2"), and deletes unused interfaces with the role of the function
// that created them
// (https://aws.amazon.com/premiumsupport/knowledge-center/lambda-eni-find-delete/). What IAM
// accepts for each action (Amazon EC2, Service Authorization Reference,
// https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonec2.html):
//   - CreateNetworkInterface authorises the new interface, the subnet and
//     the security groups: the interface by the only ARN it can have before
//     it exists, the subnets and group by their own ARNs, which are the
//     function's VpcConfig.
//   - AssignPrivateIpAddresses and UnassignPrivateIpAddresses authorise the
//     interface, with ec2:Vpc among its condition keys: only interfaces in
//     the function's VPC.
//   - DeleteNetworkInterface takes the form Lambda's page prescribes for
//     it, "specify a unique resource ID, or include all resource IDs", as
//     arn:aws:ec2:<region>:<account>:*/*, and no condition: the IDs are
//     Lambda's, and interfaces it cannot delete hold up the deletion of the
//     subnets and security group.
//   - DescribeNetworkInterfaces and DescribeSubnets have no resource type.
func grantNetworkInterfaces(role awsiam.Role, vpc awsec2.IVpc, subnets *awsec2.SubnetSelection, sg awsec2.ISecurityGroup) {
	stack := awscdk.Stack_Of(role)
	ec2Arn := func(resource string, name *string) *string {
		return stack.FormatArn(&awscdk.ArnComponents{
			Service: jsii.String("ec2"), Resource: jsii.String(resource), ResourceName: name,
		})
	}
	anyInterface := ec2Arn("network-interface", jsii.String("*"))
	createOn := []*string{anyInterface, ec2Arn("security-group", sg.SecurityGroupId())}
	for _, s := range *vpc.SelectSubnets(subnets).Subnets {
		createOn = append(createOn, ec2Arn("subnet", s.SubnetId()))
	}
	role.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings("ec2:CreateNetworkInterface"),
		Resources: &createOn,
	}))
	role.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:    jsii.Strings("ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses"),
		Resources:  &[]*string{anyInterface},
		Conditions: &map[string]any{"ArnEquals": map[string]any{"ec2:Vpc": ec2Arn("vpc", vpc.VpcId())}},
	}))
	role.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings("ec2:DeleteNetworkInterface"),
		Resources: &[]*string{ec2Arn("*", jsii.String("*"))},
	}))
	allowUnscoped(role, "ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets")
	cdknag.NagSuppressions_AddResourceSuppressions(role, &[]*cdknag.NagPackSuppression{
		{
			Id: jsii.String("AwsSolutions-IAM5"),
			Reason: jsii.String("Lambda creates the function's network interfaces, so their IDs are unknown here: " +
				"ec2:CreateNetworkInterface names the new interface only as network-interface/* (the subnets and " +
				"security group by ARN), and Assign/UnassignPrivateIpAddresses on interfaces are limited by the ec2:Vpc " +
				"condition to the function's VPC"),
			AppliesTo: &[]any{&cdknag.RegexAppliesTo{
				Regex: jsii.String(`/^Resource::arn:[^:]+:ec2:[^:]+:[0-9]+:network-interface\/\*$/`),
			}},
		},
		{
			Id: jsii.String("AwsSolutions-IAM5"),
			Reason: jsii.String("ec2:DeleteNetworkInterface on all resources of the account and region is the form " +
				"Lambda documents for a VPC function's role (" + lambdaVPCPermissions + "); Lambda deletes the " +
				"interfaces it created, whose IDs it chooses"),
			AppliesTo: &[]any{&cdknag.RegexAppliesTo{
				Regex: jsii.String(`/^Resource::arn:[^:]+:ec2:[^:]+:[0-9]+:\*\/\*$/`),
			}},
		},
	}, jsii.Bool(true))
}
