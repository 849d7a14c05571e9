// Package asg adapts the EC2 Auto Scaling API to the calls stampkit makes:
// reading a group, setting its capacity, finishing lifecycle actions, and
// driving instance refreshes. Its methods take and return plain structs; no
// SDK type crosses the package boundary.
package asg

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
)

// API is the subset of *autoscaling.Client the adapter calls.
type API interface {
	DescribeAutoScalingGroups(ctx context.Context, in *autoscaling.DescribeAutoScalingGroupsInput, optFns ...func(*autoscaling.Options)) (*autoscaling.DescribeAutoScalingGroupsOutput, error)
	SetDesiredCapacity(ctx context.Context, in *autoscaling.SetDesiredCapacityInput, optFns ...func(*autoscaling.Options)) (*autoscaling.SetDesiredCapacityOutput, error)
	UpdateAutoScalingGroup(ctx context.Context, in *autoscaling.UpdateAutoScalingGroupInput, optFns ...func(*autoscaling.Options)) (*autoscaling.UpdateAutoScalingGroupOutput, error)
	CompleteLifecycleAction(ctx context.Context, in *autoscaling.CompleteLifecycleActionInput, optFns ...func(*autoscaling.Options)) (*autoscaling.CompleteLifecycleActionOutput, error)
	RecordLifecycleActionHeartbeat(ctx context.Context, in *autoscaling.RecordLifecycleActionHeartbeatInput, optFns ...func(*autoscaling.Options)) (*autoscaling.RecordLifecycleActionHeartbeatOutput, error)
	StartInstanceRefresh(ctx context.Context, in *autoscaling.StartInstanceRefreshInput, optFns ...func(*autoscaling.Options)) (*autoscaling.StartInstanceRefreshOutput, error)
	DescribeInstanceRefreshes(ctx context.Context, in *autoscaling.DescribeInstanceRefreshesInput, optFns ...func(*autoscaling.Options)) (*autoscaling.DescribeInstanceRefreshesOutput, error)
	CancelInstanceRefresh(ctx context.Context, in *autoscaling.CancelInstanceRefreshInput, optFns ...func(*autoscaling.Options)) (*autoscaling.CancelInstanceRefreshOutput, error)
	RollbackInstanceRefresh(ctx context.Context, in *autoscaling.RollbackInstanceRefreshInput, optFns ...func(*autoscaling.Options)) (*autoscaling.RollbackInstanceRefreshOutput, error)
}

var _ API = (*autoscaling.Client)(nil)

// ErrNotFound reports a group or instance refresh that does not exist.
// DescribeAutoScalingGroups answers a missing group with an empty list, not
// an error, so the adapter supplies this sentinel itself.
var ErrNotFound = errors.New("not found")

// Lifecycle states of an instance, as Auto Scaling names them.
const (
	StatePending            = "Pending"
	StatePendingWait        = "Pending:Wait"
	StatePendingProceed     = "Pending:Proceed"
	StateInService          = "InService"
	StateTerminating        = "Terminating"
	StateTerminatingWait    = "Terminating:Wait"
	StateTerminatingProceed = "Terminating:Proceed"
	StateStandby            = "Standby"
)

// Adapter calls Auto Scaling through an API.
type Adapter struct {
	api API
}

// New returns an Adapter over api, normally an *autoscaling.Client.
func New(api API) *Adapter {
	return &Adapter{api: api}
}

// Group is the part of an Auto Scaling group that stampkit decides on.
type Group struct {
	Name            string
	Min, Max        int32
	Desired         int32
	Instances       []Instance
	TargetGroupARNs []string
	// LaunchTemplate is the group's template, taken from the mixed instances
	// policy when the group has one; zero when it uses a launch configuration.
	LaunchTemplate LaunchTemplate
	// Suspended lists the group's suspended processes (AlarmNotification,
	// Launch, …).
	Suspended []string
}

// Instance is one member of a group.
type Instance struct {
	ID                    string
	LifecycleState        string // one of the State* constants
	HealthStatus          string // "Healthy" or "Unhealthy"
	ProtectedFromScaleIn  bool
	LaunchTemplateVersion string // the version the instance was launched from
	AvailabilityZone      string
}

// LaunchTemplate names a launch template and a version ("3", "$Latest",
// "$Default").
type LaunchTemplate struct {
	ID      string
	Name    string
	Version string
}

// InService counts instances in service, whatever their health.
func (g Group) InService() int { return g.count(StateInService) }

// Pending counts instances launching, including those held by a launch
// lifecycle hook.
func (g Group) Pending() int { return g.count(StatePending, StatePendingWait, StatePendingProceed) }

// Terminating counts instances on their way out, including those held by a
// terminate lifecycle hook.
func (g Group) Terminating() int {
	return g.count(StateTerminating, StateTerminatingWait, StateTerminatingProceed)
}

func (g Group) count(states ...string) int {
	n := 0
	for _, in := range g.Instances {
		for _, s := range states {
			if in.LifecycleState == s {
				n++
				break
			}
		}
	}
	return n
}

// Describe reads one group. A missing group is ErrNotFound.
func (a *Adapter) Describe(ctx context.Context, name string) (Group, error) {
	p := autoscaling.NewDescribeAutoScalingGroupsPaginator(a.api, &autoscaling.DescribeAutoScalingGroupsInput{
		AutoScalingGroupNames: []string{name},
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return Group{}, fmt.Errorf("describing auto scaling group %s: %w", name, err)
		}
		for _, g := range page.AutoScalingGroups {
			if aws.ToString(g.AutoScalingGroupName) == name {
				return group(g), nil
			}
		}
	}
	return Group{}, fmt.Errorf("describing auto scaling group %s: %w", name, ErrNotFound)
}

func group(g types.AutoScalingGroup) Group {
	out := Group{
		Name:            aws.ToString(g.AutoScalingGroupName),
		Min:             aws.ToInt32(g.MinSize),
		Max:             aws.ToInt32(g.MaxSize),
		Desired:         aws.ToInt32(g.DesiredCapacity),
		TargetGroupARNs: g.TargetGroupARNs,
		LaunchTemplate:  launchTemplate(g.LaunchTemplate),
	}
	if g.LaunchTemplate == nil && g.MixedInstancesPolicy != nil && g.MixedInstancesPolicy.LaunchTemplate != nil {
		out.LaunchTemplate = launchTemplate(g.MixedInstancesPolicy.LaunchTemplate.LaunchTemplateSpecification)
	}
	for _, sp := range g.SuspendedProcesses {
		out.Suspended = append(out.Suspended, aws.ToString(sp.ProcessName))
	}
	for _, in := range g.Instances {
		out.Instances = append(out.Instances, Instance{
			ID:                    aws.ToString(in.InstanceId),
			LifecycleState:        string(in.LifecycleState),
			HealthStatus:          aws.ToString(in.HealthStatus),
			ProtectedFromScaleIn:  aws.ToBool(in.ProtectedFromScaleIn),
			LaunchTemplateVersion: launchTemplate(in.LaunchTemplate).Version,
			AvailabilityZone:      aws.ToString(in.AvailabilityZone),
		})
	}
	return out
}

func launchTemplate(s *types.LaunchTemplateSpecification) LaunchTemplate {
	if s == nil {
		return LaunchTemplate{}
	}
	return LaunchTemplate{
		ID:      aws.ToString(s.LaunchTemplateId),
		Name:    aws.ToString(s.LaunchTemplateName),
		Version: aws.ToString(s.Version),
	}
}

// SetDesiredCapacity sets the group's desired capacity. It ignores the
// group's cooldown: the scaler keeps its own cooldown in DynamoDB and has
// already decided that now is the time.
func (a *Adapter) SetDesiredCapacity(ctx context.Context, name string, n int) error {
	_, err := a.api.SetDesiredCapacity(ctx, &autoscaling.SetDesiredCapacityInput{
		AutoScalingGroupName: aws.String(name),
		DesiredCapacity:      aws.Int32(int32(n)),
		HonorCooldown:        aws.Bool(false),
	})
	if err != nil {
		return fmt.Errorf("setting desired capacity of %s to %d: %w", name, n, err)
	}
	return nil
}
