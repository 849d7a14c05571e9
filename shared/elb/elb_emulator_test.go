package elb_test

import (
	"os"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/google/go-cmp/cmp"

	"github.com/stampkit/stampkit/shared/asg"
	"github.com/stampkit/stampkit/shared/awserr"
	"github.com/stampkit/stampkit/shared/awstest"
	"github.com/stampkit/stampkit/shared/elb"
)

var emu = awstest.New()

func TestMain(m *testing.M) { os.Exit(emu.Run(m)) }

// groupInstances returns the IDs of the fleet group's instances, sorted.
func groupInstances(t *testing.T, f awstest.Fleet, cfg aws.Config) []string {
	t.Helper()
	g, err := asg.New(autoscaling.NewFromConfig(cfg)).Describe(t.Context(), f.GroupName)
	if err != nil {
		t.Fatalf("Describe group: %v", err)
	}
	var ids []string
	for _, in := range g.Instances {
		ids = append(ids, in.ID)
	}
	slices.Sort(ids)
	return ids
}

func targetIDs(targets []elb.Target) []string {
	var ids []string
	for _, tg := range targets {
		ids = append(ids, tg.ID)
	}
	slices.Sort(ids)
	return ids
}

func TestTargetHealthAndDeregisterEmulator(t *testing.T) {
	cfg := emu.Fresh(t)
	f := awstest.NewFleet(t, cfg)
	a := elb.New(elbv2.NewFromConfig(cfg))
	ids := groupInstances(t, f, cfg)

	before, err := a.TargetHealth(t.Context(), f.BlueTargetGroupARN)
	if err != nil {
		t.Fatalf("TargetHealth: %v", err)
	}
	// Auto Scaling registers the group's instances in its target group.
	if diff := cmp.Diff(ids, targetIDs(before)); diff != "" {
		t.Errorf("targets before deregister (-want +got):\n%s", diff)
	}
	for _, tg := range before {
		if tg.State != elb.StateHealthy || tg.Port != 80 {
			t.Errorf("target %s: got state %q port %d, want %q port 80", tg.ID, tg.State, tg.Port, elb.StateHealthy)
		}
	}

	if err := a.Deregister(t.Context(), f.BlueTargetGroupARN, ids[0]); err != nil {
		t.Fatalf("Deregister: %v", err)
	}
	after, err := a.TargetHealth(t.Context(), f.BlueTargetGroupARN)
	if err != nil {
		t.Fatalf("TargetHealth: %v", err)
	}
	// moto drops a deregistered target at once; AWS would list it as
	// draining for the deregistration delay (see GAPS.md).
	if diff := cmp.Diff(ids[1:], targetIDs(after)); diff != "" {
		t.Errorf("targets after deregister (-want +got):\n%s", diff)
	}

	empty, err := a.TargetHealth(t.Context(), f.GreenTargetGroupARN)
	if err != nil || len(empty) != 0 {
		t.Errorf("TargetHealth(green): got %v, %v, want no targets", empty, err)
	}
}

func TestTargetHealthMissingGroupEmulator(t *testing.T) {
	cfg := emu.Fresh(t)
	f := awstest.NewFleet(t, cfg)
	missing := f.BlueTargetGroupARN[:len(f.BlueTargetGroupARN)-4] + "beef"
	_, err := elb.New(elbv2.NewFromConfig(cfg)).TargetHealth(t.Context(), missing)
	if !awserr.IsNotFound(err) {
		t.Errorf("TargetHealth(missing): got %v (code %q), want a not-found error", err, awserr.Code(err))
	}
}

func TestDeregistrationDelayEmulator(t *testing.T) {
	cases := []struct {
		name    string
		seconds string // "" leaves the group's default
		want    time.Duration
	}{
		{name: "default", want: elb.DefaultDeregistrationDelay},
		{name: "tuned down", seconds: "30", want: 30 * time.Second},
		{name: "zero", seconds: "0", want: 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := emu.Fresh(t)
			f := awstest.NewFleet(t, cfg)
			client := elbv2.NewFromConfig(cfg)
			if tc.seconds != "" {
				if _, err := client.ModifyTargetGroupAttributes(t.Context(), &elbv2.ModifyTargetGroupAttributesInput{
					TargetGroupArn: aws.String(f.BlueTargetGroupARN),
					Attributes: []types.TargetGroupAttribute{{
						Key: aws.String("deregistration_delay.timeout_seconds"), Value: aws.String(tc.seconds),
					}},
				}); err != nil {
					t.Fatalf("ModifyTargetGroupAttributes: %v", err)
				}
			}
			got, err := elb.New(client).DeregistrationDelay(t.Context(), f.BlueTargetGroupARN)
			if err != nil {
				t.Fatalf("DeregistrationDelay: %v", err)
			}
			if got != tc.want {
				t.Errorf("DeregistrationDelay: got %s, want %s", got, tc.want)
			}
		})
	}
}

func TestForwardWeightsRoundTripEmulator(t *testing.T) {
	cfg := emu.Fresh(t)
	f := awstest.NewFleet(t, cfg)
	a := elb.New(elbv2.NewFromConfig(cfg))

	fw, err := a.Forward(t.Context(), f.ListenerARN)
	if err != nil {
		t.Fatalf("Forward: %v", err)
	}
	got := fw.Weights
	want := []elb.Weighted{{f.BlueTargetGroupARN, 100}, {f.GreenTargetGroupARN, 0}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("initial weights (-want +got):\n%s", diff)
	}

	// A weight transition, step by step, read back after each step.
	for _, step := range [][]elb.Weighted{
		{{f.BlueTargetGroupARN, 90}, {f.GreenTargetGroupARN, 10}},
		{{f.BlueTargetGroupARN, 50}, {f.GreenTargetGroupARN, 50}},
		{{f.BlueTargetGroupARN, 0}, {f.GreenTargetGroupARN, 100}},
	} {
		if err := a.SetForwardWeights(t.Context(), f.ListenerARN, step); err != nil {
			t.Fatalf("SetForwardWeights(%v): %v", step, err)
		}
		fw, err := a.Forward(t.Context(), f.ListenerARN)
		got := fw.Weights
		if err != nil {
			t.Fatalf("Forward: %v", err)
		}
		if diff := cmp.Diff(step, got); diff != "" {
			t.Errorf("weights after SetForwardWeights (-want +got):\n%s", diff)
		}
	}
}
