package stamp

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
)

// Stack outputs: what an operator, a pipeline or a DNS record reads of a
// deployed stamp, by these fixed keys (describe-stacks). A fleet's own
// outputs are keyed by FleetOutput.
const (
	OutputStateTableName = "StateTableName"
	// OutputLoadBalancerDNSName is a fleet's load balancer's DNS name, for
	// a CNAME or alias record.
	OutputLoadBalancerDNSName = "LoadBalancerDnsName"
	// OutputURL is the fleet's address (Fleet.URL).
	OutputURL = "Url"
	// OutputDashboardName and OutputDashboardURL are the fleet's
	// CloudWatch dashboard's name and its address in the console.
	OutputDashboardName = "DashboardName"
	OutputDashboardURL  = "DashboardUrl"
)

// FleetOutput is the key of one of a fleet's outputs: "Fleet", the fleet's
// name capitalised, and what (OutputURL, …): FleetWebUrl.
func FleetOutput(fleet, what string) string { return "Fleet" + titleCase(fleet) + what }

// addOutputs adds the stamp's outputs: the state table's name and each
// fleet's address to the stamp's stack; each fleet's load balancer DNS
// name, address and dashboard to the fleet's stack. A template holds at
// most 200 outputs (Limits): one per fleet in the stamp's stack leaves
// room for as many fleets as its resources do.
func addOutputs(s *stampStack) {
	output := func(stack awscdk.Stack, key, description string, value *string) {
		o := awscdk.NewCfnOutput(stack, jsii.String(key), &awscdk.CfnOutputProps{Value: value, Description: jsii.String(description)})
		// A fixed key, whatever the construct tree: scripts read it.
		o.OverrideLogicalId(jsii.String(key))
	}
	output(s.stack, OutputStateTableName, "The state table: claims, cooldowns, leases and rollout records", s.state.Table().TableName())
	for _, mf := range s.fleets {
		f := mf.Fleet
		name := f.Name()
		output(s.stack, FleetOutput(name, OutputURL), "Fleet "+name+": its address", f.URL())
		output(mf.Stack, FleetOutput(name, OutputLoadBalancerDNSName), "Fleet "+name+": its load balancer's DNS name", f.LoadBalancer().LoadBalancerDnsName())
		output(mf.Stack, FleetOutput(name, OutputURL), "Fleet "+name+": its address", f.URL())
		dashboard := s.obs.Dashboard(name)
		output(mf.Stack, FleetOutput(name, OutputDashboardName), "Fleet "+name+": its CloudWatch dashboard", dashboard.DashboardName())
		output(mf.Stack, FleetOutput(name, OutputDashboardURL), "Fleet "+name+": its CloudWatch dashboard in the console",
			awscdk.Fn_Join(jsii.String(""), jsii.Strings(
				"https://console.aws.amazon.com/cloudwatch/home?region=", *s.stack.Region(), "#dashboards:name=", *dashboard.DashboardName())))
	}
}
