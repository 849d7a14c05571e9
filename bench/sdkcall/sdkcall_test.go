// Package sdkcall measures what a call through the SDK costs the process:
// request serialisation, signing, retry bookkeeping and response
// deserialisation, through our adapters, with an HTTP client that answers
// canned responses in memory: no network, so the numbers are the process's
// CPU alone and a build change shows at its largest. The shipped bootstraps compile the generated service
// packages without inlining (GO_BUILD_FLAGS, to stay under the 10 MB
// budget); `make bench` runs these benchmarks built both ways in one run and
// reports the ratio, so that trade stays measured.
package sdkcall

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"

	"github.com/stampkit/stampkit/shared/asg"
	"github.com/stampkit/stampkit/shared/awsclient/lambdaenv"
	"github.com/stampkit/stampkit/shared/dynamo"
	"github.com/stampkit/stampkit/shared/elb"
)

// fleetSize is the instances (and targets) in each canned response: a
// mid-sized fleet, so deserialisation weighs as it does in production.
const fleetSize = 40

func BenchmarkDescribeGroup(b *testing.B) {
	a := asg.New(autoscaling.NewFromConfig(config(b, describeGroupResponse(fleetSize))))
	ctx := context.Background()
	for b.Loop() {
		g, err := a.Describe(ctx, "web")
		if err != nil {
			b.Fatal(err)
		}
		if g.InService() != fleetSize {
			b.Fatalf("InService = %d, want %d", g.InService(), fleetSize)
		}
	}
}

func BenchmarkTargetHealth(b *testing.B) {
	a := elb.New(elbv2.NewFromConfig(config(b, targetHealthResponse(fleetSize))))
	ctx := context.Background()
	for b.Loop() {
		ts, err := a.TargetHealth(ctx, "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web/0123456789abcdef")
		if err != nil {
			b.Fatal(err)
		}
		if len(ts) != fleetSize {
			b.Fatalf("%d targets, want %d", len(ts), fleetSize)
		}
	}
}

func BenchmarkStoreGet(b *testing.B) {
	s := dynamo.New(dynamodb.NewFromConfig(config(b, getItemResponse)), "stampkit")
	ctx := context.Background()
	for b.Loop() {
		r, ok, err := s.Get(ctx, "scaling#web")
		if err != nil || !ok {
			b.Fatalf("Get = %v, %v", ok, err)
		}
		if r.Version != 7 {
			b.Fatalf("version %d, want 7", r.Version)
		}
	}
}

// config is the functions' own SDK configuration (lambdaenv) with an HTTP
// client that answers every request with body.
func config(b *testing.B, body string) aws.Config {
	b.Helper()
	env := map[string]string{
		"AWS_ACCESS_KEY_ID":     "AKIDEXAMPLE",
		"AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
		"AWS_SESSION_TOKEN":     "token",
		"AWS_REGION":            "us-east-1",
		"AWS_ENDPOINT_URL":      "http://sdkcall.invalid", // never dialled
	}
	cfg, err := lambdaenv.Load(func(k string) string { return env[k] })
	if err != nil {
		b.Fatal(err)
	}
	cfg.HTTPClient = canned(body)
	return cfg
}

// canned is an HTTP client answering every request 200 with its body, as
// the service would: JSON for DynamoDB, XML for the Query protocols.
type canned string

func (c canned) Do(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		// The SDK computes the payload hash from the body it sends; drain it
		// as a transport would.
		if _, err := io.Copy(io.Discard, r.Body); err != nil {
			return nil, err
		}
		r.Body.Close()
	}
	h := http.Header{"Content-Type": {"text/xml"}}
	if strings.HasPrefix(string(c), "{") {
		h.Set("Content-Type", "application/x-amz-json-1.0")
	}
	return &http.Response{
		StatusCode: http.StatusOK, Status: "200 OK", Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: h, Body: io.NopCloser(strings.NewReader(string(c))), ContentLength: int64(len(c)), Request: r,
	}, nil
}

func describeGroupResponse(n int) string {
	var s strings.Builder
	s.WriteString(`<DescribeAutoScalingGroupsResponse xmlns="http://autoscaling.amazonaws.com/doc/2011-01-01/"><DescribeAutoScalingGroupsResult><AutoScalingGroups><member>`)
	fmt.Fprintf(&s, `<AutoScalingGroupName>web</AutoScalingGroupName><MinSize>1</MinSize><MaxSize>100</MaxSize><DesiredCapacity>%d</DesiredCapacity>`, n)
	s.WriteString(`<DefaultCooldown>300</DefaultCooldown><HealthCheckType>ELB</HealthCheckType><HealthCheckGracePeriod>120</HealthCheckGracePeriod><CreatedTime>2026-11-01T00:00:00Z</CreatedTime>`)
	s.WriteString(`<LaunchTemplate><LaunchTemplateId>lt-0123456789abcdef0</LaunchTemplateId><LaunchTemplateName>web</LaunchTemplateName><Version>$Latest</Version></LaunchTemplate>`)
	s.WriteString(`<AvailabilityZones><member>us-east-1a</member><member>us-east-1b</member></AvailabilityZones><Instances>`)
	for i := range n {
		fmt.Fprintf(&s, `<member><InstanceId>i-%017x</InstanceId><InstanceType>t4g.small</InstanceType><AvailabilityZone>us-east-1a</AvailabilityZone>`+
			`<LifecycleState>InService</LifecycleState><HealthStatus>Healthy</HealthStatus><ProtectedFromScaleIn>false</ProtectedFromScaleIn>`+
			`<LaunchTemplate><LaunchTemplateId>lt-0123456789abcdef0</LaunchTemplateId><LaunchTemplateName>web</LaunchTemplateName><Version>7</Version></LaunchTemplate></member>`, i)
	}
	s.WriteString(`</Instances><TargetGroupARNs><member>arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web/0123456789abcdef</member></TargetGroupARNs>`)
	s.WriteString(`</member></AutoScalingGroups></DescribeAutoScalingGroupsResult><ResponseMetadata><RequestId>0f6c3d4e-1111-2222-3333-444455556666</RequestId></ResponseMetadata></DescribeAutoScalingGroupsResponse>`)
	return s.String()
}

func targetHealthResponse(n int) string {
	var s strings.Builder
	s.WriteString(`<DescribeTargetHealthResponse xmlns="http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/"><DescribeTargetHealthResult><TargetHealthDescriptions>`)
	for i := range n {
		fmt.Fprintf(&s, `<member><Target><Id>i-%017x</Id><Port>8080</Port></Target><HealthCheckPort>8080</HealthCheckPort><TargetHealth><State>healthy</State></TargetHealth></member>`, i)
	}
	s.WriteString(`</TargetHealthDescriptions></DescribeTargetHealthResult><ResponseMetadata><RequestId>0f6c3d4e-1111-2222-3333-444455556666</RequestId></ResponseMetadata></DescribeTargetHealthResponse>`)
	return s.String()
}

const getItemResponse = `{"Item":{"pk":{"S":"scaling#web"},"version":{"N":"7"},"expires_at":{"N":"4102444800"},` +
	`"data":{"S":"{\"lastScaledAt\":\"2026-11-25T18:00:00Z\",\"desired\":12,\"alarms\":{\"web-cpu-high\":{\"since\":\"2026-11-25T17:58:00Z\",\"step\":2}}}"}}}`
