// Command scaler is the scaler Lambda: CloudWatch alarm state changes and a
// one-minute tick become capacity changes (see package scaler).
package main

import (
	"os"
	// The forecast's timeZone needs the zone database, which the Lambda
	// runtime (provided.al2023) does not promise to carry.
	_ "time/tzdata"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/stampkit/stampkit/shared/asg"
	"github.com/stampkit/stampkit/shared/clock"
	"github.com/stampkit/stampkit/shared/coldstart"
	"github.com/stampkit/stampkit/shared/cwalarm"
	"github.com/stampkit/stampkit/shared/dynamo"
	"github.com/stampkit/stampkit/shared/scaler"
)

func main() {
	env, err := coldstart.Load(os.Getenv, os.Stdout)
	if err != nil {
		os.Exit(coldstart.Fail(os.Stdout, "scaler", err))
	}
	awsCfg := env.AWS
	groups := autoscaling.NewFromConfig(awsCfg, asg.RetryScalingActivity)
	metrics := cwalarm.New(cloudwatch.NewFromConfig(awsCfg))
	h := &scaler.Handler{
		Config:     env.Config,
		Groups:     asg.New(groups),
		Alarms:     metrics,
		AlarmBatch: metrics,
		History:    metrics,
		Store:      dynamo.New(dynamodb.NewFromConfig(awsCfg), env.Config.Table),
		Clock:      clock.System{},
		Log:        env.Log,
		Metrics:    env.Metrics,
	}
	lambda.Start(h.Handle)
}
