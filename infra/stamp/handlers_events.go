package stamp

import (
	"fmt"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/stampkit/stampkit/shared/event"
	"github.com/stampkit/stampkit/shared/rollout"
)

// Event sources and detail-types the rules match (see DESIGN.md, Events).
const (
	DetailAlarmStateChange   = event.DetailTypeAlarmStateChange
	DetailLaunchLifecycle    = event.DetailTypeLaunchLifecycleAction
	DetailTerminateLifecycle = event.DetailTypeTerminateLifecycleAction
	DetailImageBuilderImage  = event.DetailTypeImageStateChange
	DetailAMIStateChange     = event.DetailTypeAMIStateChange
	DetailRolloutCommand     = event.DetailTypeCommand
	DetailStackResource      = event.DetailTypeResourceStatusChange
	DetailImageReady         = event.DetailTypeImageReady
)

// InstanceRefreshDetailTypes returns every instance refresh event Auto
// Scaling sends; the rollout follows a refresh through them.
func InstanceRefreshDetailTypes() []string {
	return []string{
		"EC2 Auto Scaling Instance Refresh Started",
		"EC2 Auto Scaling Instance Refresh Checkpoint Reached",
		"EC2 Auto Scaling Instance Refresh Started Baking",
		"EC2 Auto Scaling Instance Refresh Succeeded",
		"EC2 Auto Scaling Instance Refresh Failed",
		"EC2 Auto Scaling Instance Refresh Cancelled",
		"EC2 Auto Scaling Instance Refresh Rollback Started",
		"EC2 Auto Scaling Instance Refresh Rollback Succeeded",
		"EC2 Auto Scaling Instance Refresh Rollback Failed",
	}
}

// ScalerTickRate is how often the scaler re-evaluates: EventBridge sees
// only alarm state changes, so an alarm that stays in ALARM needs the tick.
const ScalerTickRate = 1 // minute

func addRules(c constructs.Construct, h *handlers, props *HandlersProps) {
	stack := awscdk.Stack_Of(c)
	names := props.Names
	var hasBlueGreen bool
	var fleetNames []string
	for _, mf := range props.Fleets {
		fleetNames = append(fleetNames, mf.Fleet.Name())
		hasBlueGreen = hasBlueGreen || mf.Config.Rollout.Strategy == rollout.StrategyBlueGreen
	}
	// The stamp's groups: every one is named with its prefix (Names).
	// EventBridge matches a prefix of a string value
	// ("Comparison operators for use in event patterns", https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern-operators.html),
	// so the patterns do not grow with the fleets: an event pattern holds
	// at most 2,048 characters ("Amazon EventBridge quotas",
	// https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-quota.html).
	stampGroups := []any{map[string]any{"prefix": names.Prefix()}}
	// bus nil is the default bus.
	ruleOn := func(bus awsevents.IEventBus, id, description string, pattern *awsevents.EventPattern, schedule awsevents.Schedule, target Handler, maxAge awscdk.Duration) awsevents.Rule {
		return awsevents.NewRule(c, jsii.String(id), &awsevents.RuleProps{
			Description:  jsii.String(description),
			EventBus:     bus,
			EventPattern: pattern,
			Schedule:     schedule,
			Targets: &[]awsevents.IRuleTarget{awseventstargets.NewLambdaFunction(target.Function, &awseventstargets.LambdaFunctionProps{
				DeadLetterQueue: target.DeadLetterQueue,
				// EventBridge retries only when Lambda refuses the async
				// invoke (throttling, service errors); function errors are
				// retried by Lambda's async config.
				RetryAttempts: jsii.Number(8),
				MaxEventAge:   maxAge,
			})},
		})
	}
	rule := func(id, description string, pattern *awsevents.EventPattern, schedule awsevents.Schedule, target Handler, maxAge awscdk.Duration) awsevents.Rule {
		return ruleOn(nil, id, description, pattern, schedule, target, maxAge)
	}
	// A replay re-delivers archived events without a PutEvents, so the bus
	// policy does not see it: whoever may archive and replay the bus could
	// send an old abort or promote again once its claim has expired.
	// Replayed events carry "replay-name"
	// (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-replay-archived-event.html);
	// the steering rules refuse them.
	noReplays := func(r awsevents.Rule) {
		r.Node().DefaultChild().(awsevents.CfnRule).AddPropertyOverride(jsii.String("EventPattern.replay-name"),
			[]any{map[string]any{"exists": false}})
	}
	scalerAge := awscdk.Duration_Minutes(jsii.Number(10))
	// Exactly the scaling policies' alarms: CloudWatch puts the alarm's ARN
	// in the event's resources. The stamp's by the prefix of their names,
	// the ones a rule names that live elsewhere by ARN.
	alarms := []any{map[string]any{"prefix": alarmArn(stack, names.ScalingAlarmPrefix())}}
	for _, a := range externalAlarms(props.Fleets, names.ScalingAlarmPrefix()) {
		alarms = append(alarms, alarmArn(stack, a))
	}
	alarmRule := rule("ScalerAlarmRule", "Scaling alarm state changes to the scaler", &awsevents.EventPattern{
		Source:     jsii.Strings(event.SourceCloudWatch),
		DetailType: jsii.Strings(DetailAlarmStateChange),
	}, nil, h.scaler, scalerAge)
	alarmRule.Node().DefaultChild().(awsevents.CfnRule).AddPropertyOverride(jsii.String("EventPattern.resources"), alarms)
	addTickRules(c, rule, fleetNames, h.scaler, scalerAge)

	// The toolkit's hooks only: another tool's hook on the same group is
	// that tool's to complete, and a CONTINUE from the toolkit would cut
	// its wait short.
	rule("LifecycleRule", "Launch and terminate lifecycle actions of the stamp's groups' stampkit hooks", &awsevents.EventPattern{
		Source:     jsii.Strings(event.SourceAutoScaling),
		DetailType: jsii.Strings(DetailLaunchLifecycle, DetailTerminateLifecycle),
		Detail: &map[string]any{
			"AutoScalingGroupName": stampGroups,
			"LifecycleHookName":    HookNames(),
		},
	}, nil, h.lifecycle, awscdk.Duration_Minutes(jsii.Number(30)))

	// EventBridge keeps retrying a refused delivery for up to 24 h.
	rolloutAge := awscdk.Duration_Hours(jsii.Number(24))
	// Failed builds too: the rollout counts them (ImageBuildsFailed).
	rule("RolloutImageBuilderRule", "Image Builder images that became available or failed", &awsevents.EventPattern{
		Source:     jsii.Strings(event.SourceImageBuilder),
		DetailType: jsii.Strings(DetailImageBuilderImage),
		Detail: &map[string]any{"state": map[string]any{"status": []string{
			event.ImageStatusAvailable, event.ImageStatusFailed, event.ImageStatusCancelled,
		}}},
	}, nil, h.rollout, rolloutAge)
	rule("RolloutAmiRule", "AMIs that became available or failed (e.g. baked by Packer)", &awsevents.EventPattern{
		Source:     jsii.Strings(event.SourceEC2),
		DetailType: jsii.Strings(DetailAMIStateChange),
		Detail:     &map[string]any{"State": []string{event.AMIStateAvailable, event.AMIStateFailed}},
	}, nil, h.rollout, rolloutAge)
	rule("RolloutRefreshRule", "Instance refresh progress of the stamp's groups", &awsevents.EventPattern{
		Source:     jsii.Strings(event.SourceAutoScaling),
		DetailType: jsii.Strings(InstanceRefreshDetailTypes()...),
		Detail:     &map[string]any{"AutoScalingGroupName": stampGroups},
	}, nil, h.rollout, rolloutAge)
	// A Packer bake announces its AMI after Packer has tagged it: the AMI's
	// own "EC2 AMI State Change" (available) can come before its
	// stampkit:fleet tag and be ignored. Like the commands it steers a
	// rollout, so it is heard on the command bus only, from the principals
	// its policy names (NewCommandBus).
	noReplays(ruleOn(props.CommandBus, "RolloutImageReadyRule", "Images their bake announced ready, tags on (Packer)", &awsevents.EventPattern{
		Source:     jsii.Strings(event.SourceStampkit),
		DetailType: jsii.Strings(DetailImageReady),
	}, nil, h.rollout, rolloutAge))
	// `stampkit rollout pause|resume|abort|promote` puts these on the
	// command bus (event.CommandBody, Names.CommandBus).
	noReplays(ruleOn(props.CommandBus, "RolloutCommandRule", "Operator commands to running rollouts", &awsevents.EventPattern{
		Source:     jsii.Strings(event.SourceStampkit),
		DetailType: jsii.Strings(DetailRolloutCommand),
	}, nil, h.rollout, awscdk.Duration_Hours(jsii.Number(1))))
	// A stack update that changes a blue/green listener in place (a rotated
	// certificate, an SSL policy, a port) writes the weights its change set
	// read from the weight parameters (NewListenerWeights): the live ones,
	// unless a weight change came between the change set's creation and
	// its execution, or the update rolled back. This backstop puts the
	// live ones back either way. The listeners of the stamp's stack and of
	// the stacks nested in it (named after it): the rollout function knows
	// a blue/green fleet's listener by its ARN, in its resources
	// parameter, and ignores any other (stamper's onStackResource).
	if hasBlueGreen {
		stackArn := func(name string) *string {
			return stack.FormatArn(&awscdk.ArnComponents{
				Service: jsii.String("cloudformation"), Resource: jsii.String("stack"), ResourceName: jsii.String(name),
			})
		}
		rule("RolloutListenerRule", "Stack updates of the stamp's listeners, whose weights the rollout restores", &awsevents.EventPattern{
			Source:     jsii.Strings(event.SourceCloudFormation),
			DetailType: jsii.Strings(DetailStackResource),
			Detail: &map[string]any{
				"resource-type": []string{event.ResourceTypeListener},
				"stack-id": []any{
					map[string]any{"prefix": stackArn(*stack.StackName() + "/")},
					map[string]any{"prefix": stackArn(*stack.StackName() + "-")},
				},
				"status-details": map[string]any{"status": []string{event.ResourceUpdateComplete}},
			},
		}, nil, h.rollout, rolloutAge)
	}
}

// addTickRules adds the scaler's re-evaluation tick: one schedule rule per
// batch of at most event.TickBatchSize fleets (event.TickBatches, in the
// fleets' order, so that a fleet added at the end changes only the last
// batch), whose target hands the scaler its batch (event.TickInput): no
// invocation evaluates more fleets than a batch, and more fleets add rules
// rather than work per invocation. The input transformer is set on the
// rule itself: CloudFormation takes InputTemplate as the string
// EventBridge fills in, which the CDK's own transformer would rewrite.
func addTickRules(c constructs.Construct, rule func(id, description string, pattern *awsevents.EventPattern, schedule awsevents.Schedule, target Handler, maxAge awscdk.Duration) awsevents.Rule,
	fleets []string, scaler Handler, maxAge awscdk.Duration) {
	for i, batch := range event.TickBatches(fleets, event.TickBatchSize) {
		in, err := event.TickInput(batch)
		if err != nil {
			panic(fmt.Sprintf("NewHandlers: tick batch %d: %v", i, err))
		}
		r := rule(tickRuleID(i), "Re-evaluation tick for alarms that stay in ALARM: fleets "+strings.Join(batch, ", "), nil,
			awsevents.Schedule_Rate(awscdk.Duration_Minutes(jsii.Number(ScalerTickRate))), scaler, maxAge)
		r.Node().DefaultChild().(awsevents.CfnRule).AddPropertyOverride(jsii.String("Targets.0.InputTransformer"), map[string]any{
			"InputPathsMap": in.InputPathsMap,
			"InputTemplate": in.InputTemplate,
		})
	}
}

// tickRuleID is the construct id of the rule of tick batch i.
func tickRuleID(i int) string { return fmt.Sprintf("ScalerTickRule%d", i) }
