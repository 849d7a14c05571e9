// Package awserr classifies AWS API errors in one place so that adapters and
// handlers branch on meaning (throttled, not found, conflict) instead of on
// service-specific error codes.
//
// Every classifier unwraps with errors.As, so errors wrapped with %w any
// number of times are classified like the original.
package awserr

import (
	"errors"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go"
)

// throttleCodes are error codes that mean "slow down". They follow the SDK's
// retry.DefaultThrottleErrorCodes minus LimitExceededException: Auto Scaling
// and others use LimitExceeded* for account quotas, which waiting does not fix.
var throttleCodes = map[string]bool{
	"Throttling":                             true,
	"ThrottlingException":                    true,
	"ThrottledException":                     true,
	"RequestThrottledException":              true,
	"RequestThrottled":                       true,
	"TooManyRequestsException":               true,
	"ProvisionedThroughputExceededException": true,
	"RequestLimitExceeded":                   true,
	"BandwidthLimitExceeded":                 true,
	"SlowDown":                               true,
	"PriorRequestNotComplete":                true,
	"EC2ThrottledException":                  true,
	"TransactionInProgressException":         true,
}

// notFoundCodes are not-found codes that the suffix rules in IsNotFound miss.
var notFoundCodes = map[string]bool{
	"NoSuchEntity": true,
	"NoSuchKey":    true,
}

// conflictCodes mean the request lost a race with another writer or with an
// activity in progress: re-read state before deciding again.
var conflictCodes = map[string]bool{
	"ConditionalCheckFailedException": true, // DynamoDB condition expression
	"TransactionConflictException":    true, // DynamoDB transactions
	"TransactionCanceledException":    true, // DynamoDB, a condition in a transaction failed
	"ScalingActivityInProgress":       true, // Auto Scaling, group busy
	"InstanceRefreshInProgress":       true, // Auto Scaling, a refresh already runs
	"ResourceInUse":                   true, // Auto Scaling, ELBv2
	"ResourceInUseException":          true, // DynamoDB table being changed
	"ResourceContention":              true, // Auto Scaling, concurrent update
	"ParameterAlreadyExists":          true, // SSM Put without overwrite
	"IncorrectInstanceState":          true, // EC2
}

// rejectedCodes mean the request itself is refused (invalid, or not
// allowed): sent again unchanged, it fails the same way.
var rejectedCodes = map[string]bool{
	"ValidationError":             true, // Query protocols (Auto Scaling, ELBv2, CloudWatch)
	"ValidationException":         true, // JSON protocols (DynamoDB, SSM)
	"InvalidParameter":            true,
	"InvalidParameterValue":       true,
	"InvalidParameterCombination": true,
	"InvalidParameterException":   true,
	"MissingParameter":            true,
	"AccessDenied":                true,
	"AccessDeniedException":       true,
	"UnauthorizedOperation":       true, // EC2
	"IrreversibleInstanceRefresh": true, // Auto Scaling: a refresh that cannot be rolled back
}

// Code returns the AWS error code of err, or "" when err carries none.
func Code(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// IsThrottled reports whether AWS rejected the request for its rate.
func IsThrottled(err error) bool {
	return throttleCodes[Code(err)]
}

// IsNotFound reports whether the named resource does not exist. Besides codes
// ending in NotFound (EC2 "InvalidAMIID.NotFound", ELBv2 "TargetGroupNotFound",
// SSM "ParameterNotFound", DynamoDB "ResourceNotFoundException") it accepts the
// Query-protocol "ValidationError" whose message says "not found": Auto Scaling
// reports a missing group as "AutoScalingGroup name not found - …".
func IsNotFound(err error) bool {
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		return false
	}
	code := ae.ErrorCode()
	switch {
	case notFoundCodes[code],
		strings.HasSuffix(code, "NotFound"),
		strings.HasSuffix(code, "NotFoundException"),
		strings.HasSuffix(code, "NotFoundFault"),
		strings.Contains(code, ".NotFound"):
		return true
	case code == "ValidationError":
		return strings.Contains(strings.ToLower(ae.ErrorMessage()), "not found")
	}
	return false
}

// IsConflict reports whether the request lost a race: a failed condition, a
// resource in use or an activity already in progress.
func IsConflict(err error) bool {
	return conflictCodes[Code(err)]
}

// IsRejected reports whether AWS refused the request as such: invalid, not
// allowed, or naming something that does not exist (IsNotFound). Retrying
// it unchanged cannot succeed; the caller has to decide something else.
func IsRejected(err error) bool {
	return rejectedCodes[Code(err)] || IsNotFound(err)
}

// IsNoActiveLifecycleAction reports whether Auto Scaling rejected a lifecycle
// completion or heartbeat because the action is gone: already completed,
// abandoned, or timed out. Auto Scaling sends it as a generic ValidationError
// ("No active Lifecycle Action found with instance ID i-…"), so the message is
// the only signal. A handler treats it as "someone else finished the job".
func IsNoActiveLifecycleAction(err error) bool {
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "ValidationError" {
		return false
	}
	return strings.Contains(strings.ToLower(ae.ErrorMessage()), "no active lifecycle action found")
}

// IsServerError reports whether AWS answered with a 5xx that is not a
// throttle: its side failed, and the same request may succeed later.
func IsServerError(err error) bool {
	var re interface{ HTTPStatusCode() int }
	return errors.As(err, &re) && re.HTTPStatusCode() >= 500 && !IsThrottled(err)
}

// IsConnectionError reports whether the request never got an answer: the
// connection was refused, reset or cut (retry.RetryableConnectionError's
// classification). Whether it took effect is unknown.
func IsConnectionError(err error) bool {
	return retry.RetryableConnectionError{}.IsErrorRetryable(err) == aws.TrueTernary
}

// MayHaveApplied reports whether a call that failed with err may still
// have done what it asked: AWS never answered (a connection reset, a
// timeout, the caller's deadline), or answered with a server error (HTTP
// 5xx), which does not say whether the request was carried out. An error
// response of the client kind (HTTP 4xx: throttled, invalid, in conflict)
// says the request was refused. Before retrying a change that is not
// idempotent, a caller must assume one that may have applied did.
func MayHaveApplied(err error) bool {
	if err == nil {
		return false
	}
	var resp interface{ HTTPStatusCode() int }
	if errors.As(err, &resp) && resp.HTTPStatusCode() > 0 {
		return resp.HTTPStatusCode() >= 500
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorFault() == smithy.FaultServer
	}
	return true
}
