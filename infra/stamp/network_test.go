package stamp

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"

	"github.com/stampkit/stampkit/shared/twin"
)

func TestNetwork(t *testing.T) {
	f := synth(t)
	tpl := f.template
	cfg := f.cfg

	check(t, "one VPC", func() { tpl.ResourceCountIs(jsii.String("AWS::EC2::VPC"), num(1)) })
	check(t, "a public and a private subnet per zone", func() {
		tpl.ResourceCountIs(jsii.String("AWS::EC2::Subnet"), num(2*cfg.MaxAzs))
	})
	check(t, "NAT gateways", func() { tpl.ResourceCountIs(jsii.String("AWS::EC2::NatGateway"), num(cfg.NatGateways)) })

	t.Run("zones come from the availability-zones context", func(t *testing.T) {
		zones := assertions.NewCapture(nil)
		check(t, "subnet zones", func() {
			tpl.HasResourceProperties(jsii.String("AWS::EC2::Subnet"), map[string]any{"AvailabilityZone": zones})
		})
		var got []string
		for {
			got = append(got, *zones.AsString())
			if !*zones.Next() {
				break
			}
		}
		slices.Sort(got)
		got = slices.Compact(got)
		want := []string{"us-east-1a", "us-east-1b", "us-east-1c"}[:cfg.MaxAzs]
		if !slices.Equal(got, want) {
			t.Errorf("subnet zones: got %v, want %v", got, want)
		}
	})

	t.Run("flow logs go to CloudWatch Logs with retention", func(t *testing.T) {
		vpcID := f.logicalID(t, f.stack.Network().Vpc().VpcId())
		check(t, "flow log", func() {
			tpl.HasResourceProperties(jsii.String("AWS::EC2::FlowLog"), map[string]any{
				"ResourceId":             ref(vpcID),
				"ResourceType":           "VPC",
				"TrafficType":            "ALL",
				"LogDestinationType":     "cloud-watch-logs",
				"MaxAggregationInterval": 60,
			})
		})
		check(t, "flow log group retention", func() {
			tpl.HasResourceProperties(jsii.String("AWS::Logs::LogGroup"), map[string]any{
				"RetentionInDays": cfg.LogRetentionDays,
			})
		})
	})

	t.Run("private subnets route through NAT", func(t *testing.T) {
		check(t, "NAT default route", func() {
			tpl.HasResourceProperties(jsii.String("AWS::EC2::Route"), map[string]any{
				"DestinationCidrBlock": "0.0.0.0/0",
				"NatGatewayId":         assertions.Match_AnyValue(),
			})
		})
	})
}

// TestNetworkEgressOptions builds the network alone for each egress
// option: the NAT gateways asked for, the DynamoDB and S3 gateway
// endpoints always, and the interface endpoints only when asked, each in
// every private subnet with private DNS, behind a security group that
// admits HTTPS from the VPC and nothing else.
func TestNetworkEgressOptions(t *testing.T) {
	tests := []struct {
		name       string
		nat        int
		interfaces bool
	}{
		{"one NAT gateway", 1, false},
		{"a NAT gateway per zone", 3, false},
		{"interface endpoints", 1, true},
		{"both", 3, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// No built-in CloudFormation validation: it costs ~10 s, and
			// TestCfnLint lints these resources in the whole app.
			app := awscdk.NewApp(&awscdk.AppProps{BuiltinCloudFormationValidation: jsii.Bool(false)})
			stack := awscdk.NewStack(app, jsii.String("T"), &awscdk.StackProps{
				Env: &awscdk.Environment{Account: jsii.String(DefaultAccount), Region: jsii.String(DefaultRegion)},
			})
			NewNetwork(stack, "N", &NetworkProps{MaxAzs: 3, NatGateways: tc.nat, InterfaceEndpoints: tc.interfaces, FlowLogRetention: "ONE_MONTH"})
			var tpl assertions.Template
			check(t, "synthesizing", func() { tpl = assertions.Template_FromStack(stack, nil) })
			check(t, "NAT gateways", func() { tpl.ResourceCountIs(jsii.String("AWS::EC2::NatGateway"), num(tc.nat)) })
			endpoints := map[string][]string{}
			for _, r := range *tpl.FindResources(jsii.String("AWS::EC2::VPCEndpoint"), nil) {
				p := props(*r)
				typ, _ := p["VpcEndpointType"].(string)
				endpoints[typ] = append(endpoints[typ], serviceName(t, p["ServiceName"]))
				if typ == "Interface" {
					if p["PrivateDnsEnabled"] != true || len(p["SubnetIds"].([]any)) != 3 || len(p["SecurityGroupIds"].([]any)) != 1 {
						t.Errorf("interface endpoint %v: want private DNS, the 3 private subnets and one security group", p)
					}
				}
			}
			slices.Sort(endpoints["Gateway"])
			slices.Sort(endpoints["Interface"])
			if want := GatewayEndpointServices(); !slices.Equal(endpoints["Gateway"], want) {
				t.Errorf("gateway endpoints %v, want %v", endpoints["Gateway"], want)
			}
			var want []string
			if tc.interfaces {
				want = InterfaceEndpointServices()
			}
			if !slices.Equal(endpoints["Interface"], want) {
				t.Errorf("interface endpoints %v, want %v", endpoints["Interface"], want)
			}
			if !tc.interfaces {
				return
			}
			check(t, "endpoint security group: HTTPS from the VPC only", func() {
				tpl.HasResourceProperties(jsii.String("AWS::EC2::SecurityGroup"), map[string]any{
					"GroupDescription": "stampkit interface endpoints: HTTPS from inside the VPC",
					"SecurityGroupIngress": []any{map[string]any{
						"CidrIp": VpcCidr, "IpProtocol": "tcp", "FromPort": 443, "ToPort": 443,
						"Description": assertions.Match_AnyValue(),
					}},
				})
			})
		})
	}
}

// serviceName reads an endpoint's service name, com.amazonaws.<region>.<name>
// (the CDK joins the region in), and returns <name>.
func serviceName(t *testing.T, v any) string {
	t.Helper()
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	s := string(raw)
	i := strings.LastIndex(s, ".")
	if i < 0 {
		t.Fatalf("service name %s", s)
	}
	return strings.Trim(s[i+1:], `"]}`)
}

// TestTwinEgressAsDeployed checks that the twin's model of a lost NAT
// gateway (twin.ZoneEgressLoss) routes around it only through endpoints
// this stack deploys: the gateway endpoints every layout has, and, for
// the endpoints layout, an interface endpoint for each service the
// lifecycle function calls.
func TestTwinEgressAsDeployed(t *testing.T) {
	if got, want := twin.GatewayEndpoints(), GatewayEndpointServices(); !slices.Equal(got, want) {
		t.Errorf("the twin's gateway endpoints %v, the stack's %v", got, want)
	}
	for _, name := range twin.LifecycleEndpoints() {
		if !slices.Contains(InterfaceEndpointServices(), name) {
			t.Errorf("the twin reaches %s through an endpoint; the stack deploys none (%v)", name, InterfaceEndpointServices())
		}
	}
}
