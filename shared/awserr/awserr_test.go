package awserr_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"syscall"
	"testing"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/stampkit/stampkit/shared/awserr"
)

func apiErr(code, msg string) error {
	return &smithy.GenericAPIError{Code: code, Message: msg, Fault: smithy.FaultClient}
}

// want lists which classifiers must say true; every other one must say false.
type want struct {
	throttled, notFound, conflict, noAction, rejected bool
}

func TestClassify(t *testing.T) {
	cases := []struct {
		name string
		err  error
		want want
	}{
		{"nil", nil, want{}},
		{"plain error", errors.New("boom"), want{}},
		{"throttling query", apiErr("Throttling", "Rate exceeded"), want{throttled: true}},
		{"throttling json", apiErr("ThrottlingException", "Rate exceeded"), want{throttled: true}},
		{"ec2 request limit", apiErr("RequestLimitExceeded", "Request limit exceeded."), want{throttled: true}},
		{"too many requests", apiErr("TooManyRequestsException", ""), want{throttled: true}},
		{"dynamo throughput", apiErr("ProvisionedThroughputExceededException", ""), want{throttled: true}},
		{"asg quota is not throttling", apiErr("LimitExceeded", "max groups"), want{}},
		{"ec2 ami not found", apiErr("InvalidAMIID.NotFound", "The image id '[ami-1]' does not exist"), want{notFound: true, rejected: true}},
		{"ec2 lt version not found", apiErr("InvalidLaunchTemplateId.VersionNotFound", ""), want{notFound: true, rejected: true}},
		{"ec2 lt name not found", apiErr("InvalidLaunchTemplateName.NotFoundException", ""), want{notFound: true, rejected: true}},
		{"elb target group", apiErr("TargetGroupNotFound", ""), want{notFound: true, rejected: true}},
		{"ssm parameter", apiErr("ParameterNotFound", ""), want{notFound: true, rejected: true}},
		{"dynamo table", apiErr("ResourceNotFoundException", "Requested resource not found"), want{notFound: true, rejected: true}},
		{"asg refresh", apiErr("ActiveInstanceRefreshNotFound", ""), want{notFound: true, rejected: true}},
		{"iam entity", apiErr("NoSuchEntity", ""), want{notFound: true, rejected: true}},
		{"asg missing group", apiErr("ValidationError", "AutoScalingGroup name not found - AutoScalingGroup 'web' not found"), want{notFound: true, rejected: true}},
		{"asg other validation", apiErr("ValidationError", "Desired capacity:9 must be between the specified min size:1 and max size:3"), want{rejected: true}},
		{"no active lifecycle action by instance", apiErr("ValidationError", "No active Lifecycle Action found with instance ID i-0123"), want{noAction: true, rejected: true}},
		{"no active lifecycle action by token", apiErr("ValidationError", "No active Lifecycle Action found with token 3f2a"), want{noAction: true, rejected: true}},
		{"lifecycle text under other code", apiErr("InvalidParameter", "No active Lifecycle Action found"), want{rejected: true}},
		{"json validation", apiErr("ValidationException", "1 validation error detected"), want{rejected: true}},
		{"access denied", apiErr("AccessDenied", "User is not authorized to perform: autoscaling:StartInstanceRefresh"), want{rejected: true}},
		{"ec2 unauthorized", apiErr("UnauthorizedOperation", "You are not authorized to perform this operation."), want{rejected: true}},
		{"refresh cannot roll back", apiErr("IrreversibleInstanceRefresh", ""), want{rejected: true}},
		{"conditional check", apiErr("ConditionalCheckFailedException", "The conditional request failed"), want{conflict: true}},
		{"typed conditional check", &types.ConditionalCheckFailedException{Message: new("The conditional request failed")}, want{conflict: true}},
		{"scaling in progress", apiErr("ScalingActivityInProgress", ""), want{conflict: true}},
		{"resource in use", apiErr("ResourceInUse", ""), want{conflict: true}},
		{"refresh in progress", apiErr("InstanceRefreshInProgress", ""), want{conflict: true}},
		{"internal error", apiErr("InternalError", ""), want{}},
		{"service unavailable", apiErr("ServiceUnavailable", ""), want{}},
		{"unknown server fault", &smithy.GenericAPIError{Code: "Weird", Fault: smithy.FaultServer}, want{}},
		{"canceled", context.Canceled, want{}},
		{"deadline", fmt.Errorf("calling: %w", context.DeadlineExceeded), want{}},
	}
	for _, tc := range cases {
		for _, wrapped := range []bool{false, true} {
			err := tc.err
			name := tc.name
			if wrapped && err != nil {
				err = fmt.Errorf("outer: %w", fmt.Errorf("inner %s: %w", "x", err))
				name += " wrapped"
			}
			t.Run(name, func(t *testing.T) {
				got := want{
					throttled: awserr.IsThrottled(err),
					notFound:  awserr.IsNotFound(err),
					conflict:  awserr.IsConflict(err),
					noAction:  awserr.IsNoActiveLifecycleAction(err),
					rejected:  awserr.IsRejected(err),
				}
				if got != tc.want {
					t.Errorf("classify(%v): got %+v, want %+v", err, got, tc.want)
				}
			})
		}
	}
}

func TestCode(t *testing.T) {
	cases := []struct {
		name string
		err  error
		want string
	}{
		{"nil", nil, ""},
		{"plain", errors.New("x"), ""},
		{"api", apiErr("Throttling", "m"), "Throttling"},
		{"wrapped api", fmt.Errorf("a: %w", apiErr("ParameterNotFound", "m")), "ParameterNotFound"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := awserr.Code(tc.err); got != tc.want {
				t.Errorf("Code(%v): got %q, want %q", tc.err, got, tc.want)
			}
		})
	}
}

func TestMayHaveApplied(t *testing.T) {
	response := func(status int, err error) error {
		return &awshttp.ResponseError{ResponseError: &smithyhttp.ResponseError{
			Response: &smithyhttp.Response{Response: &http.Response{StatusCode: status}}, Err: err}}
	}
	cases := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"throttled", response(400, apiErr("Throttling", "Rate exceeded")), false},
		{"invalid", response(400, apiErr("ValidationError", "bad")), false},
		{"in conflict", response(400, apiErr("ScalingActivityInProgress", "")), false},
		{"api error without a response", apiErr("ThrottlingException", ""), false},
		{"server error", response(500, apiErr("InternalFailure", "")), true},
		{"unavailable", response(503, apiErr("ServiceUnavailable", "")), true},
		{"server fault without a response", &smithy.GenericAPIError{Code: "InternalError", Fault: smithy.FaultServer}, true},
		{"connection reset", &smithyhttp.RequestSendError{Err: &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}}, true},
		{"deadline", context.DeadlineExceeded, true},
		{"plain", errors.New("boom"), true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.err
			if err != nil {
				err = &smithy.OperationError{ServiceID: "Auto Scaling", OperationName: "SetDesiredCapacity", Err: fmt.Errorf("wrapped: %w", err)}
			}
			if got := awserr.MayHaveApplied(err); got != tc.want {
				t.Errorf("MayHaveApplied(%v): got %v, want %v", err, got, tc.want)
			}
		})
	}
}
