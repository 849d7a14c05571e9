package main

import (
	"fmt"
	"maps"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/interfaces/interfacesawscloudwatch"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// The toolkit's own metrics (EMF, dimension Fleet) the dashboards show, by
// the handler that writes them (shared/scaler, hooks, stamper).
var (
	ScalerMetrics    = []string{"Decisions", "CapacityDelta", "Duplicates", "StateNotSaved"}
	LifecycleMetrics = []string{"TimeToReady", "TimeToDrain", "Abandoned"}
	RolloutMetrics   = []string{"TrafficShifted", "RolloutsStarted", "RolloutsSucceeded", "RolloutsRolledBack", "RolloutsFailed", "WeightsRestored"}
)

// ObservabilityProps configures the dashboards.
type ObservabilityProps struct {
	Fleets   []ManagedFleet
	Handlers Handlers
	// Namespace is where the Lambdas write their metrics
	// (STAMPKIT_METRIC_NAMESPACE).
	Namespace string
}

// Observability holds one CloudWatch dashboard per fleet.
type Observability interface {
	// Dashboard returns the fleet's dashboard, or nil.
	Dashboard(fleet string) awscloudwatch.Dashboard
}

type observability struct {
	dashboards map[string]awscloudwatch.Dashboard
}

// NewObservability creates, per fleet, a dashboard of capacity (the
// groups' desired and in-service instances), demand (load balancer
// requests), the scaling and health alarms, the scaler's decisions, the
// lifecycle gate and drain times, rollout progress, and the toolkit's
// dead-letter alarms. Dashboards get no physical names.
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
	for _, mf := range props.Fleets {
		o.dashboards[mf.Fleet.Name()] = newDashboard(c, mf, props.Namespace, toolkit)
	}
	return o
}

func newDashboard(scope constructs.Construct, mf ManagedFleet, namespace string, toolkit []interfacesawscloudwatch.IAlarmRef) awscloudwatch.Dashboard {
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
			graph("Scaler decisions", []awscloudwatch.IMetric{own("Decisions", "Sum"), own("Duplicates", "Sum"), own("StateNotSaved", "Sum")},
				[]awscloudwatch.IMetric{own("CapacityDelta", "Sum")}),
			graph("Lifecycle: seconds to ready and to drain",
				[]awscloudwatch.IMetric{own("TimeToReady", "Average"), own("TimeToReady", "Maximum"), own("TimeToDrain", "Average")},
				[]awscloudwatch.IMetric{own("Abandoned", "Sum")}),
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
		DefaultInterval: awscdk.Duration_Hours(jsii.Number(3)),
		Widgets:         &widgets,
	})
}

func (o *observability) Dashboard(fleet string) awscloudwatch.Dashboard { return o.dashboards[fleet] }
