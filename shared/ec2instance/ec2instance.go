// Package ec2instance adapts the EC2 API to what stampkit reads about one
// instance: its private address, to probe it, and its state and status
// checks. No SDK type crosses the package boundary.
package ec2instance

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// API is the subset of *ec2.Client the adapter calls.
type API interface {
	DescribeInstances(ctx context.Context, in *ec2.DescribeInstancesInput, optFns ...func(*ec2.Options)) (*ec2.DescribeInstancesOutput, error)
	DescribeInstanceStatus(ctx context.Context, in *ec2.DescribeInstanceStatusInput, optFns ...func(*ec2.Options)) (*ec2.DescribeInstanceStatusOutput, error)
}

var _ API = (*ec2.Client)(nil)

// ErrNotFound reports an instance EC2 does not list (yet, or any more).
var ErrNotFound = errors.New("instance not found")

// Instance states and status-check summaries, as EC2 names them.
const (
	StatePending      = "pending"
	StateRunning      = "running"
	StateShuttingDown = "shutting-down"
	StateTerminated   = "terminated"
	StateStopping     = "stopping"
	StateStopped      = "stopped"

	CheckOK               = "ok"
	CheckImpaired         = "impaired"
	CheckInitializing     = "initializing"
	CheckInsufficientData = "insufficient-data"
	CheckNotApplicable    = "not-applicable"
)

// Adapter calls EC2 through an API.
type Adapter struct {
	api API
}

// New returns an Adapter over api, normally an *ec2.Client.
func New(api API) *Adapter {
	return &Adapter{api: api}
}

// Status is an instance's state and its two status checks.
type Status struct {
	State string // one of the State* constants
	// Instance and System are the status checks (Check* constants); empty
	// while EC2 reports none, as for an instance not running.
	Instance, System string
}

// PrivateIP returns the instance's primary private IPv4 address; an
// instance without one yet (still pending) has "".
func (a *Adapter) PrivateIP(ctx context.Context, instanceID string) (string, error) {
	out, err := a.api.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{instanceID}})
	if err != nil {
		return "", fmt.Errorf("describing instance %s: %w", instanceID, err)
	}
	for _, r := range out.Reservations {
		for _, in := range r.Instances {
			if aws.ToString(in.InstanceId) == instanceID {
				return aws.ToString(in.PrivateIpAddress), nil
			}
		}
	}
	return "", fmt.Errorf("describing instance %s: %w", instanceID, ErrNotFound)
}

// Status reads the instance's state and status checks. It asks for every
// instance state, not only running ones, so that a stopped or terminated
// instance reads as such instead of as missing.
func (a *Adapter) Status(ctx context.Context, instanceID string) (Status, error) {
	out, err := a.api.DescribeInstanceStatus(ctx, &ec2.DescribeInstanceStatusInput{
		InstanceIds:         []string{instanceID},
		IncludeAllInstances: aws.Bool(true),
	})
	if err != nil {
		return Status{}, fmt.Errorf("describing status of instance %s: %w", instanceID, err)
	}
	for _, s := range out.InstanceStatuses {
		if aws.ToString(s.InstanceId) != instanceID {
			continue
		}
		st := Status{Instance: summary(s.InstanceStatus), System: summary(s.SystemStatus)}
		if s.InstanceState != nil {
			st.State = string(s.InstanceState.Name)
		}
		return st, nil
	}
	return Status{}, fmt.Errorf("describing status of instance %s: %w", instanceID, ErrNotFound)
}

func summary(s *types.InstanceStatusSummary) string {
	if s == nil {
		return ""
	}
	return string(s.Status)
}
