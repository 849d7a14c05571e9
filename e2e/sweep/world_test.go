package sweep_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	dbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/stampkit/stampkit/shared/asg"
	"github.com/stampkit/stampkit/shared/awsclient/lambdaenv"
	"github.com/stampkit/stampkit/shared/awstest"
	"github.com/stampkit/stampkit/shared/awstest/awsproxy"
	"github.com/stampkit/stampkit/shared/clock"
	"github.com/stampkit/stampkit/shared/config"
	"github.com/stampkit/stampkit/shared/cwalarm"
	"github.com/stampkit/stampkit/shared/dynamo"
	"github.com/stampkit/stampkit/shared/ec2instance"
	"github.com/stampkit/stampkit/shared/elb"
	"github.com/stampkit/stampkit/shared/hooks"
	ib "github.com/stampkit/stampkit/shared/imagebuilder"
	"github.com/stampkit/stampkit/shared/invocation"
	"github.com/stampkit/stampkit/shared/launchtemplate"
	"github.com/stampkit/stampkit/shared/logging"
	"github.com/stampkit/stampkit/shared/probe"
	"github.com/stampkit/stampkit/shared/scaler"
	"github.com/stampkit/stampkit/shared/sqsqueue"
	"github.com/stampkit/stampkit/shared/ssmcommand"
	"github.com/stampkit/stampkit/shared/ssmparam"
	"github.com/stampkit/stampkit/shared/stamper"
)

// The functions as the CDK app deploys them (infra/stamp/handlers.go): Lambda
// timeouts, the wake queues' visibility timeouts and redrive, Lambda's
// async retries. The timeouts are cut (lambdaTimeout), so that a call held
// until the invocation's deadline (the Timeout fault) costs seconds, not
// minutes; every other time is AWS's, on the manual clock.
var (
	scalerTimeout    = lambdaTimeout(30 * time.Second)
	lifecycleTimeout = lambdaTimeout(20 * time.Second)
	rolloutTimeout   = lambdaTimeout(60 * time.Second)
)

// lambdaTimeout is a function's timeout in the sweep: a tenth of AWS's, but
// long enough that the handler's own deadline still comes
// invocation.Headroom before it (invocation.Each moves it only when twice
// the headroom is left), so that what a handler does after its work ran out
// of time (releasing claims and leases, keeping a claim) gets the time it
// gets in AWS before Lambda ends the invocation.
func lambdaTimeout(aws time.Duration) time.Duration {
	return max(aws/10, 2*invocation.Headroom+500*time.Millisecond)
}

const (
	// LifecycleWakeVisibility and six times the rollout timeout.
	lifecycleVisibility = 30 * time.Second
	rolloutVisibility   = 360 * time.Second
	// maxReceives is the wake queues' maxReceiveCount (stamp.WakeMaxReceives).
	maxReceives = 5
	// asyncAttempts is one delivery and Lambda's two async retries
	// (retryAttempts 2), about a minute and two minutes apart.
	asyncAttempts = 3
)

// asyncRetryDelay is when Lambda retries an async invocation that failed:
// about a minute after the first attempt, two after the second.
func asyncRetryDelay(attempt int) time.Duration { return time.Duration(attempt) * time.Minute }

// Bounds that make "nothing waits forever" a check: a scenario whose
// deliveries go on past them waits forever.
const (
	maxDeliveries = 300
	maxVirtual    = 12 * time.Hour
)

const (
	table      = "stampkit-state"
	fleetName  = "web"
	imageParam = "/stampkit/web/ami"
)

// world is one run of a scenario: the estate in moto, the three functions
// over the real adapters on the proxy's aws.Config, and the delivery of
// their events on a manual clock.
type world struct {
	t    testing.TB
	cfg  aws.Config // the functions': through the proxy, production retryer
	moto aws.Config // the driver's own reads and set-up, past the proxy
	// cloudWatch is the set-up's CloudWatch: moto does not speak the
	// client's protocol, the proxy translates it (awstest/GAPS.md).
	cloudWatch aws.Config
	// firstCall is the index of the scenario's first call in the proxy's
	// record; the set-up's CloudWatch calls come before it.
	firstCall int
	proxy     *awsproxy.Proxy
	clock     *clock.Manual
	start     time.Time
	fleet     awstest.Fleet
	// out is the functions' stdout: their JSON log lines and EMF records,
	// written by one invocation at a time.
	out    *bytes.Buffer
	gate   *gate
	config config.Config
	queues map[string]string // function → its wake queue's URL

	pending []*delivery
	seq     int
	// drivers move the proxy's models and play the operator before each
	// delivery, on the clock.
	drivers     []func(*world)
	invocations []invoked
	dead        []*delivery // the sweep's dead-letter queues
	overrun     string      // why the run did not end by itself

	// What the end state looks at beyond the fleet: other groups, the
	// pended lifecycle actions' tokens, and before a rollout the state it
	// must restore when aborted.
	groups   []string
	tokens   []string
	newImage string
	before   endState
}

// function is one Lambda function: its handler as main.go builds it.
type function struct {
	handle  func(context.Context, json.RawMessage) error
	timeout time.Duration
	// queue and visibility are its wake queue's, when it has one.
	queue      string
	visibility time.Duration
}

// via says how a delivery reaches its function.
type via int

const (
	viaAsync via = iota // EventBridge → Lambda async invoke
	viaWake             // the function's SQS wake queue, batch size 1
)

// delivery is one event on its way to a function.
type delivery struct {
	fn    string
	via   via
	body  []byte // the EventBridge event; for viaWake the message body
	due   time.Time
	tries int // attempts made so far (async), or receives (SQS)
	seq   int
	id    string // SQS message id
	what  string
}

// invoked is one invocation of a function and what it left.
type invoked struct {
	d        *delivery
	at       time.Time
	err      error
	took     time.Duration
	timedOut bool
	// errorLines and effectsFailed count the ERROR log lines and the
	// EffectsFailed metric records it wrote.
	errorLines    int
	effectsFailed int
}

func (d *delivery) String() string {
	kind := "event"
	if d.via == viaWake {
		kind = "wake-up"
	}
	return fmt.Sprintf("%s %s %s (try %d)", d.fn, kind, d.what, d.tries)
}

// newWorld resets the emulator, puts a fresh proxy in front of it and makes
// the estate every scenario shares: the fleet, the state table, the wake
// queues.
func newWorld(t testing.TB, emu *awstest.Emulator) *world {
	t.Helper()
	cfg := emu.Fresh(t)
	w := &world{t: t, moto: emu.MotoConfig(t), cloudWatch: emu.Config(t), proxy: emu.Proxy(t), out: &bytes.Buffer{}}
	w.fleet = awstest.NewFleet(t, w.moto)
	w.table()
	cfg.Retryer = retryer
	w.gate = &gate{next: cfg.HTTPClient}
	cfg.HTTPClient = w.gate
	w.cfg = cfg
	w.clock = clock.NewManual(time.Now()) // begin sets it when the set-up is done
	w.proxy.SetClock(w.clock.Now)
	return w
}

// setUpTries bounds the set-ups of one run. moto now and then drops a
// connection after the call took effect, and the set-up client's retry of
// it then finds what it created (a table, a target group "already exists"):
// about one set-up in a thousand.
const setUpTries = 3

// setUp makes sc's world on an emulator of t's own, starting over on a
// fresh one when the set-up fails.
func setUp(t *testing.T, sc scenario) *world {
	t.Helper()
	emu := emulator(t)
	emu.MotoEndpoint(t) // skips here, on the test's goroutine, without moto
	var why string
	for range setUpTries {
		tb := &setUpTB{TB: t}
		var w *world
		done := make(chan struct{})
		go func() {
			defer close(done)
			w = newWorld(tb, emu)
			sc.set(w)
		}()
		<-done
		if tb.failed == "" {
			w.t = t
			return w
		}
		why = tb.failed
		t.Logf("set-up failed, starting over: %s", why)
	}
	t.Fatalf("set-up failed %d times: %s", setUpTries, why)
	return nil
}

// setUpTB is the test during a set-up: a fatal failure ends the set-up's
// goroutine and is kept, so that the set-up can start over.
type setUpTB struct {
	testing.TB
	failed string
}

func (s *setUpTB) Fatalf(format string, args ...any) {
	s.failed = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func (s *setUpTB) Fatal(args ...any) {
	s.failed = fmt.Sprint(args...)
	runtime.Goexit()
}

// build configures the three functions for fleet and makes their wake
// queues.
func (w *world) build(fleet config.Fleet) {
	w.config = config.Config{Table: table, Namespace: config.DefaultNamespace, Fleets: []config.Fleet{fleet}}
	if err := w.config.Validate(); err != nil {
		w.t.Fatalf("configuration: %v", err)
	}
	w.queues = map[string]string{"lifecycle": w.queue("stampkit-lifecycle-wake"), "rollout": w.queue("stampkit-rollout-wake")}
}

// retryer is the functions' production retryer,
// lambdaenv.Retryer(lambdaenv.DefaultMaxAttempts): adaptive mode, its
// attempts, retryable errors and retry quota, with its waits cut, because
// the sweep runs the functions' timeouts at 1/timeScale and moves every
// wait between deliveries on the manual clock. Its backoff is capped at a
// millisecond (retry.AddWithMaxBackoffDelay), and the client-side rate
// limiter's wait for a send token after throttling is left out
// (noSendWait): it sleeps in real time, up to 2 s an attempt at its
// minimum rate, and would end a scaled-down invocation that AWS's full
// timeout lets finish.
func retryer() aws.Retryer {
	r := lambdaenv.Retryer(lambdaenv.DefaultMaxAttempts)()
	return retry.AddWithMaxBackoffDelay(noSendWait{r.(aws.RetryerV2)}, time.Millisecond)
}

// noSendWait is a retryer whose attempts never wait for a send token.
type noSendWait struct{ aws.RetryerV2 }

func (noSendWait) GetAttemptToken(context.Context) (func(error) error, error) {
	return func(error) error { return nil }, nil
}

// function makes the function name as its main.go does, on the world's
// config and clock: every delivery runs in a fresh execution environment,
// as a retry minutes later may.
func (w *world) function(name string) *function {
	c, cfg, clk := w.config, w.cfg, w.clock
	log := logging.New(w.out, slog.LevelInfo)
	metrics := logging.NewMetrics(w.out, c.Namespace, clk.Now)
	store := func(opts ...dynamo.Option) *dynamo.Store {
		return dynamo.New(dynamodb.NewFromConfig(cfg), c.Table, append(opts, dynamo.WithClock(clk.Now))...)
	}
	switch name {
	case "scaler": // functions/scaler/main.go
		groups := autoscaling.NewFromConfig(cfg, asg.RetryScalingActivity)
		alarms := cwalarm.New(cloudwatch.NewFromConfig(cfg))
		h := &scaler.Handler{
			Config: c, Groups: asg.New(groups), Alarms: alarms, AlarmBatch: alarms,
			Store: store(), Clock: clk, Log: log, Metrics: metrics,
		}
		return &function{handle: h.Handle, timeout: scalerTimeout}
	case "lifecycle": // functions/lifecycle/main.go
		q := w.queues[name]
		groups := asg.New(autoscaling.NewFromConfig(cfg))
		h := &hooks.Handler{
			Config: c, Hooks: groups, Groups: groups,
			Targets:   elb.New(elbv2.NewFromConfig(cfg)),
			Prober:    probe.New(ec2instance.New(ec2.NewFromConfig(cfg)), ssmcommand.New(ssm.NewFromConfig(cfg)), nil),
			Scheduler: sqsqueue.New(&wakeQueue{w: w, fn: name, api: sqs.NewFromConfig(cfg)}, q, clk),
			Store:     store(dynamo.WithRecordTTL(hooks.ClaimTTL)),
			Clock:     clk, Log: log, Metrics: metrics,
		}
		return &function{handle: h.Handle, timeout: lifecycleTimeout, queue: q, visibility: lifecycleVisibility}
	case "rollout": // functions/rollout/main.go
		q := w.queues[name]
		groups := autoscaling.NewFromConfig(cfg, asg.RetryScalingActivity)
		images := ec2.NewFromConfig(cfg)
		h := &stamper.Handler{
			Config: c, Region: cfg.Region,
			Groups:     asg.New(groups),
			Templates:  launchtemplate.New(images),
			Builds:     ib.New(images, cfg.Region),
			Parameters: ssmparam.New(ssm.NewFromConfig(cfg)),
			Listeners:  elb.New(elbv2.NewFromConfig(cfg)),
			Alarms:     cwalarm.New(cloudwatch.NewFromConfig(cfg)),
			Scheduler:  sqsqueue.New(&wakeQueue{w: w, fn: name, api: sqs.NewFromConfig(cfg)}, q, clk),
			Store:      store(),
			Clock:      clk, Log: log, Metrics: metrics,
		}
		return &function{handle: h.Handle, timeout: rolloutTimeout, queue: q, visibility: rolloutVisibility}
	}
	w.t.Fatalf("no function %q", name)
	return nil
}

// table creates the state table as awstest.NewTable does. The set-up's
// client retries a connection moto dropped, and a CreateTable retried after
// it took effect finds the table there: that is not a failure.
func (w *world) table() {
	t, ctx := w.t, w.t.Context()
	c := dynamodb.NewFromConfig(w.moto)
	_, err := c.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:            aws.String(table),
		AttributeDefinitions: []dbtypes.AttributeDefinition{{AttributeName: aws.String(dynamo.KeyAttribute), AttributeType: dbtypes.ScalarAttributeTypeS}},
		KeySchema:            []dbtypes.KeySchemaElement{{AttributeName: aws.String(dynamo.KeyAttribute), KeyType: dbtypes.KeyTypeHash}},
		BillingMode:          dbtypes.BillingModePayPerRequest,
	})
	var inUse *dbtypes.ResourceInUseException
	if err != nil && !errors.As(err, &inUse) {
		t.Fatalf("CreateTable: %v", err)
	}
	if _, err := c.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
		TableName:               aws.String(table),
		TimeToLiveSpecification: &dbtypes.TimeToLiveSpecification{AttributeName: aws.String(dynamo.TTLAttribute), Enabled: aws.Bool(true)},
	}); err != nil {
		t.Fatalf("UpdateTimeToLive: %v", err)
	}
}

// queue creates an SQS queue in moto and returns its URL.
func (w *world) queue(name string) string {
	w.t.Helper()
	out, err := sqs.NewFromConfig(w.moto).CreateQueue(w.t.Context(), &sqs.CreateQueueInput{QueueName: aws.String(name)})
	if err != nil {
		w.t.Fatalf("CreateQueue %s: %v", name, err)
	}
	return aws.ToString(out.QueueUrl)
}

// send schedules an EventBridge event for fn at at, delivered as Lambda's
// async invoke.
func (w *world) send(fn, what string, at time.Time, body []byte) {
	w.enqueue(&delivery{fn: fn, via: viaAsync, body: body, due: at, what: what})
}

func (w *world) enqueue(d *delivery) {
	w.seq++
	d.seq = w.seq
	if d.id == "" {
		d.id = fmt.Sprintf("00000000-0000-4000-8000-%012d", d.seq)
	}
	w.pending = append(w.pending, d)
}

// next removes and returns the earliest delivery; ties go in the order
// they were made.
func (w *world) next() *delivery {
	if len(w.pending) == 0 {
		return nil
	}
	i := 0
	for j, d := range w.pending {
		if d.due.Before(w.pending[i].due) || d.due.Equal(w.pending[i].due) && d.seq < w.pending[i].seq {
			i = j
		}
	}
	d := w.pending[i]
	w.pending = slices.Delete(w.pending, i, i+1)
	return d
}

// run delivers until nothing is pending, and reports whether the scenario
// ended by itself within maxDeliveries and maxVirtual.
func (w *world) run() bool {
	for n := 0; ; n++ {
		if len(w.pending) == 0 {
			return true
		}
		earliest := w.pending[0].due
		for _, d := range w.pending {
			if d.due.Before(earliest) {
				earliest = d.due
			}
		}
		if earliest.After(w.clock.Now()) {
			w.clock.Set(earliest)
		}
		if n >= maxDeliveries || w.clock.Now().Sub(w.start) > maxVirtual {
			w.overrun = fmt.Sprintf("still delivering after %d deliveries and %s: %d pending, next %s",
				n, w.clock.Now().Sub(w.start), len(w.pending), w.pending[0])
			return false
		}
		for _, drive := range w.drivers {
			drive(w)
		}
		w.invoke(w.next())
	}
}

// invoke runs one delivery as Lambda would: the handler's context ends at
// the function's timeout, and from then on the runtime is frozen (no call
// of the invocation reaches AWS). A failure is retried as its source
// retries it, or dead-lettered.
func (w *world) invoke(d *delivery) {
	f := w.function(d.fn)
	d.tries++
	payload := d.body
	if d.via == viaWake {
		payload = w.sqsBatch(f, d)
	}
	logFrom := w.out.Len()
	w.gate.open()
	ctx, cancel := context.WithTimeout(w.t.Context(), f.timeout)
	freeze := time.AfterFunc(f.timeout, w.gate.close)
	began := time.Now()
	err := f.handle(ctx, payload)
	took := time.Since(began)
	freeze.Stop()
	cancel()
	w.gate.open()
	inv := invoked{d: d, at: w.clock.Now(), err: err, took: took}
	if took >= f.timeout {
		inv.timedOut = true
		if err == nil {
			err = fmt.Errorf("Task timed out after %s", f.timeout)
			inv.err = err
		}
	}
	inv.errorLines, inv.effectsFailed = countLines(w.out.Bytes()[logFrom:])
	w.invocations = append(w.invocations, inv)
	if err == nil {
		return
	}
	now := w.clock.Now()
	switch {
	case d.via == viaAsync && d.tries < asyncAttempts:
		d.due = now.Add(asyncRetryDelay(d.tries))
		w.pending = append(w.pending, d)
	case d.via == viaWake && d.tries < maxReceives:
		d.due = now.Add(f.visibility)
		w.pending = append(w.pending, d)
	default:
		w.dead = append(w.dead, d)
	}
}

// sqsBatch is the Lambda SQS event source's batch of one record.
func (w *world) sqsBatch(f *function, d *delivery) []byte {
	name := f.queue[strings.LastIndexByte(f.queue, '/')+1:]
	b, err := json.Marshal(map[string]any{"Records": []map[string]any{{
		"messageId": d.id, "receiptHandle": fmt.Sprintf("%s-%d", d.id, d.tries), "body": string(d.body),
		"attributes": map[string]string{
			"ApproximateReceiveCount": fmt.Sprint(d.tries),
			"SentTimestamp":           fmt.Sprint(d.due.UnixMilli()),
		},
		"messageAttributes": map[string]any{}, "eventSource": "aws:sqs", "awsRegion": awstest.Region,
		"eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:" + name,
	}}})
	if err != nil {
		w.t.Fatalf("encoding SQS batch: %v", err)
	}
	return b
}

// countLines counts the ERROR log lines and EffectsFailed metric records in
// a stretch of the functions' output.
func countLines(out []byte) (errorLines, effectsFailed int) {
	for line := range bytes.Lines(out) {
		var rec map[string]any
		if json.Unmarshal(line, &rec) != nil {
			continue
		}
		if rec["level"] == "ERROR" {
			errorLines++
		}
		if _, ok := rec["EffectsFailed"]; ok {
			effectsFailed++
		}
	}
	return errorLines, effectsFailed
}

// wakeQueue is the SQS API under the functions' sqsqueue.Scheduler: the
// real SendMessage through the proxy (faults and all), and, for each
// attempt of it that reached the emulator, a message the sweep delivers at
// its time, as the queue would.
type wakeQueue struct {
	w   *world
	fn  string
	api sqsqueue.API
}

func (q *wakeQueue) SendMessage(ctx context.Context, in *sqs.SendMessageInput, optFns ...func(*sqs.Options)) (*sqs.SendMessageOutput, error) {
	before := q.w.sent()
	out, err := q.api.SendMessage(ctx, in, optFns...)
	at := q.w.clock.Now().Add(time.Duration(in.DelaySeconds) * time.Second)
	var tick struct {
		Detail struct{ Key, At string }
	}
	_ = json.Unmarshal([]byte(aws.ToString(in.MessageBody)), &tick)
	for range q.w.sent() - before {
		q.w.enqueue(&delivery{fn: q.fn, via: viaWake, body: []byte(aws.ToString(in.MessageBody)), due: at,
			what: tick.Detail.Key + " due " + tick.Detail.At})
	}
	return out, err
}

// sent counts the SendMessage calls that reached the emulator: answered,
// or answered and the answer dropped.
func (w *world) sent() int {
	n := 0
	for _, c := range w.proxy.Calls() {
		if c.Service != awsproxy.SQS || c.Operation != "SendMessage" || strings.HasPrefix(c.Code, "upstream") {
			continue
		}
		if c.Fault == "" && c.Status == http.StatusOK || c.Fault == awsproxy.DropResponse.String() {
			n++
		}
	}
	return n
}

// gate is the functions' HTTP client. Closed, it sends nothing: Lambda has
// frozen (and will end) the runtime of an invocation that timed out, so
// nothing it still tries reaches AWS.
type gate struct {
	next   aws.HTTPClient
	closed atomic.Bool
}

var errFrozen = errors.New("the invocation timed out: Lambda froze its runtime")

func (g *gate) Do(r *http.Request) (*http.Response, error) {
	if g.closed.Load() {
		return nil, errFrozen
	}
	return g.next.Do(r)
}

func (g *gate) open()  { g.closed.Store(false) }
func (g *gate) close() { g.closed.Store(true) }

var _ aws.HTTPClient = (*gate)(nil)
