package coldstart

import (
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/stampkit/stampkit/shared/invocation"
	"github.com/stampkit/stampkit/shared/logging"
)

// countRetries wraps each service client's retryer so that every retry the
// SDK makes is counted as the AWSCallsRetried metric, by fault class: a
// call that needed retries and then succeeded shows there and nowhere
// else, and one whose retries ran out also fails its event (EffectsFailed).
func countRetries(next func() aws.Retryer, metrics *logging.Metrics) func() aws.Retryer {
	return func() aws.Retryer {
		r := next()
		v2, ok := r.(aws.RetryerV2)
		if !ok {
			return r
		}
		return countingRetryer{RetryerV2: v2, metrics: metrics}
	}
}

type countingRetryer struct {
	aws.RetryerV2
	metrics *logging.Metrics
}

// RetryDelay is called once per retry, after the SDK decided to retry.
func (r countingRetryer) RetryDelay(attempt int, err error) (time.Duration, error) {
	// A metric that cannot be written must not change the call's fate.
	_ = r.metrics.Emit(map[string]string{"Fault": invocation.FaultOf(err)},
		logging.Metric{Name: "AWSCallsRetried", Value: 1, Unit: logging.Count})
	return r.RetryerV2.RetryDelay(attempt, err)
}
