package e2e_test

import (
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"

	"github.com/stampkit/stampkit/shared/awstest"
	"github.com/stampkit/stampkit/shared/awstest/awsproxy"
	"github.com/stampkit/stampkit/shared/config"
	"github.com/stampkit/stampkit/shared/runtimetest"
	"github.com/stampkit/stampkit/shared/scaling"
)

// alarmSample is the real EventBridge alarm state change the scaler tests
// send unchanged: alarm ServerCpuTooHigh going to ALARM at 99.5 against a
// threshold of 50.
const (
	alarmSample = "cloudwatch-alarm-state-change-single-metric"
	alarmName   = "ServerCpuTooHigh"
)

// scalerRig is the scaler running under the runtime emulator against a
// fresh emulator fleet whose one scale-out rule listens to alarmName.
type scalerRig struct {
	rt    *runtimetest.Runtime
	cfg   aws.Config
	fleet awstest.Fleet
}

// newScalerRig starts the rig; extra environment variables (a log level,
// say) are added to the function's.
func newScalerRig(t *testing.T, extra ...string) scalerRig {
	t.Helper()
	cfg := emu.Fresh(t)
	fleet := awstest.NewFleet(t, cfg)
	awstest.NewTable(t, cfg, table)
	c := config.Config{Table: table, Fleets: []config.Fleet{{
		Name: "web", Group: fleet.GroupName,
		Scaling: scaling.Policy{Min: awstest.FleetMin, Max: awstest.FleetMax, Rules: []scaling.Rule{{
			Alarm: alarmName, Direction: scaling.Out, AdjustmentType: scaling.ChangeInCapacity,
			Steps: []scaling.Step{{Lower: 0, Adjustment: 1}},
		}}},
	}}}
	env := configEnv(t, c)
	for i := 0; i+1 < len(extra); i += 2 {
		env[extra[i]] = extra[i+1]
	}
	return scalerRig{rt: start(t, "scaler", env), cfg: cfg, fleet: fleet}
}

func (r scalerRig) desired(t *testing.T) int32 {
	t.Helper()
	out, err := autoscaling.NewFromConfig(r.cfg).DescribeAutoScalingGroups(t.Context(), &autoscaling.DescribeAutoScalingGroupsInput{
		AutoScalingGroupNames: []string{r.fleet.GroupName},
	})
	if err != nil || len(out.AutoScalingGroups) != 1 {
		t.Fatalf("DescribeAutoScalingGroups: %v (%d groups)", err, len(out.AutoScalingGroups))
	}
	return aws.ToInt32(out.AutoScalingGroups[0].DesiredCapacity)
}

// TestScalerActsOnceOnDuplicatedAlarm delivers the same alarm state change
// twice, as EventBridge may: the group grows by one step, once, and the
// function's logs show one decision and one recognised duplicate.
func TestScalerActsOnceOnDuplicatedAlarm(t *testing.T) {
	r := newScalerRig(t)
	ev := sample(t, alarmSample, nil)
	for i := range 2 {
		mustSucceed(t, "delivery", invoke(t, r.rt, ev))
		if got, want := r.desired(t), int32(awstest.FleetDesired+1); got != want {
			t.Fatalf("after delivery %d: desired capacity got %d, want %d", i+1, got, want)
		}
	}
	decisions := records(r.rt, "scaling decision")
	if len(decisions) != 1 {
		t.Fatalf("scaling decision log lines: got %d, want 1\n%v", len(decisions), r.rt.Logs())
	}
	d := decisions[0]
	want := map[string]any{
		"action": "scale_out", "outcome": "scaled", "from": float64(awstest.FleetDesired), "to": float64(awstest.FleetDesired + 1),
		"fleet": "web", "alarm": alarmName, "asg_name": r.fleet.GroupName,
	}
	for k, v := range want {
		if d[k] != v {
			t.Errorf("decision log %s: got %v, want %v", k, d[k], v)
		}
	}
	if d["request_id"] == nil || d["request_id"] == "" {
		t.Errorf("decision log has no request_id: %v", d)
	}
	if got := len(records(r.rt, "duplicate delivery")); got != 1 {
		t.Errorf("duplicate log lines: got %d, want 1", got)
	}
}

// TestScalerRejectsMalformedEvents: a payload that is not a well-formed
// event fails the invocation with an error naming what is wrong (so that
// Lambda retries it and then parks it in the DLQ) and touches nothing.
func TestScalerRejectsMalformedEvents(t *testing.T) {
	r := newScalerRig(t)
	full := sample(t, alarmSample, nil)
	tests := []struct {
		name    string
		payload []byte
		want    []string
		// rejected: the handler ran and logged the rejection. Invalid JSON
		// never reaches it: aws-lambda-go fails the invocation while
		// unmarshalling the payload into the handler's json.RawMessage.
		rejected bool
	}{
		{name: "truncated JSON", payload: full[:len(full)/2], want: []string{"unexpected EOF"}},
		{
			name:     "alarm without its state",
			payload:  sample(t, alarmSample, func(ev map[string]any) { delete(detail(ev), "state") }),
			want:     []string{"malformed event: detail.state: missing"},
			rejected: true,
		},
		{
			name: "state not an alarm state",
			payload: sample(t, alarmSample, func(ev map[string]any) {
				detail(ev)["state"].(map[string]any)["value"] = "RED"
			}),
			want:     []string{"malformed event: detail.state.value: unknown alarm state \"RED\""},
			rejected: true,
		},
	}
	rejected := 0
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := invoke(t, r.rt, tt.payload)
			fe, ok := resp.Error()
			if !ok {
				t.Fatalf("got result %s, want a function error", resp.Body)
			}
			for _, w := range tt.want {
				if !strings.Contains(fe.Message, w) {
					t.Errorf("errorMessage got %q, want it to contain %q", fe.Message, w)
				}
			}
			if fe.Type == "" {
				t.Errorf("errorType is empty, want the error's Go type")
			}
		})
		if tt.rejected {
			rejected++
		}
	}
	if got, want := r.desired(t), int32(awstest.FleetDesired); got != want {
		t.Errorf("desired capacity got %d, want %d (unchanged)", got, want)
	}
	if got := tableItems(t, r.cfg); got != 0 {
		t.Errorf("state table items got %d, want 0 (nothing claimed)", got)
	}
	if got, want := len(records(r.rt, "rejecting malformed event")), rejected; got != want {
		t.Errorf("rejection log lines got %d, want %d", got, want)
	}
}

// TestScalerTickReadsTheAlarmsMetric: on the one-minute tick an alarm that
// stays in ALARM is re-evaluated on its metric's newest complete period
// (GetMetricData), not on the datapoint of its state change, which
// CloudWatch does not refresh while the state holds. The reason data says
// 55 (a breach of 5: one instance); the metric says 90 (a breach of 40:
// two).
func TestScalerTickReadsTheAlarmsMetric(t *testing.T) {
	cfg := emu.Fresh(t)
	fleet := awstest.NewFleet(t, cfg)
	awstest.NewTable(t, cfg, table)
	cw := cloudwatch.NewFromConfig(cfg)
	dims := []cwtypes.Dimension{{Name: aws.String("AutoScalingGroupName"), Value: aws.String(fleet.GroupName)}}
	// Every minute of the window holds 90, so a minute boundary between
	// these writes and the tick changes nothing.
	now := time.Now()
	for m := range 4 {
		if _, err := cw.PutMetricData(t.Context(), &cloudwatch.PutMetricDataInput{
			Namespace: aws.String("AWS/EC2"),
			MetricData: []cwtypes.MetricDatum{{
				MetricName: aws.String("CPUUtilization"), Dimensions: dims,
				Timestamp: aws.Time(now.Truncate(time.Minute).Add(-time.Duration(m)*time.Minute + 5*time.Second)), Value: aws.Float64(90),
			}},
		}); err != nil {
			t.Fatalf("PutMetricData: %v", err)
		}
	}
	if _, err := cw.PutMetricAlarm(t.Context(), &cloudwatch.PutMetricAlarmInput{
		AlarmName: aws.String(alarmName), Namespace: aws.String("AWS/EC2"), MetricName: aws.String("CPUUtilization"),
		Dimensions: dims, Statistic: cwtypes.StatisticAverage, Period: aws.Int32(60), EvaluationPeriods: aws.Int32(1),
		Threshold: aws.Float64(50), ComparisonOperator: cwtypes.ComparisonOperatorGreaterThanThreshold,
	}); err != nil {
		t.Fatalf("PutMetricAlarm: %v", err)
	}
	if _, err := cw.SetAlarmState(t.Context(), &cloudwatch.SetAlarmStateInput{
		AlarmName: aws.String(alarmName), StateValue: cwtypes.StateValueAlarm, StateReason: aws.String("Threshold Crossed"),
		StateReasonData: aws.String(`{"version":"1.0","statistic":"Average","period":60,"recentDatapoints":[55.0],"threshold":50.0}`),
	}); err != nil {
		t.Fatalf("SetAlarmState: %v", err)
	}
	c := config.Config{Table: table, Fleets: []config.Fleet{{
		Name: "web", Group: fleet.GroupName,
		Scaling: scaling.Policy{Min: awstest.FleetMin, Max: awstest.FleetMax, Rules: []scaling.Rule{{
			Alarm: alarmName, Direction: scaling.Out, AdjustmentType: scaling.ChangeInCapacity,
			Steps: []scaling.Step{{Lower: 0, Upper: 30, Adjustment: 1}, {Lower: 30, Adjustment: 2}},
		}}},
	}}}
	r := scalerRig{rt: start(t, "scaler", configEnv(t, c)), cfg: cfg, fleet: fleet}

	mustSucceed(t, "tick", invoke(t, r.rt, sample(t, "eventbridge-scheduled-event", nil)))
	if got, want := r.desired(t), int32(awstest.FleetDesired+2); got != want {
		t.Errorf("desired capacity got %d, want %d (the metric's breach of 40, not the reason's 5)\n%s", got, want, r.rt.Logs())
	}
	if got := records(r.rt, "alarm value is not its metric's newest"); len(got) != 0 {
		t.Errorf("the scaler fell back to the reason data: %v", got)
	}
}

// TestScalerRidesOutFaults: the bootstrap's own retryer (the adaptive one it
// ships with) carries a capacity change through a throttle and through an
// answer lost after the change took effect; the change, being absolute,
// lands once.
func TestScalerRidesOutFaults(t *testing.T) {
	r := newScalerRig(t)
	p := emu.Proxy(t)
	change := awsproxy.Call{Service: awsproxy.AutoScaling, Operation: "SetDesiredCapacity"}
	change.Nth = 1
	p.Fail(change, awsproxy.Throttle)
	change.Nth = 2
	p.Fail(change, awsproxy.DropResponse)

	mustSucceed(t, "delivery", invoke(t, r.rt, sample(t, alarmSample, nil)))
	if got, want := r.desired(t), int32(awstest.FleetDesired+1); got != want {
		t.Errorf("desired capacity: got %d, want %d", got, want)
	}
	if n := p.Count(awsproxy.AutoScaling, "SetDesiredCapacity"); n != 3 {
		t.Errorf("SetDesiredCapacity attempts: got %d, want 3 (throttled, answer lost, answered)\n%s", n, p.Log())
	}
}

// TestFailedInvocationLeavesOneErrorLine: with Lambda's advanced logging
// set to WARN, a failed invocation still leaves a line, exactly one, at
// ERROR: the runtime reports a function error at no level of its own. It
// names the event, the fleet, what was left undone and why.
func TestFailedInvocationLeavesOneErrorLine(t *testing.T) {
	r := newScalerRig(t, config.EnvLogLevel, "WARN")
	rt := r.rt
	// Every attempt throttled: the SDK's retries run out.
	emu.Proxy(t).Fail(awsproxy.Call{Service: awsproxy.AutoScaling, Operation: "SetDesiredCapacity", Nth: 1, Until: awsproxy.Forever}, awsproxy.Throttle)

	ev := sample(t, alarmSample, nil)
	resp := invoke(t, rt, ev)
	if _, failed := resp.Error(); !failed {
		t.Fatal("invocation succeeded; want the throttled capacity change to fail it")
	}
	logs := rt.Logs()
	if len(logs) != 1 {
		t.Fatalf("log records at WARN: got %d, want exactly 1\n%v", len(logs), logs)
	}
	rec := logs[0]
	for k, want := range map[string]any{"level": "ERROR", "fleet": "web", "fault": "throttled"} {
		if rec[k] != want {
			t.Errorf("%s: got %v, want %v", k, rec[k], want)
		}
	}
	for _, k := range []string{"event_id", "request_id", "undone", "error"} {
		if s, _ := rec[k].(string); s == "" {
			t.Errorf("%s: missing from %v", k, rec)
		}
	}
}
