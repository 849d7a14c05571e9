package main

import (
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// NetworkProps configures the VPC.
type NetworkProps struct {
	// MaxAzs is how many availability zones to span (2 or 3); the zones
	// come from the availability-zones context key, never a lookup.
	MaxAzs int
	// NatGateways is the number of NAT gateways (1..MaxAzs). One is cheap;
	// one per zone survives a zone outage.
	NatGateways int
	// FlowLogRetention is how long VPC flow logs are kept.
	FlowLogRetention awslogs.RetentionDays
}

// Network is a VPC with public subnets for load balancers and private
// subnets with NAT egress for instances and VPC Lambdas.
type Network interface {
	Vpc() awsec2.IVpc
	// PublicSubnets selects the subnets for internet-facing load balancers.
	PublicSubnets() *awsec2.SubnetSelection
	// PrivateSubnets selects the subnets for instances and VPC Lambdas.
	PrivateSubnets() *awsec2.SubnetSelection
}

type network struct {
	vpc awsec2.Vpc
}

// NewNetwork creates the VPC with flow logs to CloudWatch Logs. It panics
// on invalid props, as CDK constructs do at synth time.
func NewNetwork(scope constructs.Construct, id string, props *NetworkProps) Network {
	if props == nil {
		panic("NewNetwork: props is nil")
	}
	if props.MaxAzs < 2 || props.MaxAzs > 3 {
		panic("NewNetwork: MaxAzs must be 2 or 3")
	}
	if props.NatGateways < 1 || props.NatGateways > props.MaxAzs {
		panic("NewNetwork: NatGateways must be 1..MaxAzs")
	}
	if props.FlowLogRetention == "" {
		panic("NewNetwork: FlowLogRetention is empty")
	}
	c := constructs.NewConstruct(scope, &id)

	flowLogs := awslogs.NewLogGroup(c, jsii.String("FlowLogs"), &awslogs.LogGroupProps{
		Retention: props.FlowLogRetention,
	})
	vpc := awsec2.NewVpc(c, jsii.String("Vpc"), &awsec2.VpcProps{
		IpAddresses: awsec2.IpAddresses_Cidr(jsii.String("10.40.0.0/16")),
		MaxAzs:      jsii.Number(props.MaxAzs),
		NatGateways: jsii.Number(props.NatGateways),
		// The default security group is stripped of its rules: nothing in
		// this stack uses it and an open default group is a common foot-gun.
		RestrictDefaultSecurityGroup: jsii.Bool(true),
		SubnetConfiguration: &[]*awsec2.SubnetConfiguration{
			{Name: jsii.String("public"), SubnetType: awsec2.SubnetType_PUBLIC, CidrMask: jsii.Number(24)},
			{Name: jsii.String("private"), SubnetType: awsec2.SubnetType_PRIVATE_WITH_EGRESS, CidrMask: jsii.Number(20)},
		},
		FlowLogs: &map[string]*awsec2.FlowLogOptions{
			"All": {
				Destination: awsec2.FlowLogDestination_ToCloudWatchLogs(flowLogs, nil),
				TrafficType: awsec2.FlowLogTrafficType_ALL,
				// One-minute aggregation so that a connection problem during a
				// rollout shows up before the rollout has moved on.
				MaxAggregationInterval: awsec2.FlowLogMaxAggregationInterval_ONE_MINUTE,
			},
		},
	})
	return &network{vpc: vpc}
}

func (n *network) Vpc() awsec2.IVpc { return n.vpc }

func (n *network) PublicSubnets() *awsec2.SubnetSelection {
	return &awsec2.SubnetSelection{SubnetType: awsec2.SubnetType_PUBLIC}
}

func (n *network) PrivateSubnets() *awsec2.SubnetSelection {
	return &awsec2.SubnetSelection{SubnetType: awsec2.SubnetType_PRIVATE_WITH_EGRESS}
}
