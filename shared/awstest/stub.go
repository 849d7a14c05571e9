package awstest

import (
	"context"
	"fmt"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/smithy-go/document"
	"github.com/aws/smithy-go/middleware"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// Stub answers SDK calls in-process. Added to a client's APIOptions, it ends
// every call at the Initialize step, after the SDK's input validation and
// before serialization: it records the operation's input and returns the
// canned answer for that operation. Tests use it to check the exact request
// an adapter builds, mainly for calls the emulator does not implement.
type Stub struct {
	mu      sync.Mutex
	answers map[string]any
	calls   []Call
}

// Call is one recorded operation.
type Call struct {
	Operation string // e.g. "CompleteLifecycleAction"
	Input     any    // the *<Operation>Input the adapter passed
}

// NewStub returns a Stub with no answers.
func NewStub() *Stub {
	return &Stub{answers: map[string]any{}}
}

// On sets the answer to operation: the SDK output pointer the client expects
// (*autoscaling.CompleteLifecycleActionOutput, …), an error, or a
// func(input any) (any, error) computing either per call (for paging). Calls
// to an operation with no answer fail.
func (s *Stub) On(operation string, answer any) *Stub {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.answers[operation] = answer
	return s
}

// Calls returns the operations called so far, in order.
func (s *Stub) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.calls...)
}

// Config returns an aws.Config whose clients send every call to the stub.
func (s *Stub) Config() aws.Config {
	cfg := ConfigFor("http://stub.invalid")
	cfg.APIOptions = append(cfg.APIOptions, s.addTo)
	return cfg
}

func (s *Stub) addTo(stack *middleware.Stack) error {
	return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("awstest.Stub", s.handle), middleware.After)
}

func (s *Stub) handle(ctx context.Context, in middleware.InitializeInput, _ middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
	op := awsmiddleware.GetOperationName(ctx)
	s.mu.Lock()
	s.calls = append(s.calls, Call{Operation: op, Input: in.Parameters})
	answer, ok := s.answers[op]
	s.mu.Unlock()
	if !ok {
		return middleware.InitializeOutput{}, middleware.Metadata{}, fmt.Errorf("awstest.Stub: no answer for %s", op)
	}
	if f, isFunc := answer.(func(any) (any, error)); isFunc {
		out, err := f(in.Parameters)
		return middleware.InitializeOutput{Result: out}, middleware.Metadata{}, err
	}
	if err, isErr := answer.(error); isErr {
		return middleware.InitializeOutput{}, middleware.Metadata{}, err
	}
	return middleware.InitializeOutput{Result: answer}, middleware.Metadata{}, nil
}

// Diff is cmp.Diff for SDK inputs and outputs: it ignores the SDK's
// unexported serialization marker, which cmp cannot compare, and applies opts.
func Diff(want, got any, opts ...cmp.Option) string {
	return cmp.Diff(want, got, append(opts, cmpopts.IgnoreTypes(document.NoSerde{}))...)
}
