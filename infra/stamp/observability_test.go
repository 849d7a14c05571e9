package stamp

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
	for _, fc := range f.cfg.Fleets {
		check(t, "one dashboard per fleet, named after the stamp and fleet", func() {
			f.template.ResourcePropertiesCountIs(jsii.String("AWS::CloudWatch::Dashboard"), map[string]any{
				"DashboardName": f.cfg.Names().Dashboard(fc.Name),
			}, num(1))
		})
	}
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
				s, err := d.resolve(f.resolve(token))
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
			want = append(want, "AWS/ApplicationELB RequestCount LoadBalancer="+name(fl.LoadBalancerFullName()))
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

// TestAlarmNotifications: every alarm of the stack but the scaling alarms
// (whose state changes reach the scaler through EventBridge) notifies the
// operator topic of ALARM and OK; the topic is KMS-encrypted, SSL-only,
// and CloudWatch may publish to it and use its key; the configured address
// is subscribed.
func TestAlarmNotifications(t *testing.T) {
	f := synth(t)
	obs := f.stack.Observability()
	topicID := f.logicalID(t, obs.AlarmTopic().TopicArn())
	scalingAlarms := map[string]bool{}
	for _, mf := range f.stack.Fleets() {
		for _, a := range mf.Scaling.Alarms() {
			scalingAlarms[f.logicalID(t, a.Alarm.AlarmArn())] = true
		}
	}
	if len(scalingAlarms) == 0 {
		t.Fatal("the test app has no scaling alarm")
	}
	operator := map[string]bool{}
	for _, a := range obs.OperatorAlarms() {
		operator[f.logicalID(t, a.AlarmArn())] = true
	}
	notify := []any{ref(topicID)}
	alarms := f.ofType("AWS::CloudWatch::Alarm")
	for id := range alarms {
		if scalingAlarms[id] {
			f.matches(t, "scaling alarm", id, map[string]any{
				"AlarmActions": assertions.Match_Absent(), "OKActions": assertions.Match_Absent(),
			})
			continue
		}
		if !operator[id] {
			t.Errorf("alarm %s is neither a scaling alarm nor among OperatorAlarms", id)
		}
		f.matches(t, "operator alarm", id, map[string]any{"AlarmActions": notify, "OKActions": notify})
	}
	if want := len(alarms) - len(scalingAlarms); len(operator) != want {
		t.Errorf("OperatorAlarms: got %d, want the %d alarms that are not scaling alarms", len(operator), want)
	}

	keyID := assertions.NewCapture(nil)
	f.matches(t, "alarm topic", topicID, map[string]any{
		"KmsMasterKeyId": map[string]any{"Fn::GetAtt": []any{keyID, "Arn"}},
		"TopicName":      assertions.Match_Absent(),
	})
	if t.Failed() {
		return
	}
	fromAlarms := map[string]any{
		"StringEquals": map[string]any{"aws:SourceAccount": f.cfg.Account},
		"ArnLike":      map[string]any{"aws:SourceArn": fmt.Sprintf("arn:aws:cloudwatch:%s:%s:alarm:*", f.cfg.Region, f.cfg.Account)},
	}
	f.matches(t, "alarm topic key", *keyID.AsString(), map[string]any{
		"EnableKeyRotation": true,
		"KeyPolicy": map[string]any{"Statement": assertions.Match_ArrayWith(&[]any{map[string]any{
			"Effect":    "Allow",
			"Principal": map[string]any{"Service": "cloudwatch.amazonaws.com"},
			"Action":    []any{"kms:Decrypt", "kms:GenerateDataKey"},
			"Resource":  "*",
			"Condition": fromAlarms,
		}})},
	})
	check(t, "topic policy: SSL only, CloudWatch may publish", func() {
		f.template.HasResourceProperties(jsii.String("AWS::SNS::TopicPolicy"), map[string]any{
			"Topics": []any{ref(topicID)},
			"PolicyDocument": map[string]any{"Statement": assertions.Match_ArrayWith(&[]any{
				assertions.Match_ObjectLike(&map[string]any{
					"Effect":    "Deny",
					"Condition": map[string]any{"Bool": map[string]any{"aws:SecureTransport": "false"}},
				}),
				assertions.Match_ObjectLike(&map[string]any{
					"Effect":    "Allow",
					"Principal": map[string]any{"Service": "cloudwatch.amazonaws.com"},
					"Action":    "sns:Publish",
					"Resource":  ref(topicID),
					"Condition": fromAlarms,
				}),
			})},
		})
	})
	if f.cfg.AlarmEmail == "" {
		t.Fatalf("the test app sets no %s: the subscription goes untested", CtxAlarmEmail)
	}
	check(t, "the alarm email is subscribed", func() {
		f.template.ResourcePropertiesCountIs(jsii.String("AWS::SNS::Subscription"), map[string]any{
			"TopicArn": ref(topicID), "Protocol": "email", "Endpoint": f.cfg.AlarmEmail,
		}, num(1))
	})
}

// TestRolloutNeedsOperatorAlarm: a rollout that failed or went blind is
// counted once; an alarm per rollout fleet turns that into a notification.
func TestRolloutNeedsOperatorAlarm(t *testing.T) {
	f := synth(t)
	watched := map[string]bool{}
	for _, r := range f.ofType("AWS::CloudWatch::Alarm") {
		p := props(r)
		metrics, _ := p["Metrics"].([]any)
		names := map[string]string{}
		for _, m := range metrics {
			stat, _ := m.(map[string]any)["MetricStat"].(map[string]any)
			metric, _ := stat["Metric"].(map[string]any)
			name, _ := metric["MetricName"].(string)
			dims, _ := metric["Dimensions"].([]any)
			for _, d := range dims {
				if d.(map[string]any)["Name"] == "Fleet" {
					names[name], _ = d.(map[string]any)["Value"].(string)
				}
			}
		}
		if fleet := names["RolloutsFailed"]; fleet != "" && names["RolloutsBlind"] == fleet && p["TreatMissingData"] == "notBreaching" {
			watched[fleet] = true
		}
	}
	for _, mf := range f.stack.Fleets() {
		if mf.Config.Rollout.Enabled() && !watched[mf.Fleet.Name()] {
			t.Errorf("fleet %s rolls out images, but no alarm watches RolloutsFailed and RolloutsBlind", mf.Fleet.Name())
		}
	}
	if len(watched) == 0 {
		t.Error("no rollout alarm in the test app")
	}
}

// TestForecastAlarm: a fleet whose scaler forecasts gets an alarm on its
// ForecastUnavailable metric, so a floor that silently stopped is seen.
func TestForecastAlarm(t *testing.T) {
	f := synth(t)
	watched := map[string]bool{}
	for _, r := range f.ofType("AWS::CloudWatch::Alarm") {
		p := props(r)
		if p["MetricName"] != "ForecastUnavailable" || p["TreatMissingData"] != "notBreaching" {
			continue
		}
		dims, _ := p["Dimensions"].([]any)
		for _, d := range dims {
			if d.(map[string]any)["Name"] == "Fleet" {
				fleet, _ := d.(map[string]any)["Value"].(string)
				watched[fleet] = true
			}
		}
		if actions, _ := p["AlarmActions"].([]any); len(actions) == 0 {
			t.Errorf("forecast alarm %v notifies no one", p["AlarmDescription"])
		}
	}
	forecasting := 0
	for _, mf := range f.stack.Fleets() {
		if mf.Config.Scaling.Forecast == nil {
			continue
		}
		forecasting++
		if !watched[mf.Fleet.Name()] {
			t.Errorf("fleet %s forecasts, but no alarm watches its ForecastUnavailable", mf.Fleet.Name())
		}
	}
	if forecasting == 0 {
		t.Error("no fleet in the test app forecasts")
	}
}
