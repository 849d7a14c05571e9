// Package ssmcommand adapts SSM Run Command to the calls stampkit makes:
// send shell commands to one instance and read how they went. No SDK type
// crosses the package boundary.
package ssmcommand

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/stampkit/stampkit/shared/awserr"
)

// API is the subset of *ssm.Client the adapter calls.
type API interface {
	SendCommand(ctx context.Context, in *ssm.SendCommandInput, optFns ...func(*ssm.Options)) (*ssm.SendCommandOutput, error)
	GetCommandInvocation(ctx context.Context, in *ssm.GetCommandInvocationInput, optFns ...func(*ssm.Options)) (*ssm.GetCommandInvocationOutput, error)
}

var _ API = (*ssm.Client)(nil)

// ErrNotManaged means SSM cannot reach the instance (yet): its agent has not
// registered, which is what a booting instance looks like.
var ErrNotManaged = errors.New("instance not managed by SSM")

// ErrNoInvocation means SSM has no invocation of the command on the instance
// yet: the answer just after SendCommand, before the agent picked it up.
var ErrNoInvocation = errors.New("no command invocation yet")

// Invocation statuses, as SSM names them.
const (
	StatusPending    = "Pending"
	StatusInProgress = "InProgress"
	StatusDelayed    = "Delayed"
	StatusSuccess    = "Success"
	StatusCancelled  = "Cancelled"
	StatusTimedOut   = "TimedOut"
	StatusFailed     = "Failed"
	StatusCancelling = "Cancelling"
)

// maxOutput bounds the output kept from an invocation: it ends up in logs
// and in the lifecycle state.
const maxOutput = 512

// minTimeout is the least delivery timeout SendCommand accepts.
const minTimeout = 30 * time.Second

// Adapter calls SSM through an API.
type Adapter struct {
	api API
}

// New returns an Adapter over api, normally an *ssm.Client.
func New(api API) *Adapter {
	return &Adapter{api: api}
}

// Command is a shell script run by an SSM document that takes "commands"
// and "executionTimeout" parameters, as AWS-RunShellScript does.
type Command struct {
	Document string
	Commands []string
	// Timeout bounds both the wait for delivery and the execution.
	Timeout time.Duration
	// Comment shows in the SSM console (at most 100 characters).
	Comment string
}

// Invocation is how a command went on one instance.
type Invocation struct {
	Status       string // one of the Status* constants
	ResponseCode int32  // the script's exit status; -1 until it ends
	// Output is the end of the standard error, or of the standard output
	// when there is none, at most 512 bytes.
	Output string
}

// Done reports whether the invocation reached a final status.
func (i Invocation) Done() bool {
	switch i.Status {
	case StatusPending, StatusInProgress, StatusDelayed, StatusCancelling:
		return false
	}
	return true
}

// Send runs c on instanceID and returns the command ID. An instance SSM
// cannot reach yet is ErrNotManaged.
func (a *Adapter) Send(ctx context.Context, instanceID string, c Command) (string, error) {
	timeout := max(c.Timeout, minTimeout)
	secs := strconv.Itoa(int(timeout / time.Second))
	out, err := a.api.SendCommand(ctx, &ssm.SendCommandInput{
		DocumentName:   aws.String(c.Document),
		InstanceIds:    []string{instanceID},
		Parameters:     map[string][]string{"commands": c.Commands, "executionTimeout": {secs}},
		TimeoutSeconds: aws.Int32(int32(timeout / time.Second)),
		Comment:        optional(truncate(c.Comment, 100)),
	})
	if err != nil {
		if awserr.Code(err) == "InvalidInstanceId" {
			err = fmt.Errorf("%w: %w", ErrNotManaged, err)
		}
		return "", fmt.Errorf("sending %s to %s: %w", c.Document, instanceID, err)
	}
	if out.Command == nil || aws.ToString(out.Command.CommandId) == "" {
		return "", fmt.Errorf("sending %s to %s: answer carries no command id", c.Document, instanceID)
	}
	return aws.ToString(out.Command.CommandId), nil
}

// Invocation reads how command commandID went on instanceID. Before the
// agent picked it up the error is ErrNoInvocation.
func (a *Adapter) Invocation(ctx context.Context, commandID, instanceID string) (Invocation, error) {
	out, err := a.api.GetCommandInvocation(ctx, &ssm.GetCommandInvocationInput{
		CommandId:  aws.String(commandID),
		InstanceId: aws.String(instanceID),
	})
	if err != nil {
		if awserr.Code(err) == "InvocationDoesNotExist" {
			err = fmt.Errorf("%w: %w", ErrNoInvocation, err)
		}
		return Invocation{}, fmt.Errorf("reading command %s on %s: %w", commandID, instanceID, err)
	}
	output := aws.ToString(out.StandardErrorContent)
	if output == "" {
		output = aws.ToString(out.StandardOutputContent)
	}
	return Invocation{
		Status:       string(out.Status),
		ResponseCode: out.ResponseCode,
		Output:       tail(output, maxOutput),
	}, nil
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return aws.String(s)
}

// truncate keeps at most the first n bytes of s, cut at a rune boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// tail keeps at most the last n bytes of s, cut at a rune boundary: a
// failing script says why at the end.
func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := len(s) - n
	for i < len(s) && !utf8.RuneStart(s[i]) {
		i++
	}
	return "…" + s[i:]
}
