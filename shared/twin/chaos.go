package twin

import (
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"slices"
	"syscall"
	"time"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// Chaos is what goes wrong around the toolkit's functions in a run, at
// rates drawn from the seed (a stream of their own, so the same seed gives
// the same faults): errors from the simulated AWS APIs the handlers call,
// invocations that run out of time part-way, and deliveries that come
// twice or late. Whatever fails is retried as AWS retries it (see
// Functions), so a run shows whether the handlers' effects survive.
//
// The API faults are what reaches a handler after the SDK's own retries
// (standard mode makes three attempts: "Retry behavior", AWS SDKs and
// Tools reference guide,
// https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html),
// so every rate is per call the handler makes. DefaultChaos's rates are
// those of a bad day: a throttled account, a service answering some 5xx,
// far above what the SDK leaves on a normal one, so that a day's run meets
// each kind of fault many times.
type Chaos struct {
	// Throttle, ServerError, Timeout and LostResponse are per call:
	// AWS throttled it (not applied); answered 500 (not applied); the
	// connection timed out (a write applied or not, half and half); or
	// applied it and the response was lost, so the caller sees a
	// connection error for a call that worked.
	Throttle, ServerError, Timeout, LostResponse float64
	// LambdaTimeout is the share of invocations that run out of time: the
	// deadline comes during one of their first LambdaTimeoutCalls calls
	// (drawn evenly), which fails with context.DeadlineExceeded, a write
	// applied or not, and so do the calls after it.
	LambdaTimeout      float64
	LambdaTimeoutCalls int
	// Duplicate is the share of deliveries made once more, up to
	// DuplicateDelay later: Lambda's asynchronous event queue and SQS
	// deliver at least once ("Even if your function doesn't return an
	// error, it's possible for it to receive the same event from Lambda
	// multiple times because the queue itself is eventually consistent":
	// https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html).
	Duplicate      float64
	DuplicateDelay time.Duration
	// Late is the share of EventBridge's deliveries held up to LateDelay
	// longer than the bus's delay, which reorders them against later
	// events: Lambda's asynchronous event queue may hold events when it
	// backs up (same page). Wake-ups come through SQS delay queues, which
	// deliver them on time.
	Late      float64
	LateDelay time.Duration
	// Calls, when set, limits the API faults (not the Lambda timeouts nor
	// the egress loss) to
	// these calls, each named by service and operation as FaultEvent.Call
	// names it ("Auto Scaling SetDesiredCapacity"): a test aims at one
	// effect with it.
	Calls []string
	// EgressLoss is the share of the invocations of the functions in the
	// VPC (Function.VPC) that lose their way out of it: the zone they run
	// in routes 0.0.0.0/0 to a NAT gateway that is gone (see egress.go).
	// In such an invocation every AWS call but those to the services of
	// VPCEndpoints hangs until its deadline, applied nowhere. Scaled
	// leaves it alone: it is a share of zones, not a rate of bad luck.
	EgressLoss float64
	// VPCEndpoints are the VPC's endpoints, each named as in its service
	// name com.amazonaws.<region>.<name> ("dynamodb", "ssm"): calls to
	// their services stay inside the VPC and survive an EgressLoss.
	VPCEndpoints []string
}

// DefaultChaos is the chaos "stampkit simulate -chaos" and the demo's
// chaos scenario inject: of the calls the handlers make, 1 % throttled,
// 0.2 % answered with a 500, 0.2 % timed out and 0.5 % applied with their
// response lost; 0.5 % of invocations out of time; 2 % of deliveries made
// twice, up to two minutes apart, and 2 % of EventBridge's up to a minute
// late.
func DefaultChaos() *Chaos {
	return &Chaos{
		Throttle: 0.01, ServerError: 0.002, Timeout: 0.002, LostResponse: 0.005,
		LambdaTimeout: 0.005, LambdaTimeoutCalls: 8,
		Duplicate: 0.02, DuplicateDelay: 2 * time.Minute,
		Late: 0.02, LateDelay: time.Minute,
	}
}

// Scaled returns c with every rate multiplied by f (each at most 1).
func (c Chaos) Scaled(f float64) *Chaos {
	r := func(p float64) float64 { return min(p*f, 1) }
	c.Throttle, c.ServerError, c.Timeout, c.LostResponse = r(c.Throttle), r(c.ServerError), r(c.Timeout), r(c.LostResponse)
	c.LambdaTimeout, c.Duplicate, c.Late = r(c.LambdaTimeout), r(c.Duplicate), r(c.Late)
	return &c
}

func (c Chaos) validate() error {
	for _, p := range []float64{c.Throttle, c.ServerError, c.Timeout, c.LostResponse, c.LambdaTimeout, c.Duplicate, c.Late, c.EgressLoss} {
		if p < 0 || p > 1 {
			return errors.New("every rate must be within 0 and 1")
		}
	}
	if c.Throttle+c.ServerError+c.Timeout+c.LostResponse > 1 {
		return errors.New("the API fault rates add up to more than 1")
	}
	if c.LambdaTimeout > 0 && c.LambdaTimeoutCalls < 1 {
		return errors.New("a Lambda timeout rate needs LambdaTimeoutCalls >= 1")
	}
	if c.DuplicateDelay < 0 || c.LateDelay < 0 {
		return errors.New("delays must not be negative")
	}
	return nil
}

// Kinds of fault, in FaultEvent.Kind.
const (
	FaultThrottled     = "throttled"
	FaultServerError   = "server error"
	FaultTimeout       = "timeout"
	FaultLostResponse  = "lost response"
	FaultLambdaTimeout = "Lambda timeout"
	FaultDuplicate     = "duplicate delivery"
	FaultLate          = "late delivery"
	// FaultEgressLost: a call of an invocation that lost its way out of
	// the VPC (Chaos.EgressLoss).
	FaultEgressLost = "egress lost"
)

// FaultKinds lists the kinds of fault in report order.
func FaultKinds() []string {
	return []string{FaultThrottled, FaultServerError, FaultTimeout, FaultLostResponse, FaultLambdaTimeout, FaultDuplicate, FaultLate, FaultEgressLost}
}

// What became of the event a fault hit, in FaultEvent.Outcome.
const (
	// Absorbed: the invocation the fault hit succeeded all the same (the
	// handler tolerated it: an observation it waits on, a best-effort
	// action, a duplicate its claims dropped).
	Absorbed = "absorbed"
	// Recovered: the invocation failed and a retry of its event succeeded.
	Recovered = "recovered"
	// DeadLettered: the event's retries ran out (Result.DeadLetters).
	DeadLettered = "dead-lettered"
	// Pending: a retry was still due when the run ended.
	Pending = "pending"
)

// FaultEvent is a fault the chaos injected.
type FaultEvent struct {
	At       time.Time
	Function string
	// Kind is one of FaultKinds; Call names the API call it hit ("Auto
	// Scaling SetDesiredCapacity") or the event delivered.
	Kind, Call string
	// Outcome is Absorbed, Recovered, DeadLettered or Pending.
	Outcome string
}

// chaosBegin draws whether inv runs out of time, and during which call,
// and whether it runs where the way out of the VPC is lost. Each draw is
// made only when its rate is set, so that chaos without it draws what it
// drew before.
func (s *sim) chaosBegin(inv *handlerRun) {
	c := s.sc.Chaos
	if c == nil {
		return
	}
	if c.LambdaTimeout > 0 && s.chaosRNG.Float64() < c.LambdaTimeout {
		inv.timeoutAt = 1 + s.chaosRNG.IntN(c.LambdaTimeoutCalls)
	}
	if c.EgressLoss > 0 && inv.fn.VPC {
		inv.egressLost = s.chaosRNG.Float64() < c.EgressLoss
	}
}

// recordFault records a fault of kind, injected into call (an API call or
// the delivery of an event to fn), and returns its index in Result.Faults.
func (s *sim) recordFault(fn *lambda, kind, call string) int {
	s.res.Faults = append(s.res.Faults, FaultEvent{At: s.Now(), Function: fn.Name, Kind: kind, Call: call, Outcome: Pending})
	s.faultFailed = append(s.faultFailed, false)
	return len(s.res.Faults) - 1
}

// invocationFault records a fault injected into a call of inv.
func (s *sim) invocationFault(inv *handlerRun, kind, call string) {
	i := s.recordFault(inv.fn, kind, call)
	inv.faults = append(inv.faults, i)
	inv.d.faults = append(inv.d.faults, i)
}

// markFailed notes that the faults of inv hit an invocation that failed.
func (s *sim) markFailed(inv *handlerRun) {
	for _, i := range inv.faults {
		s.faultFailed[i] = true
	}
}

// settle resolves the faults of d, which ended with outcome: Recovered
// when an invocation succeeded (faults of the invocations that failed
// before it were recovered by retry, the rest absorbed), DeadLettered or
// Pending.
func (s *sim) settle(d *delivery, outcome string) {
	for _, i := range d.faults {
		o := outcome
		if o == Recovered && !s.faultFailed[i] {
			o = Absorbed
		}
		s.res.Faults[i].Outcome = o
	}
	d.faults = nil
}

// call runs fn, a call of a handler to the simulated AWS API service's op
// (write: it changes something), as the chaos lets it: it fails as the
// SDK fails when the invocation's context has ended, and may meet the
// invocation's timeout or an injected fault. Outside a simulation (s nil:
// the ports serve a single invocation, InvokeRollout) it just runs fn.
func (s *sim) call(ctx context.Context, service, op string, write bool, fn func() error) error {
	if s == nil {
		return fn()
	}
	if err := ctx.Err(); err != nil {
		// The SDK sends nothing on a context that has ended.
		return opError(service, op, err)
	}
	c, inv := s.sc.Chaos, s.inv
	if c == nil || inv == nil {
		return fn()
	}
	inv.calls++
	if inv.calls == inv.timeoutAt {
		// The deadline comes while this call is in flight: the request
		// may have reached AWS.
		landed := write && s.chaosRNG.Float64() < 0.5
		inv.ctx.expire(context.DeadlineExceeded)
		if ctx.Err() != nil {
			s.invocationFault(inv, FaultLambdaTimeout, service+" "+op)
			if landed {
				_ = fn()
			}
			return opError(service, op, ctx.Err())
		}
		// A call on a context of its own, in the headroom the handler
		// keeps before its deadline: it goes through.
	}
	if inv.egressLost && !c.reaches(service, op) {
		return s.blackholed(ctx, inv, service, op)
	}
	if len(c.Calls) > 0 && !slices.Contains(c.Calls, service+" "+op) {
		return fn()
	}
	kind, u := "", s.chaosRNG.Float64()
	switch {
	case u < c.Throttle:
		kind = FaultThrottled
	case u < c.Throttle+c.ServerError:
		kind = FaultServerError
	case u < c.Throttle+c.ServerError+c.Timeout:
		kind = FaultTimeout
	case u < c.Throttle+c.ServerError+c.Timeout+c.LostResponse:
		kind = FaultLostResponse
	default:
		return fn()
	}
	if service == svcProbe {
		// A probe of the instance itself fails by timing out, whatever
		// the draw: nothing else answers it.
		kind = FaultTimeout
	}
	s.invocationFault(inv, kind, service+" "+op)
	switch kind {
	case FaultThrottled:
		return opError(service, op, responseError(400, throttled(service)))
	case FaultServerError:
		return opError(service, op, responseError(500, serverError(service)))
	case FaultTimeout:
		if write && s.chaosRNG.Float64() < 0.5 {
			_ = fn()
		}
		return opError(service, op, &smithyhttp.RequestSendError{Err: &net.OpError{Op: "read", Net: "tcp", Err: os.ErrDeadlineExceeded}})
	}
	// A lost response: the call did what it was asked.
	if err := fn(); err != nil {
		return err
	}
	return opError(service, op, &smithyhttp.RequestSendError{Err: &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}})
}

// callValue is call for an API call that returns a value.
func callValue[T any](s *sim, ctx context.Context, service, op string, write bool, fn func() (T, error)) (T, error) {
	var out T
	err := s.call(ctx, service, op, write, func() error {
		var err error
		out, err = fn()
		return err
	})
	if err != nil {
		var zero T
		return zero, err
	}
	return out, nil
}

// AWS services as the SDK names them in its errors.
const (
	svcAutoScaling = "Auto Scaling"
	svcCloudWatch  = "CloudWatch"
	svcDynamoDB    = "DynamoDB"
	svcEC2         = "EC2"
	svcELB         = "Elastic Load Balancing v2"
	svcImage       = "imagebuilder"
	// svcProbe is the lifecycle handler's readiness probe of an
	// instance (its application's HTTP port, EC2 status, SSM).
	svcProbe = "probe"
	svcSQS   = "SQS"
	svcSSM   = "SSM"
)

// opError is err as the SDK returns it from an operation.
func opError(service, op string, err error) error {
	return &smithy.OperationError{ServiceID: service, OperationName: op, Err: err}
}

// responseError is an error response with an HTTP status, as the SDK
// wraps it.
func responseError(status int, err error) error {
	return &awshttp.ResponseError{
		ResponseError: &smithyhttp.ResponseError{Response: &smithyhttp.Response{Response: &http.Response{StatusCode: status}}, Err: err},
		RequestID:     "00000000-0000-4000-8000-000000000000",
	}
}

// throttled is the error each service throttles with; every code is one
// shared/awserr classifies as throttling.
func throttled(service string) error {
	code := "Throttling" // the Query protocols: Auto Scaling, ELBv2, CloudWatch
	switch service {
	case svcEC2:
		code = "RequestLimitExceeded"
	case svcDynamoDB, svcSSM, svcSQS, svcImage:
		code = "ThrottlingException"
	}
	return &smithy.GenericAPIError{Code: code, Message: "Rate exceeded", Fault: smithy.FaultClient}
}

// serverError is the error each service answers a 500 with.
func serverError(service string) error {
	code := "InternalFailure"
	switch service {
	case svcEC2:
		code = "InternalError"
	case svcDynamoDB, svcSSM, svcImage:
		code = "InternalServerError"
	}
	return &smithy.GenericAPIError{Code: code, Message: "We encountered an internal error. Please try again.", Fault: smithy.FaultServer}
}

// deliveryFaults draws a delivery's own faults: how much later than the
// bus's delay it arrives (EventBridge's only), and whether (and how much
// later again) it arrives a second time.
func (s *sim) deliveryFaults(queued bool) (late time.Duration, dup bool, again time.Duration) {
	c := s.sc.Chaos
	if c == nil {
		return 0, false, 0
	}
	if s.deliveryRNG.Float64() < c.Late && !queued {
		late = time.Duration(s.deliveryRNG.Float64() * float64(c.LateDelay))
	}
	if s.deliveryRNG.Float64() < c.Duplicate {
		dup, again = true, time.Duration(s.deliveryRNG.Float64()*float64(c.DuplicateDelay))
	}
	return late, dup, again
}
