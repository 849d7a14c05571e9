package awsproxy

import (
	"context"
	"net/http"
	"net/url"
	"sync"
)

// clientTokens models the idempotency EC2 gives a request that carries a
// client token, which moto ignores (a repeated CreateLaunchTemplateVersion
// makes another version). It follows "Ensuring idempotency in Amazon EC2 API
// requests" (https://docs.aws.amazon.com/ec2/latest/devguide/ec2-api-idempotency.html):
//
//   - a request whose ClientToken was used before by a request that
//     succeeded, with the same parameters, succeeds again without doing
//     anything: the proxy answers it with the first answer, unsent to the
//     emulator;
//   - the same token with other parameters is the error
//     IdempotentParameterMismatch (400);
//   - a request that failed leaves its token unused: the retry is sent.
//
// Only the calls the toolkit sends a token with are modelled
// (tokenOperations); the rest pass to moto as they are.
type clientTokens struct {
	mu sync.Mutex
	// used holds each successful request's parameters and answer, by
	// operation and token.
	used map[string]tokenUse
}

type tokenUse struct {
	params string // the request's parameters but the token, encoded in key order
	answer answer
}

// tokenOperations are the EC2 calls whose ClientToken the model honours.
var tokenOperations = map[string]bool{"CreateLaunchTemplateVersion": true}

func newClientTokens() *clientTokens { return &clientTokens{used: map[string]tokenUse{}} }

func (c *clientTokens) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.used = map[string]tokenUse{}
}

func (c *clientTokens) handles(req *request) bool {
	return req.service == EC2 && tokenOperations[req.operation] && req.form.Get("ClientToken") != ""
}

// serve answers a repeated request from the first answer, and sends a new
// one on to the emulator, remembering its answer if it succeeded. The lock
// is held across the call, so two requests with one token never both reach
// the emulator.
func (c *clientTokens) serve(ctx context.Context, p *Proxy, req *request) (answer, error) {
	params := url.Values{}
	for k, v := range req.form {
		if k != "ClientToken" {
			params[k] = v
		}
	}
	key := req.operation + "\x00" + req.form.Get("ClientToken")
	c.mu.Lock()
	defer c.mu.Unlock()
	if u, ok := c.used[key]; ok {
		if u.params != params.Encode() {
			a := errorAnswer(req, http.StatusBadRequest, "IdempotentParameterMismatch",
				"The client token you have provided is associated with a resource that is already deleted or has different parameters. Please use a different client token.")
			a.model = "client token"
			return a, nil
		}
		a := u.answer
		a.header = a.header.Clone()
		a.model = "client token"
		return a, nil
	}
	a, err := p.forward(ctx, req.http, req.body)
	if err == nil && a.status < 300 {
		c.used[key] = tokenUse{params: params.Encode(), answer: a}
	}
	return a, err
}
