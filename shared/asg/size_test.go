package asg_test

import (
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/google/go-cmp/cmp"

	"github.com/stampkit/stampkit/shared/asg"
	"github.com/stampkit/stampkit/shared/awstest"
)

func TestResizeRequest(t *testing.T) {
	tests := []struct {
		name string
		size asg.Size
		want *autoscaling.UpdateAutoScalingGroupInput
	}{
		{name: "all three", size: asg.Size{Min: 1, Max: 4, Desired: 2}, want: &autoscaling.UpdateAutoScalingGroupInput{
			AutoScalingGroupName: aws.String("web"), MinSize: aws.Int32(1), MaxSize: aws.Int32(4), DesiredCapacity: aws.Int32(2),
		}},
		{name: "empty the group, keep the maximum", size: asg.Size{}, want: &autoscaling.UpdateAutoScalingGroupInput{
			AutoScalingGroupName: aws.String("web"), MinSize: aws.Int32(0), DesiredCapacity: aws.Int32(0),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stub := awstest.NewStub().On("UpdateAutoScalingGroup", &autoscaling.UpdateAutoScalingGroupOutput{})
			if err := asg.New(autoscaling.NewFromConfig(stub.Config())).Resize(t.Context(), "web", tt.size); err != nil {
				t.Fatalf("Resize: %v", err)
			}
			if d := awstest.Diff(tt.want, stub.Calls()[0].Input); d != "" {
				t.Errorf("UpdateAutoScalingGroup input (-want +got):\n%s", d)
			}
		})
	}
}

// The emulator lacks DescribeInstanceRefreshes (TestEmulatorGaps).
func TestLatestInstanceRefresh(t *testing.T) {
	start := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	stub := awstest.NewStub().On("DescribeInstanceRefreshes", &autoscaling.DescribeInstanceRefreshesOutput{
		InstanceRefreshes: []types.InstanceRefresh{{
			InstanceRefreshId: aws.String("r-2"), AutoScalingGroupName: aws.String("web"),
			Status: types.InstanceRefreshStatusInProgress, PercentageComplete: aws.Int32(40), StartTime: aws.Time(start),
		}},
	})
	got, err := asg.New(autoscaling.NewFromConfig(stub.Config())).LatestInstanceRefresh(t.Context(), "web")
	if err != nil {
		t.Fatalf("LatestInstanceRefresh: %v", err)
	}
	want := asg.Refresh{ID: "r-2", Group: "web", Status: "InProgress", PercentageComplete: 40, StartTime: start}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("refresh (-want +got):\n%s", diff)
	}
	in := &autoscaling.DescribeInstanceRefreshesInput{AutoScalingGroupName: aws.String("web"), MaxRecords: aws.Int32(1)}
	if d := awstest.Diff(in, stub.Calls()[0].Input); d != "" {
		t.Errorf("input (-want +got):\n%s", d)
	}

	empty := awstest.NewStub().On("DescribeInstanceRefreshes", &autoscaling.DescribeInstanceRefreshesOutput{})
	if _, err := asg.New(autoscaling.NewFromConfig(empty.Config())).LatestInstanceRefresh(t.Context(), "web"); !errors.Is(err, asg.ErrNotFound) {
		t.Errorf("no refreshes: got %v, want ErrNotFound", err)
	}
}

func TestResizeEmulator(t *testing.T) {
	cfg := emu.Fresh(t)
	f := awstest.NewFleet(t, cfg)
	a := asg.New(autoscaling.NewFromConfig(cfg))
	for _, size := range []asg.Size{{Min: 0, Max: 4, Desired: 3}, {Min: 0, Desired: 0}} {
		if err := a.Resize(t.Context(), f.GroupName, size); err != nil {
			t.Fatalf("Resize %+v: %v", size, err)
		}
		g, err := a.Describe(t.Context(), f.GroupName)
		if err != nil {
			t.Fatalf("Describe: %v", err)
		}
		// Max 0 leaves the fixture's maximum.
		want := asg.Size{Min: size.Min, Max: awstest.FleetMax, Desired: size.Desired}
		if got := (asg.Size{Min: int(g.Min), Max: int(g.Max), Desired: int(g.Desired)}); got != want {
			t.Errorf("after Resize %+v: got %+v, want %+v", size, got, want)
		}
		if got := len(g.Instances); got != size.Desired {
			t.Errorf("after Resize %+v: got %d instances, want %d", size, got, size.Desired)
		}
	}
}
