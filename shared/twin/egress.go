package twin

import (
	"context"
	"fmt"
	"net"
	"os"
	"slices"

	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/stampkit/stampkit/shared/lifecycle"
)

// Egress is how the private subnets of the stack's VPC reach AWS: the
// network choices of infra/stamp/network.go, as ZoneEgressLoss models them.
type Egress string

// The network layouts the CDK app deploys. Each has the DynamoDB gateway
// endpoint; the NAT layouts send every other AWS call through a NAT
// gateway.
const (
	// EgressSingleNAT is natGateways 1: every zone's private subnets
	// route to the one NAT gateway.
	EgressSingleNAT Egress = "single-nat"
	// EgressNATPerZone is natGateways = maxAzs: each zone's private
	// subnets route to the NAT gateway in that zone.
	EgressNATPerZone Egress = "nat-per-zone"
	// EgressEndpoints is interfaceEndpoints: the services the stack calls
	// from its private subnets are reached through interface endpoints,
	// whatever the NAT gateways do.
	EgressEndpoints Egress = "endpoints"
)

// Egresses lists the layouts.
func Egresses() []Egress { return []Egress{EgressSingleNAT, EgressNATPerZone, EgressEndpoints} }

// GatewayEndpoints are the gateway endpoints every layout has (by the
// name in com.amazonaws.<region>.<name>): free, and routed by the private
// subnets' route tables rather than through a NAT gateway.
func GatewayEndpoints() []string { return []string{"dynamodb", "s3"} }

// LifecycleEndpoints are the interface endpoints through which the
// lifecycle function reaches each AWS service it calls (shared/asg, elb,
// ec2instance, ssmcommand, sqsqueue; DynamoDB has its gateway endpoint):
// what EgressEndpoints needs the stack to deploy.
func LifecycleEndpoints() []string {
	return []string{"autoscaling", "ec2", "elasticloadbalancing", "sqs", "ssm"}
}

// endpointOf names the VPC endpoint service of each service the handlers
// call, as the SDK names the service.
var endpointOf = map[string]string{
	svcAutoScaling: "autoscaling",
	svcCloudWatch:  "monitoring",
	svcDynamoDB:    "dynamodb",
	svcEC2:         "ec2",
	svcELB:         "elasticloadbalancing",
	svcImage:       "imagebuilder",
	svcSQS:         "sqs",
	svcSSM:         "ssm",
}

// ZoneEgressLoss is the chaos of a NAT gateway gone in one of zones
// availability zones, under layout: the NAT layouts lose the way out of
// the VPC for the invocations that run behind the lost gateway, and keep
// only the gateway endpoints; EgressEndpoints loses the same and routes
// around it.
//
// A NAT gateway lives in one zone: "If you have resources in multiple
// Availability Zones and they share one NAT gateway, and if the NAT
// gateway's Availability Zone is down, resources in the other Availability
// Zones lose internet access. To create an Availability Zone-independent
// architecture, create a NAT gateway in each Availability Zone" ("NAT
// gateways", https://docs.aws.amazon.com/vpc/latest/userguide/vpc-nat-gateway.html).
// A route whose NAT gateway is gone is a blackhole: "the route's target
// isn't available" (Route, EC2 API reference,
// https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_Route.html).
// A function in a VPC "can access resources and the internet only through
// that VPC" (CreateFunction VpcConfig, Lambda API reference,
// https://docs.aws.amazon.com/lambda/latest/api/API_CreateFunction.html),
// in the subnets it is given, one per zone here. Which zone runs a given
// invocation AWS does not say: the model draws it evenly for each
// invocation, retries included, so with a NAT gateway per zone 1/zones of
// them lose their way out.
func ZoneEgressLoss(layout Egress, zones int) (*Chaos, error) {
	if zones < 1 {
		return nil, fmt.Errorf("zones %d: need at least 1", zones)
	}
	c := &Chaos{EgressLoss: 1, VPCEndpoints: GatewayEndpoints()}
	switch layout {
	case EgressSingleNAT:
	case EgressNATPerZone:
		c.EgressLoss = 1 / float64(zones)
	case EgressEndpoints:
		c.VPCEndpoints = append(c.VPCEndpoints, LifecycleEndpoints()...)
	default:
		return nil, fmt.Errorf("network layout %q: want one of %v", layout, Egresses())
	}
	return c, nil
}

// reaches reports whether a call to service's op stays reachable when the
// way out of the VPC is lost: a probe of an instance's HTTP port goes to
// its private address, inside the VPC; the EC2 status and SSM probes, and
// every other call, go to the service's regional endpoint, reached only
// through a VPC endpoint of it.
func (c *Chaos) reaches(service, op string) bool {
	if service == svcProbe {
		switch lifecycle.ProbeKind(op) {
		case lifecycle.HTTP:
			return true
		case lifecycle.SSM:
			service = svcSSM
		default:
			service = svcEC2
		}
	}
	name, ok := endpointOf[service]
	return ok && slices.Contains(c.VPCEndpoints, name)
}

// blackholed fails a call of inv, which lost its way out of the VPC, as
// the SDK fails it: the connection is never answered, and the SDK's
// connect timeout (30 s, awshttp.DefaultDialConnectTimeout) is longer than
// the function's, so the call waits until the invocation's deadline. Its
// time gone, the calls after it fail at once; one on a context of its own
// (a claim released in the headroom) waits out its own timeout and fails
// the same way. Nothing reached AWS.
func (s *sim) blackholed(ctx context.Context, inv *handlerRun, service, op string) error {
	s.invocationFault(inv, FaultEgressLost, service+" "+op)
	inv.ctx.expire(context.DeadlineExceeded)
	if err := ctx.Err(); err != nil {
		return opError(service, op, err)
	}
	return opError(service, op, &smithyhttp.RequestSendError{Err: &net.OpError{Op: "dial", Net: "tcp", Err: os.ErrDeadlineExceeded}})
}
