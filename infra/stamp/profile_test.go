package stamp

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"
)

// productionReady is validContext made a production one: every
// requirement of the profile met.
func productionReady(t *testing.T) map[string]any {
	t.Helper()
	ctx := validContext(t)
	ctx[CtxProfile] = ProfileProduction
	ctx[CtxAlarmEmail] = testAlarmEmail
	ctx[CtxLogRetentionDays] = MinProductionLogRetentionDays
	ctx[CtxNatGateways] = 3
	ctx[CtxCommandPrincipals] = []any{"arn:aws:iam::111111111111:role/stampkit-operator"}
	ctx[CtxFleets].([]any)[0].(map[string]any)["certificateArn"] = testCertificateArn
	return ctx
}

// TestProductionProfileNamesWhatIsMissing takes one requirement away at a
// time, then all: each missing one is named by its key with what to set,
// and all are named at once.
func TestProductionProfileNamesWhatIsMissing(t *testing.T) {
	fleet := func(ctx map[string]any) map[string]any { return ctx[CtxFleets].([]any)[0].(map[string]any) }
	tests := []struct {
		name   string
		change func(ctx map[string]any)
		want   []string
	}{
		{"ready", func(map[string]any) {}, nil},
		{"endpoints instead of a NAT gateway per zone", func(c map[string]any) {
			c[CtxNatGateways], c[CtxInterfaceEndpoints] = 1, true
		}, nil},
		{"no alarm email", func(c map[string]any) { delete(c, CtxAlarmEmail) },
			[]string{`context "alarmEmail": profile "production" requires it: no one is told of the operator alarms`}},
		{"anyone may steer", func(c map[string]any) { delete(c, CtxCommandPrincipals) },
			[]string{`context "commandPrincipals": profile "production" requires it: any principal of the account`}},
		{"short log retention", func(c map[string]any) { c[CtxLogRetentionDays] = 60 },
			[]string{`context "logRetentionDays": profile "production" requires it: got 60; set 90 or more`}},
		{"one NAT gateway", func(c map[string]any) { c[CtxNatGateways] = 1 },
			[]string{`context "natGateways": profile "production" requires it: got 1 for 3 zones and no interface endpoints`,
				`set natGateways to 3 (one per zone) or interfaceEndpoints to true`}},
		{"two NAT gateways for three zones", func(c map[string]any) { c[CtxNatGateways] = 2 },
			[]string{`context "natGateways": profile "production" requires it: got 2 for 3 zones`}},
		{"plain HTTP", func(c map[string]any) { delete(fleet(c), "certificateArn") },
			[]string{`context "fleets[0].certificateArn": profile "production" requires it: the listener serves plain HTTP; set an ACM certificate ARN`}},
		{"one instance", func(c map[string]any) { fleet(c)["minCapacity"] = 1 },
			[]string{`context "fleets[0].minCapacity": profile "production" requires it: got 1: one instance is a single point of failure`}},
		{"all at once", func(c map[string]any) {
			delete(c, CtxAlarmEmail)
			delete(c, CtxCommandPrincipals)
			c[CtxLogRetentionDays], c[CtxNatGateways] = 30, 1
			delete(fleet(c), "certificateArn")
			fleet(c)["minCapacity"] = 0
		}, []string{`context "alarmEmail"`, `context "commandPrincipals"`, `context "logRetentionDays"`, `context "natGateways"`,
			`context "fleets[0].certificateArn"`, `context "fleets[0].minCapacity"`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := productionReady(t)
			tc.change(ctx)
			cfg, err := ParseConfig(getter(ctx))
			if tc.want == nil {
				if err != nil {
					t.Fatalf("got %v, want no error", err)
				}
				if !cfg.Production() {
					t.Errorf("profile %q: Production() is false", cfg.Profile)
				}
				return
			}
			if err == nil {
				t.Fatalf("got no error, want one saying %q", tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error:\n%v\nwant it to say %q", err, w)
				}
			}
			if n, want := strings.Count(err.Error(), `profile "production" requires it`), len(tc.want); tc.name == "all at once" && n != want {
				t.Errorf("%d production requirements named, want %d:\n%v", n, want, err)
			}
		})
	}
}

func TestProfileIsDemoOrProduction(t *testing.T) {
	for _, tc := range []struct {
		profile string
		wantErr bool
	}{{ProfileDemo, false}, {"staging", true}, {"Production", true}} {
		ctx := validContext(t)
		ctx[CtxProfile] = tc.profile
		_, err := ParseConfig(getter(ctx))
		if got := err != nil && strings.Contains(err.Error(), `context "profile": got "`+tc.profile+`", want "demo" or "production"`); got != tc.wantErr {
			t.Errorf("profile %q: got %v, want an error naming the key: %v", tc.profile, err, tc.wantErr)
		}
	}
	// The demo asks for nothing production requires.
	ctx := validContext(t)
	ctx[CtxLogRetentionDays] = 1
	ctx[CtxFleets].([]any)[0].(map[string]any)["minCapacity"] = 0
	if _, err := ParseConfig(getter(ctx)); err != nil {
		t.Errorf("demo with one day of logs and no instances: %v", err)
	}
}

// TestProfileSwitches checks, in the synthesized app of each profile,
// what the profile turns on: termination protection of both stacks, the
// load balancers' deletion protection, how long access logs are kept, the
// stack's description, and the demo's warning; and that the production
// fixture's interfaceEndpoints reach the network.
func TestProfileSwitches(t *testing.T) {
	for name, synth := range profiles() {
		t.Run(name, func(t *testing.T) {
			f := synth(t)
			production := name == ProfileProduction
			if f.cfg.Production() != production {
				t.Fatalf("the %s fixture runs profile %q", name, f.cfg.Profile)
			}
			for _, s := range []interface{ TerminationProtection() *bool }{f.stack.Stack(), f.stack.Weights().Stack()} {
				if got := *s.TerminationProtection(); got != production {
					t.Errorf("stack termination protection %v, want %v", got, production)
				}
			}
			if d := *f.stack.Stack().TemplateOptions().Description(); !strings.Contains(d, "("+name+" profile)") {
				t.Errorf("description %q does not name the %s profile", d, name)
			}
			// The production fixture chose interface endpoints over a NAT
			// gateway per zone.
			interfaces := 0
			for _, r := range f.ofType("AWS::EC2::VPCEndpoint") {
				if props(r)["VpcEndpointType"] == "Interface" {
					interfaces++
				}
			}
			if want := map[bool]int{false: 0, true: len(InterfaceEndpointServices())}[production]; interfaces != want {
				t.Errorf("%d interface endpoints, want %d", interfaces, want)
			}
			days := DemoAccessLogDays
			if production {
				days = ProductionAccessLogDays
			}
			for _, mf := range f.stack.Fleets() {
				albID := f.logicalID(t, mf.Fleet.LoadBalancer().LoadBalancerArn())
				bucket := assertions.NewCapture(nil)
				f.matches(t, "load balancer "+mf.Fleet.Name(), albID, map[string]any{
					"LoadBalancerAttributes": assertions.Match_ArrayWith(&[]any{
						map[string]any{"Key": "deletion_protection.enabled", "Value": jsonBool(production)},
						map[string]any{"Key": "access_logs.s3.bucket", "Value": map[string]any{"Ref": bucket}},
					}),
				})
				if t.Failed() {
					return
				}
				f.matches(t, "access log bucket "+mf.Fleet.Name(), *bucket.AsString(), map[string]any{
					"LifecycleConfiguration": map[string]any{"Rules": []any{
						assertions.Match_ObjectLike(&map[string]any{"ExpirationInDays": days, "Status": "Enabled"}),
					}},
				})
			}
			var warnings []any
			check(t, "reading the stack's warnings", func() {
				found := assertions.Annotations_FromStack(f.stack.Stack()).FindWarning(jsii.String("/"+f.cfg.StackName),
					assertions.Match_StringLikeRegexp(jsii.String(`^stampkit: profile "demo", not for production\.`)))
				raw, _ := json.Marshal(found)
				_ = json.Unmarshal(raw, &warnings)
			})
			if got, want := len(warnings), map[bool]int{false: 1, true: 0}[production]; got != want {
				t.Errorf("%d demo warnings on the stack, want %d", got, want)
			}
		})
	}
}

func TestDemoWarningListsWhatProductionNeeds(t *testing.T) {
	f := synth(t)
	w := f.cfg.DemoWarning()
	for _, want := range []string{
		`profile "demo", not for production`,
		`natGateways (got 1 for 3 zones`,
		`fleets[0].certificateArn (the listener serves plain HTTP`,
		`logRetentionDays (got 30`,
		"load balancer deletion protection, stack termination protection and 365 days of access logs",
		`Set "profile" to "production"`,
	} {
		if !strings.Contains(w, want) {
			t.Errorf("demo warning %q\ndoes not say %q", w, want)
		}
	}
	// The test app has an alarm email and HTTPS on its second fleet.
	for _, notWant := range []string{CtxAlarmEmail, "fleets[1].certificateArn"} {
		if strings.Contains(w, notWant) {
			t.Errorf("demo warning %q\nnames %s, which the config sets", w, notWant)
		}
	}
}

func jsonBool(b bool) string {
	if b {
		return "true"
	}
	return "false"
}
