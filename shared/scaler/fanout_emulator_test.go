package scaler_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/stampkit/stampkit/shared/asg"
	"github.com/stampkit/stampkit/shared/awstest"
	"github.com/stampkit/stampkit/shared/awstest/awsproxy"
	"github.com/stampkit/stampkit/shared/clock"
	"github.com/stampkit/stampkit/shared/config"
	"github.com/stampkit/stampkit/shared/cwalarm"
	"github.com/stampkit/stampkit/shared/dynamo"
	"github.com/stampkit/stampkit/shared/event"
	"github.com/stampkit/stampkit/shared/logging"
	"github.com/stampkit/stampkit/shared/scaler"
	"github.com/stampkit/stampkit/shared/scaling"
)

// emulatorFleets creates n fleets in the emulator — fNNN: an Auto Scaling
// group fNNN-asg of one instance and a scale-out alarm fNNN-high on its
// CPU, set to ALARM with a current datapoint — and returns the scaler over
// them through the real SDK clients, with no cooldown, so that every
// evaluation of a fleet raises its group by one.
func emulatorFleets(t *testing.T, n int, now time.Time) (*scaler.Handler, *asg.Adapter, []string) {
	t.Helper()
	cfg := emu.Fresh(t)
	ctx := t.Context()
	awstest.NewTable(t, cfg, "stampkit-state")
	ec2c, asc, cw := ec2.NewFromConfig(cfg), autoscaling.NewFromConfig(cfg), cloudwatch.NewFromConfig(cfg)
	img, err := ec2c.RegisterImage(ctx, &ec2.RegisterImageInput{Name: aws.String("stampkit-base"), Architecture: ec2types.ArchitectureValuesArm64})
	if err != nil {
		t.Fatalf("RegisterImage: %v", err)
	}
	if _, err := ec2c.CreateLaunchTemplate(ctx, &ec2.CreateLaunchTemplateInput{
		LaunchTemplateName: aws.String("fleets"),
		LaunchTemplateData: &ec2types.RequestLaunchTemplateData{ImageId: img.ImageId, InstanceType: ec2types.InstanceTypeT4gMicro},
	}); err != nil {
		t.Fatalf("CreateLaunchTemplate: %v", err)
	}

	c := config.Config{Table: "stampkit-state"}
	var names []string
	var data []cwtypes.MetricDatum
	for i := range n {
		name := fmt.Sprintf("f%03d", i)
		names = append(names, name)
		group, alarm := name+"-asg", name+"-high"
		if _, err := asc.CreateAutoScalingGroup(ctx, &autoscaling.CreateAutoScalingGroupInput{
			AutoScalingGroupName: aws.String(group), MinSize: aws.Int32(1), MaxSize: aws.Int32(10), DesiredCapacity: aws.Int32(1),
			AvailabilityZones: []string{"us-east-1a"},
			LaunchTemplate:    &astypes.LaunchTemplateSpecification{LaunchTemplateName: aws.String("fleets"), Version: aws.String("$Latest")},
		}); err != nil {
			t.Fatalf("CreateAutoScalingGroup %s: %v", group, err)
		}
		dims := []cwtypes.Dimension{{Name: aws.String("AutoScalingGroupName"), Value: aws.String(group)}}
		if _, err := cw.PutMetricAlarm(ctx, &cloudwatch.PutMetricAlarmInput{
			AlarmName: aws.String(alarm), Namespace: aws.String("AWS/EC2"), MetricName: aws.String("CPUUtilization"), Dimensions: dims,
			Statistic: cwtypes.StatisticAverage, Period: aws.Int32(60), EvaluationPeriods: aws.Int32(1),
			Threshold: aws.Float64(60), ComparisonOperator: cwtypes.ComparisonOperatorGreaterThanThreshold,
		}); err != nil {
			t.Fatalf("PutMetricAlarm %s: %v", alarm, err)
		}
		if _, err := cw.SetAlarmState(ctx, &cloudwatch.SetAlarmStateInput{
			AlarmName: aws.String(alarm), StateValue: cwtypes.StateValueAlarm, StateReason: aws.String("test"),
			StateReasonData: aws.String(`{"version":"1.0","recentDatapoints":[80.0],"threshold":60.0}`),
		}); err != nil {
			t.Fatalf("SetAlarmState %s: %v", alarm, err)
		}
		// The tick reads an alarm in ALARM's current value from its metric.
		for _, ago := range []time.Duration{2 * time.Minute, 3 * time.Minute} {
			data = append(data, cwtypes.MetricDatum{MetricName: aws.String("CPUUtilization"), Dimensions: dims,
				Timestamp: aws.Time(time.Now().Add(-ago)), Value: aws.Float64(80)})
		}
		c.Fleets = append(c.Fleets, config.Fleet{Name: name, Group: group, Scaling: scaling.Policy{
			Min: 1, Max: 10,
			Rules: []scaling.Rule{{Alarm: alarm, Direction: scaling.Out, AdjustmentType: scaling.ChangeInCapacity, Steps: []scaling.Step{{Adjustment: 1}}}},
		}})
	}
	for chunk := range slices.Chunk(data, 1000) { // PutMetricData takes 1,000 datums at most
		if _, err := cw.PutMetricData(ctx, &cloudwatch.PutMetricDataInput{Namespace: aws.String("AWS/EC2"), MetricData: chunk}); err != nil {
			t.Fatalf("PutMetricData: %v", err)
		}
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("config: %v", err)
	}
	clk := clock.NewManual(now)
	groups := asg.New(autoscaling.NewFromConfig(cfg))
	h := &scaler.Handler{
		Config: c, Groups: groups, Alarms: cwalarm.New(cw), AlarmBatch: cwalarm.New(cw),
		Store: dynamo.New(dynamodb.NewFromConfig(cfg), "stampkit-state", dynamo.WithClock(clk.Now)),
		Clock: clk,
		Log:   logging.New(io.Discard, slog.LevelInfo),
	}
	return h, groups, names
}

// A hundred fleets in the emulator, ticked for three minutes by their ten
// tick batches at once, as ten invocations of the scaler over the real
// SDK clients and DynamoDB: every fleet is raised once a minute, and each
// batch reads its fleets' alarms with one DescribeAlarms. In the second
// minute one batch's read hangs and another's is throttled: their fleets
// read their own alarms and are raised all the same. Of those reads one
// hangs and another is throttled: only those two fleets are left undone,
// the others are raised, and Lambda's retry of the failed batches raises
// those two alone.
func TestEmulatorHundredFleetsTickInBatches(t *testing.T) {
	start := time.Now().Truncate(time.Minute)
	h, groups, names := emulatorFleets(t, 100, start)
	proxy := emu.Proxy(t)
	clk := h.Clock.(*clock.Manual)
	batches := event.TickBatches(names, event.TickBatchSize)
	invoke := func(timeout time.Duration, events [][]byte) []error {
		errs := make([]error, len(events))
		var wg sync.WaitGroup
		for i, ev := range events {
			wg.Go(func() {
				ctx, cancel := context.WithTimeout(t.Context(), timeout)
				defer cancel()
				errs[i] = h.Handle(ctx, ev)
			})
		}
		wg.Wait()
		return errs
	}

	for m := range 3 {
		at := start.Add(time.Duration(m) * time.Minute)
		clk.Set(at.Add(5 * time.Second))
		var events [][]byte
		for i, b := range batches {
			events = append(events, batchTick(t, fmt.Sprintf("tick-%d-%d", m, i), at, i, b))
		}
		timeout := 30 * time.Second // the scaler's
		if m == 1 {
			// The hanging call is held until its fleet's deadline, 18 s
			// (20 less invocation.Headroom) rather than the scaler's 28,
			// to keep the test shorter; the emulator takes some 4 s for
			// a minute of all hundred fleets.
			timeout = 20 * time.Second
			// The first two calls are batch reads: a fleet reads its own
			// alarms only after its batch's read failed. The one held is
			// cut at its share of the invocation (4.5 s); by then the
			// other eight batch reads and the throttled batch's ten own
			// reads are made, so calls 21 and 22 are fleets' own reads.
			proxy.Fail(awsproxy.Call{Service: awsproxy.CloudWatch, Operation: "DescribeAlarms", Nth: 1}, awsproxy.Timeout)
			proxy.Fail(awsproxy.Call{Service: awsproxy.CloudWatch, Operation: "DescribeAlarms", Nth: 2}, awsproxy.Throttle)
			proxy.Fail(awsproxy.Call{Service: awsproxy.CloudWatch, Operation: "DescribeAlarms", Nth: 21}, awsproxy.Timeout)
			proxy.Fail(awsproxy.Call{Service: awsproxy.CloudWatch, Operation: "DescribeAlarms", Nth: 22}, awsproxy.Throttle)
		}
		var undone []string
		var retry [][]byte
		began, calls := time.Now(), len(proxy.Calls())
		errs := invoke(timeout, events)
		t.Logf("minute %d: the ten invocations took %v", m, time.Since(began))
		if got := describes(proxy.Calls()[calls:]); m != 1 && got != len(batches) {
			t.Errorf("minute %d: %d DescribeAlarms calls, want %d: one per batch", m, got, len(batches))
		}
		for i, err := range errs {
			if fleets := undoneFleets(err); len(fleets) > 0 {
				t.Logf("minute %d, batch %d: %v", m, i, err)
				undone = append(undone, fleets...)
				retry = append(retry, events[i])
			} else if err != nil {
				t.Fatalf("minute %d, batch %d: %v", m, i, err)
			}
		}
		if m != 1 && len(undone) > 0 {
			t.Fatalf("minute %d: fleets %v left undone, want none", m, undone)
		}
		if m == 1 {
			if len(undone) != 2 {
				t.Fatalf("minute 1: fleets %v left undone, want the two whose own DescribeAlarms hung and was throttled", undone)
			}
			for _, f := range names {
				want := int32(3) // one instance, raised in minutes 0 and 1
				if slices.Contains(undone, f) {
					want = 2
				}
				if got := desired(t, groups, f+"-asg"); got != want {
					t.Errorf("minute 1: group %s-asg at %d, want %d", f, got, want)
				}
			}
			// Lambda retries each failed invocation a minute later, with
			// its event.
			proxy.Clear()
			clk.Set(at.Add(65 * time.Second))
			before := len(proxy.Calls())
			for i, err := range invoke(30*time.Second, retry) {
				if err != nil {
					t.Fatalf("retry %d: %v", i, err)
				}
			}
			if reads := describes(proxy.Calls()[before:]); reads != len(retry) {
				t.Errorf("the retries read alarms %d times, want %d: once for each batch retried", reads, len(retry))
			}
			for _, f := range names {
				if got := desired(t, groups, f+"-asg"); got != 3 {
					t.Errorf("after the retries, group %s-asg at %d, want 3: each fleet raised once in minute 1", f, got)
				}
			}
		}
	}
	for _, f := range names {
		if got := desired(t, groups, f+"-asg"); got != 4 {
			t.Errorf("group %s-asg at %d after three minutes, want 4: raised once a minute", f, got)
		}
	}
}

// describes counts the DescribeAlarms calls answered: a connection the
// emulator drops is retried by the SDK and would count twice.
func describes(calls []awsproxy.Record) int {
	n := 0
	for _, c := range calls {
		if c.Service == awsproxy.CloudWatch && c.Operation == "DescribeAlarms" && c.Status == 200 {
			n++
		}
	}
	return n
}
