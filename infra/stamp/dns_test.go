package stamp

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/stampkit/stampkit/shared/clock"
)

// testZoneID and testZone are the hosted zone of the DNS test app.
const (
	testZoneID     = "Z0123456789ABCDEFGHIJ"
	testZone       = "example.com"
	testRecordName = "app.example.com"
	// testEUCertificateArn gives eu1's fleet a certificate in its Region,
	// so the test app has one HTTP and one HTTPS health check.
	testEUCertificateArn = "arn:aws:acm:eu-west-1:111111111111:certificate/00000000-0000-0000-0000-000000000001"
)

// dnsStamps are the DNS test app's stamps: cdk.json's web fleet in two
// Regions, eu1's with a certificate.
const dnsStamps = `[
	{"name": "main", "fleets": ["web"]},
	{"name": "eu1", "region": "eu-west-1", "fleets": [{"fleet": "web", "certificateArn": "` + testEUCertificateArn + `"}]}
]`

// dnsApp is a synthesized app of two stamps behind one weighted record.
type dnsApp struct {
	app    awscdk.App
	dns    *DNSConfig
	stamps []*fixture
	shift  Shift
}

// dnsContext is cdk.json's context with dnsStamps and a dns block.
func dnsContext(assets string) (map[string]any, error) {
	ctx, err := projectContext()
	if err != nil {
		return nil, err
	}
	var stamps any
	if err := json.Unmarshal([]byte(dnsStamps), &stamps); err != nil {
		return nil, err
	}
	ctx[CtxStamps] = stamps
	ctx[CtxAssetsDir] = assets
	ctx["availability-zones:account=111111111111:region=eu-west-1"] = []any{"eu-west-1a", "eu-west-1b", "eu-west-1c"}
	ctx[CtxDNS] = map[string]any{"hostedZoneId": testZoneID, "zoneName": testZone, "recordName": testRecordName}
	ctx["aws:cdk:enable-path-metadata"] = true
	return ctx, nil
}

var sharedDNSApp = sync.OnceValues(func() (*dnsApp, error) {
	assets := filepath.Join(testRoot, "dns", "assets")
	if err := writeAssets(assets); err != nil {
		return nil, err
	}
	ctx, err := dnsContext(assets)
	if err != nil {
		return nil, err
	}
	app := awscdk.NewApp(&awscdk.AppProps{
		Context: &ctx, Outdir: jsii.String(filepath.Join(testRoot, "dns", "cdk.out")),
		StackTraces: jsii.Bool(false), AnalyticsReporting: jsii.Bool(true),
		BuiltinCloudFormationValidation: jsii.Bool(false),
	})
	var stacks AppStacks
	if err := try(func() { stacks, err = AddStamps(app) }); err != nil {
		return nil, err
	}
	if err != nil {
		return nil, err
	}
	// The configurations AddStamps built the stacks from, in their order.
	cfgs, err := LoadStamps(app.Node())
	if err != nil {
		return nil, err
	}
	a := &dnsApp{app: app, dns: stacks.DNS, shift: stacks.Shift}
	for i, st := range stacks.Stamps {
		a.stamps = append(a.stamps, &fixture{cfg: cfgs[i], app: app, stack: st})
	}
	awscdk.Aspects_Of(app).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{Verbose: jsii.Bool(true)}), nil)
	for _, f := range a.stamps {
		if err := f.read(); err != nil {
			return nil, fmt.Errorf("%w%s", err, validationReport(*app.Outdir()))
		}
	}
	return a, nil
})

func synthDNS(t *testing.T) *dnsApp {
	t.Helper()
	a, err := sharedDNSApp()
	if err != nil {
		t.Fatalf("synthesizing the DNS test app: %v", err)
	}
	return a
}

func TestParseDNSDefaults(t *testing.T) {
	dir := t.TempDir()
	if err := writeAssets(dir); err != nil {
		t.Fatal(err)
	}
	ctx, err := dnsContext(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx[CtxDNS] = map[string]any{"hostedZoneId": testZoneID, "zoneName": "Example.com.", "recordName": "App.Example.com."}
	stamps, err := ParseStamps(getter(ctx))
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseDNS(getter(ctx), stamps)
	if err != nil {
		t.Fatalf("ParseDNS: %v", err)
	}
	want := DNSConfig{
		HostedZoneID: testZoneID, ZoneName: testZone, RecordName: testRecordName, Fleet: "web",
		Steps: []int{5, 25, 50, 100}, Bake: clock.Duration(5 * time.Minute),
		HealthCheck: DNSHealthCheck{IntervalSeconds: 30, FailureThreshold: 3},
		Region:      DefaultRegion, InitialWeights: map[string]int{"main": 100},
	}.WithDefaults(stamps) // which only adds the stamps' names here
	if !slices.Equal(got.Stamps(), []string{"main", "eu1"}) {
		t.Errorf("stamps: got %v, want [main eu1]", got.Stamps())
	}
	if fmt.Sprintf("%+v", *got) != fmt.Sprintf("%+v", want) {
		t.Errorf("ParseDNS:\n got %+v\nwant %+v", *got, want)
	}
	if got.InitialWeight("eu1") != 0 {
		t.Errorf("eu1's initial weight: got %d, want 0 (no traffic until a shift)", got.InitialWeight("eu1"))
	}

	delete(ctx, CtxDNS)
	if got, err := ParseDNS(getter(ctx), stamps); got != nil || err != nil {
		t.Errorf("without dns: got %+v, %v; want nil, nil", got, err)
	}
}

// TestParseDNSErrorsNameTheKey: each mistake (LoadDNS, as synth reads dns) is refused at synth naming
// the key to change.
func TestParseDNSErrorsNameTheKey(t *testing.T) {
	for _, tc := range []struct {
		name   string
		dns    string
		stamps string
		want   string
	}{
		{"zone id with prefix", `{"hostedZoneId": "/hostedzone/Z1", "zoneName": "example.com", "recordName": "example.com"}`, "", `"dns.hostedZoneId"`},
		{"record outside the zone", `{"hostedZoneId": "Z1", "zoneName": "example.com", "recordName": "app.example.org"}`, "", `"dns.recordName": "app.example.org" is not in zone`},
		{"wildcard record", `{"hostedZoneId": "Z1", "zoneName": "example.com", "recordName": "*.example.com"}`, "", `"dns.recordName"`},
		{"no zone name", `{"hostedZoneId": "Z1", "recordName": "app.example.com"}`, "", `"dns.zoneName"`},
		{"steps not ending at 100", `{"hostedZoneId": "Z1", "zoneName": "example.com", "recordName": "example.com", "steps": [10, 50]}`, "", `"dns.steps"`},
		{"steps decreasing", `{"hostedZoneId": "Z1", "zoneName": "example.com", "recordName": "example.com", "steps": [50, 10, 100]}`, "", `"dns.steps"`},
		{"interval", `{"hostedZoneId": "Z1", "zoneName": "example.com", "recordName": "example.com", "healthCheck": {"intervalSeconds": 20}}`, "", `"dns.healthCheck.intervalSeconds"`},
		{"threshold", `{"hostedZoneId": "Z1", "zoneName": "example.com", "recordName": "example.com", "healthCheck": {"failureThreshold": 11}}`, "", `"dns.healthCheck.failureThreshold"`},
		{"path", `{"hostedZoneId": "Z1", "zoneName": "example.com", "recordName": "example.com", "healthCheck": {"path": "readyz"}}`, "", `"dns.healthCheck.path"`},
		{"region", `{"hostedZoneId": "Z1", "zoneName": "example.com", "recordName": "example.com", "region": "europe"}`, "", `"dns.region"`},
		{"unknown key", `{"hostedZoneId": "Z1", "zoneName": "example.com", "recordName": "example.com", "ttl": 30}`, "", `"dns.ttl": not a key`},
		{"weight of no stamp", `{"hostedZoneId": "Z1", "zoneName": "example.com", "recordName": "example.com", "initialWeights": {"eu2": 100}}`, "", `"dns.initialWeights.eu2": no stamp "eu2"; did you mean "eu1"?`},
		{"weight above 255", `{"hostedZoneId": "Z1", "zoneName": "example.com", "recordName": "example.com", "initialWeights": {"main": 256}}`, "", `"dns.initialWeights.main": got 256, want 0..255`},
		{"all weights zero", `{"hostedZoneId": "Z1", "zoneName": "example.com", "recordName": "example.com", "initialWeights": {"main": 0}}`, "", `"dns.initialWeights": every stamp starts at 0`},
		{"fleet not in every stamp", `{"hostedZoneId": "Z1", "zoneName": "example.com", "recordName": "example.com", "fleet": "api"}`,
			`[{"name": "main", "fleets": ["web", "api"]}, {"name": "eu1", "region": "eu-west-1", "fleets": ["web"]}]`, `"dns.fleet": stamp eu1 runs no fleet "api"`},
		{"fleet ambiguous", `{"hostedZoneId": "Z1", "zoneName": "example.com", "recordName": "example.com"}`,
			`[{"name": "main", "fleets": ["web", "api"]}]`, `"dns.fleet": the first stamp, main, runs 2 fleets`},
		{"no shift bootstrap", `{"hostedZoneId": "Z1", "zoneName": "example.com", "recordName": "example.com"}`, "", "shift/bootstrap is missing (run `make build`"},
		{"stamps in two accounts", `{"hostedZoneId": "Z1", "zoneName": "example.com", "recordName": "example.com"}`,
			`[{"name": "main", "fleets": ["web"]}, {"name": "eu1", "account": "222222222222", "fleets": ["web"]}]`, `"dns": stamp eu1 is in account 222222222222`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stamps := tc.stamps
			if stamps == "" {
				stamps = `[{"name": "main", "fleets": ["web"]}, {"name": "eu1", "region": "eu-west-1", "fleets": ["web"]}]`
			}
			ctx := stampsContext(t, stamps)
			var dns any
			if err := json.Unmarshal([]byte(tc.dns), &dns); err != nil {
				t.Fatal(err)
			}
			ctx[CtxDNS] = dns
			if tc.name == "stamps in two accounts" {
				// The image is copied into the other account: waves need a
				// key it may use (CheckImageKeys), which is not this test's.
				ctx[CtxImageKmsKeyArns] = map[string]any{"us-east-1": "arn:aws:kms:us-east-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab"}
			}
			if tc.name == "no shift bootstrap" {
				if err := os.RemoveAll(filepath.Join(ctx[CtxAssetsDir].(string), ShiftFunctionName)); err != nil {
					t.Fatal(err)
				}
			}
			cfgs, err := ParseStamps(getter(ctx))
			if err != nil {
				t.Fatalf("ParseStamps: %v", err)
			}
			got, err := loadDNS(getter(ctx), cfgs)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("LoadDNS: got %+v, %v; want an error containing %s", got, err, tc.want)
			}
		})
	}
}

// TestStampRecords: each stamp of the DNS app has one weighted alias
// record, its set identifier the stamp's name, to its fleet's load
// balancer with EvaluateTargetHealth, answering by a health check of its
// own on the fleet's readiness path; its weight is read from the stamp's
// weight parameter at each deploy, never a constant.
func TestStampRecords(t *testing.T) {
	a := synthDNS(t)
	for _, f := range a.stamps {
		t.Run(f.cfg.Name, func(t *testing.T) {
			records, checks := f.ofType("AWS::Route53::RecordSet"), f.ofType("AWS::Route53::HealthCheck")
			if len(records) != 1 || len(checks) != 1 {
				t.Fatalf("got %d records and %d health checks, want one of each", len(records), len(checks))
			}
			var record, check map[string]any
			var checkID string
			for _, r := range records {
				record = props(r)
			}
			for id, c := range checks {
				check, checkID = props(c), id
			}
			mf := f.stack.Fleets()[0]
			alb := f.logicalID(t, mf.Fleet.LoadBalancer().LoadBalancerArn())
			for key, want := range map[string]any{
				"HostedZoneId": testZoneID, "Name": testRecordName, "Type": "A", "SetIdentifier": f.cfg.Name,
			} {
				if record[key] != want {
					t.Errorf("record %s: got %v, want %v", key, record[key], want)
				}
			}
			if refOrGetAtt(record["HealthCheckId"]) != checkID {
				t.Errorf("record HealthCheckId: got %v, want the stamp's health check %s", record["HealthCheckId"], checkID)
			}
			target, _ := record["AliasTarget"].(map[string]any)
			if target["EvaluateTargetHealth"] != true {
				t.Errorf("record AliasTarget.EvaluateTargetHealth: got %v, want true", target["EvaluateTargetHealth"])
			}
			if got := fmt.Sprint(target["HostedZoneId"]); !strings.Contains(got, alb) || !strings.Contains(got, "CanonicalHostedZoneID") {
				t.Errorf("record AliasTarget.HostedZoneId: got %s, want the canonical zone of load balancer %s", got, alb)
			}
			if got := fmt.Sprint(target["DNSName"]); !strings.Contains(got, alb) || !strings.Contains(got, "dualstack.") {
				t.Errorf("record AliasTarget.DNSName: got %s, want dualstack. and load balancer %s's DNS name", got, alb)
			}

			// The weight: a reference to a template parameter of an SSM
			// type whose default names the stamp's weight parameter.
			weight, _ := record["Weight"].(map[string]any)
			param, ok := weight["Ref"].(string)
			if !ok {
				t.Fatalf("record Weight: got %v, want a Ref to the weight parameter (a constant would reset a shift at each deploy)", record["Weight"])
			}
			p, _ := templateSection(t, f, "Parameters")[param].(map[string]any)
			if p["Type"] != "AWS::SSM::Parameter::Value<String>" || p["Default"] != f.cfg.Names().DNSWeightParameter() {
				t.Errorf("weight parameter %s: got %v, want type AWS::SSM::Parameter::Value<String> defaulting to %s", param, p, f.cfg.Names().DNSWeightParameter())
			}

			cfg := check["HealthCheckConfig"].(map[string]any)
			wantType, wantPort := "HTTP", 80.0
			if f.cfg.Fleets[0].CertificateArn != "" {
				wantType, wantPort = "HTTPS", 443.0
			}
			for key, want := range map[string]any{
				"Type": wantType, "Port": wantPort, "ResourcePath": f.cfg.Fleets[0].HealthCheckPath,
				"RequestInterval": 30.0, "FailureThreshold": 3.0,
			} {
				if cfg[key] != want {
					t.Errorf("health check %s: got %v, want %v", key, cfg[key], want)
				}
			}
			if got := fmt.Sprint(cfg["FullyQualifiedDomainName"]); !strings.Contains(got, alb) {
				t.Errorf("health check FullyQualifiedDomainName: got %s, want load balancer %s's DNS name", got, alb)
			}
		})
	}
}

// TestStampDNSWeights: each stamp's weights stack holds its DNS weight
// parameter, created at its initial weight, limited to Route 53's range,
// and deployed before the stamp's stack that reads it.
func TestStampDNSWeights(t *testing.T) {
	a := synthDNS(t)
	for _, f := range a.stamps {
		t.Run(f.cfg.Name, func(t *testing.T) {
			stack, resources := weightsTemplate(t, f)
			if !slices.ContainsFunc(*f.stack.Stack().Dependencies(), func(s awscdk.Stack) bool { return *s.StackName() == *stack.StackName() }) {
				t.Errorf("stack %s does not depend on %s", f.cfg.StackName, *stack.StackName())
			}
			var found []map[string]any
			for _, r := range resources {
				if r["Type"] == "AWS::SSM::Parameter" && props(r)["Name"] == f.cfg.Names().DNSWeightParameter() {
					found = append(found, props(r))
				}
			}
			if len(found) != 1 {
				t.Fatalf("got %d parameters named %s, want 1", len(found), f.cfg.Names().DNSWeightParameter())
			}
			want := fmt.Sprint(a.dns.InitialWeight(f.cfg.Name))
			if found[0]["Value"] != want || found[0]["AllowedPattern"] != DNSWeightPattern {
				t.Errorf("DNS weight parameter: got %v, want Value %s and AllowedPattern %s", found[0], want, DNSWeightPattern)
			}
		})
	}
}

// TestDNSWeightPattern: the pattern admits exactly Route 53's weights.
func TestDNSWeightPattern(t *testing.T) {
	re := regexp.MustCompile(DNSWeightPattern)
	for w := -5; w <= 1000; w++ {
		if got, want := re.MatchString(fmt.Sprint(w)), w >= 0 && w <= MaxDNSWeight; got != want {
			t.Errorf("%d: matched %v, want %v", w, got, want)
		}
	}
	for _, s := range []string{"007", "", "1.5", " 1", "25 "} {
		if re.MatchString(s) {
			t.Errorf("%q matched; want only plain decimals", s)
		}
	}
}

// TestNoDNSNoRoute53: an app without dns has no Route 53 resources and no
// DNS weight parameter: nothing changes for a stamp that does not use it.
func TestNoDNSNoRoute53(t *testing.T) {
	f := synth(t)
	for _, typ := range []string{"AWS::Route53::RecordSet", "AWS::Route53::HealthCheck"} {
		if got := f.ofType(typ); len(got) != 0 {
			t.Errorf("%s: got %d, want none without dns", typ, len(got))
		}
	}
	if f.stack.Record() != nil {
		t.Error("Record(): got a record without dns")
	}
	_, resources := weightsTemplate(t, f)
	for id, r := range resources {
		if props(r)["Name"] == f.cfg.Names().DNSWeightParameter() {
			t.Errorf("weights stack: %s is a DNS weight parameter, without dns", id)
		}
	}
}

// templateSection returns a section of f's merged template.
func templateSection(t *testing.T, f *fixture, section string) map[string]any {
	t.Helper()
	var out map[string]any
	check(t, "reading the template", func() {
		raw, err := json.Marshal((*f.template.ToJSON())[section])
		if err != nil {
			panic(err)
		}
		if err := json.Unmarshal(raw, &out); err != nil {
			panic(err)
		}
	})
	return out
}
