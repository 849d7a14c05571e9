package event_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/stampkit/stampkit/shared/event"
)

// at parses an RFC 3339 time for the expectation tables.
func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

// readSample reads testdata/events/NAME.json.
func readSample(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "events", name+".json"))
	if err != nil {
		t.Fatalf("reading sample: %v", err)
	}
	return b
}

const (
	asgARN       = "auto-scaling-group-arn"
	instARN      = "instance-arn"
	sampleID     = "12345678-1234-1234-1234-123456789012"
	refreshID    = "c613620e-07e2-4ed2-a9e2-ef8258911ade"
	activityID   = "87654321-4321-4321-4321-210987654321"
	sampleInstID = "i-1234567890abcdef0"
)

// asgEvent is the envelope the Auto Scaling samples share.
func asgEvent(detailType, ts string, detail any, resources ...string) event.Event {
	if len(resources) == 0 {
		resources = []string{asgARN}
	}
	return event.Event{
		ID: sampleID, Source: event.SourceAutoScaling, DetailType: detailType, Time: at(ts),
		Region: "us-west-2", Account: "123456789012", Resources: resources, Detail: detail,
	}
}

func refresh(detailType, ts, status string) []event.Event {
	return []event.Event{asgEvent(detailType, ts, &event.InstanceRefresh{
		GroupName: "my-asg", InstanceRefreshID: refreshID, Status: status,
	})}
}

// sampleWants is what each file in testdata/events decodes to, written
// from the files by hand.
func sampleWants() map[string][]event.Event {
	cpuARN := "arn:aws:cloudwatch:us-east-1:123456789012:alarm:ServerCpuTooHigh"
	netARN := "arn:aws:cloudwatch:us-east-1:123456789012:alarm:TotalNetworkTrafficTooHigh"
	demoARN := "arn:aws:cloudwatch:us-east-1:444455556666:alarm:lambda-demo-metric-alarm"
	compARN := "arn:aws:cloudwatch:us-east-1:111122223333:alarm:SuppressionDemo.Main"
	snsARN := "arn:aws:cloudwatch:us-east-1:123456789012:alarm:EXAMPLE"
	compReason := "arn:aws:cloudwatch:us-east-1:111122223333:alarm:CompositeDemo.FirstChild transitioned to ALARM at Friday 04 August, 2023 12:54:46 UTC"
	compReasonData := `{"triggeringAlarms":[{"arn":"arn:aws:cloudwatch:us-east-1:111122223333:alarm:CompositeDemo.FirstChild","state":{"value":"ALARM","timestamp":"2023-08-04T12:54:46.138+0000"}}]}`
	snsReason := "Threshold Crossed: 1 out of the last 1 datapoints [1234.0 (06/03/15 17:43:27)] was greater than the threshold (0.0) (minimum 1 datapoint for OK -> ALARM transition)."
	ec2Dims := map[string]string{"InstanceId": "i-12345678901234567"}
	activity := func(kind string, ok bool, code, msg, desc, o, d, start, end string) *event.InstanceActivity {
		return &event.InstanceActivity{
			GroupName: "my-asg", ActivityID: activityID, InstanceID: sampleInstID, Kind: kind, Successful: ok,
			StatusCode: code, StatusMessage: msg, Description: desc, Cause: "description-text",
			StartTime: at(start), EndTime: at(end), AvailabilityZone: "us-west-2b", SubnetID: "subnet-12345678",
			Origin: o, Destination: d, RequestID: sampleID,
		}
	}
	ami := func(state, msg string) []event.Event {
		return []event.Event{{
			ID: "example-9f07-51db-246b-d8b8441bcdf0", Source: event.SourceEC2, DetailType: event.DetailTypeAMIStateChange,
			Time: at("2024-05-13T21:04:10Z"), Region: "us-east-1", Account: "012345678901",
			Resources: []string{"arn:aws:ec2:us-east-1::image/ami-0abcdef1234567890"},
			Detail: &event.AMIStateChange{
				ImageID: "ami-0abcdef1234567890", State: state, ErrorMessage: msg, RequestID: "example-9dcc-40a6-aa77-7ce457d5442b",
			},
		}}
	}
	return map[string][]event.Event{
		"cloudwatch-alarm-state-change-single-metric": {{
			ID: "c4c1c1c9-6542-e61b-6ef0-8c4d36933a92", Source: event.SourceCloudWatch, DetailType: event.DetailTypeAlarmStateChange,
			Time: at("2019-10-02T17:04:40Z"), Region: "us-east-1", Account: "123456789012", Resources: []string{cpuARN},
			Detail: &event.AlarmStateChange{
				AlarmName: "ServerCpuTooHigh", AlarmARN: cpuARN,
				State: event.AlarmState{
					Value:      event.AlarmStateAlarm,
					Reason:     "Threshold Crossed: 1 out of the last 1 datapoints [99.50160229693434 (02/10/19 16:59:00)] was greater than the threshold (50.0) (minimum 1 datapoint for OK -> ALARM transition).",
					ReasonData: `{"version":"1.0","queryDate":"2019-10-02T17:04:40.985+0000","startDate":"2019-10-02T16:59:00.000+0000","statistic":"Average","period":300,"recentDatapoints":[99.50160229693434],"threshold":50.0}`,
					Timestamp:  at("2019-10-02T17:04:40.989Z"),
				},
				PreviousState: event.AlarmState{
					Value:      event.AlarmStateOK,
					Reason:     "Threshold Crossed: 1 out of the last 1 datapoints [0.0666851903306472 (01/10/19 13:46:00)] was not greater than the threshold (50.0) (minimum 1 datapoint for ALARM -> OK transition).",
					ReasonData: `{"version":"1.0","queryDate":"2019-10-01T13:56:40.985+0000","startDate":"2019-10-01T13:46:00.000+0000","statistic":"Average","period":300,"recentDatapoints":[0.0666851903306472],"threshold":50.0}`,
					Timestamp:  at("2019-10-01T13:56:40.987Z"),
				},
				Description: "Goes into alarm when server CPU utilization is too high!",
				Metrics: []event.AlarmMetric{{
					ID: "30b6c6b2-a864-43a2-4877-c09a1afc3b87", Namespace: "AWS/EC2", MetricName: "CPUUtilization",
					Dimensions: ec2Dims, Period: 300, Stat: "Average", ReturnData: true,
				}},
			},
		}},
		"cloudwatch-alarm-state-change-metric-math": {{
			ID: "2dde0eb1-528b-d2d5-9ca6-6d590caf2329", Source: event.SourceCloudWatch, DetailType: event.DetailTypeAlarmStateChange,
			Time: at("2019-10-02T17:20:48Z"), Region: "us-east-1", Account: "123456789012", Resources: []string{netARN},
			Detail: &event.AlarmStateChange{
				AlarmName: "TotalNetworkTrafficTooHigh", AlarmARN: netARN,
				State: event.AlarmState{
					Value:      event.AlarmStateAlarm,
					Reason:     "Threshold Crossed: 1 out of the last 1 datapoints [45628.0 (02/10/19 17:10:00)] was greater than the threshold (10000.0) (minimum 1 datapoint for OK -> ALARM transition).",
					ReasonData: `{"version":"1.0","queryDate":"2019-10-02T17:20:48.551+0000","startDate":"2019-10-02T17:10:00.000+0000","period":300,"recentDatapoints":[45628.0],"threshold":10000.0}`,
					Timestamp:  at("2019-10-02T17:20:48.554Z"),
				},
				PreviousState: event.AlarmState{
					Value: event.AlarmStateInsufficientData, Reason: "Unchecked: Initial alarm creation", Timestamp: at("2019-10-02T17:20:03.642Z"),
				},
				Description: "Goes into alarm if total network traffic exceeds 10Kb",
				Metrics: []event.AlarmMetric{
					{ID: "e1", Expression: "SUM(METRICS())", Label: "Total Network Traffic", ReturnData: true},
					{ID: "m1", Namespace: "AWS/EC2", MetricName: "NetworkIn", Dimensions: ec2Dims, Period: 300, Stat: "Maximum"},
					{ID: "m2", Namespace: "AWS/EC2", MetricName: "NetworkOut", Dimensions: ec2Dims, Period: 300, Stat: "Maximum"},
				},
			},
		}},
		"cloudwatch-alarm-lambda-action-metric": {{
			ID: demoARN + "@2023-08-04T12:36:15.49Z", Source: event.SourceCloudWatch, DetailType: event.DetailTypeAlarmStateChange,
			Time: at("2023-08-04T12:36:15.490Z"), Region: "us-east-1", Account: "444455556666", Resources: []string{demoARN},
			Detail: &event.AlarmStateChange{
				AlarmName: "lambda-demo-metric-alarm", AlarmARN: demoARN,
				State: event.AlarmState{Value: event.AlarmStateAlarm, Reason: "test", Timestamp: at("2023-08-04T12:36:15.490Z")},
				PreviousState: event.AlarmState{
					Value:      event.AlarmStateInsufficientData,
					Reason:     "Insufficient Data: 5 datapoints were unknown.",
					ReasonData: `{"version":"1.0","queryDate":"2023-08-04T12:31:29.591+0000","statistic":"Average","period":60,"recentDatapoints":[],"threshold":5.0,"evaluatedDatapoints":[{"timestamp":"2023-08-04T12:30:00.000+0000"},{"timestamp":"2023-08-04T12:29:00.000+0000"},{"timestamp":"2023-08-04T12:28:00.000+0000"},{"timestamp":"2023-08-04T12:27:00.000+0000"},{"timestamp":"2023-08-04T12:26:00.000+0000"}]}`,
					Timestamp:  at("2023-08-04T12:31:29.595Z"),
				},
				Description: "Metric Alarm to test Lambda actions",
				Metrics: []event.AlarmMetric{{
					ID: "1234e046-06f0-a3da-9534-EXAMPLEe4c", Namespace: "AWS/Logs", MetricName: "CallCount",
					Dimensions: map[string]string{"InstanceId": "i-12345678"}, Period: 60, Stat: "Average", Unit: "Percent", ReturnData: true,
				}},
			},
		}},
		"cloudwatch-alarm-lambda-action-composite": {{
			ID: compARN + "@2023-08-04T12:56:46.138Z", Source: event.SourceCloudWatch, DetailType: event.DetailTypeAlarmStateChange,
			Time: at("2023-08-04T12:56:46.138Z"), Region: "us-east-1", Account: "111122223333", Resources: []string{compARN},
			Detail: &event.AlarmStateChange{
				AlarmName: "CompositeDemo.Main", AlarmARN: compARN,
				State:         event.AlarmState{Value: event.AlarmStateAlarm, Reason: compReason, ReasonData: compReasonData, Timestamp: at("2023-08-04T12:56:46.138Z")},
				PreviousState: event.AlarmState{Value: event.AlarmStateAlarm, Reason: compReason, ReasonData: compReasonData, Timestamp: at("2023-08-04T12:54:46.138Z")},
				AlarmRule:     "ALARM(CompositeDemo.FirstChild) OR ALARM(CompositeDemo.SecondChild)",
			},
		}},
		"cloudwatch-alarm-sns-single-metric": {{
			ID: snsARN + "@2015-06-03T17:43:27.123Z", Source: event.SourceCloudWatch, DetailType: event.DetailTypeAlarmStateChange,
			Time: at("2015-06-03T17:43:27.123Z"), Region: "us-east-1", Account: "123456789012", Resources: []string{snsARN},
			Detail: &event.AlarmStateChange{
				AlarmName: "EXAMPLE", AlarmARN: snsARN,
				State:         event.AlarmState{Value: event.AlarmStateAlarm, Reason: snsReason, Timestamp: at("2015-06-03T17:43:27.123Z")},
				PreviousState: event.AlarmState{Value: event.AlarmStateInsufficientData},
				Description:   "EXAMPLE",
				Metrics: []event.AlarmMetric{{
					Namespace: "AWS/EC2", MetricName: "NetworkOut", Dimensions: map[string]string{"InstanceId": "TestInstance"},
					Period: 60, Stat: "AVERAGE", Unit: "Bytes", ReturnData: true,
				}},
			},
		}},
		"cloudwatch-alarm-sns-multiple-metrics": {{
			ID: snsARN + "@2015-06-03T17:43:27.123Z", Source: event.SourceCloudWatch, DetailType: event.DetailTypeAlarmStateChange,
			Time: at("2015-06-03T17:43:27.123Z"), Region: "us-east-1", Account: "123456789012", Resources: []string{snsARN},
			Detail: &event.AlarmStateChange{
				AlarmName: "EXAMPLE", AlarmARN: snsARN,
				State:         event.AlarmState{Value: event.AlarmStateAlarm, Reason: snsReason, Timestamp: at("2015-06-03T17:43:27.123Z")},
				PreviousState: event.AlarmState{Value: event.AlarmStateInsufficientData},
				Description:   "EXAMPLE",
				Metrics: []event.AlarmMetric{
					{ID: "e1", Expression: "m1*1", Label: "Expression1", ReturnData: true},
					{ID: "m1", Namespace: "AWS/EC2", MetricName: "NetworkOut", Dimensions: map[string]string{"InstanceId": "TestInstance"}, Period: 60, Stat: "Average"},
				},
			},
		}},
		"autoscaling-launch-lifecycle-action": {asgEvent(event.DetailTypeLaunchLifecycleAction, "2024-05-14T09:30:12Z", &event.LifecycleAction{
			GroupName: "my-asg", HookName: "my-lifecycle-hook", Token: activityID, Transition: event.TransitionLaunching,
			InstanceID: sampleInstID, NotificationMetadata: "additional-info", Origin: event.PlaceEC2, Destination: event.PlaceAutoScalingGroup,
		})},
		"autoscaling-terminate-lifecycle-action": {asgEvent(event.DetailTypeTerminateLifecycleAction, "2024-05-14T10:02:45Z", &event.LifecycleAction{
			GroupName: "my-asg", HookName: "my-lifecycle-hook", Token: activityID, Transition: event.TransitionTerminating,
			InstanceID: sampleInstID, NotificationMetadata: "additional-info", Origin: event.PlaceAutoScalingGroup, Destination: event.PlaceEC2,
		})},
		"autoscaling-launch-lifecycle-action-warm-pool": {asgEvent(event.DetailTypeLaunchLifecycleAction, "2021-01-13T00:12:37.214Z", &event.LifecycleAction{
			GroupName: "my-asg", HookName: "my-launch-lifecycle-hook", Token: "71514b9d-6a40-4b26-8523-05e7eEXAMPLE", Transition: event.TransitionLaunching,
			InstanceID: sampleInstID, NotificationMetadata: "additional-info", Origin: event.PlaceEC2, Destination: event.PlaceWarmPool,
		})},
		"autoscaling-terminate-lifecycle-action-replace-root-volume": {asgEvent(event.DetailTypeTerminateLifecycleAction, "2021-01-13T00:12:37.214Z", &event.LifecycleAction{
			GroupName: "my-asg", HookName: "my-terminate-lifecycle-hook", Token: "71514b9d-6a40-4b26-8523-05e7eEXAMPLE", Transition: event.TransitionTerminating,
			InstanceID: sampleInstID, NotificationMetadata: "additional-info", Origin: event.PlaceAutoScalingGroup, Destination: event.PlaceAutoScalingGroup,
			Action: event.ActionReplaceRootVolume,
		})},
		"autoscaling-launch-lifecycle-action-sns": {{
			ID: "bdb5e8a5-9a2e-5d3b-a6a1-8c4d0e2f1b3a", Source: event.SourceAutoScaling, DetailType: event.DetailTypeLaunchLifecycleAction,
			Time: at("2019-04-30T20:42:11.305Z"), Region: "us-west-2", Account: "123456789012",
			Detail: &event.LifecycleAction{
				GroupName: "my-asg", HookName: "my-hook", Token: "71514b9d-6a40-4b26-8523-05e7ee35fa40", Transition: event.TransitionLaunching,
				InstanceID: "i-0598c7d356eba48d7",
			},
		}},
		"autoscaling-test-notification-eventbridge": {{
			ID: "782d5b4c-0f6f-1fd6-9d62-ecf6aed0a470", Source: event.SourceAutoScaling, DetailType: event.DetailTypeTerminateLifecycleAction,
			Time: at("2020-07-01T22:19:58Z"), Region: "us-east-1", Account: "123456789012",
			Resources: []string{"arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:26e7234b-03a4-47fb-b0a9-2b241662774e:autoScalingGroupName/nth-test1"},
			Detail:    &event.TestNotification{GroupName: "nth-test1"},
		}},
		"autoscaling-test-notification-sqs": {{
			ID: "059f36b4-87a3-44ab-83d2-661975830a7d", Source: event.SourceAutoScaling, DetailType: event.DetailTypeTestNotification,
			Time: at("2019-02-20T20:01:15.747Z"), Region: "us-west-2", Account: "123456789012",
			Resources: []string{"arn:aws:autoscaling:us-west-2:123456789012:autoScalingGroup:3c1d7d91-2140-40b1-a8b1-c9f46e4dff13:autoScalingGroupName/my-asg"},
			Detail:    &event.TestNotification{GroupName: "my-asg"},
		}},
		"autoscaling-instance-launch-successful": {asgEvent(event.DetailTypeLaunchSuccessful, "2024-05-14T09:30:12Z",
			activity(event.ActivityLaunch, true, "InProgress", "", "Launching a new EC2 instance: i-12345678", event.PlaceEC2, event.PlaceAutoScalingGroup, "2024-05-14T09:29:40Z", "2024-05-14T09:30:12Z"),
			asgARN, instARN)},
		"autoscaling-instance-launch-unsuccessful": {asgEvent(event.DetailTypeLaunchUnsuccessful, "2024-05-14T09:30:12Z",
			activity(event.ActivityLaunch, false, "Failed", "message-text", "", event.PlaceEC2, event.PlaceAutoScalingGroup, "2024-05-14T09:29:40Z", "2024-05-14T09:30:12Z"),
			asgARN, instARN)},
		"autoscaling-instance-terminate-successful": {asgEvent(event.DetailTypeTerminateSuccessful, "2024-05-14T10:03:30Z",
			activity(event.ActivityTerminate, true, "InProgress", "", "Terminating EC2 instance: i-12345678", event.PlaceAutoScalingGroup, event.PlaceEC2, "2024-05-14T10:02:45Z", "2024-05-14T10:03:30Z"),
			asgARN, instARN)},
		"autoscaling-instance-terminate-unsuccessful": {asgEvent(event.DetailTypeTerminateUnsuccessful, "2024-05-14T10:03:30Z",
			activity(event.ActivityTerminate, false, "Failed", "message-text", "", event.PlaceAutoScalingGroup, event.PlaceEC2, "2024-05-14T10:02:45Z", "2024-05-14T10:03:30Z"),
			asgARN, instARN)},
		"autoscaling-instance-refresh-started":            refresh(event.DetailTypeRefreshStarted, "2024-05-15T08:00:00Z", event.RefreshStarted),
		"autoscaling-instance-refresh-succeeded":          refresh(event.DetailTypeRefreshSucceeded, "2024-05-15T08:41:10Z", event.RefreshSucceeded),
		"autoscaling-instance-refresh-failed":             refresh(event.DetailTypeRefreshFailed, "2024-05-15T08:41:10Z", event.RefreshFailed),
		"autoscaling-instance-refresh-cancelled":          refresh(event.DetailTypeRefreshCancelled, "2024-05-15T08:20:05Z", event.RefreshCancelled),
		"autoscaling-instance-refresh-rollback-started":   refresh(event.DetailTypeRefreshRollbackStarted, "2024-05-15T08:25:00Z", event.RefreshRollbackStarted),
		"autoscaling-instance-refresh-rollback-succeeded": refresh(event.DetailTypeRefreshRollbackSucceeded, "2024-05-15T08:50:30Z", event.RefreshRollbackSucceeded),
		"autoscaling-instance-refresh-rollback-failed":    refresh(event.DetailTypeRefreshRollbackFailed, "2024-05-15T08:50:30Z", event.RefreshRollbackFailed),
		"autoscaling-instance-refresh-checkpoint-reached": {asgEvent(event.DetailTypeRefreshCheckpointReached, "2024-05-15T08:15:00Z", &event.InstanceRefresh{
			GroupName: "my-asg", InstanceRefreshID: "ab00cf8f-9126-4f3c-8010-dbb8cad6fb86", Status: event.RefreshCheckpointReached,
			CheckpointPercentage: 50, CheckpointDelay: 300 * time.Second,
		})},
		"imagebuilder-image-state-change": {{
			ID: "a1b2c3d4-5678-90ab-cdef-EXAMPLE11111", Source: event.SourceImageBuilder, DetailType: event.DetailTypeImageStateChange,
			Time: at("2024-01-18T17:50:56Z"), Region: "us-west-2", Account: "111122223333",
			Resources: []string{"arn:aws:imagebuilder:us-west-2:111122223333:image/cmkencryptedworkflowtest-a1b2c3d4-5678-90ab-cdef-EXAMPLE22222/1.0.0/1"},
			Detail: &event.ImageStateChange{
				ImageARN: "arn:aws:imagebuilder:us-west-2:111122223333:image/cmkencryptedworkflowtest-a1b2c3d4-5678-90ab-cdef-EXAMPLE22222/1.0.0/1",
				State:    event.ImageStatusAvailable, PreviousState: event.ImageStatusTesting,
			},
		}},
		"cloudformation-resource-status-change": {{
			ID: "6a7e8feb-b491-4cf7-a9f1-bf3703467718", Source: event.SourceCloudFormation, DetailType: event.DetailTypeResourceStatusChange,
			Time: at("2017-12-22T18:43:48Z"), Region: "us-west-1", Account: "111122223333",
			Resources: []string{"arn:aws:cloudformation:us-west-1:111122223333:stack/teststack"},
			Detail: &event.ResourceStatusChange{
				StackID: "arn:aws:cloudformation:us-west-1:111122223333:stack/teststack", LogicalResourceID: "my-s3-bucket",
				PhysicalResourceID: "arn:aws:s3:::my-s3-bucket-us-east-1", ResourceType: "AWS::S3::Bucket",
				Status: event.ResourceCreateComplete,
			},
		}},
		"ec2-ami-state-change-available": ami(event.AMIStateAvailable, ""),
		"ec2-ami-state-change-failed":    ami(event.AMIStateFailed, "Description of failure"),
		"stampkit-rollout-command": {{
			ID: "5c1a7e0e-3f4b-4d2a-9b8e-2f6d1c0a9e11", Source: event.SourceStampkit, DetailType: event.DetailTypeCommand,
			Time: at("2026-11-25T15:04:05Z"), Region: "us-east-1", Account: "123456789012", Resources: []string{},
			Detail: &event.Command{Fleet: "web", Action: event.CommandAbort, Reason: "5xx on checkout after the 50% step"},
		}},
		"stampkit-shift-command": {{
			ID: "8e2b4c1d-6a3f-4e5b-9c7d-1f0a2b3c4d5e", Source: event.SourceStampkit, DetailType: event.DetailTypeShiftCommand,
			Time: at("2026-12-09T09:30:00Z"), Region: "us-east-1", Account: "123456789012", Resources: []string{},
			Detail: &event.ShiftCommand{Record: "www.example.com.", From: "blue", To: "green", Action: event.CommandStart, Reason: "green carries release 42"},
		}},
		"stampkit-image-ready": {{
			ID: "0d9e6f1c-2b7a-4c3e-8f51-6a2d9b4e7c10", Source: event.SourceStampkit, DetailType: event.DetailTypeImageReady,
			Time: at("2026-12-07T14:02:11Z"), Region: "us-east-1", Account: "123456789012", Resources: []string{},
			Detail: &event.ImageReady{ImageID: "ami-0abcdef1234567890"},
		}},
		"eventbridge-scheduled-event": {{
			ID: "cdc73f9d-aea9-11e3-9d5a-835b769c0d9c", Source: event.SourceEvents, DetailType: event.DetailTypeScheduled,
			Time: at("2019-03-01T01:23:45Z"), Region: "us-east-2", Account: "123456789012",
			Resources: []string{"arn:aws:events:us-east-2:123456789012:rule/my-schedule"},
			Detail:    &event.Tick{At: at("2019-03-01T01:23:45Z"), Rule: "arn:aws:events:us-east-2:123456789012:rule/my-schedule"},
		}},
		"eventbridge-scheduled-event-fleets": {{
			ID: "cdc73f9d-aea9-11e3-9d5a-835b769c0d9c", Source: event.SourceEvents, DetailType: event.DetailTypeScheduled,
			Time: at("2019-03-01T01:23:45Z"), Region: "us-east-2", Account: "123456789012",
			Resources: []string{"arn:aws:events:us-east-2:123456789012:rule/my-schedule"},
			Detail: &event.Tick{
				At: at("2019-03-01T01:23:45Z"), Rule: "arn:aws:events:us-east-2:123456789012:rule/my-schedule", Fleets: []string{"web", "api"},
			},
		}},
	}
}

func TestDecodeSamples(t *testing.T) {
	for name, want := range sampleWants() {
		t.Run(name, func(t *testing.T) {
			got, err := event.Decode(readSample(t, name))
			if err != nil {
				t.Fatalf("Decode: got error %v, want nil", err)
			}
			if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(event.Event{}, "Via")); diff != "" {
				t.Errorf("Decode mismatch (-want +got):\n%s", diff)
			}
			// A sample named for its carrier came through it.
			wantVia := ""
			for _, carrier := range []string{"sns", "sqs"} {
				if strings.Contains(name, "-"+carrier) {
					wantVia = "aws:" + carrier
				}
			}
			for _, ev := range got {
				if ev.Via != wantVia {
					t.Errorf("Via: got %q, want %q", ev.Via, wantVia)
				}
			}
		})
	}
}

// TestEverySampleAsserted keeps the table and testdata/events in step, and
// checks that Samples serves the same files.
func TestEverySampleAsserted(t *testing.T) {
	paths, err := filepath.Glob(filepath.Join("testdata", "events", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	for _, p := range paths {
		files = append(files, strings.TrimSuffix(filepath.Base(p), ".json"))
	}
	slices.Sort(files)
	var table []string
	for name := range sampleWants() {
		table = append(table, name)
	}
	slices.Sort(table)
	if diff := cmp.Diff(files, table); diff != "" {
		t.Errorf("sample files vs expectation table (-files +table):\n%s", diff)
	}

	samples, err := event.Samples()
	if err != nil {
		t.Fatalf("Samples: %v", err)
	}
	for _, name := range files {
		if got, want := string(samples[name]), string(readSample(t, name)); got != want {
			t.Errorf("Samples()[%q]: got %d bytes, want the %d bytes of the file", name, len(got), len(want))
		}
	}
	if got, want := len(samples), len(files); got != want {
		t.Errorf("Samples: got %d samples, want %d", got, want)
	}
}
