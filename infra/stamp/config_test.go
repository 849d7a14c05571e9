package stamp

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/stampkit/stampkit/infra/stampconfig"
	"github.com/stampkit/stampkit/shared/clock"
	"github.com/stampkit/stampkit/shared/lifecycle"
	"github.com/stampkit/stampkit/shared/rollout"
	"github.com/stampkit/stampkit/shared/scaling"
)

// validContext is a minimal valid context, as cdk.json would give it: one
// fleet on the default scaling policy, no lifecycle probes, no rollout.
func validContext(t *testing.T) map[string]any {
	t.Helper()
	dir := t.TempDir()
	if err := writeAssets(dir); err != nil {
		t.Fatal(err)
	}
	var fleets any
	if err := json.Unmarshal([]byte(`[{
		"name": "web", "instanceType": "t4g.small", "minCapacity": 2, "maxCapacity": 10, "appPort": 8080
	}]`), &fleets); err != nil {
		t.Fatal(err)
	}
	return map[string]any{CtxAssetsDir: dir, CtxFleets: fleets}
}

// explicitScaling is a valid explicit scaling policy for validContext's
// fleet.
func explicitScaling() map[string]any {
	var p map[string]any
	if err := json.Unmarshal([]byte(`{
		"rules": [
			{"alarm": "cpu-high", "direction": "out", "adjustmentType": "ChangeInCapacity", "steps": [{"lower": 0, "adjustment": 1}],
			 "trigger": {"namespace": "AWS/EC2", "metric": "CPUUtilization", "statistic": "Average", "period": "1m",
			             "evaluationPeriods": 3, "datapointsToAlarm": 3, "threshold": 70}},
			{"alarm": "external", "direction": "in", "adjustmentType": "ChangeInCapacity", "steps": [{"lower": 0, "adjustment": 1}]}
		]
	}`), &p); err != nil {
		panic(err)
	}
	return p
}

func getter(ctx map[string]any) func(string) any {
	return func(key string) any { return ctx[key] }
}

func TestParseConfigDefaults(t *testing.T) {
	ctx := validContext(t)
	got, err := ParseConfig(getter(ctx))
	if err != nil {
		t.Fatalf("ParseConfig: %v", err)
	}
	want := Config{
		Name: DefaultStampName, StackName: "stampkit-" + DefaultStampName,
		Account: DefaultAccount, Region: DefaultRegion, AssetsDir: ctx[CtxAssetsDir].(string),
		MaxAzs: 3, NatGateways: 1, LogRetentionDays: 30, AppVersion: DefaultAppVersion, Profile: ProfileDemo,
		Fleets: []FleetConfig{{
			Name: "web", InstanceType: "t4g.small", MinCapacity: 2, MaxCapacity: 10,
			ParameterPrefix: "/stampkit/main/web", AmiParameter: "/stampkit/main/web/ami", AppPort: 8080, HealthCheckPath: "/readyz",
			DeregistrationDelaySeconds: 30, RootVolumeGiB: 16,
			ScalingTarget: &ScalingTarget{CPU: DefaultTargetCPU},
			Lifecycle:     lifecycle.Policy{HeartbeatTimeout: clock.Duration(lifecycle.DefaultHeartbeatTimeout)},
			HealthAlarms: HealthAlarms{
				Target5xxPerMinute: DefaultTarget5xxPerMinute, Elb5xxPerMinute: DefaultElb5xxPerMinute,
				P99LatencySeconds: DefaultP99LatencySeconds, UnhealthyHostMinutes: DefaultUnhealthyHostMinutes,
			},
		}},
	}
	if diff := cmp.Diff(want, got, cmpopts.IgnoreUnexported(Config{})); diff != "" {
		t.Errorf("ParseConfig (-want +got):\n%s", diff)
	}
}

func TestScalingPolicy(t *testing.T) {
	base := FleetConfig{Name: "web", MinCapacity: 2, MaxCapacity: 10}
	t.Run("default policy for the target", func(t *testing.T) {
		f := base
		f.ScalingTarget = &ScalingTarget{CPU: 60, RequestsPerMinute: 300}
		want := scaling.DefaultPolicy(PlaceholderGroup, 2, 10, scaling.Target{
			CPU: 60, RequestsPerMinute: 300, LoadBalancer: PlaceholderLoadBalancer, TargetGroup: PlaceholderTargetGroup,
		})
		if diff := cmp.Diff(want, f.ScalingPolicy()); diff != "" {
			t.Errorf("ScalingPolicy (-want +got):\n%s", diff)
		}
	})
	t.Run("explicit policy gets bounds and dimensions", func(t *testing.T) {
		f := base
		trigger := func(ns string) *scaling.Trigger {
			return &scaling.Trigger{Namespace: ns, Metric: "m", Statistic: "Sum", Period: clock.Duration(time.Minute),
				EvaluationPeriods: 1, DatapointsToAlarm: 1, Threshold: 1}
		}
		f.Scaling = &scaling.Policy{Rules: []scaling.Rule{
			{Alarm: "a", Trigger: trigger("AWS/EC2")},
			{Alarm: "b", Trigger: trigger("AWS/ApplicationELB")},
			{Alarm: "c"},
		}}
		got := f.ScalingPolicy()
		if got.Min != 2 || got.Max != 10 {
			t.Errorf("min, max: got %d, %d, want 2, 10", got.Min, got.Max)
		}
		wantDims := []map[string]string{
			{"AutoScalingGroupName": PlaceholderGroup},
			{"LoadBalancer": PlaceholderLoadBalancer, "TargetGroup": PlaceholderTargetGroup},
		}
		for i, want := range wantDims {
			if diff := cmp.Diff(want, got.Rules[i].Trigger.Dimensions); diff != "" {
				t.Errorf("rules[%d] dimensions (-want +got):\n%s", i, diff)
			}
		}
		f.Scaling.Forecast = &scaling.Forecast{Metric: scaling.Metric{Namespace: "AWS/ApplicationELB", Name: "RequestCount"}}
		if d, want := f.ScalingPolicy().Forecast.Dimensions, map[string]string{"LoadBalancer": PlaceholderLoadBalancer}; !cmp.Equal(d, want) {
			t.Errorf("forecast dimensions: got %v, want %v", d, want)
		}
		if f.Scaling.Forecast.Dimensions != nil {
			t.Errorf("ScalingPolicy changed the declared forecast: %+v", f.Scaling.Forecast)
		}
		if f.Scaling.Rules[0].Trigger.Dimensions != nil || f.Scaling.Min != 0 {
			t.Errorf("ScalingPolicy changed the declared policy: %+v", f.Scaling)
		}
	})
}

func TestBindScaling(t *testing.T) {
	p := FleetConfig{Name: "web", MinCapacity: 1, MaxCapacity: 4, ScalingTarget: &ScalingTarget{CPU: 50, RequestsPerMinute: 100}}.ScalingPolicy()
	vars := map[string]string{PlaceholderGroup: "G", PlaceholderLoadBalancer: "LB", PlaceholderTargetGroup: "TG"}
	var ids []string
	got := stampconfig.BindScaling(p, vars, func(id string, r scaling.Rule) string {
		ids = append(ids, id)
		return "alarm-" + id
	})
	if want := []string{"cpu-high", "cpu-low", "requests-high"}; !slices.Equal(ids, want) {
		t.Errorf("alarm ids: got %v, want %v", ids, want)
	}
	for _, r := range got.Rules {
		if !strings.HasPrefix(r.Alarm, "alarm-") {
			t.Errorf("rule alarm: got %q, want the bound name", r.Alarm)
		}
		for k, v := range r.Trigger.Dimensions {
			if strings.Contains(v, "${") {
				t.Errorf("rule %s dimension %s: got %q, want no placeholder left", r.Alarm, k, v)
			}
		}
	}
	if d := got.Rules[2].Trigger.Dimensions; d["LoadBalancer"] != "LB" || d["TargetGroup"] != "TG" {
		t.Errorf("requests-high dimensions: got %v, want LoadBalancer LB, TargetGroup TG", d)
	}
	if p.Rules[0].Alarm != PlaceholderGroup+"-cpu-high" {
		t.Errorf("bindScaling changed its input: rule alarm %q", p.Rules[0].Alarm)
	}
	// The default policy forecasts from the target group's request count.
	if got.Forecast == nil {
		t.Fatal("bound policy has no forecast, want the default's")
	}
	if d := got.Forecast.Dimensions; !maps.Equal(d, map[string]string{"LoadBalancer": "LB"}) {
		t.Errorf("forecast dimensions: got %v, want LoadBalancer LB", d)
	}
	if d := p.Forecast.Dimensions; d["LoadBalancer"] != PlaceholderLoadBalancer {
		t.Errorf("bindScaling changed its input: forecast dimensions %v", d)
	}
}

func TestParseConfigCommandLineStrings(t *testing.T) {
	// `cdk -c natGateways=2 -c account=222222222222` passes strings.
	ctx := validContext(t)
	ctx[CtxNatGateways] = "2"
	ctx[CtxAccount] = "222222222222"
	raw, _ := json.Marshal(ctx[CtxFleets])
	ctx[CtxFleets] = string(raw)
	got, err := ParseConfig(getter(ctx))
	if err != nil {
		t.Fatalf("ParseConfig: %v", err)
	}
	if got.NatGateways != 2 || got.Account != "222222222222" || len(got.Fleets) != 1 {
		t.Errorf("got natGateways %d, account %s, %d fleets; want 2, 222222222222, 1",
			got.NatGateways, got.Account, len(got.Fleets))
	}
}

func TestParseConfigErrorsNameTheKey(t *testing.T) {
	tests := []struct {
		name   string
		change func(ctx map[string]any, fleet map[string]any)
		want   string
	}{
		{"bad account", func(c, _ map[string]any) { c[CtxAccount] = "12" }, `context "account"`},
		{"bad region", func(c, _ map[string]any) { c[CtxRegion] = "useast" }, `context "region"`},
		{"one zone", func(c, _ map[string]any) { c[CtxMaxAzs] = 1 }, `context "maxAzs"`},
		{"no NAT", func(c, _ map[string]any) { c[CtxNatGateways] = 0 }, `context "natGateways"`},
		{"odd retention", func(c, _ map[string]any) { c[CtxLogRetentionDays] = 31 }, `context "logRetentionDays"`},
		{"missing assets", func(c, _ map[string]any) { c[CtxAssetsDir] = "/nonexistent" }, `context "assetsDir"`},
		{"no fleets", func(c, _ map[string]any) { c[CtxFleets] = []any{} }, `context "fleets"`},
		{"unknown field", func(_, f map[string]any) { f["instanceTyp"] = "x" }, `"fleets[0].instanceTyp": not a key of a fleet; did you mean "instanceType"?`},
		{"not a number", func(c, _ map[string]any) { c[CtxMaxAzs] = "three" }, `context "maxAzs"`},
		{"bad fleet name", func(_, f map[string]any) { f["name"] = "Web_1" }, `context "fleets[0].name"`},
		{"max below min", func(_, f map[string]any) { f["maxCapacity"] = 1 }, `context "fleets[0].maxCapacity"`},
		{"desired out of range", func(_, f map[string]any) { f["desiredCapacity"] = 11 }, `context "fleets[0].desiredCapacity"`},
		{"privileged port", func(_, f map[string]any) { f["appPort"] = 80 }, `context "fleets[0].appPort"`},
		{"relative health path", func(_, f map[string]any) { f["healthCheckPath"] = "readyz" }, `context "fleets[0].healthCheckPath"`},
		{"bad certificate", func(_, f map[string]any) { f["certificateArn"] = "cert" }, `context "fleets[0].certificateArn"`},
		{"bad AMI parameter", func(_, f map[string]any) { f["amiParameter"] = "ami" }, `context "fleets[0].amiParameter"`},
		{"scaling and target", func(_, f map[string]any) {
			f["scaling"], f["scalingTarget"] = explicitScaling(), map[string]any{"cpu": 50}
		}, `context "fleets[0].scalingTarget"`},
		{"target CPU too high", func(_, f map[string]any) { f["scalingTarget"] = map[string]any{"cpu": 99} }, `context "fleets[0].scalingTarget.cpu"`},
		{"unknown policy field", func(_, f map[string]any) {
			p := explicitScaling()
			p["rules"].([]any)[0].(map[string]any)["trigerr"] = map[string]any{}
			f["scaling"] = p
		}, `"fleets[0].scaling.rules[0].trigerr": not a key of a scaling rule; did you mean "trigger"?`},
		{"policy rejected by the scaling package", func(_, f map[string]any) {
			p := explicitScaling()
			p["rules"].([]any)[0].(map[string]any)["direction"] = "up"
			f["scaling"] = p
		}, `context "fleets[0].scaling.rules[0].direction"`},
		{"policy bounds beyond the group", func(_, f map[string]any) {
			p := explicitScaling()
			p["min"], p["max"] = 2, 20
			f["scaling"] = p
		}, `context "fleets[0].scaling": min 2 and max 20`},
		{"unknown placeholder", func(_, f map[string]any) {
			p := explicitScaling()
			p["rules"].([]any)[0].(map[string]any)["trigger"].(map[string]any)["dimensions"] = map[string]any{"AutoScalingGroupName": "${asg}"}
			f["scaling"] = p
		}, `context "fleets[0].scaling.rules[0].trigger.dimensions.AutoScalingGroupName"`},
		{"forecast rejected by the scaling package", func(_, f map[string]any) {
			p := explicitScaling()
			p["forecast"] = map[string]any{"namespace": "AWS/ApplicationELB", "metric": "RequestCount", "perInstance": 100, "lookbackDays": 30, "window": "10m", "quantile": 0.5}
			f["scaling"] = p
		}, `context "fleets[0].scaling.forecast.lookbackDays"`},
		{"unknown placeholder in the forecast", func(_, f map[string]any) {
			p := explicitScaling()
			p["forecast"] = map[string]any{"namespace": "AWS/ApplicationELB", "metric": "RequestCount", "perInstance": 100, "lookbackDays": 14, "window": "10m", "quantile": 0.5,
				"dimensions": map[string]any{"LoadBalancer": "${alb}"}}
			f["scaling"] = p
		}, `context "fleets[0].scaling.forecast.dimensions.LoadBalancer"`},
		{"blue/green forecast on one target group", func(_, f map[string]any) {
			p := explicitScaling()
			p["forecast"] = map[string]any{"namespace": "AWS/ApplicationELB", "metric": "RequestCount", "perInstance": 100, "lookbackDays": 14, "window": "10m", "quantile": 0.5,
				"dimensions": map[string]any{"LoadBalancer": "${loadBalancer}", "TargetGroup": "${targetGroup}"}}
			f["scaling"] = p
			f["rollout"] = map[string]any{"strategy": "bluegreen"}
		}, `context "fleets[0].scaling.forecast.dimensions.TargetGroup": ${targetGroup} is one side`},
		{"warm pool larger than the group", func(_, f map[string]any) { f["warmPool"] = map[string]any{"minSize": 11} }, `context "fleets[0].warmPool.minSize"`},
		{"warm pool prepared below its size", func(_, f map[string]any) { f["warmPool"] = map[string]any{"minSize": 3, "maxPrepared": 2} }, `context "fleets[0].warmPool.maxPrepared"`},
		{"hibernated warm pool", func(_, f map[string]any) { f["warmPool"] = map[string]any{"state": "Hibernated"} }, `context "fleets[0].warmPool.state"`},
		{"high resolution on an AWS metric", func(_, f map[string]any) {
			p := explicitScaling()
			p["rules"].([]any)[0].(map[string]any)["trigger"].(map[string]any)["period"] = "10s"
			f["scaling"] = p
		}, `context "fleets[0].scaling.rules[0].trigger.period"`},
		{"placeholder without a trigger", func(_, f map[string]any) {
			p := explicitScaling()
			p["rules"].([]any)[1].(map[string]any)["alarm"] = "${group}-external"
			f["scaling"] = p
		}, `context "fleets[0].scaling.rules[1].alarm"`},
		{"two rules, one alarm id", func(_, f map[string]any) {
			p := explicitScaling()
			second := p["rules"].([]any)[0].(map[string]any)
			raw, _ := json.Marshal(second)
			var copied map[string]any
			_ = json.Unmarshal(raw, &copied)
			copied["alarm"] = "${group}-cpu-high"
			p["rules"] = append(p["rules"].([]any), copied)
			f["scaling"] = p
		}, `context "fleets[0].scaling.rules[2].alarm"`},
		{"heartbeat too short", func(_, f map[string]any) {
			f["lifecycle"] = map[string]any{"heartbeatTimeout": "10s"}
		}, `context "fleets[0].lifecycle.heartbeatTimeout"`},
		{"probe without a port", func(_, f map[string]any) {
			f["lifecycle"] = map[string]any{"launch": map[string]any{"probes": []any{map[string]any{"name": "p", "kind": "http"}}}}
		}, `context "fleets[0].lifecycle.launch.probes[0].port"`},
		{"rollout on another parameter", func(_, f map[string]any) {
			f["rollout"] = map[string]any{"strategy": "rolling", "parameter": "/other/ami"}
		}, `context "fleets[0].rollout.parameter"`},
		{"parameter prefix with a trailing slash", func(_, f map[string]any) { f["parameterPrefix"] = "/stampkit/web/" }, `context "fleets[0].parameterPrefix"`},
		{"relative parameter prefix", func(_, f map[string]any) { f["parameterPrefix"] = "stampkit/web" }, `context "fleets[0].parameterPrefix"`},
		{"rollout names its weight parameters", func(_, f map[string]any) {
			f["rollout"] = map[string]any{"strategy": "bluegreen", "blueGreen": map[string]any{
				"weightParameters": map[string]any{"targetGroup": "/a", "peerTargetGroup": "/b"},
			}}
		}, `context "fleets[0].rollout.blueGreen.weightParameters.targetGroup": got "/a": the stack creates and fills it in`},
		{"rollout names the listener", func(_, f map[string]any) {
			f["rollout"] = map[string]any{"strategy": "bluegreen", "blueGreen": map[string]any{"listener": "arn:x"}}
		}, `context "fleets[0].rollout.blueGreen.listener"`},
		{"rollout rejected by the rollout package", func(_, f map[string]any) {
			f["rollout"] = map[string]any{"strategy": "canary"}
		}, `context "fleets[0].rollout.strategy"`},
		{"bad alarm email", func(c, _ map[string]any) { c[CtxAlarmEmail] = "ops at example.com" }, `context "alarmEmail"`},
		{"heartbeat margin within the wake queue's visibility timeout", func(_, f map[string]any) {
			f["lifecycle"] = map[string]any{"heartbeatTimeout": "90s"}
		}, `context "fleets[0].lifecycle.heartbeatTimeout": fleet web: heartbeat timeout 1m30s leaves a heartbeat margin of 30s`},
		{"HTTP probes beyond the lifecycle timeout", func(_, f map[string]any) {
			f["lifecycle"] = map[string]any{"launch": map[string]any{"probes": []any{
				map[string]any{"name": "a", "kind": "http", "port": 8080, "timeout": "6s"},
				map[string]any{"name": "b", "kind": "http", "port": 8080, "path": "/b", "timeout": "5s"},
			}}}
		}, `context "fleets[0].lifecycle.launch.probes": fleet web: the HTTP probes' timeouts add up to 11s`},
		{"health threshold", func(_, f map[string]any) {
			f["healthAlarms"] = map[string]any{"target5xxPerMinute": -1}
		}, `context "fleets[0].healthAlarms.target5xxPerMinute"`},
		{"load balancer 5xx threshold", func(_, f map[string]any) {
			f["healthAlarms"] = map[string]any{"elb5xxPerMinute": -1}
		}, `context "fleets[0].healthAlarms.elb5xxPerMinute": got -1, want >= 1`},
		{"unhealthy targets for too long", func(_, f map[string]any) {
			f["healthAlarms"] = map[string]any{"unhealthyHostMinutes": 61}
		}, `context "fleets[0].healthAlarms.unhealthyHostMinutes": got 61, want 1..60`},
		{"unhealthy targets for negative minutes", func(_, f map[string]any) {
			f["healthAlarms"] = map[string]any{"unhealthyHostMinutes": -2}
		}, `context "fleets[0].healthAlarms.unhealthyHostMinutes": got -2, want 1..60`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := validContext(t)
			fleet := ctx[CtxFleets].([]any)[0].(map[string]any)
			tc.change(ctx, fleet)
			_, err := ParseConfig(getter(ctx))
			if err == nil {
				t.Fatalf("ParseConfig: got no error, want one containing %s", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("ParseConfig error: got %q, want it to contain %s", err, tc.want)
			}
		})
	}
}

// TestParseConfigHeartbeatMargin: the heartbeat is due
// lifecycle.HeartbeatMargin before the hook expires, and a failed wake-up
// returns LifecycleWakeVisibility after it was received; synth refuses a
// heartbeat timeout whose margin is not longer, and names the shortest
// one that is.
func TestParseConfigHeartbeatMargin(t *testing.T) {
	var shortest time.Duration
	for hb := time.Second; hb <= 2*time.Hour; hb += time.Second {
		if lifecycle.HeartbeatMargin(hb) > LifecycleWakeVisibility {
			shortest = hb
			break
		}
	}
	if shortest == 0 {
		t.Fatalf("no heartbeat timeout has a margin above %v", LifecycleWakeVisibility)
	}
	tests := []struct {
		name      string
		heartbeat time.Duration
		wantErr   bool
	}{
		{"the default", lifecycle.DefaultHeartbeatTimeout, false},
		{"the shortest accepted", shortest, false},
		{"a second shorter", shortest - time.Second, true},
		{"the minimum a hook takes", 30 * time.Second, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := validContext(t)
			ctx[CtxFleets].([]any)[0].(map[string]any)["lifecycle"] = map[string]any{"heartbeatTimeout": tc.heartbeat.String()}
			_, err := ParseConfig(getter(ctx))
			if !tc.wantErr {
				if err != nil {
					t.Errorf("heartbeat %v: got %v, want no error", tc.heartbeat, err)
				}
				return
			}
			want := fmt.Sprintf("want at least %v", shortest)
			if err == nil || !strings.Contains(err.Error(), `"fleets[0].lifecycle.heartbeatTimeout"`) || !strings.Contains(err.Error(), want) {
				t.Errorf("heartbeat %v: got %v, want an error naming fleets[0].lifecycle.heartbeatTimeout and saying %q", tc.heartbeat, err, want)
			}
		})
	}
}

func TestParseConfigAlarmEmail(t *testing.T) {
	tests := []struct {
		name, value string
		wantErr     bool
	}{
		{"an address", "ops@example.com", false},
		{"plus and subdomain", "ops+stampkit@mail.example.co.uk", false},
		{"no at", "ops.example.com", true},
		{"no domain dot", "ops@example", true},
		{"a space", "ops team@example.com", true},
		{"two addresses", "a@example.com,b@example.com@x", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := validContext(t)
			ctx[CtxAlarmEmail] = tc.value
			got, err := ParseConfig(getter(ctx))
			switch {
			case tc.wantErr && (err == nil || !strings.Contains(err.Error(), `context "alarmEmail"`)):
				t.Errorf("%q: got %v, want an error naming alarmEmail", tc.value, err)
			case !tc.wantErr && err != nil:
				t.Errorf("%q: got %v, want no error", tc.value, err)
			case !tc.wantErr && got.AlarmEmail != tc.value:
				t.Errorf("AlarmEmail: got %q, want %q", got.AlarmEmail, tc.value)
			}
		})
	}
}

// TestParseConfigParameterPrefix: a fleet's SSM parameters live under its
// prefix, which two fleets must not share (their weight parameters would
// be one).
func TestParseConfigParameterPrefix(t *testing.T) {
	ctx := validContext(t)
	fleets := ctx[CtxFleets].([]any)
	fleets[0].(map[string]any)["parameterPrefix"] = "/stamp1/web"
	delete(fleets[0].(map[string]any), "amiParameter")
	got, err := ParseConfig(getter(ctx))
	if err != nil {
		t.Fatalf("ParseConfig: %v", err)
	}
	if f := got.Fleets[0]; f.AmiParameter != "/stamp1/web/ami" {
		t.Errorf("AmiParameter: got %q, want /stamp1/web/ami (under the prefix)", f.AmiParameter)
	}
	raw, _ := json.Marshal(fleets[0])
	var other map[string]any
	_ = json.Unmarshal(raw, &other)
	other["name"] = "api"
	other["amiParameter"] = "/stamp1/api/ami"
	ctx[CtxFleets] = append(fleets, other)
	_, err = ParseConfig(getter(ctx))
	if err == nil || !strings.Contains(err.Error(), `context "fleets[1].parameterPrefix": "/stamp1/web" is used by another fleet`) {
		t.Errorf("ParseConfig error: got %v, want one naming fleets[1].parameterPrefix", err)
	}
}

func TestParseConfigDuplicateFleet(t *testing.T) {
	ctx := validContext(t)
	fleets := ctx[CtxFleets].([]any)
	raw, _ := json.Marshal(fleets[0])
	var again any
	_ = json.Unmarshal(raw, &again)
	ctx[CtxFleets] = append(fleets, again)
	_, err := ParseConfig(getter(ctx))
	if err == nil || !strings.Contains(err.Error(), `context "fleets[1].name"`) {
		t.Errorf("ParseConfig error: got %v, want one naming fleets[1].name", err)
	}
}

func TestParseConfigRunsTheLambdasValidation(t *testing.T) {
	// Two fleets scaled by the same external alarm: each fleet is valid on
	// its own, config.Config.Validate (what the Lambdas run) is not.
	ctx := validContext(t)
	fleets := ctx[CtxFleets].([]any)
	fleets[0].(map[string]any)["scaling"] = explicitScaling()
	raw, _ := json.Marshal(fleets[0])
	var other map[string]any
	_ = json.Unmarshal(raw, &other)
	other["name"] = "api"
	ctx[CtxFleets] = append(fleets, other)
	_, err := ParseConfig(getter(ctx))
	want := `context "fleets": the Lambdas would reject it: STAMPKIT_FLEETS[1].scaling.rules: alarm "external" also scales fleet "web"`
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("ParseConfig error: got %v, want one containing %s", err, want)
	}
}

// TestParseConfigKeepsTheEnvironmentWithinLambdasLimit: fleets read from
// the fleets file put no limit on the environment, but a scaler whose
// fleets forecast on their load balancer's metric (the default policy
// with requestsPerMinute does) keeps them in its environment, and synth
// refuses the fleet that would outgrow it.
func TestParseConfigKeepsTheEnvironmentWithinLambdasLimit(t *testing.T) {
	many := func(n int, target map[string]any) map[string]any {
		ctx := validContext(t)
		var fleets []any
		for i := range n {
			raw, _ := json.Marshal(ctx[CtxFleets].([]any)[0])
			var f map[string]any
			_ = json.Unmarshal(raw, &f)
			f["name"] = fmt.Sprintf("f%d", i)
			f["scalingTarget"] = target
			f["rollout"] = map[string]any{"strategy": "bluegreen"}
			fleets = append(fleets, f)
		}
		ctx[CtxFleets] = fleets
		return ctx
	}
	cpu := map[string]any{"cpu": 50}
	if _, err := ParseConfig(getter(many(100, cpu))); err != nil {
		t.Errorf("100 fleets in the fleets file: %v", err)
	}
	forecast := map[string]any{"cpu": 50, "requestsPerMinute": 600}
	if _, err := ParseConfig(getter(many(1, forecast))); err != nil {
		t.Fatalf("one fleet forecasting on its load balancer: %v", err)
	}
	for n := 2; n <= 10; n++ {
		_, err := ParseConfig(getter(many(n, forecast)))
		if err == nil {
			continue
		}
		want := `the scaler function's fleets are in its environment, not a file, because fleets f0, f1`
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%d fleets: got %v, want an error containing %s", n, err, want)
		}
		t.Logf("%d fleets forecasting on their load balancers outgrow the scaler's environment", n)
		return
	}
	t.Errorf("10 fleets forecasting on their load balancers: got no error, want the scaler's environment to outgrow Lambda's %d bytes", LambdaEnvLimit)
}

func TestProjectConfigIsValid(t *testing.T) {
	// cdk.json itself, with dummy assets: what `cdk synth` would load.
	ctx := shippedContext(t)
	cfg, err := ParseConfig(getter(ctx))
	if err != nil {
		t.Fatalf("cdk.json context: %v", err)
	}
	for _, f := range cfg.Fleets {
		if f.DesiredCapacity != nil {
			t.Errorf("fleet %s: cdk.json sets desiredCapacity; every deploy would reset what the scaler chose", f.Name)
		}
		// An instance refresh launches before it terminates: with less
		// than 100 % healthy allowed, Auto Scaling terminates first and a
		// two-instance group serves on one.
		if r := f.Rollout.Rolling; f.Rollout.Strategy == rollout.StrategyRolling &&
			(r.MinHealthyPercentage == nil || r.MaxHealthyPercentage == nil || *r.MinHealthyPercentage != 100 || *r.MaxHealthyPercentage <= 100) {
			t.Errorf("fleet %s: rolling minHealthyPercentage %v, maxHealthyPercentage %v; want 100 and above 100 (launch before terminate)",
				f.Name, show(r.MinHealthyPercentage), show(r.MaxHealthyPercentage))
		}
	}
}

func show(p *int) string {
	if p == nil {
		return "unset"
	}
	return strconv.Itoa(*p)
}
