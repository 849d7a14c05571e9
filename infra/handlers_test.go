package main

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"
)

func TestHandlers(t *testing.T) {
	f := synth(t)
	hs := f.stack.Handlers()
	byName := map[string]Handler{"scaler": hs.Scaler(), "lifecycle": hs.Lifecycle(), "rollout": hs.Rollout()}

	check(t, "three Go functions on provided.al2023 arm64", func() {
		f.template.ResourcePropertiesCountIs(jsii.String("AWS::Lambda::Function"), map[string]any{
			"Runtime": "provided.al2023", "Architectures": []any{"arm64"}, "Handler": "bootstrap",
		}, num(len(HandlerNames())))
	})
	check(t, "one async invoke config per function", func() {
		f.template.ResourceCountIs(jsii.String("AWS::Lambda::EventInvokeConfig"), num(len(HandlerNames())))
	})
	check(t, "one DLQ per function", func() {
		f.template.ResourceCountIs(jsii.String("AWS::SQS::Queue"), num(len(HandlerNames())))
	})

	tableID := f.logicalID(t, f.stack.State().Table().TableName())
	lifecycleSG := f.logicalID(t, hs.LifecycleSecurityGroup().SecurityGroupId())
	var private []any
	for _, s := range *f.stack.Network().Vpc().PrivateSubnets() {
		private = append(private, ref(f.logicalID(t, s.SubnetId())))
	}

	for _, name := range HandlerNames() {
		h := byName[name]
		fnID := f.logicalID(t, h.Function.FunctionArn())
		dlqID := f.logicalID(t, h.DeadLetterQueue.QueueArn())
		t.Run(name, func(t *testing.T) {
			want := map[string]any{
				"Role": getAtt(f.logicalID(t, h.Role.RoleArn()), "Arn"),
				"LoggingConfig": map[string]any{
					"LogFormat": "JSON",
					"LogGroup":  ref(f.logicalID(t, h.LogGroup.LogGroupName())),
				},
				"Environment": map[string]any{"Variables": map[string]any{
					EnvTable:  ref(tableID),
					EnvFleets: assertions.Match_AnyValue(),
				}},
				"VpcConfig":                    assertions.Match_Absent(),
				"ReservedConcurrentExecutions": assertions.Match_Absent(),
			}
			switch name {
			case "lifecycle":
				want["VpcConfig"] = map[string]any{
					"SubnetIds":        private,
					"SecurityGroupIds": []any{getAtt(lifecycleSG, "GroupId")},
				}
			case "scaler":
				if n := f.cfg.ScalerReservedConcurrency; n > 0 {
					want["ReservedConcurrentExecutions"] = n
				}
			}
			f.matches(t, "function", fnID, want)

			check(t, "log retention", func() {
				f.template.HasResourceProperties(jsii.String("AWS::Logs::LogGroup"), map[string]any{
					"RetentionInDays": f.cfg.LogRetentionDays,
				})
			})
			check(t, "async failures go to the DLQ", func() {
				f.template.HasResourceProperties(jsii.String("AWS::Lambda::EventInvokeConfig"), map[string]any{
					"FunctionName":             ref(fnID),
					"MaximumRetryAttempts":     2,
					"MaximumEventAgeInSeconds": assertions.Match_AnyValue(),
					"DestinationConfig": map[string]any{
						"OnFailure": map[string]any{"Destination": getAtt(dlqID, "Arn")},
					},
				})
			})
			f.matches(t, "DLQ", dlqID, map[string]any{"SqsManagedSseEnabled": true})
			check(t, "DLQ denies plain HTTP", func() {
				f.template.HasResourceProperties(jsii.String("AWS::SQS::QueuePolicy"), map[string]any{
					"Queues": []any{ref(dlqID)},
					"PolicyDocument": map[string]any{"Statement": assertions.Match_ArrayWith(&[]any{
						assertions.Match_ObjectLike(&map[string]any{
							"Effect":    "Deny",
							"Condition": map[string]any{"Bool": map[string]any{"aws:SecureTransport": "false"}},
						}),
					})},
				})
			})
			f.matches(t, "DLQ alarm", f.logicalID(t, h.DeadLetterAlarm.AlarmArn()), map[string]any{
				"Namespace":          "AWS/SQS",
				"MetricName":         "ApproximateNumberOfMessagesVisible",
				"Dimensions":         []any{map[string]any{"Name": "QueueName", "Value": getAtt(dlqID, "QueueName")}},
				"Threshold":          0,
				"ComparisonOperator": "GreaterThanThreshold",
			})
		})
	}

	t.Run("rules", func(t *testing.T) { testRules(t, f, byName) })
	t.Run("iam", func(t *testing.T) { testHandlerIAM(t, f, byName) })
}

// rulePattern is a rule's pattern or schedule, normalised for comparison.
func rulePattern(p map[string]any) string {
	if s, ok := p["ScheduleExpression"].(string); ok {
		return s
	}
	raw, _ := json.Marshal(p["EventPattern"])
	return string(raw)
}

func testRules(t *testing.T, f *fixture, byName map[string]Handler) {
	var alarmArns, groups []any
	for _, mf := range f.stack.Fleets() {
		groups = append(groups, ref(f.logicalID(t, mf.Fleet.AutoScalingGroup().AutoScalingGroupName())))
		for _, a := range mf.Scaling.Alarms() {
			alarmArns = append(alarmArns, getAtt(f.logicalID(t, a.Alarm.AlarmArn()), "Arn"))
		}
	}
	pattern := func(source string, detailTypes []string, resources []any, detail map[string]any) string {
		p := map[string]any{"source": []any{source}, "detail-type": detailTypes}
		if resources != nil {
			p["resources"] = resources
		}
		if detail != nil {
			p["detail"] = detail
		}
		raw, _ := json.Marshal(p)
		return string(raw)
	}
	want := map[string][]string{
		"scaler": {
			pattern("aws.cloudwatch", []string{DetailAlarmStateChange}, alarmArns, nil),
			fmt.Sprintf("rate(%d minute)", ScalerTickRate),
		},
		"lifecycle": {
			pattern("aws.autoscaling", []string{DetailLaunchLifecycle, DetailTerminateLifecycle}, nil,
				map[string]any{"AutoScalingGroupName": groups}),
		},
		"rollout": {
			pattern("aws.imagebuilder", []string{DetailImageBuilderImage}, nil,
				map[string]any{"state": map[string]any{"status": []any{"AVAILABLE"}}}),
			pattern("aws.ec2", []string{DetailAMIStateChange}, nil, map[string]any{"State": []any{"available"}}),
			pattern("aws.autoscaling", InstanceRefreshDetailTypes(), nil, map[string]any{"AutoScalingGroupName": groups}),
		},
	}
	got := map[string][]string{}
	rules := f.ofType("AWS::Events::Rule")
	for id, r := range rules {
		p := props(r)
		targets, _ := p["Targets"].([]any)
		if len(targets) != 1 {
			t.Errorf("rule %s: got %d targets, want 1", id, len(targets))
			continue
		}
		target := targets[0].(map[string]any)
		for name, h := range byName {
			if fmt.Sprint(target["Arn"]) != fmt.Sprint(getAtt(f.logicalID(t, h.Function.FunctionArn()), "Arn")) {
				continue
			}
			got[name] = append(got[name], rulePattern(p))
			dlq := getAtt(f.logicalID(t, h.DeadLetterQueue.QueueArn()), "Arn")
			if fmt.Sprint(target["DeadLetterConfig"]) != fmt.Sprint(map[string]any{"Arn": dlq}) {
				t.Errorf("rule %s: dead-letter config %v, want the %s DLQ", id, target["DeadLetterConfig"], name)
			}
			if rp, _ := target["RetryPolicy"].(map[string]any); rp["MaximumRetryAttempts"] == nil || rp["MaximumEventAgeInSeconds"] == nil {
				t.Errorf("rule %s: retry policy %v, want attempts and event age", id, target["RetryPolicy"])
			}
		}
	}
	for name := range want {
		slices.Sort(want[name])
		slices.Sort(got[name])
		if !slices.Equal(got[name], want[name]) {
			t.Errorf("%s rules:\n got  %q\n want %q", name, got[name], want[name])
		}
	}
	check(t, "EventBridge may invoke each rule's target", func() {
		f.template.ResourcePropertiesCountIs(jsii.String("AWS::Lambda::Permission"), map[string]any{
			"Action": "lambda:InvokeFunction", "Principal": "events.amazonaws.com",
		}, num(len(rules)))
	})
}

// statements returns the statements of every policy attached to roleID.
func (f *fixture) statements(roleID string) []map[string]any {
	var out []map[string]any
	for _, r := range f.ofType("AWS::IAM::Policy") {
		p := props(r)
		roles, _ := p["Roles"].([]any)
		if !slices.ContainsFunc(roles, func(v any) bool { return fmt.Sprint(v) == fmt.Sprint(ref(roleID)) }) {
			continue
		}
		doc, _ := p["PolicyDocument"].(map[string]any)
		for _, s := range asList(doc["Statement"]) {
			out = append(out, s.(map[string]any))
		}
	}
	return out
}

func asList(v any) []any {
	if l, ok := v.([]any); ok {
		return l
	}
	if v == nil {
		return nil
	}
	return []any{v}
}

func testHandlerIAM(t *testing.T, f *fixture, byName map[string]Handler) {
	t.Run("no wildcard actions anywhere", func(t *testing.T) {
		var docs []any
		for _, r := range f.ofType("AWS::IAM::Policy") {
			docs = append(docs, props(r)["PolicyDocument"])
		}
		for _, r := range f.ofType("AWS::IAM::Role") {
			for _, p := range asList(props(r)["Policies"]) {
				docs = append(docs, p.(map[string]any)["PolicyDocument"])
			}
			for _, arn := range asList(props(r)["ManagedPolicyArns"]) {
				if strings.Contains(fmt.Sprint(arn), "FullAccess") {
					t.Errorf("managed policy %v: want no *FullAccess policy", arn)
				}
			}
		}
		if len(docs) == 0 {
			t.Fatal("no policy documents found")
		}
		for _, d := range docs {
			for _, s := range asList(d.(map[string]any)["Statement"]) {
				for _, a := range asList(s.(map[string]any)["Action"]) {
					if strings.Contains(fmt.Sprint(a), "*") {
						t.Errorf("action %v: want no wildcard", a)
					}
				}
			}
		}
	})

	// Mutating calls are scoped to this stack's resources; only the
	// Describe*/ENI calls IAM cannot scope may use "*".
	mayUseStar := func(action string) bool {
		_, op, _ := strings.Cut(action, ":")
		return strings.HasPrefix(op, "Describe") || strings.HasSuffix(op, "NetworkInterface") ||
			strings.HasSuffix(op, "PrivateIpAddresses")
	}
	want := map[string][]string{
		"scaler":    {"autoscaling:SetDesiredCapacity", "cloudwatch:DescribeAlarms", "dynamodb:PutItem"},
		"lifecycle": {"autoscaling:CompleteLifecycleAction", "autoscaling:RecordLifecycleActionHeartbeat", "ec2:CreateNetworkInterface"},
		"rollout": {"ec2:CreateLaunchTemplateVersion", "autoscaling:StartInstanceRefresh",
			"elasticloadbalancing:ModifyListener", "iam:PassRole", "ssm:GetParameter"},
	}
	for name, h := range byName {
		t.Run(name, func(t *testing.T) {
			roleID := f.logicalID(t, h.Role.RoleArn())
			f.matches(t, "role", roleID, map[string]any{"ManagedPolicyArns": assertions.Match_Absent()})
			granted := map[string]bool{}
			for _, s := range f.statements(roleID) {
				if s["Effect"] != "Allow" {
					continue
				}
				for _, a := range asList(s["Action"]) {
					action := fmt.Sprint(a)
					granted[action] = true
					for _, res := range asList(s["Resource"]) {
						if res == "*" && !mayUseStar(action) {
							t.Errorf("%s on Resource *: want it scoped to this stack's resources", action)
						}
					}
				}
			}
			for _, a := range want[name] {
				if !granted[a] {
					t.Errorf("role lacks %s; got %v", a, keys(granted))
				}
			}
		})
	}
}
