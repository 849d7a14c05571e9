package stamp

import (
	"fmt"

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
	// InterfaceEndpoints adds an interface endpoint, in every private
	// subnet, for each of InterfaceEndpointServices: the lifecycle
	// function's and the instances' calls to AWS then need no NAT gateway.
	InterfaceEndpoints bool
	// FlowLogRetention is how long VPC flow logs are kept.
	FlowLogRetention awslogs.RetentionDays
}

// Network is a VPC with public subnets for load balancers and private
// subnets with NAT egress for instances and VPC Lambdas, gateway
// endpoints for DynamoDB and S3 and, if asked, interface endpoints for the
// other services the private subnets call.
type Network interface {
	Vpc() awsec2.IVpc
	// PublicSubnets selects the subnets for internet-facing load balancers.
	PublicSubnets() *awsec2.SubnetSelection
	// PrivateSubnets selects the subnets for instances and VPC Lambdas.
	PrivateSubnets() *awsec2.SubnetSelection
}

// VpcCidr is the VPC's address range.
const VpcCidr = "10.40.0.0/16"

type network struct {
	vpc awsec2.Vpc
}

// GatewayEndpointServices are the services every private subnet reaches
// through a gateway endpoint (by the name in com.amazonaws.<region>.<name>),
// routed by the subnets' route tables, independent of any NAT gateway,
// and free: gateway endpoints "come at no additional charge" ("WKLD.12 Use
// VPC endpoints to access supported services", AWS Prescriptive Guidance,
// https://docs.aws.amazon.com/prescriptive-guidance/latest/aws-startup-security-baseline/wkld-12.html).
// DynamoDB for the lifecycle function's state table; S3 for the image
// pipelines' build instances, which download the app binary from the
// asset bucket.
func GatewayEndpointServices() []string { return []string{"dynamodb", "s3"} }

// InterfaceEndpointServices are the services the private subnets call on
// the control path, each given an interface endpoint when
// NetworkProps.InterfaceEndpoints is set: the lifecycle function's
// (autoscaling, ec2, elasticloadbalancing, sqs, ssm: shared/asg, elb,
// ec2instance, sqsqueue, ssmcommand), and the instances' SSM Agent
// (ssm, ssmmessages, ec2messages: Run Command and Session Manager, "Reference:
// ec2messages, ssmmessages, and other API operations",
// https://docs.aws.amazon.com/systems-manager/latest/userguide/systems-manager-setting-up-messageAPIs.html)
// and CloudWatch agent (monitoring, logs, and ec2 for DescribeTags).
func InterfaceEndpointServices() []string {
	return []string{"autoscaling", "ec2", "ec2messages", "elasticloadbalancing", "logs", "monitoring", "sqs", "ssm", "ssmmessages"}
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
		IpAddresses: awsec2.IpAddresses_Cidr(jsii.String(VpcCidr)),
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
	for _, name := range GatewayEndpointServices() {
		vpc.AddGatewayEndpoint(jsii.String(titleCase(name)), &awsec2.GatewayVpcEndpointOptions{
			Service: awsec2.NewGatewayVpcEndpointAwsService(jsii.String(name), nil),
			Subnets: &[]*awsec2.SubnetSelection{{SubnetType: awsec2.SubnetType_PRIVATE_WITH_EGRESS}},
		})
	}
	if props.InterfaceEndpoints {
		addInterfaceEndpoints(c, vpc)
	}
	return &network{vpc: vpc}
}

// addInterfaceEndpoints gives the private subnets an interface endpoint
// for each of InterfaceEndpointServices, with private DNS, so that the
// SDKs' and agents' default regional names resolve to the endpoints'
// addresses in the VPC and their calls leave through no NAT gateway. The
// endpoints' one security group admits HTTPS from inside the VPC only.
// An endpoint is billed per zone-hour and per GB (README "Network").
func addInterfaceEndpoints(scope constructs.Construct, vpc awsec2.Vpc) {
	sg := awsec2.NewSecurityGroup(scope, jsii.String("EndpointSecurityGroup"), &awsec2.SecurityGroupProps{
		Vpc:              vpc,
		Description:      jsii.String("stampkit interface endpoints: HTTPS from inside the VPC"),
		AllowAllOutbound: jsii.Bool(false),
	})
	// The literal range rather than the VPC's CidrBlock attribute, which
	// cdk-nag cannot read to check the rule.
	sg.AddIngressRule(awsec2.Peer_Ipv4(jsii.String(VpcCidr)), awsec2.Port_Tcp(jsii.Number(443)),
		jsii.String("HTTPS to the AWS APIs from the VPC"), nil)
	for _, name := range InterfaceEndpointServices() {
		vpc.AddInterfaceEndpoint(jsii.String(fmt.Sprintf("%sEndpoint", titleCase(name))), &awsec2.InterfaceVpcEndpointOptions{
			Service:           awsec2.NewInterfaceVpcEndpointAwsService(jsii.String(name), nil, nil, nil),
			Subnets:           &awsec2.SubnetSelection{SubnetType: awsec2.SubnetType_PRIVATE_WITH_EGRESS},
			SecurityGroups:    &[]awsec2.ISecurityGroup{sg},
			PrivateDnsEnabled: jsii.Bool(true),
			// The group's own rule admits the VPC; open would add the
			// same rule again on each endpoint's behalf.
			Open: jsii.Bool(false),
		})
	}
}

func (n *network) Vpc() awsec2.IVpc { return n.vpc }

func (n *network) PublicSubnets() *awsec2.SubnetSelection {
	return &awsec2.SubnetSelection{SubnetType: awsec2.SubnetType_PUBLIC}
}

func (n *network) PrivateSubnets() *awsec2.SubnetSelection {
	return &awsec2.SubnetSelection{SubnetType: awsec2.SubnetType_PRIVATE_WITH_EGRESS}
}

// givenNetwork is a VPC the stamp was given (Props.Vpc) in place of one of
// its own: it adds nothing to it, no endpoints and no flow logs, which are
// the VPC owner's to choose.
type givenNetwork struct {
	vpc             awsec2.IVpc
	public, private *awsec2.SubnetSelection
}

func (n *givenNetwork) Vpc() awsec2.IVpc                        { return n.vpc }
func (n *givenNetwork) PublicSubnets() *awsec2.SubnetSelection  { return n.public }
func (n *givenNetwork) PrivateSubnets() *awsec2.SubnetSelection { return n.private }
