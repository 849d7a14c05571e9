package ec2instance_test

import (
	"errors"
	"net/netip"
	"os"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/google/go-cmp/cmp"

	"github.com/stampkit/stampkit/shared/asg"
	"github.com/stampkit/stampkit/shared/awserr"
	"github.com/stampkit/stampkit/shared/awstest"
	"github.com/stampkit/stampkit/shared/ec2instance"
)

var emu = awstest.New()

func TestMain(m *testing.M) { os.Exit(emu.Run(m)) }

func TestInstanceEmulator(t *testing.T) {
	cfg := emu.Fresh(t)
	f := awstest.NewFleet(t, cfg)
	g, err := asg.New(autoscaling.NewFromConfig(cfg)).Describe(t.Context(), f.GroupName)
	if err != nil || len(g.Instances) == 0 {
		t.Fatalf("Describe group: %v, %d instances", err, len(g.Instances))
	}
	id := g.Instances[0].ID
	a := ec2instance.New(ec2.NewFromConfig(cfg))

	ip, err := a.PrivateIP(t.Context(), id)
	if err != nil {
		t.Fatalf("PrivateIP: %v", err)
	}
	addr, err := netip.ParseAddr(ip)
	if err != nil || !netip.MustParsePrefix("10.0.0.0/16").Contains(addr) {
		t.Errorf("PrivateIP: got %q, want an address in the fleet's VPC 10.0.0.0/16", ip)
	}

	st, err := a.Status(t.Context(), id)
	if err != nil {
		t.Fatalf("Status: %v", err)
	}
	// moto reports a running instance with both checks ok.
	if diff := cmp.Diff(ec2instance.Status{State: ec2instance.StateRunning, Instance: ec2instance.CheckOK, System: ec2instance.CheckOK}, st); diff != "" {
		t.Errorf("Status (-want +got):\n%s", diff)
	}

	const missing = "i-0123456789abcdef0"
	if _, err := a.PrivateIP(t.Context(), missing); !awserr.IsNotFound(err) {
		t.Errorf("PrivateIP(missing): got %v, want a not-found error", err)
	}
	if _, err := a.Status(t.Context(), missing); !awserr.IsNotFound(err) {
		t.Errorf("Status(missing): got %v, want a not-found error", err)
	}
}

func TestStatusStub(t *testing.T) {
	tests := []struct {
		name    string
		answer  *ec2.DescribeInstanceStatusOutput
		want    ec2instance.Status
		wantErr error
	}{
		{
			name: "booting: initializing checks",
			answer: &ec2.DescribeInstanceStatusOutput{InstanceStatuses: []types.InstanceStatus{{
				InstanceId:     aws.String("i-1"),
				InstanceState:  &types.InstanceState{Name: types.InstanceStateNameRunning},
				InstanceStatus: &types.InstanceStatusSummary{Status: types.SummaryStatusInitializing},
				SystemStatus:   &types.InstanceStatusSummary{Status: types.SummaryStatusOk},
			}}},
			want: ec2instance.Status{State: "running", Instance: "initializing", System: "ok"},
		},
		{
			name: "stopped: no checks",
			answer: &ec2.DescribeInstanceStatusOutput{InstanceStatuses: []types.InstanceStatus{{
				InstanceId: aws.String("i-1"), InstanceState: &types.InstanceState{Name: types.InstanceStateNameStopped},
			}}},
			want: ec2instance.Status{State: "stopped"},
		},
		{
			name:    "not listed",
			answer:  &ec2.DescribeInstanceStatusOutput{},
			wantErr: ec2instance.ErrNotFound,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stub := awstest.NewStub().On("DescribeInstanceStatus", tt.answer)
			got, err := ec2instance.New(ec2.NewFromConfig(stub.Config())).Status(t.Context(), "i-1")
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Status: got error %v, want %v", err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Status (-want +got):\n%s", diff)
			}
			want := &ec2.DescribeInstanceStatusInput{InstanceIds: []string{"i-1"}, IncludeAllInstances: aws.Bool(true)}
			if diff := awstest.Diff(want, stub.Calls()[0].Input); diff != "" {
				t.Errorf("input (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPrivateIPStub(t *testing.T) {
	tests := []struct {
		name    string
		answer  *ec2.DescribeInstancesOutput
		want    string
		wantErr error
	}{
		{
			name: "pending without an address yet",
			answer: &ec2.DescribeInstancesOutput{Reservations: []types.Reservation{{Instances: []types.Instance{
				{InstanceId: aws.String("i-1")},
			}}}},
		},
		{
			name: "address",
			answer: &ec2.DescribeInstancesOutput{Reservations: []types.Reservation{{Instances: []types.Instance{
				{InstanceId: aws.String("i-1"), PrivateIpAddress: aws.String("10.0.1.7")},
			}}}},
			want: "10.0.1.7",
		},
		{name: "not listed", answer: &ec2.DescribeInstancesOutput{}, wantErr: ec2instance.ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stub := awstest.NewStub().On("DescribeInstances", tt.answer)
			got, err := ec2instance.New(ec2.NewFromConfig(stub.Config())).PrivateIP(t.Context(), "i-1")
			if !errors.Is(err, tt.wantErr) || got != tt.want {
				t.Fatalf("PrivateIP: got %q, %v; want %q, %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
}
