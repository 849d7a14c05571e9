package stamp

import (
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
	var alarmArns, allGroups, listenerArns []*string
	for _, mf := range props.Fleets {
		for _, g := range mf.Fleet.Groups() {
			allGroups = append(allGroups, g.AutoScalingGroupName())
		}
		alarmArns = append(alarmArns, mf.Scaling.AlarmArns()...)
		if mf.Config.Rollout.Strategy == rollout.StrategyBlueGreen {
			listenerArns = append(listenerArns, mf.Fleet.Listener().ListenerArn())
		}
	}
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
	rule := func(id, description string, pattern *awsevents.EventPattern, schedule awsevents.Schedule, target Handler, maxAge awscdk.Duration) {
		ruleOn(nil, id, description, pattern, schedule, target, maxAge)
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
	// in the event's resources.
	rule("ScalerAlarmRule", "Scaling alarm state changes to the scaler", &awsevents.EventPattern{
		Source:     jsii.Strings(event.SourceCloudWatch),
		DetailType: jsii.Strings(DetailAlarmStateChange),
		Resources:  &alarmArns,
	}, nil, h.scaler, scalerAge)
	rule("ScalerTickRule", "Re-evaluation tick for alarms that stay in ALARM", nil,
		awsevents.Schedule_Rate(awscdk.Duration_Minutes(jsii.Number(ScalerTickRate))), h.scaler, scalerAge)

	// The toolkit's hooks only: another tool's hook on the same group is
	// that tool's to complete, and a CONTINUE from the toolkit would cut
	// its wait short.
	rule("LifecycleRule", "Launch and terminate lifecycle actions of the fleets' stampkit hooks", &awsevents.EventPattern{
		Source:     jsii.Strings(event.SourceAutoScaling),
		DetailType: jsii.Strings(DetailLaunchLifecycle, DetailTerminateLifecycle),
		Detail: &map[string]any{
			"AutoScalingGroupName": &allGroups,
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
	rule("RolloutRefreshRule", "Instance refresh progress of the fleets", &awsevents.EventPattern{
		Source:     jsii.Strings(event.SourceAutoScaling),
		DetailType: jsii.Strings(InstanceRefreshDetailTypes()...),
		Detail:     &map[string]any{"AutoScalingGroupName": &allGroups},
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
	// command bus (event.CommandBody, event.CommandBus).
	noReplays(ruleOn(props.CommandBus, "RolloutCommandRule", "Operator commands to running rollouts", &awsevents.EventPattern{
		Source:     jsii.Strings(event.SourceStampkit),
		DetailType: jsii.Strings(DetailRolloutCommand),
	}, nil, h.rollout, awscdk.Duration_Hours(jsii.Number(1))))
	// A stack update that changes a blue/green listener in place (a rotated
	// certificate, an SSL policy, a port) writes the weights its change set
	// read from the weight parameters (NewListenerWeights): the live ones,
	// unless a weight change came between the change set's creation and
	// its execution, or the update rolled back. This backstop puts the
	// live ones back either way. CloudFormation's physical id of a listener
	// is its ARN.
	if len(listenerArns) > 0 {
		rule("RolloutListenerRule", "Stack updates of the blue/green listeners, whose weights the rollout restores", &awsevents.EventPattern{
			Source:     jsii.Strings(event.SourceCloudFormation),
			DetailType: jsii.Strings(DetailStackResource),
			Detail: &map[string]any{
				"resource-type":        []string{event.ResourceTypeListener},
				"physical-resource-id": &listenerArns,
				"status-details":       map[string]any{"status": []string{event.ResourceUpdateComplete}},
			},
		}, nil, h.rollout, rolloutAge)
	}
}
