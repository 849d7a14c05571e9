package stamp

import (
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"

	"github.com/stampkit/stampkit/shared/event"
)

// TestCommandBusPolicy: named principals may put events on the bus and
// everyone else is denied, the same account's principals included; with
// none named the bus admits its own account only. One small stack per
// case: no app synth.
func TestCommandBusPolicy(t *testing.T) {
	const busArn = "arn:aws:events:eu-west-1:222222222222:event-bus/stampkit-commands"
	operator := "arn:aws:iam::222222222222:role/ops/stampkit-operator"
	bot := "arn:aws:iam::333333333333:user/release-bot"
	tests := []struct {
		name       string
		principals []string
		want       []any
	}{
		{"none named: the account", nil, []any{map[string]any{
			"Sid": "AccountMayPutEvents", "Effect": "Allow", "Action": "events:PutEvents", "Resource": busArn,
			"Principal": map[string]any{"AWS": "arn:aws:iam::222222222222:root"},
		}}},
		{"named: them and no one else", []string{operator, bot}, []any{
			map[string]any{
				"Sid": "NamedPrincipalsMayPutEvents", "Effect": "Allow", "Action": "events:PutEvents", "Resource": busArn,
				"Principal": map[string]any{"AWS": []any{operator, bot}},
			},
			map[string]any{
				"Sid": "OthersMayNot", "Effect": "Deny", "Action": "events:PutEvents", "Resource": busArn,
				"Principal": map[string]any{"AWS": "*"},
				"Condition": map[string]any{"ArnNotEquals": map[string]any{"aws:PrincipalArn": []any{operator, bot}}},
			},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			app := awscdk.NewApp(&awscdk.AppProps{Context: &map[string]any{"@aws-cdk/core:enablePartitionLiterals": true}})
			stack := awscdk.NewStack(app, jsii.String("T"), &awscdk.StackProps{
				Env: &awscdk.Environment{Account: jsii.String("222222222222"), Region: jsii.String("eu-west-1")},
			})
			NewCommandBus(stack, "Commands", &CommandBusProps{Name: event.CommandBus, Principals: tc.principals})
			var tpl assertions.Template
			check(t, "synthesizing", func() { tpl = assertions.Template_FromStack(stack, nil) })
			check(t, "bus and policy", func() {
				tpl.HasResourceProperties(jsii.String("AWS::Events::EventBus"), map[string]any{
					"Name": event.CommandBus,
					"Policy": assertions.Match_ObjectEquals(&map[string]any{
						"Version": "2012-10-17", "Statement": tc.want,
					}),
				})
			})
			check(t, "the policy is the bus's own, no statement resources", func() {
				tpl.ResourceCountIs(jsii.String("AWS::Events::EventBusPolicy"), num(0))
			})
		})
	}
}

// TestCommandBus: in the app, the bus takes the configured principals and
// the stack says where it is; stampkit events on the default bus go to a
// kept, encrypted queue whose first message alarms the operators, and to
// no function.
func TestCommandBus(t *testing.T) {
	f := synth(t)
	cb := f.stack.Commands()
	busID := f.logicalID(t, cb.Bus().EventBusName())
	f.matches(t, "command bus", busID, map[string]any{
		"Name": event.CommandBus,
		"Policy": map[string]any{"Statement": assertions.Match_ArrayWith(&[]any{
			assertions.Match_ObjectLike(&map[string]any{
				"Effect":    "Deny",
				"Condition": map[string]any{"ArnNotEquals": map[string]any{"aws:PrincipalArn": testCommandPrincipals}},
			}),
		})},
	})
	check(t, "outputs name the bus", func() {
		f.template.HasOutput(jsii.String(OutputCommandBusName), map[string]any{"Value": ref(busID)})
		f.template.HasOutput(jsii.String(OutputCommandBusArn), map[string]any{"Value": getAtt(busID, "Arn")})
	})

	queueID := f.logicalID(t, cb.Ignored().QueueArn())
	f.matches(t, "ignored queue", queueID, map[string]any{"SqsManagedSseEnabled": true, "MessageRetentionPeriod": 14 * 24 * 3600})
	check(t, "ignored queue denies plain HTTP", func() {
		f.template.HasResourceProperties(jsii.String("AWS::SQS::QueuePolicy"), map[string]any{
			"Queues": []any{ref(queueID)},
			"PolicyDocument": map[string]any{"Statement": assertions.Match_ArrayWith(&[]any{
				assertions.Match_ObjectLike(&map[string]any{
					"Effect":    "Deny",
					"Condition": map[string]any{"Bool": map[string]any{"aws:SecureTransport": "false"}},
				}),
			})},
		})
	})

	// The one rule on the default bus that matches stampkit's source.
	var catchID string
	for id, r := range f.ofType("AWS::Events::Rule") {
		p := props(r)
		pattern, _ := p["EventPattern"].(map[string]any)
		if !strings.Contains(fmt.Sprint(pattern["source"]), "stampkit") || p["EventBusName"] != nil {
			continue
		}
		if catchID != "" {
			t.Errorf("rules %s and %s both match stampkit's source on the default bus", catchID, id)
		}
		catchID = id
	}
	if catchID == "" {
		t.Fatal("no rule on the default bus matches stampkit's source")
	}
	f.matches(t, "default-bus rule", catchID, map[string]any{
		"EventPattern": assertions.Match_ObjectEquals(&map[string]any{"source": []any{"stampkit"}}),
		"Targets":      []any{assertions.Match_ObjectLike(&map[string]any{"Arn": getAtt(queueID, "Arn")})},
	})
	check(t, "EventBridge may send the rule's events to the queue", func() {
		f.template.HasResourceProperties(jsii.String("AWS::SQS::QueuePolicy"), map[string]any{
			"Queues": []any{ref(queueID)},
			"PolicyDocument": map[string]any{"Statement": assertions.Match_ArrayWith(&[]any{
				assertions.Match_ObjectLike(&map[string]any{
					"Effect":    "Allow",
					"Principal": map[string]any{"Service": "events.amazonaws.com"},
					"Action":    assertions.Match_ArrayWith(&[]any{"sqs:SendMessage"}),
					"Condition": map[string]any{"ArnEquals": map[string]any{"aws:SourceArn": getAtt(catchID, "Arn")}},
				}),
			})},
		})
	})

	alarmID := f.logicalID(t, cb.IgnoredAlarm().AlarmArn())
	topic := ref(f.logicalID(t, f.stack.Observability().AlarmTopic().TopicArn()))
	f.matches(t, "ignored alarm", alarmID, map[string]any{
		"Namespace":          "AWS/SQS",
		"MetricName":         "ApproximateNumberOfMessagesVisible",
		"Dimensions":         []any{map[string]any{"Name": "QueueName", "Value": getAtt(queueID, "QueueName")}},
		"Threshold":          0,
		"ComparisonOperator": "GreaterThanThreshold",
		"AlarmActions":       []any{topic},
		"OKActions":          []any{topic},
	})
}

// TestParseConfigCommandPrincipals: the list names roles and users as the
// bus policy sees them; what it would misread is refused in words that
// say what to write instead.
func TestParseConfigCommandPrincipals(t *testing.T) {
	tests := []struct {
		name       string
		principals any
		// wantErr is "" for a valid list, else a part of the message.
		wantKey, wantErr string
	}{
		{name: "left out"},
		{name: "empty", principals: []any{}},
		{name: "a role", principals: []any{"arn:aws:iam::123456789012:role/stampkit-operator"}},
		{name: "a role with a path and a user", principals: []any{
			"arn:aws:iam::123456789012:role/ops/eu/stampkit-operator", "arn:aws:iam::123456789012:user/release-bot"}},
		{name: "another partition and account", principals: []any{"arn:aws-us-gov:iam::210987654321:role/operator"}},
		{name: "from the command line", principals: `["arn:aws:iam::123456789012:role/operator"]`},
		{name: "a role session", principals: []any{"arn:aws:sts::123456789012:assumed-role/operator/alice"},
			wantKey: "commandPrincipals[0]", wantErr: "want the role's ARN (arn:aws:iam::ACCOUNT:role/operator)"},
		{name: "an account root", principals: []any{"arn:aws:iam::123456789012:role/ok", "arn:aws:iam::123456789012:root"},
			wantKey: "commandPrincipals[1]", wantErr: "an account's root ARN admits its root user only"},
		{name: "a wildcard", principals: []any{"arn:aws:iam::123456789012:role/ops-*"},
			wantKey: "commandPrincipals[0]", wantErr: "wildcards are not accepted"},
		{name: "an account id", principals: []any{"123456789012"},
			wantKey: "commandPrincipals[0]", wantErr: "want an IAM role or user ARN"},
		{name: "a group", principals: []any{"arn:aws:iam::123456789012:group/ops"},
			wantKey: "commandPrincipals[0]", wantErr: "want an IAM role or user ARN"},
		{name: "not a list", principals: "arn:aws:iam::123456789012:role/operator",
			wantKey: "commandPrincipals", wantErr: "want a list"},
		{name: "more than the policy holds", principals: manyRoles(60),
			wantKey: "commandPrincipals", wantErr: "over EventBridge's 10240"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := validContext(t)
			if tc.principals != nil {
				ctx[CtxCommandPrincipals] = tc.principals
			}
			_, err := ParseConfig(getter(ctx))
			if tc.wantErr == "" {
				if err != nil {
					t.Errorf("got %v, want no error", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("context %q", tc.wantKey)) || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("got %v, want an error naming %s and saying %q", err, tc.wantKey, tc.wantErr)
			}
		})
	}
}

func manyRoles(n int) []any {
	var arns []any
	for i := range n {
		arns = append(arns, fmt.Sprintf("arn:aws:iam::123456789012:role/stampkit/operators/operator-with-a-long-name-%02d", i))
	}
	return arns
}

func TestNewCommandBusRejectsBadProps(t *testing.T) {
	tests := []struct {
		name  string
		props *CommandBusProps
		want  string
	}{
		{"no props", nil, "props"},
		{"no name", &CommandBusProps{}, "Name"},
		{"the default bus", &CommandBusProps{Name: "default"}, "Name"},
		{"a session", &CommandBusProps{Name: event.CommandBus, Principals: []string{"arn:aws:sts::123456789012:assumed-role/r/s"}}, "Principals[0]"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			stack := awscdk.NewStack(awscdk.NewApp(nil), jsii.String("T"), nil)
			err := try(func() { NewCommandBus(stack, "C", tc.props) })
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want a panic naming %s", err, tc.want)
			}
		})
	}
}
