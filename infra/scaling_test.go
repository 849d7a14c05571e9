package main

import (
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"
)

func TestScaling(t *testing.T) {
	f := synth(t)
	total := 0
	for _, fc := range f.cfg.Fleets {
		total += len(fc.Alarms)
	}
	// Plus one dead-letter alarm per handler.
	check(t, "alarm count", func() {
		f.template.ResourceCountIs(jsii.String("AWS::CloudWatch::Alarm"), num(total+len(HandlerNames())))
	})
	for _, mf := range f.stack.Fleets() {
		cfg := f.fleetConfig(t, mf.Fleet.Name())
		asgID := f.logicalID(t, mf.Fleet.AutoScalingGroup().AutoScalingGroupName())
		alarms := mf.Scaling.Alarms()
		if len(alarms) != len(cfg.Alarms) {
			t.Fatalf("fleet %s alarms: got %d, want %d", cfg.Name, len(alarms), len(cfg.Alarms))
		}
		for i, a := range cfg.Alarms {
			t.Run(cfg.Name+"/"+a.ID, func(t *testing.T) {
				if alarms[i].Direction != a.Direction {
					t.Errorf("direction: got %q, want %q", alarms[i].Direction, a.Direction)
				}
				f.matches(t, "scaling alarm", f.logicalID(t, alarms[i].Alarm.AlarmArn()), map[string]any{
					"Namespace":          a.Namespace,
					"MetricName":         a.MetricName,
					"Statistic":          a.Statistic,
					"Period":             a.PeriodSeconds,
					"ComparisonOperator": a.Comparison,
					"Threshold":          a.Threshold,
					"EvaluationPeriods":  a.EvaluationPeriods,
					"DatapointsToAlarm":  a.DatapointsToAlarm,
					"Dimensions":         []any{map[string]any{"Name": "AutoScalingGroupName", "Value": ref(asgID)}},
					"TreatMissingData":   "notBreaching",
					// State changes reach the scaler through EventBridge.
					"AlarmActions": assertions.Match_Absent(),
					"AlarmName":    assertions.Match_Absent(),
				})
			})
		}
	}
}
