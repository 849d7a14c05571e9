package event

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"
)

// Lifecycle transitions (LifecycleAction.Transition).
const (
	TransitionLaunching   = "autoscaling:EC2_INSTANCE_LAUNCHING"
	TransitionTerminating = "autoscaling:EC2_INSTANCE_TERMINATING"
)

// EventTestNotification is the "Event" (and, in EventBridge, the
// "LifecycleTransition") of the test message Auto Scaling sends when a
// notification target is configured.
const EventTestNotification = "autoscaling:TEST_NOTIFICATION"

// Places an instance moves between (LifecycleAction and InstanceActivity
// Origin and Destination).
const (
	PlaceEC2              = "EC2"
	PlaceAutoScalingGroup = "AutoScalingGroup"
	PlaceWarmPool         = "WarmPool"
)

// ActionReplaceRootVolume is the LifecycleAction.Action of an instance whose
// root volume an instance refresh replaces.
const ActionReplaceRootVolume = "ReplaceRootVolume"

// LifecycleAction is an instance held in a lifecycle hook's wait state
// ("EC2 Instance-launch Lifecycle Action" or
// "EC2 Instance-terminate Lifecycle Action").
type LifecycleAction struct {
	GroupName string
	HookName  string
	// Token identifies this lifecycle action; CompleteLifecycleAction and
	// heartbeats quote it.
	Token string
	// Transition is TransitionLaunching or TransitionTerminating.
	Transition           string
	InstanceID           string
	NotificationMetadata string
	// Origin and Destination are PlaceEC2, PlaceAutoScalingGroup or
	// PlaceWarmPool when Auto Scaling provides them.
	Origin, Destination string
	// Action is ActionReplaceRootVolume during a root-volume replacement;
	// otherwise empty.
	Action string
}

// TestNotification is the test message Auto Scaling sends to a new
// notification target. Callers ignore it.
type TestNotification struct {
	GroupName string
}

// Activity kinds (InstanceActivity.Kind).
const (
	ActivityLaunch    = "Launch"
	ActivityTerminate = "Terminate"
)

// InstanceActivity is a scaling activity that finished launching or
// terminating an instance ("EC2 Instance Launch Successful",
// "… Launch Unsuccessful", "… Terminate Successful",
// "… Terminate Unsuccessful").
type InstanceActivity struct {
	GroupName  string
	ActivityID string
	// InstanceID may be empty when a launch failed before an instance
	// existed.
	InstanceID string
	// Kind is ActivityLaunch or ActivityTerminate.
	Kind       string
	Successful bool
	// StatusCode is the scaling activity's status ("InProgress",
	// "Successful", "Failed", …).
	StatusCode       string
	StatusMessage    string
	Description      string
	Cause            string
	StartTime        time.Time
	EndTime          time.Time
	AvailabilityZone string
	SubnetID         string
	Origin           string
	Destination      string
	RequestID        string
}

// Instance refresh statuses (InstanceRefresh.Status), taken from the
// detail-type.
const (
	RefreshStarted           = "Started"
	RefreshSucceeded         = "Succeeded"
	RefreshFailed            = "Failed"
	RefreshCancelled         = "Cancelled"
	RefreshCheckpointReached = "Checkpoint Reached"
	RefreshRollbackStarted   = "Rollback Started"
	RefreshRollbackSucceeded = "Rollback Succeeded"
	RefreshRollbackFailed    = "Rollback Failed"
)

// InstanceRefresh is progress of an instance refresh
// ("EC2 Auto Scaling Instance Refresh …").
type InstanceRefresh struct {
	GroupName         string
	InstanceRefreshID string
	// Status is one of the Refresh* constants.
	Status string
	// CheckpointPercentage and CheckpointDelay are set for
	// RefreshCheckpointReached.
	CheckpointPercentage int
	CheckpointDelay      time.Duration
}

// lifecycleJSON is a lifecycle hook message, both as EventBridge detail and
// as the JSON Auto Scaling sends to SNS or SQS.
type lifecycleJSON struct {
	Token                string `json:"LifecycleActionToken"`
	GroupName            string `json:"AutoScalingGroupName"`
	GroupARN             string `json:"AutoScalingGroupARN"`
	HookName             string `json:"LifecycleHookName"`
	InstanceID           string `json:"EC2InstanceId"`
	Transition           string `json:"LifecycleTransition"`
	NotificationMetadata string `json:"NotificationMetadata"`
	Origin               string `json:"Origin"`
	Destination          string `json:"Destination"`
	Action               string `json:"Action"`
	Event                string `json:"Event"`
	// Set only in SNS and SQS messages.
	Service   string `json:"Service"`
	Time      string `json:"Time"`
	RequestID string `json:"RequestId"`
	AccountID string `json:"AccountId"`
}

// isTest reports whether the message is a test notification.
func (l lifecycleJSON) isTest() bool {
	return l.Event == EventTestNotification || l.Transition == EventTestNotification
}

// action validates a lifecycle hook message found at path. want is the
// transition the detail-type implies, or empty when there is none.
func (l lifecycleJSON) action(path, want string) (*LifecycleAction, error) {
	if err := firstErr(
		need(l.Token, join(path, "LifecycleActionToken")),
		need(l.GroupName, join(path, "AutoScalingGroupName")),
		need(l.HookName, join(path, "LifecycleHookName")),
		need(l.InstanceID, join(path, "EC2InstanceId")),
		need(l.Transition, join(path, "LifecycleTransition")),
	); err != nil {
		return nil, err
	}
	tPath := join(path, "LifecycleTransition")
	switch {
	case l.Transition != TransitionLaunching && l.Transition != TransitionTerminating:
		return nil, malformed(tPath, "unknown transition %q", l.Transition)
	case want != "" && l.Transition != want:
		return nil, malformed(tPath, "got %q, want %q for this detail-type", l.Transition, want)
	}
	return &LifecycleAction{
		GroupName:            l.GroupName,
		HookName:             l.HookName,
		Token:                l.Token,
		Transition:           l.Transition,
		InstanceID:           l.InstanceID,
		NotificationMetadata: l.NotificationMetadata,
		Origin:               l.Origin,
		Destination:          l.Destination,
		Action:               l.Action,
	}, nil
}

// decodeLifecycleDetail decodes a lifecycle action EventBridge detail; a test
// notification sent that way becomes *TestNotification.
func decodeLifecycleDetail(env envelope) (any, error) {
	var l lifecycleJSON
	if err := unmarshal(env.Detail, &l, env.path("detail"), ""); err != nil {
		return nil, err
	}
	if l.isTest() {
		return &TestNotification{GroupName: groupName(l.GroupName, l.GroupARN, env.Resources)}, nil
	}
	want := TransitionLaunching
	if env.DetailType == DetailTypeTerminateLifecycleAction {
		want = TransitionTerminating
	}
	return l.action(env.path("detail"), want)
}

// decodeAutoScalingMessage decodes the JSON Auto Scaling sends to an SNS
// topic or SQS queue: a lifecycle hook message or a test notification. Other
// Auto Scaling notifications are unknown kinds.
func decodeAutoScalingMessage(raw []byte, prefix string, c carrier) (Event, error) {
	var l lifecycleJSON
	if err := unmarshal(raw, &l, prefix, ""); err != nil {
		return Event{}, err
	}
	at, err := parseOptionalTime(l.Time, join(prefix, "Time"))
	if err != nil {
		return Event{}, err
	}
	if at.IsZero() {
		at = c.at
	}
	id := c.id
	if id == "" {
		id = l.RequestID
	}
	ev := Event{ID: id, Source: SourceAutoScaling, Time: at, Region: c.region, Account: l.AccountID}
	if l.GroupARN != "" {
		ev.Resources = []string{l.GroupARN}
		if region, _ := arnParts(l.GroupARN); region != "" {
			ev.Region = region
		}
	}
	switch {
	case l.isTest():
		ev.DetailType = DetailTypeTestNotification
		ev.Detail = &TestNotification{GroupName: groupName(l.GroupName, l.GroupARN, nil)}
		return ev, nil
	case l.Token == "":
		// Scaling notifications (autoscaling:EC2_INSTANCE_LAUNCH, …).
		return Event{}, unknown(SourceAutoScaling, l.Event)
	}
	a, err := l.action(prefix, "")
	if err != nil {
		return Event{}, err
	}
	ev.DetailType = DetailTypeLaunchLifecycleAction
	if a.Transition == TransitionTerminating {
		ev.DetailType = DetailTypeTerminateLifecycleAction
	}
	ev.Detail = a
	return ev, nil
}

// groupName returns the group's name, falling back to the name in its ARN
// ("…:autoScalingGroupName/NAME") when the message leaves it out.
func groupName(name, arn string, resources []string) string {
	if name != "" {
		return name
	}
	for _, a := range append([]string{arn}, resources...) {
		if _, n, ok := strings.Cut(a, ":autoScalingGroupName/"); ok {
			return n
		}
	}
	return ""
}

// activityJSON is the detail of the instance launch/terminate events.
type activityJSON struct {
	StatusCode    string                     `json:"StatusCode"`
	StatusMessage string                     `json:"StatusMessage"`
	Description   string                     `json:"Description"`
	GroupName     string                     `json:"AutoScalingGroupName"`
	ActivityID    string                     `json:"ActivityId"`
	Details       map[string]json.RawMessage `json:"Details"`
	RequestID     string                     `json:"RequestId"`
	EndTime       string                     `json:"EndTime"`
	InstanceID    string                     `json:"EC2InstanceId"`
	StartTime     string                     `json:"StartTime"`
	Cause         string                     `json:"Cause"`
	Origin        string                     `json:"Origin"`
	Destination   string                     `json:"Destination"`
}

func decodeActivityDetail(env envelope) (any, error) {
	var d activityJSON
	if err := unmarshal(env.Detail, &d, env.path("detail"), ""); err != nil {
		return nil, err
	}
	a := &InstanceActivity{
		GroupName:     d.GroupName,
		ActivityID:    d.ActivityID,
		InstanceID:    d.InstanceID,
		Kind:          ActivityLaunch,
		StatusCode:    d.StatusCode,
		StatusMessage: d.StatusMessage,
		Description:   d.Description,
		Cause:         d.Cause,
		Origin:        d.Origin,
		Destination:   d.Destination,
		RequestID:     d.RequestID,
	}
	switch env.DetailType {
	case DetailTypeLaunchSuccessful:
		a.Successful = true
	case DetailTypeTerminateSuccessful:
		a.Kind, a.Successful = ActivityTerminate, true
	case DetailTypeTerminateUnsuccessful:
		a.Kind = ActivityTerminate
	}
	errs := []error{
		need(d.GroupName, env.detailPath("AutoScalingGroupName")),
		need(d.ActivityID, env.detailPath("ActivityId")),
	}
	if a.Successful {
		errs = append(errs, need(d.InstanceID, env.detailPath("EC2InstanceId")))
	}
	if err := firstErr(errs...); err != nil {
		return nil, err
	}
	var err error
	if a.StartTime, err = parseOptionalTime(d.StartTime, env.detailPath("StartTime")); err != nil {
		return nil, err
	}
	if a.EndTime, err = parseOptionalTime(d.EndTime, env.detailPath("EndTime")); err != nil {
		return nil, err
	}
	// Details is a free-form map; only its string entries are of use.
	a.AvailabilityZone = rawString(d.Details["Availability Zone"])
	a.SubnetID = rawString(d.Details["Subnet ID"])
	return a, nil
}

// rawString returns raw as a string if it is a JSON string, else "".
func rawString(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return ""
	}
	return s
}

// maxCheckpointDelay bounds CheckpointDelay (seconds); AWS allows up to two
// days, and the bound keeps the conversion to time.Duration from overflowing.
const maxCheckpointDelay = 1 << 30

// refreshJSON is the detail of the instance refresh events.
type refreshJSON struct {
	InstanceRefreshID    string          `json:"InstanceRefreshId"`
	GroupName            string          `json:"AutoScalingGroupName"`
	CheckpointPercentage json.RawMessage `json:"CheckpointPercentage"`
	CheckpointDelay      json.RawMessage `json:"CheckpointDelay"`
}

func decodeRefreshDetail(env envelope) (any, error) {
	var d refreshJSON
	if err := unmarshal(env.Detail, &d, env.path("detail"), ""); err != nil {
		return nil, err
	}
	if err := firstErr(
		need(d.InstanceRefreshID, env.detailPath("InstanceRefreshId")),
		need(d.GroupName, env.detailPath("AutoScalingGroupName")),
	); err != nil {
		return nil, err
	}
	pct, err := flexInt(d.CheckpointPercentage, env.detailPath("CheckpointPercentage"), 100)
	if err != nil {
		return nil, err
	}
	delay, err := flexInt(d.CheckpointDelay, env.detailPath("CheckpointDelay"), maxCheckpointDelay)
	if err != nil {
		return nil, err
	}
	return &InstanceRefresh{
		GroupName:            d.GroupName,
		InstanceRefreshID:    d.InstanceRefreshID,
		Status:               strings.TrimPrefix(env.DetailType, "EC2 Auto Scaling Instance Refresh "),
		CheckpointPercentage: pct,
		CheckpointDelay:      time.Duration(delay) * time.Second,
	}, nil
}

// flexInt reads a non-negative integer up to max that AWS writes as a JSON
// string ("50") and might write as a number; absent, null or "" is 0.
func flexInt(raw json.RawMessage, path string, max int) (int, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return 0, nil
	}
	text := string(raw)
	if raw[0] == '"' {
		text = rawString(raw)
		if text == "" {
			return 0, nil
		}
	}
	n, err := strconv.Atoi(text)
	if err != nil || n < 0 || n > max {
		return 0, malformed(path, "want an integer from 0 to %d, got %s", max, raw)
	}
	return n, nil
}
