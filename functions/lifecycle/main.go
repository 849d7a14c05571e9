// Command lifecycle is the lifecycle Lambda: it gates launching instances on
// readiness and drains terminating ones (see package hooks).
package main

import (
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/stampkit/stampkit/shared/asg"
	"github.com/stampkit/stampkit/shared/clock"
	"github.com/stampkit/stampkit/shared/coldstart"
	"github.com/stampkit/stampkit/shared/config"
	"github.com/stampkit/stampkit/shared/dynamo"
	"github.com/stampkit/stampkit/shared/ec2instance"
	"github.com/stampkit/stampkit/shared/elb"
	"github.com/stampkit/stampkit/shared/hooks"
	"github.com/stampkit/stampkit/shared/probe"
	"github.com/stampkit/stampkit/shared/sqsqueue"
	"github.com/stampkit/stampkit/shared/ssmcommand"
)

func main() {
	env, err := coldstart.Load(os.Getenv, os.Stdout)
	if err != nil {
		os.Exit(coldstart.Fail(os.Stdout, "lifecycle", err))
	}
	queue, err := config.WakeQueueFromEnv(os.Getenv)
	if err != nil {
		os.Exit(coldstart.Fail(os.Stdout, "lifecycle", err))
	}
	cfg, awsCfg := env.Config, env.AWS
	groups := asg.New(autoscaling.NewFromConfig(awsCfg))
	h := &hooks.Handler{
		Config: cfg, Hooks: groups, Groups: groups,
		Targets:   elb.New(elbv2.NewFromConfig(awsCfg)),
		Prober:    probe.New(ec2instance.New(ec2.NewFromConfig(awsCfg)), ssmcommand.New(ssm.NewFromConfig(awsCfg)), nil),
		Scheduler: sqsqueue.New(sqs.NewFromConfig(awsCfg), queue, clock.System{}),
		Store:     dynamo.New(dynamodb.NewFromConfig(awsCfg), cfg.Table, dynamo.WithRecordTTL(hooks.ClaimTTL)),
		Clock:     clock.System{}, Log: env.Log, Metrics: env.Metrics,
	}
	lambda.Start(h.Handle)
}
