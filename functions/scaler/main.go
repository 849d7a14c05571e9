// Command scaler is the scaler Lambda: CloudWatch alarm state changes and a
// one-minute tick become capacity changes (see package scaler).
package main

import (
	"log"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/stampkit/stampkit/shared/asg"
	"github.com/stampkit/stampkit/shared/awsclient/lambdaenv"
	"github.com/stampkit/stampkit/shared/clock"
	"github.com/stampkit/stampkit/shared/config"
	"github.com/stampkit/stampkit/shared/cwalarm"
	"github.com/stampkit/stampkit/shared/dynamo"
	"github.com/stampkit/stampkit/shared/logging"
	"github.com/stampkit/stampkit/shared/scaler"
)

func main() {
	cfg, err := config.FromEnv(os.Getenv)
	if err != nil {
		log.Fatalf("scaler: %v", err)
	}
	logger := logging.New(os.Stdout, cfg.LogLevel)
	slog.SetDefault(logger)
	// Only the environment Lambda sets: the SDK's default chain would link
	// SSO, STS and sign-in clients this function never uses (lambdaenv).
	awsCfg, err := lambdaenv.Load(os.Getenv)
	if err != nil {
		log.Fatalf("scaler: %v", err)
	}
	groups := autoscaling.NewFromConfig(awsCfg, asg.RetryScalingActivity)
	h := &scaler.Handler{
		Config:  cfg,
		Groups:  asg.New(groups),
		Alarms:  cwalarm.New(cloudwatch.NewFromConfig(awsCfg)),
		Store:   dynamo.New(dynamodb.NewFromConfig(awsCfg), cfg.Table),
		Clock:   clock.System{},
		Log:     logger,
		Metrics: logging.NewMetrics(os.Stdout, cfg.Namespace, time.Now),
	}
	lambda.Start(h.Handle)
}
