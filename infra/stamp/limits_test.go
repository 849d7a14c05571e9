package stamp

import (
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/jsii-runtime-go"
)

// TestLimitsFailSynth: a stack over each limit checkLimits watches fails
// synth with an error naming the limit and what to do, and a stack just
// within it synthesizes. Small stacks of plain resources: no stamp synth.
func TestLimitsFailSynth(t *testing.T) {
	env := &awscdk.Environment{Account: jsii.String(DefaultAccount), Region: jsii.String(DefaultRegion)}
	tests := []struct {
		name  string
		build func(stack awscdk.Stack, over bool)
		want  string
	}{
		{"resources", func(stack awscdk.Stack, over bool) {
			// The CDK's metadata resource makes one more.
			n := MaxResources - 1
			if over {
				n++
			}
			for i := range n {
				awscdk.NewCfnResource(stack, jsii.String(fmt.Sprint("R", i)), &awscdk.CfnResourceProps{Type: jsii.String("AWS::CloudFormation::WaitConditionHandle")})
			}
		}, "resources, over CloudFormation's 500"},
		{"outputs", func(stack awscdk.Stack, over bool) {
			n := MaxOutputs
			if over {
				n++
			}
			for i := range n {
				awscdk.NewCfnOutput(stack, jsii.String(fmt.Sprint("O", i)), &awscdk.CfnOutputProps{Value: jsii.String("v")})
			}
		}, "outputs, over CloudFormation's 200"},
		{"role policy", func(stack awscdk.Stack, over bool) {
			role := awsiam.NewRole(stack, jsii.String("Role"), &awsiam.RoleProps{AssumedBy: awsiam.NewServicePrincipal(jsii.String("lambda.amazonaws.com"), nil)})
			// Each statement names one queue, as a reference (counted at
			// referenceLength) in a statement of its own. The CDK moves
			// what the inline policy cannot hold to managed policies;
			// more of them than IAM attaches to a role fail.
			n := 50
			if over {
				n = 400
			}
			for i := range n {
				q := awssqs.NewQueue(stack, jsii.String(fmt.Sprint("Q", i)), nil)
				role.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
					Sid: jsii.String(fmt.Sprint("S", i)), Actions: jsii.Strings("sqs:SendMessage"), Resources: jsii.Strings(*q.QueueArn()),
				}))
			}
		}, "managed policies attached, over IAM's 10"},
		{"queue policy", func(stack awscdk.Stack, over bool) {
			q := awssqs.NewQueue(stack, jsii.String("Q"), nil)
			n := MaxQueuePolicyStatements
			if over {
				n++
			}
			for i := range n {
				q.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
					Sid: jsii.String(fmt.Sprint("S", i)), Actions: jsii.Strings("sqs:SendMessage"), Resources: jsii.Strings(*q.QueueArn()),
					Principals: &[]awsiam.IPrincipal{awsiam.NewServicePrincipal(jsii.String("events.amazonaws.com"), nil)},
				}))
			}
		}, "statements, over SQS's 20"},
		{"event pattern", func(stack awscdk.Stack, over bool) {
			n := 90
			if over {
				n = 130
			}
			var names []string
			for i := range n {
				names = append(names, fmt.Sprintf("group-%010d", i))
			}
			awsevents.NewRule(stack, jsii.String("Rule"), &awsevents.RuleProps{EventPattern: &awsevents.EventPattern{
				Source: jsii.Strings("aws.autoscaling"), Detail: &map[string]any{"AutoScalingGroupName": names},
			}})
		}, "over EventBridge's 2048"},
		{"rules on the default bus", func(stack awscdk.Stack, over bool) {
			n := MaxRulesPerBus
			if over {
				n++
			}
			for i := range n {
				awsevents.NewRule(stack, jsii.String(fmt.Sprint("Rule", i)), &awsevents.RuleProps{
					EventPattern: &awsevents.EventPattern{Source: jsii.Strings(fmt.Sprint("s", i))},
				})
			}
		}, "rules on the default event bus, over EventBridge's 300"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, over := range []bool{false, true} {
				app := awscdk.NewApp(nil)
				stack := awscdk.NewStack(app, jsii.String("Stamp"), &awscdk.StackProps{Env: env})
				stack.Node().SetContext(jsii.String(stampMarker), "s")
				checkLimits(stack)
				tt.build(stack, over)
				err := try(func() { app.Synth(nil) })
				switch {
				case over && (err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), splitAdvice)):
					t.Errorf("over the limit: synth error %v, want one containing %q and %q", err, tt.want, splitAdvice)
				case !over && err != nil:
					t.Errorf("within the limit: synth error %v, want none", err)
				}
			}
		})
	}
}

// TestDeployedSize: references count as referenceLength characters,
// pseudo parameters as their longest value, joins as their parts.
func TestDeployedSize(t *testing.T) {
	ref := map[string]any{"Ref": "Queue"}
	region := map[string]any{"Ref": "AWS::Region"}
	tests := []struct {
		v    any
		want int
	}{
		{"abc", len(`"abc"`)},
		{ref, referenceLength + 2},
		{map[string]any{"Fn::Join": []any{":", []any{"arn", region, ref}}}, len(`"arn::"`) + pseudoLengths["AWS::Region"] + referenceLength},
		{[]any{ref, "<&>"}, len(`["",""]`) + referenceLength + 3},
	}
	for _, tt := range tests {
		if got := deployedSize(tt.v); got != tt.want {
			t.Errorf("deployedSize(%v) = %d, want %d", tt.v, got, tt.want)
		}
	}
}
