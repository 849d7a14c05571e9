package asg

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
)

// SetLaunchTemplateVersion points the group at a launch template version.
// Instances already running keep theirs; an instance refresh replaces them.
// It fits groups with a plain launch template, not a mixed instances policy.
func (a *Adapter) SetLaunchTemplateVersion(ctx context.Context, group, launchTemplateID, version string) error {
	_, err := a.api.UpdateAutoScalingGroup(ctx, &autoscaling.UpdateAutoScalingGroupInput{
		AutoScalingGroupName: aws.String(group),
		LaunchTemplate: &types.LaunchTemplateSpecification{
			LaunchTemplateId: aws.String(launchTemplateID),
			Version:          aws.String(version),
		},
	})
	if err != nil {
		return fmt.Errorf("setting launch template of %s to %s version %s: %w", group, launchTemplateID, version, err)
	}
	return nil
}

// RefreshSpec describes an instance refresh. Nil healthy percentages and a
// zero warm-up or delay leave the AWS default in place (MinHealthy 90,
// MaxHealthy 100, warmup = the group's health check grace period).
type RefreshSpec struct {
	Group string
	// LaunchTemplate, when set, is the desired configuration: Auto Scaling
	// moves the group to it as the refresh succeeds and back on rollback.
	LaunchTemplate  LaunchTemplate
	MinHealthy      *int32 // percent of desired capacity kept in service; 0 is sent as 0
	MaxHealthy      *int32 // percent, 100–200; above 100 launches before terminating
	WarmupSeconds   int32
	Checkpoints     []int32 // percentages to pause at; end with 100 to replace all
	CheckpointDelay time.Duration
	SkipMatching    bool // leave instances already on the desired configuration
	AutoRollback    bool
	AlarmNames      []string // an alarm in ALARM fails the refresh
}

// Refresh is the state of an instance refresh.
type Refresh struct {
	ID                 string
	Group              string
	Status             string // Pending, InProgress, Successful, Failed, Cancelling, Cancelled, RollbackInProgress, …
	StatusReason       string
	PercentageComplete int32
	InstancesToUpdate  int32
	StartTime          time.Time
	EndTime            time.Time
}

// StartInstanceRefresh starts a rolling replacement and returns its ID. A
// refresh already running is an error that satisfies awserr.IsConflict.
func (a *Adapter) StartInstanceRefresh(ctx context.Context, s RefreshSpec) (string, error) {
	prefs := &types.RefreshPreferences{
		MinHealthyPercentage:  s.MinHealthy,
		MaxHealthyPercentage:  s.MaxHealthy,
		InstanceWarmup:        positive(s.WarmupSeconds),
		CheckpointPercentages: s.Checkpoints,
		CheckpointDelay:       positive(int32(s.CheckpointDelay / time.Second)),
		SkipMatching:          aws.Bool(s.SkipMatching),
		AutoRollback:          aws.Bool(s.AutoRollback),
	}
	if len(s.AlarmNames) > 0 {
		prefs.AlarmSpecification = &types.AlarmSpecification{Alarms: s.AlarmNames}
	}
	in := &autoscaling.StartInstanceRefreshInput{
		AutoScalingGroupName: aws.String(s.Group),
		Strategy:             types.RefreshStrategyRolling,
		Preferences:          prefs,
	}
	if s.LaunchTemplate != (LaunchTemplate{}) {
		in.DesiredConfiguration = &types.DesiredConfiguration{
			LaunchTemplate: &types.LaunchTemplateSpecification{
				LaunchTemplateId:   optional(s.LaunchTemplate.ID),
				LaunchTemplateName: optional(s.LaunchTemplate.Name),
				Version:            optional(s.LaunchTemplate.Version),
			},
		}
	}
	out, err := a.api.StartInstanceRefresh(ctx, in)
	if err != nil {
		return "", fmt.Errorf("starting instance refresh of %s: %w", s.Group, err)
	}
	return aws.ToString(out.InstanceRefreshId), nil
}

// DescribeInstanceRefresh reads one refresh; a missing one is ErrNotFound.
func (a *Adapter) DescribeInstanceRefresh(ctx context.Context, group, id string) (Refresh, error) {
	out, err := a.api.DescribeInstanceRefreshes(ctx, &autoscaling.DescribeInstanceRefreshesInput{
		AutoScalingGroupName: aws.String(group),
		InstanceRefreshIds:   []string{id},
	})
	if err != nil {
		return Refresh{}, fmt.Errorf("describing instance refresh %s of %s: %w", id, group, err)
	}
	for _, r := range out.InstanceRefreshes {
		if aws.ToString(r.InstanceRefreshId) == id {
			return refresh(r), nil
		}
	}
	return Refresh{}, fmt.Errorf("describing instance refresh %s of %s: %w", id, group, ErrNotFound)
}

func refresh(r types.InstanceRefresh) Refresh {
	return Refresh{
		ID:                 aws.ToString(r.InstanceRefreshId),
		Group:              aws.ToString(r.AutoScalingGroupName),
		Status:             string(r.Status),
		StatusReason:       aws.ToString(r.StatusReason),
		PercentageComplete: aws.ToInt32(r.PercentageComplete),
		InstancesToUpdate:  aws.ToInt32(r.InstancesToUpdate),
		StartTime:          aws.ToTime(r.StartTime),
		EndTime:            aws.ToTime(r.EndTime),
	}
}

// CancelInstanceRefresh stops the group's running refresh, leaving replaced
// instances in place, and returns the refresh's ID.
func (a *Adapter) CancelInstanceRefresh(ctx context.Context, group string) (string, error) {
	out, err := a.api.CancelInstanceRefresh(ctx, &autoscaling.CancelInstanceRefreshInput{
		AutoScalingGroupName: aws.String(group),
	})
	if err != nil {
		return "", fmt.Errorf("cancelling instance refresh of %s: %w", group, err)
	}
	return aws.ToString(out.InstanceRefreshId), nil
}

// RollbackInstanceRefresh stops the group's running refresh and replaces the
// instances it already changed with the previous configuration; it returns
// the refresh's ID. AWS refuses it when the refresh had no desired
// configuration or the group tracks "$Latest" or "$Default", so a rollout that
// may roll back starts its refresh with RefreshSpec.LaunchTemplate set to a
// numbered version.
func (a *Adapter) RollbackInstanceRefresh(ctx context.Context, group string) (string, error) {
	out, err := a.api.RollbackInstanceRefresh(ctx, &autoscaling.RollbackInstanceRefreshInput{
		AutoScalingGroupName: aws.String(group),
	})
	if err != nil {
		return "", fmt.Errorf("rolling back instance refresh of %s: %w", group, err)
	}
	return aws.ToString(out.InstanceRefreshId), nil
}

// positive maps 0 (and below) to an absent field so AWS applies its default.
func positive(n int32) *int32 {
	if n <= 0 {
		return nil
	}
	return aws.Int32(n)
}
