package main

import (
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsautoscaling"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/stampkit/stampkit/shared/lifecycle"
	"github.com/stampkit/stampkit/shared/rollout"
)

// The handlers' permissions: exactly the calls their adapters make
// (shared/asg, cwalarm, dynamo, elb, ec2instance, ssmcommand, sqsqueue,
// launchtemplate, ssmparam, imagebuilder), scoped to this stack's resource
// ARNs, or by tag or launch template where IAM scopes no further. Only
// calls that support no resource-level permissions use "*"; no action is a
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
	allow(h.Role, []string{"autoscaling:DescribeAutoScalingGroups", "cloudwatch:GetMetricData"}, jsii.String("*"))
	suppressIAM5(h, "autoscaling:DescribeAutoScalingGroups and cloudwatch:GetMetricData support no resource-level permissions")
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
	allow(h.Role, []string{"autoscaling:DescribeAutoScalingGroups", "ec2:DescribeInstances", "ec2:DescribeInstanceStatus",
		"elasticloadbalancing:DescribeTargetHealth", "elasticloadbalancing:DescribeTargetGroupAttributes"}, jsii.String("*"))
	reason := "autoscaling:DescribeAutoScalingGroups, ec2:DescribeInstances, ec2:DescribeInstanceStatus, " +
		"elasticloadbalancing:DescribeTargetHealth, DescribeTargetGroupAttributes and the VPC ENI actions " +
		"Lambda requires (ec2:CreateNetworkInterface and friends) support no resource-level permissions"

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
		allow(h.Role, []string{"ssm:GetCommandInvocation"}, jsii.String("*"))
		reason += "; ssm:GetCommandInvocation supports none either"
		cdknag.NagSuppressions_AddResourceSuppressions(h.Role, &[]*cdknag.NagPackSuppression{{
			Id: jsii.String("AwsSolutions-IAM5"),
			Reason: jsii.String(fmt.Sprintf("instances are launched by Auto Scaling and unknown at deploy time; "+
				"ssm:SendCommand on them is limited by condition to those tagged %s with a fleet of this stack", FleetTagKey)),
			AppliesTo: &[]interface{}{&cdknag.RegexAppliesTo{
				Regex: jsii.String(`/^Resource::arn:[^:]+:ec2:[^:]+:[0-9]+:instance\/\*$/`),
			}},
		}}, jsii.Bool(true))
	}
	suppressIAM5(h, reason)
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
	var templates, listeners, params, weightParams, alarms []*string
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
		}
		params = append(params, paramArn(ro.Parameter))
		for _, a := range ro.Alarms {
			alarms = append(alarms, stack.FormatArn(&awscdk.ArnComponents{
				Service: jsii.String("cloudwatch"), Resource: jsii.String("alarm"),
				ResourceName: jsii.String(a), ArnFormat: awscdk.ArnFormat_COLON_RESOURCE_NAME,
			}))
		}
		// Pointing a group at a template version that carries the instance
		// profile passes the instance role.
		f.InstanceRole().GrantPassRole(h.Role)
	}
	reason := "autoscaling:DescribeAutoScalingGroups and DescribeInstanceRefreshes, ec2:DescribeImages, " +
		"DescribeLaunchTemplates and DescribeLaunchTemplateVersions and elasticloadbalancing:Describe* " +
		"support no resource-level permissions"
	if len(templates) > 0 {
		allow(h.Role, []string{"autoscaling:UpdateAutoScalingGroup", "autoscaling:StartInstanceRefresh",
			"autoscaling:CancelInstanceRefresh", "autoscaling:RollbackInstanceRefresh"}, groupArns(stack, groups)...)
		allow(h.Role, []string{"ec2:CreateLaunchTemplateVersion", "ec2:ModifyLaunchTemplate"}, templates...)
		// Auto Scaling checks that whoever points a group at a launch
		// template may launch from it (ec2:RunInstances); the condition
		// limits that to this stack's templates.
		h.Role.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Actions:    jsii.Strings("ec2:RunInstances"),
			Resources:  jsii.Strings("*"),
			Conditions: &map[string]any{"ArnEquals": map[string]any{"ec2:LaunchTemplate": templates}},
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
		reason += "; ec2:RunInstances, which Auto Scaling checks when a group is pointed at a launch template, " +
			"touches resources (subnets, volumes, the image) unknown here and is limited by condition to this stack's templates"
	}
	allow(h.Role, []string{"elasticloadbalancing:ModifyListener"}, listeners...)
	allow(h.Role, []string{"ssm:GetParameter", "ssm:PutParameter"}, params...)
	allow(h.Role, []string{"ssm:PutParameter"}, weightParams...)
	allow(h.Role, []string{"cloudwatch:DescribeAlarms"}, alarms...)
	// ec2:DescribeImages also serves shared/imagebuilder: it finds an Image
	// Builder image's AMIs by their Ec2ImageBuilderArn tag, not GetImage.
	allow(h.Role, []string{"ec2:DescribeImages", "ec2:DescribeLaunchTemplates", "ec2:DescribeLaunchTemplateVersions",
		"autoscaling:DescribeAutoScalingGroups", "autoscaling:DescribeInstanceRefreshes",
		"elasticloadbalancing:DescribeListeners", "elasticloadbalancing:DescribeTargetHealth"}, jsii.String("*"))
	suppressIAM5(h, reason)
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

// suppressIAM5 records, for one handler's role, why the "*" resources and
// the group ARNs' UUID wildcard are there; the grants that put other
// wildcards on a role suppress them next to the statement. Every
// suppression is limited (appliesTo) to the exact pattern.
func suppressIAM5(h Handler, describeReason string) {
	cdknag.NagSuppressions_AddResourceSuppressions(h.Role, &[]*cdknag.NagPackSuppression{
		{
			Id:        jsii.String("AwsSolutions-IAM5"),
			Reason:    jsii.String(describeReason),
			AppliesTo: &[]interface{}{"Resource::*"},
		},
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
