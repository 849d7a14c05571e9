package coldstart

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/smithy-go"

	"github.com/stampkit/stampkit/shared/awsclient/lambdaenv"
	"github.com/stampkit/stampkit/shared/logging"
)

// TestRetriesAreCounted: a call the SDK retries and then gets through
// leaves no error anywhere; the retry is what shows it, by fault class.
func TestRetriesAreCounted(t *testing.T) {
	var out bytes.Buffer
	m := logging.NewMetrics(&out, "Stampkit", func() time.Time { return time.Unix(0, 0) })
	r := countRetries(lambdaenv.Retryer(lambdaenv.DefaultMaxAttempts), m)().(aws.RetryerV2)
	throttle := &smithy.GenericAPIError{Code: "Throttling", Message: "Rate exceeded"}
	if !r.IsErrorRetryable(throttle) {
		t.Fatal("a throttle is not retryable")
	}
	if _, err := r.GetAttemptToken(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := r.RetryDelay(1, throttle); err != nil {
		t.Fatal(err)
	}
	if _, err := r.RetryDelay(2, errors.New("read: connection reset by peer")); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	for _, want := range []string{`"AWSCallsRetried":1,"Fault":"throttled"`, `"AWSCallsRetried":1,"Fault":"connection"`} {
		if !strings.Contains(got, want) {
			t.Errorf("metrics: want %s in\n%s", want, got)
		}
	}
}
