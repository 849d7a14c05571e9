package stamp

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
)

// The handlers' permissions on the stamp's own resources match them by the
// names the stamp gives them (Names), or by its tag where a resource's ARN
// carries no name the stamp sets, so that a policy does not grow with the
// fleets: a role's inline policies may hold 10,240 characters in all
// (IAM and AWS STS quotas,
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html),
// which ARNs listed per fleet fill at a few dozen fleets. What is not the
// stamp's (an alarm a scaling rule names that lives elsewhere, a parameter
// outside /stampkit/<stamp>) is still listed.

// stampGroupsArn matches every group of the stamp: Names.Group and
// Names.PeerGroup begin with Names.Prefix. A group's ARN carries a UUID
// assigned at creation, hence the * in that segment.
func stampGroupsArn(stack awscdk.Stack, names Names) *string {
	return stack.FormatArn(&awscdk.ArnComponents{
		Service:      jsii.String("autoscaling"),
		Resource:     jsii.String("autoScalingGroup"),
		ResourceName: jsii.String("*:autoScalingGroupName/" + names.Prefix() + "*"),
		ArnFormat:    awscdk.ArnFormat_COLON_RESOURCE_NAME,
	})
}

// alarmArn is the ARN of the alarm named name (a pattern if it ends in *).
func alarmArn(stack awscdk.Stack, name string) *string {
	return stack.FormatArn(&awscdk.ArnComponents{
		Service: jsii.String("cloudwatch"), Resource: jsii.String("alarm"),
		ResourceName: jsii.String(name), ArnFormat: awscdk.ArnFormat_COLON_RESOURCE_NAME,
	})
}

// parameterArn is the ARN of the SSM parameter named name (a path from /).
func parameterArn(stack awscdk.Stack, name string) *string {
	return stack.FormatArn(&awscdk.ArnComponents{
		Service:      jsii.String("ssm"),
		Resource:     jsii.String("parameter"),
		ResourceName: jsii.String(strings.TrimPrefix(name, "/")),
	})
}

// tagged is the condition that a resource carry the stamp's tag
// (StampTagKey, which stampTags puts on every resource that takes tags):
// aws:ResourceTag, which EC2 launch templates and Elastic Load Balancing
// target groups support for the actions granted with it (Service
// Authorization Reference: Amazon EC2,
// https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonec2.html;
// Elastic Load Balancing V2,
// https://docs.aws.amazon.com/service-authorization/latest/reference/list_awselasticloadbalancingv2.html).
func tagged(names Names) *map[string]any {
	return &map[string]any{"StringEquals": map[string]any{"aws:ResourceTag/" + StampTagKey: names.Stamp()}}
}

// underRoot splits parameter names into those the stamp's own patterns
// cover (under Names.ParameterRoot and matching pattern, a suffix after
// one or more path segments) and the rest, which are listed.
func underRoot(names Names, pattern *regexp.Regexp, params []string) (others []string) {
	for _, p := range params {
		rest, ok := strings.CutPrefix(p, names.ParameterRoot()+"/")
		if !ok || !pattern.MatchString(rest) {
			others = append(others, p)
		}
	}
	return others
}

// A fleet's own parameters under the stamp's root: its AMI parameter by
// default (<fleet>/ami), its listener weights and its resources parameter.
var (
	amiParameterRe    = regexp.MustCompile(`^.+/ami$`)
	weightParameterRe = regexp.MustCompile(`^.+/listener-weight/[^/]+$`)
	anyParameterRe    = regexp.MustCompile(`^.+$`)
)

// suppressStampScope answers cdk-nag's IAM5 finding on the stamp-scoped
// patterns a handler's role holds, each limited (appliesTo) to its exact
// form.
func suppressStampScope(role awsiam.Role) {
	nag := func(regex, reason string) *cdknag.NagPackSuppression {
		return &cdknag.NagPackSuppression{
			Id: jsii.String("AwsSolutions-IAM5"), Reason: jsii.String(reason),
			AppliesTo: &[]any{&cdknag.RegexAppliesTo{Regex: jsii.String(regex)}},
		}
	}
	cdknag.NagSuppressions_AddResourceSuppressions(role, &[]*cdknag.NagPackSuppression{
		nag(`/^Resource::arn:[^:]+:autoscaling:[^:]+:[0-9]+:autoScalingGroup:\*:autoScalingGroupName\/stampkit-[a-z0-9]+-\*$/`,
			"the stamp's groups by name: every group the stamp creates is named stampkit-<stamp>-<fleet>[-peer] and no other "+
				"stamp's begins so (stamp names have no hyphen); the first * is the UUID Auto Scaling assigns at creation"),
		nag(`/^Resource::arn:[^:]+:cloudwatch:[^:]+:[0-9]+:alarm:stampkit-[a-z0-9]+-(scale|health)-\*$/`,
			"the stamp's scaling or health alarms by name: the stamp names them stampkit-<stamp>-scale-… and stampkit-<stamp>-health-…"),
		nag(`/^Resource::arn:[^:]+:ssm:[^:]+:[0-9]+:parameter\/stampkit\/[a-z0-9]+\/\*(\/ami|\/listener-weight\/\*)?$/`,
			"the stamp's fleets' SSM parameters under /stampkit/<stamp>/<fleet>/ (AMI, listener weights, blue/green resources)"),
		nag(`/^Resource::arn:[^:]+:elasticloadbalancing:[^:]+:[0-9]+:targetgroup\/\*\/\*$/`,
			"target groups get names and IDs from CloudFormation; the statement is limited by condition to those tagged "+
				StampTagKey+" with the stamp's name"),
		nag(`/^Resource::arn:[^:]+:ec2:[^:]+:[0-9]+:launch-template\/\*$/`,
			"launch templates get IDs from EC2; the statement is limited by condition to those tagged "+StampTagKey+
				" with the stamp's name (a Deny refuses launches from any other)"),
		nag(`/^Resource::arn:[^:]+:iam::[0-9]+:role\/stampkit\/[a-z0-9]+\/[a-z0-9-]+\/\*$/`,
			"the stamp's instance roles by their IAM path, /stampkit/<stamp>/<region>/ (Names.RolePath), which only they have; "+
				"passed to EC2 only (iam:PassedToService)"),
	}, jsii.Bool(true))
}

// refuseStampTagKeys refuses extra tags that would replace the stamp's own:
// its IAM policies match resources by them.
func refuseStampTagKeys(who string, tags map[string]string) {
	for _, k := range []string{StampTagKey, FleetTagKey} {
		if _, ok := tags[k]; ok {
			panic(fmt.Sprintf("%s: Tags[%q]: the stamp sets it, and its permissions rely on it; choose another key", who, k))
		}
	}
}
