package asg

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
)

// Lifecycle action results.
const (
	ResultContinue = "CONTINUE"
	ResultAbandon  = "ABANDON"
)

// LifecycleAction identifies an instance held by a lifecycle hook. Token or
// InstanceID must be set; the token, from the lifecycle event, is exact, the
// instance ID also works after the token is lost.
type LifecycleAction struct {
	Group      string
	Hook       string
	Token      string
	InstanceID string
}

// LifecycleCompletion ends a lifecycle action with a result.
type LifecycleCompletion struct {
	Group      string
	Hook       string
	Token      string
	InstanceID string
	Result     string // ResultContinue or ResultAbandon
}

// CompleteLifecycleAction releases the instance from its hook. When the action
// is already gone (completed elsewhere, abandoned or timed out) the error
// satisfies awserr.IsNoActiveLifecycleAction.
func (a *Adapter) CompleteLifecycleAction(ctx context.Context, c LifecycleCompletion) error {
	_, err := a.api.CompleteLifecycleAction(ctx, &autoscaling.CompleteLifecycleActionInput{
		AutoScalingGroupName:  aws.String(c.Group),
		LifecycleHookName:     aws.String(c.Hook),
		LifecycleActionResult: aws.String(c.Result),
		LifecycleActionToken:  optional(c.Token),
		InstanceId:            optional(c.InstanceID),
	})
	if err != nil {
		return fmt.Errorf("completing lifecycle action %s of %s (%s): %w", c.Hook, c.InstanceID, c.Token, err)
	}
	return nil
}

// RecordHeartbeat restarts the hook's heartbeat timeout, keeping the instance
// in its wait state; Auto Scaling caps the total wait at 100 timeouts or 48 h.
func (a *Adapter) RecordHeartbeat(ctx context.Context, l LifecycleAction) error {
	_, err := a.api.RecordLifecycleActionHeartbeat(ctx, &autoscaling.RecordLifecycleActionHeartbeatInput{
		AutoScalingGroupName: aws.String(l.Group),
		LifecycleHookName:    aws.String(l.Hook),
		LifecycleActionToken: optional(l.Token),
		InstanceId:           optional(l.InstanceID),
	})
	if err != nil {
		return fmt.Errorf("recording lifecycle heartbeat %s of %s (%s): %w", l.Hook, l.InstanceID, l.Token, err)
	}
	return nil
}

// optional maps "" to an absent field: Auto Scaling rejects an empty token or
// instance ID rather than ignoring it.
func optional(s string) *string {
	if s == "" {
		return nil
	}
	return aws.String(s)
}
