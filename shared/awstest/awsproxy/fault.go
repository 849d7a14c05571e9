package awsproxy

import (
	"fmt"
	"math"
	"net/http"
	"time"
)

// Call selects the calls a fault hits. Service and Operation match exactly;
// "" matches any. Calls are counted per Fail, from when it was scripted,
// among the calls that match it; every attempt of a retried call counts.
type Call struct {
	Service   string // signing name, e.g. AutoScaling
	Operation string // e.g. "UpdateAutoScalingGroup"
	// Nth is the first matching call hit, counting from 1; 0 hits every
	// matching call.
	Nth int
	// Until, with Nth, is the last call hit: calls Nth..Until. 0 hits the
	// Nth alone; Forever hits every call from the Nth on.
	Until int
}

// Forever as Call.Until hits every call from the Nth on.
const Forever = math.MaxInt

func (c Call) String() string {
	s := c.Service + " " + c.Operation
	switch {
	case c.Nth == 0:
		return s + " (every call)"
	case c.Until == 0:
		return fmt.Sprintf("%s (call %d)", s, c.Nth)
	case c.Until == Forever:
		return fmt.Sprintf("%s (calls %d on)", s, c.Nth)
	}
	return fmt.Sprintf("%s (calls %d to %d)", s, c.Nth, c.Until)
}

// Fault is what happens to a call Fail selects.
type Fault struct {
	kind    faultKind
	status  int
	code    string
	message string
	delay   time.Duration
}

type faultKind int

const (
	kindThrottle faultKind = iota + 1
	kindServerError
	kindError
	kindReset
	kindTimeout
	kindDelay
	kindDrop
)

// The faults. Errors come in the protocol's own error shape, so the SDK
// classifies them as AWS would have it: its retryer retries a throttle
// (retry.DefaultThrottleErrorCodes) and a 5xx, and counts a throttle against
// its retry quota.
var (
	// Throttle answers with the service's throttling error, unsent to the
	// emulator: "Throttling" (400) on Query and CBOR services,
	// "RequestLimitExceeded" (503) on EC2, "ThrottlingException" (400) on
	// DynamoDB and SSM, "RequestThrottled" (400) on SQS.
	Throttle = Fault{kind: kindThrottle, message: "Rate exceeded"}
	// ServerError answers HTTP 500 with the service's internal error code,
	// unsent to the emulator.
	ServerError = Fault{kind: kindServerError, message: "We encountered an internal error. Please try again."}
	// Reset closes the connection with a TCP reset before the call reaches
	// the emulator.
	Reset = Fault{kind: kindReset}
	// Timeout holds the call, unanswered and unsent, until the client gives
	// up (its deadline or HTTP timeout closes the connection).
	Timeout = Fault{kind: kindTimeout}
	// DropResponse sends the call to the emulator, so that it takes effect,
	// and then resets the connection instead of answering: the caller thinks
	// it failed.
	DropResponse = Fault{kind: kindDrop}
)

// Delay holds the call for d and then serves it.
func Delay(d time.Duration) Fault { return Fault{kind: kindDelay, delay: d} }

// Error answers with an AWS error of this HTTP status, code and message in
// the protocol's error shape, e.g. Error(400, "ScalingActivityInProgress",
// "…"); the call does not reach the emulator.
func Error(status int, code, message string) Fault {
	return Fault{kind: kindError, status: status, code: code, message: message}
}

func (f Fault) String() string {
	switch f.kind {
	case kindThrottle:
		return "throttle"
	case kindServerError:
		return "server error"
	case kindError:
		return fmt.Sprintf("error %d %s", f.status, f.code)
	case kindReset:
		return "reset"
	case kindTimeout:
		return "timeout"
	case kindDelay:
		return "delay " + f.delay.String()
	case kindDrop:
		return "drop response"
	}
	return "none"
}

// shape returns the status and code of a throttle or server error as req's
// service sends them.
func (f Fault) shape(req *request) (int, string) {
	e, ok := serviceErrors[req.service]
	if !ok {
		e = protocolErrors[req.proto]
	}
	if f.kind == kindThrottle {
		return e.throttleStatus, e.throttleCode
	}
	return http.StatusInternalServerError, e.internalCode
}

type errorCodes struct {
	throttleStatus int
	throttleCode   string
	internalCode   string
}

// serviceErrors are the throttling and internal error codes each service
// documents (its API reference's "Common Errors" and error types).
var serviceErrors = map[string]errorCodes{
	EC2:      {http.StatusServiceUnavailable, "RequestLimitExceeded", "InternalError"},
	DynamoDB: {http.StatusBadRequest, "ThrottlingException", "InternalServerError"},
	SSM:      {http.StatusBadRequest, "ThrottlingException", "InternalServerError"},
	SQS:      {http.StatusBadRequest, "RequestThrottled", "InternalFailure"},
}

// protocolErrors are the common codes for services not listed above.
var protocolErrors = map[protocol]errorCodes{
	protoQuery:    {http.StatusBadRequest, "Throttling", "InternalFailure"},
	protoEC2Query: {http.StatusServiceUnavailable, "RequestLimitExceeded", "InternalError"},
	protoJSON10:   {http.StatusBadRequest, "ThrottlingException", "InternalFailure"},
	protoJSON11:   {http.StatusBadRequest, "ThrottlingException", "InternalFailure"},
	protoCBOR:     {http.StatusBadRequest, "Throttling", "InternalFailure"},
	protoREST:     {http.StatusTooManyRequests, "TooManyRequestsException", "InternalFailure"},
}

type rule struct {
	call  Call
	fault Fault
	seen  int
}

// Fail scripts fault for the calls c selects. Scripts stack: each counts
// its own matching calls, and a call gets the fault of the first script,
// in the order they were made, that hits it.
func (p *Proxy) Fail(c Call, f Fault) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rules = append(p.rules, &rule{call: c, fault: f})
}

// Clear removes every script; calls pass unharmed from then on.
func (p *Proxy) Clear() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rules = nil
}

// fault counts the call against every script it matches and returns the
// fault of the first that hits it.
func (p *Proxy) fault(service, operation string) (Fault, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var hit *Fault
	for _, r := range p.rules {
		if r.call.Service != "" && r.call.Service != service || r.call.Operation != "" && r.call.Operation != operation {
			continue
		}
		r.seen++
		if hit == nil && r.hits() {
			hit = &r.fault
		}
	}
	if hit == nil {
		return Fault{}, false
	}
	return *hit, true
}

func (r *rule) hits() bool {
	c := r.call
	switch {
	case c.Nth == 0:
		return true
	case c.Until == 0:
		return r.seen == c.Nth
	}
	return r.seen >= c.Nth && r.seen <= c.Until
}
