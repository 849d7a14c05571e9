package e2e_test

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/stampkit/stampkit/shared/awstest"
	"github.com/stampkit/stampkit/shared/config"
	"github.com/stampkit/stampkit/shared/event"
	"github.com/stampkit/stampkit/shared/runtimetest"
)

// module is the import path prefix of the functions under test.
const module = "github.com/stampkit/stampkit/functions/"

// table is the state table each test creates in the emulator.
const table = "stampkit-e2e-state"

var (
	emu  = awstest.New()
	bins = &builds{}
)

func TestMain(m *testing.M) {
	code := emu.Run(m)
	bins.remove()
	os.Exit(code)
}

// builds compiles the emulator and the functions once per test binary, on
// first use, so that -short and a machine without moto pay nothing.
type builds struct {
	mu   sync.Mutex
	dir  string
	rie  string
	fns  map[string]string
	errs map[string]error
}

// bootstrap returns the host bootstrap of functions/<name> and the emulator
// binary. The first call builds every function present in one go build run;
// if that fails (one function does not compile), each is built on its own
// and only the broken one's tests fail.
func (b *builds) bootstrap(t *testing.T, name string) (rie, bootstrap string) {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.dir == "" {
		if err := b.build(t); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.errs[name]; err != nil {
		t.Fatalf("building functions/%s: %v", name, err)
	}
	path, ok := b.fns[name]
	if !ok {
		t.Fatalf("functions/%s was not built: no such function", name)
	}
	return b.rie, path
}

func (b *builds) build(t *testing.T) error {
	dir, err := os.MkdirTemp("", "stampkit-e2e-")
	if err != nil {
		return fmt.Errorf("creating build directory: %w", err)
	}
	began := time.Now()
	rie, err := runtimetest.BuildRIE(t.Context(), dir)
	if err != nil {
		os.RemoveAll(dir)
		return err
	}
	names, err := functionNames()
	if err != nil {
		os.RemoveAll(dir)
		return err
	}
	b.dir, b.rie, b.errs = dir, rie, map[string]error{}
	pkgs := make([]string, len(names))
	for i, n := range names {
		pkgs[i] = module + n
	}
	b.fns, err = runtimetest.Build(t.Context(), dir, runtime.GOARCH, pkgs...)
	if err != nil {
		b.fns = map[string]string{}
		for _, p := range pkgs {
			one, err := runtimetest.Build(t.Context(), dir, runtime.GOARCH, p)
			if err != nil {
				b.errs[filepath.Base(p)] = err
				continue
			}
			maps.Copy(b.fns, one)
		}
	}
	t.Logf("built the emulator and %d functions (%s) in %s", len(b.fns), strings.Join(slices.Sorted(maps.Keys(b.fns)), ", "), time.Since(began).Round(time.Millisecond))
	return nil
}

func (b *builds) remove() {
	if b.dir != "" {
		os.RemoveAll(b.dir)
	}
}

// functionNames lists the functions: the directories of functions/ with a
// main.go.
func functionNames() ([]string, error) {
	entries, err := os.ReadDir("../functions")
	if err != nil {
		return nil, fmt.Errorf("listing functions: %w", err)
	}
	var names []string
	for _, e := range entries {
		if _, err := os.Stat(filepath.Join("../functions", e.Name(), "main.go")); err == nil {
			names = append(names, e.Name())
		}
	}
	return names, nil
}

// start runs functions/<name> under the runtime emulator with env plus
// AWS_ENDPOINT_URL aimed at the local AWS emulator. The function's output is
// attached to a failing test.
func start(t *testing.T, name string, env map[string]string) *runtimetest.Runtime {
	t.Helper()
	endpoint := emu.Endpoint(t)
	rie, bootstrap := bins.bootstrap(t, name)
	all := map[string]string{"AWS_ENDPOINT_URL": endpoint}
	maps.Copy(all, env)
	rt, err := runtimetest.Start(t.Context(), runtimetest.Options{RIE: rie, Bootstrap: bootstrap, Env: all})
	if err != nil {
		t.Fatalf("starting %s under the runtime emulator: %v", name, err)
	}
	t.Cleanup(func() {
		rt.Stop()
		if t.Failed() {
			t.Logf("%s output (runtime emulator and function):\n%s", name, rt.Output())
		}
	})
	return rt
}

// configEnv is the environment the CDK app gives a function for c.
func configEnv(t *testing.T, c config.Config) map[string]string {
	t.Helper()
	if err := c.Validate(); err != nil {
		t.Fatalf("test configuration: %v", err)
	}
	env, err := c.Env()
	if err != nil {
		t.Fatalf("Env: %v", err)
	}
	return env
}

// invoke sends payload and fails the test on a transport error or a
// non-200 answer (a function error is still a 200).
func invoke(t *testing.T, rt *runtimetest.Runtime, payload []byte) runtimetest.Response {
	t.Helper()
	resp, err := rt.Invoke(t.Context(), payload)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Status != 200 {
		t.Fatalf("invoke: got HTTP %d (%s), want 200", resp.Status, resp.Body)
	}
	return resp
}

// mustSucceed fails the test if the invocation returned a function error.
func mustSucceed(t *testing.T, what string, resp runtimetest.Response) {
	t.Helper()
	if fe, ok := resp.Error(); ok {
		t.Fatalf("%s: got function error %s: %s, want success", what, fe.Type, fe.Message)
	}
}

// sample returns the real AWS sample event name from shared/event's
// testdata, with edit applied to its decoded JSON (to aim it at the
// emulator's resources).
func sample(t *testing.T, name string, edit func(ev map[string]any)) []byte {
	t.Helper()
	all, err := event.Samples()
	if err != nil {
		t.Fatalf("loading samples: %v", err)
	}
	raw, ok := all[name]
	if !ok {
		t.Fatalf("no sample event %q", name)
	}
	var ev map[string]any
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatalf("decoding sample %s: %v", name, err)
	}
	if edit != nil {
		edit(ev)
	}
	out, err := json.Marshal(ev)
	if err != nil {
		t.Fatalf("encoding sample %s: %v", name, err)
	}
	return out
}

// detail returns the event's detail object for editing.
func detail(ev map[string]any) map[string]any { return ev["detail"].(map[string]any) }

// records returns the function's log records whose msg starts with msg
// ("duplicate delivery" matches each handler's wording of it).
func records(rt *runtimetest.Runtime, msg string) []map[string]any {
	var out []map[string]any
	for _, r := range rt.Logs() {
		if m, _ := r["msg"].(string); strings.HasPrefix(m, msg) {
			out = append(out, r)
		}
	}
	return out
}

// tableItems counts the items in the state table.
func tableItems(t *testing.T, cfg aws.Config) int32 {
	t.Helper()
	out, err := dynamodb.NewFromConfig(cfg).Scan(t.Context(), &dynamodb.ScanInput{TableName: aws.String(table)})
	if err != nil {
		t.Fatalf("Scan %s: %v", table, err)
	}
	return out.Count
}

// wakeUp waits for a function's delayed wake-up on queue and returns it as
// the SQS event source would deliver it: a batch of one record. The message
// stays on the queue (invisible for the default 30 s): each test makes its
// own queue.
func wakeUp(t *testing.T, cfg aws.Config, queue string) []byte {
	t.Helper()
	batch, _ := receiveWakeUp(t, cfg, queue)
	return batch
}

// receiveWakeUp is wakeUp that also returns the message's receipt handle,
// for a test that deletes it once handled, as the event source mapping does
// after a successful invocation.
func receiveWakeUp(t *testing.T, cfg aws.Config, queue string) (batch []byte, receipt string) {
	t.Helper()
	client := sqs.NewFromConfig(cfg)
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); {
		out, err := client.ReceiveMessage(t.Context(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(queue), WaitTimeSeconds: 1})
		if err != nil {
			t.Fatalf("ReceiveMessage: %v", err)
		}
		if len(out.Messages) == 0 {
			continue
		}
		m := out.Messages[0]
		batch, err := json.Marshal(map[string]any{"Records": []map[string]any{{
			"messageId": aws.ToString(m.MessageId), "receiptHandle": aws.ToString(m.ReceiptHandle), "body": aws.ToString(m.Body),
			"attributes": map[string]string{"ApproximateReceiveCount": "1"}, "messageAttributes": map[string]any{},
			"eventSource": "aws:sqs", "awsRegion": awstest.Region,
			"eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:" + queue[strings.LastIndexByte(queue, '/')+1:],
		}}})
		if err != nil {
			t.Fatalf("encoding SQS batch: %v", err)
		}
		return batch, aws.ToString(m.ReceiptHandle)
	}
	t.Fatalf("no wake-up on %s within 15 s", queue)
	return nil, ""
}

// queued counts the messages on queue, delayed ones included.
func queued(t *testing.T, cfg aws.Config, queue string) int {
	t.Helper()
	out, err := sqs.NewFromConfig(cfg).GetQueueAttributes(t.Context(), &sqs.GetQueueAttributesInput{
		QueueUrl:       aws.String(queue),
		AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameApproximateNumberOfMessages, sqstypes.QueueAttributeNameApproximateNumberOfMessagesDelayed},
	})
	if err != nil {
		t.Fatalf("GetQueueAttributes: %v", err)
	}
	n := 0
	for _, v := range out.Attributes {
		c, err := strconv.Atoi(v)
		if err != nil {
			t.Fatalf("queue attribute %q: %v", v, err)
		}
		n += c
	}
	return n
}

// newQueue creates an SQS queue in the emulator and returns its URL.
func newQueue(t *testing.T, cfg aws.Config, name string) string {
	t.Helper()
	q, err := sqs.NewFromConfig(cfg).CreateQueue(t.Context(), &sqs.CreateQueueInput{QueueName: aws.String(name)})
	if err != nil {
		t.Fatalf("CreateQueue %s: %v", name, err)
	}
	return aws.ToString(q.QueueUrl)
}
