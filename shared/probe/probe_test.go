package probe_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stampkit/stampkit/shared/clock"
	"github.com/stampkit/stampkit/shared/ec2instance"
	"github.com/stampkit/stampkit/shared/lifecycle"
	"github.com/stampkit/stampkit/shared/probe"
	"github.com/stampkit/stampkit/shared/ssmcommand"
)

// fakeInstances and fakeCommands are hand-written fakes of the probe
// package's ports.
type fakeInstances struct {
	ip        string
	ipErr     error
	status    ec2instance.Status
	statusErr error
}

func (f *fakeInstances) PrivateIP(context.Context, string) (string, error) { return f.ip, f.ipErr }
func (f *fakeInstances) Status(context.Context, string) (ec2instance.Status, error) {
	return f.status, f.statusErr
}

type fakeCommands struct {
	sent    []ssmcommand.Command
	sendErr error
	inv     ssmcommand.Invocation
	invErr  error
	read    []string // command ids read
}

func (f *fakeCommands) Send(_ context.Context, _ string, c ssmcommand.Command) (string, error) {
	f.sent = append(f.sent, c)
	if f.sendErr != nil {
		return "", f.sendErr
	}
	return "cmd-new", nil
}

func (f *fakeCommands) Invocation(_ context.Context, id, _ string) (ssmcommand.Invocation, error) {
	f.read = append(f.read, id)
	return f.inv, f.invErr
}

// server answers GET /ready with status and returns its host and port.
func server(t *testing.T, status int, delay time.Duration) (string, int) {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(delay)
		if r.URL.Path == "/moved" {
			http.Redirect(w, r, "/ready", http.StatusFound)
			return
		}
		w.WriteHeader(status)
	}))
	t.Cleanup(srv.Close)
	host, port, _ := net.SplitHostPort(strings.TrimPrefix(srv.URL, "http://"))
	n, _ := strconv.Atoi(port)
	return host, n
}

// closedPort returns a loopback port nothing listens on.
func closedPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return port
}

func TestHTTPProbe(t *testing.T) {
	tests := []struct {
		name       string
		status     int
		delay      time.Duration
		path       string
		closed     bool
		instances  *fakeInstances // nil: the server's address
		wantStatus lifecycle.Status
		wantDetail string
	}{
		{name: "2xx passes", status: http.StatusNoContent, wantStatus: lifecycle.Pass, wantDetail: "204 No Content"},
		{name: "503 is not ready yet", status: http.StatusServiceUnavailable, wantStatus: lifecycle.Pending, wantDetail: "503"},
		{name: "502 from a proxy whose app is not up is not ready yet", status: http.StatusBadGateway, wantStatus: lifecycle.Pending, wantDetail: "502 Bad Gateway"},
		{name: "504 from a proxy whose app is not up is not ready yet", status: http.StatusGatewayTimeout, wantStatus: lifecycle.Pending, wantDetail: "504 Gateway Timeout"},
		{name: "500 fails", status: http.StatusInternalServerError, wantStatus: lifecycle.Fail, wantDetail: "500 Internal Server Error"},
		{name: "501 fails", status: http.StatusNotImplemented, wantStatus: lifecycle.Fail, wantDetail: "501 Not Implemented"},
		{name: "404 fails", status: http.StatusNotFound, wantStatus: lifecycle.Fail, wantDetail: "404 Not Found"},
		{name: "403 fails", status: http.StatusForbidden, wantStatus: lifecycle.Fail, wantDetail: "403 Forbidden"},
		{name: "a redirect is not followed and fails", status: http.StatusOK, path: "/moved", wantStatus: lifecycle.Fail, wantDetail: "302 Found"},
		{name: "nothing listening is not ready yet", closed: true, wantStatus: lifecycle.Pending, wantDetail: "connection refused"},
		{name: "too slow is not ready yet", status: http.StatusOK, delay: 300 * time.Millisecond, wantStatus: lifecycle.Pending, wantDetail: "deadline exceeded"},
		{name: "no address yet", instances: &fakeInstances{}, wantStatus: lifecycle.Pending, wantDetail: "no private address yet"},
		{name: "instance not listed yet", instances: &fakeInstances{ipErr: ec2instance.ErrNotFound}, wantStatus: lifecycle.Pending},
		{name: "EC2 unreachable is an error", instances: &fakeInstances{ipErr: errors.New("throttled")}, wantStatus: lifecycle.Error, wantDetail: "throttled"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			host, port := server(t, tt.status, tt.delay)
			if tt.closed {
				port = closedPort(t)
			}
			inst := tt.instances
			if inst == nil {
				inst = &fakeInstances{ip: host}
			}
			path := tt.path
			if path == "" {
				path = "/ready"
			}
			r := probe.New(inst, &fakeCommands{}, nil)
			p := lifecycle.Probe{Name: "app", Kind: lifecycle.HTTP, Port: port, Path: path, Timeout: clock.Duration(100 * time.Millisecond)}
			got := r.Probe(t.Context(), "i-1", p, "")
			if got.Name != "app" || got.Status != tt.wantStatus || !strings.Contains(got.Detail, tt.wantDetail) {
				t.Errorf("got %+v, want status %s with detail containing %q", got, tt.wantStatus, tt.wantDetail)
			}
		})
	}
}

func TestHTTPProbeCancelledInvocationIsAnError(t *testing.T) {
	host, port := server(t, http.StatusOK, 200*time.Millisecond)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	r := probe.New(&fakeInstances{ip: host}, &fakeCommands{}, nil)
	got := r.Probe(ctx, "i-1", lifecycle.Probe{Name: "app", Kind: lifecycle.HTTP, Port: port, Path: "/", Timeout: clock.Duration(time.Second)}, "")
	if got.Status != lifecycle.Error {
		t.Errorf("got %+v, want an error: the invocation ran out of time, not the instance", got)
	}
}

func TestSSMProbe(t *testing.T) {
	p := lifecycle.Probe{Name: "boot", Kind: lifecycle.SSM, Commands: []string{"cloud-init status --wait"}}
	tests := []struct {
		name          string
		commandID     string
		commands      *fakeCommands
		wantStatus    lifecycle.Status
		wantCommandID string
		wantDetail    string
		wantSent      int
	}{
		{name: "sends the command", commands: &fakeCommands{}, wantStatus: lifecycle.Pending, wantCommandID: "cmd-new", wantSent: 1},
		{name: "agent not online yet", commands: &fakeCommands{sendErr: ssmcommand.ErrNotManaged},
			wantStatus: lifecycle.Pending, wantDetail: "SSM agent not online yet", wantSent: 1},
		{name: "send fails", commands: &fakeCommands{sendErr: errors.New("throttled")}, wantStatus: lifecycle.Error, wantSent: 1},
		{name: "not picked up yet", commandID: "cmd-1", commands: &fakeCommands{invErr: ssmcommand.ErrNoInvocation},
			wantStatus: lifecycle.Pending, wantCommandID: "cmd-1"},
		{name: "running", commandID: "cmd-1", commands: &fakeCommands{inv: ssmcommand.Invocation{Status: ssmcommand.StatusInProgress}},
			wantStatus: lifecycle.Pending, wantCommandID: "cmd-1", wantDetail: "InProgress"},
		{name: "read fails: keeps the command", commandID: "cmd-1", commands: &fakeCommands{invErr: errors.New("throttled")},
			wantStatus: lifecycle.Error, wantCommandID: "cmd-1"},
		{name: "succeeded", commandID: "cmd-1", commands: &fakeCommands{inv: ssmcommand.Invocation{Status: ssmcommand.StatusSuccess}},
			wantStatus: lifecycle.Pass},
		{name: "failed with its exit status and output", commandID: "cmd-1",
			commands:   &fakeCommands{inv: ssmcommand.Invocation{Status: ssmcommand.StatusFailed, ResponseCode: 2, Output: "status: error"}},
			wantStatus: lifecycle.Fail, wantDetail: "Failed (exit 2): status: error"},
		{name: "timed out", commandID: "cmd-1", commands: &fakeCommands{inv: ssmcommand.Invocation{Status: ssmcommand.StatusTimedOut, ResponseCode: -1}},
			wantStatus: lifecycle.Fail, wantDetail: "TimedOut"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := probe.New(&fakeInstances{}, tt.commands, nil)
			got := r.Probe(t.Context(), "i-1", p, tt.commandID)
			if got.Status != tt.wantStatus || got.CommandID != tt.wantCommandID || !strings.Contains(got.Detail, tt.wantDetail) {
				t.Errorf("got %+v, want status %s command %q detail containing %q", got, tt.wantStatus, tt.wantCommandID, tt.wantDetail)
			}
			if len(tt.commands.sent) != tt.wantSent {
				t.Errorf("commands sent: got %d, want %d", len(tt.commands.sent), tt.wantSent)
			}
			if tt.wantSent > 0 {
				c := tt.commands.sent[0]
				if c.Document != lifecycle.DefaultSSMDocument || c.Timeout != lifecycle.DefaultSSMTimeout || c.Commands[0] != p.Commands[0] {
					t.Errorf("command sent: got %+v, want the probe's commands with the default document and timeout", c)
				}
			}
		})
	}
}

func TestEC2StatusProbe(t *testing.T) {
	tests := []struct {
		name       string
		instances  *fakeInstances
		wantStatus lifecycle.Status
	}{
		{name: "both checks ok", instances: &fakeInstances{status: ec2instance.Status{State: "running", Instance: "ok", System: "ok"}}, wantStatus: lifecycle.Pass},
		{name: "initializing", instances: &fakeInstances{status: ec2instance.Status{State: "running", Instance: "initializing", System: "ok"}}, wantStatus: lifecycle.Pending},
		{name: "pending", instances: &fakeInstances{status: ec2instance.Status{State: "pending"}}, wantStatus: lifecycle.Pending},
		{name: "system impaired", instances: &fakeInstances{status: ec2instance.Status{State: "running", Instance: "ok", System: "impaired"}}, wantStatus: lifecycle.Fail},
		{name: "stopped", instances: &fakeInstances{status: ec2instance.Status{State: "stopped"}}, wantStatus: lifecycle.Fail},
		{name: "not listed yet", instances: &fakeInstances{statusErr: ec2instance.ErrNotFound}, wantStatus: lifecycle.Pending},
		{name: "EC2 unreachable", instances: &fakeInstances{statusErr: errors.New("throttled")}, wantStatus: lifecycle.Error},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := probe.New(tt.instances, &fakeCommands{}, nil).Probe(t.Context(), "i-1", lifecycle.Probe{Name: "status", Kind: lifecycle.EC2Status}, "")
			if got.Status != tt.wantStatus || got.Name != "status" {
				t.Errorf("got %+v, want status %s", got, tt.wantStatus)
			}
		})
	}
}
