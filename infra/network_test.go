package main

import (
	"slices"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"
)

func TestNetwork(t *testing.T) {
	f := synth(t)
	tpl := f.template
	cfg := f.cfg

	check(t, "one VPC", func() { tpl.ResourceCountIs(jsii.String("AWS::EC2::VPC"), num(1)) })
	check(t, "a public and a private subnet per zone", func() {
		tpl.ResourceCountIs(jsii.String("AWS::EC2::Subnet"), num(2*cfg.MaxAzs))
	})
	check(t, "NAT gateways", func() { tpl.ResourceCountIs(jsii.String("AWS::EC2::NatGateway"), num(cfg.NatGateways)) })

	t.Run("zones come from the availability-zones context", func(t *testing.T) {
		zones := assertions.NewCapture(nil)
		check(t, "subnet zones", func() {
			tpl.HasResourceProperties(jsii.String("AWS::EC2::Subnet"), map[string]any{"AvailabilityZone": zones})
		})
		var got []string
		for {
			got = append(got, *zones.AsString())
			if !*zones.Next() {
				break
			}
		}
		slices.Sort(got)
		got = slices.Compact(got)
		want := []string{"us-east-1a", "us-east-1b", "us-east-1c"}[:cfg.MaxAzs]
		if !slices.Equal(got, want) {
			t.Errorf("subnet zones: got %v, want %v", got, want)
		}
	})

	t.Run("flow logs go to CloudWatch Logs with retention", func(t *testing.T) {
		vpcID := f.logicalID(t, f.stack.Network().Vpc().VpcId())
		check(t, "flow log", func() {
			tpl.HasResourceProperties(jsii.String("AWS::EC2::FlowLog"), map[string]any{
				"ResourceId":             ref(vpcID),
				"ResourceType":           "VPC",
				"TrafficType":            "ALL",
				"LogDestinationType":     "cloud-watch-logs",
				"MaxAggregationInterval": 60,
			})
		})
		check(t, "flow log group retention", func() {
			tpl.HasResourceProperties(jsii.String("AWS::Logs::LogGroup"), map[string]any{
				"RetentionInDays": cfg.LogRetentionDays,
			})
		})
	})

	t.Run("private subnets route through NAT", func(t *testing.T) {
		check(t, "NAT default route", func() {
			tpl.HasResourceProperties(jsii.String("AWS::EC2::Route"), map[string]any{
				"DestinationCidrBlock": "0.0.0.0/0",
				"NatGatewayId":         assertions.Match_AnyValue(),
			})
		})
	})
}
