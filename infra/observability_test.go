package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"
)

// dashboard is what a test reads of a dashboard body: each metric as
// "namespace name dim=value…" and the alarm ARNs its widgets show.
type dashboard struct {
	metrics map[string]bool
	alarms  map[string]bool
}

func readDashboard(t *testing.T, f *fixture, d deployed, id string) dashboard {
	t.Helper()
	body, err := d.resolve(props(f.resources[id])["DashboardBody"])
	if err != nil {
		t.Fatalf("dashboard %s body: %v", id, err)
	}
	var doc struct {
		Widgets []struct {
			Properties struct {
				Metrics     [][]any  `json:"metrics"`
				Alarms      []string `json:"alarms"`
				Annotations struct {
					Alarms []string `json:"alarms"`
				} `json:"annotations"`
			} `json:"properties"`
		} `json:"widgets"`
	}
	if err := json.Unmarshal([]byte(body), &doc); err != nil {
		t.Fatalf("dashboard %s body is not a dashboard: %v\n%s", id, err, body)
	}
	out := dashboard{metrics: map[string]bool{}, alarms: map[string]bool{}}
	for _, w := range doc.Widgets {
		for _, m := range w.Properties.Metrics {
			// [namespace, name, dim, value, dim, value, …, {options}]
			var parts []string
			for i, v := range m {
				s, ok := v.(string)
				if !ok {
					break
				}
				if i >= 2 && i%2 == 1 {
					parts[len(parts)-1] += "=" + s
					continue
				}
				parts = append(parts, s)
			}
			out.metrics[strings.Join(parts, " ")] = true
		}
		for _, a := range append(w.Properties.Alarms, w.Properties.Annotations.Alarms...) {
			out.alarms[a] = true
		}
	}
	return out
}

func TestObservability(t *testing.T) {
	f := synth(t)
	d := deployed{f: f, account: f.cfg.Account, region: f.cfg.Region}
	check(t, "one dashboard per fleet, no physical names", func() {
		f.template.ResourcePropertiesCountIs(jsii.String("AWS::CloudWatch::Dashboard"), map[string]any{
			"DashboardName": assertions.Match_Absent(),
		}, num(len(f.cfg.Fleets)))
	})
	hs := f.stack.Handlers()
	for _, mf := range f.stack.Fleets() {
		fl := mf.Fleet
		t.Run(fl.Name(), func(t *testing.T) {
			db := f.stack.Observability().Dashboard(fl.Name())
			if db == nil {
				t.Fatalf("no dashboard for fleet %s", fl.Name())
			}
			cfn, ok := db.Node().DefaultChild().(awscdk.CfnElement)
			if !ok {
				t.Fatalf("dashboard of %s has no CloudFormation resource", fl.Name())
			}
			got := readDashboard(t, f, d, *f.stack.Stack().GetLogicalId(cfn))
			name := func(token *string) string {
				s, err := d.resolve(f.stack.Stack().Resolve(token))
				if err != nil {
					t.Fatal(err)
				}
				return s
			}
			var want []string
			for _, g := range fl.Groups() {
				asg := name(g.AutoScalingGroupName())
				want = append(want,
					"AWS/AutoScaling GroupDesiredCapacity AutoScalingGroupName="+asg,
					"AWS/AutoScaling GroupInServiceInstances AutoScalingGroupName="+asg)
				// The group publishes them only with metrics collection on.
				f.matches(t, "group metrics collection", f.logicalID(t, g.AutoScalingGroupName()), map[string]any{
					"MetricsCollection": []any{map[string]any{"Granularity": "1Minute"}},
				})
			}
			want = append(want, "AWS/ApplicationELB RequestCount LoadBalancer="+name(fl.LoadBalancer().LoadBalancerFullName()))
			for _, m := range append(append(append([]string{}, ScalerMetrics...), LifecycleMetrics...), RolloutMetrics...) {
				want = append(want, fmt.Sprintf("%s %s Fleet=%s", MetricNamespace, m, fl.Name()))
			}
			for _, w := range want {
				if !got.metrics[w] {
					t.Errorf("dashboard lacks metric %q; has %v", w, keys(got.metrics))
				}
			}
			var alarms []string
			for _, a := range mf.Scaling.Alarms() {
				alarms = append(alarms, name(a.Alarm.AlarmArn()))
			}
			for _, a := range fl.HealthAlarms() {
				alarms = append(alarms, name(a.AlarmArn()))
			}
			for _, h := range []Handler{hs.Scaler(), hs.Lifecycle(), hs.Rollout()} {
				alarms = append(alarms, name(h.DeadLetterAlarm.AlarmArn()))
			}
			for _, a := range alarms {
				if !got.alarms[a] {
					t.Errorf("dashboard lacks alarm %s; has %v", a, keys(got.alarms))
				}
			}
		})
	}
}
