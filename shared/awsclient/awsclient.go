// Package awsclient builds the aws.Config of the tools, tests and emulator
// set-up: the SDK's default credential and region chain, adaptive retries,
// and endpoint overrides for the local emulator. The Lambda functions use
// its sibling lambdaenv instead, which reads the same environment without
// linking the default chain's SSO, STS and sign-in clients.
//
// Endpoints need no code here: since 2024 the SDK itself honours
// AWS_ENDPOINT_URL (all services, loaded into aws.Config.BaseEndpoint) and
// AWS_ENDPOINT_URL_<SERVICE> (for example AWS_ENDPOINT_URL_AUTO_SCALING,
// resolved when a service client is built, and taking precedence), and
// AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true turns both off.
package awsclient

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/stampkit/stampkit/shared/awsclient/lambdaenv"
)

// DefaultMaxAttempts is the attempt budget per call (first try included),
// the same as the Lambdas' (lambdaenv.DefaultMaxAttempts says why).
const DefaultMaxAttempts = lambdaenv.DefaultMaxAttempts

// Option adjusts Load.
type Option func(*options)

type options struct {
	maxAttempts int
	region      string
	endpoint    string
}

// WithMaxAttempts sets the attempt budget per call; n < 1 keeps the default.
func WithMaxAttempts(n int) Option {
	return func(o *options) {
		if n >= 1 {
			o.maxAttempts = n
		}
	}
}

// WithRegion overrides the region from the environment (AWS_REGION, which
// Lambda always sets).
func WithRegion(region string) Option {
	return func(o *options) { o.region = region }
}

// WithEndpoint sends every service to url, as AWS_ENDPOINT_URL would; a
// per-service AWS_ENDPOINT_URL_<SERVICE> variable still wins. Empty is a no-op.
func WithEndpoint(url string) Option {
	return func(o *options) { o.endpoint = url }
}

// Load returns the shared aws.Config: default credential chain, region from
// the environment unless overridden, and an adaptive-mode retryer (client-side
// rate limiting on throttles) with the configured attempt budget. Call it once
// at cold start and build every service client from the result.
func Load(ctx context.Context, opts ...Option) (aws.Config, error) {
	o := options{maxAttempts: DefaultMaxAttempts}
	for _, opt := range opts {
		opt(&o)
	}
	loadOpts := []func(*config.LoadOptions) error{
		config.WithRetryer(lambdaenv.Retryer(o.maxAttempts)),
	}
	if o.region != "" {
		loadOpts = append(loadOpts, config.WithRegion(o.region))
	}
	if o.endpoint != "" {
		loadOpts = append(loadOpts, config.WithBaseEndpoint(o.endpoint))
	}
	cfg, err := config.LoadDefaultConfig(ctx, loadOpts...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("loading aws config: %w", err)
	}
	return cfg, nil
}
