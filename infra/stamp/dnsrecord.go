package stamp

import (
	"fmt"
	"slices"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsroute53"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// StampRecordProps configures a stamp's record in the app's weighted
// record.
type StampRecordProps struct {
	// DNS is the app's record (ParseDNS).
	DNS *DNSConfig
	// Names are the stamp's: its name is the record's set identifier.
	Names Names
	// Fleet is the fleet the record routes to (DNSConfig.Fleet), and
	// HTTPS whether its listener serves HTTPS (a certificate).
	Fleet Fleet
	HTTPS bool
}

// StampRecord is a stamp's weighted alias record and the health check it
// answers by.
type StampRecord interface {
	Record() awsroute53.CfnRecordSet
	HealthCheck() awsroute53.HealthCheck
}

type stampRecord struct {
	record awsroute53.CfnRecordSet
	check  awsroute53.HealthCheck
}

// NewStampRecord creates, in the scope of the fleet's load balancer, the
// stamp's record: a weighted alias A record named DNSConfig.RecordName
// whose set identifier is the stamp's name, to the load balancer, with
// EvaluateTargetHealth, and a Route 53 health check on the fleet's
// readiness path through its listener.
//
// Its Weight is never a constant: it is a template parameter of type
// AWS::SSM::Parameter::Value<String> naming the stamp's DNS weight
// parameter (Names.DNSWeightParameter, in the weights stack), which the
// shift function writes once Route 53 accepted each change of the record.
// So a deploy in the middle of a shift writes the weight the shift last
// applied, not the one the stamp started with (NewListenerWeights says
// why a parameter, and why in a stack of its own).
func NewStampRecord(scope constructs.Construct, id string, props *StampRecordProps) StampRecord {
	switch {
	case props == nil:
		panic("NewStampRecord: props is nil")
	case props.DNS == nil:
		panic("NewStampRecord: DNS is nil")
	case props.Fleet == nil:
		panic("NewStampRecord: Fleet is nil")
	case CheckStampName(props.Names.Stamp()) != nil:
		panic(fmt.Sprintf("NewStampRecord: Names: the stamp's name %v (NamesOf)", CheckStampName(props.Names.Stamp())))
	}
	d := props.DNS
	c := constructs.NewConstruct(scope, &id)
	alb := props.Fleet.LoadBalancer()

	checkType, port := awsroute53.HealthCheckType_HTTP, 80
	if props.HTTPS {
		// Route 53 does not validate the certificate, so the load
		// balancer's own name will do ("Values that you specify when you
		// create or update health checks", Protocol HTTPS).
		checkType, port = awsroute53.HealthCheckType_HTTPS, 443
	}
	path := d.HealthCheck.Path
	if path == "" {
		path = props.Fleet.HealthCheckPath()
	}
	check := awsroute53.NewHealthCheck(c, jsii.String("HealthCheck"), &awsroute53.HealthCheckProps{
		Type:             checkType,
		Fqdn:             alb.LoadBalancerDnsName(),
		Port:             jsii.Number(port),
		ResourcePath:     jsii.String(path),
		RequestInterval:  awscdk.Duration_Seconds(jsii.Number(d.HealthCheck.IntervalSeconds)),
		FailureThreshold: jsii.Number(d.HealthCheck.FailureThreshold),
	})

	weight := awscdk.NewCfnParameter(c, jsii.String("Weight"), &awscdk.CfnParameterProps{
		Type:    jsii.String("AWS::SSM::Parameter::Value<String>"),
		Default: jsii.String(props.Names.DNSWeightParameter()),
		Description: jsii.String(fmt.Sprintf("stampkit %s: SSM parameter holding the live weight of the stamp's record %s",
			props.Names.Stamp(), d.RecordName)),
	})
	// The L1 record, not the L2 ARecord: EvaluateTargetHealth reaches the
	// L2's load balancer target through a jsii interface
	// (IAliasRecordTargetProps) that Go would have to implement, and every
	// property of the record is one we set anyway.
	record := awsroute53.NewCfnRecordSet(c, jsii.String("Record"), &awsroute53.CfnRecordSetProps{
		HostedZoneId:  jsii.String(d.HostedZoneID),
		Name:          jsii.String(d.RecordName),
		Type:          jsii.String("A"),
		SetIdentifier: jsii.String(props.Names.Stamp()),
		Weight:        awscdk.Token_AsNumber(weight.ValueAsString()),
		HealthCheckId: check.HealthCheckId(),
		AliasTarget: &awsroute53.CfnRecordSet_AliasTargetProperty{
			// The "dualstack." prefix, as the CDK's LoadBalancerTarget
			// writes it: "If you're routing traffic to an ELB load balancer
			// ... dualstack.name" ("Value/route traffic to", alias,
			// https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/resource-record-sets-values-alias.html).
			DnsName:      awscdk.Fn_Join(jsii.String(""), &[]*string{jsii.String("dualstack."), alb.LoadBalancerDnsName()}),
			HostedZoneId: alb.LoadBalancerCanonicalHostedZoneId(),
			// The record drops out while the stamp's targets are all
			// unhealthy, and so does the health check's.
			EvaluateTargetHealth: jsii.Bool(true),
		},
	})
	return &stampRecord{record: record, check: check}
}

func (r *stampRecord) Record() awsroute53.CfnRecordSet     { return r.record }
func (r *stampRecord) HealthCheck() awsroute53.HealthCheck { return r.check }

// checkDNSProps panics naming what keeps the stamp from its record: a
// DNSConfig that does not list it, no fleet of DNSConfig.Fleet, or a load
// balancer brought without the zone an alias to it names.
func checkDNSProps(props *Props, cfg Config) {
	d := props.DNS
	if d == nil {
		return
	}
	if !slices.Contains(d.Stamps(), cfg.Name) {
		panic(fmt.Sprintf("NewStack: DNS: stamp %s is not among the record's stamps %v (ParseDNS with every stamp)", cfg.Name, d.Stamps()))
	}
	if !slices.ContainsFunc(cfg.Fleets, func(f FleetConfig) bool { return f.Name == d.Fleet }) {
		panic(fmt.Sprintf("NewStack: DNS.Fleet: stamp %s runs no fleet %q", cfg.Name, d.Fleet))
	}
	if lb := props.Fleets[d.Fleet].LoadBalancer; lb != nil && (lb.LoadBalancerCanonicalHostedZoneId == nil || lb.LoadBalancerDnsName == nil) {
		panic(fmt.Sprintf("NewStack: Fleets[%q].LoadBalancer: the DNS record is an alias to it: set LoadBalancerDnsName and LoadBalancerCanonicalHostedZoneId", d.Fleet))
	}
}
