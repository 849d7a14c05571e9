// Package lambdaenv builds the aws.Config of a function running in AWS
// Lambda from the environment the Lambda runtime sets, and nothing else.
//
// Inside Lambda the only credential source is that environment
// (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN of the
// execution role) and the region is AWS_REGION. config.LoadDefaultConfig
// (awsclient.Load) would find them too, but merely importing its package
// links the whole default chain — shared config files, SSO, SSO-OIDC, STS
// (assume role, web identity), sign-in, IMDS, process credentials — whose
// service packages carry generated schema tables built at package
// initialisation: on arm64 about 1.6 MB of every bootstrap and a share of
// every cold start, for providers a Lambda never consults. This package
// imports none of them (config included) and stays a leaf for that reason;
// awsclient.Load, for the CLI, tests and emulator set-up, builds on it for
// the retry policy.
//
// The service clients still resolve their endpoints and endpoint variants
// the way the SDK's config.EnvConfig makes them: Load's aws.Config carries a
// config source answering AWS_ENDPOINT_URL_<SERVICE>,
// AWS_IGNORE_CONFIGURED_ENDPOINT_URLS, AWS_USE_FIPS_ENDPOINT,
// AWS_USE_DUALSTACK_ENDPOINT and AWS_ENABLE_ENDPOINT_DISCOVERY, and
// AWS_ENDPOINT_URL becomes aws.Config.BaseEndpoint.
package lambdaenv

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// DefaultMaxAttempts is the attempt budget per call (first try included). It
// is above the SDK's 3 because the adaptive retryer already spaces attempts
// out under throttling, and a Lambda that gives up early only moves the retry
// to EventBridge's much slower redelivery.
const DefaultMaxAttempts = 5

// ErrNoCredentials reports an environment without the access key pair the
// Lambda runtime always sets: the code is not running in Lambda (use
// awsclient.Load there) or the environment was overwritten.
var ErrNoCredentials = errors.New("no AWS credentials in the environment")

// Retryer returns the aws.Config.Retryer both Load and awsclient.Load use:
// adaptive mode (client-side rate limiting on throttles) with maxAttempts
// per call. The SDK calls it once per service client, so each client gets
// its own token bucket and throttling on one service does not slow another.
func Retryer(maxAttempts int) func() aws.Retryer {
	return func() aws.Retryer {
		return retry.NewAdaptiveMode(func(ao *retry.AdaptiveModeOptions) {
			ao.StandardOptions = append(ao.StandardOptions, func(so *retry.StandardOptions) {
				so.MaxAttempts = maxAttempts
			})
		})
	}
}

// Load returns the aws.Config for a Lambda function, reading the
// environment through getenv (os.Getenv in main): static credentials from
// AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN, the region
// from AWS_REGION (or AWS_DEFAULT_REGION), endpoints as the package doc
// says, the app ID from AWS_SDK_UA_APP_ID, and the Retryer with
// DefaultMaxAttempts. A missing key pair is ErrNoCredentials and a missing
// region or an invalid setting an error, at cold start rather than at the
// first call. Call it once in main and build every service client from it.
func Load(getenv func(string) string) (aws.Config, error) {
	id, secret := first(getenv, "AWS_ACCESS_KEY_ID", "AWS_ACCESS_KEY"), first(getenv, "AWS_SECRET_ACCESS_KEY", "AWS_SECRET_KEY")
	if id == "" || secret == "" {
		return aws.Config{}, fmt.Errorf("loading aws config from the Lambda environment: %w: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must both be set", ErrNoCredentials)
	}
	region := first(getenv, "AWS_REGION", "AWS_DEFAULT_REGION")
	if region == "" {
		return aws.Config{}, errors.New("loading aws config from the Lambda environment: AWS_REGION is not set")
	}
	src, err := newSource(getenv)
	if err != nil {
		return aws.Config{}, fmt.Errorf("loading aws config from the Lambda environment: %w", err)
	}
	cfg := aws.Config{
		Region:        region,
		Credentials:   aws.NewCredentialsCache(credentials.NewStaticCredentialsProvider(id, secret, getenv("AWS_SESSION_TOKEN"))),
		HTTPClient:    awshttp.NewBuildableClient(),
		Retryer:       Retryer(DefaultMaxAttempts),
		AppID:         getenv("AWS_SDK_UA_APP_ID"),
		ConfigSources: []any{src},
	}
	if u := getenv("AWS_ENDPOINT_URL"); u != "" && !src.ignoreEndpoints {
		cfg.BaseEndpoint = aws.String(u)
	}
	return cfg, nil
}

func first(getenv func(string) string, names ...string) string {
	for _, n := range names {
		if v := getenv(n); v != "" {
			return v
		}
	}
	return ""
}

// source is the config source the service clients consult when they are
// built (aws.Config.ConfigSources): the interfaces of the SDK's
// internal/configsources, answered as config.EnvConfig answers them.
type source struct {
	getenv          func(string) string
	ignoreEndpoints bool
	ignoreSet       bool
	fips            aws.FIPSEndpointState
	dualStack       aws.DualStackEndpointState
	discovery       aws.EndpointDiscoveryEnableState
}

func newSource(getenv func(string) string) (source, error) {
	s := source{getenv: getenv}
	var err error
	if s.ignoreEndpoints, s.ignoreSet, err = boolEnv(getenv, "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"); err != nil {
		return source{}, err
	}
	fips, fipsSet, err := boolEnv(getenv, "AWS_USE_FIPS_ENDPOINT")
	if err != nil {
		return source{}, err
	}
	if fipsSet {
		s.fips = aws.FIPSEndpointStateDisabled
		if fips {
			s.fips = aws.FIPSEndpointStateEnabled
		}
	}
	dual, dualSet, err := boolEnv(getenv, "AWS_USE_DUALSTACK_ENDPOINT")
	if err != nil {
		return source{}, err
	}
	if dualSet {
		s.dualStack = aws.DualStackEndpointStateDisabled
		if dual {
			s.dualStack = aws.DualStackEndpointStateEnabled
		}
	}
	switch v := getenv("AWS_ENABLE_ENDPOINT_DISCOVERY"); {
	case v == "":
	case strings.EqualFold(v, "true"):
		s.discovery = aws.EndpointDiscoveryEnabled
	case strings.EqualFold(v, "false"):
		s.discovery = aws.EndpointDiscoveryDisabled
	case strings.EqualFold(v, "auto"):
		s.discovery = aws.EndpointDiscoveryAuto
	default:
		return source{}, fmt.Errorf("AWS_ENABLE_ENDPOINT_DISCOVERY=%s: want true, false or auto", v)
	}
	return s, nil
}

// boolEnv reads a true/false variable (any case) as the SDK does: empty is
// unset, anything else an error.
func boolEnv(getenv func(string) string, name string) (value, set bool, err error) {
	switch v := getenv(name); {
	case v == "":
		return false, false, nil
	case strings.EqualFold(v, "true"):
		return true, true, nil
	case strings.EqualFold(v, "false"):
		return false, true, nil
	default:
		return false, false, fmt.Errorf("%s=%s: want true or false", name, v)
	}
}

// GetIgnoreConfiguredEndpoints reports AWS_IGNORE_CONFIGURED_ENDPOINT_URLS,
// which turns the endpoint variables off.
func (s source) GetIgnoreConfiguredEndpoints(context.Context) (bool, bool, error) {
	return s.ignoreEndpoints, s.ignoreSet, nil
}

// GetServiceBaseEndpoint returns AWS_ENDPOINT_URL_<SERVICE>, the service's
// SDK ID upper-cased with spaces as underscores ("Auto Scaling" →
// AWS_ENDPOINT_URL_AUTO_SCALING). It wins over AWS_ENDPOINT_URL.
func (s source) GetServiceBaseEndpoint(_ context.Context, sdkID string) (string, bool, error) {
	v := s.getenv("AWS_ENDPOINT_URL_" + strings.ReplaceAll(strings.ToUpper(sdkID), " ", "_"))
	return v, v != "", nil
}

// GetUseFIPSEndpoint reports AWS_USE_FIPS_ENDPOINT.
func (s source) GetUseFIPSEndpoint(context.Context) (aws.FIPSEndpointState, bool, error) {
	return s.fips, s.fips != aws.FIPSEndpointStateUnset, nil
}

// GetUseDualStackEndpoint reports AWS_USE_DUALSTACK_ENDPOINT.
func (s source) GetUseDualStackEndpoint(context.Context) (aws.DualStackEndpointState, bool, error) {
	return s.dualStack, s.dualStack != aws.DualStackEndpointStateUnset, nil
}

// GetEnableEndpointDiscovery reports AWS_ENABLE_ENDPOINT_DISCOVERY.
func (s source) GetEnableEndpointDiscovery(context.Context) (aws.EndpointDiscoveryEnableState, bool, error) {
	return s.discovery, s.discovery != aws.EndpointDiscoveryUnset, nil
}
