package lambdaenv_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/stampkit/stampkit/shared/awsclient"
	"github.com/stampkit/stampkit/shared/awsclient/lambdaenv"
)

// lambdaEnv is what the Lambda runtime sets (values made up).
func lambdaEnv() map[string]string {
	return map[string]string{
		"AWS_REGION":            "eu-west-1",
		"AWS_DEFAULT_REGION":    "eu-west-1",
		"AWS_ACCESS_KEY_ID":     "ASIAEXAMPLE",
		"AWS_SECRET_ACCESS_KEY": "secret",
		"AWS_SESSION_TOKEN":     "token",
	}
}

func lookup(env map[string]string) func(string) string {
	return func(k string) string { return env[k] }
}

func TestLoad(t *testing.T) {
	tests := []struct {
		name       string
		env        map[string]string // over lambdaEnv; "" deletes
		wantRegion string
		wantErr    string
		wantNoKeys bool
	}{
		{name: "the Lambda environment", wantRegion: "eu-west-1"},
		{name: "AWS_DEFAULT_REGION when AWS_REGION is empty", env: map[string]string{"AWS_REGION": "", "AWS_DEFAULT_REGION": "ap-northeast-2"}, wantRegion: "ap-northeast-2"},
		{name: "AWS_REGION wins", env: map[string]string{"AWS_REGION": "us-east-2", "AWS_DEFAULT_REGION": "ap-northeast-2"}, wantRegion: "us-east-2"},
		{name: "no access key id", env: map[string]string{"AWS_ACCESS_KEY_ID": ""}, wantNoKeys: true, wantErr: "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"},
		{name: "no secret key", env: map[string]string{"AWS_SECRET_ACCESS_KEY": ""}, wantNoKeys: true, wantErr: "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"},
		{name: "no region", env: map[string]string{"AWS_REGION": "", "AWS_DEFAULT_REGION": ""}, wantErr: "AWS_REGION is not set"},
		{name: "invalid FIPS setting", env: map[string]string{"AWS_USE_FIPS_ENDPOINT": "yes"}, wantErr: "AWS_USE_FIPS_ENDPOINT=yes"},
		{name: "invalid dual-stack setting", env: map[string]string{"AWS_USE_DUALSTACK_ENDPOINT": "1"}, wantErr: "AWS_USE_DUALSTACK_ENDPOINT=1"},
		{name: "invalid ignore setting", env: map[string]string{"AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "maybe"}, wantErr: "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=maybe"},
		{name: "invalid endpoint discovery", env: map[string]string{"AWS_ENABLE_ENDPOINT_DISCOVERY": "on"}, wantErr: "AWS_ENABLE_ENDPOINT_DISCOVERY=on"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := lambdaEnv()
			for k, v := range tt.env {
				env[k] = v
			}
			cfg, err := lambdaenv.Load(lookup(env))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Load: got error %v, want one saying %q", err, tt.wantErr)
				}
				if got := errors.Is(err, lambdaenv.ErrNoCredentials); got != tt.wantNoKeys {
					t.Errorf("errors.Is(err, ErrNoCredentials): got %v, want %v", got, tt.wantNoKeys)
				}
				return
			}
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if cfg.Region != tt.wantRegion {
				t.Errorf("region: got %q, want %q", cfg.Region, tt.wantRegion)
			}
			creds, err := cfg.Credentials.Retrieve(t.Context())
			if err != nil {
				t.Fatalf("Retrieve: %v", err)
			}
			if creds.AccessKeyID != "ASIAEXAMPLE" || creds.SecretAccessKey != "secret" || creds.SessionToken != "token" {
				t.Errorf("credentials: got %q/%q/%q, want ASIAEXAMPLE/secret/token", creds.AccessKeyID, creds.SecretAccessKey, creds.SessionToken)
			}
		})
	}
}

func TestLoadRetryer(t *testing.T) {
	env := lambdaEnv()
	// The SDK's own retry variables do not replace the adaptive retryer.
	env["AWS_RETRY_MODE"], env["AWS_MAX_ATTEMPTS"] = "standard", "9"
	cfg, err := lambdaenv.Load(lookup(env))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	r := cfg.Retryer()
	if _, ok := r.(*retry.AdaptiveMode); !ok {
		t.Errorf("retryer: got %T, want *retry.AdaptiveMode", r)
	}
	if got := r.MaxAttempts(); got != lambdaenv.DefaultMaxAttempts {
		t.Errorf("max attempts: got %d, want %d", got, lambdaenv.DefaultMaxAttempts)
	}
	if cfg.Retryer() == r {
		t.Errorf("retryer: got the same instance twice, want one per client")
	}
}

var errStop = errors.New("request captured")

// stopAt records the URL a request is about to be sent to and ends it
// there, so nothing leaves the process.
func stopAt(url *string) func(*middleware.Stack) error {
	return func(s *middleware.Stack) error {
		return s.Finalize.Add(middleware.FinalizeMiddlewareFunc("stopAt",
			func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
				if req, ok := in.Request.(*smithyhttp.Request); ok {
					*url = req.URL.Scheme + "://" + req.URL.Host
				}
				return middleware.FinalizeOutput{}, middleware.Metadata{}, errStop
			}), middleware.After)
	}
}

// calls makes one call per service the functions use, each stopped by opt.
var calls = map[string]func(context.Context, aws.Config, func(*middleware.Stack) error) error{
	"autoscaling": func(ctx context.Context, cfg aws.Config, opt func(*middleware.Stack) error) error {
		_, err := autoscaling.NewFromConfig(cfg).DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{},
			func(o *autoscaling.Options) { o.APIOptions = append(o.APIOptions, opt) })
		return err
	},
	"cloudwatch": func(ctx context.Context, cfg aws.Config, opt func(*middleware.Stack) error) error {
		_, err := cloudwatch.NewFromConfig(cfg).DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{},
			func(o *cloudwatch.Options) { o.APIOptions = append(o.APIOptions, opt) })
		return err
	},
	"dynamodb": func(ctx context.Context, cfg aws.Config, opt func(*middleware.Stack) error) error {
		_, err := dynamodb.NewFromConfig(cfg).DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String("t")},
			func(o *dynamodb.Options) { o.APIOptions = append(o.APIOptions, opt) })
		return err
	},
	"ec2": func(ctx context.Context, cfg aws.Config, opt func(*middleware.Stack) error) error {
		_, err := ec2.NewFromConfig(cfg).DescribeImages(ctx, &ec2.DescribeImagesInput{},
			func(o *ec2.Options) { o.APIOptions = append(o.APIOptions, opt) })
		return err
	},
	"elbv2": func(ctx context.Context, cfg aws.Config, opt func(*middleware.Stack) error) error {
		_, err := elbv2.NewFromConfig(cfg).DescribeLoadBalancers(ctx, &elbv2.DescribeLoadBalancersInput{},
			func(o *elbv2.Options) { o.APIOptions = append(o.APIOptions, opt) })
		return err
	},
	"sqs": func(ctx context.Context, cfg aws.Config, opt func(*middleware.Stack) error) error {
		_, err := sqs.NewFromConfig(cfg).ListQueues(ctx, &sqs.ListQueuesInput{},
			func(o *sqs.Options) { o.APIOptions = append(o.APIOptions, opt) })
		return err
	},
	"ssm": func(ctx context.Context, cfg aws.Config, opt func(*middleware.Stack) error) error {
		_, err := ssm.NewFromConfig(cfg).GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("p")},
			func(o *ssm.Options) { o.APIOptions = append(o.APIOptions, opt) })
		return err
	},
}

// sentTo reports where each service's call built from cfg goes.
func sentTo(t *testing.T, cfg aws.Config) map[string]string {
	t.Helper()
	got := map[string]string{}
	for name, call := range calls {
		var url string
		if err := call(t.Context(), cfg, stopAt(&url)); !errors.Is(err, errStop) {
			t.Fatalf("%s call: got error %v, want %v", name, err, errStop)
		}
		got[name] = url
	}
	return got
}

// isolate empties every variable the SDK's default chain reads, then sets
// env, so Load (which reads the process environment) and lambdaenv.Load see
// the same thing and nothing on the machine leaks in.
func isolate(t *testing.T, env map[string]string) {
	t.Helper()
	dir := t.TempDir()
	for _, k := range []string{
		"AWS_PROFILE", "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_ENDPOINT_URL", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
		"AWS_USE_FIPS_ENDPOINT", "AWS_USE_DUALSTACK_ENDPOINT", "AWS_ENABLE_ENDPOINT_DISCOVERY", "AWS_MAX_ATTEMPTS",
		"AWS_RETRY_MODE", "AWS_SESSION_TOKEN", "AWS_ACCOUNT_ID", "AWS_ACCOUNT_ID_ENDPOINT_MODE", "AWS_SDK_UA_APP_ID",
		"AWS_DEFAULTS_MODE", "AWS_CA_BUNDLE",
	} {
		t.Setenv(k, "")
	}
	for _, e := range os.Environ() {
		if k, _, _ := strings.Cut(e, "="); strings.HasPrefix(k, "AWS_ENDPOINT_URL_") {
			t.Setenv(k, "")
		}
	}
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "credentials"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	for k, v := range env {
		t.Setenv(k, v)
	}
}

// TestEndpoints checks where each service's calls go, against the hosts
// AWS documents and against what awsclient.Load (config.LoadDefaultConfig)
// makes of the same environment.
func TestEndpoints(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string // over lambdaEnv
		want map[string]string // service → scheme://host; the rest must match awsclient.Load
	}{
		{
			name: "regional endpoints by default",
			want: map[string]string{
				"autoscaling": "https://autoscaling.eu-west-1.amazonaws.com", "dynamodb": "https://dynamodb.eu-west-1.amazonaws.com",
				"elbv2": "https://elasticloadbalancing.eu-west-1.amazonaws.com", "ssm": "https://ssm.eu-west-1.amazonaws.com",
			},
		},
		{
			name: "AWS_ENDPOINT_URL sends every service to the emulator",
			env:  map[string]string{"AWS_ENDPOINT_URL": "http://127.0.0.1:5000"},
			want: map[string]string{
				"autoscaling": "http://127.0.0.1:5000", "cloudwatch": "http://127.0.0.1:5000", "dynamodb": "http://127.0.0.1:5000",
				"ec2": "http://127.0.0.1:5000", "elbv2": "http://127.0.0.1:5000", "sqs": "http://127.0.0.1:5000", "ssm": "http://127.0.0.1:5000",
			},
		},
		{
			name: "a per-service variable wins for its service only",
			env: map[string]string{
				"AWS_ENDPOINT_URL":                             "http://127.0.0.1:5000",
				"AWS_ENDPOINT_URL_AUTO_SCALING":                "http://127.0.0.1:6001",
				"AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2":   "http://127.0.0.1:6002",
				"AWS_ENDPOINT_URL_DYNAMODB":                    "http://127.0.0.1:6003",
				"AWS_ENDPOINT_URL_SSM":                         "http://127.0.0.1:6004",
				"AWS_ENDPOINT_URL_SOME_SERVICE_WE_DO_NOT_CALL": "http://127.0.0.1:6666",
			},
			want: map[string]string{
				"autoscaling": "http://127.0.0.1:6001", "elbv2": "http://127.0.0.1:6002", "dynamodb": "http://127.0.0.1:6003",
				"ssm": "http://127.0.0.1:6004", "sqs": "http://127.0.0.1:5000", "ec2": "http://127.0.0.1:5000",
			},
		},
		{
			name: "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS turns both off",
			env: map[string]string{
				"AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "TRUE", "AWS_ENDPOINT_URL": "http://127.0.0.1:5000",
				"AWS_ENDPOINT_URL_AUTO_SCALING": "http://127.0.0.1:6001",
			},
			want: map[string]string{"autoscaling": "https://autoscaling.eu-west-1.amazonaws.com", "ssm": "https://ssm.eu-west-1.amazonaws.com"},
		},
		{
			name: "FIPS",
			env:  map[string]string{"AWS_REGION": "us-east-1", "AWS_USE_FIPS_ENDPOINT": "true"},
			want: map[string]string{"autoscaling": "https://autoscaling-fips.us-east-1.amazonaws.com", "dynamodb": "https://dynamodb-fips.us-east-1.amazonaws.com"},
		},
		{
			name: "dual-stack",
			env:  map[string]string{"AWS_REGION": "us-east-1", "AWS_USE_DUALSTACK_ENDPOINT": "true"},
			want: map[string]string{"autoscaling": "https://autoscaling.us-east-1.api.aws", "sqs": "https://sqs.us-east-1.api.aws"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := lambdaEnv()
			for k, v := range tt.env {
				env[k] = v
			}
			isolate(t, env)
			cfg, err := lambdaenv.Load(os.Getenv)
			if err != nil {
				t.Fatalf("lambdaenv.Load: %v", err)
			}
			got := sentTo(t, cfg)
			for svc, want := range tt.want {
				if got[svc] != want {
					t.Errorf("%s endpoint: got %q, want %q", svc, got[svc], want)
				}
			}
			full, err := awsclient.Load(t.Context())
			if err != nil {
				t.Fatalf("awsclient.Load: %v", err)
			}
			for svc, want := range sentTo(t, full) {
				if got[svc] != want {
					t.Errorf("%s endpoint: got %q, want %q as config.LoadDefaultConfig resolves it", svc, got[svc], want)
				}
			}
		})
	}
}

// TestLeaf keeps the package a leaf: importing the SDK's config package, or
// any of the credential chain's clients, would put them back into every
// bootstrap.
func TestLeaf(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command on PATH")
	}
	out, err := exec.CommandContext(t.Context(), goTool, "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	const sdk = "github.com/aws/aws-sdk-go-v2/"
	banned := []string{sdk + "config", sdk + "service/sso", sdk + "service/ssooidc", sdk + "service/sts", sdk + "service/signin"}
	for _, dep := range strings.Fields(string(out)) {
		// The credentials module's root (static keys) is fine; its
		// subpackages are the chain's providers (stscreds, ssocreds, …).
		bad := strings.HasPrefix(dep, sdk+"credentials/")
		for _, b := range banned {
			bad = bad || dep == b || strings.HasPrefix(dep, b+"/")
		}
		if bad {
			t.Errorf("lambdaenv depends on %s, which links the default credential chain", dep)
		}
	}
}
