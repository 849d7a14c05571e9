package stamp

import (
	"cmp"
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	elb "github.com/aws/aws-cdk-go/awscdk/v2/awselasticloadbalancingv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
)

// SharedListener is an existing listener that a rolling fleet joins with
// a rule of its own, instead of adding listeners to its load balancer:
// how several fleets, or a fleet and other services, share one port.
type SharedListener struct {
	// ListenerArn is the listener's, one of FleetOptions.LoadBalancer's.
	ListenerArn string
	// Priority is the fleet's rule's among the listener's rules, 1..50000,
	// unique on the listener.
	Priority int
	// Conditions pick the requests the fleet serves (at least one, such
	// as elb.ListenerCondition_HostHeaders).
	Conditions []elb.ListenerCondition
	// Protocol is the listener's, for the fleet's URL (default HTTPS).
	// The fleet's certificateArn, if any, is added to the listener's
	// certificates (SNI), which takes an HTTPS listener.
	Protocol elb.ApplicationProtocol
}

// frontEnd is where a fleet's traffic comes in: the load balancer, the
// listener that forwards to the fleet's target groups, and the fleet's
// address.
type frontEnd struct {
	alb elb.IApplicationLoadBalancer
	// fullName is the load balancer's metrics' LoadBalancer dimension.
	fullName *string
	listener elb.IApplicationListener
	url      *string
}

// checkFrontEnd panics naming the first option a fleet's front end cannot
// honour.
func checkFrontEnd(props *FleetProps) {
	cfg, sl := props.Config, props.Listener
	if a := props.LoadBalancer; a != nil && (a.LoadBalancerArn == nil || a.SecurityGroupId == nil || a.LoadBalancerDnsName == nil) {
		panic(fmt.Sprintf("NewFleet: fleet %s: LoadBalancer needs its LoadBalancerArn, SecurityGroupId (the instances admit it) "+
			"and LoadBalancerDnsName (the fleet's URL)", cfg.Name))
	}
	if sl == nil {
		return
	}
	switch {
	case props.LoadBalancer == nil:
		panic("NewFleet: Listener needs LoadBalancer, the listener's load balancer: the health alarms and dashboard watch its metrics")
	case cfg.BlueGreen():
		panic(fmt.Sprintf("NewFleet: fleet %s: a shared Listener is for rolling fleets: a blue/green rollout shifts the weights "+
			"of its listener's default action, which it must own (leave Listener out: the fleet adds its own to LoadBalancer)", cfg.Name))
	case sl.ListenerArn == "":
		panic("NewFleet: Listener.ListenerArn is empty")
	case sl.Priority < 1 || sl.Priority > 50000:
		panic(fmt.Sprintf("NewFleet: Listener.Priority: got %d, want 1..50000", sl.Priority))
	case len(sl.Conditions) == 0:
		panic("NewFleet: Listener.Conditions is empty: a rule needs at least one")
	}
}

// newFrontEnd puts the fleet behind its load balancer: one of its own
// unless props bring one, and a listener of its own (HTTP, or HTTPS with
// a redirect from HTTP) unless props share one, where it adds a rule.
// Either way the fleet's traffic is the weighted forward to blue and green.
func newFrontEnd(c constructs.Construct, props *FleetProps, instanceSG awsec2.ISecurityGroup, blue, green elb.ApplicationTargetGroup) frontEnd {
	cfg := props.Config
	https := cfg.CertificateArn != ""
	var fe frontEnd
	// A listener of the fleet's is a child of the fleet, as the given load
	// balancer is. The fleet's own load balancer keeps its listeners where
	// they have always been, as its children.
	addListener := func(id string, p *elb.BaseApplicationListenerProps) elb.ApplicationListener {
		return elb.NewApplicationListener(c, jsii.String(id), &elb.ApplicationListenerProps{
			LoadBalancer: fe.alb, Port: p.Port, Protocol: p.Protocol, Certificates: p.Certificates,
			SslPolicy: p.SslPolicy, DefaultAction: p.DefaultAction, Open: p.Open,
		})
	}
	if props.LoadBalancer != nil {
		fe.alb = elb.ApplicationLoadBalancer_FromApplicationLoadBalancerAttributes(c, jsii.String("LoadBalancer"), props.LoadBalancer)
		fe.fullName = loadBalancerFullName(fe.alb.LoadBalancerArn())
	} else {
		alb := newLoadBalancer(c, props, https)
		fe.alb, fe.fullName = alb, alb.LoadBalancerFullName()
		addListener = func(id string, p *elb.BaseApplicationListenerProps) elb.ApplicationListener {
			return alb.AddListener(jsii.String(id), p)
		}
	}
	// From the instances' side: a rule between stacks goes with the group
	// that asks for it, here this stack's, which may reference a given
	// load balancer's group but not be referenced by it.
	instanceSG.Connections().AllowFrom(fe.alb, awsec2.Port_Tcp(jsii.Number(cfg.AppPort)), jsii.String("ALB to the app port (traffic and health checks)"))

	forward := weightedForward(c, cfg, blue, green)
	var certificates []elb.IListenerCertificate
	if https {
		certificates = append(certificates, elb.ListenerCertificate_FromArn(jsii.String(cfg.CertificateArn)))
	}
	scheme := "http"
	switch {
	case props.Listener != nil:
		sl := props.Listener
		shared := elb.ApplicationListener_FromApplicationListenerAttributes(c, jsii.String("SharedListener"), &elb.ApplicationListenerAttributes{
			ListenerArn:   jsii.String(sl.ListenerArn),
			SecurityGroup: (*fe.alb.Connections().SecurityGroups())[0],
		})
		elb.NewApplicationListenerRule(c, jsii.String("ListenerRule"), &elb.ApplicationListenerRuleProps{
			Listener:   shared,
			Priority:   jsii.Number(sl.Priority),
			Conditions: &sl.Conditions,
			Action:     forward,
		})
		if https {
			elb.NewApplicationListenerCertificate(c, jsii.String("ListenerCertificate"), &elb.ApplicationListenerCertificateProps{
				Listener: shared, Certificates: &certificates,
			})
		}
		fe.listener = shared
		if cmp.Or(sl.Protocol, elb.ApplicationProtocol_HTTPS) == elb.ApplicationProtocol_HTTPS {
			scheme = "https"
		}
	case https:
		fe.listener = addListener("Https", &elb.BaseApplicationListenerProps{
			Port:          jsii.Number(443),
			Protocol:      elb.ApplicationProtocol_HTTPS,
			Certificates:  &certificates,
			SslPolicy:     elb.SslPolicy_RECOMMENDED_TLS,
			DefaultAction: forward,
			Open:          jsii.Bool(false),
		})
		addListener("HttpRedirect", &elb.BaseApplicationListenerProps{
			Port:     jsii.Number(80),
			Protocol: elb.ApplicationProtocol_HTTP,
			DefaultAction: elb.ListenerAction_Redirect(&elb.RedirectOptions{
				Protocol:  jsii.String("HTTPS"),
				Port:      jsii.String("443"),
				Permanent: jsii.Bool(true),
			}),
			Open: jsii.Bool(false),
		})
		scheme = "https"
	default:
		fe.listener = addListener("Http", &elb.BaseApplicationListenerProps{
			Port:          jsii.Number(80),
			Protocol:      elb.ApplicationProtocol_HTTP,
			DefaultAction: forward,
			Open:          jsii.Bool(false),
		})
	}
	fe.url = awscdk.Fn_Join(jsii.String(""), jsii.Strings(scheme+"://", *fe.alb.LoadBalancerDnsName()))
	return fe
}

// newLoadBalancer creates the fleet's own internet-facing load balancer,
// its security group (open on the listener ports only) and the bucket
// that keeps its access logs.
func newLoadBalancer(c constructs.Construct, props *FleetProps, https bool) elb.ApplicationLoadBalancer {
	cfg := props.Config
	vpc := props.Network.Vpc()
	albSG := awsec2.NewSecurityGroup(c, jsii.String("AlbSecurityGroup"), &awsec2.SecurityGroupProps{
		Vpc:              vpc,
		Description:      jsii.String(fmt.Sprintf("stampkit %s load balancer", cfg.Name)),
		AllowAllOutbound: jsii.Bool(false),
	})
	albSG.AddIngressRule(awsec2.Peer_AnyIpv4(), awsec2.Port_Tcp(jsii.Number(80)), jsii.String("HTTP from the internet"), nil)
	if https {
		albSG.AddIngressRule(awsec2.Peer_AnyIpv4(), awsec2.Port_Tcp(jsii.Number(443)), jsii.String("HTTPS from the internet"), nil)
	}

	bucket := awss3.NewBucket(c, jsii.String("AccessLogs"), &awss3.BucketProps{
		// ALB access logs support only SSE-S3.
		Encryption:        awss3.BucketEncryption_S3_MANAGED,
		EnforceSSL:        jsii.Bool(true),
		MinimumTLSVersion: jsii.Number(1.2),
		BlockPublicAccess: awss3.BlockPublicAccess_BLOCK_ALL(),
		ObjectOwnership:   awss3.ObjectOwnership_BUCKET_OWNER_ENFORCED,
		LifecycleRules: &[]*awss3.LifecycleRule{{
			Expiration: awscdk.Duration_Days(jsii.Number(cmp.Or(props.AccessLogDays, DemoAccessLogDays))),
		}},
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
	})
	// Logging this bucket's access would take a second bucket, which S3 says
	// should not log its own access; logging a bucket into itself S3
	// advises against (logs about logs)
	// (https://docs.aws.amazon.com/AmazonS3/latest/userguide/enable-server-access-logging.html).
	// CloudTrail records object reads and writes (data events) only where a
	// trail or event data store is set to, which it is not by default; it
	// records changes to the bucket itself (policy, configuration) as
	// management events
	// (https://docs.aws.amazon.com/AmazonS3/latest/userguide/cloudtrail-logging-s3-info.html).
	cdknag.NagSuppressions_AddResourceSuppressions(bucket, &[]*cdknag.NagPackSuppression{{
		Id: jsii.String("AwsSolutions-S1"),
		Reason: jsii.String("this bucket is the ALB access-log sink: its policy grants writes to the ELB log " +
			"delivery alone, under <fleet>/AWSLogs/<account>/, and no role of this stack may write to it; public " +
			"access is blocked and TLS required. " +
			"Server access logs of it would need another bucket, itself unlogged (S3 advises against logging a " +
			"bucket into itself). Object reads and writes reach CloudTrail only where an account trail or event " +
			"data store logs S3 data events (not by default); changes to the bucket and its policy are CloudTrail " +
			"management events"),
	}}, jsii.Bool(false))

	alb := elb.NewApplicationLoadBalancer(c, jsii.String("LoadBalancer"), &elb.ApplicationLoadBalancerProps{
		Vpc:                     vpc,
		VpcSubnets:              props.Network.PublicSubnets(),
		InternetFacing:          jsii.Bool(true),
		SecurityGroup:           albSG,
		DropInvalidHeaderFields: jsii.Bool(true),
		DeletionProtection:      jsii.Bool(props.DeletionProtection),
	})
	alb.LogAccessLogs(bucket, jsii.String(cfg.Name))
	cdknag.NagSuppressions_AddResourceSuppressions(albSG, &[]*cdknag.NagPackSuppression{{
		Id: jsii.String("AwsSolutions-EC23"),
		Reason: jsii.String("internet-facing load balancer: 0.0.0.0/0 is allowed on the listener ports " +
			"(80, and 443 with a certificate) and nowhere else"),
	}}, jsii.Bool(false))
	return alb
}

// weightedForward is the fleet's traffic: to the blue and green target
// groups, weighted.
func weightedForward(c constructs.Construct, cfg FleetConfig, blue, green elb.ApplicationTargetGroup) elb.ListenerAction {
	blueWeight, greenWeight := jsii.Number(BlueWeight), jsii.Number(GreenWeight)
	if cfg.BlueGreen() {
		// The weights a deploy writes are the live ones, read from the SSM
		// parameters the rollout Lambda keeps (NewListenerWeights says why,
		// and why they live in a stack of their own). A template parameter
		// of an SSM parameter type: CloudFormation "always fetches the
		// latest values from Parameter Store when it updates stacks"
		// ("Systems Manager parameter types").
		weights := cfg.WeightParameters()
		weight := func(id, name, side string) *float64 {
			p := awscdk.NewCfnParameter(c, jsii.String(id), &awscdk.CfnParameterProps{
				Type:    jsii.String("AWS::SSM::Parameter::Value<String>"),
				Default: jsii.String(name),
				Description: jsii.String(fmt.Sprintf("stampkit %s: SSM parameter holding the live listener weight of the %s target group",
					cfg.Name, side)),
			})
			return awscdk.Token_AsNumber(p.ValueAsString())
		}
		blueWeight = weight("TargetGroupWeight", weights.TargetGroup, "group's")
		greenWeight = weight("PeerTargetGroupWeight", weights.PeerTargetGroup, "peer group's")
	}
	return elb.ListenerAction_WeightedForward(&[]*elb.WeightedTargetGroup{
		{TargetGroup: blue, Weight: blueWeight},
		{TargetGroup: green, Weight: greenWeight},
	}, nil)
}

// loadBalancerFullName is the "app/NAME/ID" of the load balancer of ARN
// arn (…:loadbalancer/app/NAME/ID), the LoadBalancer dimension of its
// metrics, which an imported load balancer does not expose.
func loadBalancerFullName(arn *string) *string {
	parts := awscdk.Fn_Split(jsii.String("/"), arn, nil)
	return awscdk.Fn_Join(jsii.String("/"), &[]*string{
		awscdk.Fn_Select(jsii.Number(1), parts), awscdk.Fn_Select(jsii.Number(2), parts), awscdk.Fn_Select(jsii.Number(3), parts),
	})
}
