package stamp

import (
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsautoscaling"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/stampkit/stampkit/shared/lifecycle"
	"github.com/stampkit/stampkit/shared/rollout"
)

// The handlers' permissions: exactly the calls their adapters make
// (shared/asg, cwalarm, dynamo, elb, ec2instance, ssmcommand, sqsqueue,
// launchtemplate, ssmparam, imagebuilder), scoped to this stack's resource
// ARNs, or by tag, launch template or VPC where IAM scopes no further. Only
// the calls in UnscopedActions, which IAM cannot scope, use "*"; no action
// is a wildcard.

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

// groupArns are the ARNs of groups. The ARN embeds a UUID that is unknown
// before deploy, hence the * in that segment only.
func groupArns(stack awscdk.Stack, groups []awsautoscaling.AutoScalingGroup) []*string {
	var out []*string
	for _, g := range groups {
		out = append(out, stack.FormatArn(&awscdk.ArnComponents{
			Service:      jsii.String("autoscaling"),
			Resource:     jsii.String("autoScalingGroup"),
			ResourceName: jsii.String("*:autoScalingGroupName/" + *g.AutoScalingGroupName()),
			ArnFormat:    awscdk.ArnFormat_COLON_RESOURCE_NAME,
		}))
	}
	return out
}

// allGroups are the fleets' groups, blue/green peers included: every one
// has lifecycle hooks and may be scaled or refreshed.
func allGroups(fleets []ManagedFleet) []awsautoscaling.AutoScalingGroup {
	var out []awsautoscaling.AutoScalingGroup
	for _, mf := range fleets {
		out = append(out, mf.Fleet.Groups()...)
	}
	return out
}

// grantScaler: asg.Capacity and SetDesiredCapacity, cwalarm.Signals
// (DescribeAlarms, GetMetricData), dynamo. The scaler may scale a peer group
// too: during a blue/green rollout its hold names the side that serves.
func grantScaler(stack awscdk.Stack, h Handler, props *HandlersProps) {
	props.Table.Grant(h.Role, *jsii.Strings(stateActions...)...)
	allow(h.Role, []string{"autoscaling:SetDesiredCapacity"}, groupArns(stack, allGroups(props.Fleets))...)
	var alarms []*string
	for _, mf := range props.Fleets {
		alarms = append(alarms, mf.Scaling.AlarmArns()...)
	}
	allow(h.Role, []string{"cloudwatch:DescribeAlarms"}, alarms...)
	// cwalarm.Signals reads an alarm held in ALARM from its metric: the
	// state reason keeps the transition's value.
	allowUnscoped(h.Role, "autoscaling:DescribeAutoScalingGroups", "cloudwatch:GetMetricData")
	suppressGroupArns(h)
}

// grantLifecycle: asg lifecycle actions and Describe (target groups), elb
// drain calls, ec2instance (private IP, status checks), ssmcommand (probe
// and drain commands, when a policy has any), sqsqueue (the wake queue's
// SendMessage is granted with the queue), dynamo.
func grantLifecycle(stack awscdk.Stack, h Handler, props *HandlersProps) {
	props.Table.Grant(h.Role, *jsii.Strings(stateActions...)...)
	allow(h.Role, []string{"autoscaling:CompleteLifecycleAction", "autoscaling:RecordLifecycleActionHeartbeat"},
		groupArns(stack, allGroups(props.Fleets))...)
	var targetGroups []*string
	for _, mf := range props.Fleets {
		targetGroups = append(targetGroups, mf.Fleet.BlueTargetGroup().TargetGroupArn(), mf.Fleet.GreenTargetGroup().TargetGroupArn())
	}
	allow(h.Role, []string{"elasticloadbalancing:DeregisterTargets"}, targetGroups...)
	allowUnscoped(h.Role, "autoscaling:DescribeAutoScalingGroups", "ec2:DescribeInstances", "ec2:DescribeInstanceStatus",
		"elasticloadbalancing:DescribeTargetHealth", "elasticloadbalancing:DescribeTargetGroupAttributes")

	fleets, documents := ssmUse(props.Fleets)
	if len(fleets) > 0 {
		// Run Command authorises the document and each target instance: the
		// documents by ARN, the instances by the fleet tag the groups
		// propagate to them.
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
			Conditions: &map[string]any{"StringEquals": map[string]any{"ssm:resourceTag/" + FleetTagKey: fleets}},
		}))
		allowUnscoped(h.Role, "ssm:GetCommandInvocation")
		cdknag.NagSuppressions_AddResourceSuppressions(h.Role, &[]*cdknag.NagPackSuppression{{
			Id: jsii.String("AwsSolutions-IAM5"),
			Reason: jsii.String(fmt.Sprintf("instances are launched by Auto Scaling and unknown at deploy time; "+
				"ssm:SendCommand on them is limited by condition to those tagged %s with a fleet of this stack", FleetTagKey)),
			AppliesTo: &[]interface{}{&cdknag.RegexAppliesTo{
				Regex: jsii.String(`/^Resource::arn:[^:]+:ec2:[^:]+:[0-9]+:instance\/\*$/`),
			}},
		}}, jsii.Bool(true))
	}
	suppressGroupArns(h)
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
// AMI parameters, and the blue/green listener weights), elb
// (weights, target health), cwalarm (the health alarms), sqsqueue, dynamo —
// for the fleets whose rollout is enabled.
func grantRollout(stack awscdk.Stack, h Handler, props *HandlersProps) {
	props.Table.Grant(h.Role, *jsii.Strings(stateActions...)...)
	var groups []awsautoscaling.AutoScalingGroup
	var templates, listeners, params, weightParams, resourceParams, alarms, instanceRoles []*string
	paramArn := func(name string) *string {
		return stack.FormatArn(&awscdk.ArnComponents{
			Service:      jsii.String("ssm"),
			Resource:     jsii.String("parameter"),
			ResourceName: jsii.String(strings.TrimPrefix(name, "/")),
		})
	}
	for _, mf := range props.Fleets {
		ro := mf.Config.Rollout
		if !ro.Enabled() {
			continue
		}
		f := mf.Fleet
		groups = append(groups, f.Groups()...)
		templates = append(templates, stack.FormatArn(&awscdk.ArnComponents{
			Service:      jsii.String("ec2"),
			Resource:     jsii.String("launch-template"),
			ResourceName: f.LaunchTemplate().LaunchTemplateId(),
		}))
		if ro.Strategy == rollout.StrategyBlueGreen {
			listeners = append(listeners, f.Listener().ListenerArn())
			// The live weights, written before each weight change so that
			// a deploy writes them too (NewListenerWeights). Never read
			// back: the listener is the truth.
			if w := ro.BlueGreen.WeightParameters; w.TargetGroup != "" {
				weightParams = append(weightParams, paramArn(w.TargetGroup), paramArn(w.PeerTargetGroup))
			}
			// The listener and target group ARNs, which CloudFormation
			// writes; read when a rollout first needs them.
			if p := ro.BlueGreen.ResourcesParameter; p != "" {
				resourceParams = append(resourceParams, paramArn(p))
			}
		}
		params = append(params, paramArn(ro.Parameter))
		for _, a := range ro.Alarms {
			alarms = append(alarms, stack.FormatArn(&awscdk.ArnComponents{
				Service: jsii.String("cloudwatch"), Resource: jsii.String("alarm"),
				ResourceName: jsii.String(a), ArnFormat: awscdk.ArnFormat_COLON_RESOURCE_NAME,
			}))
		}
		instanceRoles = append(instanceRoles, f.InstanceRole().RoleArn())
	}
	if len(templates) > 0 {
		allow(h.Role, []string{"autoscaling:UpdateAutoScalingGroup", "autoscaling:StartInstanceRefresh",
			"autoscaling:CancelInstanceRefresh", "autoscaling:RollbackInstanceRefresh"}, groupArns(stack, groups)...)
		allow(h.Role, []string{"ec2:CreateLaunchTemplateVersion", "ec2:ModifyLaunchTemplate"}, templates...)
		allowLaunchFrom(stack, h.Role, templates)
		passInstanceRoles(h.Role, instanceRoles)
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
	}
	allow(h.Role, []string{"elasticloadbalancing:ModifyListener"}, listeners...)
	allow(h.Role, []string{"ssm:GetParameter", "ssm:PutParameter"}, params...)
	allow(h.Role, []string{"ssm:PutParameter"}, weightParams...)
	allow(h.Role, []string{"ssm:GetParameter"}, resourceParams...)
	allow(h.Role, []string{"cloudwatch:DescribeAlarms"}, alarms...)
	// ec2:DescribeImages also serves shared/imagebuilder: it finds an Image
	// Builder image's AMIs by their Ec2ImageBuilderArn tag, not GetImage.
	allowUnscoped(h.Role, "ec2:DescribeImages", "ec2:DescribeLaunchTemplates", "ec2:DescribeLaunchTemplateVersions",
		"autoscaling:DescribeAutoScalingGroups", "autoscaling:DescribeInstanceRefreshes",
		"elasticloadbalancing:DescribeListeners", "elasticloadbalancing:DescribeTargetHealth")
	suppressGroupArns(h)
}

// allowLaunchFrom lets role point groups at the launch templates: Auto
// Scaling checks that the caller may launch from the template
// (ec2:RunInstances, "checked when an Auto Scaling group is created or
// updated using a launch template",
// https://docs.aws.amazon.com/autoscaling/ec2/userguide/ec2-auto-scaling-launch-template-permissions.html).
// A launch touches an instance, volumes, a network interface, the
// subnet, security groups and the template, all ARNs in the stack's
// account and region, and the image and its snapshots, whose ARNs have no
// account (Amazon EC2 resource types, Service Authorization Reference).
// Only the template version says which ones, so the statement names those
// ARN patterns and leaves it to the ec2:LaunchTemplate condition, which
// each of these resource types carries for RunInstances, to pin this
// stack's templates.
func allowLaunchFrom(stack awscdk.Stack, role awsiam.Role, templates []*string) {
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
		Conditions: &map[string]any{"ArnEquals": map[string]any{"ec2:LaunchTemplate": templates}},
	}))
	cdknag.NagSuppressions_AddResourceSuppressions(role, &[]*cdknag.NagPackSuppression{{
		Id: jsii.String("AwsSolutions-IAM5"),
		Reason: jsii.String("ec2:RunInstances, which Auto Scaling checks when a group is pointed at a launch template, " +
			"touches resources the template version decides (instance, volumes, network interface, subnet, security " +
			"groups, the image and its snapshots); they are limited to this stack's account and region and, by the " +
			"ec2:LaunchTemplate condition, to launches from this stack's templates"),
		AppliesTo: &[]any{&cdknag.RegexAppliesTo{
			Regex: jsii.String(`/^Resource::arn:[^:]+:ec2:[^:]+:([0-9]+:\*|:image|:snapshot)\/\*$/`),
		}},
	}}, jsii.Bool(true))
}

// passInstanceRoles lets role pass the fleets' instance roles, as pointing
// a group at a template version whose instance profile holds one does. The
// role goes to EC2 ("iam:PassedToService": ec2.amazonaws.com, and
// ec2.amazonaws.com.cn in the China partition, as AWS's example policy for
// Auto Scaling groups with an instance profile states:
// https://docs.aws.amazon.com/autoscaling/ec2/userguide/us-iam-role.html),
// and to no other service.
func passInstanceRoles(role awsiam.Role, instanceRoles []*string) {
	role.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings("iam:PassRole"),
		Resources: &instanceRoles,
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

// suppressGroupArns records, for one handler's role, why the group ARNs
// carry a wildcard. The "*" resources are answered by suppressUnscoped once
// the role is complete; the grants that put other wildcards on a role
// suppress them next to the statement. Every suppression is limited
// (appliesTo) to the exact pattern.
func suppressGroupArns(h Handler) {
	cdknag.NagSuppressions_AddResourceSuppressions(h.Role, &[]*cdknag.NagPackSuppression{
		{
			Id: jsii.String("AwsSolutions-IAM5"),
			Reason: jsii.String("Auto Scaling group ARNs embed a UUID assigned at creation; the * stands " +
				"for that segment only and the group name pins this stack's group"),
			AppliesTo: &[]interface{}{&cdknag.RegexAppliesTo{
				Regex: jsii.String(`/^Resource::arn:[^:]+:autoscaling:[^:]+:[0-9]+:autoScalingGroup:\*:autoScalingGroupName\/<[A-Za-z0-9]+>$/`),
			}},
		},
	}, jsii.Bool(true))
}
