package stamp

import (
	"fmt"
	"strings"
	"testing"

	"github.com/aws/jsii-runtime-go"
)

// TestOutputs: the state table, and per fleet its load balancer's DNS
// name, its URL (https:// where its listener serves HTTPS) and its
// dashboard's name and console address, under their fixed keys.
func TestOutputs(t *testing.T) {
	f := synth(t)
	outputs, _ := (*f.template.ToJSON())["Outputs"].(map[string]any)
	value := func(t *testing.T, key string) string {
		t.Helper()
		o, ok := outputs[key].(map[string]any)
		if !ok {
			t.Fatalf("no output %s; outputs: %v", key, outputs)
		}
		return fmt.Sprint(o["Value"])
	}
	want := func(t *testing.T, key string, v any) {
		t.Helper()
		if got := value(t, key); got != fmt.Sprint(v) {
			t.Errorf("output %s: got %s, want %v", key, got, v)
		}
	}
	want(t, OutputStateTableName, ref(f.logicalID(t, f.stack.State().Table().TableName())))
	for _, mf := range f.stack.Fleets() {
		fl := mf.Fleet
		t.Run(fl.Name(), func(t *testing.T) {
			dns := getAtt(f.logicalID(t, fl.LoadBalancer().LoadBalancerArn()), "DNSName")
			want(t, FleetOutput(fl.Name(), OutputLoadBalancerDNSName), dns)
			scheme := "http://"
			if f.fleetConfig(t, fl.Name()).CertificateArn != "" {
				scheme = "https://"
			}
			want(t, FleetOutput(fl.Name(), OutputURL), map[string]any{"Fn::Join": []any{"", []any{scheme, dns}}})
			dashboard := ref(f.logicalID(t, f.stack.Observability().Dashboard(fl.Name()).DashboardName()))
			want(t, FleetOutput(fl.Name(), OutputDashboardName), dashboard)
			url := value(t, FleetOutput(fl.Name(), OutputDashboardURL))
			for _, part := range []string{"https://console.aws.amazon.com/cloudwatch/home?region=" + DefaultRegion, "#dashboards:name=", fmt.Sprint(dashboard)} {
				if !strings.Contains(url, part) {
					t.Errorf("output %s: %s lacks %s", FleetOutput(fl.Name(), OutputDashboardURL), url, part)
				}
			}
		})
	}
	if got, want := FleetOutput("web", OutputURL), "FleetWebUrl"; got != want {
		t.Errorf("FleetOutput: got %s, want %s", got, want)
	}
}

// TestOutputsOfAGivenLoadBalancer: a fleet on a load balancer it was given
// reports that one's name, and the shared listener's scheme.
func TestOutputsOfAGivenLoadBalancer(t *testing.T) {
	h := synthHatches(t)
	check(t, "web's URL", func() {
		h.template.HasOutput(jsii.String(FleetOutput("web", OutputURL)), map[string]any{"Value": "https://shared-123.us-east-1.elb.amazonaws.com"})
	})
	check(t, "api's load balancer", func() {
		h.template.HasOutput(jsii.String(FleetOutput("api", OutputLoadBalancerDNSName)), map[string]any{"Value": "api-123.us-east-1.elb.amazonaws.com"})
	})
}
