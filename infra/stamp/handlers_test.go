package stamp

import (
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"
	"github.com/google/go-cmp/cmp"

	"github.com/stampkit/stampkit/shared/config"
	"github.com/stampkit/stampkit/shared/event"
	"github.com/stampkit/stampkit/shared/lifecycle"
	"github.com/stampkit/stampkit/shared/twin"
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
	check(t, "one DLQ per function, a wake-up queue and its DLQ for lifecycle and rollout, the command bus's queue of ignored events", func() {
		f.template.ResourceCountIs(jsii.String("AWS::SQS::Queue"), num(len(HandlerNames())+2*2+1))
	})
	check(t, "one SQS event source per wake-up queue", func() {
		f.template.ResourceCountIs(jsii.String("AWS::Lambda::EventSourceMapping"), num(2))
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
			env := map[string]any{
				config.EnvTable:      ref(tableID),
				config.EnvNamespace:  MetricNamespace,
				config.EnvFleetsFile: FleetsFileName,
			}
			// The test app's api fleet forecasts on its load balancer's
			// metric, which only the environment can name.
			if len(f.cfg.FleetsInEnvironment(name)) > 0 {
				delete(env, config.EnvFleetsFile)
				env[config.EnvFleets] = assertions.Match_AnyValue()
			}
			if queueEnv := map[string]string{"lifecycle": config.EnvWakeQueue, "rollout": config.EnvRolloutQueue}[name]; queueEnv != "" {
				if h.WakeQueue == nil {
					t.Fatalf("%s has no wake-up queue", name)
				}
				env[queueEnv] = ref(f.logicalID(t, h.WakeQueue.QueueArn()))
			} else if h.WakeQueue != nil {
				t.Errorf("%s has a wake-up queue, want none", name)
			}
			want := map[string]any{
				"Role": getAtt(f.logicalID(t, h.Role.RoleArn()), "Arn"),
				"LoggingConfig": map[string]any{
					"LogFormat": "JSON",
					"LogGroup":  ref(f.logicalID(t, h.LogGroup.LogGroupName())),
				},
				"Environment":                  map[string]any{"Variables": assertions.Match_ObjectEquals(&env)},
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
			if h.WakeQueue != nil {
				testWakeQueue(t, f, h, fnID)
			}
		})
	}

	t.Run("rules", func(t *testing.T) { testRules(t, f, byName) })
	t.Run("iam", func(t *testing.T) { testHandlerIAM(t, f, byName) })
}

// testWakeQueue checks a function's durable wake-up plumbing: an encrypted,
// SSL-only queue with its own alarmed DLQ, feeding the function one
// message at a time.
func testWakeQueue(t *testing.T, f *fixture, h Handler, fnID string) {
	wakeID := f.logicalID(t, h.WakeQueue.QueueArn())
	wakeDLQID := f.logicalID(t, h.WakeDeadLetterQueue.QueueArn())
	timeout := props(f.resources[fnID])["Timeout"].(float64)
	f.matches(t, "wake-up queue", wakeID, map[string]any{
		"SqsManagedSseEnabled": true,
		"RedrivePolicy": map[string]any{
			"deadLetterTargetArn": getAtt(wakeDLQID, "Arn"),
			"maxReceiveCount":     WakeMaxReceives,
		},
	})
	// Lambda refuses an SQS event source whose queue hides a message for
	// less than the function may run.
	if v, _ := props(f.resources[wakeID])["VisibilityTimeout"].(float64); v < timeout {
		t.Errorf("wake-up queue VisibilityTimeout %v: want at least the function timeout %v", v, timeout)
	}
	f.matches(t, "wake-up DLQ", wakeDLQID, map[string]any{"SqsManagedSseEnabled": true})
	for _, q := range []string{wakeID, wakeDLQID} {
		check(t, "wake-up queues deny plain HTTP", func() {
			f.template.HasResourceProperties(jsii.String("AWS::SQS::QueuePolicy"), map[string]any{
				"Queues": []any{ref(q)},
				"PolicyDocument": map[string]any{"Statement": assertions.Match_ArrayWith(&[]any{
					assertions.Match_ObjectLike(&map[string]any{
						"Effect":    "Deny",
						"Condition": map[string]any{"Bool": map[string]any{"aws:SecureTransport": "false"}},
					}),
				})},
			})
		})
	}
	check(t, "only the function may send to its wake-up queue", func() {
		f.template.HasResourceProperties(jsii.String("AWS::SQS::QueuePolicy"), map[string]any{
			"Queues": []any{ref(wakeID)},
			"PolicyDocument": map[string]any{"Statement": assertions.Match_ArrayWith(&[]any{
				assertions.Match_ObjectLike(&map[string]any{
					"Effect": "Deny", "Action": "sqs:SendMessage", "Principal": map[string]any{"AWS": "*"},
					"Condition": map[string]any{"ArnNotEquals": map[string]any{
						"aws:PrincipalArn": getAtt(f.logicalID(t, h.Role.RoleArn()), "Arn"),
					}},
				}),
			})},
		})
	})
	f.matches(t, "wake-up DLQ alarm", f.logicalID(t, h.WakeDeadLetterAlarm.AlarmArn()), map[string]any{
		"MetricName": "ApproximateNumberOfMessagesVisible",
		"Dimensions": []any{map[string]any{"Name": "QueueName", "Value": getAtt(wakeDLQID, "QueueName")}},
		"Threshold":  0,
	})
	check(t, "the wake-up queue feeds the function one message at a time", func() {
		f.template.HasResourceProperties(jsii.String("AWS::Lambda::EventSourceMapping"), map[string]any{
			"FunctionName":   ref(fnID),
			"EventSourceArn": getAtt(wakeID, "Arn"),
			"BatchSize":      1,
		})
	})
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
	stack := f.stack.Stack()
	names := f.cfg.Names()
	// The stamp's alarms and groups by the prefix of their names, the
	// alarm a rule names that lives elsewhere by ARN.
	alarmArns := []any{map[string]any{"prefix": stack.Resolve(alarmArn(stack, names.ScalingAlarmPrefix()))}}
	external := externalAlarms(f.stack.Fleets(), names.ScalingAlarmPrefix())
	if len(external) == 0 {
		t.Fatal("the test app names no alarm of its own: the rule's explicit alarms go untested")
	}
	for _, a := range external {
		alarmArns = append(alarmArns, stack.Resolve(alarmArn(stack, a)))
	}
	allGroups := []any{map[string]any{"prefix": names.Prefix()}}
	blueGreen := false
	for _, mf := range f.stack.Fleets() {
		blueGreen = blueGreen || mf.Fleet.PeerGroup() != nil
	}
	if !blueGreen {
		t.Fatal("the test app has no blue/green fleet: the listener rule goes untested")
	}
	stackPrefix := func(after string) any {
		return map[string]any{"prefix": stack.Resolve(stack.FormatArn(&awscdk.ArnComponents{
			Service: jsii.String("cloudformation"), Resource: jsii.String("stack"), ResourceName: jsii.String(*stack.StackName() + after),
		}))}
	}
	pattern := func(source string, detailTypes []string, resources []any, detail map[string]any) string {
		p := map[string]any{"source": []any{source}, "detail-type": detailTypes}
		if resources != nil {
			p["resources"] = resources
		}
		if detail != nil {
			p["detail"] = detail
		}
		if source == "stampkit" {
			// Steering rules refuse replays, which no bus policy sees.
			p["replay-name"] = []any{map[string]any{"exists": false}}
		}
		raw, _ := json.Marshal(p)
		return string(raw)
	}
	want := map[string][]string{
		"scaler": {
			pattern("aws.cloudwatch", []string{DetailAlarmStateChange}, alarmArns, nil),
			// One batch: the test app has fewer fleets than a batch holds.
			fmt.Sprintf("rate(%d minute)", ScalerTickRate),
		},
		"lifecycle": {
			pattern("aws.autoscaling", []string{DetailLaunchLifecycle, DetailTerminateLifecycle}, nil,
				map[string]any{"AutoScalingGroupName": allGroups, "LifecycleHookName": []any{"stampkit-launch", "stampkit-terminate"}}),
		},
		"rollout": {
			pattern("aws.imagebuilder", []string{DetailImageBuilderImage}, nil,
				map[string]any{"state": map[string]any{"status": []any{"AVAILABLE", "FAILED", "CANCELLED"}}}),
			pattern("aws.ec2", []string{DetailAMIStateChange}, nil, map[string]any{"State": []any{"available", "failed"}}),
			pattern("aws.autoscaling", InstanceRefreshDetailTypes(), nil, map[string]any{"AutoScalingGroupName": allGroups}),
			pattern("stampkit", []string{"Rollout Command"}, nil, nil),
			pattern("stampkit", []string{"Image Ready"}, nil, nil),
			pattern("aws.cloudformation", []string{"CloudFormation Resource Status Change"}, nil, map[string]any{
				"resource-type":  []any{"AWS::ElasticLoadBalancingV2::Listener"},
				"stack-id":       []any{stackPrefix("/"), stackPrefix("-")},
				"status-details": map[string]any{"status": []any{"UPDATE_COMPLETE"}},
			}),
		},
	}
	// stampkit's own steering events are heard on the command bus only;
	// every other rule is on the default bus, where AWS puts its events.
	commandBus := fmt.Sprint(ref(f.logicalID(t, f.stack.Commands().Bus().EventBusName())))
	onCommandBus := map[string]bool{
		pattern("stampkit", []string{"Rollout Command"}, nil, nil): true,
		pattern("stampkit", []string{"Image Ready"}, nil, nil):     true,
	}
	got := map[string][]string{}
	functionRules := 0
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
			functionRules++
			bus, wantBus := "the default bus", "the default bus"
			if b, ok := p["EventBusName"]; ok {
				bus = fmt.Sprint(b)
			}
			if onCommandBus[rulePattern(p)] {
				wantBus = commandBus
			}
			if bus != wantBus {
				t.Errorf("rule %s %s: on %s, want %s", id, rulePattern(p), bus, wantBus)
			}
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
	checkTickBatches(t, f.cfg.Fleets, rules, getAtt(f.logicalID(t, byName["scaler"].Function.FunctionArn()), "Arn"))
	check(t, "EventBridge may invoke each rule's target", func() {
		f.template.ResourcePropertiesCountIs(jsii.String("AWS::Lambda::Permission"), map[string]any{
			"Action": "lambda:InvokeFunction", "Principal": "events.amazonaws.com",
		}, num(functionRules))
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
		out = append(out, docStatements(p["PolicyDocument"])...)
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
			for _, s := range docStatements(d) {
				for _, a := range asList(s["Action"]) {
					if strings.Contains(fmt.Sprint(a), "*") {
						t.Errorf("action %v: want no wildcard", a)
					}
				}
			}
		}
	})

	// Mutating calls are scoped to this stack's resources; only the calls
	// IAM cannot scope (UnscopedActions) may use "*".
	mayUseStar := func(action string) bool {
		_, ok := unscopedReason(action)
		return ok
	}
	want := map[string][]string{
		"scaler": {"autoscaling:SetDesiredCapacity", "autoscaling:DescribeAutoScalingGroups", "cloudwatch:DescribeAlarms",
			"cloudwatch:GetMetricData", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem"},
		"lifecycle": {"autoscaling:CompleteLifecycleAction", "autoscaling:RecordLifecycleActionHeartbeat",
			"autoscaling:DescribeAutoScalingGroups", "ec2:CreateNetworkInterface", "ec2:DescribeInstances",
			"ec2:DescribeInstanceStatus", "elasticloadbalancing:DeregisterTargets", "elasticloadbalancing:DescribeTargetHealth",
			"elasticloadbalancing:DescribeTargetGroupAttributes", "sqs:SendMessage", "sqs:ReceiveMessage",
			"ssm:SendCommand", "ssm:GetCommandInvocation", "dynamodb:PutItem"},
		"rollout": {"autoscaling:UpdateAutoScalingGroup", "autoscaling:StartInstanceRefresh", "autoscaling:CancelInstanceRefresh",
			"autoscaling:RollbackInstanceRefresh", "ec2:CreateLaunchTemplateVersion", "ec2:ModifyLaunchTemplate",
			"ec2:RunInstances", "ec2:CreateTags", "elasticloadbalancing:ModifyListener", "iam:PassRole", "ssm:GetParameter",
			"ssm:PutParameter", "ec2:DescribeImages", "cloudwatch:DescribeAlarms", "sqs:SendMessage", "dynamodb:PutItem"},
	}
	// What each role must not have: another handler's effects, and the
	// table-wide reads a Grant*Data helper would add.
	forbidden := map[string][]string{
		// SetDesiredCapacity names no launch template: Auto Scaling
		// launches with its own role and checks nothing of the caller's.
		"scaler": {"autoscaling:UpdateAutoScalingGroup", "autoscaling:SetInstanceProtection", "dynamodb:Scan", "dynamodb:BatchWriteItem",
			"ec2:RunInstances", "ec2:CreateTags"},
		"lifecycle": {"autoscaling:SetDesiredCapacity", "autoscaling:UpdateAutoScalingGroup", "dynamodb:Scan",
			"autoscaling:DescribeAutoScalingInstances", "ec2:RunInstances", "ec2:CreateTags", "cloudwatch:GetMetricData"},
		// The rollout reads its health alarms' states (cwalarm.Alarms), never
		// their metrics.
		"rollout": {"autoscaling:SetDesiredCapacity", "autoscaling:CompleteLifecycleAction", "ssm:SendCommand", "dynamodb:Scan",
			"imagebuilder:GetImage", "cloudwatch:GetMetricData"},
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
			for _, a := range forbidden[name] {
				if granted[a] {
					t.Errorf("role has %s, which the %s Lambda never calls", a, name)
				}
			}
		})
	}
}

// TestLifecycleRunCommandScope checks that ssm:SendCommand reaches only the
// documents the lifecycle policies name and the instances tagged with a
// fleet that runs SSM commands.
func TestLifecycleRunCommandScope(t *testing.T) {
	f := synth(t)
	roleID := f.logicalID(t, f.stack.Handlers().Lifecycle().Role.RoleArn())
	var ssmFleets []any
	docs := map[string]bool{}
	for _, mf := range f.stack.Fleets() {
		uses := false
		p := mf.Config.Lifecycle.WithDefaults()
		probes := p.Launch.Probes
		if p.Terminate.Command != nil {
			probes = append(probes, *p.Terminate.Command)
		}
		for _, pr := range probes {
			if pr.Kind == "ssm" {
				uses = true
				docs[pr.Document] = true
			}
		}
		if uses {
			ssmFleets = append(ssmFleets, mf.Fleet.Name())
		}
	}
	if len(ssmFleets) == 0 {
		t.Skip("no fleet runs SSM commands")
	}
	gotDocs := map[string]bool{}
	tagged := false
	for _, s := range f.statements(roleID) {
		if !slices.Contains(asList(s["Action"]), any("ssm:SendCommand")) {
			continue
		}
		for _, res := range asList(s["Resource"]) {
			raw, _ := json.Marshal(res)
			r := string(raw)
			switch {
			case strings.Contains(r, ":instance/*"):
				// This stamp's instances of the fleets that run commands:
				// another stamp's fleet of the same name is not this one's.
				want := map[string]any{"StringEquals": map[string]any{
					"ssm:resourceTag/" + FleetTagKey: ssmFleets, "ssm:resourceTag/" + StampTagKey: f.cfg.Name,
				}}
				if fmt.Sprint(s["Condition"]) != fmt.Sprint(want) {
					t.Errorf("SendCommand on instances: condition %v, want %v", s["Condition"], want)
				}
				tagged = true
			case strings.Contains(r, ":document/"):
				_, name, _ := strings.Cut(r, ":document/")
				gotDocs[strings.TrimRight(name, `"]}`)] = true
			default:
				t.Errorf("SendCommand on %s: want a document or the fleet-tagged instances", r)
			}
		}
	}
	if !tagged {
		t.Error("no SendCommand statement for the fleet instances")
	}
	if fmt.Sprint(gotDocs) != fmt.Sprint(docs) {
		t.Errorf("SendCommand documents: got %v, want %v", keys(gotDocs), keys(docs))
	}
}

// TestWakeUpRetryBeatsTheHook: a lifecycle wake-up whose invocation fails
// comes back one visibility timeout after it was received. The wake-up
// that sends a heartbeat is due lifecycle.HeartbeatMargin before the hook
// expires, so every hook's margin must be longer than the lifecycle wake
// queue's visibility timeout, or the retry finds the hook expired (and a
// launch abandoned).
func TestWakeUpRetryBeatsTheHook(t *testing.T) {
	f := synth(t)
	seconds := func(id, key string) time.Duration {
		t.Helper()
		v, ok := props(f.resources[id])[key].(float64)
		if !ok {
			t.Fatalf("%s has no numeric %s: %v", id, key, props(f.resources[id])[key])
		}
		return time.Duration(v) * time.Second
	}
	hs := f.stack.Handlers()
	lc := hs.Lifecycle()
	fnTimeout := seconds(f.logicalID(t, lc.Function.FunctionArn()), "Timeout")
	visibility := seconds(f.logicalID(t, lc.WakeQueue.QueueArn()), "VisibilityTimeout")
	if fnTimeout != LifecycleTimeout || visibility != LifecycleWakeVisibility {
		t.Errorf("lifecycle function timeout %v, wake queue visibility %v: want %v, %v", fnTimeout, visibility, LifecycleTimeout, LifecycleWakeVisibility)
	}
	// The longest HTTP probe round must fit well within the function.
	for _, mf := range f.stack.Fleets() {
		var probing time.Duration
		for _, p := range mf.Config.Lifecycle.WithDefaults().Launch.Probes {
			if p.Kind == lifecycle.HTTP {
				probing += p.Timeout.Std()
			}
		}
		if 2*probing > fnTimeout {
			t.Errorf("fleet %s: HTTP probes take up to %v, over half the lifecycle timeout %v", mf.Fleet.Name(), probing, fnTimeout)
		}
	}
	hooks := 0
	for id, r := range f.ofType("AWS::AutoScaling::AutoScalingGroup") {
		for _, h := range asList(props(r)["LifecycleHookSpecificationList"]) {
			hooks++
			spec, _ := h.(map[string]any)
			v, ok := spec["HeartbeatTimeout"].(float64)
			if !ok {
				t.Fatalf("group %s hook %v has no numeric HeartbeatTimeout", id, spec["LifecycleHookName"])
			}
			hb := time.Duration(v) * time.Second
			if m := lifecycle.HeartbeatMargin(hb); m <= visibility {
				t.Errorf("group %s hook %v: heartbeat timeout %v leaves a margin of %v, want more than the wake queue's visibility timeout %v",
					id, spec["LifecycleHookName"], hb, m, visibility)
			}
		}
	}
	if hooks == 0 {
		t.Fatal("no lifecycle hooks in the test app")
	}
	// The rollout's waits are bound to no hook: Lambda's six-fold advice.
	ro := hs.Rollout()
	roTimeout := seconds(f.logicalID(t, ro.Function.FunctionArn()), "Timeout")
	if got := seconds(f.logicalID(t, ro.WakeQueue.QueueArn()), "VisibilityTimeout"); got != 6*roTimeout {
		t.Errorf("rollout wake queue visibility %v: want six times the function timeout %v", got, roTimeout)
	}
}

// TestRolloutMayTagWhatTheTemplatesTag: Auto Scaling checks that whoever
// points a group at a launch template with tag specifications may tag
// what RunInstances creates (ec2:CreateTags). The rollout role may, for
// every resource type a template of the stack tags, at launch only.
func TestRolloutMayTagWhatTheTemplatesTag(t *testing.T) {
	f := synth(t)
	tagged := map[string]bool{}
	for id, r := range f.ofType("AWS::EC2::LaunchTemplate") {
		data, _ := props(r)["LaunchTemplateData"].(map[string]any)
		for _, spec := range asList(data["TagSpecifications"]) {
			typ, _ := spec.(map[string]any)["ResourceType"].(string)
			if typ == "" {
				t.Errorf("launch template %s: tag specification %v names no resource type", id, spec)
			}
			tagged[typ] = true
		}
	}
	if len(tagged) == 0 {
		t.Fatal("no launch template tags anything at launch: the test checks nothing")
	}
	roleID := f.logicalID(t, f.stack.Handlers().Rollout().Role.RoleArn())
	granted := map[string]bool{}
	for _, s := range f.statements(roleID) {
		if !slices.Contains(asList(s["Action"]), any("ec2:CreateTags")) {
			continue
		}
		if len(asList(s["Action"])) != 1 {
			t.Errorf("ec2:CreateTags shares a statement with %v; want it alone under its condition", s["Action"])
		}
		want := map[string]any{"StringEquals": map[string]any{"ec2:CreateAction": "RunInstances"}}
		if fmt.Sprint(s["Condition"]) != fmt.Sprint(want) {
			t.Errorf("ec2:CreateTags condition: got %v, want %v", s["Condition"], want)
		}
		prefix := fmt.Sprintf(":ec2:%s:%s:", f.cfg.Region, f.cfg.Account)
		for _, res := range asList(s["Resource"]) {
			raw, _ := json.Marshal(res)
			_, rest, ok := strings.Cut(string(raw), prefix)
			typ, star := strings.CutSuffix(strings.TrimRight(rest, `"]}`), "/*")
			if !ok || !star {
				t.Errorf("ec2:CreateTags on %s: want <type>/* in this stack's account and region", raw)
				continue
			}
			granted[typ] = true
		}
	}
	for typ := range tagged {
		if !granted[typ] {
			t.Errorf("the launch templates tag %s at launch, the rollout role may not (may: %v)", typ, keys(granted))
		}
	}
	for typ := range granted {
		if !tagged[typ] {
			t.Errorf("the rollout role may tag %s, which no launch template tags", typ)
		}
	}
}

// TestLifecycleCompletesOnlyTheStampsGroups: IAM scopes
// CompleteLifecycleAction and RecordLifecycleActionHeartbeat by group,
// not by hook (the action's only resource is the Auto Scaling group, with
// no condition key for the hook name): the role may answer hooks on the
// stamp's groups, peer groups included, matched by the prefix of their
// names, and on no other stamp's. Which hooks it answers on them is the
// lifecycle rule's LifecycleHookName match.
func TestLifecycleCompletesOnlyTheStampsGroups(t *testing.T) {
	f := synth(t)
	d := deployed{f: f, account: f.cfg.Account, region: f.cfg.Region}
	groupArn := func(name string) string {
		return d.arn("autoscaling", "autoScalingGroup:0f1e2d3c:autoScalingGroupName/"+name)
	}
	var ours []string
	for _, mf := range f.stack.Fleets() {
		for _, g := range mf.Fleet.Groups() {
			name, err := d.ref(f.logicalID(t, g.AutoScalingGroupName()))
			if err != nil {
				t.Fatal(err)
			}
			ours = append(ours, groupArn(name))
		}
	}
	others := []string{groupArn("stampkit-main2-web"), groupArn("stampkit-eu1-web"), groupArn("main-web"), groupArn("web")}
	for _, action := range []string{"autoscaling:CompleteLifecycleAction", "autoscaling:RecordLifecycleActionHeartbeat"} {
		var patterns []string
		for _, s := range f.statements(f.logicalID(t, f.stack.Handlers().Lifecycle().Role.RoleArn())) {
			if !slices.Contains(asList(s["Action"]), any(action)) {
				continue
			}
			for _, res := range asList(s["Resource"]) {
				r, err := d.resolve(res)
				if err != nil {
					t.Fatalf("%s resource %v: %v", action, res, err)
				}
				patterns = append(patterns, r)
			}
		}
		if len(patterns) != 1 {
			t.Errorf("%s on %v, want one pattern, whatever the fleets", action, patterns)
		}
		for _, g := range ours {
			if !slices.ContainsFunc(patterns, func(p string) bool { return iamMatch(p, g) }) {
				t.Errorf("%s on %v: not on the stamp's group %s", action, patterns, g)
			}
		}
		for _, g := range others {
			if slices.ContainsFunc(patterns, func(p string) bool { return iamMatch(p, g) }) {
				t.Errorf("%s on %v: also on %s, not the stamp's", action, patterns, g)
			}
		}
	}
}

// iamMatch reports whether s matches the IAM resource pattern p: * any
// run of characters, ? one.
func iamMatch(p, s string) bool {
	re := "^" + strings.NewReplacer(`\*`, ".*", `\?`, ".").Replace(regexp.QuoteMeta(p)) + "$"
	return regexp.MustCompile(re).MatchString(s)
}

// TestTwinRetriesAsDeployed checks that the local twin invokes and
// retries the functions as this app deploys them (twin.Functions): their
// timeouts, Lambda's asynchronous retries and event age, the wake-up
// queues' visibility timeout and receive count, and which run in the VPC
// (the ones a lost NAT gateway reaches).
func TestTwinRetriesAsDeployed(t *testing.T) {
	f := synth(t)
	hs := f.stack.Handlers()
	byName := map[string]Handler{"scaler": hs.Scaler(), "lifecycle": hs.Lifecycle(), "rollout": hs.Rollout()}
	seconds := func(id string, p map[string]any, key string) time.Duration {
		t.Helper()
		v, ok := p[key].(float64)
		if !ok {
			t.Fatalf("%s has no numeric %s: %v", id, key, p[key])
		}
		return time.Duration(v) * time.Second
	}
	for _, fn := range twin.Functions() {
		t.Run(fn.Name, func(t *testing.T) {
			h, ok := byName[fn.Name]
			if !ok {
				t.Fatalf("the app deploys no %s function", fn.Name)
			}
			fnID := f.logicalID(t, h.Function.FunctionArn())
			fnProps := props(f.resources[fnID])
			_, inVPC := fnProps["VpcConfig"]
			got := twin.Function{Name: fn.Name, Timeout: seconds(fnID, fnProps, "Timeout"), VPC: inVPC}
			for id, r := range f.resources {
				p := props(r)
				if r["Type"] == "AWS::Lambda::EventInvokeConfig" && cmp.Equal(p["FunctionName"], ref(fnID)) {
					got.Retries = int(p["MaximumRetryAttempts"].(float64))
					got.MaxEventAge = seconds(id, p, "MaximumEventAgeInSeconds")
				}
			}
			if h.WakeQueue != nil {
				wakeID := f.logicalID(t, h.WakeQueue.QueueArn())
				p := props(f.resources[wakeID])
				got.Visibility = seconds(wakeID, p, "VisibilityTimeout")
				if redrive, ok := p["RedrivePolicy"].(map[string]any); ok {
					got.MaxReceives = int(redrive["maxReceiveCount"].(float64))
				}
			}
			if d := cmp.Diff(fn, got); d != "" {
				t.Errorf("the twin's %s function differs from the deployed one (-twin +deployed):\n%s", fn.Name, d)
			}
		})
	}
}

// checkTickBatches: the schedule rules that tick the scaler hand it every
// fleet once, in batches of at most event.TickBatchSize, each as
// event.TickInput makes it.
func checkTickBatches(t *testing.T, fleets []FleetConfig, rules map[string]map[string]any, scaler any) {
	t.Helper()
	var names []string
	for _, fc := range fleets {
		names = append(names, fc.Name)
	}
	want := event.TickBatches(names, event.TickBatchSize)
	var got [][]string
	for _, id := range slices.Sorted(maps.Keys(rules)) {
		p := props(rules[id])
		if _, schedule := p["ScheduleExpression"]; !schedule {
			continue
		}
		target := p["Targets"].([]any)[0].(map[string]any)
		if fmt.Sprint(target["Arn"]) != fmt.Sprint(scaler) {
			continue
		}
		tr, _ := target["InputTransformer"].(map[string]any)
		tmpl, _ := tr["InputTemplate"].(string)
		var in struct {
			Detail struct{ Fleets []string } `json:"detail"`
		}
		// The template is JSON once EventBridge fills its placeholders.
		filled := strings.NewReplacer("<id>", `"1"`, "<account>", `"1"`, "<time>", `"t"`, "<region>", `"r"`, "<resources>", `[]`).Replace(tmpl)
		if err := json.Unmarshal([]byte(filled), &in); err != nil || len(in.Detail.Fleets) == 0 {
			t.Errorf("tick rule %s: input template %q names no fleets (%v)", id, tmpl, err)
			continue
		}
		batch, err := event.TickInput(in.Detail.Fleets)
		if err != nil || batch.InputTemplate != tmpl || !maps.Equal(batch.InputPathsMap, toStrings(tr["InputPathsMap"])) {
			t.Errorf("tick rule %s: transformer %v, want event.TickInput(%v) %+v (%v)", id, tr, in.Detail.Fleets, batch, err)
		}
		got = append(got, in.Detail.Fleets)
	}
	slices.SortFunc(got, func(a, b []string) int { return strings.Compare(a[0], b[0]) })
	slices.SortFunc(want, func(a, b []string) int { return strings.Compare(a[0], b[0]) })
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("tick batches: got %v, want %v (event.TickBatches of the fleets)", got, want)
	}
}

func toStrings(v any) map[string]string {
	out := map[string]string{}
	m, _ := v.(map[string]any)
	for k, x := range m {
		out[k] = fmt.Sprint(x)
	}
	return out
}
