package awsproxy_test

import (
	"context"
	"errors"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/stampkit/stampkit/shared/awsclient/lambdaenv"
	"github.com/stampkit/stampkit/shared/awserr"
	"github.com/stampkit/stampkit/shared/awstest"
	"github.com/stampkit/stampkit/shared/awstest/awsproxy"
)

var emu = awstest.New()

func TestMain(m *testing.M) { os.Exit(emu.Run(m)) }

// retrying is cfg with the SDK's standard retryer, three attempts and no
// backoff: the retry decisions of production (the same retryable and
// throttle classification) without its waits.
func retrying(cfg aws.Config) aws.Config {
	cfg.Retryer = func() aws.Retryer {
		return retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts = 3
			o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return 0, nil })
			o.RateLimiter = ratelimit.None
		})
	}
	return cfg
}

// call is one cheap read of a service, made with a real SDK client.
type call struct {
	service, operation string
	do                 func(ctx context.Context, cfg aws.Config) error
}

// calls reads each service the toolkit uses, one per protocol family.
var calls = []call{
	{awsproxy.AutoScaling, "DescribeAutoScalingGroups", func(ctx context.Context, cfg aws.Config) error {
		_, err := autoscaling.NewFromConfig(cfg).DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{})
		return err
	}},
	{awsproxy.ELB, "DescribeLoadBalancers", func(ctx context.Context, cfg aws.Config) error {
		_, err := elbv2.NewFromConfig(cfg).DescribeLoadBalancers(ctx, &elbv2.DescribeLoadBalancersInput{})
		return err
	}},
	{awsproxy.CloudWatch, "DescribeAlarms", func(ctx context.Context, cfg aws.Config) error {
		_, err := cloudwatch.NewFromConfig(cfg).DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{})
		return err
	}},
	{awsproxy.EC2, "DescribeVpcs", func(ctx context.Context, cfg aws.Config) error {
		_, err := ec2.NewFromConfig(cfg).DescribeVpcs(ctx, &ec2.DescribeVpcsInput{})
		return err
	}},
	{awsproxy.DynamoDB, "ListTables", func(ctx context.Context, cfg aws.Config) error {
		_, err := dynamodb.NewFromConfig(cfg).ListTables(ctx, &dynamodb.ListTablesInput{})
		return err
	}},
	{awsproxy.SSM, "DescribeParameters", func(ctx context.Context, cfg aws.Config) error {
		_, err := ssm.NewFromConfig(cfg).DescribeParameters(ctx, &ssm.DescribeParametersInput{})
		return err
	}},
	{awsproxy.SQS, "ListQueues", func(ctx context.Context, cfg aws.Config) error {
		_, err := sqs.NewFromConfig(cfg).ListQueues(ctx, &sqs.ListQueuesInput{})
		return err
	}},
}

// TestIdentifiesCalls: every service's call passes through to the emulator
// and is recorded by its signing name and operation, whatever its protocol.
func TestIdentifiesCalls(t *testing.T) {
	cfg := emu.Fresh(t)
	p := emu.Proxy(t)
	for _, c := range calls {
		if err := c.do(t.Context(), cfg); err != nil {
			t.Errorf("%s %s through the proxy: %v", c.service, c.operation, err)
		}
	}
	got := p.Calls()
	if len(got) != len(calls) {
		t.Fatalf("recorded %d calls, want %d:\n%s", len(got), len(calls), p.Log())
	}
	for i, c := range calls {
		r := got[i]
		if r.Service != c.service || r.Operation != c.operation || r.Status != http.StatusOK || r.Fault != "" || r.Time.IsZero() {
			t.Errorf("record %d: got %s, want %s %s answered 200", i, r, c.service, c.operation)
		}
	}
}

// TestThrottle: a throttle comes in each protocol's error shape, so the SDK
// classifies it as throttling, retries it to its attempt budget, and the
// toolkit's classifier (awserr.IsThrottled) says so too.
func TestThrottle(t *testing.T) {
	for _, c := range calls {
		t.Run(c.service, func(t *testing.T) {
			cfg := retrying(emu.Fresh(t))
			p := emu.Proxy(t)
			p.Fail(awsproxy.Call{Service: c.service, Operation: c.operation}, awsproxy.Throttle)
			err := c.do(t.Context(), cfg)
			if !awserr.IsThrottled(err) {
				t.Errorf("got error %v, want a throttling error (awserr.IsThrottled)", err)
			}
			if got := retry.IsErrorThrottles(retry.DefaultThrottles).IsErrorThrottle(err); got != aws.TrueTernary {
				t.Errorf("SDK throttle classification of %v: got %v, want true", err, got)
			}
			var max *retry.MaxAttemptsError
			if !errors.As(err, &max) || max.Attempt != 3 {
				t.Errorf("got error %v, want the retryer to give up after 3 attempts", err)
			}
			if n := p.Count(c.service, c.operation); n != 3 {
				t.Errorf("attempts seen by the proxy: got %d, want 3", n)
			}
		})
	}
}

// TestNthCall: a fault scripted for the 2nd call hits the 2nd attempt alone;
// the retry of it passes.
func TestNthCall(t *testing.T) {
	cfg := retrying(emu.Fresh(t))
	p := emu.Proxy(t)
	p.Fail(awsproxy.Call{Service: awsproxy.AutoScaling, Operation: "DescribeAutoScalingGroups", Nth: 2}, awsproxy.Throttle)
	c := autoscaling.NewFromConfig(cfg)
	for i := range 2 {
		if _, err := c.DescribeAutoScalingGroups(t.Context(), &autoscaling.DescribeAutoScalingGroupsInput{}); err != nil {
			t.Fatalf("call %d: %v", i+1, err)
		}
	}
	var faults []string
	for _, r := range p.Calls() {
		faults = append(faults, r.Fault)
	}
	if got, want := strings.Join(faults, ","), ",throttle,"; got != want {
		t.Errorf("faults per attempt: got %q, want %q (call 2 throttled, its retry passed)\n%s", got, want, p.Log())
	}
}

// TestCallRange: calls 2 to 3 fail, the rest pass; Clear ends a script.
func TestCallRange(t *testing.T) {
	cfg := emu.Fresh(t) // no retries: each call is one attempt
	p := emu.Proxy(t)
	p.Fail(awsproxy.Call{Service: awsproxy.SSM, Nth: 2, Until: 3}, awsproxy.ServerError)
	c := ssm.NewFromConfig(cfg)
	var got []bool
	for range 5 {
		_, err := c.DescribeParameters(t.Context(), &ssm.DescribeParametersInput{})
		got = append(got, err == nil)
	}
	if want := []bool{true, false, false, true, true}; !equal(got, want) {
		t.Errorf("calls that passed: got %v, want %v", got, want)
	}
	p.Fail(awsproxy.Call{Service: awsproxy.SSM}, awsproxy.ServerError)
	p.Clear()
	if _, err := c.DescribeParameters(t.Context(), &ssm.DescribeParametersInput{}); err != nil {
		t.Errorf("after Clear: %v", err)
	}
}

func equal(a, b []bool) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestServerError: a 500 is retried by the SDK (a retryable status) and
// reported, once the attempts are spent, as the service's internal error.
func TestServerError(t *testing.T) {
	cfg := retrying(emu.Fresh(t))
	p := emu.Proxy(t)
	p.Fail(awsproxy.Call{Service: awsproxy.DynamoDB}, awsproxy.ServerError)
	_, err := dynamodb.NewFromConfig(cfg).ListTables(t.Context(), &dynamodb.ListTablesInput{})
	var re *awshttp.ResponseError
	if !errors.As(err, &re) || re.HTTPStatusCode() != http.StatusInternalServerError || awserr.Code(err) != "InternalServerError" {
		t.Errorf("got %v, want HTTP 500 InternalServerError", err)
	}
	if n := p.Count(awsproxy.DynamoDB, "ListTables"); n != 3 {
		t.Errorf("attempts: got %d, want 3", n)
	}
}

// TestReset: a connection reset is a connection error to the SDK, retried;
// the call never reached the emulator.
func TestReset(t *testing.T) {
	cfg := retrying(emu.Fresh(t))
	p := emu.Proxy(t)
	p.Fail(awsproxy.Call{Service: awsproxy.EC2, Operation: "CreateVpc"}, awsproxy.Reset)
	c := ec2.NewFromConfig(cfg)
	_, err := c.CreateVpc(t.Context(), &ec2.CreateVpcInput{CidrBlock: aws.String("10.9.0.0/16")})
	var send *smithyhttp.RequestSendError
	if !errors.As(err, &send) {
		t.Errorf("got %v, want a connection error (smithyhttp.RequestSendError)", err)
	}
	if got := (retry.RetryableConnectionError{}).IsErrorRetryable(err); got != aws.TrueTernary {
		t.Errorf("SDK connection-error classification: got %v, want true", got)
	}
	if n := p.Count(awsproxy.EC2, "CreateVpc"); n != 3 {
		t.Errorf("attempts: got %d, want 3", n)
	}
	if vpcs := countVPCs(t, c, "10.9.0.0/16"); vpcs != 0 {
		t.Errorf("VPCs created: got %d, want 0 (a reset call never reaches the emulator)", vpcs)
	}
}

func countVPCs(t *testing.T, c *ec2.Client, cidr string) int {
	t.Helper()
	out, err := c.DescribeVpcs(t.Context(), &ec2.DescribeVpcsInput{})
	if err != nil {
		t.Fatalf("DescribeVpcs: %v", err)
	}
	n := 0
	for _, v := range out.Vpcs {
		if aws.ToString(v.CidrBlock) == cidr {
			n++
		}
	}
	return n
}

// TestDropResponse: the call takes effect but its answer is lost; the SDK
// sees a connection error and retries, so the effect happens twice. This is
// what "at least once" means for a create that carries no idempotency token.
func TestDropResponse(t *testing.T) {
	cfg := retrying(emu.Fresh(t))
	p := emu.Proxy(t)
	p.Fail(awsproxy.Call{Service: awsproxy.EC2, Operation: "CreateVpc", Nth: 1}, awsproxy.DropResponse)
	c := ec2.NewFromConfig(cfg)
	if _, err := c.CreateVpc(t.Context(), &ec2.CreateVpcInput{CidrBlock: aws.String("10.8.0.0/16")}); err != nil {
		t.Fatalf("CreateVpc (retried past the dropped answer): %v", err)
	}
	if n := p.Count(awsproxy.EC2, "CreateVpc"); n != 2 {
		t.Errorf("attempts: got %d, want 2", n)
	}
	if vpcs := countVPCs(t, c, "10.8.0.0/16"); vpcs != 2 {
		t.Errorf("VPCs created: got %d, want 2 (the dropped attempt took effect)", vpcs)
	}
	first := p.Calls()[0]
	if first.Fault != "drop response" || first.Status != 0 {
		t.Errorf("first attempt recorded as %s, want a dropped response (no status)", first)
	}
}

// TestTimeout: a call held until the client gives up ends with the client's
// deadline, and reaches nothing.
func TestTimeout(t *testing.T) {
	cfg := retrying(emu.Fresh(t))
	p := emu.Proxy(t)
	p.Fail(awsproxy.Call{Service: awsproxy.SQS, Operation: "CreateQueue"}, awsproxy.Timeout)
	began := time.Now()
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	_, err := sqs.NewFromConfig(cfg).CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("held")})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("got %v, want the client's deadline", err)
	}
	if took := time.Since(began); took < 300*time.Millisecond || took > 10*time.Second {
		t.Errorf("gave up after %s, want at the 300 ms deadline", took)
	}
	// The proxy records the call once the client's connection has closed.
	for deadline := time.Now().Add(5 * time.Second); p.Count(awsproxy.SQS, "CreateQueue") == 0 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	if n := p.Count(awsproxy.SQS, "CreateQueue"); n != 1 {
		t.Errorf("attempts: got %d, want 1 (a deadline is not retried)", n)
	}
	out, err := sqs.NewFromConfig(emu.Config(t)).ListQueues(t.Context(), &sqs.ListQueuesInput{})
	if err != nil || len(out.QueueUrls) != 0 {
		t.Errorf("queues: got %v, %v; want none", out, err)
	}
}

// TestTimeoutHTTPClient: with an HTTP client timeout instead of a deadline,
// each attempt times out and the SDK retries it as a connection error.
func TestTimeoutHTTPClient(t *testing.T) {
	cfg := retrying(emu.Fresh(t))
	// Long enough for moto to answer the retry on a loaded machine.
	cfg.HTTPClient = awshttp.NewBuildableClient().WithTimeout(2 * time.Second)
	p := emu.Proxy(t)
	p.Fail(awsproxy.Call{Service: awsproxy.SSM, Operation: "DescribeParameters", Nth: 1}, awsproxy.Timeout)
	if _, err := ssm.NewFromConfig(cfg).DescribeParameters(t.Context(), &ssm.DescribeParametersInput{}); err != nil {
		t.Errorf("DescribeParameters, retried past a timed-out attempt: %v", err)
	}
	if n := p.Count(awsproxy.SSM, "DescribeParameters"); n != 2 {
		t.Errorf("attempts: got %d, want 2\n%s", n, p.Log())
	}
}

// TestDelay: a delayed call is served after the delay.
func TestDelay(t *testing.T) {
	cfg := emu.Fresh(t)
	emu.Proxy(t).Fail(awsproxy.Call{Service: awsproxy.DynamoDB}, awsproxy.Delay(300*time.Millisecond))
	began := time.Now()
	if _, err := dynamodb.NewFromConfig(cfg).ListTables(t.Context(), &dynamodb.ListTablesInput{}); err != nil {
		t.Fatalf("ListTables: %v", err)
	}
	if took := time.Since(began); took < 300*time.Millisecond {
		t.Errorf("answered after %s, want at least the 300 ms delay", took)
	}
}

// TestError: a scripted AWS error arrives with its code and status, and the
// toolkit classifies it.
func TestError(t *testing.T) {
	cfg := emu.Fresh(t)
	f := awstest.NewFleet(t, cfg)
	emu.Proxy(t).Fail(awsproxy.Call{Service: awsproxy.AutoScaling, Operation: "SetDesiredCapacity"},
		awsproxy.Error(400, "ScalingActivityInProgress", "Scaling activity is in progress and blocks this action"))
	_, err := autoscaling.NewFromConfig(cfg).SetDesiredCapacity(t.Context(), &autoscaling.SetDesiredCapacityInput{
		AutoScalingGroupName: aws.String(f.GroupName), DesiredCapacity: aws.Int32(3),
	})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "ScalingActivityInProgress" || !awserr.IsConflict(err) {
		t.Errorf("got %v, want ScalingActivityInProgress (awserr.IsConflict)", err)
	}
}

// TestProductionRetryer: the functions' own retryer (adaptive mode,
// lambdaenv.Retryer) rides out two throttles and a reset on one call.
func TestProductionRetryer(t *testing.T) {
	cfg := emu.Fresh(t)
	cfg.Retryer = lambdaenv.Retryer(lambdaenv.DefaultMaxAttempts)
	f := awstest.NewFleet(t, cfg)
	p := emu.Proxy(t)
	op := awsproxy.Call{Service: awsproxy.AutoScaling, Operation: "UpdateAutoScalingGroup"}
	for i, fault := range []awsproxy.Fault{awsproxy.Throttle, awsproxy.Reset, awsproxy.Throttle} {
		op.Nth = i + 1
		p.Fail(op, fault)
	}
	if _, err := autoscaling.NewFromConfig(cfg).UpdateAutoScalingGroup(t.Context(), &autoscaling.UpdateAutoScalingGroupInput{
		AutoScalingGroupName: aws.String(f.GroupName), MaxSize: aws.Int32(5),
	}); err != nil {
		t.Fatalf("UpdateAutoScalingGroup: %v\n%s", err, p.Log())
	}
	if n := p.Count(awsproxy.AutoScaling, "UpdateAutoScalingGroup"); n != 4 {
		t.Errorf("attempts: got %d, want 4", n)
	}
}
