// Command lifecycle is the lifecycle Lambda: it gates launching instances on
// readiness and drains terminating ones (see package hooks).
package main

import (
	"log"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/stampkit/stampkit/shared/asg"
	"github.com/stampkit/stampkit/shared/awsclient/lambdaenv"
	"github.com/stampkit/stampkit/shared/clock"
	"github.com/stampkit/stampkit/shared/config"
	"github.com/stampkit/stampkit/shared/dynamo"
	"github.com/stampkit/stampkit/shared/ec2instance"
	"github.com/stampkit/stampkit/shared/elb"
	"github.com/stampkit/stampkit/shared/hooks"
	"github.com/stampkit/stampkit/shared/logging"
	"github.com/stampkit/stampkit/shared/probe"
	"github.com/stampkit/stampkit/shared/sqsqueue"
	"github.com/stampkit/stampkit/shared/ssmcommand"
)

func main() {
	cfg, err := config.FromEnv(os.Getenv)
	if err != nil {
		log.Fatalf("lifecycle: %v", err)
	}
	queue, err := config.WakeQueueFromEnv(os.Getenv)
	if err != nil {
		log.Fatalf("lifecycle: %v", err)
	}
	logger := logging.New(os.Stdout, cfg.LogLevel)
	slog.SetDefault(logger)
	// Only the environment Lambda sets: the SDK's default chain would link
	// SSO, STS and sign-in clients this function never uses (lambdaenv).
	awsCfg, err := lambdaenv.Load(os.Getenv)
	if err != nil {
		log.Fatalf("lifecycle: %v", err)
	}
	groups := asg.New(autoscaling.NewFromConfig(awsCfg))
	h := &hooks.Handler{
		Config: cfg, Hooks: groups, Groups: groups,
		Targets:   elb.New(elbv2.NewFromConfig(awsCfg)),
		Prober:    probe.New(ec2instance.New(ec2.NewFromConfig(awsCfg)), ssmcommand.New(ssm.NewFromConfig(awsCfg)), nil),
		Scheduler: sqsqueue.New(sqs.NewFromConfig(awsCfg), queue, clock.System{}),
		Store:     dynamo.New(dynamodb.NewFromConfig(awsCfg), cfg.Table, dynamo.WithRecordTTL(hooks.ClaimTTL)),
		Clock:     clock.System{}, Log: logger,
		Metrics: logging.NewMetrics(os.Stdout, cfg.Namespace, time.Now),
	}
	lambda.Start(h.Handle)
}
