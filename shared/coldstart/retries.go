package coldstart

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go/middleware"

	"github.com/stampkit/stampkit/shared/invocation"
	"github.com/stampkit/stampkit/shared/logging"
)

// countRetries adds to every client built from the config a middleware
// around the SDK's retry loop that counts each retry it made as the
// AWSCallsRetried metric, by fault class: a call that needed retries and
// then succeeded shows there and nowhere else, and one whose retries ran
// out also fails its event (EffectsFailed). It reads the attempts the
// retry loop reports (retry.GetAttemptResults), so a retry the loop
// decided on but never sent (its backoff cut short by the deadline) is
// not counted.
func countRetries(metrics *logging.Metrics) func(*middleware.Stack) error {
	return func(stack *middleware.Stack) error {
		count := middleware.FinalizeMiddlewareFunc("stampkit.CountRetries",
			func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
				out, md, err := next.HandleFinalize(ctx, in)
				if results, ok := retry.GetAttemptResults(md); ok {
					for _, r := range results.Results {
						if r.Retried {
							// A metric that cannot be written must not change the call's fate.
							_ = metrics.Emit(map[string]string{"Fault": invocation.FaultOf(r.Err)},
								logging.Metric{Name: "AWSCallsRetried", Value: 1, Unit: logging.Count})
						}
					}
				}
				return out, md, err
			})
		return stack.Finalize.Insert(count, (&retry.Attempt{}).ID(), middleware.Before)
	}
}
