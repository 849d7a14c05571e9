package stamp

import (
	"maps"
	"regexp"
	"slices"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"
	"github.com/google/go-cmp/cmp"

	"github.com/stampkit/stampkit/infra/stampconfig"
	"github.com/stampkit/stampkit/shared/scaling"
)

func TestScaling(t *testing.T) {
	f := synth(t)
	triggered, health := 0, 0
	for _, fc := range f.cfg.Fleets {
		for _, r := range fc.ScalingPolicy().Rules {
			if r.Trigger != nil {
				triggered++
			}
		}
		// Target and load balancer 5xx, latency, unhealthy blue targets,
		// and unhealthy green targets on a blue/green fleet.
		health += 4
		if fc.BlueGreen() {
			health++
		}
		// And the alarm on rollouts that failed or went blind.
		if fc.Rollout.Enabled() {
			health++
		}
		// And the alarm on a forecast that could not read its history.
		if fc.ScalingPolicy().Forecast != nil {
			health++
		}
	}
	// Plus one dead-letter alarm per handler and one per wake-up queue,
	// and the alarm on stampkit events put on the default bus.
	check(t, "alarm count", func() {
		f.template.ResourceCountIs(jsii.String("AWS::CloudWatch::Alarm"), num(triggered+health+len(HandlerNames())+2+1))
	})
	for _, mf := range f.stack.Fleets() {
		cfg := f.fleetConfig(t, mf.Fleet.Name())
		asgID := f.logicalID(t, mf.Fleet.AutoScalingGroup().AutoScalingGroupName())
		albID := f.logicalID(t, mf.Fleet.LoadBalancer().LoadBalancerArn())
		blueID := f.logicalID(t, mf.Fleet.BlueTargetGroup().TargetGroupArn())
		// The dimension values each placeholder must become.
		dimension := map[string]any{
			PlaceholderGroup:        ref(asgID),
			PlaceholderLoadBalancer: getAtt(albID, "LoadBalancerFullName"),
			PlaceholderTargetGroup:  getAtt(blueID, "TargetGroupFullName"),
		}
		declared := cfg.ScalingPolicy()
		bound := mf.Scaling.Policy()
		alarms := mf.Scaling.Alarms()
		if len(bound.Rules) != len(declared.Rules) {
			t.Fatalf("fleet %s rules: got %d, want %d", cfg.Name, len(bound.Rules), len(declared.Rules))
		}
		created := 0
		for i, want := range declared.Rules {
			t.Run(cfg.Name+"/"+stampconfig.AlarmID(want.Alarm), func(t *testing.T) {
				got := bound.Rules[i]
				if want.Trigger == nil {
					if got.Alarm != want.Alarm {
						t.Errorf("alarm managed elsewhere: got %q, want the literal %q", got.Alarm, want.Alarm)
					}
					return
				}
				a := alarms[created]
				created++
				alarmLogicalID := f.logicalID(t, a.Alarm.AlarmArn())
				// The name itself, not a token: the fleets file is written
				// at synth.
				if name := props(f.resources[alarmLogicalID])["AlarmName"]; got.Alarm != name || got.Alarm != f.cfg.Names().ScalingAlarm(cfg.Name, a.ID) {
					t.Errorf("rule alarm: got %q, want the name of %s, %v (Names.ScalingAlarm)", got.Alarm, alarmLogicalID, name)
				}
				if a.Direction != want.Direction {
					t.Errorf("direction: got %q, want %q", a.Direction, want.Direction)
				}
				op := "GreaterThanThreshold"
				if want.Direction == scaling.In {
					op = "LessThanThreshold"
				}
				dimsOf := func(values map[string]any) []any {
					var dims []any
					for _, name := range slices.Sorted(maps.Keys(want.Trigger.Dimensions)) {
						v, ok := values[want.Trigger.Dimensions[name]]
						if !ok {
							v = want.Trigger.Dimensions[name]
						}
						dims = append(dims, map[string]any{"Name": name, "Value": v})
					}
					return dims
				}
				wantMetric := func(dims []any) map[string]any {
					return map[string]any{
						"Namespace": want.Trigger.Namespace, "MetricName": want.Trigger.Metric,
						"Statistic": want.Trigger.Statistic, "Period": float64(want.Trigger.Period.Std().Seconds()),
						"Dimensions": dims,
					}
				}
				metrics := []map[string]any{wantMetric(dimsOf(dimension))}
				wantExpr := ""
				if green, ok := peerDimension(f, t, mf.Fleet, want.Trigger.Dimensions); ok {
					// A blue/green fleet's one-sided trigger watches both sides.
					metrics = append(metrics, wantMetric(dimsOf(green)))
					wantExpr = bothSides
				}
				f.matches(t, "scaling alarm", alarmLogicalID, map[string]any{
					"ComparisonOperator": op,
					"Threshold":          want.Trigger.Threshold,
					"EvaluationPeriods":  want.Trigger.EvaluationPeriods,
					"DatapointsToAlarm":  want.Trigger.DatapointsToAlarm,
					"TreatMissingData":   "notBreaching",
					// State changes reach the scaler through EventBridge.
					"AlarmActions": assertions.Match_Absent(),
					"AlarmName":    f.cfg.Names().ScalingAlarm(cfg.Name, a.ID),
				})
				expr, watched := watchedMetrics(propsOf(f, alarmLogicalID))
				if expr != wantExpr {
					t.Errorf("expression: got %q, want %q", expr, wantExpr)
				}
				if diff := cmp.Diff(metrics, watched); diff != "" {
					t.Errorf("watched metrics (-want +got):\n%s", diff)
				}
				if expr != "" {
					checkExpressionIDs(t, expr, propsOf(f, alarmLogicalID))
				}
			})
		}
		if created != len(alarms) {
			t.Errorf("fleet %s: %d alarms created, want one per trigger (%d)", cfg.Name, len(alarms), created)
		}
		if n := len(mf.Scaling.AlarmArns()); n != len(declared.Rules) {
			t.Errorf("fleet %s alarm ARNs: got %d, want one per rule (%d)", cfg.Name, n, len(declared.Rules))
		}
	}
}

// TestDefaultPolicyAlarms pins what the default policy's alarms must be to
// work at all: the CloudWatch agent's high-resolution CPU per group, and
// RequestCountPerTarget (which only Sum makes sense of) per target group.
func TestDefaultPolicyAlarms(t *testing.T) {
	f := synth(t)
	for _, mf := range f.stack.Fleets() {
		cfg := f.fleetConfig(t, mf.Fleet.Name())
		if cfg.Scaling != nil {
			continue
		}
		byID := map[string]ScalingAlarm{}
		for _, a := range mf.Scaling.Alarms() {
			byID[a.ID] = a
		}
		asgID := f.logicalID(t, mf.Fleet.AutoScalingGroup().AutoScalingGroupName())
		for _, id := range []string{"cpu-high", "cpu-low"} {
			a, ok := byID[id]
			if !ok {
				t.Fatalf("fleet %s: no %s alarm; got %v", cfg.Name, id, keys(byID))
			}
			f.matches(t, id, f.logicalID(t, a.Alarm.AlarmArn()), map[string]any{
				"Namespace": AgentNamespace, "MetricName": "cpu_usage_active", "Statistic": "Average",
				"Dimensions": []any{map[string]any{"Name": "AutoScalingGroupName", "Value": ref(asgID)}},
			})
		}
		if cfg.ScalingTarget.RequestsPerMinute > 0 {
			a, ok := byID["requests-high"]
			if !ok {
				t.Fatalf("fleet %s: no requests-high alarm; got %v", cfg.Name, keys(byID))
			}
			f.matches(t, "requests-high", f.logicalID(t, a.Alarm.AlarmArn()), map[string]any{
				"Namespace": "AWS/ApplicationELB", "MetricName": "RequestCountPerTarget", "Statistic": "Sum", "Period": 60,
				"Threshold": 1.1 * cfg.ScalingTarget.RequestsPerMinute,
			})
		}
		if cpu := byID["cpu-high"]; cpu.Alarm != nil {
			f.matches(t, "cpu-high resolution", f.logicalID(t, cpu.Alarm.AlarmArn()), map[string]any{
				"Period": 10, "Threshold": cfg.ScalingTarget.CPU + 5,
			})
		}
	}
}

func propsOf(f *fixture, id string) map[string]any { return props(f.resources[id]) }

// peerDimension returns the dimension values of a blue/green fleet's green
// side when dims watch one side (they name the group or target group).
func peerDimension(f *fixture, t *testing.T, fl Fleet, dims map[string]string) (map[string]any, bool) {
	if fl.PeerGroup() == nil {
		return nil, false
	}
	oneSide := false
	for _, v := range dims {
		oneSide = oneSide || v == PlaceholderGroup || v == PlaceholderTargetGroup
	}
	if !oneSide {
		return nil, false
	}
	return map[string]any{
		PlaceholderGroup:        ref(f.logicalID(t, fl.PeerGroup().AutoScalingGroupName())),
		PlaceholderLoadBalancer: getAtt(f.logicalID(t, fl.LoadBalancer().LoadBalancerArn()), "LoadBalancerFullName"),
		PlaceholderTargetGroup:  getAtt(f.logicalID(t, fl.GreenTargetGroup().TargetGroupArn()), "TargetGroupFullName"),
	}, true
}

// watchedMetrics returns what a CloudWatch alarm's properties watch: its
// math expression ("" for a single-metric alarm) and each metric, as
// Namespace, MetricName, Statistic (percentiles included), Period and
// Dimensions, whichever of the two shapes the alarm has.
func watchedMetrics(p map[string]any) (string, []map[string]any) {
	list := asList(p["Metrics"])
	if len(list) == 0 {
		stat := p["Statistic"]
		if stat == nil {
			stat = p["ExtendedStatistic"]
		}
		return "", []map[string]any{{
			"Namespace": p["Namespace"], "MetricName": p["MetricName"], "Statistic": stat,
			"Period": p["Period"], "Dimensions": p["Dimensions"],
		}}
	}
	expr := ""
	var out []map[string]any
	for _, q := range list {
		q := q.(map[string]any)
		if e, ok := q["Expression"].(string); ok {
			expr = e
			continue
		}
		ms := q["MetricStat"].(map[string]any)
		m := ms["Metric"].(map[string]any)
		out = append(out, map[string]any{
			"Namespace": m["Namespace"], "MetricName": m["MetricName"], "Statistic": ms["Stat"],
			"Period": ms["Period"], "Dimensions": m["Dimensions"],
		})
	}
	return expr, out
}

// checkExpressionIDs fails unless every lower-case name in expr (metric
// math ids; functions are upper case) is the Id of one of the alarm's
// metric queries, and every metric query is used.
func checkExpressionIDs(t *testing.T, expr string, p map[string]any) {
	t.Helper()
	ids := map[string]bool{}
	for _, q := range asList(p["Metrics"]) {
		q := q.(map[string]any)
		if _, isExpr := q["Expression"]; !isExpr {
			ids[q["Id"].(string)] = false
		}
	}
	for _, name := range regexp.MustCompile(`\b[a-z][a-zA-Z0-9_]*\b`).FindAllString(expr, -1) {
		if _, ok := ids[name]; !ok {
			t.Errorf("expression %q names %q, which is no metric query of the alarm (%v)", expr, name, keys(ids))
		}
		ids[name] = true
	}
	for id, used := range ids {
		if !used {
			t.Errorf("expression %q does not use metric query %q", expr, id)
		}
	}
}
