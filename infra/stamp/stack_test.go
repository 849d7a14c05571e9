package stamp

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	elb "github.com/aws/aws-cdk-go/awscdk/v2/awselasticloadbalancingv2"
	"github.com/aws/jsii-runtime-go"
)

// TestNewStackRejectsBadProps: each escape hatch that cannot be honoured
// panics at construction, naming the field. No synth.
func TestNewStackRejectsBadProps(t *testing.T) {
	assets := filepath.Join(testRoot, "bad-props", "assets")
	if err := writeAssets(assets); err != nil {
		t.Fatal(err)
	}
	config := func(t *testing.T, change func(*Config)) Config {
		var c Config
		if err := json.Unmarshal([]byte(hatchFleets), &c.Fleets); err != nil {
			t.Fatal(err)
		}
		c.AssetsDir = assets
		if change != nil {
			change(&c)
		}
		return c
	}
	alb := &elb.ApplicationLoadBalancerAttributes{
		LoadBalancerArn: jsii.String(hatchSharedAlbArn), SecurityGroupId: jsii.String(hatchAlbSG),
		LoadBalancerDnsName: jsii.String("shared-123.us-east-1.elb.amazonaws.com"),
	}
	shared := &SharedListener{ListenerArn: hatchListenerArn, Priority: 1, Conditions: []elb.ListenerCondition{elb.ListenerCondition_PathPatterns(jsii.Strings("/*"))}}
	tests := []struct {
		name  string
		props func(t *testing.T, app awscdk.App) *Props
		want  string
	}{
		{"no fleets", func(t *testing.T, _ awscdk.App) *Props {
			return &Props{Config: Config{AssetsDir: assets}}
		}, "no fleets declared"},
		{"subnets without a VPC", func(t *testing.T, _ awscdk.App) *Props {
			return &Props{Config: config(t, nil), PrivateSubnets: &awsec2.SubnetSelection{SubnetGroupName: jsii.String("app")}}
		}, "Vpc, which is nil"},
		{"interface endpoints in a given VPC", func(t *testing.T, app awscdk.App) *Props {
			return &Props{Config: config(t, func(c *Config) { c.InterfaceEndpoints = true }), Vpc: givenVpc(app)}
		}, "InterfaceEndpoints"},
		{"options of an undeclared fleet", func(t *testing.T, _ awscdk.App) *Props {
			return &Props{Config: config(t, nil), Fleets: map[string]FleetOptions{"nope": {}}}
		}, `Fleets["nope"]`},
		{"options of an unknown function", func(t *testing.T, _ awscdk.App) *Props {
			return &Props{Config: config(t, nil), Functions: map[string]FunctionOptions{"scaller": {MemoryMiB: 512}}}
		}, `Functions["scaller"]`},
		{"too little memory", func(t *testing.T, _ awscdk.App) *Props {
			return &Props{Config: config(t, nil), Functions: map[string]FunctionOptions{"scaler": {MemoryMiB: 64}}}
		}, "MemoryMiB"},
		{"a timeout Lambda refuses", func(t *testing.T, _ awscdk.App) *Props {
			return &Props{Config: config(t, nil), Functions: map[string]FunctionOptions{"rollout": {Timeout: 20 * time.Minute}}}
		}, "Timeout"},
		{"a lifecycle timeout the heartbeat cannot outlast", func(t *testing.T, _ awscdk.App) *Props {
			return &Props{Config: config(t, nil), Functions: map[string]FunctionOptions{"lifecycle": {Timeout: 10 * time.Minute}}}
		}, "heartbeatTimeout"},
		{"a load balancer without its security group", func(t *testing.T, _ awscdk.App) *Props {
			return &Props{Config: config(t, nil), Fleets: map[string]FleetOptions{"web": {
				LoadBalancer: &elb.ApplicationLoadBalancerAttributes{LoadBalancerArn: jsii.String(hatchSharedAlbArn)},
			}}}
		}, "SecurityGroupId"},
		{"a shared listener without its load balancer", func(t *testing.T, _ awscdk.App) *Props {
			return &Props{Config: config(t, nil), Fleets: map[string]FleetOptions{"web": {Listener: shared}}}
		}, "Listener needs LoadBalancer"},
		{"a shared listener for blue/green", func(t *testing.T, _ awscdk.App) *Props {
			return &Props{Config: config(t, nil), Fleets: map[string]FleetOptions{"api": {LoadBalancer: alb, Listener: shared}}}
		}, "rolling fleets"},
		{"a shared listener rule without conditions", func(t *testing.T, _ awscdk.App) *Props {
			return &Props{Config: config(t, nil), Fleets: map[string]FleetOptions{"web": {
				LoadBalancer: alb, Listener: &SharedListener{ListenerArn: hatchListenerArn, Priority: 1},
			}}}
		}, "Conditions"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			app := awscdk.NewApp(nil)
			props := tc.props(t, app)
			err := try(func() { NewStack(app, "Stamp", props) })
			if err == nil {
				t.Fatalf("got no panic, want one naming %s", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("panic: got %q, want it to name %s", err, tc.want)
			}
		})
	}
}

// givenVpc is a VPC of the app's own, outside the stamp.
func givenVpc(app awscdk.App) awsec2.IVpc {
	env := &awscdk.Environment{Account: jsii.String(DefaultAccount), Region: jsii.String(DefaultRegion)}
	return awsec2.NewVpc(awscdk.NewStack(app, jsii.String("Platform"), &awscdk.StackProps{Env: env}), jsii.String("Vpc"), nil)
}

// TestGivenVpcOwnsItsEgress: under the production profile, a stamp in a
// given VPC is not asked for the NAT gateways of a VPC of its own.
func TestGivenVpcOwnsItsEgress(t *testing.T) {
	assets := filepath.Join(testRoot, "given-egress", "assets")
	if err := writeAssets(assets); err != nil {
		t.Fatal(err)
	}
	var c Config
	if err := json.Unmarshal([]byte(hatchFleets), &c.Fleets); err != nil {
		t.Fatal(err)
	}
	c.Fleets = c.Fleets[:1]
	c.Fleets[0].CertificateArn = testCertificateArn
	c.AssetsDir, c.Profile, c.AlarmEmail, c.LogRetentionDays, c.NatGateways = assets, ProfileProduction, testAlarmEmail, MinProductionLogRetentionDays, 1
	c.CommandPrincipals = []string{"arn:aws:iam::" + DefaultAccount + ":role/stampkit-operator"}
	app := awscdk.NewApp(nil)
	if err := try(func() { NewStack(app, "Stamp", &Props{Config: c, Vpc: givenVpc(app)}) }); err != nil {
		t.Errorf("production stamp in a given VPC: %v", err)
	}
	if err := try(func() { NewStack(app, "OwnVpc", &Props{Config: c}) }); err == nil || !strings.Contains(err.Error(), CtxNatGateways) {
		t.Errorf("production stamp in its own VPC with one NAT gateway: got %v, want a panic naming %s", err, CtxNatGateways)
	}
}
