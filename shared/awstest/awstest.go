// Package awstest runs the local AWS emulator (moto server) for integration
// tests: one emulator process per test binary, started on first use, reset
// between tests, stopped when TestMain returns.
//
// A package's tests use it like this:
//
//	var emu = awstest.New()
//
//	func TestMain(m *testing.M) { os.Exit(emu.Run(m)) }
//
//	func TestSomething(t *testing.T) {
//		cfg := emu.Fresh(t) // skips under -short or without moto
//		client := autoscaling.NewFromConfig(cfg)
//		…
//	}
//
// Emulator tests of one package share the emulator and Fresh wipes it, so
// they must not call t.Parallel. Stub (see Stub) needs no emulator and runs
// anywhere, -short included. GAPS.md lists what the emulator lacks.
//
// Every test reaches the emulator through a proxy of its own (package
// awsproxy), started by Fresh and stopped when the test ends: it records each
// call, injects the faults the test scripts (emu.Proxy(t).Fail), and fills the
// emulator's gaps the toolkit depends on (lifecycle actions, instance
// refreshes) with small models. A test that proves what the emulator itself
// lacks talks to it directly with MotoConfig.
//
// When python3 cannot import moto the emulator tests skip, unless
// STAMPKIT_REQUIRE_EMULATOR=1 (CI sets it), in which case they fail: a CI run
// that silently skipped every integration test would prove nothing.
package awstest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/stampkit/stampkit/shared/awstest/awsproxy"
)

// RequireEnv is the environment variable that turns a missing emulator from a
// skip into a failure.
const RequireEnv = "STAMPKIT_REQUIRE_EMULATOR"

// Region is the region of every Config; moto keeps separate state per region.
const Region = "us-east-1"

// startTimeout bounds the wait for moto to answer. A cold start takes about a
// second on an idle machine; the 2-core CI machine runs other packages' tests
// at the same time, hence the margin.
const startTimeout = 60 * time.Second

// Emulator is a moto server shared by all tests of one test binary. Its zero
// value is not usable; call New.
type Emulator struct {
	once      sync.Once
	mu        sync.Mutex
	offsets   map[testing.TB]int64 // log size when each running test began
	skip      string               // why tests skip; set when moto is not installed
	err       error                // why the start failed
	endpoint  string
	cmd       *exec.Cmd
	exited    chan struct{}
	logPath   string
	startTime time.Duration
	client    *http.Client
	proxies   []ownedProxy // the tests' proxies, the current one last
}

// ownedProxy is a proxy and the test that stops it.
type ownedProxy struct {
	t testing.TB
	p *awsproxy.Proxy
}

// New returns an emulator that starts on the first Endpoint, Config or Fresh.
func New() *Emulator {
	return &Emulator{
		client:  &http.Client{Timeout: time.Minute}, // generous: CI machines are loaded
		offsets: map[testing.TB]int64{},
	}
}

// Run runs the tests and then stops the emulator; TestMain passes its result
// to os.Exit.
func (e *Emulator) Run(m *testing.M) int {
	defer e.Stop()
	return m.Run()
}

// Endpoint returns the URL of the test's proxy to the emulator (see Proxy),
// the endpoint for SDK clients and for AWS_ENDPOINT_URL.
func (e *Emulator) Endpoint(t testing.TB) string {
	t.Helper()
	return e.Proxy(t).URL()
}

// Proxy returns the proxy in front of the emulator for t: the one the latest
// Fresh of t or of a test enclosing it started, or else a new one that t's
// end stops. Fault scripts (Fail) and models (Lifecycle, Refreshes) live in
// it.
func (e *Emulator) Proxy(t testing.TB) *awsproxy.Proxy {
	t.Helper()
	e.MotoEndpoint(t)
	e.mu.Lock()
	if n := len(e.proxies); n > 0 {
		p := e.proxies[n-1].p
		e.mu.Unlock()
		return p
	}
	e.mu.Unlock()
	return e.newProxy(t)
}

// newProxy starts a proxy owned by t and makes it the current one; t's end
// stops it (attaching its record of calls when t failed).
func (e *Emulator) newProxy(t testing.TB) *awsproxy.Proxy {
	t.Helper()
	p := awsproxy.Start(t, e.endpoint)
	e.mu.Lock()
	e.proxies = append(e.proxies, ownedProxy{t: t, p: p})
	e.mu.Unlock()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("AWS calls through the proxy during this test:\n%s", p.Log())
		}
		e.mu.Lock()
		defer e.mu.Unlock()
		for i, o := range e.proxies {
			if o.p == p {
				e.proxies = append(e.proxies[:i], e.proxies[i+1:]...)
				break
			}
		}
	})
	return p
}

// MotoEndpoint returns the emulator's own URL, starting it on first use:
// calls sent there skip the proxy and its models. It skips the test under
// -short or when moto is missing (fails instead when RequireEnv is "1"), and
// fails it when moto does not start. If the test fails, the emulator's log
// lines written during the test are attached to its output.
func (e *Emulator) MotoEndpoint(t testing.TB) string {
	t.Helper()
	if testing.Short() {
		t.Skip("emulator test skipped in -short mode")
	}
	e.once.Do(e.start)
	if e.skip != "" {
		if os.Getenv(RequireEnv) == "1" {
			t.Fatalf("local AWS emulator required (%s=1) but unavailable: %s", RequireEnv, e.skip)
		}
		t.Skipf("local AWS emulator unavailable, skipping (set %s=1 to fail instead): %s", RequireEnv, e.skip)
	}
	if e.err != nil {
		t.Fatalf("starting local AWS emulator: %v\n%s", e.err, e.logSince(0))
	}
	e.track(t)
	return e.endpoint
}

// track remembers where the log stood when t first used the emulator and, on
// failure, attaches what moto logged since.
func (e *Emulator) track(t testing.TB) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, ok := e.offsets[t]; ok {
		return
	}
	e.offsets[t] = e.logSize()
	t.Cleanup(func() {
		if t.Failed() {
			// moto writes a traceback just after the 500 it belongs to.
			time.Sleep(100 * time.Millisecond)
			t.Logf("emulator log during this test (%s):\n%s", e.logPath, e.Log(t))
		}
		e.mu.Lock()
		delete(e.offsets, t)
		e.mu.Unlock()
	})
}

// Log returns what the emulator logged since t first used it (at most the
// last 16 KiB): request lines and Python tracebacks.
func (e *Emulator) Log(t testing.TB) string {
	e.mu.Lock()
	offset := e.offsets[t]
	e.mu.Unlock()
	return e.logSince(offset)
}

// AssertNotImplemented fails t unless err is the emulator's answer to a call
// it does not implement: HTTP 500 with a NotImplementedError for action
// (moto's snake_case name, e.g. "complete_lifecycle_action") in its log.
// Tests that document an emulator gap use it, so the day moto implements the
// call they fail and say the gap is gone.
func (e *Emulator) AssertNotImplemented(t testing.TB, err error, action string) {
	t.Helper()
	e.AssertFault(t, err, "NotImplementedError: The "+action+" action has not been implemented")
}

// AssertFault fails t unless err is an HTTP 500 from the emulator and the
// emulator logged wantLog (a Python exception line) during the test.
func (e *Emulator) AssertFault(t testing.TB, err error, wantLog string) {
	t.Helper()
	var re *awshttp.ResponseError
	if !errors.As(err, &re) || re.HTTPStatusCode() != http.StatusInternalServerError {
		t.Fatalf("emulator gap: got error %v, want an HTTP 500 from the emulator", err)
	}
	// The traceback lands in the log just after the response.
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if strings.Contains(e.Log(t), wantLog) {
			return
		}
	}
	t.Fatalf("emulator gap: got a 500, want %q in the emulator log", wantLog)
}

// Reset wipes all emulator state (POST /moto-api/reset) and the state of the
// current proxy's models. Fresh calls it; a test calls it to start over.
func (e *Emulator) Reset(t testing.TB) {
	t.Helper()
	endpoint := e.MotoEndpoint(t)
	if err := e.reset(t.Context(), endpoint); err != nil {
		t.Fatalf("resetting emulator: %v", err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if n := len(e.proxies); n > 0 {
		e.proxies[n-1].p.Reset()
	}
}

// Config returns an aws.Config aimed at the test's proxy to the emulator:
// region us-east-1, static dummy credentials, and no retries but of a broken
// connection (ConfigFor), so a call fails at once with the error as sent. It
// reads nothing from the environment or ~/.aws.
func (e *Emulator) Config(t testing.TB) aws.Config {
	t.Helper()
	return ConfigFor(e.Endpoint(t))
}

// MotoConfig is Config aimed at the emulator itself, past the proxy: for the
// tests that prove what the emulator lacks.
func (e *Emulator) MotoConfig(t testing.TB) aws.Config {
	t.Helper()
	return ConfigFor(e.MotoEndpoint(t))
}

// Fresh resets the emulator, starts a proxy in front of it for t (stopped
// when t ends) and returns Config: the usual first line of an emulator test.
func (e *Emulator) Fresh(t testing.TB) aws.Config {
	t.Helper()
	e.Reset(t)
	e.newProxy(t)
	return e.Config(t)
}

// StartTime reports how long the emulator took to answer after launch; zero
// before it started.
func (e *Emulator) StartTime() time.Duration { return e.startTime }

// Stop ends the emulator process and removes its log. Safe to call more than
// once and when it never started.
func (e *Emulator) Stop() {
	if e.cmd != nil && e.cmd.Process != nil {
		select {
		case <-e.exited:
		default:
			_ = e.cmd.Process.Kill()
			<-e.exited
		}
	}
	if e.logPath != "" {
		_ = os.Remove(e.logPath)
	}
}

// ConfigFor returns the emulator aws.Config for an endpoint URL; Config is the
// usual entry point.
func ConfigFor(endpoint string) aws.Config {
	return aws.Config{
		Region:       Region,
		Credentials:  credentials.NewStaticCredentialsProvider("testing", "testing", ""),
		BaseEndpoint: aws.String(endpoint),
		// Only a broken connection is retried (at once, twice): a test must
		// see every AWS error as it is, but the emulator's server now and
		// then drops a connection mid-response ("use of closed network
		// connection", seen with keep-alives off too), which would fail a
		// test for nothing.
		Retryer: func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = 3
				o.Retryables = []retry.IsErrorRetryable{retry.RetryableConnectionError{}}
				o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return 0, nil })
				o.RateLimiter = ratelimit.None
			})
		},
		// The server may also close an idle kept-alive connection just as the
		// client reuses it: every request gets a fresh connection.
		HTTPClient: awshttp.NewBuildableClient().WithTransportOptions(func(tr *http.Transport) {
			tr.DisableKeepAlives = true
		}),
	}
}

func (e *Emulator) start() {
	// find_spec only locates the modules; importing moto.server here would
	// cost a second that the server start pays again.
	const probe = "import importlib.util as u, sys; " +
		"missing = [m for m in ('moto', 'flask', 'flask_cors') if u.find_spec(m) is None]; " +
		"missing and sys.exit('missing python modules: ' + ', '.join(missing) + ' (pip install \\'moto[server]\\')')"
	if out, err := exec.Command("python3", "-c", probe).CombinedOutput(); err != nil {
		e.skip = fmt.Sprintf("python3 cannot run moto.server: %v: %s", err, bytes.TrimSpace(out))
		return
	}
	log, err := os.CreateTemp("", "moto-*.log")
	if err != nil {
		e.err = fmt.Errorf("creating emulator log: %w", err)
		return
	}
	defer log.Close()
	e.logPath = log.Name()

	// Another process can take the free port between our probe and moto's
	// bind; moto then exits at once, and a new port is tried.
	for attempt := 0; attempt < 3; attempt++ {
		e.err = e.launch(log)
		if e.err == nil || !errors.Is(e.err, errExited) {
			return
		}
	}
}

var errExited = errors.New("emulator exited before answering")

func (e *Emulator) launch(log *os.File) error {
	port, err := freePort()
	if err != nil {
		return err
	}
	began := time.Now()
	cmd := exec.Command("python3", "-m", "moto.server", "-H", "127.0.0.1", "-p", strconv.Itoa(port))
	cmd.Stdout = log
	cmd.Stderr = log
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting moto.server: %w", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	e.cmd, e.exited = cmd, exited

	endpoint := "http://127.0.0.1:" + strconv.Itoa(port)
	deadline := time.Now().Add(startTimeout)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return fmt.Errorf("%w (%s)", errExited, cmd.ProcessState)
		case <-time.After(50 * time.Millisecond):
		}
		resp, err := e.client.Get(endpoint + "/moto-api/")
		if err != nil {
			continue
		}
		resp.Body.Close()
		e.endpoint = endpoint
		e.startTime = time.Since(began)
		return nil
	}
	return fmt.Errorf("emulator did not answer on %s within %s", endpoint, startTimeout)
}

func (e *Emulator) reset(ctx context.Context, endpoint string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint+"/moto-api/reset", nil)
	if err != nil {
		return err
	}
	resp, err := e.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
		return fmt.Errorf("POST /moto-api/reset: %s: %s", resp.Status, body)
	}
	return nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("finding a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func (e *Emulator) logSize() int64 {
	fi, err := os.Stat(e.logPath)
	if err != nil {
		return 0
	}
	return fi.Size()
}

// logSince returns the log from offset on, at most its last 16 KiB.
func (e *Emulator) logSince(offset int64) string {
	const limit = 16 << 10
	b, err := os.ReadFile(e.logPath)
	if err != nil {
		return fmt.Sprintf("(emulator log unreadable: %v)", err)
	}
	if offset > int64(len(b)) {
		offset = 0
	}
	b = b[offset:]
	if len(b) > limit {
		b = append([]byte("…"), b[len(b)-limit:]...)
	}
	return string(b)
}
