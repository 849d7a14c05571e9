// Package probe runs the lifecycle gate's readiness probes against one
// instance: HTTP on its private address, a shell check through SSM Run
// Command, and the EC2 status checks. Each probe answers with a
// lifecycle.ProbeResult; trouble reaching an API is a result (Error), not a
// Go error, so that the gate's own timeout decides what it means.
//
// An HTTP probe passes on a 2xx answer. Nothing listening, no answer within
// the probe's timeout, 503 Service Unavailable and the gateway errors 502
// and 504 (a proxy whose application is not up yet) are Pending: only the
// gate's timeout ends that wait. Any other answer (4xx, 500, a redirect,
// which is never followed) is a Fail, counted against AllowedFailures.
package probe

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"

	"github.com/stampkit/stampkit/shared/ec2instance"
	"github.com/stampkit/stampkit/shared/lifecycle"
	"github.com/stampkit/stampkit/shared/ssmcommand"
)

// Instances reads what the probes need to know about an instance.
type Instances interface {
	PrivateIP(ctx context.Context, instanceID string) (string, error)
	Status(ctx context.Context, instanceID string) (ec2instance.Status, error)
}

// Commands runs SSM commands.
type Commands interface {
	Send(ctx context.Context, instanceID string, c ssmcommand.Command) (string, error)
	Invocation(ctx context.Context, commandID, instanceID string) (ssmcommand.Invocation, error)
}

// Runner runs probes. Its zero value is not usable; call New.
type Runner struct {
	instances Instances
	commands  Commands
	client    *http.Client
}

// New returns a Runner. client sends the HTTP probes (nil: a plain
// client); the Runner never follows redirects, so a probe sees the answer
// of the instance it addressed.
func New(instances Instances, commands Commands, client *http.Client) *Runner {
	c := &http.Client{}
	if client != nil {
		*c = *client
	}
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &Runner{instances: instances, commands: commands, client: c}
}

// Probe runs p once against instanceID. commandID is the SSM command an
// earlier round sent and the gate still awaits ("" to send a new one).
func (r *Runner) Probe(ctx context.Context, instanceID string, p lifecycle.Probe, commandID string) lifecycle.ProbeResult {
	var res lifecycle.ProbeResult
	switch p.Kind {
	case lifecycle.HTTP:
		res = r.http(ctx, instanceID, p)
	case lifecycle.SSM:
		res = r.ssm(ctx, instanceID, p, commandID)
	case lifecycle.EC2Status:
		res = r.status(ctx, instanceID)
	default:
		res = lifecycle.ProbeResult{Status: lifecycle.Error, Detail: fmt.Sprintf("unknown probe kind %q", p.Kind)}
	}
	res.Name = p.Name
	return res
}

func (r *Runner) http(ctx context.Context, instanceID string, p lifecycle.Probe) lifecycle.ProbeResult {
	ip, err := r.instances.PrivateIP(ctx, instanceID)
	switch {
	case errors.Is(err, ec2instance.ErrNotFound):
		return pending("instance not listed yet")
	case err != nil:
		return failedCall(err)
	case ip == "":
		return pending("no private address yet")
	}
	url := "http://" + net.JoinHostPort(ip, strconv.Itoa(p.Port)) + p.Path
	timeout := p.Timeout.Std()
	if timeout <= 0 {
		timeout = lifecycle.DefaultHTTPTimeout
	}
	reqCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(reqCtx, http.MethodGet, url, nil)
	if err != nil {
		return lifecycle.ProbeResult{Status: lifecycle.Fail, Detail: fmt.Sprintf("building GET %s: %v", url, err)}
	}
	resp, err := r.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			// The invocation itself ran out of time; that says nothing
			// about the instance.
			return failedCall(err)
		}
		// Nothing listening yet, or too slow to answer: still booting.
		return pending(err.Error()) // a *url.Error names the method and URL
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // lets the connection be reused
	detail := fmt.Sprintf("GET %s: %s", url, resp.Status)
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return lifecycle.ProbeResult{Status: lifecycle.Pass, Detail: detail}
	case resp.StatusCode == http.StatusServiceUnavailable,
		resp.StatusCode == http.StatusBadGateway,
		resp.StatusCode == http.StatusGatewayTimeout:
		// 503 is the conventional "up but not ready yet"; 502 and 504 are
		// a reverse proxy on the instance saying the application behind it
		// is not answering yet. Failing them would abandon an instance
		// that is still booting, and its replacement the same way.
		return pending(detail)
	}
	return lifecycle.ProbeResult{Status: lifecycle.Fail, Detail: detail}
}

func (r *Runner) ssm(ctx context.Context, instanceID string, p lifecycle.Probe, commandID string) lifecycle.ProbeResult {
	if commandID == "" {
		timeout := p.Timeout.Std()
		if timeout <= 0 {
			timeout = lifecycle.DefaultSSMTimeout
		}
		doc := p.Document
		if doc == "" {
			doc = lifecycle.DefaultSSMDocument
		}
		id, err := r.commands.Send(ctx, instanceID, ssmcommand.Command{
			Document: doc, Commands: p.Commands, Timeout: timeout, Comment: "stampkit probe " + p.Name,
		})
		switch {
		case errors.Is(err, ssmcommand.ErrNotManaged):
			return pending("SSM agent not online yet")
		case err != nil:
			return failedCall(err)
		}
		return lifecycle.ProbeResult{Status: lifecycle.Pending, Detail: "command " + id + " sent", CommandID: id}
	}
	inv, err := r.commands.Invocation(ctx, commandID, instanceID)
	switch {
	case errors.Is(err, ssmcommand.ErrNoInvocation):
		return lifecycle.ProbeResult{Status: lifecycle.Pending, Detail: "command " + commandID + " not picked up yet", CommandID: commandID}
	case err != nil:
		res := failedCall(err)
		res.CommandID = commandID
		return res
	case !inv.Done():
		return lifecycle.ProbeResult{Status: lifecycle.Pending, Detail: "command " + commandID + " " + inv.Status, CommandID: commandID}
	case inv.Status == ssmcommand.StatusSuccess:
		return lifecycle.ProbeResult{Status: lifecycle.Pass, Detail: "command " + commandID + " succeeded"}
	}
	detail := fmt.Sprintf("command %s %s (exit %d)", commandID, inv.Status, inv.ResponseCode)
	if inv.Output != "" {
		detail += ": " + inv.Output
	}
	return lifecycle.ProbeResult{Status: lifecycle.Fail, Detail: detail}
}

func (r *Runner) status(ctx context.Context, instanceID string) lifecycle.ProbeResult {
	st, err := r.instances.Status(ctx, instanceID)
	switch {
	case errors.Is(err, ec2instance.ErrNotFound):
		return pending("instance not listed yet")
	case err != nil:
		return failedCall(err)
	}
	detail := fmt.Sprintf("%s, instance check %s, system check %s", st.State, orNone(st.Instance), orNone(st.System))
	switch {
	case st.State == ec2instance.StatePending:
		return pending(detail)
	case st.State != ec2instance.StateRunning:
		// Stopping, stopped, shutting down or terminated: it will not
		// become ready.
		return lifecycle.ProbeResult{Status: lifecycle.Fail, Detail: detail}
	case st.Instance == ec2instance.CheckImpaired || st.System == ec2instance.CheckImpaired:
		return lifecycle.ProbeResult{Status: lifecycle.Fail, Detail: detail}
	case st.Instance == ec2instance.CheckOK && st.System == ec2instance.CheckOK:
		return lifecycle.ProbeResult{Status: lifecycle.Pass, Detail: detail}
	}
	return pending(detail)
}

func pending(detail string) lifecycle.ProbeResult {
	return lifecycle.ProbeResult{Status: lifecycle.Pending, Detail: detail}
}

func failedCall(err error) lifecycle.ProbeResult {
	return lifecycle.ProbeResult{Status: lifecycle.Error, Detail: err.Error()}
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// Compile-time proof that the adapters fit the ports.
var (
	_ Instances = (*ec2instance.Adapter)(nil)
	_ Commands  = (*ssmcommand.Adapter)(nil)
)
