package e2e_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
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
	"github.com/aws/aws-sdk-go-v2/service/route53"
	r53types "github.com/aws/aws-sdk-go-v2/service/route53/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/google/go-cmp/cmp"

	"github.com/stampkit/stampkit/infra/stampconfig"
	"github.com/stampkit/stampkit/shared/awstest"
	"github.com/stampkit/stampkit/shared/awstest/awsproxy"
	"github.com/stampkit/stampkit/shared/clock"
	"github.com/stampkit/stampkit/shared/config"
	"github.com/stampkit/stampkit/shared/dynamo"
	"github.com/stampkit/stampkit/shared/runtimetest"
	"github.com/stampkit/stampkit/shared/scaler"
	"github.com/stampkit/stampkit/shared/scaling"
	"github.com/stampkit/stampkit/shared/stampshift"
)

// The shift rig's names: the record, its hosted zone, the shift function's
// own table, and the two stamps, each in a Region of its own.
const (
	shiftRecord = "www.example.com."
	shiftTable  = "stampkit-e2e-shift"
	shiftSample = "stampkit-shift-command"
	// albZone is the canonical hosted zone of ALBs in us-east-1: the
	// alias records' target zone.
	albZone = "Z35SXDOTRQ7X7K"
	// blueInService is what the sending stamp carries when the transition
	// begins: what green needs in service at 100 %.
	blueInService = 4
)

// shiftStamp is one stamp of the rig: its Region, group, health alarm,
// weight parameter and the parameter naming its scaler state table (as
// the CDK's /stampkit/<stamp>/state-table: the table's name is
// CloudFormation's).
type shiftStamp struct {
	name, region, group, alarm, param, tableParam string
}

var (
	blue = shiftStamp{name: "blue", region: "us-east-1", group: "stampkit-blue-web", alarm: "blue-web-5xx",
		param: "/stampkit/blue/www/weight", tableParam: "/stampkit/blue/state-table"}
	green = shiftStamp{name: "green", region: "us-west-2", group: "stampkit-green-web", alarm: "green-web-5xx",
		param: "/stampkit/green/www/weight", tableParam: "/stampkit/green/state-table"}
)

// shiftRig is the shift function under the runtime emulator with two
// stamps in two Regions of the emulator, behind the weighted alias records
// of one name (blue 100, green 0), each with a Route 53 health check.
type shiftRig struct {
	rt    *runtimetest.Runtime
	cfg   aws.Config
	zone  string
	queue string
	// calls are the AWS calls the function made, in its invocations.
	calls *[]awsproxy.Record
}

func newShiftRig(t *testing.T) shiftRig {
	t.Helper()
	cfg := emu.Fresh(t)
	r := shiftRig{cfg: cfg, calls: new([]awsproxy.Record)}
	awstest.NewTable(t, cfg, shiftTable)
	r.queue = newQueue(t, cfg, "stampkit-e2e-shift")
	for _, st := range []struct {
		shiftStamp
		desired int32
	}{{blue, blueInService}, {green, 0}} {
		rc := r.in(st.shiftStamp)
		newStampGroup(t, rc, st.group, st.desired)
		awstest.NewTable(t, rc, table)
		if _, err := ssm.NewFromConfig(rc).PutParameter(t.Context(), &ssm.PutParameterInput{
			Name: aws.String(st.tableParam), Value: aws.String(table), Type: ssmtypes.ParameterTypeString,
		}); err != nil {
			t.Fatalf("PutParameter %s in %s: %v", st.tableParam, st.region, err)
		}
		if _, err := cloudwatch.NewFromConfig(rc).PutMetricAlarm(t.Context(), &cloudwatch.PutMetricAlarmInput{
			AlarmName: aws.String(st.alarm), Namespace: aws.String("AWS/ApplicationELB"), MetricName: aws.String("HTTPCode_Target_5XX_Count"),
			Statistic: cwtypes.StatisticSum, Period: aws.Int32(60), EvaluationPeriods: aws.Int32(1),
			Threshold: aws.Float64(10), ComparisonOperator: cwtypes.ComparisonOperatorGreaterThanThreshold,
		}); err != nil {
			t.Fatalf("PutMetricAlarm %s in %s: %v", st.alarm, st.region, err)
		}
	}
	r.zone = weightedRecords(t, cfg, map[string]int64{blue.name: 100, green.name: 0})

	c := config.Shift{
		Record: shiftRecord, HostedZoneID: r.zone, Table: shiftTable,
		// Three steps, each counting a second after its change is INSYNC
		// (TTL and bake of half a second each), polled every second: the
		// transition moves as fast as the wake-ups come.
		Steps: []int{25, 50, 100}, TTL: clock.Duration(500 * time.Millisecond), Bake: clock.Duration(500 * time.Millisecond),
		PollInterval: clock.Duration(time.Second), CapacityTimeout: clock.Duration(time.Hour),
	}
	for _, st := range []shiftStamp{blue, green} {
		c.Stamps = append(c.Stamps, config.ShiftStamp{
			Name: st.name, Region: st.region, Fleet: "web", Group: st.group,
			WeightParameter: st.param, HealthAlarms: []string{st.alarm}, StateTable: st.tableParam,
		})
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("test configuration: %v", err)
	}
	raw, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, "shift.json"), raw, 0o644); err != nil {
		t.Fatal(err)
	}
	r.rt = start(t, "shift", map[string]string{
		config.EnvShiftFile: "shift.json", config.EnvTaskRoot: root, config.EnvShiftQueue: r.queue,
	})
	return r
}

// invoke invokes the function with payload and keeps the AWS calls it
// made meanwhile: the test makes none while it waits.
func (r shiftRig) invoke(t *testing.T, payload []byte) runtimetest.Response {
	t.Helper()
	before := len(emu.Proxy(t).Calls())
	resp := invoke(t, r.rt, payload)
	*r.calls = append(*r.calls, emu.Proxy(t).Calls()[before:]...)
	return resp
}

// count is how many calls of service's operation the function made.
func (r shiftRig) count(service, operation string) int {
	n := 0
	for _, c := range *r.calls {
		if c.Service == service && c.Operation == operation {
			n++
		}
	}
	return n
}

// in is the rig's AWS configuration aimed at st's Region.
func (r shiftRig) in(st shiftStamp) aws.Config {
	c := r.cfg.Copy()
	c.Region = st.region
	return c
}

// newStampGroup creates in cfg's Region a launch template and an Auto
// Scaling group of desired instances (at most 4), which moto puts in
// service at once.
func newStampGroup(t *testing.T, cfg aws.Config, name string, desired int32) {
	t.Helper()
	ctx := t.Context()
	ec2c := ec2.NewFromConfig(cfg)
	img, err := ec2c.RegisterImage(ctx, &ec2.RegisterImageInput{Name: aws.String(name + "-image")})
	if err != nil {
		t.Fatalf("RegisterImage in %s: %v", cfg.Region, err)
	}
	lt, err := ec2c.CreateLaunchTemplate(ctx, &ec2.CreateLaunchTemplateInput{
		LaunchTemplateName: aws.String(name),
		LaunchTemplateData: &ec2types.RequestLaunchTemplateData{ImageId: img.ImageId, InstanceType: ec2types.InstanceTypeT3Micro},
	})
	if err != nil {
		t.Fatalf("CreateLaunchTemplate in %s: %v", cfg.Region, err)
	}
	if _, err := autoscaling.NewFromConfig(cfg).CreateAutoScalingGroup(ctx, &autoscaling.CreateAutoScalingGroupInput{
		AutoScalingGroupName: aws.String(name),
		MinSize:              aws.Int32(0), MaxSize: aws.Int32(blueInService), DesiredCapacity: aws.Int32(desired),
		LaunchTemplate:    &astypes.LaunchTemplateSpecification{LaunchTemplateId: lt.LaunchTemplate.LaunchTemplateId, Version: aws.String("1")},
		AvailabilityZones: []string{cfg.Region + "a"},
	}); err != nil {
		t.Fatalf("CreateAutoScalingGroup %s in %s: %v", name, cfg.Region, err)
	}
}

// weightedRecords creates the hosted zone and one weighted alias record of
// shiftRecord per stamp, each with a health check, as a stamp's stack
// declares them; it returns the zone's id.
func weightedRecords(t *testing.T, cfg aws.Config, weights map[string]int64) string {
	t.Helper()
	ctx := t.Context()
	client := route53.NewFromConfig(cfg)
	zone, err := client.CreateHostedZone(ctx, &route53.CreateHostedZoneInput{Name: aws.String("example.com"), CallerReference: aws.String(t.Name())})
	if err != nil {
		t.Fatalf("CreateHostedZone: %v", err)
	}
	var changes []r53types.Change
	for stamp, w := range weights {
		hc, err := client.CreateHealthCheck(ctx, &route53.CreateHealthCheckInput{
			CallerReference: aws.String(t.Name() + stamp),
			HealthCheckConfig: &r53types.HealthCheckConfig{Type: r53types.HealthCheckTypeHttps,
				FullyQualifiedDomainName: aws.String(stamp + ".example.com"), ResourcePath: aws.String("/readyz")},
		})
		if err != nil {
			t.Fatalf("CreateHealthCheck %s: %v", stamp, err)
		}
		changes = append(changes, r53types.Change{Action: r53types.ChangeActionCreate, ResourceRecordSet: &r53types.ResourceRecordSet{
			Name: aws.String(shiftRecord), Type: r53types.RRTypeA, SetIdentifier: aws.String(stamp), Weight: aws.Int64(w),
			HealthCheckId: hc.HealthCheck.Id,
			AliasTarget: &r53types.AliasTarget{HostedZoneId: aws.String(albZone), DNSName: aws.String(stamp + "-alb.elb.amazonaws.com."),
				EvaluateTargetHealth: true},
		}})
	}
	if _, err := client.ChangeResourceRecordSets(ctx, &route53.ChangeResourceRecordSetsInput{HostedZoneId: zone.HostedZone.Id,
		ChangeBatch: &r53types.ChangeBatch{Changes: changes}}); err != nil {
		t.Fatalf("creating the weighted records: %v", err)
	}
	return strings.TrimPrefix(aws.ToString(zone.HostedZone.Id), "/hostedzone/")
}

// command is the sample Stamp Shift Command, blue to green on the rig's
// record, with edit applied to its detail.
func (r shiftRig) command(t *testing.T, edit func(d map[string]any)) []byte {
	t.Helper()
	return sample(t, shiftSample, func(ev map[string]any) {
		ev["time"] = time.Now().UTC().Format(time.RFC3339)
		d := detail(ev)
		d["record"], d["from"], d["to"], d["action"] = shiftRecord, blue.name, green.name, "start"
		if edit != nil {
			edit(d)
		}
	})
}

// wake delivers the function's next wake-up from its queue as an SQS
// batch, and deletes it once handled, as the event source mapping does.
func (r shiftRig) wake(t *testing.T) {
	t.Helper()
	batch, receipt := receiveWakeUp(t, r.cfg, r.queue)
	mustSucceed(t, "wake-up", r.invoke(t, batch))
	if _, err := sqs.NewFromConfig(r.cfg).DeleteMessage(t.Context(), &sqs.DeleteMessageInput{
		QueueUrl: aws.String(r.queue), ReceiptHandle: aws.String(receipt),
	}); err != nil {
		t.Fatalf("DeleteMessage: %v", err)
	}
}

// wakeUntil delivers wake-ups until the transition saved in the shift
// table satisfies done, at most max of them, and returns it.
func (r shiftRig) wakeUntil(t *testing.T, what string, max int, done func(stampshift.State) bool) stampshift.State {
	t.Helper()
	for range max {
		r.wake(t)
		if s := r.transition(t); done(s) {
			return s
		}
	}
	s := r.transition(t)
	t.Fatalf("after %d wake-ups, want %s; transition: %+v", max, what, s)
	return s
}

// transition reads the record's transition from the shift table.
func (r shiftRig) transition(t *testing.T) stampshift.State {
	t.Helper()
	return loadJSON[stampshift.State](t, r.cfg, shiftTable, stampshift.Key(shiftRecord))
}

// loadJSON reads the JSON record at key in a table of cfg's Region, the
// zero T when there is none.
func loadJSON[T any](t *testing.T, cfg aws.Config, table, key string) T {
	t.Helper()
	var v T
	raw, _, err := dynamo.New(dynamodb.NewFromConfig(cfg), table).Load(t.Context(), key)
	if err != nil {
		t.Fatalf("loading %s from %s in %s: %v", key, table, cfg.Region, err)
	}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &v); err != nil {
			t.Fatalf("decoding %s: %v", key, err)
		}
	}
	return v
}

// weights reads the record's weights by SetIdentifier from Route 53.
func (r shiftRig) weights(t *testing.T) map[string]int64 {
	t.Helper()
	out, err := route53.NewFromConfig(r.cfg).ListResourceRecordSets(t.Context(), &route53.ListResourceRecordSetsInput{HostedZoneId: aws.String(r.zone)})
	if err != nil {
		t.Fatalf("ListResourceRecordSets: %v", err)
	}
	got := map[string]int64{}
	for _, rs := range out.ResourceRecordSets {
		if rs.SetIdentifier != nil && aws.ToString(rs.Name) == shiftRecord {
			// The shift changes a weight by DELETE (as read) + CREATE in
			// one batch: one record per stamp, whole, after each.
			if _, dup := got[aws.ToString(rs.SetIdentifier)]; dup {
				t.Errorf("record %s: more than one", aws.ToString(rs.SetIdentifier))
			}
			got[aws.ToString(rs.SetIdentifier)] = aws.ToInt64(rs.Weight)
			if rs.AliasTarget == nil || aws.ToString(rs.HealthCheckId) == "" {
				t.Errorf("record %s lost its alias target or health check: %+v", aws.ToString(rs.SetIdentifier), rs)
			}
		}
	}
	return got
}

// parameters reads each stamp's weight parameter in its Region, "" when
// it was never written.
func (r shiftRig) parameters(t *testing.T) map[string]string {
	t.Helper()
	got := map[string]string{}
	for _, st := range []shiftStamp{blue, green} {
		out, err := ssm.NewFromConfig(r.in(st)).GetParameter(t.Context(), &ssm.GetParameterInput{Name: aws.String(st.param)})
		switch {
		case err != nil && strings.Contains(err.Error(), "ParameterNotFound"):
			got[st.name] = ""
		case err != nil:
			t.Fatalf("GetParameter %s in %s: %v", st.param, st.region, err)
		default:
			got[st.name] = aws.ToString(out.Parameter.Value)
		}
	}
	return got
}

// greenFleet returns green's desired capacity and its scaler's state,
// where the shift holds its floor (ShiftFloor, apart from the forecast's
// Floor). The shift writes it under the scaler's fleet lease, which it
// must have released by the time the invocation returned.
func (r shiftRig) greenFleet(t *testing.T) (desired int32, st scaling.State) {
	t.Helper()
	rc := r.in(green)
	out, err := autoscaling.NewFromConfig(rc).DescribeAutoScalingGroups(t.Context(), &autoscaling.DescribeAutoScalingGroupsInput{
		AutoScalingGroupNames: []string{green.group},
	})
	if err != nil || len(out.AutoScalingGroups) != 1 {
		t.Fatalf("DescribeAutoScalingGroups %s: %v", green.group, err)
	}
	if _, held, err := dynamo.New(dynamodb.NewFromConfig(rc), table).Get(t.Context(), scaling.LeaseKey("web")); err != nil || held {
		t.Errorf("green's fleet lease %s: held %v (%v); want released after the invocation", scaling.LeaseKey("web"), held, err)
	}
	return aws.ToInt32(out.AutoScalingGroups[0].DesiredCapacity), loadJSON[scaling.State](t, rc, table, scaler.StateKey("web"))
}

// checkFloor checks that green's scaler state holds the shift's floor
// want (0: released) and leaves the forecast's floor alone.
func (r shiftRig) checkFloor(t *testing.T, what string, st scaling.State, want int) {
	t.Helper()
	now := time.Now()
	switch {
	case st.Floor != 0 || !st.FloorUntil.IsZero():
		t.Errorf("green's forecast floor %s: got %d until %v, want none (the shift holds its own)", what, st.Floor, st.FloorUntil)
	case want > 0 && (st.ShiftFloor != want || !st.ShiftFloorUntil.After(now)):
		t.Errorf("green's shift floor %s: got %d until %v, want %d held past now", what, st.ShiftFloor, st.ShiftFloorUntil, want)
	case want == 0 && (st.ShiftFloor != 0 || st.ShiftFloorUntil.After(now)):
		t.Errorf("green's shift floor %s: got %d until %v, want released", what, st.ShiftFloor, st.ShiftFloorUntil)
	}
}

// checkStep checks what Route 53, the weight parameters and green's fleet
// hold once a step's weights are sent.
func (r shiftRig) checkStep(t *testing.T, blueWeight, greenWeight int64, greenDesired int32) {
	t.Helper()
	if diff := cmp.Diff(map[string]int64{blue.name: blueWeight, green.name: greenWeight}, r.weights(t)); diff != "" {
		t.Errorf("Route 53 weights (-want +got):\n%s", diff)
	}
	want := map[string]string{blue.name: fmt.Sprint(blueWeight), green.name: fmt.Sprint(greenWeight)}
	if diff := cmp.Diff(want, r.parameters(t)); diff != "" {
		t.Errorf("weight parameters (-want +got):\n%s", diff)
	}
	desired, st := r.greenFleet(t)
	if desired != greenDesired {
		t.Errorf("green's desired capacity: got %d, want %d", desired, greenDesired)
	}
	r.checkFloor(t, fmt.Sprintf("at %d/%d", blueWeight, greenWeight), st, int(greenDesired))
}

// getChanges counts the GetChange calls that reached Route 53 so far.
func getChanges(t *testing.T) int {
	t.Helper()
	n := 0
	for _, c := range emu.Proxy(t).Calls() {
		if c.Service == "route53" && strings.HasPrefix(c.Operation, "GET /2013-04-01/change/") {
			n++
		}
	}
	return n
}

// checkInSync checks that the change pending before was confirmed by a
// GetChange of its id made since the count before, and that the
// transition then counted the step's weights. (moto gives every change the
// same id, so the call's id alone would not tell the changes apart.)
func checkInSync(t *testing.T, before int, change string, s stampshift.State, shifted int) {
	t.Helper()
	if n := getChanges(t); n <= before {
		t.Errorf("no GetChange went to Route 53 while change %s was pending", change)
	}
	if n := emu.Proxy(t).Count("route53", "GET /2013-04-01/change/"+change); n == 0 {
		t.Errorf("no GetChange of change %s went to Route 53", change)
	}
	if s.Change != "" || s.InSyncAt.IsZero() || s.Shifted != shifted {
		t.Errorf("transition after change %s: change %q, inSyncAt %v, shifted %d; want none, set, %d", change, s.Change, s.InSyncAt, s.Shifted, shifted)
	}
	note := fmt.Sprintf("weights %s INSYNC", weightsNote(s.Weights))
	if !slices.ContainsFunc(s.History, func(e stampshift.Entry) bool { return e.Note == note }) {
		t.Errorf("transition history has no %q: %+v", note, s.History)
	}
}

func weightsNote(w map[string]int64) string {
	return fmt.Sprintf("%s=%d %s=%d", blue.name, w[blue.name], green.name, w[green.name])
}

// TestShiftRollsBackOnAlarm scripts a stamp shift through the bootstrap,
// from blue (us-east-1) to green (us-west-2), steps 25, 50, 100 %: the start
// command raises green's fleet for the first step (green is empty); each
// wake-up, delivered as SQS, sends a step's weights once green has the
// capacity (weight parameters first, then Route 53; green raised ahead for
// the next step) and counts it once GetChange says INSYNC. At 50 % green's
// health alarm goes to ALARM: the next wake-up gives all the weight back to
// blue, confirmed INSYNC, and the transition ends rolled back, naming the
// alarm; no further wake-up is scheduled.
func TestShiftRollsBackOnAlarm(t *testing.T) {
	r := newShiftRig(t)

	mustSucceed(t, "start command", r.invoke(t, r.command(t, nil)))
	s := r.transition(t)
	if s.Phase != stampshift.PhaseShift || s.From != blue.name || s.To != green.name || s.Capacity != blueInService || s.Change != "" {
		t.Fatalf("transition after start: got %+v, want shifting blue -> green from %d in service, nothing sent", s, blueInService)
	}
	if diff := cmp.Diff(map[string]int64{blue.name: 100, green.name: 0}, r.weights(t)); diff != "" {
		t.Errorf("Route 53 weights before green has capacity (-want +got):\n%s", diff)
	}
	desired, st := r.greenFleet(t)
	if desired != 1 {
		t.Errorf("green's desired capacity after start: got %d, want 1 (25 %% of 4)", desired)
	}
	r.checkFloor(t, "after start", st, 1)

	s = r.wakeUntil(t, "the 25 % step sent", 3, func(s stampshift.State) bool { return s.Change != "" })
	if s.Step != 0 {
		t.Fatalf("first change sent at step %d, want 0", s.Step)
	}
	r.checkStep(t, 75, 25, 2)
	change, before := s.Change, getChanges(t)
	s = r.wakeUntil(t, "the 25 % step INSYNC", 2, func(s stampshift.State) bool { return s.Change == "" })
	checkInSync(t, before, change, s, 25)

	s = r.wakeUntil(t, "the 50 % step sent", 4, func(s stampshift.State) bool { return s.Step == 1 && s.Change != "" })
	r.checkStep(t, 50, 50, blueInService)
	change, before = s.Change, getChanges(t)
	s = r.wakeUntil(t, "the 50 % step INSYNC", 2, func(s stampshift.State) bool { return s.Change == "" })
	checkInSync(t, before, change, s, 50)

	if _, err := cloudwatch.NewFromConfig(r.in(green)).SetAlarmState(t.Context(), &cloudwatch.SetAlarmStateInput{
		AlarmName: aws.String(green.alarm), StateValue: cwtypes.StateValueAlarm, StateReason: aws.String("Threshold Crossed"),
	}); err != nil {
		t.Fatalf("SetAlarmState %s: %v", green.alarm, err)
	}
	r.wake(t)
	s = r.transition(t)
	wantReason := fmt.Sprintf("%s alarms in ALARM: %s", green.name, green.alarm)
	if s.Phase != stampshift.PhaseRollback || s.Reason != wantReason || s.Change == "" {
		t.Fatalf("transition on the wake-up after the alarm: phase %s, reason %q, change %q; want rolling back for %q, change sent",
			s.Phase, s.Reason, s.Change, wantReason)
	}
	r.checkStep(t, 100, 0, blueInService)

	change, before = s.Change, getChanges(t)
	s = r.wakeUntil(t, "the rollback INSYNC", 2, func(s stampshift.State) bool { return !s.Active() })
	if s.Outcome != stampshift.RolledBack || s.Reason != wantReason || s.Ended.IsZero() {
		t.Errorf("transition at its end: outcome %s, reason %q, ended %v; want %s, %q, set", s.Outcome, s.Reason, s.Ended, stampshift.RolledBack, wantReason)
	}
	checkInSync(t, before, change, s, 0)
	// Resolvers keep green's share for a TTL after the rollback is
	// INSYNC: only then is it rolled back.
	if held := s.Ended.Sub(s.InSyncAt); held < 500*time.Millisecond {
		t.Errorf("rolled back %v after the rollback was INSYNC, want a TTL (500ms) or more", held)
	}
	if diff := cmp.Diff(map[string]int64{blue.name: 100, green.name: 0}, r.weights(t)); diff != "" {
		t.Errorf("Route 53 weights after the rollback (-want +got):\n%s", diff)
	}
	_, st = r.greenFleet(t)
	r.checkFloor(t, "after the rollback", st, 0)
	if n := queued(t, r.cfg, r.queue); n != 0 {
		t.Errorf("wake-ups queued after the transition ended: got %d, want 0", n)
	}
	if n := r.count(awsproxy.SSM, "PutParameter"); n != 6 {
		t.Errorf("weight parameter writes: got %d, want 6 (two per change)", n)
	}
	// Each stamp's state table named by its parameter, read once in the
	// life of the process.
	if n := r.count(awsproxy.SSM, "GetParameter"); n != 2 {
		t.Errorf("state table parameter reads: got %d, want 2 (one per stamp)", n)
	}
	changes := 0
	for _, c := range *r.calls {
		if c.Service == "route53" && c.Operation == "POST /2013-04-01/hostedzone/"+r.zone+"/rrset" {
			changes++
			if c.Status != 200 {
				t.Errorf("ChangeResourceRecordSets: HTTP %d %s, want 200", c.Status, c.Code)
			}
		}
	}
	if changes != 3 {
		t.Errorf("ChangeResourceRecordSets: got %d, want 3 (25 %%, 50 %%, the rollback)", changes)
	}
	checkShiftActions(t, *r.calls)
}

// checkShiftActions: every AWS call the function made is one of the IAM
// actions the shift stack grants it (stampconfig.ShiftActions), and each
// of those was called: the grant is no wider than the code.
func checkShiftActions(t *testing.T, calls []awsproxy.Record) {
	t.Helper()
	granted := stampconfig.ShiftActions()
	called := map[string]bool{}
	for _, c := range calls {
		action := iamAction(c)
		called[action] = true
		if !slices.Contains(granted, action) {
			t.Errorf("the function called %s %s (%s), which the shift stack does not grant", c.Service, c.Operation, action)
		}
	}
	for _, a := range granted {
		if !called[a] {
			t.Errorf("the shift stack grants %s, which the function never called", a)
		}
	}
}

// route53Ops are Route 53's REST operations the shift function calls, by
// method and path (ids left out).
var route53Ops = []struct {
	method string
	path   *regexp.Regexp
	action string
}{
	{"POST", regexp.MustCompile(`^/2013-04-01/hostedzone/[^/]+/rrset/?$`), "ChangeResourceRecordSets"},
	{"GET", regexp.MustCompile(`^/2013-04-01/hostedzone/[^/]+/rrset/?$`), "ListResourceRecordSets"},
	{"GET", regexp.MustCompile(`^/2013-04-01/change/[^/]+$`), "GetChange"},
	{"GET", regexp.MustCompile(`^/2013-04-01/healthcheck/[^/]+/status$`), "GetHealthCheckStatus"},
}

// iamAction is the IAM action of a call the proxy saw: the IAM prefix is
// the signing name but for CloudWatch's; REST calls by method and path.
func iamAction(c awsproxy.Record) string {
	prefix := c.Service
	if prefix == awsproxy.CloudWatch {
		prefix = "cloudwatch"
	}
	method, path, rest := strings.Cut(c.Operation, " ")
	if !rest {
		return prefix + ":" + c.Operation
	}
	path, _, _ = strings.Cut(path, "?")
	for _, op := range route53Ops {
		if c.Service == "route53" && op.method == method && op.path.MatchString(path) {
			return "route53:" + op.action
		}
	}
	return prefix + ":" + c.Operation
}

// TestShiftRejectsMalformedCommands: a Stamp Shift Command the function
// cannot read fails the invocation with an error naming the field, starts
// nothing, and leaves the function serving.
func TestShiftRejectsMalformedCommands(t *testing.T) {
	r := newShiftRig(t)
	tests := []struct {
		name string
		edit func(d map[string]any)
		want string
	}{
		{name: "unknown action", edit: func(d map[string]any) { d["action"] = "jump" },
			want: `malformed event: detail.action: "jump" is not start`},
		{name: "start without to", edit: func(d map[string]any) { delete(d, "to") },
			want: "malformed event: detail.to: missing"},
		{name: "misspelt field", edit: func(d map[string]any) { d["form"] = d["from"]; delete(d, "from") },
			want: `unknown field "form"`},
	}
	pids := map[int]bool{} // one process throughout: none of them panicked
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := invoke(t, r.rt, r.command(t, tt.edit))
			fe, ok := resp.Error()
			if !ok {
				t.Fatalf("got result %s, want a function error", resp.Body)
			}
			if !strings.Contains(fe.Message, tt.want) {
				t.Errorf("errorMessage got %q, want it to contain %q", fe.Message, tt.want)
			}
			if strings.HasPrefix(fe.Type, "Runtime.") {
				t.Errorf("errorType %s: the function crashed, want a handler error", fe.Type)
			}
		})
		pids[functionPID(t, r.rt)] = true
	}
	if s := r.transition(t); s.Phase != "" {
		t.Errorf("transition after the malformed commands: got %+v, want none", s)
	}
	if diff := cmp.Diff(map[string]int64{blue.name: 100, green.name: 0}, r.weights(t)); diff != "" {
		t.Errorf("Route 53 weights (-want +got):\n%s", diff)
	}
	// Still serving: a well-formed start goes through.
	mustSucceed(t, "start command", invoke(t, r.rt, r.command(t, nil)))
	if s := r.transition(t); s.Phase != stampshift.PhaseShift {
		t.Errorf("transition after a good start: phase %q, want %q", s.Phase, stampshift.PhaseShift)
	}
	if pids[functionPID(t, r.rt)] = true; len(pids) != 1 {
		t.Errorf("function processes: got %d, want 1 (a malformed command must not crash it)", len(pids))
	}
}

func functionPID(t *testing.T, rt *runtimetest.Runtime) int {
	t.Helper()
	pid, err := rt.FunctionPID()
	if err != nil {
		t.Fatal(err)
	}
	return pid
}
