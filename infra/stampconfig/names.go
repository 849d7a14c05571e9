package stampconfig

import (
	"github.com/stampkit/stampkit/shared/config"
	"github.com/stampkit/stampkit/shared/event"
)

// DefaultStampName is the name of the stamp Config describes when it
// names none: the stamp of an app without stamps[] in cdk.json. Its command
// bus keeps the name the CLI and the bake scripts default to
// (event.CommandBus).
const DefaultStampName = event.DefaultStamp

// NamePrefix starts every physical name a stamp sets, before the stamp's
// own name: a stamp's group, alarm and parameter names never begin like a
// name another tool chose ("prod-db"), which matters because the stamp's
// IAM policies and event patterns match its resources by that prefix.
const NamePrefix = "stampkit-"

// Names are the physical names of a stamp's resources: every name the
// stamp sets itself, for what must be unique in an account and Region or
// must be known before CloudFormation creates it (the fleets file the
// functions read is written at synth, and cannot hold a token). Each
// carries the stamp, so that two stamps in one account and Region never
// collide, and each begins with Prefix, so that a policy or event pattern
// matching Prefix matches this stamp's resources and no other stamp's
// (stamp names have no hyphen: CheckStampName).
//
// A resource of a set name cannot be replaced without a new name: "You
// can't perform an update that causes a custom-named resource to be
// replaced. If you must replace the resource, specify a new name"
// (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-name.html).
// What replaces a resource is what its type's schema lists as
// createOnlyProperties: for a group AutoScalingGroupName and InstanceId
// (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-autoscaling-autoscalinggroup.html),
// for an alarm AlarmName alone
// (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-cloudwatch-alarm.html);
// every other property the stamp sets on them updates in place. So a group
// or an alarm is replaced only when its name changes, with the stamp's
// name, the fleet's or a scaling rule's alarm id: the deploy then creates
// the new one beside the old and deletes the old, which for a group means
// new instances. The dashboards, log groups, parameters and Image Builder
// resources named here are likewise replaced by a new name only.
type Names struct{ stamp string }

// NamesOf returns the names of the stamp named stamp (config.CheckStampName).
func NamesOf(stamp string) Names { return Names{stamp: stamp} }

// Stamp is the stamp's name.
func (n Names) Stamp() string { return n.stamp }

// Prefix, "stampkit-<stamp>-", begins every name below that is not a path
// or the command bus.
func (n Names) Prefix() string { return NamePrefix + n.stamp + "-" }

// Stack is the stamp's stack's default name, "stampkit-<stamp>": `cdk
// deploy 'stampkit-*'` deploys every stamp of the app.
func (n Names) Stack() string { return NamePrefix + n.stamp }

// Group is the name of fleet's Auto Scaling group.
func (n Names) Group(fleet string) string { return n.Prefix() + fleet }

// PeerGroup is the name of a blue/green fleet's second group.
func (n Names) PeerGroup(fleet string) string { return n.Group(fleet) + "-peer" }

// ScalingAlarmPrefix begins the name of every alarm the stamp's scaling
// policies trigger, and of no other alarm: what the scaler's rule and
// permissions match.
func (n Names) ScalingAlarmPrefix() string { return n.Prefix() + "scale-" }

// ScalingAlarm is the name of the alarm fleet's scaling rule triggers; id
// is the rule's alarm with its placeholders taken out ("cpu-high").
func (n Names) ScalingAlarm(fleet, id string) string {
	return n.ScalingAlarmPrefix() + fleet + "-" + id
}

// HealthAlarmPrefix begins the name of every fleet health alarm of the
// stamp, the alarms a rollout watches.
func (n Names) HealthAlarmPrefix() string { return n.Prefix() + "health-" }

// HealthAlarm is the name of one of fleet's health alarms (kind: one of
// healthAlarmKinds).
func (n Names) HealthAlarm(fleet, kind string) string {
	return n.HealthAlarmPrefix() + fleet + "-" + kind
}

// Dashboard is the name of fleet's CloudWatch dashboard.
func (n Names) Dashboard(fleet string) string { return n.Prefix() + fleet }

// ImageBuilder begins the names of fleet's Image Builder resources (the
// pipeline is named so; its component, recipe and configurations add what
// they are).
func (n Names) ImageBuilder(fleet string) string { return n.Prefix() + fleet }

// CommandBus is the stamp's command bus (event.CommandBusFor).
func (n Names) CommandBus() string { return event.CommandBusFor(n.stamp) }

// ParameterRoot is the SSM path under which the stamp's fleets keep their
// parameters by default, "/stampkit/<stamp>".
func (n Names) ParameterRoot() string { return "/stampkit/" + n.stamp }

// ParameterPrefix is fleet's default FleetConfig.ParameterPrefix.
func (n Names) ParameterPrefix(fleet string) string { return n.ParameterRoot() + "/" + fleet }

// AppLogGroup is the log group the app of fleet logs to. The image's
// CloudWatch agent configuration names it (AppSettings.LogGroup), so it is
// baked into the fleet's images.
func (n Names) AppLogGroup(fleet string) string { return n.ParameterPrefix(fleet) + "/app" }

// RolePath is the IAM path of the fleets' instance roles: IAM names roles
// by account, not Region, so the path carries both the stamp and its
// Region, and a rollout may pass exactly the roles under it.
func (n Names) RolePath(region string) string { return "/stampkit/" + n.stamp + "/" + region + "/" }

// ResourcesParameter is the SSM parameter CloudFormation writes a
// blue/green fleet's listener and target group ARNs to
// (rollout.BlueGreen.ResourcesParameter), under the fleet's prefix.
func ResourcesParameter(parameterPrefix string) string {
	return parameterPrefix + "/blue-green-resources"
}

// CheckStampName says what is wrong with name as a stamp's name.
func CheckStampName(name string) error { return config.CheckStampName(name) }
