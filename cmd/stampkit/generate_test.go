package main

import (
	"bytes"
	"io"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/stampkit/stampkit/shared/event"
)

// TestGenerate generates each kind with flags other than the defaults and
// checks that the event decodes to that kind with those fields.
func TestGenerate(t *testing.T) {
	const id = "3f2b8c1e-7a4d-4e9b-8c2f-1d0e9a8b7c6d"
	at := time.Date(2026, 12, 7, 10, 11, 12, 0, time.UTC)
	stamp := at.Format(time.RFC3339)
	tests := []struct {
		name string
		args []string
		want event.Event
		// resources, when set, is what the event's resources must hold.
		resources []string
	}{
		{
			name: "alarm",
			args: []string{"alarm", "-alarm", "web-asg-cpu-low", "-state", "OK", "-previous", "ALARM", "-value", "12.5", "-threshold", "40"},
			want: event.Event{
				Source: event.SourceCloudWatch, DetailType: event.DetailTypeAlarmStateChange,
				Detail: &event.AlarmStateChange{
					AlarmName:     "web-asg-cpu-low",
					AlarmARN:      "arn:aws:cloudwatch:us-east-1:123456789012:alarm:web-asg-cpu-low",
					State:         event.AlarmState{Value: "OK", Timestamp: at},
					PreviousState: event.AlarmState{Value: "ALARM", Timestamp: at.Add(-5 * time.Minute)},
				},
			},
			resources: []string{"arn:aws:cloudwatch:us-east-1:123456789012:alarm:web-asg-cpu-low"},
		},
		{
			name: "alarm with insufficient data",
			args: []string{"alarm", "-state", "INSUFFICIENT_DATA", "-previous", "OK"},
			want: event.Event{
				Source: event.SourceCloudWatch, DetailType: event.DetailTypeAlarmStateChange,
				Detail: &event.AlarmStateChange{
					AlarmName:     "web-asg-cpu-high",
					AlarmARN:      "arn:aws:cloudwatch:us-east-1:123456789012:alarm:web-asg-cpu-high",
					State:         event.AlarmState{Value: "INSUFFICIENT_DATA", Timestamp: at},
					PreviousState: event.AlarmState{Value: "OK", Timestamp: at.Add(-5 * time.Minute)},
				},
			},
		},
		{
			name: "lifecycle-launch",
			args: []string{"lifecycle-launch", "-group", "api-asg", "-hook", "gate", "-instance", "i-0aaaabbbbccccdddd", "-token", "tok-1", "-origin", "WarmPool", "-destination", "AutoScalingGroup"},
			want: event.Event{
				Source: event.SourceAutoScaling, DetailType: event.DetailTypeLaunchLifecycleAction,
				Detail: &event.LifecycleAction{
					GroupName: "api-asg", HookName: "gate", Token: "tok-1", Transition: event.TransitionLaunching,
					InstanceID: "i-0aaaabbbbccccdddd", Origin: event.PlaceWarmPool, Destination: event.PlaceAutoScalingGroup,
				},
			},
		},
		{
			name: "lifecycle-terminate",
			args: []string{"lifecycle-terminate", "-group", "api-asg", "-hook", "drain", "-instance", "i-0123", "-token", "tok-2", "-destination", "WarmPool"},
			want: event.Event{
				Source: event.SourceAutoScaling, DetailType: event.DetailTypeTerminateLifecycleAction,
				Detail: &event.LifecycleAction{
					GroupName: "api-asg", HookName: "drain", Token: "tok-2", Transition: event.TransitionTerminating,
					InstanceID: "i-0123", Origin: event.PlaceAutoScalingGroup, Destination: event.PlaceWarmPool,
				},
			},
		},
		{
			name: "schedule",
			args: []string{"schedule"},
			want: event.Event{
				Source: event.SourceEvents, DetailType: event.DetailTypeScheduled,
				Detail: &event.Tick{At: at, Rule: "arn:aws:events:us-east-2:123456789012:rule/my-schedule"},
			},
		},
		{
			name: "ami-available",
			args: []string{"ami-available", "-ami", "ami-0123456789abcdef0"},
			want: event.Event{
				Source: event.SourceEC2, DetailType: event.DetailTypeAMIStateChange,
				Detail: &event.AMIStateChange{ImageID: "ami-0123456789abcdef0", State: event.AMIStateAvailable},
			},
			resources: []string{"arn:aws:ec2:us-east-1::image/ami-0123456789abcdef0"},
		},
		{
			name: "ami-available failed",
			args: []string{"ami-available", "-ami", "ami-0123456789abcdef0", "-state", "failed"},
			want: event.Event{
				Source: event.SourceEC2, DetailType: event.DetailTypeAMIStateChange,
				Detail: &event.AMIStateChange{ImageID: "ami-0123456789abcdef0", State: event.AMIStateFailed},
			},
		},
		{
			name: "image-builder",
			args: []string{"image-builder", "-image", "arn:aws:imagebuilder:eu-west-1:123456789012:image/web/2.0.0/3", "-status", "FAILED", "-reason", "test failed"},
			want: event.Event{
				Source: event.SourceImageBuilder, DetailType: event.DetailTypeImageStateChange,
				Detail: &event.ImageStateChange{
					ImageARN: "arn:aws:imagebuilder:eu-west-1:123456789012:image/web/2.0.0/3",
					State:    event.ImageStatusFailed, PreviousState: event.ImageStatusTesting, Reason: "test failed",
				},
			},
		},
		{
			name: "image-ready",
			args: []string{"image-ready", "-ami", "ami-0fedcba9876543210"},
			want: event.Event{
				Source: event.SourceStampkit, DetailType: event.DetailTypeImageReady,
				Detail: &event.ImageReady{ImageID: "ami-0fedcba9876543210"},
			},
		},
		{
			name: "rollout-command",
			args: []string{"rollout-command", "-fleet", "api", "-action", "promote", "-reason", "canary is clean"},
			want: event.Event{
				Source: event.SourceStampkit, DetailType: event.DetailTypeCommand,
				Detail: &event.Command{Fleet: "api", Action: event.CommandPromote, Reason: "canary is clean"},
			},
		},
		{
			name: "refresh",
			args: []string{"refresh", "-group", "api-asg", "-status", "rollback-failed", "-refresh", "r-1"},
			want: event.Event{
				Source: event.SourceAutoScaling, DetailType: event.DetailTypeRefreshRollbackFailed,
				Detail: &event.InstanceRefresh{GroupName: "api-asg", InstanceRefreshID: "r-1", Status: event.RefreshRollbackFailed},
			},
		},
		{
			name: "refresh checkpoint",
			args: []string{"refresh", "-status", "checkpoint-reached", "-refresh", "r-2"},
			want: event.Event{
				Source: event.SourceAutoScaling, DetailType: event.DetailTypeRefreshCheckpointReached,
				Detail: &event.InstanceRefresh{
					GroupName: "web-asg", InstanceRefreshID: "r-2", Status: event.RefreshCheckpointReached,
					CheckpointPercentage: 50, CheckpointDelay: 5 * time.Minute,
				},
			},
		},
	}
	ignore := cmp.Options{
		cmpopts.IgnoreFields(event.Event{}, "Region", "Account", "Resources"),
		cmpopts.IgnoreFields(event.AlarmStateChange{}, "Description", "Metrics"),
		cmpopts.IgnoreFields(event.AlarmState{}, "Reason", "ReasonData"),
		cmpopts.IgnoreFields(event.LifecycleAction{}, "NotificationMetadata"),
		cmpopts.IgnoreFields(event.AMIStateChange{}, "RequestID", "ErrorMessage"),
		cmpopts.EquateApproxTime(0),
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"events", "generate"}, tt.args[0], "-id", id, "-time", stamp)
			args = append(args, tt.args[1:]...)
			var stdout, stderr bytes.Buffer
			if err := run(t.Context(), args, &stdout, &stderr); err != nil {
				t.Fatalf("%q: %v\nstderr:\n%s", args, err, stderr.String())
			}
			evs, err := event.Decode(stdout.Bytes())
			if err != nil {
				t.Fatalf("decoding the generated event: %v\n%s", err, stdout.String())
			}
			if len(evs) != 1 {
				t.Fatalf("got %d events, want 1", len(evs))
			}
			want := tt.want
			want.ID, want.Time = id, at
			if diff := cmp.Diff(want, evs[0], ignore); diff != "" {
				t.Errorf("decoded event (-want +got):\n%s", diff)
			}
			if tt.resources != nil {
				if diff := cmp.Diff(tt.resources, evs[0].Resources); diff != "" {
					t.Errorf("resources (-want +got):\n%s", diff)
				}
			}
		})
	}
}

// TestGenerateEveryKind generates every kind with its defaults: each
// decodes, gets a random UUID v4 id unless the package derives its own,
// and is timed now, to the second.
func TestGenerateEveryKind(t *testing.T) {
	uuid4 := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	now := time.Date(2026, 12, 7, 9, 8, 7, 654321000, time.UTC)
	for _, k := range eventKinds {
		t.Run(k.name, func(t *testing.T) {
			var out bytes.Buffer
			if err := events([]string{"generate", k.name}, &out, io.Discard, func() time.Time { return now }); err != nil {
				t.Fatal(err)
			}
			evs, err := event.Decode(out.Bytes())
			if err != nil {
				t.Fatalf("decoding: %v\n%s", err, out.String())
			}
			if got, want := evs[0].Time, now.Truncate(time.Second); !got.Equal(want) {
				t.Errorf("time: got %v, want %v", got, want)
			}
			if !k.ownID && !uuid4.MatchString(evs[0].ID) {
				t.Errorf("id: got %q, want a random UUID v4", evs[0].ID)
			}
		})
	}
}

// TestGenerateUsageErrors checks that a flag value the event cannot carry
// is refused in the user's words, as a usage error (exit 2).
func TestGenerateUsageErrors(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		stderr string
	}{
		{name: "no kind", args: nil, stderr: "events generate needs a kind: alarm, lifecycle-launch"},
		{name: "unknown kind", args: []string{"lambda"}, stderr: `unknown kind "lambda"`},
		{name: "unknown alarm state", args: []string{"alarm", "-state", "FIRING"}, stderr: `-state "FIRING" is not ALARM, OK or INSUFFICIENT_DATA`},
		{name: "unknown previous state", args: []string{"alarm", "-previous", "ok"}, stderr: `-previous "ok" is not ALARM, OK or INSUFFICIENT_DATA`},
		{name: "no change of state", args: []string{"alarm", "-state", "OK", "-previous", "OK"}, stderr: "-state and -previous are both OK"},
		{name: "time not RFC 3339", args: []string{"schedule", "-time", "2026-12-07 10:00"}, stderr: `-time "2026-12-07 10:00" is not an RFC 3339 time`},
		{name: "instance id", args: []string{"lifecycle-launch", "-instance", "web-1"}, stderr: `-instance "web-1" is not an instance id (i-…)`},
		{name: "unknown place", args: []string{"lifecycle-terminate", "-destination", "Void"}, stderr: `-destination "Void" is not EC2, AutoScalingGroup or WarmPool`},
		{name: "empty group", args: []string{"refresh", "-group", ""}, stderr: "-group is empty"},
		{name: "AMI id", args: []string{"ami-available", "-ami", "0abc"}, stderr: `-ami "0abc" is not an AMI id (ami-…)`},
		{name: "AMI state", args: []string{"ami-available", "-state", "pending"}, stderr: `-state "pending" is not available or failed`},
		{name: "image ARN", args: []string{"image-builder", "-image", "ami-0abc"}, stderr: `-image "ami-0abc" is not an Image Builder image ARN`},
		{name: "image status", args: []string{"image-builder", "-status", "available"}, stderr: `-status "available" is not AVAILABLE or FAILED`},
		{name: "image-ready AMI id", args: []string{"image-ready", "-ami", "ami-"}, stderr: `-ami "ami-" is not an AMI id`},
		{name: "rollout action", args: []string{"rollout-command", "-action", "rollback"}, stderr: `-action "rollback" is not pause, resume, abort or promote`},
		{name: "fleet name", args: []string{"rollout-command", "-fleet", "Web_1"}, stderr: `-fleet got "Web_1"`},
		{name: "refresh status", args: []string{"refresh", "-status", "done"}, stderr: `-status "done" is not started, succeeded`},
		{name: "an argument after the flags", args: []string{"schedule", "extra"}, stderr: "takes no arguments"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"events", "generate"}, tt.args...)
			var stdout, stderr bytes.Buffer
			code := exitCode(run(t.Context(), args, &stdout, &stderr), args, &stderr)
			if code != 2 {
				t.Errorf("exit %d, want 2\nstderr:\n%s", code, stderr.String())
			}
			if !strings.Contains(stderr.String(), tt.stderr) {
				t.Errorf("stderr lacks %q:\n%s", tt.stderr, stderr.String())
			}
			if !strings.Contains(stderr.String(), "usage: stampkit events") {
				t.Errorf("stderr lacks the usage:\n%s", stderr.String())
			}
			if stdout.Len() > 0 {
				t.Errorf("stdout: got %q, want nothing", stdout.String())
			}
		})
	}
}

// TestGenerateHelp checks that "-h" lists the kinds, or one kind's flags.
func TestGenerateHelp(t *testing.T) {
	tests := []struct {
		args []string
		want []string
	}{
		{args: []string{"events", "generate", "-h"}, want: []string{"usage: stampkit events generate KIND", "lifecycle-terminate", "rollout-command"}},
		{args: []string{"events", "generate", "alarm", "-h"}, want: []string{"usage: stampkit events generate alarm", "-threshold", "-previous", "-id", "-time"}},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := exitCode(run(t.Context(), tt.args, &stdout, &stderr), tt.args, &stderr); code != 0 {
				t.Errorf("exit %d, want 0", code)
			}
			for _, w := range tt.want {
				if !strings.Contains(stderr.String(), w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr.String())
				}
			}
		})
	}
}

// TestSamplesAreNotGenerate keeps "events generate" from hiding a sample:
// "events NAME" prints the sample NAME.
func TestSamplesAreNotGenerate(t *testing.T) {
	samples, err := event.Samples()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := samples["generate"]; ok {
		t.Error(`a sample is named "generate"; "events generate" hides it`)
	}
}
