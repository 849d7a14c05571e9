package asg

import (
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
)

// RetryScalingActivity is an autoscaling client option: a change refused
// with ScalingActivityInProgress, because another scaling activity is still
// running, is safe to repeat, so the SDK's retryer retries it with backoff
// within the caller's deadline like a throttle.
func RetryScalingActivity(o *autoscaling.Options) {
	o.Retryer = retry.AddWithErrorCodes(o.Retryer, "ScalingActivityInProgress")
}
