package stamp

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"

	"github.com/stampkit/stampkit/infra/stampconfig"
	"github.com/stampkit/stampkit/shared/config"
	"github.com/stampkit/stampkit/shared/event"
)

// stackResources returns st's resources by logical id.
func stackResources(t *testing.T, st awscdk.Stack) map[string]map[string]any {
	t.Helper()
	var out map[string]map[string]any
	check(t, "reading "+*st.StackName(), func() {
		raw, err := json.Marshal((*assertions.Template_FromStack(st, nil).ToJSON())["Resources"])
		if err != nil {
			panic(err)
		}
		if err := json.Unmarshal(raw, &out); err != nil {
			panic(err)
		}
	})
	return out
}

// shiftStatements are the statements of the shift function's role's
// policies.
func shiftStatements(t *testing.T, a *dnsApp) []map[string]any {
	t.Helper()
	role := refOrGetAtt(a.shift.Stack().Resolve(a.shift.Handler().Role.RoleName()))
	var out []map[string]any
	for _, r := range stackResources(t, a.shift.Stack()) {
		if r["Type"] != "AWS::IAM::Policy" || !slices.ContainsFunc(asList(props(r)["Roles"]), func(v any) bool { return refOrGetAtt(v) == role }) {
			continue
		}
		out = append(out, docStatements(props(r)["PolicyDocument"])...)
	}
	if len(out) == 0 {
		t.Fatal("the shift function's role has no policy")
	}
	return out
}

// grants returns the statements that allow action.
func grants(statements []map[string]any, action string) []map[string]any {
	var out []map[string]any
	for _, s := range statements {
		if slices.ContainsFunc(asList(s["Action"]), func(v any) bool { return v == action }) {
			out = append(out, s)
		}
	}
	return out
}

// TestShiftStack: two stamps behind a record get the shift stack, in the
// record's Region, deployed after the stamps, with the function's table,
// its wake-up queue and its configuration staged beside its bootstrap:
// the record, the policy and each stamp by the names it sets.
func TestShiftStack(t *testing.T) {
	a := synthDNS(t)
	if a.shift == nil {
		t.Fatal("two stamps and a dns record: no shift stack")
	}
	st := a.shift.Stack()
	if *st.StackName() != ShiftStackName || *st.Region() != a.dns.Region || *st.Account() != a.stamps[0].cfg.Account {
		t.Errorf("shift stack: %s in %s/%s, want %s in %s/%s", *st.StackName(), *st.Account(), *st.Region(),
			ShiftStackName, a.stamps[0].cfg.Account, a.dns.Region)
	}
	for _, f := range a.stamps {
		if !slices.ContainsFunc(*st.Dependencies(), func(s awscdk.Stack) bool { return *s.StackName() == f.cfg.StackName }) {
			t.Errorf("shift stack does not depend on %s: its rules need the stamp's bus", f.cfg.StackName)
		}
	}

	raw, err := os.ReadFile(filepath.Join(a.shift.Handler().CodeDir, ShiftFileName))
	if err != nil {
		t.Fatalf("staged configuration: %v", err)
	}
	got, err := config.DecodeShift(raw, ShiftFileName)
	if err != nil {
		t.Fatalf("the function would refuse its configuration: %v", err)
	}
	if got.Record != testRecordName+"." || got.HostedZoneID != testZoneID || got.RecordType() != "A" ||
		got.TTL.Std() != time.Minute || got.Table != ShiftTableName(testRecordName) {
		t.Errorf("configuration: got %+v, want record %s. in %s, TTL 1m, table %s", got, testRecordName, testZoneID, ShiftTableName(testRecordName))
	}
	if len(got.Stamps) != len(a.stamps) {
		t.Fatalf("configuration stamps: got %d, want %d", len(got.Stamps), len(a.stamps))
	}
	for i, f := range a.stamps {
		names, s := f.cfg.Names(), got.Stamps[i]
		want := config.ShiftStamp{
			Name: f.cfg.Name, Region: f.cfg.Region, Fleet: "web", Group: names.Group("web"),
			WeightParameter: names.DNSWeightParameter(), StateTable: names.StateTableParameter(),
			HealthAlarms: stampconfig.HealthAlarmNames(names, f.cfg.Fleets[0]),
		}
		if fmt.Sprintf("%+v", s) != fmt.Sprintf("%+v", want) {
			t.Errorf("stamp %d:\n got %+v\nwant %+v", i, s, want)
		}
		if len(s.HealthAlarms) == 0 {
			t.Errorf("stamp %s: no health alarms: a shift towards it would never roll back", s.Name)
		}
	}

	resources := stackResources(t, st)
	fn := resources[refOrGetAtt(st.Resolve(a.shift.Handler().Function.FunctionName()))]
	env, _ := props(fn)["Environment"].(map[string]any)["Variables"].(map[string]any)
	if env[config.EnvShiftFile] != ShiftFileName {
		t.Errorf("%s: got %v, want %s", config.EnvShiftFile, env[config.EnvShiftFile], ShiftFileName)
	}
	if q := refOrGetAtt(env[config.EnvShiftQueue]); q == "" || q != refOrGetAtt(st.Resolve(a.shift.Handler().WakeQueue.QueueUrl())) {
		t.Errorf("%s: got %v, want the wake queue's URL", config.EnvShiftQueue, env[config.EnvShiftQueue])
	}
	table := resources[refOrGetAtt(st.Resolve(a.shift.Table().TableName()))]
	if props(table)["TableName"] != got.Table {
		t.Errorf("table name: got %v, want %s, as the configuration names it", props(table)["TableName"], got.Table)
	}

	// Each stamp publishes its state table's name for the function.
	for _, f := range a.stamps {
		var found bool
		for _, r := range f.ofType("AWS::SSM::Parameter") {
			if props(r)["Name"] == f.cfg.Names().StateTableParameter() {
				found = refOrGetAtt(props(r)["Value"]) == refOrGetAtt(f.stack.Stack().Resolve(f.stack.State().Table().TableName()))
			}
		}
		if !found {
			t.Errorf("stamp %s: no parameter %s holding its state table's name", f.cfg.Name, f.cfg.Names().StateTableParameter())
		}
	}
}

// TestShiftIAM: the shift function changes only the record's A records,
// by DELETE and CREATE (route53dns.SetWeights' batch), in the zone; writes only the stamps' DNS weight parameters,
// in their Regions; and reaches the stamps' state tables only by their tag.
func TestShiftIAM(t *testing.T) {
	a := synthDNS(t)
	statements := shiftStatements(t, a)
	// The stack's environment is concrete: its partition, and so the ARNs,
	// are literals.
	zone := fmt.Sprintf(`"arn:aws:route53:::hostedzone/%s"`, testZoneID)

	change := grants(statements, "route53:ChangeResourceRecordSets")
	if len(change) != 1 {
		t.Fatalf("route53:ChangeResourceRecordSets: got %d statements, want 1", len(change))
	}
	if got := compactJSON(t, change[0]["Resource"]); got != zone {
		t.Errorf("route53:ChangeResourceRecordSets resource: got %s, want %s", got, zone)
	}
	wantCond := `{"ForAllValues:StringEquals":{"route53:ChangeResourceRecordSetsActions":["DELETE","CREATE"],` +
		`"route53:ChangeResourceRecordSetsNormalizedRecordNames":["` + testRecordName + `"],` +
		`"route53:ChangeResourceRecordSetsRecordTypes":["A"]}}`
	if got := compactJSON(t, change[0]["Condition"]); got != wantCond {
		t.Errorf("route53:ChangeResourceRecordSets condition:\n got %s\nwant %s", got, wantCond)
	}
	if got := grants(statements, "route53:ListResourceRecordSets"); len(got) != 1 || compactJSON(t, got[0]["Resource"]) != zone {
		t.Errorf("route53:ListResourceRecordSets: got %v, want the zone only", got)
	}

	var params []string
	for _, s := range grants(statements, "ssm:PutParameter") {
		for _, r := range asList(s["Resource"]) {
			params = append(params, compactJSON(t, r))
		}
	}
	if len(params) != len(a.stamps) {
		t.Errorf("ssm:PutParameter: got %v, want one weight parameter per stamp", params)
	}
	for _, f := range a.stamps {
		want := ":ssm:" + f.cfg.Region + ":"
		if !slices.ContainsFunc(params, func(p string) bool {
			return strings.Contains(p, want) && strings.HasSuffix(p, ":parameter"+f.cfg.Names().DNSWeightParameter()+`"`)
		}) {
			t.Errorf("ssm:PutParameter: no grant on %s in %s among %v", f.cfg.Names().DNSWeightParameter(), f.cfg.Region, params)
		}
	}

	tables := grants(statements, "dynamodb:PutItem")
	// The function's own table, and each stamp's by its tag.
	var tagged []string
	for _, s := range tables {
		cond, _ := s["Condition"].(map[string]any)
		if c, ok := cond["StringEquals"].(map[string]any); ok {
			tagged = append(tagged, fmt.Sprint(c["aws:ResourceTag/"+StampTagKey]))
			if !strings.HasSuffix(compactJSON(t, s["Resource"]), `:table/*"`) {
				t.Errorf("dynamodb on a stamp's table: resource %s", compactJSON(t, s["Resource"]))
			}
		}
	}
	slices.Sort(tagged)
	if fmt.Sprint(tagged) != "[eu1 main]" {
		t.Errorf("dynamodb on the stamps' tables by tag: got %v, want [eu1 main]", tagged)
	}

	// Nothing on "*" but what IAM cannot scope, and no action wildcard.
	for _, s := range statements {
		for _, action := range asList(s["Action"]) {
			if strings.Contains(fmt.Sprint(action), "*") {
				t.Errorf("action wildcard %v", action)
			}
			if slices.Contains(asList(s["Resource"]), any("*")) {
				if _, ok := unscopedReason(fmt.Sprint(action)); !ok {
					t.Errorf("%v on Resource *", action)
				}
			}
		}
	}
}

// shiftPlumbing are the actions the shift function's role holds for
// Lambda itself, not for the function's code: its log group, its
// dead-letter queue (asynchronous invocations' failures) and its wake-up
// queue's event source mapping.
var shiftPlumbing = []string{
	"logs:CreateLogStream", "logs:PutLogEvents",
	"sqs:ChangeMessageVisibility", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:ReceiveMessage",
}

// TestShiftGrantsItsCalls: every AWS call the shift function makes
// (stampconfig.ShiftActions, which the e2e test checks against the calls
// the bootstrap makes) is granted, each on what it touches, and the role
// holds nothing else but Lambda's own.
func TestShiftGrantsItsCalls(t *testing.T) {
	a := synthDNS(t)
	statements := shiftStatements(t, a)
	for _, action := range stampconfig.ShiftActions() {
		t.Run(action, func(t *testing.T) {
			if len(grants(statements, action)) == 0 {
				t.Fatalf("%s: not granted; the shift function calls it", action)
			}
		})
	}
	for _, s := range statements {
		for _, action := range asList(s["Action"]) {
			if a := fmt.Sprint(action); !slices.Contains(stampconfig.ShiftActions(), a) && !slices.Contains(shiftPlumbing, a) {
				t.Errorf("%s: granted, but the shift function never calls it", a)
			}
		}
	}

	// Each stamp's state table, by its tag: the scaler's fleet lease (a
	// conditional PutItem, a DeleteItem), its state and the rollout record
	// (GetItem, and the floor's conditional PutItem); and the parameter
	// that names the table, in the stamp's Region.
	for _, f := range a.stamps {
		names := f.cfg.Names()
		var actions []string
		for _, s := range grants(statements, "dynamodb:GetItem") {
			if strings.Contains(compactJSON(t, s["Condition"]), `"`+names.Stamp()+`"`) {
				for _, v := range asList(s["Action"]) {
					actions = append(actions, fmt.Sprint(v))
				}
				if want := ":dynamodb:" + f.cfg.Region + ":"; !strings.Contains(compactJSON(t, s["Resource"]), want) {
					t.Errorf("stamp %s: state table statement on %s, want its Region %s", f.cfg.Name, compactJSON(t, s["Resource"]), f.cfg.Region)
				}
			}
		}
		slices.Sort(actions)
		if want := []string{"dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem"}; !slices.Equal(actions, want) {
			t.Errorf("stamp %s: state table actions %v, want %v", f.cfg.Name, actions, want)
		}
		param := fmt.Sprintf(`"arn:aws:ssm:%s:%s:parameter%s"`, f.cfg.Region, f.cfg.Account, names.StateTableParameter())
		if !slices.ContainsFunc(grants(statements, "ssm:GetParameter"), func(s map[string]any) bool {
			return slices.ContainsFunc(asList(s["Resource"]), func(r any) bool { return compactJSON(t, r) == param })
		}) {
			t.Errorf("stamp %s: ssm:GetParameter not granted on %s", f.cfg.Name, param)
		}
	}
}

// TestShiftAlarms: a rollback stuck and weight parameters not written
// tell the operator, through the operator topic of the stamp in the shift
// stack's Region, on the metrics the function writes (namespace, name,
// the Record dimension as the function's configuration names it).
func TestShiftAlarms(t *testing.T) {
	a := synthDNS(t)
	st := a.shift.Stack()
	var local *fixture
	for _, f := range a.stamps {
		if f.cfg.Region == *st.Region() {
			local = f
		}
	}
	if local == nil {
		t.Fatal("no stamp in the shift stack's Region")
	}
	if got, want := *a.shift.AlarmTopic().Node().Path(), *local.stack.Observability().AlarmTopic().Node().Path(); got != want {
		t.Errorf("alarm topic: got %s, want stamp %s's operator topic %s", got, local.cfg.Name, want)
	}
	tests := []struct {
		metric, stat string
		periods      float64
	}{
		{"ShiftRollbackStuck", "Maximum", 1},
		{"ShiftWeightParameterNotWritten", "Sum", 3},
	}
	var alarms []map[string]any
	for _, r := range stackResources(t, st) {
		if r["Type"] == "AWS::CloudWatch::Alarm" {
			alarms = append(alarms, props(r))
			// Every alarm of the stack, the dead-letter alarms too.
			if len(asList(props(r)["AlarmActions"])) != 1 {
				t.Errorf("alarm %v: notifies no one", props(r)["AlarmDescription"])
			}
		}
	}
	// Two, and the function's two dead-letter alarms.
	if want := len(tests) + 2; len(alarms) != want || len(a.shift.Alarms()) != want {
		t.Errorf("shift stack alarms: got %d (Alarms() %d), want %d", len(alarms), len(a.shift.Alarms()), want)
	}
	for _, tt := range tests {
		t.Run(tt.metric, func(t *testing.T) {
			i := slices.IndexFunc(alarms, func(p map[string]any) bool { return p["MetricName"] == tt.metric })
			if i < 0 {
				t.Fatalf("no alarm on %s", tt.metric)
			}
			p := alarms[i]
			dims := compactJSON(t, p["Dimensions"])
			if p["Namespace"] != MetricNamespace || p["Statistic"] != tt.stat || p["Threshold"] != float64(1) ||
				p["ComparisonOperator"] != "GreaterThanOrEqualToThreshold" || p["EvaluationPeriods"] != tt.periods ||
				p["TreatMissingData"] != "notBreaching" ||
				dims != `[{"Name":"Record","Value":"`+a.shift.Config().Record+`"}]` {
				t.Errorf("alarm on %s: %v", tt.metric, p)
			}
			for _, key := range []string{"AlarmActions", "OKActions"} {
				if got := asList(p[key]); len(got) != 1 || !strings.Contains(compactJSON(t, got[0]), "AlarmTopic") {
					t.Errorf("alarm on %s: %s %s, want the operator topic", tt.metric, key, compactJSON(t, p[key]))
				}
			}
		})
	}
}

// TestShiftRules: shift commands for the record reach the function from
// the command bus of each stamp in its Region, replays refused; a
// one-minute tick backs up its wake-ups.
func TestShiftRules(t *testing.T) {
	a := synthDNS(t)
	var buses []string
	var ticks int
	for _, r := range stackResources(t, a.shift.Stack()) {
		if r["Type"] != "AWS::Events::Rule" {
			continue
		}
		p := props(r)
		if p["ScheduleExpression"] == "rate(1 minute)" {
			ticks++
			continue
		}
		pattern, _ := p["EventPattern"].(map[string]any)
		if fmt.Sprint(pattern["detail-type"]) != "["+event.DetailTypeShiftCommand+"]" || fmt.Sprint(pattern["source"]) != "["+event.SourceStampkit+"]" {
			t.Errorf("rule %v: want the shift command's source and detail-type", pattern)
		}
		if pattern["replay-name"] == nil {
			t.Errorf("rule %v: replays are not refused", pattern)
		}
		if !strings.Contains(compactJSON(t, pattern["detail"]), `"equals-ignore-case":"`+testRecordName+`"`) {
			t.Errorf("rule %v: want the record's commands only", pattern)
		}
		buses = append(buses, fmt.Sprint(p["EventBusName"]))
	}
	if ticks != 1 {
		t.Errorf("tick rules: got %d, want 1", ticks)
	}
	// main is in the shift stack's Region, eu1 is not.
	if want := []string{NamesOf("main").CommandBus()}; fmt.Sprint(buses) != fmt.Sprint(want) {
		t.Errorf("command rules on buses %v, want %v", buses, want)
	}
}

// TestNoShiftStack: without dns, AddStamps adds the stamps alone, as
// before; with one stamp behind the record there is nothing to shift.
func TestNoShiftStack(t *testing.T) {
	app := awscdk.NewApp(&awscdk.AppProps{Context: ptr(shippedContext(t)), Outdir: jsii.String(t.TempDir())})
	var stacks AppStacks
	var err error
	check(t, "AddStamps", func() { stacks, err = AddStamps(app) })
	if err != nil {
		t.Fatal(err)
	}
	if stacks.DNS != nil || stacks.Shift != nil || len(stacks.Stamps) != 1 {
		t.Errorf("without dns: got %d stamps, DNS %v, Shift %v; want the stamp alone", len(stacks.Stamps), stacks.DNS, stacks.Shift)
	}
	for _, c := range *app.Node().Children() {
		if st, ok := c.(awscdk.Stack); ok && *st.StackName() == ShiftStackName {
			t.Errorf("without dns: stack %s", ShiftStackName)
		}
	}

	one, err := ParseStamps(getter(shippedContext(t)))
	if err != nil {
		t.Fatal(err)
	}
	dns := &DNSConfig{HostedZoneID: testZoneID, ZoneName: testZone, RecordName: testRecordName}
	*dns = dns.WithDefaults(one)
	if s := NewShiftStack(awscdk.NewApp(nil), ShiftStackName, &ShiftProps{DNS: dns, Stamps: one}); s != nil {
		t.Error("one stamp: got a shift stack, want none")
	}
}

func ptr[T any](v T) *T { return &v }
