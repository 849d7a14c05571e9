package awsproxy_test

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/google/go-cmp/cmp"

	"github.com/stampkit/stampkit/shared/awserr"
	"github.com/stampkit/stampkit/shared/awstest"
	"github.com/stampkit/stampkit/shared/awstest/awsproxy"
)

// lifecycleRig is a fleet in the emulator, a pending terminate action on its
// first instance, and a clock the test moves.
type lifecycleRig struct {
	c        *autoscaling.Client
	p        *awsproxy.Proxy
	group    string
	instance string
	now      time.Time
}

const (
	hook  = "drain"
	token = "87654321-4321-4321-4321-210987654321"
)

func newLifecycleRig(t *testing.T) *lifecycleRig {
	t.Helper()
	cfg := emu.Fresh(t)
	f := awstest.NewFleet(t, cfg)
	r := &lifecycleRig{c: autoscaling.NewFromConfig(cfg), p: emu.Proxy(t), group: f.GroupName, now: time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)}
	r.p.SetClock(func() time.Time { return r.now })
	g, err := r.c.DescribeAutoScalingGroups(t.Context(), &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{f.GroupName}})
	if err != nil {
		t.Fatalf("DescribeAutoScalingGroups: %v", err)
	}
	r.instance = aws.ToString(g.AutoScalingGroups[0].Instances[0].InstanceId)
	r.p.Lifecycle().Pend(awsproxy.LifecycleAction{
		Group: r.group, Hook: hook, InstanceID: r.instance, Token: token,
		Transition: "autoscaling:EC2_INSTANCE_TERMINATING", HeartbeatTimeout: 5 * time.Minute, DefaultResult: awsproxy.Continue,
	})
	return r
}

func (r *lifecycleRig) complete(t *testing.T, token, instance, result string) error {
	t.Helper()
	in := &autoscaling.CompleteLifecycleActionInput{
		AutoScalingGroupName: aws.String(r.group), LifecycleHookName: aws.String(hook), LifecycleActionResult: aws.String(result),
	}
	if token != "" {
		in.LifecycleActionToken = aws.String(token)
	}
	if instance != "" {
		in.InstanceId = aws.String(instance)
	}
	_, err := r.c.CompleteLifecycleAction(t.Context(), in)
	return err
}

func (r *lifecycleRig) heartbeat(t *testing.T) error {
	t.Helper()
	_, err := r.c.RecordLifecycleActionHeartbeat(t.Context(), &autoscaling.RecordLifecycleActionHeartbeatInput{
		AutoScalingGroupName: aws.String(r.group), LifecycleHookName: aws.String(hook), LifecycleActionToken: aws.String(token),
	})
	return err
}

// TestLifecycleCompletesOnce: heartbeats keep the action; the first
// completion ends it with its result; a second, and one for a token that
// never existed, are Auto Scaling's "No active Lifecycle Action" error.
func TestLifecycleCompletesOnce(t *testing.T) {
	r := newLifecycleRig(t)
	if err := r.heartbeat(t); err != nil {
		t.Fatalf("heartbeat: %v", err)
	}
	if _, ok := r.p.Lifecycle().Outcome(token); ok {
		t.Fatal("outcome before completion, want the action pending")
	}
	if err := r.complete(t, token, "", awsproxy.Abandon); err != nil {
		t.Fatalf("complete: %v", err)
	}
	for _, tc := range []struct{ name, token, instance string }{
		{"again by token", token, ""},
		{"again by instance", "", r.instance},
		{"unknown token", "11111111-2222-3333-4444-555555555555", ""},
	} {
		err := r.complete(t, tc.token, tc.instance, awsproxy.Continue)
		if !awserr.IsNoActiveLifecycleAction(err) {
			t.Errorf("%s: got %v, want awserr.IsNoActiveLifecycleAction", tc.name, err)
		}
	}
	if err := r.heartbeat(t); !awserr.IsNoActiveLifecycleAction(err) {
		t.Errorf("heartbeat after completion: got %v, want awserr.IsNoActiveLifecycleAction", err)
	}
	got, ok := r.p.Lifecycle().Outcome(token)
	want := awsproxy.LifecycleOutcome{Result: awsproxy.Abandon, At: r.now, Heartbeats: 1, Completions: 3}
	if diff := cmp.Diff(want, got); !ok || diff != "" {
		t.Errorf("outcome (-want +got):\n%s", diff)
	}
	if n := len(r.p.Lifecycle().Pending()); n != 0 {
		t.Errorf("pending actions: got %d, want 0", n)
	}
}

// TestLifecycleByInstance: an action can be completed by instance ID instead
// of token (after the token is lost).
func TestLifecycleByInstance(t *testing.T) {
	r := newLifecycleRig(t)
	if err := r.complete(t, "", r.instance, awsproxy.Continue); err != nil {
		t.Fatalf("complete by instance: %v", err)
	}
	if got, ok := r.p.Lifecycle().Outcome(token); !ok || got.Result != awsproxy.Continue {
		t.Errorf("outcome: got %+v, %v; want CONTINUE", got, ok)
	}
	if err := r.complete(t, "", "i-00000000000000000", awsproxy.Continue); !awserr.IsNoActiveLifecycleAction(err) {
		t.Errorf("another instance: got %v, want awserr.IsNoActiveLifecycleAction", err)
	}
}

// TestLifecycleTimeout: without a heartbeat the action ends with the hook's
// default result when its heartbeat timeout passes; a heartbeat restarts the
// timeout, but never beyond the global one (100 heartbeat timeouts).
func TestLifecycleTimeout(t *testing.T) {
	r := newLifecycleRig(t)
	start := r.now
	r.now = start.Add(4 * time.Minute)
	if err := r.heartbeat(t); err != nil {
		t.Fatalf("heartbeat at 4 min: %v", err)
	}
	r.now = start.Add(8 * time.Minute) // past the first timeout, within the renewed one
	if _, ok := r.p.Lifecycle().Outcome(token); ok {
		t.Fatal("ended at 8 min, want the heartbeat at 4 min to keep it until 9")
	}
	r.now = start.Add(9 * time.Minute)
	got, ok := r.p.Lifecycle().Outcome(token)
	want := awsproxy.LifecycleOutcome{Result: awsproxy.Continue, TimedOut: true, At: start.Add(9 * time.Minute), Heartbeats: 1}
	if diff := cmp.Diff(want, got); !ok || diff != "" {
		t.Errorf("timed-out outcome (-want +got):\n%s", diff)
	}
	if err := r.complete(t, token, "", awsproxy.Abandon); !awserr.IsNoActiveLifecycleAction(err) {
		t.Errorf("completing a timed-out action: got %v, want awserr.IsNoActiveLifecycleAction", err)
	}

	// The global timeout: heartbeats every 4 minutes stop helping at
	// 100 × 5 min.
	r.p.Lifecycle().Pend(awsproxy.LifecycleAction{Group: r.group, Hook: hook, InstanceID: r.instance, Token: "t2", HeartbeatTimeout: 5 * time.Minute})
	begin := r.now
	for r.now.Before(begin.Add(500 * time.Minute)) {
		r.now = r.now.Add(4 * time.Minute)
		if _, err := r.c.RecordLifecycleActionHeartbeat(t.Context(), &autoscaling.RecordLifecycleActionHeartbeatInput{
			AutoScalingGroupName: aws.String(r.group), LifecycleHookName: aws.String(hook), LifecycleActionToken: aws.String("t2"),
		}); err != nil {
			break
		}
	}
	got, ok = r.p.Lifecycle().Outcome("t2")
	if !ok || !got.TimedOut || got.Result != awsproxy.Abandon || !got.At.Equal(begin.Add(500*time.Minute)) {
		t.Errorf("outcome under endless heartbeats: got %+v, %v; want ABANDON (the default) at the global timeout, 500 min", got, ok)
	}
}

// TestLifecycleRejectsBadInput: a result other than CONTINUE or ABANDON,
// and a call naming neither token nor instance, are validation errors.
func TestLifecycleRejectsBadInput(t *testing.T) {
	r := newLifecycleRig(t)
	for _, tc := range []struct{ name, token, instance, result string }{
		{"bad result", token, "", "MAYBE"},
		{"no token or instance", "", "", awsproxy.Continue},
	} {
		err := r.complete(t, tc.token, tc.instance, tc.result)
		if awserr.Code(err) != "ValidationError" || awserr.IsNoActiveLifecycleAction(err) {
			t.Errorf("%s: got %v, want a ValidationError", tc.name, err)
		}
	}
	if _, ok := r.p.Lifecycle().Outcome(token); ok {
		t.Error("a rejected completion ended the action")
	}
}
