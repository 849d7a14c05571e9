package scaler_test

import (
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/stampkit/stampkit/shared/asg"
	"github.com/stampkit/stampkit/shared/awstest"
	"github.com/stampkit/stampkit/shared/clock"
	"github.com/stampkit/stampkit/shared/config"
	"github.com/stampkit/stampkit/shared/cwalarm"
	"github.com/stampkit/stampkit/shared/dynamo"
	"github.com/stampkit/stampkit/shared/logging"
	"github.com/stampkit/stampkit/shared/scaler"
	"github.com/stampkit/stampkit/shared/scaling"
)

var emu = awstest.New()

func TestMain(m *testing.M) { os.Exit(emu.Run(m)) }

// emulatorHandler wires the scaler to the real SDK clients, pointed at the
// local emulator: the group, the alarms and the state table are moto's.
func emulatorHandler(t *testing.T, now time.Time) (*scaler.Handler, *asg.Adapter, aws.Config, awstest.Fleet) {
	t.Helper()
	cfg := emu.Fresh(t)
	fleet := awstest.NewFleet(t, cfg)
	awstest.NewTable(t, cfg, "stampkit-state")
	groups := asg.New(autoscaling.NewFromConfig(cfg))
	policy := scaling.Policy{
		Min: awstest.FleetMin, Max: awstest.FleetMax,
		Rules: []scaling.Rule{
			{Alarm: "web-high", Direction: scaling.Out, AdjustmentType: scaling.ChangeInCapacity, Steps: []scaling.Step{{Adjustment: 1}}},
			{Alarm: "web-low", Direction: scaling.In, AdjustmentType: scaling.ChangeInCapacity, Steps: []scaling.Step{{Adjustment: 1}}},
		},
	}
	c := config.Config{Table: "stampkit-state", Fleets: []config.Fleet{{Name: "web", Group: fleet.GroupName, Scaling: policy}}}
	if err := c.Validate(); err != nil {
		t.Fatalf("config: %v", err)
	}
	clk := clock.NewManual(now)
	h := &scaler.Handler{
		Config: c, Groups: groups,
		Alarms: cwalarm.New(cloudwatch.NewFromConfig(cfg)),
		Store:  dynamo.New(dynamodb.NewFromConfig(cfg), "stampkit-state", dynamo.WithClock(clk.Now)),
		Clock:  clk,
		Log:    logging.New(io.Discard, slog.LevelInfo),
	}
	return h, groups, cfg, fleet
}

func desired(t *testing.T, groups *asg.Adapter, name string) int32 {
	t.Helper()
	g, err := groups.Describe(t.Context(), name)
	if err != nil {
		t.Fatalf("Describe: %v", err)
	}
	return g.Desired
}

// With no cooldown and no warm-up in the policy, only the DynamoDB claims
// and the per-alarm ordering stand between a duplicated or reordered
// delivery and a second scale-out.
func TestEmulatorAlarmEventsActExactlyOnce(t *testing.T) {
	h, groups, _, fleet := emulatorHandler(t, t0.Add(5*time.Minute))
	high := alarmEvent("e1", "web-high", "ALARM", t0, 80, 60)
	ok := alarmEvent("e2", "web-high", "OK", t0.Add(2*time.Minute), 40, 60)
	for i, raw := range [][]byte{high, high, ok, high, ok} {
		if err := h.Handle(t.Context(), raw); err != nil {
			t.Fatalf("delivery %d: %v", i, err)
		}
	}
	if got, want := desired(t, groups, fleet.GroupName), int32(awstest.FleetDesired+1); got != want {
		t.Errorf("desired capacity = %d, want %d (one scale-out for one state change)", got, want)
	}
}

func TestEmulatorTickScalesInAfterHold(t *testing.T) {
	h, groups, cfg, fleet := emulatorHandler(t, time.Now())
	h.Config.Fleets[0].Scaling.ScaleInHold = 0
	cw := cloudwatch.NewFromConfig(cfg)
	for _, name := range []string{"web-high", "web-low"} {
		op := types.ComparisonOperatorGreaterThanThreshold
		if name == "web-low" {
			op = types.ComparisonOperatorLessThanThreshold
		}
		if _, err := cw.PutMetricAlarm(t.Context(), &cloudwatch.PutMetricAlarmInput{
			AlarmName: aws.String(name), Namespace: aws.String("AWS/EC2"), MetricName: aws.String("CPUUtilization"),
			Statistic: types.StatisticAverage, Period: aws.Int32(60), EvaluationPeriods: aws.Int32(1),
			Threshold: aws.Float64(30), ComparisonOperator: op,
		}); err != nil {
			t.Fatalf("PutMetricAlarm %s: %v", name, err)
		}
	}
	if _, err := cw.SetAlarmState(t.Context(), &cloudwatch.SetAlarmStateInput{
		AlarmName: aws.String("web-low"), StateValue: types.StateValueAlarm, StateReason: aws.String("test"),
		StateReasonData: aws.String(`{"version":"1.0","recentDatapoints":[12.5],"threshold":30.0}`),
	}); err != nil {
		t.Fatalf("SetAlarmState: %v", err)
	}
	// The handler's clock runs a minute past the alarm's state change.
	now := time.Now().Add(time.Minute)
	h.Clock = clock.NewManual(now)
	tick := tickEvent("tick-1", now)
	for i := range 2 { // the second delivery is a duplicate of the first
		if err := h.Handle(t.Context(), tick); err != nil {
			t.Fatalf("tick delivery %d: %v", i, err)
		}
	}
	if got, want := desired(t, groups, fleet.GroupName), int32(awstest.FleetDesired-1); got != want {
		t.Errorf("desired capacity = %d, want %d (one scale-in for one tick window)", got, want)
	}
}

// A tick reads a day and more of the target group's request counts from
// CloudWatch with GetMetricData, caches them in DynamoDB and raises the
// group to the forecast floor, once for a duplicated tick; the next tick
// reads only what is new.
func TestEmulatorTickRaisesToTheForecastFloor(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Minute)
	h, groups, cfg, fleet := emulatorHandler(t, now)
	dims := map[string]string{"LoadBalancer": "app/web/1", "TargetGroup": "targetgroup/web/2"}
	h.Config.Fleets[0].Scaling.Forecast = &scaling.Forecast{
		Metric:      scaling.Metric{Namespace: "AWS/ApplicationELB", Name: "RequestCount", Dimensions: dims},
		PerInstance: 1000, LookbackDays: 2,
		Lead: clock.Duration(5 * time.Minute), Window: clock.Duration(5 * time.Minute), Quantile: 0.5,
	}
	cw := cloudwatch.NewFromConfig(cfg)
	h.History = cwalarm.New(cw)
	// 26 hours at 3,000 requests a minute: three instances' worth.
	var data []types.MetricDatum
	for m := 26 * 60; m > 0; m-- {
		data = append(data, types.MetricDatum{
			MetricName: aws.String("RequestCount"), Timestamp: aws.Time(now.Add(-time.Duration(m) * time.Minute)), Value: aws.Float64(3000),
			Dimensions: []types.Dimension{{Name: aws.String("LoadBalancer"), Value: aws.String("app/web/1")}, {Name: aws.String("TargetGroup"), Value: aws.String("targetgroup/web/2")}},
		})
	}
	for chunk := range slices.Chunk(data, 1000) { // PutMetricData takes 1,000 datums at most
		if _, err := cw.PutMetricData(t.Context(), &cloudwatch.PutMetricDataInput{Namespace: aws.String("AWS/ApplicationELB"), MetricData: chunk}); err != nil {
			t.Fatalf("PutMetricData: %v", err)
		}
	}
	for i := range 2 { // the second delivery is a duplicate of the first
		if err := h.Handle(t.Context(), tickEvent("tick-1", now)); err != nil {
			t.Fatalf("tick delivery %d: %v", i, err)
		}
	}
	if got, want := desired(t, groups, fleet.GroupName), int32(3); got != want {
		t.Errorf("desired capacity = %d, want %d (the forecast floor)", got, want)
	}
	cached, _, err := h.Store.Load(t.Context(), scaler.HistoryKey("web"))
	if err != nil || !strings.Contains(string(cached), "15000,15000") {
		t.Errorf("cached history: %.200s..., %v; want five-minute totals of 15,000", cached, err)
	}
}
