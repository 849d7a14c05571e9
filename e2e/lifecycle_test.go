package e2e_test

import (
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"

	"github.com/stampkit/stampkit/shared/awstest"
	"github.com/stampkit/stampkit/shared/awstest/awsproxy"
	"github.com/stampkit/stampkit/shared/clock"
	"github.com/stampkit/stampkit/shared/config"
	"github.com/stampkit/stampkit/shared/lifecycle"
	"github.com/stampkit/stampkit/shared/runtimetest"
	"github.com/stampkit/stampkit/shared/scaling"
)

const terminateSample = "autoscaling-terminate-lifecycle-action"

// The terminate sample's lifecycle action, registered in the proxy's
// lifecycle model (moto enacts no hooks and answers CompleteLifecycleAction
// with HTTP 500; awstest/GAPS.md).
const (
	sampleHook  = "my-lifecycle-hook"
	sampleToken = "87654321-4321-4321-4321-210987654321"
)

// lifecycleRig is the lifecycle function under the runtime emulator against
// a fresh emulator fleet, its wake-up queue, and the sample's terminate
// action pending on the victim in the proxy's lifecycle model.
type lifecycleRig struct {
	rt     *runtimetest.Runtime
	cfg    aws.Config
	fleet  awstest.Fleet
	queue  string
	proxy  *awsproxy.Proxy
	victim string
}

func newLifecycleRig(t *testing.T) lifecycleRig {
	t.Helper()
	cfg := emu.Fresh(t)
	fleet := awstest.NewFleet(t, cfg)
	awstest.NewTable(t, cfg, table)
	queue := newQueue(t, cfg, "stampkit-e2e-wake")
	g, err := autoscaling.NewFromConfig(cfg).DescribeAutoScalingGroups(t.Context(), &autoscaling.DescribeAutoScalingGroupsInput{
		AutoScalingGroupNames: []string{fleet.GroupName},
	})
	if err != nil || len(g.AutoScalingGroups) != 1 || len(g.AutoScalingGroups[0].Instances) == 0 {
		t.Fatalf("DescribeAutoScalingGroups: %v (want one group with instances)", err)
	}
	r := lifecycleRig{cfg: cfg, fleet: fleet, queue: queue, proxy: emu.Proxy(t), victim: aws.ToString(g.AutoScalingGroups[0].Instances[0].InstanceId)}
	r.proxy.Lifecycle().Pend(awsproxy.LifecycleAction{
		Group: fleet.GroupName, Hook: sampleHook, InstanceID: r.victim, Token: sampleToken,
		Transition: "autoscaling:EC2_INSTANCE_TERMINATING",
	})
	if !r.registered(t) {
		t.Fatalf("instance %s is not registered in the blue target group before the test", r.victim)
	}
	c := config.Config{Table: table, Fleets: []config.Fleet{{
		Name: "web", Group: fleet.GroupName,
		Scaling: scaling.Policy{Min: awstest.FleetMin, Max: awstest.FleetMax, Rules: []scaling.Rule{{
			Alarm: "web-high", Direction: scaling.Out, AdjustmentType: scaling.ChangeInCapacity,
			Steps: []scaling.Step{{Lower: 0, Adjustment: 1}},
		}}},
		// A one-second drain check keeps the durable wait short.
		Lifecycle: lifecycle.Policy{Terminate: lifecycle.Terminate{Interval: clock.Duration(time.Second)}},
	}}}
	env := configEnv(t, c)
	env[config.EnvWakeQueue] = r.queue
	r.rt = start(t, "lifecycle", env)
	return r
}

// terminateEvent is the real terminate lifecycle action sample aimed at the
// rig's group and instance, happening now (a hook older than its heartbeat
// timeout has expired: the function would only record that).
func (r lifecycleRig) terminateEvent(t *testing.T, edit func(ev map[string]any)) []byte {
	t.Helper()
	return sample(t, terminateSample, func(ev map[string]any) {
		ev["time"] = time.Now().UTC().Format(time.RFC3339)
		ev["region"] = awstest.Region
		d := detail(ev)
		d["AutoScalingGroupName"] = r.fleet.GroupName
		d["EC2InstanceId"] = r.victim
		if edit != nil {
			edit(ev)
		}
	})
}

// completions counts the CompleteLifecycleAction calls the function made.
func (r lifecycleRig) completions() int {
	return r.proxy.Count(awsproxy.AutoScaling, "CompleteLifecycleAction")
}

// registered reports whether the victim is a target of the blue group.
func (r lifecycleRig) registered(t *testing.T) bool {
	t.Helper()
	out, err := elbv2.NewFromConfig(r.cfg).DescribeTargetHealth(t.Context(), &elbv2.DescribeTargetHealthInput{
		TargetGroupArn: aws.String(r.fleet.BlueTargetGroupARN),
	})
	if err != nil {
		t.Fatalf("DescribeTargetHealth: %v", err)
	}
	for _, d := range out.TargetHealthDescriptions {
		if aws.ToString(d.Target.Id) == r.victim {
			return true
		}
	}
	return false
}

// queued counts the messages on the wake-up queue, delayed ones included.
func (r lifecycleRig) queued(t *testing.T) int {
	t.Helper()
	return queued(t, r.cfg, r.queue)
}

// TestLifecycleTerminateDrains runs a terminate lifecycle action through the
// bootstrap: the first invocation deregisters the instance from the fleet's
// target group and schedules its durable wake-up on SQS; a duplicate
// delivery changes nothing; the wake-up, delivered as an SQS batch, sees the
// target gone and completes the action with CONTINUE.
func TestLifecycleTerminateDrains(t *testing.T) {
	r := newLifecycleRig(t)
	ev := r.terminateEvent(t, nil)

	mustSucceed(t, "terminate action", invoke(t, r.rt, ev))
	if r.registered(t) {
		t.Fatalf("instance %s still registered in the blue target group after the drain began", r.victim)
	}
	if n := r.completions(); n != 0 {
		t.Fatalf("lifecycle completions before the drain finished: got %d, want none", n)
	}
	mustSucceed(t, "duplicate terminate action", invoke(t, r.rt, ev))
	if got := len(records(r.rt, "duplicate delivery")); got != 1 {
		t.Errorf("duplicate log lines: got %d, want 1", got)
	}

	mustSucceed(t, "wake-up", invoke(t, r.rt, wakeUp(t, r.cfg, r.queue)))
	// The model accepts only a completion naming the sample's group, hook,
	// token and instance.
	got, ok := r.proxy.Lifecycle().Outcome(sampleToken)
	if !ok || got.Result != awsproxy.Continue || got.TimedOut || got.Completions != 1 {
		t.Errorf("lifecycle action: got %+v (ended %v), want completed once with CONTINUE", got, ok)
	}

	var applied []string
	for _, rec := range records(r.rt, "lifecycle action applied") {
		applied = append(applied, rec["action"].(string))
	}
	if got, want := strings.Join(applied, ","), "deregister,complete"; got != want {
		t.Errorf("applied actions logged: got %s, want %s", got, want)
	}
	var outcome any
	for _, rec := range records(r.rt, "lifecycle transition") {
		if rec["outcome"] != "" {
			outcome = rec["outcome"]
		}
	}
	if outcome != string(lifecycle.Drained) {
		t.Errorf("final outcome logged: got %v, want %s", outcome, lifecycle.Drained)
	}
}

// TestLifecycleRejectsMalformedEvents: a lifecycle action that is missing
// what the function needs fails the invocation with an error naming the
// field, and drains nothing, schedules nothing, stores nothing.
func TestLifecycleRejectsMalformedEvents(t *testing.T) {
	r := newLifecycleRig(t)
	tests := []struct {
		name    string
		payload []byte
		want    string
	}{
		{
			name:    "no action token",
			payload: r.terminateEvent(t, func(ev map[string]any) { delete(detail(ev), "LifecycleActionToken") }),
			want:    "malformed event: detail.LifecycleActionToken: missing",
		},
		{
			name: "transition contradicts the detail-type",
			payload: r.terminateEvent(t, func(ev map[string]any) {
				detail(ev)["LifecycleTransition"] = "autoscaling:EC2_INSTANCE_LAUNCHING"
			}),
			want: "detail.LifecycleTransition: got",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fe, ok := invoke(t, r.rt, tt.payload).Error()
			if !ok {
				t.Fatal("got a result, want a function error")
			}
			if !strings.Contains(fe.Message, tt.want) {
				t.Errorf("errorMessage got %q, want it to contain %q", fe.Message, tt.want)
			}
		})
	}
	if !r.registered(t) {
		t.Errorf("instance %s left the target group, want it untouched", r.victim)
	}
	if got := tableItems(t, r.cfg); got != 0 {
		t.Errorf("state table items: got %d, want 0", got)
	}
	if got := r.queued(t); got != 0 {
		t.Errorf("wake-ups queued: got %d, want 0", got)
	}
	if n := r.completions(); n != 0 {
		t.Errorf("lifecycle completions: got %d, want none", n)
	}
	if pending := r.proxy.Lifecycle().Pending(); len(pending) != 1 {
		t.Errorf("pending lifecycle actions: got %v, want the sample's, untouched", pending)
	}
	if got, want := len(records(r.rt, "rejecting malformed event")), len(tests); got != want {
		t.Errorf("rejection log lines: got %d, want %d", got, want)
	}
}
