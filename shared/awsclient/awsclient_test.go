package awsclient_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/stampkit/stampkit/shared/awsclient"
)

// isolate points the SDK at an empty environment: no shared config files, no
// profile, dummy static keys, so nothing on the machine leaks into a test.
func isolate(t *testing.T) {
	t.Helper()
	dir := t.TempDir()
	for k, v := range map[string]string{
		"AWS_CONFIG_FILE":                     filepath.Join(dir, "config"),
		"AWS_SHARED_CREDENTIALS_FILE":         filepath.Join(dir, "credentials"),
		"AWS_PROFILE":                         "",
		"AWS_DEFAULT_REGION":                  "",
		"AWS_REGION":                          "",
		"AWS_ENDPOINT_URL":                    "",
		"AWS_ENDPOINT_URL_AUTO_SCALING":       "",
		"AWS_ENDPOINT_URL_SSM":                "",
		"AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "",
		"AWS_MAX_ATTEMPTS":                    "",
		"AWS_RETRY_MODE":                      "",
		"AWS_ACCESS_KEY_ID":                   "AKIDTEST",
		"AWS_SECRET_ACCESS_KEY":               "secret",
		"AWS_EC2_METADATA_DISABLED":           "true",
	} {
		t.Setenv(k, v)
	}
}

var errStop = errors.New("request captured")

// captureHost returns an API option that records the URL host a request is
// about to be sent to and stops it there, so no request leaves the process.
func captureHost(host *string) func(*middleware.Stack) error {
	return func(s *middleware.Stack) error {
		return s.Finalize.Add(middleware.FinalizeMiddlewareFunc("captureHost",
			func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
				if req, ok := in.Request.(*smithyhttp.Request); ok {
					*host = req.URL.Scheme + "://" + req.URL.Host
				}
				return middleware.FinalizeOutput{}, middleware.Metadata{}, errStop
			}), middleware.After)
	}
}

// sentTo reports where an Auto Scaling and an SSM call built from cfg go.
func sentTo(t *testing.T, cfg aws.Config) (autoScalingHost, ssmHost string) {
	t.Helper()
	as := autoscaling.NewFromConfig(cfg, func(o *autoscaling.Options) {
		o.APIOptions = append(o.APIOptions, captureHost(&autoScalingHost))
	})
	if _, err := as.DescribeAutoScalingGroups(t.Context(), &autoscaling.DescribeAutoScalingGroupsInput{}); !errors.Is(err, errStop) {
		t.Fatalf("autoscaling call: got error %v, want %v", err, errStop)
	}
	sc := ssm.NewFromConfig(cfg, func(o *ssm.Options) {
		o.APIOptions = append(o.APIOptions, captureHost(&ssmHost))
	})
	if _, err := sc.GetParameter(t.Context(), &ssm.GetParameterInput{Name: aws.String("p")}); !errors.Is(err, errStop) {
		t.Fatalf("ssm call: got error %v, want %v", err, errStop)
	}
	return autoScalingHost, ssmHost
}

func TestLoadEndpoints(t *testing.T) {
	cases := []struct {
		name          string
		env           map[string]string
		opts          []awsclient.Option
		wantRegion    string
		wantAutoScale string
		wantSSM       string
	}{
		{
			name:          "real endpoints by default",
			env:           map[string]string{"AWS_REGION": "eu-west-1"},
			wantRegion:    "eu-west-1",
			wantAutoScale: "https://autoscaling.eu-west-1.amazonaws.com",
			wantSSM:       "https://ssm.eu-west-1.amazonaws.com",
		},
		{
			name:          "AWS_ENDPOINT_URL sends every service to the emulator",
			env:           map[string]string{"AWS_REGION": "us-east-2", "AWS_ENDPOINT_URL": "http://127.0.0.1:5000"},
			wantRegion:    "us-east-2",
			wantAutoScale: "http://127.0.0.1:5000",
			wantSSM:       "http://127.0.0.1:5000",
		},
		{
			name: "per-service variable wins for its service only",
			env: map[string]string{
				"AWS_REGION":                    "us-east-1",
				"AWS_ENDPOINT_URL":              "http://127.0.0.1:5000",
				"AWS_ENDPOINT_URL_AUTO_SCALING": "http://127.0.0.1:6000",
			},
			wantRegion:    "us-east-1",
			wantAutoScale: "http://127.0.0.1:6000",
			wantSSM:       "http://127.0.0.1:5000",
		},
		{
			name:          "options override the environment",
			env:           map[string]string{"AWS_REGION": "us-east-1", "AWS_ENDPOINT_URL": "http://127.0.0.1:5000"},
			opts:          []awsclient.Option{awsclient.WithRegion("ap-northeast-2"), awsclient.WithEndpoint("http://127.0.0.1:7000")},
			wantRegion:    "ap-northeast-2",
			wantAutoScale: "http://127.0.0.1:7000",
			wantSSM:       "http://127.0.0.1:7000",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			isolate(t)
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			cfg, err := awsclient.Load(t.Context(), tc.opts...)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if cfg.Region != tc.wantRegion {
				t.Errorf("region: got %q, want %q", cfg.Region, tc.wantRegion)
			}
			gotAS, gotSSM := sentTo(t, cfg)
			if gotAS != tc.wantAutoScale {
				t.Errorf("autoscaling endpoint: got %q, want %q", gotAS, tc.wantAutoScale)
			}
			if gotSSM != tc.wantSSM {
				t.Errorf("ssm endpoint: got %q, want %q", gotSSM, tc.wantSSM)
			}
		})
	}
}

func TestLoadRetryer(t *testing.T) {
	cases := []struct {
		name string
		opts []awsclient.Option
		env  map[string]string
		want int
	}{
		{name: "default", want: awsclient.DefaultMaxAttempts},
		{name: "configured", opts: []awsclient.Option{awsclient.WithMaxAttempts(2)}, want: 2},
		{name: "zero keeps default", opts: []awsclient.Option{awsclient.WithMaxAttempts(0)}, want: awsclient.DefaultMaxAttempts},
		{name: "env retry settings do not replace adaptive mode", env: map[string]string{"AWS_RETRY_MODE": "standard", "AWS_MAX_ATTEMPTS": "9"}, want: awsclient.DefaultMaxAttempts},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			isolate(t)
			t.Setenv("AWS_REGION", "us-east-1")
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			cfg, err := awsclient.Load(t.Context(), tc.opts...)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			r := cfg.Retryer()
			if _, ok := r.(*retry.AdaptiveMode); !ok {
				t.Errorf("retryer: got %T, want *retry.AdaptiveMode", r)
			}
			if got := r.MaxAttempts(); got != tc.want {
				t.Errorf("max attempts: got %d, want %d", got, tc.want)
			}
			if cfg.Retryer() == r {
				t.Errorf("retryer: got the same instance twice, want one per client")
			}
		})
	}
}
