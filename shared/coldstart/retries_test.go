package coldstart_test

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/stampkit/stampkit/shared/coldstart"
	"github.com/stampkit/stampkit/shared/config"
)

// scripted answers each request with the next status and body, in memory.
type scripted struct {
	answers []string // "status body"
	calls   int
}

func (s *scripted) Do(*http.Request) (*http.Response, error) {
	a := s.answers[min(s.calls, len(s.answers)-1)]
	s.calls++
	status, body, _ := strings.Cut(a, " ")
	code := 200
	if status == "400" {
		code = 400
	}
	return &http.Response{StatusCode: code, Header: http.Header{"Content-Type": {"application/x-amz-json-1.1"}},
		Body: io.NopCloser(strings.NewReader(body)), ContentLength: int64(len(body))}, nil
}

// TestRetriesAreCounted: a call the SDK retries and then gets through
// leaves no error anywhere; each retry it made shows, by fault class,
// through the config the functions load.
func TestRetriesAreCounted(t *testing.T) {
	env := map[string]string{
		config.EnvTable: "state", config.EnvFleets: `[{"name":"web","group":"web-asg"}]`,
		"AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "secret", "AWS_REGION": "eu-west-1",
	}
	var out bytes.Buffer
	e, err := coldstart.Load(func(k string) string { return env[k] }, &out)
	if err != nil {
		t.Fatal(err)
	}
	http := &scripted{answers: []string{
		`400 {"__type":"ThrottlingException","message":"Rate exceeded"}`,
		`400 {"__type":"ThrottlingException","message":"Rate exceeded"}`,
		`200 {"Parameter":{"Name":"/p","Value":"v"}}`,
	}}
	e.AWS.HTTPClient = http
	// The functions' own retryer, as Load sets it, is what must be counted.
	client := ssm.NewFromConfig(e.AWS)
	start := time.Now()
	if _, err := client.GetParameter(t.Context(), &ssm.GetParameterInput{Name: aws.String("/p")}); err != nil {
		t.Fatalf("GetParameter after two throttles: %v", err)
	}
	if http.calls != 3 {
		t.Fatalf("attempts: got %d, want 3", http.calls)
	}
	if n := strings.Count(out.String(), `"AWSCallsRetried":1,"Fault":"throttled"`); n != 2 {
		t.Errorf("AWSCallsRetried{throttled} records: got %d, want 2 (took %s)\n%s", n, time.Since(start), out.String())
	}
}
