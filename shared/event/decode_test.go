package event_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/stampkit/stampkit/shared/event"
)

// edit decodes a sample, applies change to it and re-encodes it, so a case
// differs from a real payload only where it says.
func edit(t *testing.T, name string, change func(m map[string]any)) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(readSample(t, name), &m); err != nil {
		t.Fatalf("decoding sample %s: %v", name, err)
	}
	change(m)
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatalf("encoding sample %s: %v", name, err)
	}
	return string(b)
}

// detail returns the detail object of an EventBridge sample.
func detail(m map[string]any) map[string]any { return m["detail"].(map[string]any) }

// snsRecord wraps message as the Message of a one-record SNS batch.
func snsRecord(message string) string {
	b, _ := json.Marshal(map[string]any{"Records": []any{map[string]any{
		"EventSource": "aws:sns",
		"Sns": map[string]any{
			"Type": "Notification", "MessageId": "m-1", "TopicArn": "arn:aws:sns:eu-west-1:123456789012:t",
			"Message": message, "Timestamp": "2024-05-14T09:30:13.000Z",
		},
	}}})
	return string(b)
}

// snsMessage returns the Message of the first record of an SNS sample.
func snsMessage(t *testing.T, name string) map[string]any {
	t.Helper()
	var batch struct {
		Records []struct {
			Sns struct{ Message string }
		}
	}
	if err := json.Unmarshal(readSample(t, name), &batch); err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(batch.Records[0].Sns.Message), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestDecodeMalformed(t *testing.T) {
	const (
		launch  = "autoscaling-launch-lifecycle-action"
		cpu     = "cloudwatch-alarm-state-change-single-metric"
		direct  = "cloudwatch-alarm-lambda-action-metric"
		snsOne  = "cloudwatch-alarm-sns-single-metric"
		refresh = "autoscaling-instance-refresh-checkpoint-reached"
		batch   = "eventbridge-scheduled-event-fleets"
		cfn     = "cloudformation-resource-status-change"
	)
	alarmMsg := func(change func(m map[string]any)) string {
		m := snsMessage(t, snsOne)
		change(m)
		return snsRecord(mustJSON(t, m))
	}
	tests := []struct {
		name      string
		payload   string
		wantField string
	}{
		{"empty", "", "payload"},
		{"whitespace", " \n\t", "payload"},
		{"not JSON", "not json", "payload"},
		{"truncated JSON", `{"detail-type": "x"`, "payload"},
		{"JSON array", `[{"detail-type": "x"}]`, "payload"},
		{"JSON string", `"hello"`, "payload"},
		{"JSON null", `null`, "payload"},
		{"object of no known shape", `{"hello": "world"}`, "payload"},

		{"envelope without detail", edit(t, launch, func(m map[string]any) { delete(m, "detail") }), "detail"},
		{"envelope with null detail", edit(t, launch, func(m map[string]any) { m["detail"] = nil }), "detail"},
		{"envelope with array detail", edit(t, launch, func(m map[string]any) { m["detail"] = []any{} }), "detail"},
		{"envelope without id", edit(t, launch, func(m map[string]any) { delete(m, "id") }), "id"},
		{"envelope without source", edit(t, launch, func(m map[string]any) { delete(m, "source") }), "source"},
		{"envelope with empty detail-type", edit(t, launch, func(m map[string]any) { m["detail-type"] = "" }), "detail-type"},
		{"envelope with numeric detail-type", edit(t, launch, func(m map[string]any) { m["detail-type"] = 7 }), "detail-type"},
		{"envelope without time", edit(t, launch, func(m map[string]any) { delete(m, "time") }), "time"},
		{"envelope with placeholder time", edit(t, launch, func(m map[string]any) { m["time"] = "yyyy-mm-ddThh:mm:ssZ" }), "time"},
		{"envelope with string resources", edit(t, launch, func(m map[string]any) { m["resources"] = "arn" }), "resources"},

		{"lifecycle without token", edit(t, launch, func(m map[string]any) { delete(detail(m), "LifecycleActionToken") }), "detail.LifecycleActionToken"},
		{"lifecycle with numeric token", edit(t, launch, func(m map[string]any) { detail(m)["LifecycleActionToken"] = 42 }), "detail.LifecycleActionToken"},
		{"lifecycle without instance", edit(t, launch, func(m map[string]any) { delete(detail(m), "EC2InstanceId") }), "detail.EC2InstanceId"},
		{"lifecycle without group", edit(t, launch, func(m map[string]any) { detail(m)["AutoScalingGroupName"] = "" }), "detail.AutoScalingGroupName"},
		{"lifecycle transition against detail-type", edit(t, launch, func(m map[string]any) {
			detail(m)["LifecycleTransition"] = event.TransitionTerminating
		}), "detail.LifecycleTransition"},
		{"lifecycle unknown transition", edit(t, launch, func(m map[string]any) { detail(m)["LifecycleTransition"] = "autoscaling:NAP" }), "detail.LifecycleTransition"},

		{"alarm without state", edit(t, cpu, func(m map[string]any) { delete(detail(m), "state") }), "detail.state"},
		{"alarm without name", edit(t, cpu, func(m map[string]any) { delete(detail(m), "alarmName") }), "detail.alarmName"},
		{"alarm with unknown state", edit(t, cpu, func(m map[string]any) {
			detail(m)["state"].(map[string]any)["value"] = "PANIC"
		}), "detail.state.value"},
		{"alarm without state timestamp", edit(t, cpu, func(m map[string]any) {
			delete(detail(m)["state"].(map[string]any), "timestamp")
		}), "detail.state.timestamp"},
		{"alarm with bad state timestamp", edit(t, cpu, func(m map[string]any) {
			detail(m)["state"].(map[string]any)["timestamp"] = "02/10/19 16:59:00"
		}), "detail.state.timestamp"},
		{"alarm with bad previous timestamp", edit(t, cpu, func(m map[string]any) {
			detail(m)["previousState"].(map[string]any)["timestamp"] = "yesterday"
		}), "detail.previousState.timestamp"},
		{"alarm with string period", edit(t, cpu, func(m map[string]any) {
			metric := detail(m)["configuration"].(map[string]any)["metrics"].([]any)[0].(map[string]any)
			metric["metricStat"].(map[string]any)["period"] = "300"
		}), "detail.configuration.metrics.metricStat.period"},
		{"alarm without resources", edit(t, cpu, func(m map[string]any) { m["resources"] = []any{} }), "resources"},

		{"alarm action without alarmArn", edit(t, direct, func(m map[string]any) { delete(m, "alarmArn") }), "alarmArn"},
		{"alarm action with bad time", edit(t, direct, func(m map[string]any) { m["time"] = "2023-08-04T12: 36: 15.490+0000" }), "time"},
		{"alarm action without state", edit(t, direct, func(m map[string]any) {
			delete(m["alarmData"].(map[string]any), "state")
		}), "alarmData.state"},
		{"alarm action with array alarmData", edit(t, direct, func(m map[string]any) { m["alarmData"] = []any{1} }), "alarmData"},

		{"SNS with zero records", `{"Records": []}`, "Records"},
		{"SNS with object records", `{"Records": {"Sns": {}}}`, "Records"},
		{"SNS record not an object", `{"Records": ["x"]}`, "Records[0]"},
		{"SNS message not JSON", snsRecord("ALARM: \"cpu\" in US East"), "Records[0].Sns.Message"},
		{"SNS message empty", snsRecord(""), "Records[0].Sns.Message"},
		{"SNS message a JSON array", snsRecord("[1,2]"), "Records[0].Sns.Message"},
		{"SNS record with bad timestamp", edit(t, snsOne, func(m map[string]any) {
			m["Records"].([]any)[0].(map[string]any)["Sns"].(map[string]any)["Timestamp"] = "soon"
		}), "Records[0].Sns.Timestamp"},
		{"SNS alarm without StateChangeTime", alarmMsg(func(m map[string]any) { delete(m, "StateChangeTime") }), "Records[0].Sns.Message.StateChangeTime"},
		{"SNS alarm with bad StateChangeTime", alarmMsg(func(m map[string]any) { m["StateChangeTime"] = "06/03/15 17:43:27" }), "Records[0].Sns.Message.StateChangeTime"},
		{"SNS alarm with unknown state", alarmMsg(func(m map[string]any) { m["NewStateValue"] = "MAYBE" }), "Records[0].Sns.Message.NewStateValue"},
		{"SNS alarm without AlarmArn", alarmMsg(func(m map[string]any) { delete(m, "AlarmArn") }), "Records[0].Sns.Message.AlarmArn"},
		{"SNS alarm with string Period", alarmMsg(func(m map[string]any) {
			m["Trigger"].(map[string]any)["Period"] = "60"
		}), "Records[0].Sns.Message.Trigger.Period"},
		{"second SNS record bad", func() string {
			var batch map[string]any
			if err := json.Unmarshal(readSample(t, snsOne), &batch); err != nil {
				t.Fatal(err)
			}
			recs := batch["Records"].([]any)
			bad := map[string]any{"EventSource": "aws:sns", "Sns": map[string]any{"Message": "{"}}
			batch["Records"] = append(recs, bad)
			return mustJSON(t, batch)
		}(), "Records[1].Sns.Message"},
		{"EventBridge event in SNS without detail", snsRecord(edit(t, launch, func(m map[string]any) { delete(m, "detail") })), "Records[0].Sns.Message.detail"},

		{"SQS body not JSON", `{"Records": [{"eventSource": "aws:sqs", "messageId": "1", "body": "hello"}]}`, "Records[0].body"},
		{"SQS body empty", `{"Records": [{"eventSource": "aws:sqs", "messageId": "1", "body": ""}]}`, "Records[0].body"},
		{"SQS lifecycle message without hook", `{"Records": [{"eventSource": "aws:sqs", "body": ` +
			mustJSON(t, `{"Service":"AWS Auto Scaling","LifecycleActionToken":"t","AutoScalingGroupName":"g","EC2InstanceId":"i-1","LifecycleTransition":"autoscaling:EC2_INSTANCE_LAUNCHING"}`) +
			`}]}`, "Records[0].body.LifecycleHookName"},

		{"refresh with text percentage", edit(t, refresh, func(m map[string]any) { detail(m)["CheckpointPercentage"] = "half" }), "detail.CheckpointPercentage"},
		{"refresh with percentage over 100", edit(t, refresh, func(m map[string]any) { detail(m)["CheckpointPercentage"] = "150" }), "detail.CheckpointPercentage"},
		{"refresh with negative delay", edit(t, refresh, func(m map[string]any) { detail(m)["CheckpointDelay"] = -5 }), "detail.CheckpointDelay"},
		{"refresh without id", edit(t, refresh, func(m map[string]any) { delete(detail(m), "InstanceRefreshId") }), "detail.InstanceRefreshId"},

		{"activity without instance", edit(t, "autoscaling-instance-launch-successful", func(m map[string]any) {
			delete(detail(m), "EC2InstanceId")
		}), "detail.EC2InstanceId"},
		{"activity with bad StartTime", edit(t, "autoscaling-instance-launch-successful", func(m map[string]any) {
			detail(m)["StartTime"] = "yyyy-mm-ddThh:mm:ssZ"
		}), "detail.StartTime"},
		{"activity with array Details", edit(t, "autoscaling-instance-launch-successful", func(m map[string]any) {
			detail(m)["Details"] = []any{"us-west-2b"}
		}), "detail.Details"},

		{"image without status", edit(t, "imagebuilder-image-state-change", func(m map[string]any) {
			delete(detail(m), "state")
		}), "detail.state.status"},
		{"image without image ARN", edit(t, "imagebuilder-image-state-change", func(m map[string]any) {
			m["resources"] = []any{"arn:aws:imagebuilder:us-west-2:111122223333:image-pipeline/p"}
		}), "resources"},
		{"AMI without ImageId", edit(t, "ec2-ami-state-change-available", func(m map[string]any) { delete(detail(m), "ImageId") }), "detail.ImageId"},
		{"AMI with object State", edit(t, "ec2-ami-state-change-available", func(m map[string]any) { detail(m)["State"] = map[string]any{} }), "detail.State"},

		{"stack resource without stack-id", edit(t, cfn, func(m map[string]any) { delete(detail(m), "stack-id") }), "detail.stack-id"},
		{"stack resource without logical-resource-id", edit(t, cfn, func(m map[string]any) {
			detail(m)["logical-resource-id"] = ""
		}), "detail.logical-resource-id"},
		{"stack resource without resource-type", edit(t, cfn, func(m map[string]any) { delete(detail(m), "resource-type") }), "detail.resource-type"},
		{"stack resource without status-details", edit(t, cfn, func(m map[string]any) { delete(detail(m), "status-details") }), "detail.status-details.status"},
		{"stack resource without status", edit(t, cfn, func(m map[string]any) {
			delete(detail(m)["status-details"].(map[string]any), "status")
		}), "detail.status-details.status"},
		{"stack resource with string status-details", edit(t, cfn, func(m map[string]any) {
			detail(m)["status-details"] = "UPDATE_COMPLETE"
		}), "detail.status-details"},
		{"stack resource with numeric physical-resource-id", edit(t, cfn, func(m map[string]any) {
			detail(m)["physical-resource-id"] = 7
		}), "detail.physical-resource-id"},

		{"tick batch with empty fleets", edit(t, batch, func(m map[string]any) { detail(m)["fleets"] = []any{} }), "detail.fleets"},
		{"tick batch with a string for fleets", edit(t, batch, func(m map[string]any) { detail(m)["fleets"] = "web" }), "detail.fleets"},
		{"tick batch with a number for a fleet", edit(t, batch, func(m map[string]any) { detail(m)["fleets"] = []any{"web", 7} }), "detail.fleets"},
		{"tick batch with an invalid fleet name", edit(t, batch, func(m map[string]any) { detail(m)["fleets"] = []any{"web", "Web 2"} }), "detail.fleets[1]"},
		{"tick batch naming a fleet twice", edit(t, batch, func(m map[string]any) { detail(m)["fleets"] = []any{"web", "api", "web"} }), "detail.fleets[2]"},
		{"stampkit tick with bad at", edit(t, "eventbridge-scheduled-event", func(m map[string]any) {
			m["source"], m["detail-type"], m["detail"] = event.SourceStampkit, event.DetailTypeTick, map[string]any{"at": "later"}
		}), "detail.at"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := event.Decode([]byte(tc.payload))
			if err == nil {
				t.Fatalf("Decode: got %d events and no error, want a malformed error naming %q", len(got), tc.wantField)
			}
			if !errors.Is(err, event.ErrMalformed) {
				t.Fatalf("Decode: got error %v, want one matching ErrMalformed", err)
			}
			if errors.Is(err, event.ErrUnknown) {
				t.Errorf("Decode: got error %v that also matches ErrUnknown, want only ErrMalformed", err)
			}
			var me *event.MalformedError
			if !errors.As(err, &me) {
				t.Fatalf("Decode: got error %T, want *event.MalformedError", err)
			}
			if me.Field != tc.wantField {
				t.Errorf("MalformedError.Field: got %q, want %q (error: %v)", me.Field, tc.wantField, err)
			}
			if !strings.Contains(err.Error(), tc.wantField) {
				t.Errorf("Error(): got %q, want it to name %q", err.Error(), tc.wantField)
			}
		})
	}
}

func TestDecodeUnknown(t *testing.T) {
	spot := `{"version":"0","id":"1e5527d7-bb36-4607-3370-4164db56a40e","detail-type":"EC2 Spot Instance Interruption Warning",
		"source":"aws.ec2","account":"123456789012","time":"2024-05-14T09:30:12Z","region":"us-east-1",
		"resources":["arn:aws:ec2:us-east-1b:instance/i-0b662ef9931388ba0"],
		"detail":{"instance-id":"i-0b662ef9931388ba0","instance-action":"terminate"}}`
	tests := []struct {
		name    string
		payload string
		want    []string // substrings of the error
	}{
		{"EventBridge kind not handled", spot, []string{`"aws.ec2"`, `"EC2 Spot Instance Interruption Warning"`}},
		{"known source, other detail-type", edit(t, "ec2-ami-state-change-available", func(m map[string]any) {
			m["detail-type"] = "EC2 AMI Available"
		}), []string{`"aws.ec2"`, `"EC2 AMI Available"`}},
		{"stampkit kind not handled", edit(t, "eventbridge-scheduled-event", func(m map[string]any) {
			m["source"], m["detail-type"] = event.SourceStampkit, "Rollout Requested"
		}), []string{`"stampkit"`, `"Rollout Requested"`}},
		{"unknown kind with malformed detail", edit(t, "eventbridge-scheduled-event", func(m map[string]any) {
			m["source"], m["detail"] = "aws.s3", map[string]any{"size": "big"}
		}), []string{`"aws.s3"`}},
		{"CloudFormation stack status not handled", edit(t, "cloudformation-resource-status-change", func(m map[string]any) {
			m["detail-type"] = "CloudFormation Stack Status Change"
		}), []string{`"aws.cloudformation"`, `"CloudFormation Stack Status Change"`}},
		{"EventBridge kind not handled, via SNS", snsRecord(spot), []string{`"EC2 Spot Instance Interruption Warning"`}},
		{"SNS message of no known shape", snsRecord(`{"hello":"world"}`), []string{`"aws:sns"`}},
		{"Auto Scaling launch notification via SNS", snsRecord(`{"Service":"AWS Auto Scaling","Event":"autoscaling:EC2_INSTANCE_LAUNCH",
			"AutoScalingGroupName":"my-asg","EC2InstanceId":"i-0598c7d356eba48d7","Time":"2016-09-30T19:00:36.414Z"}`),
			[]string{`"aws.autoscaling"`, `"autoscaling:EC2_INSTANCE_LAUNCH"`}},
		{"S3 record", `{"Records":[{"eventVersion":"2.1","eventSource":"aws:s3","s3":{}}]}`, []string{`"aws:s3"`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := event.Decode([]byte(tc.payload))
			if !errors.Is(err, event.ErrUnknown) {
				t.Fatalf("Decode: got %d events, error %v; want an error matching ErrUnknown", len(got), err)
			}
			if errors.Is(err, event.ErrMalformed) {
				t.Errorf("Decode: got error %v that also matches ErrMalformed, want only ErrUnknown", err)
			}
			for _, s := range tc.want {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("Error(): got %q, want it to contain %s", err.Error(), s)
				}
			}
		})
	}
}

func TestDecodeSeveralSNSRecords(t *testing.T) {
	first := snsMessage(t, "cloudwatch-alarm-sns-single-metric")
	second := snsMessage(t, "cloudwatch-alarm-sns-single-metric")
	second["AlarmName"] = "Other"
	second["AlarmArn"] = "arn:aws:cloudwatch:eu-west-1:210987654321:alarm:Other"
	second["NewStateValue"], second["OldStateValue"] = event.AlarmStateOK, event.AlarmStateAlarm
	second["StateChangeTime"] = "2015-06-03T17:48:27.000+0000"
	var records []any
	for _, m := range []map[string]any{first, second} {
		var rec map[string]any
		if err := json.Unmarshal([]byte(snsRecord(mustJSON(t, m))), &rec); err != nil {
			t.Fatal(err)
		}
		records = append(records, rec["Records"].([]any)...)
	}
	got, err := event.Decode([]byte(mustJSON(t, map[string]any{"Records": records})))
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	type summary struct{ ID, Region, Account, Name, State, Previous string }
	var sums []summary
	for _, ev := range got {
		a, ok := ev.Detail.(*event.AlarmStateChange)
		if !ok {
			t.Fatalf("Detail: got %T, want *event.AlarmStateChange", ev.Detail)
		}
		sums = append(sums, summary{ev.ID, ev.Region, ev.Account, a.AlarmName, a.State.Value, a.PreviousState.Value})
	}
	want := []summary{
		{"arn:aws:cloudwatch:us-east-1:123456789012:alarm:EXAMPLE@2015-06-03T17:43:27.123Z", "us-east-1", "123456789012", "EXAMPLE", "ALARM", "INSUFFICIENT_DATA"},
		{"arn:aws:cloudwatch:eu-west-1:210987654321:alarm:Other@2015-06-03T17:48:27Z", "eu-west-1", "210987654321", "Other", "OK", "ALARM"},
	}
	if diff := cmp.Diff(want, sums); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
}

// TestAlarmKeyAcrossEnvelopes checks that one state change has one key
// whichever way it arrives, so its effects are claimed once.
func TestAlarmKeyAcrossEnvelopes(t *testing.T) {
	direct, err := event.Decode(readSample(t, "cloudwatch-alarm-lambda-action-metric"))
	if err != nil {
		t.Fatal(err)
	}
	a := direct[0].Detail.(*event.AlarmStateChange)

	msg := snsMessage(t, "cloudwatch-alarm-sns-single-metric")
	msg["AlarmArn"] = a.AlarmARN
	msg["StateChangeTime"] = "2023-08-04T12:36:15.490+0000"
	viaSNS, err := event.Decode([]byte(snsRecord(mustJSON(t, msg))))
	if err != nil {
		t.Fatal(err)
	}

	viaEB, err := event.Decode([]byte(edit(t, "cloudwatch-alarm-state-change-single-metric", func(m map[string]any) {
		m["resources"] = []any{a.AlarmARN}
		detail(m)["state"].(map[string]any)["timestamp"] = "2023-08-04T12:36:15.49Z"
	})))
	if err != nil {
		t.Fatal(err)
	}

	want := "arn:aws:cloudwatch:us-east-1:444455556666:alarm:lambda-demo-metric-alarm@2023-08-04T12:36:15.49Z"
	for name, evs := range map[string][]event.Event{"direct": direct, "SNS": viaSNS, "EventBridge": viaEB} {
		if got := evs[0].Detail.(*event.AlarmStateChange).Key(); got != want {
			t.Errorf("%s: Key() got %q, want %q", name, got, want)
		}
	}
}

func TestDecodeAlarmTimestampForms(t *testing.T) {
	want := at("2019-10-02T17:04:40.985Z")
	tests := []struct {
		name, timestamp string
		want            time.Time
	}{
		{"CloudWatch offset without colon", "2019-10-02T17:04:40.985+0000", want},
		{"RFC 3339 offset", "2019-10-02T17:04:40.985+00:00", want},
		{"Z", "2019-10-02T17:04:40.985Z", want},
		{"other zone without colon", "2019-10-02T19:04:40.985+0200", want},
		{"no fraction", "2019-10-02T17:04:40+0000", at("2019-10-02T17:04:40Z")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			payload := edit(t, "cloudwatch-alarm-lambda-action-metric", func(m map[string]any) {
				m["time"] = tc.timestamp
				m["alarmData"].(map[string]any)["state"].(map[string]any)["timestamp"] = tc.timestamp
			})
			got, err := event.Decode([]byte(payload))
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if !got[0].Time.Equal(tc.want) {
				t.Errorf("Time: got %v, want %v", got[0].Time, tc.want)
			}
			if ts := got[0].Detail.(*event.AlarmStateChange).State.Timestamp; !ts.Equal(tc.want) {
				t.Errorf("State.Timestamp: got %v, want %v", ts, tc.want)
			}
		})
	}
}

// TestDecodeWrapped covers messages that reach the function inside another
// service's envelope.
func TestDecodeWrapped(t *testing.T) {
	launch := string(readSample(t, "autoscaling-launch-lifecycle-action"))
	snsNotification := mustJSON(t, map[string]any{
		"Type": "Notification", "MessageId": "sns-1", "TopicArn": "arn:aws:sns:us-west-2:123456789012:t",
		"Message": launch, "Timestamp": "2024-05-14T09:30:13.000Z",
	})
	sqsBatch := func(body string) string {
		return mustJSON(t, map[string]any{"Records": []any{map[string]any{
			"eventSource": "aws:sqs", "messageId": "sqs-1", "awsRegion": "us-west-2", "body": body,
			"attributes": map[string]any{"SentTimestamp": "1715679013000"},
		}}})
	}
	lifecycle := &event.LifecycleAction{
		GroupName: "my-asg", HookName: "my-lifecycle-hook", Token: activityID, Transition: event.TransitionLaunching,
		InstanceID: sampleInstID, NotificationMetadata: "additional-info", Origin: event.PlaceEC2, Destination: event.PlaceAutoScalingGroup,
	}
	fromEB := asgEvent(event.DetailTypeLaunchLifecycleAction, "2024-05-14T09:30:12Z", lifecycle)
	via := func(carrier string) event.Event { ev := fromEB; ev.Via = carrier; return ev }
	tests := []struct {
		name    string
		payload string
		want    []event.Event
	}{
		{"EventBridge event as SNS message", snsRecord(launch), []event.Event{via("aws:sns")}},
		{"EventBridge event as SQS body", sqsBatch(launch), []event.Event{via("aws:sqs")}},
		// The innermost carrier: the topic.
		{"SNS notification as SQS body", sqsBatch(snsNotification), []event.Event{via("aws:sns")}},
		{"test notification as SQS body, no time of its own", sqsBatch(`{"Service":"AWS Auto Scaling","Event":"autoscaling:TEST_NOTIFICATION","AccountId":"123456789012","AutoScalingGroupName":"my-asg"}`),
			[]event.Event{{
				ID: "sqs-1", Source: event.SourceAutoScaling, DetailType: event.DetailTypeTestNotification,
				Time: time.UnixMilli(1715679013000), Region: "us-west-2", Account: "123456789012", Via: "aws:sqs",
				Detail: &event.TestNotification{GroupName: "my-asg"},
			}}},
		{"stampkit tick", edit(t, "eventbridge-scheduled-event", func(m map[string]any) {
			m["source"], m["detail-type"], m["resources"] = event.SourceStampkit, event.DetailTypeTick, []any{}
			m["detail"] = map[string]any{"at": "2019-03-01T02:00:00Z", "key": "rollout/r-1"}
		}), []event.Event{{
			ID: "cdc73f9d-aea9-11e3-9d5a-835b769c0d9c", Source: event.SourceStampkit, DetailType: event.DetailTypeTick,
			Time: at("2019-03-01T01:23:45Z"), Region: "us-east-2", Account: "123456789012", Resources: []string{},
			Detail: &event.Tick{At: at("2019-03-01T02:00:00Z"), Key: "rollout/r-1"},
		}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := event.Decode([]byte(tc.payload))
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Decode mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestMalformedErrorText(t *testing.T) {
	err := &event.MalformedError{Field: "detail.LifecycleActionToken", Err: errors.New("missing")}
	if got, want := err.Error(), "malformed event: detail.LifecycleActionToken: missing"; got != want {
		t.Errorf("Error(): got %q, want %q", got, want)
	}
	if !errors.Is(err, event.ErrMalformed) {
		t.Errorf("errors.Is(err, ErrMalformed): got false, want true")
	}
}
