// Command rollout is the rollout Lambda: new images become launch template
// versions and reach the fleet by instance refresh or blue/green, rolling
// back by themselves (see package stamper).
package main

import (
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/stampkit/stampkit/shared/asg"
	"github.com/stampkit/stampkit/shared/clock"
	"github.com/stampkit/stampkit/shared/coldstart"
	"github.com/stampkit/stampkit/shared/config"
	"github.com/stampkit/stampkit/shared/cwalarm"
	"github.com/stampkit/stampkit/shared/dynamo"
	"github.com/stampkit/stampkit/shared/elb"
	ib "github.com/stampkit/stampkit/shared/imagebuilder"
	"github.com/stampkit/stampkit/shared/launchtemplate"
	"github.com/stampkit/stampkit/shared/sqsqueue"
	"github.com/stampkit/stampkit/shared/ssmparam"
	"github.com/stampkit/stampkit/shared/stamper"
)

func main() {
	env, err := coldstart.Load(os.Getenv, os.Stdout)
	if err != nil {
		os.Exit(coldstart.Fail(os.Stdout, "rollout", err))
	}
	queue, err := config.RolloutQueueFromEnv(os.Getenv)
	if err != nil {
		os.Exit(coldstart.Fail(os.Stdout, "rollout", err))
	}
	cfg, awsCfg := env.Config, env.AWS
	groups := autoscaling.NewFromConfig(awsCfg, asg.RetryScalingActivity)
	images := ec2.NewFromConfig(awsCfg)
	h := &stamper.Handler{
		Config: cfg, Region: awsCfg.Region,
		Groups:    asg.New(groups),
		Templates: launchtemplate.New(images),
		// Image Builder's output AMIs carry the image ARN as a tag, so EC2
		// answers; no Image Builder client in the bootstrap.
		Builds:     ib.New(images, awsCfg.Region),
		Parameters: ssmparam.New(ssm.NewFromConfig(awsCfg)),
		// The stamp before this one in a wave may be in another Region:
		// the same SSM client, pointed there.
		Waves: ssmparam.NewRegions(func(region string) ssmparam.API {
			return ssm.NewFromConfig(awsCfg, func(o *ssm.Options) { o.Region = region })
		}),
		Listeners: elb.New(elbv2.NewFromConfig(awsCfg)),
		Alarms:    cwalarm.New(cloudwatch.NewFromConfig(awsCfg)),
		Scheduler: sqsqueue.New(sqs.NewFromConfig(awsCfg), queue, clock.System{}),
		// No record TTL: the rollout record keeps the live group for good.
		Store: dynamo.New(dynamodb.NewFromConfig(awsCfg), cfg.Table),
		Clock: clock.System{}, Log: env.Log, Metrics: env.Metrics,
	}
	lambda.Start(h.Handle)
}
