package asg_test

import (
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"

	"github.com/stampkit/stampkit/shared/asg"
	"github.com/stampkit/stampkit/shared/awserr"
	"github.com/stampkit/stampkit/shared/awstest"
)

// These tests check the exact request each adapter method sends through an
// in-process smithy middleware stub. They cover above all the calls the
// emulator lacks (lifecycle actions and instance refreshes, proven in
// TestEmulatorGaps), and shapes moto does not produce (mixed instances
// policy, paging).

func TestRequestShaping(t *testing.T) {
	refreshTime := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	cases := []struct {
		name      string
		operation string
		answer    any
		call      func(*testing.T, *asg.Adapter) (any, error)
		wantInput any
		wantOut   any
	}{
		{
			name:      "set desired capacity ignores cooldown",
			operation: "SetDesiredCapacity",
			answer:    &autoscaling.SetDesiredCapacityOutput{},
			call: func(t *testing.T, a *asg.Adapter) (any, error) {
				return nil, a.SetDesiredCapacity(t.Context(), "web", 7)
			},
			wantInput: &autoscaling.SetDesiredCapacityInput{
				AutoScalingGroupName: aws.String("web"), DesiredCapacity: aws.Int32(7), HonorCooldown: aws.Bool(false),
			},
		},
		{
			name:      "complete lifecycle action by token and instance",
			operation: "CompleteLifecycleAction",
			answer:    &autoscaling.CompleteLifecycleActionOutput{},
			call: func(t *testing.T, a *asg.Adapter) (any, error) {
				return nil, a.CompleteLifecycleAction(t.Context(), asg.LifecycleCompletion{
					Group: "web", Hook: "launch-gate", Token: "tok-1", InstanceID: "i-1", Result: asg.ResultContinue,
				})
			},
			wantInput: &autoscaling.CompleteLifecycleActionInput{
				AutoScalingGroupName: aws.String("web"), LifecycleHookName: aws.String("launch-gate"),
				LifecycleActionToken: aws.String("tok-1"), InstanceId: aws.String("i-1"),
				LifecycleActionResult: aws.String("CONTINUE"),
			},
		},
		{
			name:      "complete lifecycle action by instance only omits the token",
			operation: "CompleteLifecycleAction",
			answer:    &autoscaling.CompleteLifecycleActionOutput{},
			call: func(t *testing.T, a *asg.Adapter) (any, error) {
				return nil, a.CompleteLifecycleAction(t.Context(), asg.LifecycleCompletion{
					Group: "web", Hook: "drain", InstanceID: "i-2", Result: asg.ResultAbandon,
				})
			},
			wantInput: &autoscaling.CompleteLifecycleActionInput{
				AutoScalingGroupName: aws.String("web"), LifecycleHookName: aws.String("drain"),
				InstanceId: aws.String("i-2"), LifecycleActionResult: aws.String("ABANDON"),
			},
		},
		{
			name:      "heartbeat",
			operation: "RecordLifecycleActionHeartbeat",
			answer:    &autoscaling.RecordLifecycleActionHeartbeatOutput{},
			call: func(t *testing.T, a *asg.Adapter) (any, error) {
				return nil, a.RecordHeartbeat(t.Context(), asg.LifecycleAction{Group: "web", Hook: "launch-gate", Token: "tok-1"})
			},
			wantInput: &autoscaling.RecordLifecycleActionHeartbeatInput{
				AutoScalingGroupName: aws.String("web"), LifecycleHookName: aws.String("launch-gate"),
				LifecycleActionToken: aws.String("tok-1"),
			},
		},
		{
			name:      "set launch template version",
			operation: "UpdateAutoScalingGroup",
			answer:    &autoscaling.UpdateAutoScalingGroupOutput{},
			call: func(t *testing.T, a *asg.Adapter) (any, error) {
				return nil, a.SetLaunchTemplateVersion(t.Context(), "web", "lt-1", "4")
			},
			wantInput: &autoscaling.UpdateAutoScalingGroupInput{
				AutoScalingGroupName: aws.String("web"),
				LaunchTemplate:       &types.LaunchTemplateSpecification{LaunchTemplateId: aws.String("lt-1"), Version: aws.String("4")},
			},
		},
		{
			name:      "start refresh with every preference",
			operation: "StartInstanceRefresh",
			answer:    &autoscaling.StartInstanceRefreshOutput{InstanceRefreshId: aws.String("r-1")},
			call: func(t *testing.T, a *asg.Adapter) (any, error) {
				return a.StartInstanceRefresh(t.Context(), asg.RefreshSpec{
					Group:           "web",
					LaunchTemplate:  asg.LaunchTemplate{ID: "lt-1", Version: "5"},
					MinHealthy:      new(int32(90)),
					MaxHealthy:      new(int32(120)),
					WarmupSeconds:   60,
					Checkpoints:     []int32{20, 50, 100},
					CheckpointDelay: 10 * time.Minute,
					SkipMatching:    true,
					AutoRollback:    true,
					AlarmNames:      []string{"web-5xx", "web-latency"},
				})
			},
			wantInput: &autoscaling.StartInstanceRefreshInput{
				AutoScalingGroupName: aws.String("web"),
				Strategy:             types.RefreshStrategyRolling,
				DesiredConfiguration: &types.DesiredConfiguration{LaunchTemplate: &types.LaunchTemplateSpecification{
					LaunchTemplateId: aws.String("lt-1"), Version: aws.String("5"),
				}},
				Preferences: &types.RefreshPreferences{
					MinHealthyPercentage:  aws.Int32(90),
					MaxHealthyPercentage:  aws.Int32(120),
					InstanceWarmup:        aws.Int32(60),
					CheckpointPercentages: []int32{20, 50, 100},
					CheckpointDelay:       aws.Int32(600),
					SkipMatching:          aws.Bool(true),
					AutoRollback:          aws.Bool(true),
					AlarmSpecification:    &types.AlarmSpecification{Alarms: []string{"web-5xx", "web-latency"}},
				},
			},
			wantOut: "r-1",
		},
		{
			name:      "start refresh with defaults leaves AWS defaults",
			operation: "StartInstanceRefresh",
			answer:    &autoscaling.StartInstanceRefreshOutput{InstanceRefreshId: aws.String("r-2")},
			call: func(t *testing.T, a *asg.Adapter) (any, error) {
				return a.StartInstanceRefresh(t.Context(), asg.RefreshSpec{Group: "web"})
			},
			wantInput: &autoscaling.StartInstanceRefreshInput{
				AutoScalingGroupName: aws.String("web"),
				Strategy:             types.RefreshStrategyRolling,
				Preferences:          &types.RefreshPreferences{SkipMatching: aws.Bool(false), AutoRollback: aws.Bool(false)},
			},
			wantOut: "r-2",
		},
		{
			// 0 replaces every instance at once; dropping it would let AWS
			// apply its default of 90.
			name:      "start refresh sends a deliberate zero minimum",
			operation: "StartInstanceRefresh",
			answer:    &autoscaling.StartInstanceRefreshOutput{InstanceRefreshId: aws.String("r-3")},
			call: func(t *testing.T, a *asg.Adapter) (any, error) {
				return a.StartInstanceRefresh(t.Context(), asg.RefreshSpec{Group: "web", MinHealthy: new(int32(0)), MaxHealthy: new(int32(100))})
			},
			wantInput: &autoscaling.StartInstanceRefreshInput{
				AutoScalingGroupName: aws.String("web"),
				Strategy:             types.RefreshStrategyRolling,
				Preferences: &types.RefreshPreferences{MinHealthyPercentage: aws.Int32(0), MaxHealthyPercentage: aws.Int32(100),
					SkipMatching: aws.Bool(false), AutoRollback: aws.Bool(false)},
			},
			wantOut: "r-3",
		},
		{
			name:      "describe refresh",
			operation: "DescribeInstanceRefreshes",
			answer: &autoscaling.DescribeInstanceRefreshesOutput{InstanceRefreshes: []types.InstanceRefresh{{
				InstanceRefreshId: aws.String("r-1"), AutoScalingGroupName: aws.String("web"),
				Status: types.InstanceRefreshStatusInProgress, StatusReason: aws.String("Waiting for instances to warm up"),
				PercentageComplete: aws.Int32(40), InstancesToUpdate: aws.Int32(3), StartTime: aws.Time(refreshTime),
			}}},
			call: func(t *testing.T, a *asg.Adapter) (any, error) {
				return a.DescribeInstanceRefresh(t.Context(), "web", "r-1")
			},
			wantInput: &autoscaling.DescribeInstanceRefreshesInput{
				AutoScalingGroupName: aws.String("web"), InstanceRefreshIds: []string{"r-1"},
			},
			wantOut: asg.Refresh{
				ID: "r-1", Group: "web", Status: "InProgress", StatusReason: "Waiting for instances to warm up",
				PercentageComplete: 40, InstancesToUpdate: 3, StartTime: refreshTime,
			},
		},
		{
			name:      "cancel refresh",
			operation: "CancelInstanceRefresh",
			answer:    &autoscaling.CancelInstanceRefreshOutput{InstanceRefreshId: aws.String("r-1")},
			call: func(t *testing.T, a *asg.Adapter) (any, error) {
				return a.CancelInstanceRefresh(t.Context(), "web")
			},
			wantInput: &autoscaling.CancelInstanceRefreshInput{AutoScalingGroupName: aws.String("web")},
			wantOut:   "r-1",
		},
		{
			name:      "rollback refresh",
			operation: "RollbackInstanceRefresh",
			answer:    &autoscaling.RollbackInstanceRefreshOutput{InstanceRefreshId: aws.String("r-1")},
			call: func(t *testing.T, a *asg.Adapter) (any, error) {
				return a.RollbackInstanceRefresh(t.Context(), "web")
			},
			wantInput: &autoscaling.RollbackInstanceRefreshInput{AutoScalingGroupName: aws.String("web")},
			wantOut:   "r-1",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			stub := awstest.NewStub().On(tc.operation, tc.answer)
			a := asg.New(autoscaling.NewFromConfig(stub.Config()))
			got, err := tc.call(t, a)
			if err != nil {
				t.Fatalf("call: %v", err)
			}
			calls := stub.Calls()
			if len(calls) != 1 || calls[0].Operation != tc.operation {
				t.Fatalf("calls: got %+v, want one %s", calls, tc.operation)
			}
			if diff := awstest.Diff(tc.wantInput, calls[0].Input); diff != "" {
				t.Errorf("%s input mismatch (-want +got):\n%s", tc.operation, diff)
			}
			if diff := cmp.Diff(tc.wantOut, got); diff != "" {
				t.Errorf("result mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestErrorsKeepTheirClass(t *testing.T) {
	noAction := &smithy.GenericAPIError{Code: "ValidationError", Message: "No active Lifecycle Action found with instance ID i-1"}
	stub := awstest.NewStub().
		On("CompleteLifecycleAction", noAction).
		On("RecordLifecycleActionHeartbeat", noAction).
		On("DescribeInstanceRefreshes", &autoscaling.DescribeInstanceRefreshesOutput{}).
		On("StartInstanceRefresh", &smithy.GenericAPIError{Code: "InstanceRefreshInProgress"})
	a := asg.New(autoscaling.NewFromConfig(stub.Config()))
	ctx := t.Context()

	err := a.CompleteLifecycleAction(ctx, asg.LifecycleCompletion{Group: "web", Hook: "h", InstanceID: "i-1", Result: asg.ResultContinue})
	if !awserr.IsNoActiveLifecycleAction(err) {
		t.Errorf("CompleteLifecycleAction: got %v, want a no-active-lifecycle-action error", err)
	}
	err = a.RecordHeartbeat(ctx, asg.LifecycleAction{Group: "web", Hook: "h", InstanceID: "i-1"})
	if !awserr.IsNoActiveLifecycleAction(err) {
		t.Errorf("RecordHeartbeat: got %v, want a no-active-lifecycle-action error", err)
	}
	_, err = a.StartInstanceRefresh(ctx, asg.RefreshSpec{Group: "web"})
	if !awserr.IsConflict(err) {
		t.Errorf("StartInstanceRefresh: got %v, want a conflict error", err)
	}
	_, err = a.DescribeInstanceRefresh(ctx, "web", "r-gone")
	if !errors.Is(err, asg.ErrNotFound) {
		t.Errorf("DescribeInstanceRefresh(missing): got %v, want asg.ErrNotFound", err)
	}
}

// TestDescribeShapes covers group shapes moto does not produce: a template
// reached through a mixed instances policy, every lifecycle state, and more
// than one page.
func TestDescribeShapes(t *testing.T) {
	page := func(token *string, groups ...types.AutoScalingGroup) *autoscaling.DescribeAutoScalingGroupsOutput {
		return &autoscaling.DescribeAutoScalingGroupsOutput{AutoScalingGroups: groups, NextToken: token}
	}
	inst := func(id string, state types.LifecycleState) types.Instance {
		return types.Instance{
			InstanceId: aws.String(id), LifecycleState: state, HealthStatus: aws.String("Healthy"),
			AvailabilityZone: aws.String("us-east-1a"), ProtectedFromScaleIn: aws.Bool(id == "i-1"),
			LaunchTemplate: &types.LaunchTemplateSpecification{Version: aws.String("3")},
		}
	}
	web := types.AutoScalingGroup{
		AutoScalingGroupName: aws.String("web"), MinSize: aws.Int32(1), MaxSize: aws.Int32(9), DesiredCapacity: aws.Int32(5),
		TargetGroupARNs:    []string{"arn:tg/blue"},
		SuspendedProcesses: []types.SuspendedProcess{{ProcessName: aws.String("AlarmNotification"), SuspensionReason: aws.String("User suspended")}},
		MixedInstancesPolicy: &types.MixedInstancesPolicy{LaunchTemplate: &types.LaunchTemplate{
			LaunchTemplateSpecification: &types.LaunchTemplateSpecification{
				LaunchTemplateId: aws.String("lt-1"), LaunchTemplateName: aws.String("web"), Version: aws.String("$Latest"),
			},
		}},
		Instances: []types.Instance{
			inst("i-1", types.LifecycleStateInService),
			inst("i-2", types.LifecycleStatePendingWait),
			inst("i-3", types.LifecycleStatePending),
			inst("i-4", types.LifecycleStateTerminatingWait),
			inst("i-5", types.LifecycleStateStandby),
		},
	}
	var pages int
	stub := awstest.NewStub().On("DescribeAutoScalingGroups", func(in any) (any, error) {
		pages++
		if aws.ToString(in.(*autoscaling.DescribeAutoScalingGroupsInput).NextToken) == "" {
			// The matching group arrives on the second page.
			return page(aws.String("p2")), nil
		}
		return page(nil, web), nil
	})
	got, err := asg.New(autoscaling.NewFromConfig(stub.Config())).Describe(t.Context(), "web")
	if err != nil {
		t.Fatalf("Describe: %v", err)
	}
	if pages != 2 {
		t.Errorf("pages read: got %d, want 2", pages)
	}
	mk := func(id, state string) asg.Instance {
		return asg.Instance{ID: id, LifecycleState: state, HealthStatus: "Healthy", ProtectedFromScaleIn: id == "i-1",
			LaunchTemplateVersion: "3", AvailabilityZone: "us-east-1a"}
	}
	want := asg.Group{
		Name: "web", Min: 1, Max: 9, Desired: 5, TargetGroupARNs: []string{"arn:tg/blue"},
		LaunchTemplate: asg.LaunchTemplate{ID: "lt-1", Name: "web", Version: "$Latest"},
		Suspended:      []string{"AlarmNotification"},
		Instances: []asg.Instance{
			mk("i-1", asg.StateInService), mk("i-2", asg.StatePendingWait), mk("i-3", asg.StatePending),
			mk("i-4", asg.StateTerminatingWait), mk("i-5", asg.StateStandby),
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Describe mismatch (-want +got):\n%s", diff)
	}
	if got.InService() != 1 || got.Pending() != 2 || got.Terminating() != 1 {
		t.Errorf("counts: got in service %d, pending %d, terminating %d, want 1, 2, 1",
			got.InService(), got.Pending(), got.Terminating())
	}
	pages = 0
	c, err := asg.New(autoscaling.NewFromConfig(stub.Config())).Capacity(t.Context(), "web")
	if err != nil {
		t.Fatalf("Capacity: %v", err)
	}
	if !c.Suspended {
		t.Errorf("Capacity of a group with AlarmNotification suspended: Suspended false, want true")
	}
}
