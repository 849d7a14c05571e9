package asg

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
)

// Size is a group's minimum, maximum and desired capacity.
type Size struct {
	Min, Max, Desired int
}

// Resize sets the group's size in one call, which a blue/green rollout needs
// to bring a group up to another's capacity or empty it: SetDesiredCapacity
// alone cannot go below the group's minimum. Max 0 leaves the maximum as it
// is.
func (a *Adapter) Resize(ctx context.Context, group string, s Size) error {
	in := &autoscaling.UpdateAutoScalingGroupInput{
		AutoScalingGroupName: aws.String(group),
		MinSize:              aws.Int32(int32(s.Min)),
		DesiredCapacity:      aws.Int32(int32(s.Desired)),
	}
	if s.Max > 0 {
		in.MaxSize = aws.Int32(int32(s.Max))
	}
	if _, err := a.api.UpdateAutoScalingGroup(ctx, in); err != nil {
		return fmt.Errorf("resizing %s to min %d max %d desired %d: %w", group, s.Min, s.Max, s.Desired, err)
	}
	return nil
}

// LatestInstanceRefresh reads the group's most recent instance refresh
// (Auto Scaling lists them newest first); a group that never had one is
// ErrNotFound. A rollout that started a refresh but crashed before it
// recorded the ID finds it again here.
func (a *Adapter) LatestInstanceRefresh(ctx context.Context, group string) (Refresh, error) {
	out, err := a.api.DescribeInstanceRefreshes(ctx, &autoscaling.DescribeInstanceRefreshesInput{
		AutoScalingGroupName: aws.String(group),
		MaxRecords:           aws.Int32(1),
	})
	if err != nil {
		return Refresh{}, fmt.Errorf("describing instance refreshes of %s: %w", group, err)
	}
	if len(out.InstanceRefreshes) == 0 {
		return Refresh{}, fmt.Errorf("describing instance refreshes of %s: %w", group, ErrNotFound)
	}
	return refresh(out.InstanceRefreshes[0]), nil
}
