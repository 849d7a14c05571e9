package stamp

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/jsii-runtime-go"
)

// boundCustomResourceProviders reins in the Lambda functions the CDK adds
// for its own custom resources: today the provider of the VPC's
// RestrictDefaultSecurityGroup, which strips the default security group's
// rules. Such a provider is a singleton per stack and type, a direct child
// of the stack; its role carries AWSLambdaBasicExecutionRole (logs on any
// log group) and its function logs to the /aws/lambda/<name> group Lambda
// creates on first use, which keeps logs forever
// (https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs-loggroups.html).
// cdk-nag does not see either: they are plain CfnResources, not the
// CfnRole and CfnFunction its rules inspect. So each provider gets a log
// group of the stack with the stack's retention, its function logs there
// (LoggingConfig), and its role may write log events there and nowhere
// else. Call it once every construct of the stack exists.
func boundCustomResourceProviders(stack awscdk.Stack, retention awslogs.RetentionDays) {
	for _, child := range *stack.Node().Children() {
		provider, ok := child.(awscdk.CustomResourceProviderBase)
		if !ok {
			continue
		}
		handler, okHandler := provider.Node().TryFindChild(jsii.String("Handler")).(awscdk.CfnResource)
		role, okRole := provider.Node().TryFindChild(jsii.String("Role")).(awscdk.CfnResource)
		if !okHandler || !okRole {
			panic(fmt.Sprintf("boundCustomResourceProviders: %s has no Handler and Role resources to bound", *provider.Node().Path()))
		}
		logs := awslogs.NewLogGroup(provider, jsii.String("Logs"), &awslogs.LogGroupProps{
			Retention:     retention,
			RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
		})
		handler.AddPropertyOverride(jsii.String("LoggingConfig.LogGroup"), logs.LogGroupName())
		// The group exists before the function runs: no logs:CreateLogGroup.
		provider.AddToRolePolicy(map[string]any{
			"Effect":   "Allow",
			"Action":   []string{"logs:CreateLogStream", "logs:PutLogEvents"},
			"Resource": logs.LogGroupArn(),
		})
		role.AddPropertyDeletionOverride(jsii.String("ManagedPolicyArns"))
		// The handler's Role property is a GetAtt of the role already
		// (cfn-lint W3005).
		handler.RemoveResourceDependency(role)
	}
}
