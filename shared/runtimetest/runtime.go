package runtimetest

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// InvokePath is the emulator's Invoke API path (the Lambda Invoke API for
// the one function it runs).
const InvokePath = "/2015-03-31/functions/function/invocations"

// Options configure one emulated function.
type Options struct {
	// RIE is the emulator binary (BuildRIE).
	RIE string
	// Bootstrap is the function's binary (Build).
	Bootstrap string
	// Env is the function's environment: its configuration and the
	// AWS_ENDPOINT_URL of the local AWS emulator. Start adds what Lambda
	// itself provides (region, credentials, timeout, name) unless Env sets
	// it, and nothing of the caller's environment except PATH: the function
	// must not read the developer's ~/.aws or reach a real AWS endpoint.
	Env map[string]string
	// Timeout is the function timeout; zero means 30 s.
	Timeout time.Duration
}

// Runtime is one running emulator with its function. The function process
// starts on the first invocation (a cold start), as in Lambda.
type Runtime struct {
	cmd       *exec.Cmd
	exited    chan struct{}
	url       string
	bootstrap string
	out       *syncBuffer
	client    *http.Client
	home      string
}

// Start runs the emulator with its Invoke API and its Runtime API each on a
// free 127.0.0.1 port, so that any number run side by side, and returns once
// both accept connections. Call Stop when done.
func Start(ctx context.Context, o Options) (*Runtime, error) {
	if o.Timeout == 0 {
		o.Timeout = 30 * time.Second
	}
	bootstrap, err := filepath.Abs(o.Bootstrap)
	if err != nil {
		return nil, fmt.Errorf("locating bootstrap: %w", err)
	}
	home, err := os.MkdirTemp("", "runtimetest-home-")
	if err != nil {
		return nil, fmt.Errorf("creating function home: %w", err)
	}
	env := map[string]string{
		"PATH": os.Getenv("PATH"),
		// An empty home and missing shared files: the SDK finds no profile,
		// so only the variables below configure it.
		"HOME":                        home,
		"AWS_CONFIG_FILE":             filepath.Join(home, "config"),
		"AWS_SHARED_CREDENTIALS_FILE": filepath.Join(home, "credentials"),
		"AWS_EC2_METADATA_DISABLED":   "true",
		"AWS_REGION":                  "us-east-1",
		"AWS_ACCESS_KEY_ID":           "testing",
		"AWS_SECRET_ACCESS_KEY":       "testing",
		"AWS_SESSION_TOKEN":           "testing",
		"AWS_LAMBDA_FUNCTION_NAME":    filepath.Base(filepath.Dir(bootstrap)),
		"AWS_LAMBDA_FUNCTION_TIMEOUT": strconv.Itoa(int(o.Timeout / time.Second)),
	}
	for k, v := range o.Env {
		env[k] = v
	}
	// Another process can take the port between the probe and the
	// emulator's bind; the emulator then exits and a new port is tried.
	var lastErr error
	for range 3 {
		r, err := launch(ctx, o.RIE, bootstrap, home, env)
		if err == nil {
			return r, nil
		}
		lastErr = err
		if !errors.Is(err, errExited) {
			break
		}
	}
	os.RemoveAll(home)
	return nil, lastErr
}

var errExited = errors.New("runtime interface emulator exited")

func launch(ctx context.Context, rie, bootstrap, home string, env map[string]string) (*Runtime, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	// The Runtime API, which the bootstrap polls for work, gets a free port
	// of its own too: the emulator's default, 127.0.0.1:9001, lets only one
	// emulator run per machine, and `go test ./...` runs the e2e and
	// runtimetest packages (and `make bench` may run beside them) at once.
	// (Port 0 does not do: the emulator hands the bootstrap the address as
	// given, before it binds.)
	runtimeAPI, err := freeAddr()
	if err != nil {
		return nil, err
	}
	// No CommandContext: Stop owns the process's end, so that the
	// function's process goes too.
	cmd := exec.Command(rie, "--runtime-interface-emulator-address", addr, "--runtime-api-address", runtimeAPI, bootstrap)
	cmd.Dir = filepath.Dir(bootstrap)
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	// Its own process group, so Stop ends the emulator and nothing else; the
	// kernel kills the emulator if the test binary dies first (and the
	// function, left without its Runtime API, then exits).
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", rie, err)
	}
	r := &Runtime{
		cmd: cmd, exited: make(chan struct{}), url: "http://" + addr + InvokePath,
		bootstrap: bootstrap, out: out, home: home,
		client: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}},
	}
	go func() { _ = cmd.Wait(); close(r.exited) }()
	deadline := time.Now().Add(15 * time.Second)
	for {
		select {
		case <-r.exited:
			return nil, fmt.Errorf("%w before listening on %s (%s):\n%s", errExited, addr, cmd.ProcessState, out.String())
		case <-ctx.Done():
			r.kill()
			return nil, ctx.Err()
		default:
		}
		if listening(addr) && listening(runtimeAPI) {
			return r, nil
		}
		if time.Now().After(deadline) {
			r.kill()
			return nil, fmt.Errorf("runtime interface emulator not listening on %s (Invoke API) and %s (Runtime API) after 15 s:\n%s", addr, runtimeAPI, out.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Response is the emulator's answer to one invocation.
type Response struct {
	// Status is the HTTP status; a function error still answers 200, as
	// Lambda's synchronous Invoke does.
	Status int
	// Body is the function's result, or its error document.
	Body []byte
	// Took is the round trip seen by the caller.
	Took time.Duration
	// RequestID is the invocation's id, the request_id of its log lines.
	RequestID string
}

// FunctionError is the error document a Go function's error becomes.
type FunctionError struct {
	Type    string `json:"errorType"`
	Message string `json:"errorMessage"`
}

// Error decodes Body as a function error; ok is false for a result.
func (r Response) Error() (FunctionError, bool) {
	var fe FunctionError
	if err := json.Unmarshal(r.Body, &fe); err != nil || fe.Message == "" && fe.Type == "" {
		return FunctionError{}, false
	}
	return fe, true
}

// Invoke sends payload to the function synchronously and returns its answer.
// It returns once the emulator has also logged the invocation's end, so
// Output, Logs and InitDuration then include everything the invocation
// wrote (the emulator prints after it answers; the function's own lines
// precede its answer).
func (r *Runtime) Invoke(ctx context.Context, payload []byte) (Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.url, bytes.NewReader(payload))
	if err != nil {
		return Response{}, err
	}
	id := requestID()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Amzn-RequestId", id)
	mark := r.out.Len()
	start := time.Now()
	resp, err := r.client.Do(req)
	if err != nil {
		return Response{}, fmt.Errorf("invoking %s: %w\n%s", r.url, err, r.out.String())
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	took := time.Since(start)
	if err != nil {
		return Response{}, fmt.Errorf("reading the answer of %s: %w", r.url, err)
	}
	r.awaitEnd(ctx, mark, id)
	return Response{Status: resp.StatusCode, Body: body, Took: took, RequestID: id}, nil
}

// awaitEnd waits, briefly, for the emulator's END line of invocation id; a
// crashed function may never get one, and the caller then sees what there is.
func (r *Runtime) awaitEnd(ctx context.Context, from int, id string) {
	end := []byte("END RequestId: " + id)
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline) && ctx.Err() == nil; time.Sleep(time.Millisecond) {
		if r.out.containsFrom(from, end) {
			return
		}
	}
}

// requestID returns a random UUID-shaped invocation id.
func requestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// Output returns everything the emulator and the function wrote so far: the
// emulator's own log lines and the function's stdout and stderr.
func (r *Runtime) Output() string { return r.out.String() }

// Logs returns the function's JSON log records (slog lines) written so far,
// in order; other output lines are skipped.
func (r *Runtime) Logs() []map[string]any {
	var recs []map[string]any
	sc := bufio.NewScanner(strings.NewReader(r.out.String()))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 || line[0] != '{' {
			continue
		}
		var rec map[string]any
		if json.Unmarshal(line, &rec) == nil && rec["msg"] != nil {
			recs = append(recs, rec)
		}
	}
	return recs
}

var initReport = regexp.MustCompile(`INIT REPORT\(durationMs: ([0-9.]+)\)`)

// InitDuration returns the init phase's duration as the emulator reports it
// (INIT REPORT durationMs: from starting the function's process to its first
// request for work); ok is false before the first invocation.
func (r *Runtime) InitDuration() (time.Duration, bool) {
	m := initReport.FindStringSubmatch(r.out.String())
	if m == nil {
		return 0, false
	}
	ms, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		return 0, false
	}
	return time.Duration(ms * float64(time.Millisecond)), true
}

// RSS returns the resident set size in bytes of the function's process
// (VmRSS in /proc); it fails before the first invocation started it.
func (r *Runtime) RSS() (int64, error) {
	pid, err := r.FunctionPID()
	if err != nil {
		return 0, err
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("reading status of the function process %d: %w", pid, err)
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("parsing VmRSS %q: %w", rest, err)
			}
			return kb << 10, nil
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
}

// FunctionPID returns the process id of the function: the emulator's child
// running the bootstrap. It fails before the first invocation started it.
func (r *Runtime) FunctionPID() (int, error) {
	parent := r.cmd.Process.Pid
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0, fmt.Errorf("listing processes: %w", err)
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		// Fields after the parenthesised command name: state, ppid, …
		i := bytes.LastIndexByte(stat, ')')
		if i < 0 {
			continue
		}
		fields := strings.Fields(string(stat[i+1:]))
		if len(fields) < 2 || fields[1] != strconv.Itoa(parent) {
			continue
		}
		if exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid)); err == nil && exe == r.bootstrap {
			return pid, nil
		}
	}
	return 0, fmt.Errorf("no process of %s under the emulator (pid %d)", r.bootstrap, parent)
}

// Stop ends the function process and the emulator (SIGKILL, by process id)
// and waits for both to be gone. Safe to call twice.
func (r *Runtime) Stop() {
	r.kill()
	r.client.CloseIdleConnections()
	os.RemoveAll(r.home)
}

func (r *Runtime) kill() {
	select {
	case <-r.exited:
		return
	default:
	}
	// The emulator starts the function in a process group of its own, so
	// the function is ended by its id first; bereft of its Runtime API it
	// would exit anyway, but not at once.
	pid, err := r.FunctionPID()
	if err == nil {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	// The negative pid names the process group Start created.
	_ = syscall.Kill(-r.cmd.Process.Pid, syscall.SIGKILL)
	<-r.exited
	if err == nil {
		// A SIGKILL takes effect asynchronously; on a loaded machine the
		// function may still run a moment after kill returned.
		for deadline := time.Now().Add(5 * time.Second); running(pid) && time.Now().Before(deadline); {
			time.Sleep(5 * time.Millisecond)
		}
	}
}

// running reports whether pid is a live process (a zombie awaiting its
// reaper is not).
func running(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	i := bytes.LastIndexByte(stat, ')')
	return i >= 0 && !bytes.HasPrefix(bytes.TrimSpace(stat[i+1:]), []byte("Z"))
}

// freeAddr returns a 127.0.0.1 address with a port free at the time of the
// call.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("finding a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// listening reports whether addr accepts a TCP connection.
func listening(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// syncBuffer is a bytes.Buffer safe for the emulator's writer goroutines and
// the test reading it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// Len returns the number of bytes written so far.
func (b *syncBuffer) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Len()
}

// containsFrom reports whether sub occurs in what was written from offset on.
func (b *syncBuffer) containsFrom(offset int, sub []byte) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return bytes.Contains(b.buf.Bytes()[min(offset, b.buf.Len()):], sub)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
