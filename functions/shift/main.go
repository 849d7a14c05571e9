// Command shift is the shift Lambda: it moves a Route 53 weighted record's
// weight from one stamp to another step by step, rolling back on alarm
// (see package shifter).
package main

import (
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/stampkit/stampkit/shared/asg"
	"github.com/stampkit/stampkit/shared/clock"
	"github.com/stampkit/stampkit/shared/coldstart"
	"github.com/stampkit/stampkit/shared/config"
	"github.com/stampkit/stampkit/shared/cwalarm"
	"github.com/stampkit/stampkit/shared/dynamo"
	"github.com/stampkit/stampkit/shared/route53dns"
	"github.com/stampkit/stampkit/shared/shifter"
	"github.com/stampkit/stampkit/shared/sqsqueue"
	"github.com/stampkit/stampkit/shared/ssmparam"
)

func main() {
	cfg, err := config.ShiftFromEnv(os.Getenv)
	if err != nil {
		os.Exit(coldstart.Fail(os.Stdout, "shift", err))
	}
	queue, err := config.ShiftQueueFromEnv(os.Getenv)
	if err != nil {
		os.Exit(coldstart.Fail(os.Stdout, "shift", err))
	}
	env, err := coldstart.Runtime(os.Getenv, os.Stdout)
	if err != nil {
		os.Exit(coldstart.Fail(os.Stdout, "shift", err))
	}
	awsCfg := env.AWS
	stamps := make(map[string]shifter.Stamp, len(cfg.Stamps))
	for _, st := range cfg.Stamps {
		// Each stamp's clients call its own Region.
		regional := awsCfg.Copy()
		regional.Region = st.Region
		params := ssmparam.New(ssm.NewFromConfig(regional))
		db := dynamodb.NewFromConfig(regional)
		stamps[st.Name] = shifter.Stamp{
			Alarms:     cwalarm.New(cloudwatch.NewFromConfig(regional)),
			Groups:     asg.New(autoscaling.NewFromConfig(regional, asg.RetryScalingActivity)),
			Parameters: params,
			// The CDK names the table by its parameter (StateTable reads
			// it on first use). No record TTL: the scaler's state keeps
			// its own.
			State: shifter.StateTable(st.StateTable, params, func(table string) shifter.Store { return dynamo.New(db, table) }),
		}
	}
	h := &shifter.Handler{
		Config:    cfg,
		DNS:       route53dns.New(route53.NewFromConfig(awsCfg), cfg.HostedZoneID),
		Store:     dynamo.New(dynamodb.NewFromConfig(awsCfg), cfg.Table),
		Scheduler: sqsqueue.New(sqs.NewFromConfig(awsCfg), queue, clock.System{}),
		Stamps:    stamps,
		Clock:     clock.System{},
		Log:       env.Log,
		Metrics:   env.Metrics,
	}
	lambda.Start(h.Handle)
}
