package stamp

import (
	"fmt"
	"maps"
	"slices"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssnssubscriptions"
	"github.com/aws/aws-cdk-go/awscdk/v2/interfaces/interfacesawscloudwatch"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// The toolkit's own metrics (EMF, dimension Fleet) the dashboards show, by
// the handler that writes them (shared/scaler, hooks, stamper).
var (
	ScalerMetrics    = []string{"Decisions", "CapacityDelta", "Duplicates", "StateNotSaved", "ForecastFloor", "ForecastUnavailable", "TickFailed", "TickTimedOut"}
	LifecycleMetrics = []string{"TimeToReady", "TimeToDrain", "Abandoned", "DrainUnverified"}
	RolloutMetrics   = []string{"TrafficShifted", "RolloutsStarted", "RolloutsSucceeded", "RolloutsRolledBack", "RolloutsFailed", "RolloutsBlind", "WeightsRestored", "WeightParametersNotWritten", "RolloutActionsRejected", "Busy", "WaveWaits", "WaveHalts", "WaveReadErrors", "WaveWriteErrors"}
)

// ObservabilityProps configures the dashboards and the operator alarms'
// notifications.
type ObservabilityProps struct {
	// Names are the stamp's: the dashboards are named Names.Dashboard.
	Names    Names
	Fleets   []ManagedFleet
	Handlers Handlers
	// Namespace is where the Lambdas write their metrics
	// (STAMPKIT_METRIC_NAMESPACE).
	Namespace string
	// AlarmEmail, when set, is subscribed to the alarm topic (AWS mails it
	// a confirmation link first).
	AlarmEmail string
	// CommandBus's alarm on stampkit events put on the default bus is an
	// operator alarm.
	CommandBus CommandBus
	// FleetScope, optional, is where a fleet's dashboard and alarms go:
	// NewStack puts them in the fleet's stack. Left out, under the
	// Observability construct.
	FleetScope func(fleet string) constructs.Construct
}

// Observability holds one CloudWatch dashboard per fleet and the topic
// that tells operators about the toolkit's alarms.
type Observability interface {
	// Dashboard returns the fleet's dashboard, or nil.
	Dashboard(fleet string) awscloudwatch.Dashboard
	// AlarmTopic receives every operator alarm's ALARM and OK
	// notifications.
	AlarmTopic() awssns.Topic
	// OperatorAlarms are the alarms that notify AlarmTopic: the handlers'
	// dead-letter alarms, the alarm on stampkit events put on the default
	// bus, and the fleets' health alarms. The scaling alarms
	// are not among them: their state changes reach the scaler through
	// EventBridge and say nothing an operator must act on.
	OperatorAlarms() []awscloudwatch.Alarm
}

type observability struct {
	dashboards map[string]awscloudwatch.Dashboard
	topic      awssns.Topic
	alarms     []awscloudwatch.Alarm
}

// NewObservability creates the operator alarm topic and points the
// operator alarms at it, and creates, per fleet, a dashboard of capacity
// (the groups' desired and in-service instances), demand (load balancer
// requests), the scaling and health alarms, the scaler's decisions, the
// lifecycle gate and drain times, rollout progress, and the toolkit's
// dead-letter alarms. Each dashboard is named Names.Dashboard; the topic
// gets no physical name.
func NewObservability(scope constructs.Construct, id string, props *ObservabilityProps) Observability {
	switch {
	case props == nil:
		panic("NewObservability: props is nil")
	case len(props.Fleets) == 0:
		panic("NewObservability: Fleets is empty")
	case props.Handlers == nil:
		panic("NewObservability: Handlers is nil")
	case props.Namespace == "":
		panic("NewObservability: Namespace is empty")
	case props.CommandBus == nil:
		panic("NewObservability: CommandBus is nil")
	}
	c := constructs.NewConstruct(scope, &id)
	var toolkit []interfacesawscloudwatch.IAlarmRef
	for _, h := range []Handler{props.Handlers.Scaler(), props.Handlers.Lifecycle(), props.Handlers.Rollout()} {
		toolkit = append(toolkit, h.DeadLetterAlarm)
		if h.WakeDeadLetterAlarm != nil {
			toolkit = append(toolkit, h.WakeDeadLetterAlarm)
		}
	}
	o := &observability{dashboards: map[string]awscloudwatch.Dashboard{}}
	fleetScope := func(fleet string) constructs.Construct {
		if props.FleetScope == nil {
			return c
		}
		return constructs.NewConstruct(props.FleetScope(fleet), jsii.String(id))
	}
	scopes := map[string]constructs.Construct{}
	for _, mf := range props.Fleets {
		scopes[mf.Fleet.Name()] = fleetScope(mf.Fleet.Name())
		o.dashboards[mf.Fleet.Name()] = newDashboard(scopes[mf.Fleet.Name()], props.Names.Dashboard(mf.Fleet.Name()), mf, props.Namespace, toolkit)
	}
	o.topic = newAlarmTopic(c, props.Names, props.AlarmEmail)
	for _, h := range []Handler{props.Handlers.Scaler(), props.Handlers.Lifecycle(), props.Handlers.Rollout()} {
		o.alarms = append(o.alarms, h.DeadLetterAlarm)
		if h.WakeDeadLetterAlarm != nil {
			o.alarms = append(o.alarms, h.WakeDeadLetterAlarm)
		}
	}
	o.alarms = append(o.alarms, props.CommandBus.IgnoredAlarm())
	for _, mf := range props.Fleets {
		o.alarms = append(o.alarms, mf.Fleet.HealthAlarms()...)
		if mf.Config.Rollout.Enabled() {
			o.alarms = append(o.alarms, newRolloutAlarm(scopes[mf.Fleet.Name()], mf.Fleet.Name(), props.Namespace))
		}
		if mf.Config.Rollout.Enabled() && mf.Config.Rollout.Wave != nil {
			o.alarms = append(o.alarms, newWaveAlarm(scopes[mf.Fleet.Name()], mf.Fleet.Name(), props.Namespace))
		}
		if mf.Config.Scaling.Forecast != nil {
			o.alarms = append(o.alarms, newForecastAlarm(scopes[mf.Fleet.Name()], mf.Fleet.Name(), props.Namespace))
		}
	}
	notify := awscloudwatchactions.NewSnsAction(o.topic)
	for _, a := range o.alarms {
		// OK too: a dead-letter queue drained or a fleet healthy again
		// closes what the ALARM mail opened.
		a.AddAlarmAction(notify)
		a.AddOkAction(notify)
	}
	return o
}

// newAlarmTopic creates the operator alarm topic, encrypted with its own
// key: the AWS managed SNS key's policy cannot let CloudWatch use it, and
// without kms:GenerateDataKey and kms:Decrypt on the key CloudWatch drops
// every notification to an encrypted topic.
func newAlarmTopic(scope constructs.Construct, names Names, email string) awssns.Topic {
	stack := awscdk.Stack_Of(scope)
	// CloudWatch acts for this account's alarms only (confused deputy).
	fromAlarms := &map[string]any{
		"StringEquals": map[string]any{"aws:SourceAccount": stack.Account()},
		"ArnLike": map[string]any{"aws:SourceArn": stack.FormatArn(&awscdk.ArnComponents{
			Service: jsii.String("cloudwatch"), Resource: jsii.String("alarm"), ResourceName: jsii.String("*"),
			ArnFormat: awscdk.ArnFormat_COLON_RESOURCE_NAME,
		})},
	}
	cloudwatch := awsiam.NewServicePrincipal(jsii.String("cloudwatch.amazonaws.com"), nil)
	key := awskms.NewKey(scope, jsii.String("AlarmTopicKey"), &awskms.KeyProps{
		Description:       jsii.String("stampkit operator alarm topic"),
		EnableKeyRotation: jsii.Bool(true),
		// It protects notifications in flight only: nothing to keep.
		RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
		PendingWindow: awscdk.Duration_Days(jsii.Number(7)),
	})
	key.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Principals: &[]awsiam.IPrincipal{cloudwatch},
		Actions:    jsii.Strings("kms:GenerateDataKey", "kms:Decrypt"),
		Resources:  jsii.Strings("*"),
		Conditions: fromAlarms,
	}), nil)
	topic := awssns.NewTopic(scope, jsii.String("AlarmTopic"), &awssns.TopicProps{
		// The sender's name of every mail: which stamp is calling.
		DisplayName: jsii.String("stampkit " + names.Stamp() + " alarms"),
		MasterKey:   key,
		EnforceSSL:  jsii.Bool(true),
	})
	// The topic policy the SSL statement creates replaces SNS's default one,
	// which is what let CloudWatch publish: say so explicitly.
	topic.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Principals: &[]awsiam.IPrincipal{cloudwatch},
		Actions:    jsii.Strings("sns:Publish"),
		Resources:  jsii.Strings(*topic.TopicArn()),
		Conditions: fromAlarms,
	}))
	if email != "" {
		topic.AddSubscription(awssnssubscriptions.NewEmailSubscription(jsii.String(email), nil))
	}
	return topic
}

func newDashboard(scope constructs.Construct, name string, mf ManagedFleet, namespace string, toolkit []interfacesawscloudwatch.IAlarmRef) awscloudwatch.Dashboard {
	f := mf.Fleet
	minute := awscdk.Duration_Minutes(jsii.Number(1))
	metric := func(ns, name, stat, label string, dims map[string]*string) awscloudwatch.IMetric {
		return awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
			Namespace: jsii.String(ns), MetricName: jsii.String(name), DimensionsMap: &dims,
			Statistic: jsii.String(stat), Period: minute, Label: jsii.String(label),
		})
	}
	fleetDims := map[string]*string{"Fleet": jsii.String(f.Name())}
	own := func(name, stat string) awscloudwatch.IMetric {
		return metric(namespace, name, stat, name, maps.Clone(fleetDims))
	}
	graph := func(title string, left, right []awscloudwatch.IMetric) awscloudwatch.IWidget {
		p := &awscloudwatch.GraphWidgetProps{Title: jsii.String(title), Left: &left, Width: jsii.Number(12), Height: jsii.Number(6)}
		if len(right) > 0 {
			p.Right = &right
		}
		return awscloudwatch.NewGraphWidget(p)
	}

	var capacity []awscloudwatch.IMetric
	for i, g := range f.Groups() {
		side := "group"
		if i > 0 {
			side = "peer group"
		}
		dims := map[string]*string{"AutoScalingGroupName": g.AutoScalingGroupName()}
		capacity = append(capacity,
			metric("AWS/AutoScaling", "GroupDesiredCapacity", "Maximum", side+" desired", maps.Clone(dims)),
			metric("AWS/AutoScaling", "GroupInServiceInstances", "Maximum", side+" in service", maps.Clone(dims)))
	}
	// The floor the scaler's forecast held the fleet at (none without a
	// forecast in its policy).
	capacity = append(capacity, own("ForecastFloor", "Maximum"))
	demand := []awscloudwatch.IMetric{f.LoadBalancer().Metrics().RequestCount(&awscloudwatch.MetricOptions{
		Period: minute, Statistic: jsii.String("Sum"), Label: jsii.String("requests per minute"),
	})}
	perTarget := []awscloudwatch.IMetric{f.BlueTargetGroup().Metrics().RequestCountPerTarget(&awscloudwatch.MetricOptions{
		Period: minute, Statistic: jsii.String("Sum"), Label: jsii.String("requests per target (blue)"),
	})}

	var alarms []interfacesawscloudwatch.IAlarmRef
	var alarmGraphs []awscloudwatch.IWidget
	for _, a := range mf.Scaling.Alarms() {
		alarms = append(alarms, a.Alarm)
		alarmGraphs = append(alarmGraphs, awscloudwatch.NewAlarmWidget(&awscloudwatch.AlarmWidgetProps{
			Title: jsii.String(fmt.Sprintf("scale-%s: %s", a.Direction, a.ID)), Alarm: a.Alarm,
			Width: jsii.Number(8), Height: jsii.Number(6),
		}))
	}
	for _, a := range f.HealthAlarms() {
		alarms = append(alarms, a)
	}

	var rolloutCounts []awscloudwatch.IMetric
	for _, name := range RolloutMetrics[1:] {
		rolloutCounts = append(rolloutCounts, own(name, "Sum"))
	}
	rows := [][]awscloudwatch.IWidget{
		{
			awscloudwatch.NewAlarmStatusWidget(&awscloudwatch.AlarmStatusWidgetProps{
				Title: jsii.String(fmt.Sprintf("stampkit %s: scaling and health alarms", f.Name())), Alarms: &alarms,
				Width: jsii.Number(16), Height: jsii.Number(3),
			}),
			awscloudwatch.NewAlarmStatusWidget(&awscloudwatch.AlarmStatusWidgetProps{
				Title: jsii.String("toolkit dead-letter queues"), Alarms: &toolkit,
				Width: jsii.Number(8), Height: jsii.Number(3),
			}),
		},
		{graph("Capacity (instances)", capacity, nil), graph("Demand", demand, perTarget)},
		alarmGraphs,
		{
			// A tick that failed or ran out of time for this fleet: its batch's
			// other fleets went on (shared/scaler).
			graph("Scaler decisions", []awscloudwatch.IMetric{own("Decisions", "Sum"), own("Duplicates", "Sum"), own("StateNotSaved", "Sum"),
				own("ForecastUnavailable", "Sum"), own("TickFailed", "Sum"), own("TickTimedOut", "Sum")},
				[]awscloudwatch.IMetric{own("CapacityDelta", "Sum")}),
			graph("Lifecycle: seconds to ready and to drain",
				[]awscloudwatch.IMetric{own("TimeToReady", "Average"), own("TimeToReady", "Maximum"), own("TimeToDrain", "Average")},
				[]awscloudwatch.IMetric{own("Abandoned", "Sum"), own("DrainUnverified", "Sum")}),
		},
		{graph("Rollout: traffic on the new side (%) and outcomes", []awscloudwatch.IMetric{own("TrafficShifted", "Maximum")}, rolloutCounts)},
	}
	var widgets []*[]awscloudwatch.IWidget
	for _, r := range rows {
		if len(r) > 0 {
			widgets = append(widgets, &r)
		}
	}
	return awscloudwatch.NewDashboard(scope, jsii.String("Dashboard-"+f.Name()), &awscloudwatch.DashboardProps{
		DashboardName:   jsii.String(name),
		DefaultInterval: awscdk.Duration_Hours(jsii.Number(3)),
		Widgets:         &widgets,
	})
}

func (o *observability) Dashboard(fleet string) awscloudwatch.Dashboard { return o.dashboards[fleet] }
func (o *observability) AlarmTopic() awssns.Topic                       { return o.topic }
func (o *observability) OperatorAlarms() []awscloudwatch.Alarm          { return slices.Clone(o.alarms) }

// newForecastAlarm tells an operator that a fleet's forecast floor has
// stopped: its load history could not be read (a wrong dimension, a
// missing permission, CloudWatch throttling) on most ticks of 15 minutes.
// The fleet still scales on its alarms, so nothing breaks at once, but it
// has lost its lead on the daily cycle without a word. The metric is
// written only on a failed read; none is no data, not a breach.
func newForecastAlarm(scope constructs.Construct, fleet, namespace string) awscloudwatch.Alarm {
	dims := map[string]*string{"Fleet": jsii.String(fleet)}
	return awscloudwatch.NewAlarm(scope, jsii.String(fleet+"ForecastUnavailable"), &awscloudwatch.AlarmProps{
		Metric: awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
			Namespace: jsii.String(namespace), MetricName: jsii.String("ForecastUnavailable"), DimensionsMap: &dims,
			Statistic: jsii.String("Sum"), Period: awscdk.Duration_Minutes(jsii.Number(5)),
		}),
		Threshold: jsii.Number(3), EvaluationPeriods: jsii.Number(3), DatapointsToAlarm: jsii.Number(3),
		ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
		TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
		AlarmDescription: jsii.String(fmt.Sprintf("stampkit fleet %s: the scaler could not read the load history on most ticks for 15 minutes, "+
			"so the forecast floor is off and only the alarms scale; its log line \"forecast skipped\" says why", fleet)),
	})
}

// newWaveAlarm tells an operator that the wave stopped an image at this
// stamp (WaveHalts: the stamp before rolled it back, rejected it or did not
// finish it in time) or that this stamp's wave record could not be
// written (WaveWriteErrors: the stamps after it wait until it is).
func newWaveAlarm(scope constructs.Construct, fleet, namespace string) awscloudwatch.Alarm {
	return newCountAlarm(scope, fleet+"WaveNeedsOperator", fleet, namespace, 5, [2]string{"WaveHalts", "WaveWriteErrors"},
		"images halted by the wave, or wave records not written",
		fmt.Sprintf("stampkit fleet %s: the wave halted an image here, or this stamp's wave record could not be written; "+
			"the rollout record's halted (or waveUnsent) and the log line \"image halted by the wave\" say why", fleet))
}

// newRolloutAlarm watches a fleet's rollouts for what only an operator can
// settle: a rollout that ended failed (its rollback could not finish) or
// gave up on a refresh or group it could no longer see.
func newRolloutAlarm(scope constructs.Construct, fleet, namespace string) awscloudwatch.Alarm {
	return newCountAlarm(scope, fleet+"RolloutNeedsOperator", fleet, namespace, 1, [2]string{"RolloutsFailed", "RolloutsBlind"},
		"rollouts failed or blind",
		fmt.Sprintf("stampkit fleet %s: a rollout failed or could not see what it followed; "+
			"its record's reason says what an operator must settle", fleet))
}

// newCountAlarm alarms when either of two of the fleet's count metrics is
// written in a period of minutes. Each is written once, when what it
// counts happens; none is no data, not a breach.
func newCountAlarm(scope constructs.Construct, id, fleet, namespace string, minutes float64, metrics [2]string, label, description string) awscloudwatch.Alarm {
	dims := map[string]*string{"Fleet": jsii.String(fleet)}
	period := awscdk.Duration_Minutes(jsii.Number(minutes))
	sum := func(name string) awscloudwatch.IMetric {
		return awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
			Namespace: jsii.String(namespace), MetricName: jsii.String(name), DimensionsMap: &dims,
			Statistic: jsii.String("Sum"), Period: period,
		})
	}
	expr := awscloudwatch.NewMathExpression(&awscloudwatch.MathExpressionProps{
		Expression:   jsii.String("FILL(a, 0) + FILL(b, 0)"),
		UsingMetrics: &map[string]awscloudwatch.IMetric{"a": sum(metrics[0]), "b": sum(metrics[1])},
		Label:        jsii.String(label),
		Period:       period,
	})
	return awscloudwatch.NewAlarm(scope, jsii.String(id), &awscloudwatch.AlarmProps{
		Metric: expr, Threshold: jsii.Number(1), EvaluationPeriods: jsii.Number(1),
		ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
		TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
		AlarmDescription:   jsii.String(description),
	})
}
