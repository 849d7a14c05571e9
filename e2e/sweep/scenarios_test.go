package sweep_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/stampkit/stampkit/shared/awstest"
	"github.com/stampkit/stampkit/shared/awstest/awsproxy"
	"github.com/stampkit/stampkit/shared/clock"
	"github.com/stampkit/stampkit/shared/config"
	"github.com/stampkit/stampkit/shared/event"
	"github.com/stampkit/stampkit/shared/lifecycle"
	"github.com/stampkit/stampkit/shared/rollout"
	"github.com/stampkit/stampkit/shared/scaling"
	"github.com/stampkit/stampkit/shared/ssmparam"
)

// scenario is one thing the toolkit does, from its first event to its end.
type scenario struct {
	name string
	// set makes what the scenario needs beyond newWorld's estate, builds
	// the functions, and schedules the first events and the drivers.
	set func(w *world)
	// abort: the scenario aborts a rollout, which must leave the fleet as
	// it was before the rollout began.
	abort bool
}

var scenarios = []scenario{
	{name: "scale-out", set: scaleOut},
	{name: "scale-in", set: scaleIn},
	{name: "launch-gate", set: launchGate},
	{name: "terminate-drain", set: terminateDrain},
	{name: "rolling", set: rolling},
	{name: "bluegreen", set: blueGreen},
	{name: "bluegreen-abort", set: blueGreenAbort, abort: true},
}

// The scaler's alarms: one rule out, one in, a step of one instance each.
const (
	highAlarm = "web-high"
	lowAlarm  = "web-low"
)

func scalingPolicy() scaling.Policy {
	return scaling.Policy{
		Min: awstest.FleetMin, Max: awstest.FleetMax,
		Rules: []scaling.Rule{
			{Alarm: highAlarm, Direction: scaling.Out, AdjustmentType: scaling.ChangeInCapacity, Steps: []scaling.Step{{Adjustment: 1}}},
			{Alarm: lowAlarm, Direction: scaling.In, AdjustmentType: scaling.ChangeInCapacity, Steps: []scaling.Step{{Adjustment: 1}}},
		},
	}
}

// scaleOut: web-high goes to ALARM; its state change scales the fleet out
// by one, and the one-minute ticks that follow, which see it still in
// ALARM, keep to the cooldown. The cooldown outlasts the scenario and every
// retry of its last tick: past it, the alarm held in ALARM would scale out
// again, and the end state would be whichever delivery came last.
func scaleOut(w *world) {
	p := scalingPolicy()
	p.ScaleOutCooldown, p.Warmup = clock.Duration(15*time.Minute), clock.Duration(5*time.Minute)
	w.build(config.Fleet{Name: fleetName, Group: w.fleet.GroupName, Scaling: p})
	since := w.alarm(highAlarm, cwtypes.ComparisonOperatorGreaterThanThreshold, 80, 60)
	w.begin()
	w.send("scaler", "alarm "+highAlarm, w.start, alarmEvent(w, highAlarm, since, 80, 60))
	w.ticks(4)
}

// scaleIn: web-low goes to ALARM; its state change only starts the
// two-minute hold, and the tick after the hold scales in by one.
func scaleIn(w *world) {
	p := scalingPolicy()
	p.ScaleInHold = clock.Duration(2 * time.Minute)
	w.build(config.Fleet{Name: fleetName, Group: w.fleet.GroupName, Scaling: p})
	since := w.alarm(lowAlarm, cwtypes.ComparisonOperatorLessThanThreshold, 12.5, 30)
	w.begin()
	w.send("scaler", "alarm "+lowAlarm, w.start, alarmEvent(w, lowAlarm, since, 12.5, 30))
	w.ticks(5)
}

// The hooks the toolkit answers, and the lifecycle actions the scenarios
// pend in the proxy's model.
const (
	launchHook     = "stampkit-launch"
	terminateHook  = "stampkit-terminate"
	launchToken    = "11111111-2222-4333-8444-555555555555"
	terminateToken = "66666666-7777-4888-8999-aaaaaaaaaaaa"
)

var hookNames = config.Hooks{Launch: launchHook, Terminate: terminateHook}

// launchGate: an instance waits in Pending:Wait; the gate probes its EC2
// status checks and runs an SSM command on it (both answer at once in
// moto), looks again when the command has had time, and completes the
// action with CONTINUE.
func launchGate(w *world) {
	p := lifecycle.Policy{Launch: lifecycle.Launch{Interval: clock.Duration(10 * time.Second), Probes: []lifecycle.Probe{
		{Name: "status", Kind: lifecycle.EC2Status},
		{Name: "boot", Kind: lifecycle.SSM, Commands: []string{"cloud-init status --wait"}},
	}}}
	w.build(config.Fleet{Name: fleetName, Group: w.fleet.GroupName, Lifecycle: p, Hooks: hookNames})
	w.begin()
	instance := w.instances()[0]
	w.pend(awsproxy.LifecycleAction{Group: w.fleet.GroupName, Hook: launchHook, InstanceID: instance, Token: launchToken,
		Transition: event.TransitionLaunching, HeartbeatTimeout: lifecycle.DefaultHeartbeatTimeout, DefaultResult: awsproxy.Abandon})
	w.send("lifecycle", "launch action", w.start, lifecycleEvent(w, "autoscaling-launch-lifecycle-action", launchHook, launchToken, instance))
}

// drainDelay is the blue target group's deregistration delay in the drain
// scenario. moto drops a deregistered target at once instead of listing it
// as draining for the delay (awstest/GAPS.md), so the drain looks again
// after the delay and finds it gone.
const drainDelay = 30 * time.Second

// terminateDrain: an instance waits in Terminating:Wait; the drain
// deregisters it from the group's target group, looks again after the
// deregistration delay, and completes the action with CONTINUE.
func terminateDrain(w *world) {
	p := lifecycle.Policy{Terminate: lifecycle.Terminate{Interval: clock.Duration(drainDelay)}}
	w.build(config.Fleet{Name: fleetName, Group: w.fleet.GroupName, Lifecycle: p, Hooks: hookNames})
	if _, err := elbv2.NewFromConfig(w.moto).ModifyTargetGroupAttributes(w.t.Context(), &elbv2.ModifyTargetGroupAttributesInput{
		TargetGroupArn: aws.String(w.fleet.BlueTargetGroupARN),
		Attributes:     []elbtypes.TargetGroupAttribute{{Key: aws.String("deregistration_delay.timeout_seconds"), Value: aws.String(fmt.Sprint(int(drainDelay.Seconds())))}},
	}); err != nil {
		w.t.Fatalf("ModifyTargetGroupAttributes: %v", err)
	}
	w.begin()
	instance := w.instances()[1]
	w.pend(awsproxy.LifecycleAction{Group: w.fleet.GroupName, Hook: terminateHook, InstanceID: instance, Token: terminateToken,
		Transition: event.TransitionTerminating, HeartbeatTimeout: lifecycle.DefaultHeartbeatTimeout, DefaultResult: awsproxy.Continue})
	w.send("lifecycle", "terminate action", w.start, lifecycleEvent(w, "autoscaling-terminate-lifecycle-action", terminateHook, terminateToken, instance))
}

// The rollout scenarios' alarm, blue/green peer group and refresh length.
const (
	rolloutAlarm = "stampkit-web-5xx"
	greenGroup   = "stampkit-web-green"
	refreshTakes = 3 * time.Minute
)

// rolling: an AMI becomes available; the rollout stamps it into version 2,
// makes that the default and the parameter's image, and starts an
// instance refresh, which the proxy's model (moved by the driver) runs for
// three minutes to success.
func rolling(w *world) {
	p := rolloutPolicy()
	p.Strategy = rollout.StrategyRolling
	minHealthy := 50
	p.Rolling = rollout.Rolling{MinHealthyPercentage: &minHealthy, Checkpoints: []int{50, 100}, CheckpointDelay: clock.Duration(time.Minute)}
	w.rollout(p)
	w.drivers = append(w.drivers, runRefresh)
}

// blueGreen: an AMI becomes available; the rollout stamps it, brings up
// the green group on it, shifts the listener to it in two baked steps,
// promotes it, and retains the blue group (at zero) for five minutes.
func blueGreen(w *world) { w.rollout(w.blueGreenPolicy()) }

// blueGreenAbort: as blueGreen, until an operator aborts the rollout with
// half the traffic on green.
func blueGreenAbort(w *world) {
	w.rollout(w.blueGreenPolicy())
	sent := false
	w.drivers = append(w.drivers, func(w *world) {
		if sent {
			return
		}
		if s := w.record(); s.Phase == rollout.PhaseShift && s.Shifted >= 50 {
			sent = true
			now := w.clock.Now()
			body, err := event.CommandBody(event.Command{Fleet: fleetName, Action: event.CommandAbort, Reason: "sweep: abort mid-shift"}, now)
			if err != nil {
				w.t.Fatal(err)
			}
			w.send("rollout", "abort command", now, body)
		}
	})
}

func rolloutPolicy() rollout.Policy {
	return rollout.Policy{
		Parameter: imageParam, Alarms: []string{rolloutAlarm},
		// moto never reports an encrypted root volume (awstest/GAPS.md).
		Checks:       rollout.Checks{RequiredTags: []string{"commit"}, AllowUnencryptedRoot: true},
		PollInterval: clock.Duration(time.Minute),
	}
}

func (w *world) blueGreenPolicy() rollout.Policy {
	p := rolloutPolicy()
	p.Strategy = rollout.StrategyBlueGreen
	p.BlueGreen = rollout.BlueGreen{
		Listener: w.fleet.ListenerARN, TargetGroup: w.fleet.BlueTargetGroupARN,
		PeerGroup: greenGroup, PeerTargetGroup: w.fleet.GreenTargetGroupARN,
		Steps: []int{50, 100}, Bake: clock.Duration(2 * time.Minute),
		HealthTimeout: clock.Duration(10 * time.Minute), Retention: clock.Duration(5 * time.Minute),
	}
	return p
}

// rollout makes what a rollout needs (the parameter on the fleet's image,
// the health alarm in OK, the green group for blue/green, a new tagged
// image) and announces the image.
func (w *world) rollout(p rollout.Policy) {
	t, ctx := w.t, w.t.Context()
	w.build(config.Fleet{Name: fleetName, Group: w.fleet.GroupName, Rollout: p})
	if err := ssmparam.New(ssmClient(w.moto)).PutImage(ctx, imageParam, w.fleet.ImageID); err != nil {
		t.Fatalf("PutImage: %v", err)
	}
	cw := cloudwatch.NewFromConfig(w.cloudWatch)
	if _, err := cw.PutMetricAlarm(ctx, &cloudwatch.PutMetricAlarmInput{
		AlarmName: aws.String(rolloutAlarm), Namespace: aws.String("AWS/ApplicationELB"), MetricName: aws.String("HTTPCode_Target_5XX_Count"),
		Statistic: cwtypes.StatisticSum, Period: aws.Int32(60), EvaluationPeriods: aws.Int32(1), Threshold: aws.Float64(10),
		ComparisonOperator: cwtypes.ComparisonOperatorGreaterThanThreshold,
	}); err != nil {
		t.Fatalf("PutMetricAlarm: %v", err)
	}
	if _, err := cw.SetAlarmState(ctx, &cloudwatch.SetAlarmStateInput{
		AlarmName: aws.String(rolloutAlarm), StateValue: cwtypes.StateValueOk, StateReason: aws.String("sweep"),
	}); err != nil {
		t.Fatalf("SetAlarmState: %v", err)
	}
	if p.Strategy == rollout.StrategyBlueGreen {
		w.groups = append(w.groups, greenGroup)
		if _, err := autoscaling.NewFromConfig(w.moto).CreateAutoScalingGroup(ctx, &autoscaling.CreateAutoScalingGroupInput{
			AutoScalingGroupName: aws.String(greenGroup), MinSize: aws.Int32(0), MaxSize: aws.Int32(awstest.FleetMax), DesiredCapacity: aws.Int32(0),
			LaunchTemplate:    &astypes.LaunchTemplateSpecification{LaunchTemplateId: aws.String(w.fleet.LaunchTemplateID), Version: aws.String("1")},
			VPCZoneIdentifier: aws.String(strings.Join(w.fleet.SubnetIDs, ",")),
			TargetGroupARNs:   []string{w.fleet.GreenTargetGroupARN},
		}); err != nil {
			t.Fatalf("CreateAutoScalingGroup %s: %v", greenGroup, err)
		}
	}
	w.newImage = w.image("web-2")
	w.begin()
	w.before = w.snapshot()
	w.send("rollout", "AMI "+w.newImage, w.start, amiEvent(w, w.newImage))
}

// runRefresh is the instance refresh as Auto Scaling would run it: it
// starts at once and succeeds refreshTakes after its start.
func runRefresh(w *world) {
	r, ok := w.proxy.Refreshes().Latest(w.fleet.GroupName)
	if !ok {
		return
	}
	var to astypes.InstanceRefreshStatus
	switch now := w.clock.Now(); {
	case r.Status == astypes.InstanceRefreshStatusPending:
		to = astypes.InstanceRefreshStatusInProgress
	case r.Status == astypes.InstanceRefreshStatusInProgress && !now.Before(aws.ToTime(r.StartTime).Add(refreshTakes)):
		to = astypes.InstanceRefreshStatusSuccessful
	default:
		return
	}
	if err := w.proxy.Refreshes().Advance(w.t.Context(), w.fleet.GroupName, to, ""); err != nil {
		w.t.Fatalf("advancing the instance refresh: %v", err)
	}
}

// ticks schedules the scaler's one-minute EventBridge schedule for n minutes.
func (w *world) ticks(n int) {
	for i := 1; i <= n; i++ {
		at := w.start.Add(time.Duration(i) * time.Minute)
		w.send("scaler", "tick "+at.Format("15:04"), at, eventBridge(fmt.Sprintf("tick-%d", i), "aws.events", "Scheduled Event", at,
			map[string]any{}, "arn:aws:events:us-east-1:123456789012:rule/stampkit-scaler-tick"))
	}
}

// begin starts the clock (the proxy's models read it too) just after the
// set-up, on a whole second past the wall clock: alarm times come from
// moto's wall clock and must not lie in the run's future, and the state
// table keeps expiries in whole seconds.
func (w *world) begin() {
	w.start = time.Now().UTC().Truncate(time.Second).Add(time.Second)
	w.clock.Set(w.start)
	w.firstCall = len(w.proxy.Calls())
}

// alarm creates a metric alarm in moto and puts it in ALARM at value
// against threshold; it returns when the alarm entered the state.
func (w *world) alarm(name string, op cwtypes.ComparisonOperator, value, threshold float64) time.Time {
	t, ctx := w.t, w.t.Context()
	cw := cloudwatch.NewFromConfig(w.cloudWatch)
	if _, err := cw.PutMetricAlarm(ctx, &cloudwatch.PutMetricAlarmInput{
		AlarmName: aws.String(name), Namespace: aws.String("AWS/EC2"), MetricName: aws.String("CPUUtilization"),
		Dimensions: []cwtypes.Dimension{{Name: aws.String("AutoScalingGroupName"), Value: aws.String(w.fleet.GroupName)}},
		Statistic:  cwtypes.StatisticAverage, Period: aws.Int32(60), EvaluationPeriods: aws.Int32(1),
		Threshold: aws.Float64(threshold), ComparisonOperator: op,
	}); err != nil {
		t.Fatalf("PutMetricAlarm %s: %v", name, err)
	}
	if _, err := cw.SetAlarmState(ctx, &cloudwatch.SetAlarmStateInput{
		AlarmName: aws.String(name), StateValue: cwtypes.StateValueAlarm, StateReason: aws.String("Threshold Crossed"),
		StateReasonData: aws.String(reasonData(value, threshold)),
	}); err != nil {
		t.Fatalf("SetAlarmState %s: %v", name, err)
	}
	out, err := cw.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{AlarmNames: []string{name}})
	if err != nil || len(out.MetricAlarms) != 1 {
		t.Fatalf("DescribeAlarms %s: %v", name, err)
	}
	a := out.MetricAlarms[0]
	if at := aws.ToTime(a.StateTransitionedTimestamp); !at.IsZero() {
		return at
	}
	return aws.ToTime(a.StateUpdatedTimestamp)
}

func reasonData(value, threshold float64) string {
	return fmt.Sprintf(`{"version":"1.0","statistic":"Average","period":60,"recentDatapoints":[%g],"threshold":%g}`, value, threshold)
}

// alarmEvent is the EventBridge state change of an alarm w.alarm made.
func alarmEvent(w *world, name string, since time.Time, value, threshold float64) []byte {
	return eventBridge("alarm-"+name, "aws.cloudwatch", "CloudWatch Alarm State Change", w.start, map[string]any{
		"alarmName": name,
		"state": map[string]any{"value": "ALARM", "reason": "Threshold Crossed", "reasonData": reasonData(value, threshold),
			"timestamp": since.UTC().Format("2006-01-02T15:04:05.000-0700")},
		"previousState": map[string]any{"value": "OK", "reason": "Threshold Crossed"},
		"configuration": map[string]any{"metrics": []map[string]any{{"id": "m1", "returnData": true, "metricStat": map[string]any{
			"metric": map[string]any{"namespace": "AWS/EC2", "name": "CPUUtilization", "dimensions": map[string]string{"AutoScalingGroupName": w.fleet.GroupName}},
			"period": 60, "stat": "Average"}}}},
	}, "arn:aws:cloudwatch:us-east-1:123456789012:alarm:"+name)
}

// lifecycleEvent is the real lifecycle action sample aimed at the fleet.
func lifecycleEvent(w *world, sample, hook, token, instance string) []byte {
	return w.sample(sample, func(ev map[string]any) {
		ev["id"] = "lifecycle-" + token
		ev["time"] = w.start.Format(time.RFC3339)
		ev["region"] = awstest.Region
		d := ev["detail"].(map[string]any)
		d["AutoScalingGroupName"], d["LifecycleHookName"], d["LifecycleActionToken"], d["EC2InstanceId"] = w.fleet.GroupName, hook, token, instance
	})
}

// amiEvent is the real AMI state change sample for ami.
func amiEvent(w *world, ami string) []byte {
	return w.sample("ec2-ami-state-change-available", func(ev map[string]any) {
		ev["id"] = "ami-" + ami
		ev["time"] = w.start.Format(time.RFC3339)
		ev["resources"] = []string{"arn:aws:ec2:us-east-1::image/" + ami}
		ev["detail"].(map[string]any)["ImageId"] = ami
	})
}

// sample returns a real AWS sample event (shared/event testdata) edited.
func (w *world) sample(name string, edit func(map[string]any)) []byte {
	all, err := event.Samples()
	if err != nil {
		w.t.Fatalf("samples: %v", err)
	}
	var ev map[string]any
	if err := json.Unmarshal(all[name], &ev); err != nil {
		w.t.Fatalf("sample %s: %v", name, err)
	}
	edit(ev)
	b, err := json.Marshal(ev)
	if err != nil {
		w.t.Fatal(err)
	}
	return b
}

func eventBridge(id, source, detailType string, at time.Time, detail map[string]any, resources ...string) []byte {
	b, err := json.Marshal(map[string]any{
		"version": "0", "id": id, "source": source, "detail-type": detailType, "account": "123456789012",
		"time": at.UTC().Format(time.RFC3339), "region": awstest.Region, "resources": resources, "detail": detail,
	})
	if err != nil {
		panic(err)
	}
	return b
}

// instances returns the IDs of the fleet group's instances.
func (w *world) instances() []string {
	out, err := autoscaling.NewFromConfig(w.moto).DescribeAutoScalingGroups(w.t.Context(), &autoscaling.DescribeAutoScalingGroupsInput{
		AutoScalingGroupNames: []string{w.fleet.GroupName},
	})
	if err != nil || len(out.AutoScalingGroups) != 1 || len(out.AutoScalingGroups[0].Instances) < 2 {
		w.t.Fatalf("DescribeAutoScalingGroups: %v (want the fleet with two instances)", err)
	}
	var ids []string
	for _, in := range out.AutoScalingGroups[0].Instances {
		ids = append(ids, aws.ToString(in.InstanceId))
	}
	return ids
}

// pend registers a lifecycle action in the proxy's model, as Auto Scaling
// does when it puts an instance in a wait state.
func (w *world) pend(a awsproxy.LifecycleAction) {
	w.proxy.Lifecycle().Pend(a)
	w.tokens = append(w.tokens, a.Token)
}

// image makes an arm64 AMI tagged for the fleet. RegisterImage drops the
// architecture in moto (awstest/GAPS.md), so it copies one of moto's
// built-in arm64 images.
func (w *world) image(name string) string {
	t, ctx := w.t, w.t.Context()
	c := ec2.NewFromConfig(w.moto)
	out, err := c.DescribeImages(ctx, &ec2.DescribeImagesInput{
		Owners: []string{"amazon"}, Filters: []ec2types.Filter{{Name: aws.String("architecture"), Values: []string{"arm64"}}},
	})
	if err != nil || len(out.Images) == 0 {
		t.Fatalf("DescribeImages arm64: %d images, %v", len(out.Images), err)
	}
	cp, err := c.CopyImage(ctx, &ec2.CopyImageInput{Name: aws.String(name), SourceImageId: out.Images[0].ImageId, SourceRegion: aws.String(awstest.Region)})
	if err != nil {
		t.Fatalf("CopyImage: %v", err)
	}
	if _, err := c.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{aws.ToString(cp.ImageId)}, Tags: []ec2types.Tag{
		{Key: aws.String(rollout.FleetTag), Value: aws.String(fleetName)}, {Key: aws.String("commit"), Value: aws.String(name)},
	}}); err != nil {
		t.Fatalf("CreateTags: %v", err)
	}
	return aws.ToString(cp.ImageId)
}
