package ssmcommand_test

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"

	"github.com/stampkit/stampkit/shared/asg"
	"github.com/stampkit/stampkit/shared/awstest"
	"github.com/stampkit/stampkit/shared/ssmcommand"
)

var emu = awstest.New()

func TestMain(m *testing.M) { os.Exit(emu.Run(m)) }

func TestSendAndReadEmulator(t *testing.T) {
	cfg := emu.Fresh(t)
	f := awstest.NewFleet(t, cfg)
	g, err := asg.New(autoscaling.NewFromConfig(cfg)).Describe(t.Context(), f.GroupName)
	if err != nil || len(g.Instances) < 2 {
		t.Fatalf("Describe group: %v, %d instances", err, len(g.Instances))
	}
	a := ssmcommand.New(ssm.NewFromConfig(cfg))
	id, err := a.Send(t.Context(), g.Instances[0].ID, ssmcommand.Command{
		Document: "AWS-RunShellScript", Commands: []string{"cloud-init status --wait"}, Timeout: time.Minute, Comment: "probe",
	})
	if err != nil || id == "" {
		t.Fatalf("Send: got %q, %v; want a command id", id, err)
	}
	// moto finishes every command at once, successfully; the statuses of a
	// real run (Pending, InProgress, Failed with an exit code) are covered
	// by the stub tests below.
	inv, err := a.Invocation(t.Context(), id, g.Instances[0].ID)
	if err != nil {
		t.Fatalf("Invocation: %v", err)
	}
	if diff := cmp.Diff(ssmcommand.Invocation{Status: ssmcommand.StatusSuccess}, inv); diff != "" || !inv.Done() {
		t.Errorf("Invocation (-want +got):\n%s", diff)
	}
	// moto's server answers Success for any instance, even one the command
	// was not sent to, so InvocationDoesNotExist is covered by the stub
	// test below.
}

func TestSendStub(t *testing.T) {
	tests := []struct {
		name      string
		command   ssmcommand.Command
		answer    any
		wantInput *ssm.SendCommandInput
		wantID    string
		wantErr   error
	}{
		{
			name:    "commands with the execution timeout",
			command: ssmcommand.Command{Document: "AWS-RunShellScript", Commands: []string{"a", "b"}, Timeout: 90 * time.Second, Comment: "probe boot"},
			answer:  &ssm.SendCommandOutput{Command: &types.Command{CommandId: aws.String("cmd-1")}},
			wantInput: &ssm.SendCommandInput{
				DocumentName: aws.String("AWS-RunShellScript"), InstanceIds: []string{"i-1"},
				Parameters:     map[string][]string{"commands": {"a", "b"}, "executionTimeout": {"90"}},
				TimeoutSeconds: aws.Int32(90), Comment: aws.String("probe boot"),
			},
			wantID: "cmd-1",
		},
		{
			name:    "a timeout below what SSM accepts is raised to 30 s",
			command: ssmcommand.Command{Document: "AWS-RunShellScript", Commands: []string{"true"}, Timeout: 5 * time.Second},
			answer:  &ssm.SendCommandOutput{Command: &types.Command{CommandId: aws.String("cmd-2")}},
			wantInput: &ssm.SendCommandInput{
				DocumentName: aws.String("AWS-RunShellScript"), InstanceIds: []string{"i-1"},
				Parameters:     map[string][]string{"commands": {"true"}, "executionTimeout": {"30"}},
				TimeoutSeconds: aws.Int32(30),
			},
			wantID: "cmd-2",
		},
		{
			name:    "an instance whose agent is not online is ErrNotManaged",
			command: ssmcommand.Command{Document: "AWS-RunShellScript", Commands: []string{"true"}},
			answer:  &smithy.GenericAPIError{Code: "InvalidInstanceId", Message: "Instances [[i-1]] not in a valid state for account 1"},
			wantErr: ssmcommand.ErrNotManaged,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stub := awstest.NewStub().On("SendCommand", tt.answer)
			id, err := ssmcommand.New(ssm.NewFromConfig(stub.Config())).Send(t.Context(), "i-1", tt.command)
			if !errors.Is(err, tt.wantErr) || id != tt.wantID {
				t.Fatalf("Send: got %q, %v; want %q, %v", id, err, tt.wantID, tt.wantErr)
			}
			if tt.wantInput == nil {
				return
			}
			if diff := awstest.Diff(tt.wantInput, stub.Calls()[0].Input); diff != "" {
				t.Errorf("input (-want +got):\n%s", diff)
			}
		})
	}
}

func TestInvocationStub(t *testing.T) {
	long := strings.Repeat("x", 600) + "disk full"
	tests := []struct {
		name     string
		answer   any
		want     ssmcommand.Invocation
		wantDone bool
		wantErr  error
	}{
		{
			name:   "running",
			answer: &ssm.GetCommandInvocationOutput{Status: types.CommandInvocationStatusInProgress, ResponseCode: -1},
			want:   ssmcommand.Invocation{Status: "InProgress", ResponseCode: -1},
		},
		{
			name: "failed: the end of standard error",
			answer: &ssm.GetCommandInvocationOutput{Status: types.CommandInvocationStatusFailed, ResponseCode: 3,
				StandardOutputContent: aws.String("starting"), StandardErrorContent: aws.String(long)},
			want:     ssmcommand.Invocation{Status: "Failed", ResponseCode: 3, Output: "…" + long[len(long)-512:]},
			wantDone: true,
		},
		{
			name:     "timed out",
			answer:   &ssm.GetCommandInvocationOutput{Status: types.CommandInvocationStatusTimedOut, StandardOutputContent: aws.String("waiting")},
			want:     ssmcommand.Invocation{Status: "TimedOut", Output: "waiting"},
			wantDone: true,
		},
		{
			name:    "not picked up yet",
			answer:  &smithy.GenericAPIError{Code: "InvocationDoesNotExist"},
			wantErr: ssmcommand.ErrNoInvocation,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stub := awstest.NewStub().On("GetCommandInvocation", tt.answer)
			got, err := ssmcommand.New(ssm.NewFromConfig(stub.Config())).Invocation(t.Context(), "cmd-1", "i-1")
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Invocation: got error %v, want %v", err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Invocation (-want +got):\n%s", diff)
			}
			if err == nil && got.Done() != tt.wantDone {
				t.Errorf("Done: got %v, want %v", got.Done(), tt.wantDone)
			}
			want := &ssm.GetCommandInvocationInput{CommandId: aws.String("cmd-1"), InstanceId: aws.String("i-1")}
			if diff := awstest.Diff(want, stub.Calls()[0].Input); diff != "" {
				t.Errorf("input (-want +got):\n%s", diff)
			}
		})
	}
}
