package stamp

import (
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscertificatemanager"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	elb "github.com/aws/aws-cdk-go/awscdk/v2/awselasticloadbalancingv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/stampkit/stampkit/infra/stampconfig"
)

// The hatches fixture is a stamp built the way a platform team would
// build one from Go, with every escape hatch of Props in use: the
// platform's own stack holds a VPC (subnet groups "edge", "app" and
// "batch") and a certificate; two load balancers and a listener exist
// already, outside the app.

const (
	hatchStampName = "eu1"
	// hatchListenerArn is a listener of hatchSharedAlbArn that fleet web
	// joins (rolling); fleet api (blue/green) adds listeners of its own to
	// hatchApiAlbArn.
	hatchSharedAlbArn = "arn:aws:elasticloadbalancing:us-east-1:111111111111:loadbalancer/app/shared/0123456789abcdef"
	hatchListenerArn  = "arn:aws:elasticloadbalancing:us-east-1:111111111111:listener/app/shared/0123456789abcdef/fedcba9876543210"
	hatchApiAlbArn    = "arn:aws:elasticloadbalancing:us-east-1:111111111111:loadbalancer/app/api/00000000feedbeef"
	hatchAlbSG        = "sg-0123456789abcdef0"
	hatchPriority     = 40
	// hatchQueueArn is what the web instances' own statement grants.
	hatchQueueArn = "arn:aws:sqs:us-east-1:111111111111:web-orders"
)

// hatchFleets are the hatches fixture's fleets, as JSON like cdk.json's.
const hatchFleets = `[
  {"name": "web", "instanceType": "t4g.small", "minCapacity": 2, "maxCapacity": 4, "appPort": 8080},
  {"name": "api", "instanceType": "c7g.large", "minCapacity": 2, "maxCapacity": 4, "appPort": 9090,
   "rollout": {"strategy": "bluegreen", "blueGreen": {"steps": [10, 50, 100], "bake": "5m"}}}
]`

// hatchFunctions are the hatches fixture's function overrides.
func hatchFunctions() map[string]FunctionOptions {
	return map[string]FunctionOptions{
		"scaler":    {MemoryMiB: 512, Timeout: 45 * time.Second, LogRetention: awslogs.RetentionDays_ONE_WEEK, ReservedConcurrency: 5},
		"lifecycle": {Timeout: 30 * time.Second},
	}
}

// hatches is the hatches fixture and the platform stack beside it.
type hatches struct {
	*fixture
	platform awscdk.Stack
	vpc      awsec2.Vpc
}

var hatchFixture = sync.OnceValues(newHatchFixture)

func synthHatches(t *testing.T) *hatches {
	t.Helper()
	h, err := hatchFixture()
	if err != nil {
		t.Fatalf("synthesizing the hatches app: %v", err)
	}
	return h
}

func newHatchFixture() (h *hatches, err error) {
	// A construct's panic is the fixture's error.
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	assets := filepath.Join(testRoot, "hatches", "assets")
	if err := writeAssets(assets); err != nil {
		return nil, fmt.Errorf("writing dummy assets: %w", err)
	}
	ctx, err := projectContext()
	if err != nil {
		return nil, err
	}
	ctx["aws:cdk:enable-path-metadata"] = true
	app := awscdk.NewApp(&awscdk.AppProps{
		Context: &ctx, Outdir: jsii.String(filepath.Join(testRoot, "hatches", "cdk.out")),
		StackTraces: jsii.Bool(false), AnalyticsReporting: jsii.Bool(true), BuiltinCloudFormationValidation: jsii.Bool(false),
	})
	env := &awscdk.Environment{Account: jsii.String(DefaultAccount), Region: jsii.String(DefaultRegion)}

	platform := awscdk.NewStack(app, jsii.String("Platform"), &awscdk.StackProps{Env: env})
	vpc := awsec2.NewVpc(platform, jsii.String("Vpc"), &awsec2.VpcProps{
		MaxAzs: jsii.Number(2), NatGateways: jsii.Number(1),
		SubnetConfiguration: &[]*awsec2.SubnetConfiguration{
			{Name: jsii.String("edge"), SubnetType: awsec2.SubnetType_PUBLIC, CidrMask: jsii.Number(24)},
			{Name: jsii.String("app"), SubnetType: awsec2.SubnetType_PRIVATE_WITH_EGRESS, CidrMask: jsii.Number(22)},
			{Name: jsii.String("batch"), SubnetType: awsec2.SubnetType_PRIVATE_WITH_EGRESS, CidrMask: jsii.Number(22)},
		},
	})
	existingAlb := func(name, arn string) *elb.ApplicationLoadBalancerAttributes {
		return &elb.ApplicationLoadBalancerAttributes{
			LoadBalancerArn: jsii.String(arn), SecurityGroupId: jsii.String(hatchAlbSG), Vpc: vpc,
			LoadBalancerDnsName: jsii.String(name + "-123.us-east-1.elb.amazonaws.com"),
		}
	}
	cert := awscertificatemanager.NewCertificate(platform, jsii.String("ApiCertificate"), &awscertificatemanager.CertificateProps{
		DomainName: jsii.String("api.example.com"),
	})

	cfg := Config{Name: hatchStampName}
	if err := json.Unmarshal([]byte(hatchFleets), &cfg.Fleets); err != nil {
		return nil, fmt.Errorf("hatchFleets: %w", err)
	}
	cfg.AssetsDir = assets
	// A certificate this app declares: its ARN is a token.
	cfg.Fleets[1].CertificateArn = *cert.CertificateArn()
	s := NewStack(app, "Stamp", &Props{
		StackProps:     awscdk.StackProps{Env: env},
		Config:         cfg,
		Vpc:            vpc,
		PublicSubnets:  &awsec2.SubnetSelection{SubnetGroupName: jsii.String("edge")},
		PrivateSubnets: &awsec2.SubnetSelection{SubnetGroupName: jsii.String("app")},
		Fleets: map[string]FleetOptions{
			"web": {
				LoadBalancer: existingAlb("shared", hatchSharedAlbArn),
				Listener: &SharedListener{
					ListenerArn: hatchListenerArn, Priority: hatchPriority,
					Conditions: []elb.ListenerCondition{elb.ListenerCondition_HostHeaders(jsii.Strings("web.example.com"))},
				},
				InstanceRoleStatements: []awsiam.PolicyStatement{awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
					Actions: jsii.Strings("sqs:SendMessage"), Resources: jsii.Strings(hatchQueueArn),
				})},
			},
			"api": {LoadBalancer: existingAlb("api", hatchApiAlbArn)},
		},
		Functions: hatchFunctions(),
		Tags:      map[string]string{"team": "platform"},
	})
	// The platform's stack is not the stamp's to vouch for.
	awscdk.Aspects_Of(s.Stack()).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{Verbose: jsii.Bool(true)}), nil)

	f := &fixture{cfg: cfg.WithDefaults(), app: app, stack: s}
	if err := f.read(); err != nil {
		return nil, fmt.Errorf("%w%s", err, validationReport(*app.Outdir()))
	}
	return &hatches{fixture: f, platform: platform, vpc: vpc}, nil
}

// TestHatchesNagAndLint holds the stamp built with every escape hatch to
// what the cdk.json stamps are held to: no cdk-nag finding, no cfn-lint
// error or warning.
func TestHatchesNagAndLint(t *testing.T) {
	h := synthHatches(t)
	checkNag(t, h.fixture)
	bin, err := exec.LookPath("cfn-lint")
	if err != nil {
		t.Skip("cfn-lint not installed")
	}
	lint(t, bin, h.fixture, *h.platform.StackName())
}

// platformRefs are the values the stamp's template has for tokens of the
// platform's stack: references to its outputs (an Fn::ImportValue, or
// with the weak references cdk.json asks for, an Fn::GetStackOutput).
func (h *hatches) platformRefs(t *testing.T, tokens []*string) []any {
	t.Helper()
	var out []any
	for _, tok := range tokens {
		v := h.resolve(tok)
		m, _ := v.(map[string]any)
		if m["Fn::ImportValue"] == nil && m["Fn::GetStackOutput"] == nil {
			t.Fatalf("token %s resolves to %v in the stamp, want a reference to an output of the platform's stack", *tok, v)
		}
		out = append(out, v)
	}
	return out
}

func subnetIDs(subnets *[]awsec2.ISubnet) []*string {
	var ids []*string
	for _, s := range *subnets {
		ids = append(ids, s.SubnetId())
	}
	return ids
}

// TestGivenVpc: with Props.Vpc the stamp makes no network of its own and
// puts its instances, image builds and lifecycle function in the private
// subnets Props select ("app", not "batch").
func TestGivenVpc(t *testing.T) {
	h := synthHatches(t)
	for _, typ := range []string{"AWS::EC2::VPC", "AWS::EC2::Subnet", "AWS::EC2::FlowLog", "AWS::EC2::VPCEndpoint", "AWS::EC2::NatGateway"} {
		if n := len(h.ofType(typ)); n != 0 {
			t.Errorf("%d %s in the stamp, want none: the VPC is the platform's", n, typ)
		}
	}
	app := h.platformRefs(t, subnetIDs(h.vpc.SelectSubnets(&awsec2.SubnetSelection{SubnetGroupName: jsii.String("app")}).Subnets))
	for _, mf := range h.stack.Fleets() {
		for _, g := range mf.Fleet.Groups() {
			h.matches(t, "group in the app subnets", h.logicalID(t, g.AutoScalingGroupName()), map[string]any{
				"VPCZoneIdentifier": assertions.Match_ArrayWith(&app),
			})
			zones := props(h.resources[h.logicalID(t, g.AutoScalingGroupName())])["VPCZoneIdentifier"]
			if got := len(asList(zones)); got != len(app) {
				t.Errorf("group %s in %d subnets, want the %d app subnets", *g.Node().Path(), got, len(app))
			}
		}
		infra := h.ofType("AWS::ImageBuilder::InfrastructureConfiguration")
		for id, r := range infra {
			if !slices.ContainsFunc(app, func(s any) bool { return fmt.Sprint(s) == fmt.Sprint(props(r)["SubnetId"]) }) {
				t.Errorf("image builds of %s in subnet %v, want an app subnet", id, props(r)["SubnetId"])
			}
		}
	}
	fn := h.stack.Handlers().Lifecycle().Function
	h.matches(t, "lifecycle function in the app subnets", h.logicalID(t, fn.FunctionArn()), map[string]any{
		"VpcConfig": map[string]any{"SubnetIds": app},
	})
}

// TestGivenLoadBalancerAndListener: fleet web joins the shared listener
// with a rule, fleet api (blue/green) adds HTTPS and redirect listeners to
// the load balancer it was given, with the certificate the app declares;
// neither makes a load balancer, and the health alarms watch the given
// ones.
func TestGivenLoadBalancerAndListener(t *testing.T) {
	h := synthHatches(t)
	for _, typ := range []string{"AWS::ElasticLoadBalancingV2::LoadBalancer", "AWS::S3::Bucket"} {
		if n := len(h.ofType(typ)); n != 0 {
			t.Errorf("%d %s in the stamp, want none: the load balancers are the platform's", n, typ)
		}
	}
	fleets := map[string]Fleet{}
	for _, mf := range h.stack.Fleets() {
		fleets[mf.Fleet.Name()] = mf.Fleet
	}
	web, api := fleets["web"], fleets["api"]

	t.Run("web joins the shared listener", func(t *testing.T) {
		check(t, "a rule on the shared listener forwarding to web's target groups", func() {
			h.template.HasResourceProperties(jsii.String("AWS::ElasticLoadBalancingV2::ListenerRule"), map[string]any{
				"ListenerArn": hatchListenerArn,
				"Priority":    hatchPriority,
				"Conditions":  []any{map[string]any{"Field": "host-header", "HostHeaderConfig": map[string]any{"Values": []any{"web.example.com"}}}},
				"Actions": []any{map[string]any{"Type": "forward", "ForwardConfig": map[string]any{"TargetGroups": []any{
					map[string]any{"TargetGroupArn": ref(h.logicalID(t, web.BlueTargetGroup().TargetGroupArn())), "Weight": BlueWeight},
					map[string]any{"TargetGroupArn": ref(h.logicalID(t, web.GreenTargetGroup().TargetGroupArn())), "Weight": GreenWeight},
				}}}},
			})
		})
		if got := *web.Listener().ListenerArn(); got != hatchListenerArn {
			t.Errorf("Listener() %s, want the shared one", got)
		}
		if got := h.resolve(web.URL()); fmt.Sprint(got) != "https://shared-123.us-east-1.elb.amazonaws.com" {
			t.Errorf("URL %v, want https:// (SharedListener's default protocol) and the shared load balancer's name", got)
		}
	})

	t.Run("api adds its listeners to its load balancer", func(t *testing.T) {
		check(t, "HTTPS on 443", func() {
			h.template.HasResourceProperties(jsii.String("AWS::ElasticLoadBalancingV2::Listener"), map[string]any{
				"LoadBalancerArn": hatchApiAlbArn, "Port": 443, "Protocol": "HTTPS",
			})
		})
		// With the app's certificate: an output of the platform's stack,
		// which the stamp's stack imports and passes to the fleet's.
		for id, r := range h.ofType("AWS::ElasticLoadBalancingV2::Listener") {
			if p := props(r); p["Port"] == float64(443) {
				certs := asList(p["Certificates"])
				raw, _ := json.Marshal(certs)
				if len(certs) != 1 || !strings.Contains(string(raw), "ApiCertificate") ||
					(!strings.Contains(string(raw), "Fn::ImportValue") && !strings.Contains(string(raw), "Fn::GetStackOutput")) {
					t.Errorf("listener %s certificates %s, want the platform's certificate, imported from its stack", id, raw)
				}
			}
		}
		check(t, "HTTP on 80 redirects", func() {
			h.template.HasResourceProperties(jsii.String("AWS::ElasticLoadBalancingV2::Listener"), map[string]any{
				"LoadBalancerArn": hatchApiAlbArn, "Port": 80,
				"DefaultActions": []any{assertions.Match_ObjectLike(&map[string]any{"Type": "redirect"})},
			})
		})
		// The rollout shifts weights on the listener it owns, in the
		// stamp's stack.
		if id := h.logicalIDOf(api.Listener().ListenerArn()); id == "" || h.resources[id] == nil {
			t.Errorf("api's listener %v is not a resource of the stamp", h.resolve(api.Listener().ListenerArn()))
		}
	})

	t.Run("instances admit the given load balancers' security group", func(t *testing.T) {
		for _, fl := range []Fleet{web, api} {
			sg := h.logicalID(t, fl.InstanceSecurityGroup().SecurityGroupId())
			found := false
			for _, r := range h.ofType("AWS::EC2::SecurityGroupIngress") {
				p := props(r)
				if fmt.Sprint(p["GroupId"]) == fmt.Sprint(getAtt(sg, "GroupId")) && p["SourceSecurityGroupId"] == hatchAlbSG &&
					p["FromPort"] == float64(fl.AppPort()) {
					found = true
				}
			}
			if !found {
				t.Errorf("fleet %s: no ingress from %s on port %d", fl.Name(), hatchAlbSG, fl.AppPort())
			}
		}
	})

	t.Run("health alarms watch the given load balancers", func(t *testing.T) {
		for fl, want := range map[Fleet]string{web: "app/shared/0123456789abcdef", api: "app/api/00000000feedbeef"} {
			if got := h.resolve(fl.LoadBalancerFullName()); got != want {
				t.Errorf("fleet %s: LoadBalancerFullName %v, want %s", fl.Name(), got, want)
			}
			for _, a := range fl.HealthAlarms() {
				r := props(h.resources[h.logicalID(t, a.AlarmArn())])
				raw, _ := json.Marshal(r)
				if !strings.Contains(string(raw), want) {
					t.Errorf("fleet %s: alarm %s does not watch %s: %s", fl.Name(), *a.Node().Id(), want, raw)
				}
			}
		}
	})
}

// TestFunctionOptions: the overrides reach the functions, the lifecycle
// wake queue follows the lifecycle function's timeout, and what is not
// overridden keeps the defaults.
func TestFunctionOptions(t *testing.T) {
	h := synthHatches(t)
	hs := h.stack.Handlers()
	fn := func(hd Handler) string { return h.logicalID(t, hd.Function.FunctionArn()) }
	h.matches(t, "scaler", fn(hs.Scaler()), map[string]any{"MemorySize": 512, "Timeout": 45, "ReservedConcurrentExecutions": 5})
	h.matches(t, "scaler's logs", h.logicalID(t, hs.Scaler().LogGroup.LogGroupName()), map[string]any{"RetentionInDays": 7})
	h.matches(t, "lifecycle", fn(hs.Lifecycle()), map[string]any{"MemorySize": DefaultMemoryMiB, "Timeout": 30})
	h.matches(t, "lifecycle wake queue", h.logicalID(t, hs.Lifecycle().WakeQueue.QueueArn()), map[string]any{
		"VisibilityTimeout": stampconfig.WakeVisibility(30 * time.Second).Seconds(),
	})
	h.matches(t, "rollout", fn(hs.Rollout()), map[string]any{"MemorySize": DefaultMemoryMiB, "Timeout": 60})
	h.matches(t, "rollout's logs", h.logicalID(t, hs.Rollout().LogGroup.LogGroupName()), map[string]any{"RetentionInDays": 30})
	if _, reserved := props(h.resources[fn(hs.Rollout())])["ReservedConcurrentExecutions"]; reserved {
		t.Error("rollout reserves concurrency; nothing asked it to")
	}
}

// TestInstanceRoleStatements: a fleet's extra statements are in its
// instance role's policy, and only in its.
func TestInstanceRoleStatements(t *testing.T) {
	h := synthHatches(t)
	for _, mf := range h.stack.Fleets() {
		role := h.logicalID(t, mf.Fleet.InstanceRole().RoleArn())
		found := slices.ContainsFunc(h.statements(role), func(s map[string]any) bool {
			return s["Action"] == "sqs:SendMessage" && s["Resource"] == hatchQueueArn
		})
		if want := mf.Fleet.Name() == "web"; found != want {
			t.Errorf("fleet %s: the extra statement in its instance role: %v, want %v", mf.Fleet.Name(), found, want)
		}
	}
}
