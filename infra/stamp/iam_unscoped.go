package stamp

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
)

// The Service Authorization Reference pages that list, per action, the
// resource types and condition keys IAM accepts. An action with neither
// can only be granted on Resource "*".
const (
	sarAutoScaling = "https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonec2autoscaling.html"
	sarCloudWatch  = "https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoncloudwatch.html"
	sarEC2         = "https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonec2.html"
	sarELB         = "https://docs.aws.amazon.com/service-authorization/latest/reference/list_awselasticloadbalancingv2.html"
	sarSSM         = "https://docs.aws.amazon.com/service-authorization/latest/reference/list_awssystemsmanager.html"
	// lambdaVPCPermissions lists what a VPC function's execution role
	// needs and how Lambda accepts it being scoped.
	lambdaVPCPermissions = "https://docs.aws.amazon.com/lambda/latest/dg/configuration-vpc.html"
)

// UnscopedAction is an action the stack grants on Resource "*", with the
// reason AWS leaves nothing narrower to grant it on.
type UnscopedAction struct {
	Action string
	Reason string
}

// UnscopedActions are the only actions any role of the stack is granted on
// Resource "*". It is the one list of those reasons: the cdk-nag
// suppressions quote it (suppressUnscoped), allowUnscoped refuses any
// other action, and TestUnscopedActions fails on any other action in the
// synthesized template.
func UnscopedActions() []UnscopedAction {
	none := func(sar string) string {
		return "IAM defines no resource type and no condition key for it (" + sar + ")"
	}
	ec2Describe := "IAM defines no resource type for it; its only condition key is ec2:Region (" + sarEC2 + ")"
	list := []UnscopedAction{
		{"autoscaling:DescribeAutoScalingGroups", none(sarAutoScaling)},
		{"autoscaling:DescribeInstanceRefreshes", none(sarAutoScaling)},
		{"cloudwatch:GetMetricData", none(sarCloudWatch)},
		{"cloudwatch:PutMetricData", "IAM defines no resource type for it; it is limited by its only condition key, " +
			"cloudwatch:namespace, to the agent's namespace (" + sarCloudWatch + ")"},
		{"ec2:DescribeImages", ec2Describe},
		{"ec2:DescribeInstanceStatus", ec2Describe},
		{"ec2:DescribeInstances", ec2Describe},
		{"ec2:DescribeLaunchTemplateVersions", ec2Describe},
		{"ec2:DescribeLaunchTemplates", ec2Describe},
		{"ec2:DescribeNetworkInterfaces", ec2Describe + "; Lambda needs it for a VPC function and documents that " +
			"it works only when allowed on all resources (" + lambdaVPCPermissions + ")"},
		{"ec2:DescribeSubnets", ec2Describe + "; Lambda's AWSLambdaVPCAccessExecutionRole grants it for VPC functions"},
		{"ec2:DescribeTags", ec2Describe},
		{"elasticloadbalancing:DescribeListeners", none(sarELB)},
		{"elasticloadbalancing:DescribeTargetGroupAttributes", none(sarELB)},
		{"elasticloadbalancing:DescribeTargetHealth", none(sarELB)},
		{"ssm:GetCommandInvocation", none(sarSSM)},
	}
	slices.SortFunc(list, func(a, b UnscopedAction) int { return strings.Compare(a.Action, b.Action) })
	return list
}

// unscopedReason is the reason action may be granted on Resource "*".
func unscopedReason(action string) (string, bool) {
	i := slices.IndexFunc(UnscopedActions(), func(u UnscopedAction) bool { return u.Action == action })
	if i < 0 {
		return "", false
	}
	return UnscopedActions()[i].Reason, true
}

// allowUnscoped grants actions on Resource "*"; each must be one of
// UnscopedActions.
func allowUnscoped(role awsiam.IRole, actions ...string) {
	for _, a := range actions {
		if _, ok := unscopedReason(a); !ok {
			panic(fmt.Sprintf("allowUnscoped: %s is not in UnscopedActions; scope it, or add it there with AWS's reason", a))
		}
	}
	role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings(actions...),
		Resources: jsii.Strings("*"),
	}))
}

// suppressUnscoped answers cdk-nag's IAM5 finding on role's Resource "*"
// with the reason of every action its default policy grants there. Call it
// after the role's last grant.
func suppressUnscoped(role awsiam.Role) {
	actions := unscopedActionsOf(role)
	if len(actions) == 0 {
		return
	}
	var reasons []string
	for _, a := range actions {
		reason, ok := unscopedReason(a)
		if !ok {
			panic(fmt.Sprintf("suppressUnscoped: %s of %s is granted on Resource * but is not in UnscopedActions",
				a, *role.Node().Path()))
		}
		reasons = append(reasons, a+": "+reason)
	}
	cdknag.NagSuppressions_AddResourceSuppressions(role, &[]*cdknag.NagPackSuppression{{
		Id:        jsii.String("AwsSolutions-IAM5"),
		Reason:    jsii.String("Resource * only for actions IAM cannot scope. " + strings.Join(reasons, "; ")),
		AppliesTo: &[]any{"Resource::*"},
	}}, jsii.Bool(true))
}

// unscopedActionsOf lists, sorted, the actions role's default policy
// allows on Resource "*".
func unscopedActionsOf(role awsiam.Role) []string {
	policy, ok := role.Node().TryFindChild(jsii.String("DefaultPolicy")).(awsiam.Policy)
	if !ok {
		return nil
	}
	raw, err := json.Marshal(awscdk.Stack_Of(role).Resolve(policy.Document()))
	if err != nil {
		panic(fmt.Sprintf("reading the policy of %s: %v", *role.Node().Path(), err))
	}
	var doc struct {
		Statement []struct {
			Effect   string
			Action   oneOrMany
			Resource oneOrMany
		}
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		panic(fmt.Sprintf("decoding the policy of %s: %v", *role.Node().Path(), err))
	}
	var out []string
	for _, s := range doc.Statement {
		if s.Effect != "Allow" || !slices.Contains(s.Resource, "*") {
			continue
		}
		for _, a := range s.Action {
			if !slices.Contains(out, a) {
				out = append(out, a)
			}
		}
	}
	slices.Sort(out)
	return out
}

// oneOrMany decodes an IAM element that is a string or a list of them;
// elements that are not strings (intrinsics) decode to "".
type oneOrMany []string

func (o *oneOrMany) UnmarshalJSON(b []byte) error {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	list, ok := v.([]any)
	if !ok {
		list = []any{v}
	}
	for _, e := range list {
		s, _ := e.(string)
		*o = append(*o, s)
	}
	return nil
}
