package stamp

import (
	"fmt"
	"strings"
	"testing"
)

// TestOutputs: the state table and each fleet's URL in the stamp's stack;
// per fleet, in its own stack, its load balancer's DNS name, its URL
// (https:// where its listener serves HTTPS) and its dashboard's name and
// console address, under their fixed keys.
func TestOutputs(t *testing.T) {
	f := synth(t)
	value := func(t *testing.T, outputs map[string]any, key string) string {
		t.Helper()
		o, ok := outputs[key].(map[string]any)
		if !ok {
			t.Fatalf("no output %s; outputs: %v", key, outputs)
		}
		return fmt.Sprint(o["Value"])
	}
	want := func(t *testing.T, outputs map[string]any, key string, v any) {
		t.Helper()
		if got := value(t, outputs, key); got != fmt.Sprint(v) {
			t.Errorf("output %s: got %s, want %v", key, got, v)
		}
	}
	stamp := f.stackOutputs(f.stack.Stack())
	want(t, stamp, OutputStateTableName, ref(f.logicalID(t, f.stack.State().Table().TableName())))
	if n, most := len(stamp), 3+len(f.stack.Fleets()); n != most {
		t.Errorf("the stamp's stack has %d outputs, want %d: one per fleet at most, as a template holds at most %d", n, most, MaxOutputs)
	}
	for _, mf := range f.stack.Fleets() {
		fl := mf.Fleet
		t.Run(fl.Name(), func(t *testing.T) {
			own := f.stackOutputs(mf.Stack)
			dns := getAtt(f.logicalID(t, fl.LoadBalancer().LoadBalancerArn()), "DNSName")
			want(t, own, FleetOutput(fl.Name(), OutputLoadBalancerDNSName), dns)
			scheme := "http://"
			if f.fleetConfig(t, fl.Name()).CertificateArn != "" {
				scheme = "https://"
			}
			url := map[string]any{"Fn::Join": []any{"", []any{scheme, dns}}}
			want(t, own, FleetOutput(fl.Name(), OutputURL), url)
			want(t, stamp, FleetOutput(fl.Name(), OutputURL), url)
			dashboard := ref(f.logicalID(t, f.stack.Observability().Dashboard(fl.Name()).DashboardName()))
			want(t, own, FleetOutput(fl.Name(), OutputDashboardName), dashboard)
			console := value(t, own, FleetOutput(fl.Name(), OutputDashboardURL))
			for _, part := range []string{"https://console.aws.amazon.com/cloudwatch/home?region=" + DefaultRegion, "#dashboards:name=", fmt.Sprint(dashboard)} {
				if !strings.Contains(console, part) {
					t.Errorf("output %s: %s lacks %s", FleetOutput(fl.Name(), OutputDashboardURL), console, part)
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
	web, api := h.stack.Fleets()[0], h.stack.Fleets()[1]
	if got := fmt.Sprint(h.stackOutputs(web.Stack)[FleetOutput("web", OutputURL)]); !strings.Contains(got, "https://shared-123.us-east-1.elb.amazonaws.com") {
		t.Errorf("web's URL: %s, want https://shared-123.us-east-1.elb.amazonaws.com", got)
	}
	if got := fmt.Sprint(h.stackOutputs(api.Stack)[FleetOutput("api", OutputLoadBalancerDNSName)]); !strings.Contains(got, "api-123.us-east-1.elb.amazonaws.com") {
		t.Errorf("api's load balancer: %s, want api-123.us-east-1.elb.amazonaws.com", got)
	}
}
