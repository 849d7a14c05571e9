// Package awsproxy is the test harness's AWS proxy: a loopback HTTP server
// between AWS SDK clients (and the bootstraps under the Lambda runtime
// emulator, through AWS_ENDPOINT_URL) and the local AWS emulator (moto). It
//
//   - names every call by service and operation, whatever the protocol:
//     AWS Query and EC2 Query (`Action=`), JSON 1.0/1.1 (`X-Amz-Target`),
//     smithy RPC v2 CBOR (`/service/<svc>/operation/<op>`), REST (method and
//     path); the service is the signing name in the SigV4 credential scope;
//   - records each call (service, operation, time, outcome), see Calls;
//   - injects faults by script (Fail): throttling and other errors in the
//     protocol's own error shape, a 500, a connection reset, a call held until
//     the client gives up, a delay, and a response dropped after the call took
//     effect;
//   - fills the emulator's gaps the toolkit depends on with small stateful
//     models that follow the AWS API reference, unkind cases included:
//     lifecycle actions (Lifecycle), instance refreshes (Refreshes), EC2's
//     client-token idempotency, and the CloudWatch client's
//     RPC v2 CBOR protocol, translated to the Query API moto serves. GAPS.md
//     in the parent package lists them.
//
// awstest.Emulator puts a fresh Proxy in front of moto for every test; a test
// reaches it with emu.Proxy(t):
//
//	cfg := emu.Fresh(t)
//	emu.Proxy(t).Fail(awsproxy.Call{Service: awsproxy.AutoScaling, Operation: "UpdateAutoScalingGroup", Nth: 2}, awsproxy.Throttle)
//
// Nothing binds beyond 127.0.0.1, and nothing reaches a real AWS endpoint:
// the proxy forwards only to the upstream it was given.
package awsproxy

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// Signing names of the services the toolkit calls: the service part of the
// SigV4 credential scope, which is how the proxy tells services apart.
const (
	AutoScaling = "autoscaling"
	CloudWatch  = "monitoring"
	DynamoDB    = "dynamodb"
	EC2         = "ec2"
	ELB         = "elasticloadbalancing" // ELBv2 signs with the v1 name
	SQS         = "sqs"
	SSM         = "ssm"
)

// Proxy is one running proxy. Start returns it; its methods are safe for
// concurrent use.
type Proxy struct {
	upstream *url.URL
	srv      *httptest.Server
	client   *http.Client
	closed   chan struct{}
	once     sync.Once

	mu    sync.Mutex
	rules []*rule
	calls []Record
	now   func() time.Time

	lifecycle  *Lifecycle
	refreshes  *Refreshes
	tokens     *clientTokens
	cloudwatch *cloudWatch
}

// Start runs a proxy to upstream (the emulator's URL) on a free 127.0.0.1 port
// and stops it when t's test ends.
func Start(t testing.TB, upstream string) *Proxy {
	t.Helper()
	p, err := New(upstream)
	if err != nil {
		t.Fatalf("starting the AWS proxy: %v", err)
	}
	t.Cleanup(p.Close)
	return p
}

// New runs a proxy to upstream on a free 127.0.0.1 port; the caller closes it.
// Tests use Start.
func New(upstream string) (*Proxy, error) {
	u, err := url.Parse(upstream)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return nil, fmt.Errorf("upstream %q: want an absolute URL (%v)", upstream, err)
	}
	p := &Proxy{
		upstream: u,
		client: &http.Client{
			Timeout: 2 * time.Minute, // the emulator is slow on a loaded machine, never this slow
			Transport: &http.Transport{
				// The emulator now and then drops a kept-alive connection
				// just as it is reused (awstest.ConfigFor), and the body must
				// pass as sent, compressed or not.
				DisableKeepAlives:  true,
				DisableCompression: true,
				Proxy:              nil, // never HTTP_PROXY: the emulator is local
			},
		},
		closed: make(chan struct{}),
		now:    time.Now,
	}
	p.lifecycle = newLifecycle(p)
	p.refreshes = newRefreshes(p)
	p.tokens = newClientTokens()
	p.cloudwatch = newCloudWatch()
	// httptest listens on 127.0.0.1:0.
	p.srv = httptest.NewServer(http.HandlerFunc(p.serve))
	return p, nil
}

// URL returns the proxy's base URL, the endpoint to give SDK clients.
func (p *Proxy) URL() string { return p.srv.URL }

// Close stops the proxy, first releasing calls held by Timeout. Safe to call
// more than once.
func (p *Proxy) Close() {
	p.once.Do(func() {
		close(p.closed)
		p.srv.Close()
	})
}

// SetClock replaces the clock the models read (lifecycle heartbeat timeouts,
// refresh times); nil restores the wall clock.
func (p *Proxy) SetClock(now func() time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if now == nil {
		now = time.Now
	}
	p.now = now
}

func (p *Proxy) clock() time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.now()
}

// Lifecycle returns the lifecycle action model.
func (p *Proxy) Lifecycle() *Lifecycle { return p.lifecycle }

// Refreshes returns the instance refresh model.
func (p *Proxy) Refreshes() *Refreshes { return p.refreshes }

// Reset forgets the models' state, as the emulator's reset forgets its own:
// awstest.Emulator.Reset calls it. Fault rules and the record stay.
func (p *Proxy) Reset() {
	p.lifecycle.reset()
	p.refreshes.reset()
	p.tokens.reset()
}

// Record is one call the proxy received.
type Record struct {
	Service   string // signing name, e.g. AutoScaling
	Operation string // e.g. "UpdateAutoScalingGroup"; "METHOD /path" for REST
	Time      time.Time
	Took      time.Duration // until answered, or given up
	// Status is the HTTP status the client received; 0 when it received
	// none (a reset, a timeout, a dropped response).
	Status int
	// Code is the error code of an error answer; "upstream: …" when the
	// emulator never answered (the client then got a reset).
	Code  string
	Fault string // the injected fault, "" when none
	Model string // the gap model that answered, "" when the emulator did
}

// String reads like "autoscaling UpdateAutoScalingGroup: 400 Throttling
// (fault: throttle)".
func (r Record) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s %s: ", r.Time.Format("15:04:05.000"), r.Service, r.Operation)
	if r.Status == 0 {
		b.WriteString("no answer")
	} else {
		fmt.Fprintf(&b, "%d", r.Status)
	}
	if r.Code != "" {
		b.WriteString(" " + r.Code)
	}
	if r.Fault != "" {
		b.WriteString(" (fault: " + r.Fault + ")")
	}
	if r.Model != "" {
		b.WriteString(" (model: " + r.Model + ")")
	}
	fmt.Fprintf(&b, " in %s", r.Took.Round(time.Millisecond))
	return b.String()
}

// Calls returns every call received so far, in order of arrival.
func (p *Proxy) Calls() []Record {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Record(nil), p.calls...)
}

// Count returns how many calls of service's operation the proxy received
// (each attempt of a retried call counts).
func (p *Proxy) Count(service, operation string) int {
	n := 0
	for _, c := range p.Calls() {
		if c.Service == service && c.Operation == operation {
			n++
		}
	}
	return n
}

// Log returns the record as text, one call a line, for a failing test's log.
func (p *Proxy) Log() string {
	var b strings.Builder
	for _, c := range p.Calls() {
		b.WriteString(c.String())
		b.WriteByte('\n')
	}
	return b.String()
}

// request is one call as the proxy sees it.
type request struct {
	http      *http.Request
	body      []byte
	service   string
	operation string
	region    string
	proto     protocol
	form      url.Values // Query protocols: the parsed body
}

// answer is a response held in memory before it is sent (or dropped).
type answer struct {
	status int
	header http.Header
	body   []byte
	model  string
}

func (p *Proxy) serve(w http.ResponseWriter, r *http.Request) {
	began := p.clock()
	start := time.Now()
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, "reading request: "+err.Error(), http.StatusBadRequest)
		return
	}
	req := identify(r, body)
	rec := Record{Service: req.service, Operation: req.operation, Time: began}
	// Recorded before the client hears anything, so that it finds its
	// call in Calls as soon as it returns.
	done := func() {
		rec.Took = time.Since(start)
		p.mu.Lock()
		p.calls = append(p.calls, rec)
		p.mu.Unlock()
	}

	fault, faulty := p.fault(req.service, req.operation)
	if faulty {
		rec.Fault = fault.String()
		switch fault.kind {
		case kindError:
			a := errorAnswer(req, fault.status, fault.code, fault.message)
			rec.Status, rec.Code = a.status, fault.code
			done()
			write(w, a)
			return
		case kindThrottle, kindServerError:
			status, code := fault.shape(req)
			a := errorAnswer(req, status, code, fault.message)
			rec.Status, rec.Code = status, code
			done()
			write(w, a)
			return
		case kindReset:
			done()
			reset(w)
			return
		case kindTimeout:
			// Held until the client gives up (its connection closes) or
			// the proxy stops; it never reaches the emulator.
			select {
			case <-r.Context().Done():
			case <-p.closed:
			}
			done()
			reset(w)
			return
		case kindDelay:
			select {
			case <-time.After(fault.delay):
			case <-r.Context().Done():
				done()
				return
			case <-p.closed:
				done()
				reset(w)
				return
			}
		}
	}

	a, err := p.answer(r.Context(), req)
	if err != nil {
		// The emulator dropped the connection (or never answered): so
		// does the proxy, and the client's retryer sees what it would
		// have seen without it.
		rec.Code = "upstream: " + err.Error()
		done()
		reset(w)
		return
	}
	rec.Model = a.model
	if faulty && fault.kind == kindDrop {
		// The call took effect; the caller never hears of it.
		done()
		reset(w)
		return
	}
	rec.Status, rec.Code = a.status, errorCode(req.proto, a)
	done()
	write(w, a)
}

// answer serves req from a gap model, or else from the emulator.
func (p *Proxy) answer(ctx context.Context, req *request) (answer, error) {
	switch {
	case req.service == AutoScaling && p.lifecycle.handles(req.operation):
		return p.lifecycle.serve(req), nil
	case req.service == AutoScaling && p.refreshes.handles(req.operation):
		return p.refreshes.serve(ctx, req), nil
	case req.service == CloudWatch && req.proto == protoCBOR:
		return p.cloudwatch.serve(ctx, p, req)
	case p.tokens.handles(req):
		return p.tokens.serve(ctx, p, req)
	}
	return p.forward(ctx, req.http, req.body)
}

// forward sends the request on to the emulator as it came and returns the
// emulator's answer. The Host header stays the proxy's, so URLs the emulator
// builds from it (SQS queue URLs) lead back through the proxy.
func (p *Proxy) forward(ctx context.Context, r *http.Request, body []byte) (answer, error) {
	u := *p.upstream
	u.Path = r.URL.Path
	u.RawPath = r.URL.RawPath
	u.RawQuery = r.URL.RawQuery
	out, err := http.NewRequestWithContext(ctx, r.Method, u.String(), bytes.NewReader(body))
	if err != nil {
		return answer{}, err
	}
	out.Header = r.Header.Clone()
	out.Host = r.Host
	for _, h := range hopByHop {
		out.Header.Del(h)
	}
	resp, err := p.client.Do(out)
	if err != nil {
		return answer{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return answer{}, err
	}
	h := resp.Header.Clone()
	for _, k := range hopByHop {
		h.Del(k)
	}
	return answer{status: resp.StatusCode, header: h, body: b}, nil
}

var hopByHop = []string{"Connection", "Keep-Alive", "Proxy-Connection", "Transfer-Encoding", "Te", "Trailer", "Upgrade", "Content-Length"}

func write(w http.ResponseWriter, a answer) {
	for k, vs := range a.header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	w.Header().Set("Content-Length", fmt.Sprint(len(a.body)))
	w.WriteHeader(a.status)
	_, _ = w.Write(a.body)
}

// reset ends the client's connection with a TCP reset and no answer.
func reset(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic("awsproxy: response writer cannot be hijacked")
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		return
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0) // RST, not FIN
	}
	_ = conn.Close()
}
