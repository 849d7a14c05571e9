package main

import (
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
)

// The handlers' permissions: Grant* where CDK has one, otherwise
// statements scoped to this stack's resource ARNs. Only Describe*/Get*
// calls that IAM cannot scope use "*" as the resource; no action is a
// wildcard.

func allow(role awsiam.Role, actions []string, resources ...*string) {
	role.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings(actions...),
		Resources: &resources,
	}))
}

// groupArns are the fleets' Auto Scaling group ARNs. The ARN embeds a UUID
// that is unknown before deploy, hence the * in that segment only.
func groupArns(stack awscdk.Stack, props *HandlersProps) []*string {
	var out []*string
	for _, mf := range props.Fleets {
		out = append(out, stack.FormatArn(&awscdk.ArnComponents{
			Service:      jsii.String("autoscaling"),
			Resource:     jsii.String("autoScalingGroup"),
			ResourceName: jsii.String("*:autoScalingGroupName/" + *mf.Fleet.AutoScalingGroup().AutoScalingGroupName()),
			ArnFormat:    awscdk.ArnFormat_COLON_RESOURCE_NAME,
		}))
	}
	return out
}

func grantScaler(stack awscdk.Stack, h Handler, props *HandlersProps) {
	props.Table.GrantReadWriteData(h.Role)
	allow(h.Role, []string{"autoscaling:SetDesiredCapacity", "autoscaling:SetInstanceProtection"}, groupArns(stack, props)...)
	var alarms []*string
	for _, mf := range props.Fleets {
		for _, a := range mf.Scaling.Alarms() {
			alarms = append(alarms, a.Alarm.AlarmArn())
		}
	}
	allow(h.Role, []string{"cloudwatch:DescribeAlarms"}, alarms...)
	allow(h.Role, []string{"autoscaling:DescribeAutoScalingGroups", "autoscaling:DescribeScalingActivities"}, jsii.String("*"))
	suppressIAM5(h, "autoscaling:DescribeAutoScalingGroups and DescribeScalingActivities support no resource-level permissions")
}

func grantLifecycle(stack awscdk.Stack, h Handler, props *HandlersProps) {
	props.Table.GrantReadWriteData(h.Role)
	allow(h.Role, []string{"autoscaling:CompleteLifecycleAction", "autoscaling:RecordLifecycleActionHeartbeat"},
		groupArns(stack, props)...)
	allow(h.Role, []string{"autoscaling:DescribeAutoScalingInstances", "ec2:DescribeInstances",
		"elasticloadbalancing:DescribeTargetHealth"}, jsii.String("*"))
	suppressIAM5(h, "autoscaling:DescribeAutoScalingInstances, ec2:DescribeInstances, "+
		"elasticloadbalancing:DescribeTargetHealth and the VPC ENI actions Lambda requires "+
		"(ec2:CreateNetworkInterface and friends) support no resource-level permissions")
}

func grantRollout(stack awscdk.Stack, h Handler, props *HandlersProps) {
	props.Table.GrantReadWriteData(h.Role)
	var templates, listeners, params []*string
	for _, mf := range props.Fleets {
		f := mf.Fleet
		templates = append(templates, stack.FormatArn(&awscdk.ArnComponents{
			Service:      jsii.String("ec2"),
			Resource:     jsii.String("launch-template"),
			ResourceName: f.LaunchTemplate().LaunchTemplateId(),
		}))
		listeners = append(listeners, f.Listener().ListenerArn())
		params = append(params, stack.FormatArn(&awscdk.ArnComponents{
			Service:      jsii.String("ssm"),
			Resource:     jsii.String("parameter"),
			ResourceName: jsii.String(strings.TrimPrefix(f.AmiParameterName(), "/")),
		}))
		// Pointing the group at a new template version that carries the
		// instance profile requires passing the instance role.
		f.InstanceRole().GrantPassRole(h.Role)
	}
	allow(h.Role, []string{"ec2:CreateLaunchTemplateVersion", "ec2:ModifyLaunchTemplate"}, templates...)
	allow(h.Role, []string{"autoscaling:StartInstanceRefresh", "autoscaling:CancelInstanceRefresh",
		"autoscaling:RollbackInstanceRefresh"}, groupArns(stack, props)...)
	allow(h.Role, []string{"elasticloadbalancing:ModifyListener"}, listeners...)
	allow(h.Role, []string{"ssm:GetParameter", "ssm:PutParameter"}, params...)
	allow(h.Role, []string{"imagebuilder:GetImage"}, stack.FormatArn(&awscdk.ArnComponents{
		Service:      jsii.String("imagebuilder"),
		Resource:     jsii.String("image"),
		ResourceName: jsii.String("*"),
	}))
	allow(h.Role, []string{"ec2:DescribeImages", "ec2:DescribeLaunchTemplateVersions",
		"autoscaling:DescribeAutoScalingGroups", "autoscaling:DescribeInstanceRefreshes",
		"elasticloadbalancing:DescribeListeners", "elasticloadbalancing:DescribeTargetHealth"}, jsii.String("*"))
	suppressIAM5(h, "ec2:DescribeImages, ec2:DescribeLaunchTemplateVersions, autoscaling:Describe* and "+
		"elasticloadbalancing:Describe* support no resource-level permissions")
}

// suppressIAM5 records, for one handler's role, why each wildcard resource
// is there. Every suppression is limited (appliesTo) to the exact pattern.
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
		{
			Id:     jsii.String("AwsSolutions-IAM5"),
			Reason: jsii.String("Image Builder image ARNs carry a version unknown at deploy time; scoped to this account and region"),
			AppliesTo: &[]interface{}{&cdknag.RegexAppliesTo{
				Regex: jsii.String(`/^Resource::arn:[^:]+:imagebuilder:[^:]+:[0-9]+:image\/\*$/`),
			}},
		},
	}, jsii.Bool(true))
}
