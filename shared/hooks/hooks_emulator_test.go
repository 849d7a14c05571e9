package hooks_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/google/go-cmp/cmp"

	"github.com/stampkit/stampkit/shared/asg"
	"github.com/stampkit/stampkit/shared/awstest"
	"github.com/stampkit/stampkit/shared/clock"
	"github.com/stampkit/stampkit/shared/config"
	"github.com/stampkit/stampkit/shared/ec2instance"
	"github.com/stampkit/stampkit/shared/elb"
	"github.com/stampkit/stampkit/shared/hooks"
	"github.com/stampkit/stampkit/shared/lifecycle"
	"github.com/stampkit/stampkit/shared/logging"
	"github.com/stampkit/stampkit/shared/memstore"
	"github.com/stampkit/stampkit/shared/probe"
	"github.com/stampkit/stampkit/shared/sqsqueue"
	"github.com/stampkit/stampkit/shared/ssmcommand"
)

var emu = awstest.New()

func TestMain(m *testing.M) { os.Exit(emu.Run(m)) }

// emulatorRig wires the handler to the emulator: the real Auto Scaling,
// ELB, EC2, SSM and SQS adapters, on the wall clock. The lifecycle hook
// calls alone go to fakeHooks: the emulator does not implement
// CompleteLifecycleAction or RecordLifecycleActionHeartbeat, which the
// rig proves first so that this test says so the day it does.
type emulatorRig struct {
	h      *hooks.Handler
	hooks  *fakeHooks
	fleet  awstest.Fleet
	sqs    *sqs.Client
	queue  string
	logs   *bytes.Buffer
	asg    *asg.Adapter
	target *elb.Adapter
}

func newEmulatorRig(t *testing.T, p lifecycle.Policy) *emulatorRig {
	t.Helper()
	cfg := emu.Fresh(t)
	f := awstest.NewFleet(t, cfg)
	groups := asg.New(autoscaling.NewFromConfig(cfg))
	// Straight to moto, past the proxy's lifecycle model.
	err := asg.New(autoscaling.NewFromConfig(emu.MotoConfig(t))).CompleteLifecycleAction(t.Context(), asg.LifecycleCompletion{
		Group: f.GroupName, Hook: "hook", InstanceID: "i-0", Result: asg.ResultContinue,
	})
	emu.AssertNotImplemented(t, err, "complete_lifecycle_action")

	client := sqs.NewFromConfig(cfg)
	q, err := client.CreateQueue(t.Context(), &sqs.CreateQueueInput{QueueName: aws.String("stampkit-lifecycle-wake")})
	if err != nil {
		t.Fatalf("CreateQueue: %v", err)
	}
	r := &emulatorRig{hooks: &fakeHooks{}, fleet: f, sqs: client, queue: aws.ToString(q.QueueUrl),
		logs: &bytes.Buffer{}, asg: groups, target: elb.New(elbv2.NewFromConfig(cfg))}
	sys := clock.System{}
	r.h = &hooks.Handler{
		Config:    config.Config{Table: "state", Fleets: []config.Fleet{{Name: "web", Group: f.GroupName, Lifecycle: p}}},
		Hooks:     r.hooks,
		Groups:    groups,
		Targets:   r.target,
		Prober:    probe.New(ec2instance.New(ec2.NewFromConfig(cfg)), ssmcommand.New(ssm.NewFromConfig(cfg)), nil),
		Scheduler: sqsqueue.New(client, r.queue, sys),
		Store:     memstore.New(sys),
		Clock:     sys,
		Log:       logging.New(r.logs, slog.LevelDebug),
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("handler log:\n%s", r.logs)
		}
	})
	return r
}

// deliver waits for the next wake-up on the queue and hands it to the
// handler as the Lambda SQS event source would: a batch of one record.
func (r *emulatorRig) deliver(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		out, err := r.sqs.ReceiveMessage(t.Context(), &sqs.ReceiveMessageInput{
			QueueUrl: aws.String(r.queue), WaitTimeSeconds: 1,
		})
		if err != nil {
			t.Fatalf("ReceiveMessage: %v", err)
		}
		if len(out.Messages) == 0 {
			continue
		}
		m := out.Messages[0]
		batch, err := json.Marshal(map[string]any{"Records": []map[string]any{{
			"messageId": aws.ToString(m.MessageId), "receiptHandle": aws.ToString(m.ReceiptHandle), "body": aws.ToString(m.Body),
			"attributes": map[string]string{}, "eventSource": "aws:sqs", "awsRegion": awstest.Region,
			"eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:stampkit-lifecycle-wake",
		}}})
		if err != nil {
			t.Fatalf("encoding batch: %v", err)
		}
		if err := r.h.Handle(t.Context(), batch); err != nil {
			t.Fatalf("Handle(wake-up): %v", err)
		}
		if _, err := r.sqs.DeleteMessage(t.Context(), &sqs.DeleteMessageInput{QueueUrl: aws.String(r.queue), ReceiptHandle: m.ReceiptHandle}); err != nil {
			t.Fatalf("DeleteMessage: %v", err)
		}
		return
	}
	t.Fatal("no wake-up arrived within 20 s")
}

func (r *emulatorRig) instances(t *testing.T) []string {
	t.Helper()
	g, err := r.asg.Describe(t.Context(), r.fleet.GroupName)
	if err != nil || len(g.Instances) == 0 {
		t.Fatalf("Describe group: %v (%d instances)", err, len(g.Instances))
	}
	var ids []string
	for _, in := range g.Instances {
		ids = append(ids, in.ID)
	}
	return ids
}

func emulatorEvent(t *testing.T, transition, group, instance string) []byte {
	t.Helper()
	a := action{transition: transition, token: "tok-emu", instance: instance, origin: "EC2", destination: "AutoScalingGroup", at: time.Now()}
	if transition == "autoscaling:EC2_INSTANCE_TERMINATING" {
		a.origin, a.destination = "AutoScalingGroup", "EC2"
	}
	var ev map[string]any
	if err := json.Unmarshal(a.payload(t), &ev); err != nil {
		t.Fatal(err)
	}
	ev["detail"].(map[string]any)["AutoScalingGroupName"] = group
	b, _ := json.Marshal(ev)
	return b
}

// TestDrainEmulator drains a registered instance through the emulator's
// target groups, with the wait carried by the emulator's SQS.
func TestDrainEmulator(t *testing.T) {
	p := lifecycle.Policy{Terminate: lifecycle.Terminate{Interval: clock.Duration(time.Second)}}
	r := newEmulatorRig(t, p)
	ids := r.instances(t)
	victim := ids[0]

	if err := r.h.Handle(t.Context(), emulatorEvent(t, "autoscaling:EC2_INSTANCE_TERMINATING", r.fleet.GroupName, victim)); err != nil {
		t.Fatalf("Handle(terminate): %v", err)
	}
	if len(r.hooks.completions) != 0 {
		t.Fatalf("completed before the drain: %+v", r.hooks.completions)
	}
	health, err := r.target.TargetHealth(t.Context(), r.fleet.BlueTargetGroupARN)
	if err != nil {
		t.Fatalf("TargetHealth: %v", err)
	}
	for _, th := range health {
		if th.ID == victim {
			t.Fatalf("instance %s still registered after the first step (%s)", victim, th.State)
		}
	}
	if len(health) != len(ids)-1 {
		t.Errorf("targets left: got %d, want %d (only the terminating instance leaves)", len(health), len(ids)-1)
	}
	// moto drops a deregistered target at once instead of listing it as
	// draining for the deregistration delay; the next wake-up sees it gone.
	r.deliver(t)
	want := []asg.LifecycleCompletion{{Group: r.fleet.GroupName, Hook: "hook", Token: "tok-emu", InstanceID: victim, Result: asg.ResultContinue}}
	if diff := cmp.Diff(want, r.hooks.completions); diff != "" {
		t.Errorf("completions (-want +got):\n%s", diff)
	}
}

// TestLaunchGateEmulator gates a launch on the EC2 status checks and an SSM
// command through the emulator (moto runs every command at once,
// successfully), with the wait for the command carried by SQS. The HTTP
// probe is left out: the emulator's private addresses reach nothing.
func TestLaunchGateEmulator(t *testing.T) {
	p := lifecycle.Policy{Launch: lifecycle.Launch{Interval: clock.Duration(time.Second), Probes: []lifecycle.Probe{
		{Name: "status", Kind: lifecycle.EC2Status},
		{Name: "boot", Kind: lifecycle.SSM, Commands: []string{"cloud-init status --wait"}},
	}}}
	r := newEmulatorRig(t, p)
	id := r.instances(t)[0]
	if err := r.h.Handle(t.Context(), emulatorEvent(t, "autoscaling:EC2_INSTANCE_LAUNCHING", r.fleet.GroupName, id)); err != nil {
		t.Fatalf("Handle(launch): %v", err)
	}
	if len(r.hooks.completions) != 0 {
		t.Fatalf("completed before the command reported: %+v", r.hooks.completions)
	}
	r.deliver(t)
	want := []asg.LifecycleCompletion{{Group: r.fleet.GroupName, Hook: "hook", Token: "tok-emu", InstanceID: id, Result: asg.ResultContinue}}
	if diff := cmp.Diff(want, r.hooks.completions); diff != "" {
		t.Errorf("completions (-want +got):\n%s", diff)
	}
}
