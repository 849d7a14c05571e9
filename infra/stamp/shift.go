package stamp

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsssm"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/stampkit/stampkit/infra/stampconfig"
	"github.com/stampkit/stampkit/shared/clock"
	"github.com/stampkit/stampkit/shared/config"
	"github.com/stampkit/stampkit/shared/event"
	"github.com/stampkit/stampkit/shared/route53dns"
)

// The shift stack's names (stampconfig's).
const (
	ShiftStackName = stampconfig.ShiftStackName
	ShiftFileName  = stampconfig.ShiftFileName
)

// ShiftTableName is the shift function's table for record
// (stampconfig.ShiftTableName).
func ShiftTableName(record string) string { return stampconfig.ShiftTableName(record) }

// ShiftProps configures the shift stack.
type ShiftProps struct {
	// StackProps are the stack's. Env defaults to the stamps' account and
	// DNSConfig.Region, StackName to ShiftStackName.
	awscdk.StackProps
	// DNS is the app's record (LoadDNS).
	DNS *DNSConfig
	// Stamps are the app's stamps, as LoadStamps returns them; the shift
	// function's assets and log retention are the first one's.
	Stamps []Config
	// StampStacks, optional, are the stamps' stacks (NewStack), which the
	// shift stack is deployed after: the command buses it listens on and
	// the parameters its function reads are theirs.
	StampStacks []Stack
}

// Shift is the shift stack: the shift function, which moves the record's
// weight between stamps step by step (shared/shifter), its table, its
// wake-up queue, and its rules.
type Shift interface {
	Stack() awscdk.Stack
	Handler() Handler
	Table() awsdynamodb.ITable
	// Config is the function's configuration, as staged in its code.
	Config() config.Shift
	// Alarms are the shift's operator alarms (a rollback stuck, weight
	// parameters not written, the function's dead letters), which notify
	// AlarmTopic.
	Alarms() []awscloudwatch.Alarm
	// AlarmTopic is the operator alarm topic of the stamp in the shift
	// stack's Region and account, or, with none there, one of the shift
	// stack's own.
	AlarmTopic() awssns.ITopic
}

type shiftStack struct {
	stack   awscdk.Stack
	handler Handler
	table   awsdynamodb.ITable
	cfg     config.Shift
	alarms  []awscloudwatch.Alarm
	topic   awssns.ITopic
}

// ShiftTickRate is how often the shift function looks at a running
// transition without being woken: a backstop for a wake-up lost to its
// dead-letter queue, which would otherwise leave a shift halfway.
const ShiftTickRate = 1 // minute

// NewShiftStack adds the shift stack to scope (an App), in DNSConfig.Region,
// or returns nil when the record has fewer than two stamps (nothing to
// shift between). Like a construct, it panics on invalid props.
func NewShiftStack(scope constructs.Construct, id string, props *ShiftProps) Shift {
	switch {
	case props == nil:
		panic("NewShiftStack: props is nil")
	case props.DNS == nil:
		panic("NewShiftStack: DNS is nil")
	case len(props.Stamps) == 0:
		panic("NewShiftStack: Stamps is empty")
	}
	if len(props.Stamps) < 2 {
		return nil
	}
	first := props.Stamps[0].WithDefaults()
	cfg := shiftConfig(props.DNS, props.Stamps)
	if err := cfg.Validate(); err != nil {
		panic(fmt.Sprintf("NewShiftStack: the shift function's configuration: %v", err))
	}
	sp := props.StackProps
	if sp.Env == nil {
		sp.Env = &awscdk.Environment{Account: jsii.String(first.Account), Region: jsii.String(props.DNS.Region)}
	}
	if sp.StackName == nil {
		sp.StackName = jsii.String(ShiftStackName)
	}
	if sp.Description == nil {
		sp.Description = jsii.String(fmt.Sprintf("stampkit: the shift Lambda, which moves %s's weight between stamps", props.DNS.RecordName))
	}
	if sp.TerminationProtection == nil {
		sp.TerminationProtection = jsii.Bool(first.Production())
	}
	stack := awscdk.NewStack(scope, &id, &sp)
	for _, st := range props.StampStacks {
		stack.AddStackDependency(st.Stack(), jsii.String("the shift function hears commands on the stamps' buses and reads their parameters"))
	}

	// The transitions and their claims only; the weights themselves are in
	// Route 53 and the stamps' weight parameters. So the table goes with
	// the stack, and its fixed name stays free for a later deploy.
	table := NewState(stack, "Transitions", &StateProps{TableName: cfg.Table, RemovalPolicy: awscdk.RemovalPolicy_DESTROY}).Table()

	assets, err := filepath.Abs(first.AssetsDir)
	if err != nil {
		panic(fmt.Sprintf("NewShiftStack: assets: %v", err))
	}
	code, err := stageShiftCode(stack, assets, cfg)
	if err != nil {
		panic(fmt.Sprintf("NewShiftStack: %v", err))
	}
	spec := FunctionOptions{}.applyTo(functionSpec{
		name:        ShiftFunctionName,
		description: "stampkit shift: moves a weighted record's traffic between stamps step by step",
		timeout:     time.Minute,
		// A command is worth acting on for an hour; a missed tick is
		// replaced by the next.
		delivery:     delivery{retryAttempts: 2, maxEventAge: awscdk.Duration_Hours(jsii.Number(1))},
		wakeQueueEnv: config.EnvShiftQueue,
	}, LogRetention(first))
	h := newFunction(stack, spec, code, map[string]*string{config.EnvNamespace: jsii.String(MetricNamespace)}, nil)
	table.Grant(h.Role, *jsii.Strings(stateActions...)...)
	grantShift(stack, h.Role, props.DNS, props.Stamps)
	addShiftRules(stack, h, props.DNS, props.Stamps)
	suppressUnscoped(h.Role)
	out := &shiftStack{stack: stack, handler: h, table: table, cfg: cfg}
	out.topic = shiftAlarmTopic(stack, first, props.StampStacks)
	// The function's dead-letter alarms too: a command that landed there
	// (an abort, say) was never acted on.
	out.alarms = newShiftAlarms(stack, cfg.Record, out.topic, h.DeadLetterAlarm, h.WakeDeadLetterAlarm)
	return out
}

// shiftAlarmTopic is where the shift's alarms notify: an alarm's SNS
// action must be a topic in the alarm's Region, so the operator topic of a
// stamp in the shift stack's Region and account, else a topic of the
// shift stack's own, mailed as the first stamp's is.
func shiftAlarmTopic(stack awscdk.Stack, first Config, stamps []Stack) awssns.ITopic {
	for _, st := range stamps {
		if *st.Stack().Region() == *stack.Region() && *st.Stack().Account() == *stack.Account() && st.Observability() != nil {
			return st.Observability().AlarmTopic()
		}
	}
	return newAlarmTopic(stack, first.Names(), first.AlarmEmail)
}

// newShiftAlarms are the alarms on what only an operator can settle in a
// shift (shared/shifter writes both metrics, by Record, in
// MetricNamespace):
//   - ShiftRollbackStuck: a rollback whose change Route 53 keeps refusing
//     or throttling still sends traffic to a failing stamp; the function
//     writes 1 each turn until its change is made, 0 on every other turn
//     of a running shift (so OK follows).
//   - ShiftWeightParameterNotWritten: a stamp's weight parameter not
//     written for three minutes running (a turn comes at least every
//     PollInterval, 30 s by default): a deploy of the stamp now sets the
//     record back to the weight before the shift's last change. One failed
//     write is retried the next turn and is not worth a mail.
//
// No shift is no data, not a breach.
func newShiftAlarms(stack awscdk.Stack, record string, topic awssns.ITopic, deadLetters ...awscloudwatch.Alarm) []awscloudwatch.Alarm {
	dims := map[string]*string{"Record": jsii.String(record)}
	metric := func(name, stat string) awscloudwatch.IMetric {
		return awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
			Namespace: jsii.String(MetricNamespace), MetricName: jsii.String(name), DimensionsMap: &dims,
			Statistic: jsii.String(stat), Period: awscdk.Duration_Minutes(jsii.Number(1)),
		})
	}
	alarms := []awscloudwatch.Alarm{
		awscloudwatch.NewAlarm(stack, jsii.String("RollbackStuckAlarm"), &awscloudwatch.AlarmProps{
			Metric: metric("ShiftRollbackStuck", "Maximum"), Threshold: jsii.Number(1), EvaluationPeriods: jsii.Number(1),
			ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
			TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
			AlarmDescription: jsii.String(fmt.Sprintf("stampkit shift of %s: a rollback's change keeps failing, so traffic still goes to the "+
				"failing stamp; the shift function's log (\"weights not changed\") says why", record)),
		}),
		awscloudwatch.NewAlarm(stack, jsii.String("WeightParameterNotWrittenAlarm"), &awscloudwatch.AlarmProps{
			Metric: metric("ShiftWeightParameterNotWritten", "Sum"), Threshold: jsii.Number(1),
			EvaluationPeriods: jsii.Number(3), DatapointsToAlarm: jsii.Number(3),
			ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
			TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
			AlarmDescription: jsii.String(fmt.Sprintf("stampkit shift of %s: a stamp's weight parameter has not been written for 3 minutes; "+
				"a deploy of that stamp would set the record back to its previous weight", record)),
		}),
	}
	for _, a := range deadLetters {
		if a != nil {
			alarms = append(alarms, a)
		}
	}
	notify := awscloudwatchactions.NewSnsAction(topic)
	for _, a := range alarms {
		a.AddAlarmAction(notify)
		a.AddOkAction(notify)
	}
	return alarms
}

// shiftConfig is the shift function's configuration for d's record and
// stamps: names the stamps set (Names) and constants only, as it is
// written at synth. A stamp's state table is named by its
// StateTableParameter, which the function reads in the stamp's Region.
func shiftConfig(d *DNSConfig, stamps []Config) config.Shift {
	cfg := config.Shift{
		Record: d.RecordName + ".", Type: "A", HostedZoneID: d.HostedZoneID,
		TTL: clock.Duration(AliasTTL), Steps: slices.Clone(d.Steps), Bake: d.Bake,
		Table: ShiftTableName(d.RecordName),
	}
	for _, c := range stamps {
		names := c.Names()
		i := slices.IndexFunc(c.Fleets, func(f FleetConfig) bool { return f.Name == d.Fleet })
		if i < 0 {
			panic(fmt.Sprintf("NewShiftStack: stamp %s runs no fleet %q (ParseDNS)", c.Name, d.Fleet))
		}
		cfg.Stamps = append(cfg.Stamps, config.ShiftStamp{
			Name: c.Name, Region: c.Region, Fleet: d.Fleet, Group: names.Group(d.Fleet),
			WeightParameter: names.DNSWeightParameter(),
			HealthAlarms:    stampconfig.HealthAlarmNames(names, c.Fleets[i]),
			StateTable:      names.StateTableParameter(),
		})
	}
	return cfg
}

// stageShiftCode stages the shift function's bootstrap with its
// configuration beside it as ShiftFileName.
func stageShiftCode(stack awscdk.Stack, assetsDir string, cfg config.Shift) (functionCode, error) {
	raw, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return functionCode{}, fmt.Errorf("encoding the shift function's configuration: %w", err)
	}
	dir, err := stageBootstrap(stack, assetsDir, ShiftFunctionName)
	if err != nil {
		return functionCode{}, err
	}
	if err := os.WriteFile(filepath.Join(dir, ShiftFileName), raw, 0o644); err != nil {
		return functionCode{}, fmt.Errorf("staging the shift function's configuration: %w", err)
	}
	return functionCode{dir: dir, env: map[string]*string{config.EnvShiftFile: strPtr(ShiftFileName)}}, nil
}

// route53Arn is the ARN of a Route 53 resource: Route 53 is global, its
// ARNs name neither Region nor account.
func route53Arn(stack awscdk.Stack, resource string) *string {
	return stack.FormatArn(&awscdk.ArnComponents{
		Service: jsii.String("route53"), Region: jsii.String(""), Account: jsii.String(""), Resource: jsii.String(resource),
	})
}

// inRegion is stack's ARN of components in region.
func inRegion(stack awscdk.Stack, region string, c awscdk.ArnComponents) *string {
	c.Region = jsii.String(region)
	return stack.FormatArn(&c)
}

// grantShift: the calls of route53dns (the record's weighted records, their
// change, the change's status, the health checks' status) and, per stamp
// in its Region, of ssmparam (the weight parameter; the state table's
// name), cwalarm (the fleet's health alarms), asg (the fleet's group) and
// dynamo (the stamp's state table, for the floor). The sqsqueue wake-ups
// and the function's own table are granted with them.
func grantShift(stack awscdk.Stack, role awsiam.Role, d *DNSConfig, stamps []Config) {
	zone := route53Arn(stack, "hostedzone/"+d.HostedZoneID)
	// Only DELETEs and CREATEs of the record's A records: route53dns
	// changes a weight by deleting the record as read and creating it
	// with the new weight in one batch (a DELETE fails the batch unless
	// the record is exactly as read, so a change made meanwhile is not
	// overwritten), never by UPSERT. The route53:ChangeResourceRecordSets*
	// keys hold every name, type and action of the request's changes
	// ("Using IAM policy conditions for fine-grained access control",
	// https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/specifying-rrset-conditions.html),
	// so ForAllValues refuses a batch with any other. The names in their
	// normalized form: lower case, no trailing dot, and escapes for
	// characters ParseDNS refuses anyway.
	role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings("route53:ChangeResourceRecordSets"),
		Resources: &[]*string{zone},
		Conditions: &map[string]any{"ForAllValues:StringEquals": map[string]any{
			"route53:ChangeResourceRecordSetsNormalizedRecordNames": []string{d.RecordName},
			"route53:ChangeResourceRecordSetsRecordTypes":           []string{"A"},
			"route53:ChangeResourceRecordSetsActions":               route53dns.ChangeActions(),
		}},
	}))
	allow(role, []string{"route53:ListResourceRecordSets"}, zone)
	allow(role, []string{"route53:GetChange"}, route53Arn(stack, "change/*"))
	allow(role, []string{"route53:GetHealthCheckStatus"}, route53Arn(stack, "healthcheck/*"))
	allowUnscoped(role, "autoscaling:DescribeAutoScalingGroups")
	for _, c := range stamps {
		names := c.Names()
		ssm := func(name string) *string {
			return inRegion(stack, c.Region, awscdk.ArnComponents{
				Service: jsii.String("ssm"), Resource: jsii.String("parameter"), ResourceName: jsii.String(name[1:]),
			})
		}
		allow(role, []string{"ssm:PutParameter"}, ssm(names.DNSWeightParameter()))
		allow(role, []string{"ssm:GetParameter"}, ssm(names.StateTableParameter()))
		var alarms []*string
		for _, f := range c.Fleets {
			if f.Name != d.Fleet {
				continue
			}
			for _, a := range stampconfig.HealthAlarmNames(names, f) {
				alarms = append(alarms, inRegion(stack, c.Region, awscdk.ArnComponents{
					Service: jsii.String("cloudwatch"), Resource: jsii.String("alarm"), ResourceName: jsii.String(a),
					ArnFormat: awscdk.ArnFormat_COLON_RESOURCE_NAME,
				}))
			}
		}
		allow(role, []string{"cloudwatch:DescribeAlarms"}, alarms...)
		allow(role, []string{"autoscaling:SetDesiredCapacity"}, inRegion(stack, c.Region, awscdk.ArnComponents{
			Service: jsii.String("autoscaling"), Resource: jsii.String("autoScalingGroup"),
			ResourceName: jsii.String("*:autoScalingGroupName/" + names.Group(d.Fleet)), ArnFormat: awscdk.ArnFormat_COLON_RESOURCE_NAME,
		}))
		// The state table's name is CloudFormation's: the table by the
		// stamp's tag, which DynamoDB's item calls honour ("Using ABAC with
		// DynamoDB", https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/abac-example-use-cases.html).
		role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Actions: jsii.Strings(stateActions...),
			Resources: jsii.Strings(*inRegion(stack, c.Region, awscdk.ArnComponents{
				Service: jsii.String("dynamodb"), Resource: jsii.String("table"), ResourceName: jsii.String("*"),
			})),
			Conditions: tagged(names),
		}))
	}
	nag := func(regex, reason string) *cdknag.NagPackSuppression {
		return &cdknag.NagPackSuppression{
			Id: jsii.String("AwsSolutions-IAM5"), Reason: jsii.String(reason),
			AppliesTo: &[]any{&cdknag.RegexAppliesTo{Regex: jsii.String(regex)}},
		}
	}
	cdknag.NagSuppressions_AddResourceSuppressions(role, &[]*cdknag.NagPackSuppression{
		nag(`/^Resource::arn:[^:]+:route53:::change\/\*$/`,
			"a change's ID is Route 53's answer to the function's own ChangeResourceRecordSets; GetChange reads only its status"),
		nag(`/^Resource::arn:[^:]+:route53:::healthcheck\/\*$/`,
			"the stamps' health checks are created by their stacks, in other Regions, with IDs Route 53 gives; "+
				"GetHealthCheckStatus reads only their status, by the IDs the record's weighted records carry"),
		nag(`/^Resource::arn:[^:]+:autoscaling:[^:]+:[0-9]+:autoScalingGroup:\*:autoScalingGroupName\/stampkit-[a-z0-9]+-[a-z0-9]+$/`,
			"the fleet's group by its name; the * is the UUID Auto Scaling assigns at creation"),
		nag(`/^Resource::arn:[^:]+:dynamodb:[^:]+:[0-9]+:table\/\*$/`,
			"the stamps' state tables are named by CloudFormation; the statement is limited by condition to the table "+
				"tagged "+StampTagKey+" with each stamp's name"),
	}, jsii.Bool(true))
}

// addShiftRules: operators' shift commands for the record on the command
// bus of each stamp in the shift stack's Region (a rule's Lambda target
// is in its Region), and the backstop tick.
func addShiftRules(stack awscdk.Stack, h Handler, d *DNSConfig, stamps []Config) {
	target := func(maxAge awscdk.Duration) *[]awsevents.IRuleTarget {
		return &[]awsevents.IRuleTarget{awseventstargets.NewLambdaFunction(h.Function, &awseventstargets.LambdaFunctionProps{
			DeadLetterQueue: h.DeadLetterQueue, RetryAttempts: jsii.Number(8), MaxEventAge: maxAge,
		})}
	}
	for _, c := range stamps {
		if c.Region != *stack.Region() {
			continue
		}
		names := c.Names()
		bus := awsevents.EventBus_FromEventBusName(stack, jsii.String("Bus-"+c.Name), jsii.String(names.CommandBus()))
		rule := awsevents.NewRule(stack, jsii.String("CommandRule-"+c.Name), &awsevents.RuleProps{
			Description: jsii.String(fmt.Sprintf("Operator shift commands for %s on stamp %s's command bus", d.RecordName, c.Name)),
			EventBus:    bus,
			EventPattern: &awsevents.EventPattern{
				Source:     jsii.Strings(event.SourceStampkit),
				DetailType: jsii.Strings(event.DetailTypeShiftCommand),
				// DNS names are case-insensitive, and the CLI may write the
				// trailing dot.
				Detail: &map[string]any{"record": []any{
					map[string]any{"equals-ignore-case": d.RecordName},
					map[string]any{"equals-ignore-case": d.RecordName + "."},
				}},
			},
			Targets: target(awscdk.Duration_Hours(jsii.Number(1))),
		})
		// As the rollout's command rules: a replayed command is refused
		// (NewHandlers' noReplays).
		rule.Node().DefaultChild().(awsevents.CfnRule).AddPropertyOverride(jsii.String("EventPattern.replay-name"),
			[]any{map[string]any{"exists": false}})
	}
	awsevents.NewRule(stack, jsii.String("TickRule"), &awsevents.RuleProps{
		Description: jsii.String("The shift function's backstop tick: a running transition goes on if a wake-up was lost"),
		Schedule:    awsevents.Schedule_Rate(awscdk.Duration_Minutes(jsii.Number(ShiftTickRate))),
		Targets:     target(awscdk.Duration_Minutes(jsii.Number(1))),
	})
}

// publishStateTable writes the stamp's state table's name to its
// StateTableParameter, for the shift function.
func publishStateTable(stack awscdk.Stack, names Names, table awsdynamodb.ITable) {
	awsssm.NewStringParameter(stack, jsii.String("StateTableParameter"), &awsssm.StringParameterProps{
		ParameterName: jsii.String(names.StateTableParameter()),
		StringValue:   table.TableName(),
		Description:   jsii.String("stampkit: the stamp's state table, where the shift Lambda raises a fleet's floor"),
	})
}

func (s *shiftStack) Stack() awscdk.Stack       { return s.stack }
func (s *shiftStack) Handler() Handler          { return s.handler }
func (s *shiftStack) Table() awsdynamodb.ITable { return s.table }
func (s *shiftStack) Config() config.Shift      { return s.cfg }
func (s *shiftStack) Alarms() []awscloudwatch.Alarm {
	return slices.Clone(s.alarms)
}
func (s *shiftStack) AlarmTopic() awssns.ITopic { return s.topic }
