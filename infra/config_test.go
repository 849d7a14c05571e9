package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// validContext is a minimal valid context, as cdk.json would give it.
func validContext(t *testing.T) map[string]any {
	t.Helper()
	dir := t.TempDir()
	if err := writeAssets(dir); err != nil {
		t.Fatal(err)
	}
	var fleets any
	if err := json.Unmarshal([]byte(`[{
		"name": "web", "instanceType": "t4g.small", "minCapacity": 2, "maxCapacity": 10,
		"appPort": 8080,
		"alarms": [{"id": "CpuHigh", "direction": "out", "metricName": "CPUUtilization",
			"comparison": "GreaterThanOrEqualToThreshold", "threshold": 70, "evaluationPeriods": 3}]
	}]`), &fleets); err != nil {
		t.Fatal(err)
	}
	return map[string]any{CtxAssetsDir: dir, CtxFleets: fleets}
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
		Account: DefaultAccount, Region: DefaultRegion, AssetsDir: ctx[CtxAssetsDir].(string),
		MaxAzs: 3, NatGateways: 1, LogRetentionDays: 30,
		Fleets: []FleetConfig{{
			Name: "web", InstanceType: "t4g.small", MinCapacity: 2, MaxCapacity: 10,
			AmiParameter: "/stampkit/web/ami", AppPort: 8080, HealthCheckPath: "/readyz",
			DeregistrationDelaySeconds: 30, RootVolumeGiB: 16,
			Alarms: []AlarmConfig{{
				ID: "CpuHigh", Direction: "out", Namespace: "AWS/EC2", MetricName: "CPUUtilization",
				Statistic: "Average", Comparison: "GreaterThanOrEqualToThreshold", Threshold: 70,
				PeriodSeconds: 60, EvaluationPeriods: 3, DatapointsToAlarm: 3,
			}},
		}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ParseConfig (-want +got):\n%s", diff)
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
		{"unknown field", func(_, f map[string]any) { f["instanceTyp"] = "x" }, `unknown field "instanceTyp"`},
		{"not a number", func(c, _ map[string]any) { c[CtxMaxAzs] = "three" }, `context "maxAzs"`},
		{"bad fleet name", func(_, f map[string]any) { f["name"] = "Web_1" }, `context "fleets[0].name"`},
		{"max below min", func(_, f map[string]any) { f["maxCapacity"] = 1 }, `context "fleets[0].maxCapacity"`},
		{"desired out of range", func(_, f map[string]any) { f["desiredCapacity"] = 11 }, `context "fleets[0].desiredCapacity"`},
		{"privileged port", func(_, f map[string]any) { f["appPort"] = 80 }, `context "fleets[0].appPort"`},
		{"relative health path", func(_, f map[string]any) { f["healthCheckPath"] = "readyz" }, `context "fleets[0].healthCheckPath"`},
		{"bad certificate", func(_, f map[string]any) { f["certificateArn"] = "cert" }, `context "fleets[0].certificateArn"`},
		{"bad AMI parameter", func(_, f map[string]any) { f["amiParameter"] = "ami" }, `context "fleets[0].amiParameter"`},
		{"no alarms", func(_, f map[string]any) { f["alarms"] = []any{} }, `context "fleets[0].alarms"`},
		{"bad direction", func(_, f map[string]any) {
			f["alarms"].([]any)[0].(map[string]any)["direction"] = "up"
		}, `context "fleets[0].alarms[0].direction"`},
		{"bad comparison", func(_, f map[string]any) {
			f["alarms"].([]any)[0].(map[string]any)["comparison"] = ">"
		}, `context "fleets[0].alarms[0].comparison"`},
		{"datapoints beyond periods", func(_, f map[string]any) {
			f["alarms"].([]any)[0].(map[string]any)["datapointsToAlarm"] = 4
		}, `context "fleets[0].alarms[0].datapointsToAlarm"`},
		{"odd period", func(_, f map[string]any) {
			f["alarms"].([]any)[0].(map[string]any)["periodSeconds"] = 45
		}, `context "fleets[0].alarms[0].periodSeconds"`},
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

func TestProjectConfigIsValid(t *testing.T) {
	// cdk.json itself, with dummy assets: what `cdk synth` would load.
	ctx, err := projectContext()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := writeAssets(dir); err != nil {
		t.Fatal(err)
	}
	ctx[CtxAssetsDir] = dir
	cfg, err := ParseConfig(getter(ctx))
	if err != nil {
		t.Fatalf("cdk.json context: %v", err)
	}
	for _, f := range cfg.Fleets {
		if f.DesiredCapacity != nil {
			t.Errorf("fleet %s: cdk.json sets desiredCapacity; every deploy would reset what the scaler chose", f.Name)
		}
	}
}
