// Package event decodes every payload the stampkit Lambdas receive into
// typed values: EventBridge events, CloudWatch alarm actions that invoke a
// function directly, and alarm or Auto Scaling notifications carried by SNS
// or SQS.
//
// Decode routes an EventBridge event by (source, detail-type) through a small
// registry. A kind the registry does not hold is reported with ErrUnknown so
// the caller can log and ignore it; a payload that is not what AWS sends is a
// *MalformedError naming the JSON field at fault.
package event

import (
	"errors"
	"fmt"
	"time"
)

// Event is one decoded notification, whatever envelope carried it.
type Event struct {
	// ID is the EventBridge event id. Payloads without one get a stable id
	// derived from their content: an alarm's ARN and state-change time
	// (AlarmStateChange.Key), otherwise the SNS or SQS message id.
	ID string
	// Source is the AWS source ("aws.cloudwatch", "aws.autoscaling",
	// "aws.imagebuilder", "aws.ec2", "aws.events", "aws.cloudformation") or
	// "stampkit".
	Source string
	// DetailType is the EventBridge detail-type. Payloads that did not come
	// through EventBridge get the detail-type the same change has there.
	DetailType string
	// Time is when the change happened, as the payload reports it.
	Time time.Time
	// Region and Account locate the resource; empty when the payload does
	// not say.
	Region, Account string
	// Resources lists the ARNs the payload names.
	Resources []string
	// Via is "aws:sqs" or "aws:sns" for a message a queue or topic carried,
	// and empty for a payload EventBridge or an invoke delivered itself. A
	// handler that trusts a delivery path (a rule on a bus whose policy
	// names who may put events) checks it: anyone allowed to send to a
	// queue could otherwise write the same event into it.
	Via string
	// Detail is exactly one of *AlarmStateChange, *LifecycleAction,
	// *InstanceActivity, *InstanceRefresh, *ImageStateChange,
	// *AMIStateChange, *ResourceStatusChange, *TestNotification, *Tick or
	// *Command.
	Detail any
}

// ErrMalformed is matched (errors.Is) by every *MalformedError.
var ErrMalformed = errors.New("malformed event")

// ErrUnknown is returned, wrapped with the source and detail-type, for a
// well-formed payload of a kind this package does not handle. Callers log
// and ignore it.
var ErrUnknown = errors.New("unknown event kind")

// MalformedError reports a payload that is not what AWS sends: a required
// field missing, a field of the wrong JSON type, an unparseable timestamp.
type MalformedError struct {
	// Field is the JSON path of the offending field, for example
	// "detail.LifecycleActionToken" or "Records[0].Sns.Message"; "payload"
	// means the payload as a whole.
	Field string
	// Err says what is wrong with it.
	Err error
}

// Error names the field and the fault.
func (e *MalformedError) Error() string {
	return fmt.Sprintf("%v: %s: %v", ErrMalformed, e.Field, e.Err)
}

// Unwrap returns the underlying fault.
func (e *MalformedError) Unwrap() error { return e.Err }

// Is reports whether target is ErrMalformed.
func (e *MalformedError) Is(target error) bool { return target == ErrMalformed }

// Sources (the EventBridge "source" field).
const (
	SourceCloudWatch     = "aws.cloudwatch"
	SourceAutoScaling    = "aws.autoscaling"
	SourceImageBuilder   = "aws.imagebuilder"
	SourceEC2            = "aws.ec2"
	SourceEvents         = "aws.events"
	SourceCloudFormation = "aws.cloudformation"
	SourceStampkit       = "stampkit"
)

// Detail types (the EventBridge "detail-type" field) that Decode handles.
const (
	DetailTypeAlarmStateChange = "CloudWatch Alarm State Change"

	DetailTypeLaunchLifecycleAction    = "EC2 Instance-launch Lifecycle Action"
	DetailTypeTerminateLifecycleAction = "EC2 Instance-terminate Lifecycle Action"

	DetailTypeLaunchSuccessful      = "EC2 Instance Launch Successful"
	DetailTypeLaunchUnsuccessful    = "EC2 Instance Launch Unsuccessful"
	DetailTypeTerminateSuccessful   = "EC2 Instance Terminate Successful"
	DetailTypeTerminateUnsuccessful = "EC2 Instance Terminate Unsuccessful"

	DetailTypeRefreshStarted           = "EC2 Auto Scaling Instance Refresh Started"
	DetailTypeRefreshSucceeded         = "EC2 Auto Scaling Instance Refresh Succeeded"
	DetailTypeRefreshFailed            = "EC2 Auto Scaling Instance Refresh Failed"
	DetailTypeRefreshCancelled         = "EC2 Auto Scaling Instance Refresh Cancelled"
	DetailTypeRefreshCheckpointReached = "EC2 Auto Scaling Instance Refresh Checkpoint Reached"
	DetailTypeRefreshRollbackStarted   = "EC2 Auto Scaling Instance Refresh Rollback Started"
	DetailTypeRefreshRollbackSucceeded = "EC2 Auto Scaling Instance Refresh Rollback Succeeded"
	DetailTypeRefreshRollbackFailed    = "EC2 Auto Scaling Instance Refresh Rollback Failed"

	DetailTypeImageStateChange = "EC2 Image Builder Image State Change"
	DetailTypeAMIStateChange   = "EC2 AMI State Change"

	// DetailTypeResourceStatusChange is a stack's resource changing status
	// (source aws.cloudformation).
	DetailTypeResourceStatusChange = "CloudFormation Resource Status Change"

	// DetailTypeScheduled is what an EventBridge schedule rule sends
	// (source aws.events).
	DetailTypeScheduled = "Scheduled Event"
	// DetailTypeTick is stampkit's own wake-up event (source stampkit),
	// sent by whatever drives a durable wait.
	DetailTypeTick = "Tick"
	// DetailTypeTestNotification is the detail-type given to an Auto
	// Scaling test notification that arrived through SNS or SQS.
	DetailTypeTestNotification = EventTestNotification
)
