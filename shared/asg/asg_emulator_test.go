package asg_test

import (
	"errors"
	"os"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/stampkit/stampkit/shared/asg"
	"github.com/stampkit/stampkit/shared/awstest"
)

var emu = awstest.New()

func TestMain(m *testing.M) { os.Exit(emu.Run(m)) }

func TestDescribeEmulator(t *testing.T) {
	cfg := emu.Fresh(t)
	f := awstest.NewFleet(t, cfg)
	a := asg.New(autoscaling.NewFromConfig(cfg))

	got, err := a.Describe(t.Context(), f.GroupName)
	if err != nil {
		t.Fatalf("Describe: %v", err)
	}
	want := asg.Group{
		Name:            f.GroupName,
		Min:             awstest.FleetMin,
		Max:             awstest.FleetMax,
		Desired:         awstest.FleetDesired,
		TargetGroupARNs: []string{f.BlueTargetGroupARN},
		LaunchTemplate:  asg.LaunchTemplate{ID: f.LaunchTemplateID, Name: f.LaunchTemplateName, Version: "1"},
	}
	if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(asg.Group{}, "Instances")); diff != "" {
		t.Errorf("Describe mismatch (-want +got):\n%s", diff)
	}
	if n := len(got.Instances); n != awstest.FleetDesired {
		t.Fatalf("instances: got %d, want %d", n, awstest.FleetDesired)
	}
	for _, in := range got.Instances {
		if in.ID == "" || in.LifecycleState != asg.StateInService || in.HealthStatus != "Healthy" ||
			in.LaunchTemplateVersion != "1" || !slices.Contains([]string{"us-east-1a", "us-east-1b"}, in.AvailabilityZone) {
			t.Errorf("instance: got %+v, want an ID, InService, Healthy, template version 1, a fleet zone", in)
		}
	}
	if got.InService() != awstest.FleetDesired || got.Pending() != 0 || got.Terminating() != 0 {
		t.Errorf("counts: got in service %d, pending %d, terminating %d, want %d, 0, 0",
			got.InService(), got.Pending(), got.Terminating(), awstest.FleetDesired)
	}
}

func TestDescribeMissingEmulator(t *testing.T) {
	cfg := emu.Fresh(t)
	_, err := asg.New(autoscaling.NewFromConfig(cfg)).Describe(t.Context(), "nope")
	if !errors.Is(err, asg.ErrNotFound) {
		t.Errorf("Describe(missing): got error %v, want asg.ErrNotFound", err)
	}
}

func TestSetDesiredCapacityEmulator(t *testing.T) {
	cases := []struct {
		name        string
		desired     int
		wantDesired int32
		wantErr     bool
	}{
		{name: "scale out", desired: 3, wantDesired: 3},
		{name: "scale in", desired: 1, wantDesired: 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := emu.Fresh(t)
			f := awstest.NewFleet(t, cfg)
			a := asg.New(autoscaling.NewFromConfig(cfg))

			err := a.SetDesiredCapacity(t.Context(), f.GroupName, tc.desired)
			if (err != nil) != tc.wantErr {
				t.Fatalf("SetDesiredCapacity(%d): got error %v, want error %v", tc.desired, err, tc.wantErr)
			}
			g, err := a.Describe(t.Context(), f.GroupName)
			if err != nil {
				t.Fatalf("Describe: %v", err)
			}
			if g.Desired != tc.wantDesired || int32(g.InService()) != tc.wantDesired {
				t.Errorf("after SetDesiredCapacity(%d): got desired %d, in service %d, want %d",
					tc.desired, g.Desired, g.InService(), tc.wantDesired)
			}
		})
	}
}

// TestEmulatorQuirksSetDesiredCapacity pins two places where moto departs
// from Auto Scaling, so the day it changes this test says so. Real AWS answers
// a desired capacity above MaxSize, and a missing group, with a
// ValidationError (the second one classified by awserr.IsNotFound, see the
// awserr table tests); moto accepts the first and crashes (HTTP 500,
// KeyError) on the second.
func TestEmulatorQuirksSetDesiredCapacity(t *testing.T) {
	cfg := emu.Fresh(t)
	f := awstest.NewFleet(t, cfg)
	a := asg.New(autoscaling.NewFromConfig(cfg))

	if err := a.SetDesiredCapacity(t.Context(), f.GroupName, awstest.FleetMax+1); err != nil {
		t.Errorf("moto quirk gone? SetDesiredCapacity above max: got error %v, want moto to accept it", err)
	}
	err := a.SetDesiredCapacity(t.Context(), "nope", 1)
	emu.AssertFault(t, err, "KeyError: 'nope'")
}

func TestSetLaunchTemplateVersionEmulator(t *testing.T) {
	cfg := emu.Fresh(t)
	f := awstest.NewFleet(t, cfg)
	if _, err := ec2.NewFromConfig(cfg).CreateLaunchTemplateVersion(t.Context(), &ec2.CreateLaunchTemplateVersionInput{
		LaunchTemplateId:   aws.String(f.LaunchTemplateID),
		LaunchTemplateData: &ec2types.RequestLaunchTemplateData{ImageId: aws.String(f.ImageID)},
	}); err != nil {
		t.Fatalf("CreateLaunchTemplateVersion: %v", err)
	}
	a := asg.New(autoscaling.NewFromConfig(cfg))
	if err := a.SetLaunchTemplateVersion(t.Context(), f.GroupName, f.LaunchTemplateID, "2"); err != nil {
		t.Fatalf("SetLaunchTemplateVersion: %v", err)
	}
	g, err := a.Describe(t.Context(), f.GroupName)
	if err != nil {
		t.Fatalf("Describe: %v", err)
	}
	if g.LaunchTemplate.Version != "2" {
		t.Errorf("group template version: got %q, want %q", g.LaunchTemplate.Version, "2")
	}
	// Running instances keep the version they were launched from.
	for _, in := range g.Instances {
		if in.LaunchTemplateVersion != "1" {
			t.Errorf("instance %s template version: got %q, want %q", in.ID, in.LaunchTemplateVersion, "1")
		}
	}
}

// The emulator (moto 5.2.1) does not implement lifecycle-action or
// instance-refresh calls: each answers HTTP 500 NotImplementedError. These
// tests prove the gap, talking to moto past the proxy whose models fill it
// (awsproxy.Lifecycle, awsproxy.Refreshes; the adapter over them:
// asg_models_test.go).
func TestEmulatorGaps(t *testing.T) {
	cases := []struct {
		action string
		call   func(*asg.Adapter, *testing.T, awstest.Fleet) error
	}{
		{"complete_lifecycle_action", func(a *asg.Adapter, t *testing.T, f awstest.Fleet) error {
			return a.CompleteLifecycleAction(t.Context(), asg.LifecycleCompletion{
				Group: f.GroupName, Hook: "launch", InstanceID: "i-0123", Result: asg.ResultContinue})
		}},
		{"record_lifecycle_action_heartbeat", func(a *asg.Adapter, t *testing.T, f awstest.Fleet) error {
			return a.RecordHeartbeat(t.Context(), asg.LifecycleAction{Group: f.GroupName, Hook: "launch", InstanceID: "i-0123"})
		}},
		{"start_instance_refresh", func(a *asg.Adapter, t *testing.T, f awstest.Fleet) error {
			_, err := a.StartInstanceRefresh(t.Context(), asg.RefreshSpec{Group: f.GroupName})
			return err
		}},
		{"describe_instance_refreshes", func(a *asg.Adapter, t *testing.T, f awstest.Fleet) error {
			_, err := a.DescribeInstanceRefresh(t.Context(), f.GroupName, "r-1")
			return err
		}},
		{"cancel_instance_refresh", func(a *asg.Adapter, t *testing.T, f awstest.Fleet) error {
			_, err := a.CancelInstanceRefresh(t.Context(), f.GroupName)
			return err
		}},
		{"rollback_instance_refresh", func(a *asg.Adapter, t *testing.T, f awstest.Fleet) error {
			_, err := a.RollbackInstanceRefresh(t.Context(), f.GroupName)
			return err
		}},
	}
	for _, tc := range cases {
		t.Run(tc.action, func(t *testing.T) {
			f := awstest.NewFleet(t, emu.Fresh(t))
			// Straight to moto: through the proxy, its models answer.
			err := tc.call(asg.New(autoscaling.NewFromConfig(emu.MotoConfig(t))), t, f)
			emu.AssertNotImplemented(t, err, tc.action)
		})
	}
}
