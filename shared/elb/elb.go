// Package elb adapts Elastic Load Balancing v2 (ALB) to the calls stampkit
// makes: reading and draining a target group, and shifting weighted traffic
// between target groups on a listener (the weight transition pattern). No SDK
// type crosses the package boundary.
package elb

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
)

// API is the subset of *elasticloadbalancingv2.Client the adapter calls.
type API interface {
	DescribeTargetHealth(ctx context.Context, in *elbv2.DescribeTargetHealthInput, optFns ...func(*elbv2.Options)) (*elbv2.DescribeTargetHealthOutput, error)
	DeregisterTargets(ctx context.Context, in *elbv2.DeregisterTargetsInput, optFns ...func(*elbv2.Options)) (*elbv2.DeregisterTargetsOutput, error)
	DescribeTargetGroupAttributes(ctx context.Context, in *elbv2.DescribeTargetGroupAttributesInput, optFns ...func(*elbv2.Options)) (*elbv2.DescribeTargetGroupAttributesOutput, error)
	DescribeListeners(ctx context.Context, in *elbv2.DescribeListenersInput, optFns ...func(*elbv2.Options)) (*elbv2.DescribeListenersOutput, error)
	ModifyListener(ctx context.Context, in *elbv2.ModifyListenerInput, optFns ...func(*elbv2.Options)) (*elbv2.ModifyListenerOutput, error)
}

var _ API = (*elbv2.Client)(nil)

// Target health states, as ELB names them.
const (
	StateInitial     = "initial"
	StateHealthy     = "healthy"
	StateUnhealthy   = "unhealthy"
	StateUnused      = "unused"
	StateDraining    = "draining"
	StateUnavailable = "unavailable"
)

// DefaultDeregistrationDelay is what AWS uses when a target group does not
// set deregistration_delay.timeout_seconds.
const DefaultDeregistrationDelay = 300 * time.Second

// Adapter calls ELBv2 through an API.
type Adapter struct {
	api API
}

// New returns an Adapter over api, normally an *elasticloadbalancingv2.Client.
func New(api API) *Adapter {
	return &Adapter{api: api}
}

// Target is one registered target and its health.
type Target struct {
	ID     string // instance ID for instance target groups
	Port   int32
	State  string // one of the State* constants
	Reason string // e.g. "Target.DeregistrationInProgress"; empty when healthy
}

// TargetHealth lists the targets registered in a target group with their
// health. Targets still draining are listed with StateDraining.
func (a *Adapter) TargetHealth(ctx context.Context, targetGroupARN string) ([]Target, error) {
	out, err := a.api.DescribeTargetHealth(ctx, &elbv2.DescribeTargetHealthInput{
		TargetGroupArn: aws.String(targetGroupARN),
	})
	if err != nil {
		return nil, fmt.Errorf("describing target health of %s: %w", targetGroupARN, err)
	}
	targets := make([]Target, 0, len(out.TargetHealthDescriptions))
	for _, d := range out.TargetHealthDescriptions {
		t := Target{}
		if d.Target != nil {
			t.ID = aws.ToString(d.Target.Id)
			t.Port = aws.ToInt32(d.Target.Port)
		}
		if d.TargetHealth != nil {
			t.State = string(d.TargetHealth.State)
			t.Reason = string(d.TargetHealth.Reason)
		}
		targets = append(targets, t)
	}
	return targets, nil
}

// Deregister removes an instance from a target group. ELB then drains it for
// the group's deregistration delay before the target disappears.
func (a *Adapter) Deregister(ctx context.Context, targetGroupARN, instanceID string) error {
	_, err := a.api.DeregisterTargets(ctx, &elbv2.DeregisterTargetsInput{
		TargetGroupArn: aws.String(targetGroupARN),
		Targets:        []types.TargetDescription{{Id: aws.String(instanceID)}},
	})
	if err != nil {
		return fmt.Errorf("deregistering %s from %s: %w", instanceID, targetGroupARN, err)
	}
	return nil
}

// DeregistrationDelay reads how long the target group drains a deregistered
// target; a lifecycle hook waits at least this long before terminating.
func (a *Adapter) DeregistrationDelay(ctx context.Context, targetGroupARN string) (time.Duration, error) {
	out, err := a.api.DescribeTargetGroupAttributes(ctx, &elbv2.DescribeTargetGroupAttributesInput{
		TargetGroupArn: aws.String(targetGroupARN),
	})
	if err != nil {
		return 0, fmt.Errorf("describing attributes of %s: %w", targetGroupARN, err)
	}
	for _, attr := range out.Attributes {
		if aws.ToString(attr.Key) != "deregistration_delay.timeout_seconds" {
			continue
		}
		s, err := strconv.Atoi(aws.ToString(attr.Value))
		if err != nil || s < 0 {
			return 0, fmt.Errorf("parsing deregistration delay %q of %s: %w", aws.ToString(attr.Value), targetGroupARN, errBadAttribute)
		}
		return time.Duration(s) * time.Second, nil
	}
	return DefaultDeregistrationDelay, nil
}

var errBadAttribute = errors.New("not a whole number of seconds")
