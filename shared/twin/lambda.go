package twin

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"
)

// Names of the toolkit's Lambda functions, as the CDK app names them.
const (
	ScalerFunction    = "scaler"
	LifecycleFunction = "lifecycle"
	RolloutFunction   = "rollout"
)

// Function is one of the toolkit's Lambda functions as the CDK app deploys
// it (infra/stamp/handlers.go): how long an invocation may run, how Lambda
// retries an event EventBridge invoked it with, and its wake-up queue.
// The twin invokes and retries the real handlers accordingly; infra's
// tests check the list against the synthesized template.
type Function struct {
	Name    string
	Timeout time.Duration
	// Retries and MaxEventAge are its asynchronous invocation
	// configuration (MaximumRetryAttempts, MaximumEventAgeInSeconds):
	// an event whose invocation failed is retried this many times, unless
	// it is older than MaxEventAge by then, and then goes to the
	// function's on-failure destination.
	Retries     int
	MaxEventAge time.Duration
	// Visibility and MaxReceives are its wake-up queue's visibility
	// timeout and redrive policy (maxReceiveCount); zero Visibility: the
	// function has no wake-up queue.
	Visibility  time.Duration
	MaxReceives int
	// VPC is set for a function that runs in the VPC's private subnets:
	// its calls to AWS leave through the VPC's routes (Chaos.EgressLoss).
	VPC bool
}

// Functions lists the toolkit's functions as deployed.
func Functions() []Function {
	return []Function{
		{Name: ScalerFunction, Timeout: 30 * time.Second, Retries: 2, MaxEventAge: 10 * time.Minute},
		// In the VPC: its HTTP probes reach the instances' private
		// addresses.
		{Name: LifecycleFunction, Timeout: 20 * time.Second, Retries: 2, MaxEventAge: 30 * time.Minute,
			Visibility: 30 * time.Second, MaxReceives: 5, VPC: true},
		{Name: RolloutFunction, Timeout: time.Minute, Retries: 2, MaxEventAge: 6 * time.Hour,
			Visibility: 6 * time.Minute, MaxReceives: 5},
	}
}

// asyncRetryDelays are the waits before Lambda's retries of an event whose
// asynchronous invocation failed: "If the function returns an error, by
// default Lambda attempts to run it two more times, with a one-minute wait
// between the first two attempts, and two minutes between the second and
// third attempts. Function errors include errors returned by the
// function's code and errors returned by the function's runtime, such as
// timeouts." ("How Lambda handles errors and retries with asynchronous
// invocation", https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html).
// MaximumRetryAttempts is at most 2. EventBridge's own retry policy (24
// hours, 185 attempts by default: "How EventBridge retries delivering
// events",
// https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-retry-policy.html)
// is for a target it could not deliver to; Lambda accepts an
// asynchronous invocation at once, so a function's errors are retried by
// Lambda, as here.
var asyncRetryDelays = [...]time.Duration{time.Minute, 2 * time.Minute}

// Where a function's events end when their retries run out.
const (
	// OnFailureDestination is the SQS queue the CDK app makes each
	// function's asynchronous on-failure destination.
	OnFailureDestination = "on-failure destination"
	// WakeDeadLetterQueue is the wake-up queue's dead-letter queue.
	WakeDeadLetterQueue = "wake-up dead-letter queue"
)

// FunctionStats counts what one function's invocations did in a run.
type FunctionStats struct {
	Name string
	// Deliveries counts the events delivered to it: each first delivery
	// and each duplicate, whatever became of it.
	Deliveries int
	// Invocations counts every run of the handler: deliveries and their
	// retries.
	Invocations int
	// Failed counts the invocations that failed: the handler returned an
	// error, or ran out of time.
	Failed int
	// Recovered counts the deliveries that failed at least once and then
	// succeeded on a retry; DeadLettered those whose retries ran out (see
	// Result.DeadLetters); Pending those still waiting for a retry when
	// the run ended.
	Recovered, DeadLettered, Pending int
}

// DeadLetter is an event a function gave up on.
type DeadLetter struct {
	// At is when it reached Queue.
	At       time.Time
	Function string
	// Queue is OnFailureDestination or WakeDeadLetterQueue.
	Queue               string
	EventID, DetailType string
	// Attempts counts the invocations that failed on it.
	Attempts int
	// Reason says why no retry followed; Error is the last invocation's.
	Reason, Error string
	// Key names what the event was about, where it says: a lifecycle
	// action's token, or a wake-up's key.
	Key string
}

// lambda is a deployed function in a run: its handler and its counts.
type lambda struct {
	Function
	handle func(context.Context, []byte) error
	stats  FunctionStats
}

// newLambda deploys the function name with handle.
func (s *sim) newLambda(name string, handle func(context.Context, []byte) error) *lambda {
	for _, f := range Functions() {
		if f.Name == name {
			l := &lambda{Function: f, handle: handle, stats: FunctionStats{Name: name}}
			s.lambdas = append(s.lambdas, l)
			return l
		}
	}
	panic("twin: no function " + name)
}

// delivery is one event on its way to a function: a delivery EventBridge
// makes (or one of its duplicates), or a wake-up the queue delivers, with
// the retries of its failed invocations.
type delivery struct {
	fn  *lambda
	raw []byte
	// queued: the event is a wake-up from the function's queue, retried
	// after the queue's visibility timeout; otherwise EventBridge invoked
	// the function asynchronously and Lambda retries it.
	queued bool
	// received is when the event first reached Lambda or the queue's
	// poller: its age counts from there.
	received time.Duration
	attempts int
	// faults are the indices in Result.Faults of the faults injected into
	// its invocations, resolved once it is done.
	faults []int
	// open is set while a retry is scheduled; key names what the event
	// is about (as DeadLetter.Key), once it has failed.
	open bool
	key  string
}

// deliver hands raw to fn: a delivery EventBridge makes, or (queued) a
// wake-up from its queue. faults are the delivery's own faults (a
// duplicate, a late delivery).
func (s *sim) deliver(ctx context.Context, fn *lambda, raw []byte, queued bool, faults ...int) {
	fn.stats.Deliveries++
	d := &delivery{fn: fn, raw: raw, queued: queued, received: s.now, faults: faults}
	s.invoke(ctx, d)
}

// invoke runs d's handler once, as a Lambda invocation, and arranges what
// AWS does when it fails: Lambda's retries of an asynchronous invocation,
// or the queue's redelivery after its visibility timeout, and the
// dead-letter queue once they run out.
func (s *sim) invoke(ctx context.Context, d *delivery) {
	fn := d.fn
	d.attempts++
	fn.stats.Invocations++
	lctx, inv := s.begin(ctx, d)
	err := fn.handle(lctx, d.raw)
	s.end(inv)
	if err == nil {
		if d.attempts > 1 {
			fn.stats.Recovered++
		}
		s.settle(d, Recovered)
		return
	}
	fn.stats.Failed++
	s.res.HandlerErrors = append(s.res.HandlerErrors, fmt.Sprintf("%s: %s: %v", s.Now().UTC().Format(time.RFC3339), fn.Name, err))
	s.markFailed(inv)
	next, reason := s.retryAt(d)
	if reason != "" {
		s.at(next, prioBus, func(context.Context) { s.deadLetter(d, reason, err) })
		return
	}
	d.open = true
	if d.key == "" {
		env := envelopeOf(d.raw)
		d.key = env.Detail.Token + env.Detail.Key
	}
	s.open = append(s.open, d)
	s.at(next, prioBus, func(ctx context.Context) {
		d.open = false
		s.invoke(ctx, d)
	})
}

// retryAt returns when d is tried again or, with a reason, when it goes
// to its dead-letter queue instead.
func (s *sim) retryAt(d *delivery) (time.Duration, string) {
	fn := d.fn
	if d.queued {
		// The failed invocation leaves the message in the queue; it is
		// received again once its visibility timeout has passed, and
		// moved to the dead-letter queue when its receive count exceeds
		// maxReceiveCount (the queue's redrive policy: "Using dead-letter
		// queues in Amazon SQS",
		// https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-dead-letter-queues.html;
		// "By default, if Lambda encounters an error at any point while
		// processing a batch, all messages in that batch return to the
		// queue. After the visibility timeout, the messages become
		// visible to Lambda again": "Creating and configuring an Amazon
		// SQS event source mapping",
		// https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html).
		// The CDK app's event source takes one message per invocation.
		next := s.now + fn.Visibility
		if d.attempts >= fn.MaxReceives {
			return next, fmt.Sprintf("received %d times, the queue's maxReceiveCount", d.attempts)
		}
		return next, ""
	}
	if d.attempts > fn.Retries || d.attempts > len(asyncRetryDelays) {
		return s.now, fmt.Sprintf("retried %d times, the function's MaximumRetryAttempts", fn.Retries)
	}
	next := s.now + asyncRetryDelays[d.attempts-1]
	if next-d.received > fn.MaxEventAge {
		// "When an event expires or all processing attempts fail, Lambda
		// discards it" to the destination (same page).
		return s.now, fmt.Sprintf("older than the function's MaximumEventAge %v by its next retry", fn.MaxEventAge)
	}
	return next, ""
}

// deadLetter puts d in its function's dead-letter queue.
func (s *sim) deadLetter(d *delivery, reason string, err error) {
	fn := d.fn
	fn.stats.DeadLettered++
	env := envelopeOf(d.raw)
	queue := OnFailureDestination
	if d.queued {
		queue = WakeDeadLetterQueue
	}
	s.res.DeadLetters = append(s.res.DeadLetters, DeadLetter{
		At: s.Now(), Function: fn.Name, Queue: queue, EventID: env.ID, DetailType: env.DetailType,
		Attempts: d.attempts, Reason: reason, Error: err.Error(), Key: env.Detail.Token + env.Detail.Key,
	})
	s.settle(d, DeadLettered)
}

// finishDeliveries counts the deliveries still waiting for a retry when
// the run ends, and copies every function's counts into the result.
func (s *sim) finishDeliveries() {
	for _, d := range s.open {
		if d.open {
			d.fn.stats.Pending++
			s.settle(d, Pending)
		}
	}
	for _, l := range s.lambdas {
		s.res.Functions = append(s.res.Functions, l.stats)
	}
}

// handlerRun is an invocation in progress: the twin runs one at a
// time.
type handlerRun struct {
	d   *delivery
	ctx *lambdaContext
	fn  *lambda
	// calls counts the calls the handler made through the chaos ports;
	// timeoutAt, when set, is the call during which its time runs out.
	calls, timeoutAt int
	// egressLost is set when the invocation runs where the way out of the
	// VPC is lost (Chaos.EgressLoss).
	egressLost bool
	// faults are the indices in Result.Faults of the faults injected in
	// this invocation.
	faults []int
	// claim is the newest effect the invocation claimed: what a capacity
	// change it makes is attributed to; changes are the stampkit
	// scaler's capacity changes it made.
	claim   string
	changes []ScalingEvent
}

// begin starts an invocation of d: its context carries the function's
// deadline, in wall-clock time as the SDK and the invocation package read
// it (virtual time does not move while a handler runs, so the whole
// timeout lies ahead of every call).
func (s *sim) begin(ctx context.Context, d *delivery) (context.Context, *handlerRun) {
	lctx := newLambdaContext(ctx, time.Now().Add(d.fn.Timeout))
	inv := &handlerRun{d: d, ctx: lctx, fn: d.fn}
	s.chaosBegin(inv)
	s.inv = inv
	return lctx, inv
}

func (s *sim) end(inv *handlerRun) {
	s.inv = nil
	s.checkRecorded(inv)
	inv.ctx.expire(context.Canceled) // as Lambda's runtime does once the handler returns
}

// lambdaContext is an invocation's context. Its deadline is real time,
// as Lambda's is; the chaos ends it early (expire) to model an invocation
// that runs out of time part-way: its calls then fail with
// context.DeadlineExceeded, as the SDK's do, while calls on a context of
// their own (a claim released in the headroom invocation.Each keeps)
// still go through.
type lambdaContext struct {
	parent   context.Context
	deadline time.Time
	done     chan struct{}

	mu    sync.Mutex
	err   error
	after []*func()
}

var _ context.Context = (*lambdaContext)(nil)

func newLambdaContext(parent context.Context, deadline time.Time) *lambdaContext {
	return &lambdaContext{parent: parent, deadline: deadline, done: make(chan struct{})}
}

func (c *lambdaContext) Deadline() (time.Time, bool) { return c.deadline, true }
func (c *lambdaContext) Done() <-chan struct{}       { return c.done }
func (c *lambdaContext) Value(key any) any           { return c.parent.Value(key) }

func (c *lambdaContext) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// AfterFunc lets the contexts derived from c (invocation.Each's, with its
// headroom) end with it, at once: context.WithDeadline registers here
// rather than start a goroutine, so a derived context has ended by the
// time the handler's next call looks.
func (c *lambdaContext) AfterFunc(f func()) (stop func() bool) {
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		f()
		return func() bool { return false }
	}
	key := &f
	c.after = append(c.after, key)
	c.mu.Unlock()
	return func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		for i, k := range c.after {
			if k == key {
				c.after = append(c.after[:i], c.after[i+1:]...)
				return true
			}
		}
		return false
	}
}

// expire ends c with err, then what derived contexts registered.
func (c *lambdaContext) expire(err error) {
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		return
	}
	c.err = err
	close(c.done)
	fs := c.after
	c.after = nil
	c.mu.Unlock()
	for _, f := range fs {
		(*f)()
	}
}

// envelopeOf reads an event's id and detail-type, for the records of its
// faults and dead letters; a malformed event gives empty ones.
func envelopeOf(raw []byte) (env struct {
	ID         string `json:"id"`
	DetailType string `json:"detail-type"`
	Detail     struct {
		Token string `json:"LifecycleActionToken"`
		Key   string `json:"key"`
	} `json:"detail"`
}) {
	_ = json.Unmarshal(raw, &env)
	return env
}
