package stamp

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/stampkit/stampkit/shared/config"
	"github.com/stampkit/stampkit/shared/lifecycle"
	"github.com/stampkit/stampkit/shared/rollout"
	"github.com/stampkit/stampkit/shared/scaling"
)

// deployed stands in for CloudFormation at deploy time: it turns the
// intrinsics in a synthesized value into the kind of string they resolve
// to, with names as long as the ones CloudFormation generates (stack name,
// logical id, 12-character suffix), unique per resource.
type deployed struct {
	f       *fixture
	account string
	region  string
}

// physicalName is the resource's name: the one its template sets
// (explicitNames), or the one CloudFormation generates for a resource
// with none.
func (d deployed) physicalName(id string) string {
	for _, key := range explicitNames {
		if name, ok := props(d.f.resources[id])[key].(string); ok {
			return name
		}
	}
	return d.f.cfg.StackName + "-" + id + "-1A2B3C4D5E6F"
}

// explicitNames are the properties that name the resources a Ref names:
// their value is what the Ref resolves to.
var explicitNames = []string{"AutoScalingGroupName", "AlarmName", "DashboardName", "LogGroupName", "Name"}

func (d deployed) arn(service, resource string) string {
	return "arn:aws:" + service + ":" + d.region + ":" + d.account + ":" + resource
}

func (d deployed) resolve(v any) (string, error) {
	switch x := v.(type) {
	case string:
		return x, nil
	case map[string]any:
		if len(x) != 1 {
			return "", fmt.Errorf("%v: want one intrinsic", x)
		}
		for fn, arg := range x {
			switch fn {
			case "Ref":
				id, _ := arg.(string)
				return d.ref(id)
			case "Fn::GetAtt":
				parts, _ := arg.([]any)
				if len(parts) != 2 {
					return "", fmt.Errorf("Fn::GetAtt %v: want [logicalId, attribute]", arg)
				}
				return d.getAtt(fmt.Sprint(parts[0]), fmt.Sprint(parts[1]))
			case "Fn::Join":
				parts, _ := arg.([]any)
				if len(parts) != 2 {
					return "", fmt.Errorf("Fn::Join %v: want [separator, list]", arg)
				}
				var out []string
				for _, p := range asList(parts[1]) {
					s, err := d.resolve(p)
					if err != nil {
						return "", err
					}
					out = append(out, s)
				}
				return strings.Join(out, fmt.Sprint(parts[0])), nil
			case "Fn::Select":
				// Only as CDK uses it: an element of an Fn::Split.
				parts, _ := arg.([]any)
				if len(parts) != 2 {
					return "", fmt.Errorf("Fn::Select %v: want [index, list]", arg)
				}
				split, _ := parts[1].(map[string]any)["Fn::Split"].([]any)
				if len(split) != 2 {
					return "", fmt.Errorf("Fn::Select %v: want an Fn::Split list", arg)
				}
				source, err := d.resolve(split[1])
				if err != nil {
					return "", err
				}
				list := strings.Split(source, fmt.Sprint(split[0]))
				i, ok := parts[0].(float64)
				if !ok || int(i) < 0 || int(i) >= len(list) {
					return "", fmt.Errorf("Fn::Select %v of %q: index out of range", parts[0], source)
				}
				return list[int(i)], nil
			}
			return "", fmt.Errorf("intrinsic %s is not handled here", fn)
		}
	}
	return "", fmt.Errorf("%v (%T): want a string or an intrinsic", v, v)
}

func (d deployed) ref(id string) (string, error) {
	switch id {
	case "AWS::Region":
		return d.region, nil
	case "AWS::AccountId":
		return d.account, nil
	case "AWS::Partition":
		return "aws", nil
	case "AWS::URLSuffix":
		return "amazonaws.com", nil
	}
	r, ok := d.f.resources[id]
	if !ok {
		return "", fmt.Errorf("Ref %s: no such resource", id)
	}
	name := d.physicalName(id)
	switch r["Type"] {
	case "AWS::SQS::Queue":
		return "https://sqs." + d.region + ".amazonaws.com/" + d.account + "/" + name, nil
	case "AWS::ElasticLoadBalancingV2::TargetGroup":
		return d.arn("elasticloadbalancing", "targetgroup/"+name[:32]+"/0123456789abcdef"), nil
	case "AWS::ElasticLoadBalancingV2::LoadBalancer":
		return d.arn("elasticloadbalancing", "loadbalancer/app/"+name[:32]+"/0123456789abcdef"), nil
	case "AWS::ElasticLoadBalancingV2::Listener":
		return d.arn("elasticloadbalancing", "listener/app/"+name[:32]+"/0123456789abcdef/fedcba9876543210"), nil
	case "AWS::EC2::LaunchTemplate":
		return "lt-0123456789abcdef0", nil
	}
	return name, nil
}

func (d deployed) getAtt(id, attr string) (string, error) {
	r, ok := d.f.resources[id]
	if !ok {
		return "", fmt.Errorf("Fn::GetAtt %s: no such resource", id)
	}
	name := d.physicalName(id)
	switch attr {
	case "Arn":
		switch r["Type"] {
		case "AWS::CloudWatch::Alarm":
			return d.arn("cloudwatch", "alarm:"+name), nil
		case "AWS::IAM::Role":
			path, err := d.resolve(props(r)["Path"])
			if err != nil || path == "" {
				path = "/"
			}
			return "arn:aws:iam::" + d.account + ":role" + path + name, nil
		}
		return d.arn(strings.ToLower(strings.Split(fmt.Sprint(r["Type"]), "::")[1]), name), nil
	case "LoadBalancerFullName":
		return "app/" + name[:32] + "/0123456789abcdef", nil
	case "TargetGroupFullName":
		return "targetgroup/" + name[:32] + "/0123456789abcdef", nil
	}
	return name + "." + attr, nil
}

// TestLambdasAcceptTheirEnvironment takes each function's environment from
// the synthesized template, resolves it as CloudFormation would, and reads
// it with the functions' own config.FromEnv (and queue readers). What they
// read must be cdk.json's policies, bound to this stack's resources.
func TestLambdasAcceptTheirEnvironment(t *testing.T) {
	f := synth(t)
	d := deployed{f: f, account: f.cfg.Account, region: f.cfg.Region}
	hs := f.stack.Handlers()
	queueReaders := map[string]func(func(string) string) (string, error){
		"scaler":    nil,
		"lifecycle": config.WakeQueueFromEnv,
		"rollout":   config.RolloutQueueFromEnv,
	}
	for name, h := range map[string]Handler{"scaler": hs.Scaler(), "lifecycle": hs.Lifecycle(), "rollout": hs.Rollout()} {
		t.Run(name, func(t *testing.T) {
			fn := props(f.resources[f.logicalID(t, h.Function.FunctionArn())])
			vars, _ := fn["Environment"].(map[string]any)["Variables"].(map[string]any)
			env := map[string]string{}
			size := 0
			for k, v := range vars {
				s, err := d.resolve(v)
				if err != nil {
					t.Fatalf("%s: %v", k, err)
				}
				env[k] = s
				size += len(k) + len(s)
			}
			if size > LambdaEnvLimit {
				t.Errorf("environment: %d bytes once deployed, Lambda allows %d", size, LambdaEnvLimit)
			}
			// The synth-time check must not underestimate.
			estimate := f.cfg.EnvSizes()[name]
			if estimate < size {
				t.Errorf("environment: estimated %d bytes at synth, %d once deployed; want the estimate to be an upper bound", estimate, size)
			}
			t.Logf("environment: %d of %d bytes once deployed (estimated %d)", size, LambdaEnvLimit, estimate)
			checkCode(t, f, name, h, env)
			// Lambda unpacks the code asset, the staged directory, here.
			env[config.EnvTaskRoot] = h.CodeDir
			getenv := func(k string) string { return env[k] }
			cfg, err := config.FromEnv(getenv)
			if err != nil {
				t.Fatalf("config.FromEnv rejects the deployed environment: %v", err)
			}
			if read := queueReaders[name]; read != nil {
				url, err := read(getenv)
				if err != nil {
					t.Fatalf("reading the wake-up queue: %v", err)
				}
				if want, _ := d.ref(f.logicalID(t, h.WakeQueue.QueueArn())); url != want {
					t.Errorf("wake-up queue: got %s, want %s", url, want)
				}
			}
			if cfg.Namespace != MetricNamespace {
				t.Errorf("metric namespace: got %q, want %q", cfg.Namespace, MetricNamespace)
			}
			if want, _ := d.ref(f.logicalID(t, f.stack.State().Table().TableName())); cfg.Table != want {
				t.Errorf("table: got %q, want %q", cfg.Table, want)
			}
			checkFleets(t, f, d, name, cfg)
		})
	}
}

// checkCode checks the function's staged code: its bootstrap as `make
// build` wrote it, and its fleets where the environment says they are: in
// the fleets file, exactly FleetsFor of the fleets the stack bound, or, for
// a scaler whose fleets forecast on their load balancer's metric, in
// STAMPKIT_FLEETS.
func checkCode(t *testing.T, f *fixture, function string, h Handler, env map[string]string) {
	t.Helper()
	want, err := os.ReadFile(filepath.Join(f.cfg.AssetsDir, function, "bootstrap"))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := os.ReadFile(filepath.Join(h.CodeDir, "bootstrap")); err != nil || !bytes.Equal(got, want) {
		t.Errorf("staged bootstrap: got %q (%v), want %s's", got, err, filepath.Join(f.cfg.AssetsDir, function, "bootstrap"))
	}
	var bound []config.Fleet
	for _, mf := range f.stack.Fleets() {
		bound = append(bound, mf.Config)
	}
	inEnv := len(f.cfg.FleetsInEnvironment(function)) > 0
	file, fileErr := os.ReadFile(filepath.Join(h.CodeDir, FleetsFileName))
	switch {
	case inEnv && (env[config.EnvFleets] == "" || env[config.EnvFleetsFile] != "" || fileErr == nil):
		t.Errorf("fleets: want them in %s alone (fleets %v forecast on a deploy-time metric); got %s=%q and a fleets file (%v)",
			config.EnvFleets, f.cfg.FleetsInEnvironment(function), config.EnvFleetsFile, env[config.EnvFleetsFile], fileErr == nil)
	case inEnv:
	case env[config.EnvFleets] != "" || env[config.EnvFleetsFile] != FleetsFileName:
		t.Errorf("environment: got %s=%q and %s set %v, want %s=%s alone", config.EnvFleetsFile, env[config.EnvFleetsFile],
			config.EnvFleets, env[config.EnvFleets] != "", config.EnvFleetsFile, FleetsFileName)
	case fileErr != nil:
		t.Errorf("fleets file: %v", fileErr)
	default:
		want, err := json.Marshal(FleetsFor(function, bound))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(file, want) {
			t.Errorf("fleets file:\n%s\nwant FleetsFor(%s) of the bound fleets:\n%s", file, function, want)
		}
	}
}

// checkFleets compares what a function read with cdk.json (f.cfg) and the
// deployed resources. Each function gets the policies it reads (FleetsFor).
func checkFleets(t *testing.T, f *fixture, d deployed, function string, cfg config.Config) {
	t.Helper()
	// A fleets file is read lazily: each fleet decoded when asked for.
	var fleets []config.Fleet
	for _, n := range cfg.FleetNames() {
		fl, ok, err := cfg.FleetByName(n)
		if !ok || err != nil {
			t.Fatalf("fleet %s: ok %v, %v", n, ok, err)
		}
		fleets = append(fleets, fl)
	}
	if len(fleets) != len(f.cfg.Fleets) {
		t.Fatalf("fleets: got %d, want %d", len(fleets), len(f.cfg.Fleets))
	}
	for i, mf := range f.stack.Fleets() {
		got, fc := fleets[i], f.fleetConfig(t, mf.Fleet.Name())
		if got.Name != fc.Name || got.DryRun != fc.DryRun {
			t.Errorf("fleets[%d]: got %s (dry run %v), want %s (%v)", i, got.Name, got.DryRun, fc.Name, fc.DryRun)
		}
		name := func(token *string) string {
			s, err := d.ref(f.logicalID(t, token))
			if err != nil {
				t.Fatal(err)
			}
			return s
		}
		if want := name(mf.Fleet.AutoScalingGroup().AutoScalingGroupName()); got.Group != want {
			t.Errorf("fleet %s group: got %q, want %q", fc.Name, got.Group, want)
		}
		if function != "scaler" {
			if !got.Scaling.IsZero() {
				t.Errorf("fleet %s: the %s function got the scaling policy, which only the scaler reads", fc.Name, function)
			}
		} else if err := checkScaling(f, d, mf, fc.ScalingPolicy(), got.Scaling); err != nil {
			t.Errorf("fleet %s scaling: %v", fc.Name, err)
		}
		wantLifecycle := lifecycle.Policy{}
		if function == "lifecycle" {
			wantLifecycle = fc.Lifecycle
		}
		if diff := cmp.Diff(wantLifecycle, got.Lifecycle); diff != "" {
			t.Errorf("fleet %s lifecycle policy (-want +got):\n%s", fc.Name, diff)
		}
		// The lifecycle function answers only the hooks the groups declare.
		wantHooks := config.Hooks{}
		if function == "lifecycle" {
			wantHooks = config.Hooks{Launch: LaunchHookName, Terminate: TerminateHookName}
		}
		if got.Hooks != wantHooks {
			t.Errorf("fleet %s hooks: got %+v, want %+v", fc.Name, got.Hooks, wantHooks)
		}
		ro := got.Rollout
		if function == "lifecycle" && mf.Fleet.PeerGroup() != nil {
			peer := name(mf.Fleet.PeerGroup().AutoScalingGroupName())
			if owner, ok, err := cfg.FleetByGroup(peer); !ok || err != nil || owner.Name != fc.Name {
				t.Errorf("fleet %s: the lifecycle function does not know its peer group %s as the fleet's (got %q, %v, %v)", fc.Name, peer, owner.Name, ok, err)
			}
		}
		if function != "rollout" {
			if ro.Enabled() {
				t.Errorf("fleet %s: the %s function got the rollout policy, which only the rollout function reads", fc.Name, function)
			}
			continue
		}
		if ro.Strategy != fc.Rollout.Strategy {
			t.Errorf("fleet %s rollout strategy: got %q, want %q", fc.Name, ro.Strategy, fc.Rollout.Strategy)
		}
		if !ro.Enabled() {
			continue
		}
		if ro.Parameter != fc.AmiParameter {
			t.Errorf("fleet %s rollout parameter: got %q, want the launch template's %q", fc.Name, ro.Parameter, fc.AmiParameter)
		}
		var health []string
		for _, a := range mf.Fleet.HealthAlarms() {
			health = append(health, name(a.AlarmName()))
		}
		if !slices.Equal(ro.Alarms, health) {
			t.Errorf("fleet %s rollout alarms: got %v, want the health alarms %v", fc.Name, ro.Alarms, health)
		}
		if ro.Strategy == rollout.StrategyBlueGreen {
			// The ARNs are in the resources parameter, which CloudFormation
			// writes: deployed, it reads as the fleet's listener and
			// target groups.
			bg := ro.BlueGreen
			if want := ResourcesParameter(fc.ParameterPrefix); bg.ResourcesParameter != want || bg.Resolved() {
				t.Errorf("fleet %s blue/green: got resources parameter %q and ARNs %+v, want the parameter %q and no ARNs", fc.Name, bg.ResourcesParameter, bg, want)
			}
			if want := name(mf.Fleet.PeerGroup().AutoScalingGroupName()); bg.PeerGroup != want {
				t.Errorf("fleet %s peer group: got %q, want %q", fc.Name, bg.PeerGroup, want)
			}
			param := props(f.resources[f.logicalID(t, mf.Fleet.ResourcesParameter().ParameterName())])
			value, err := d.resolve(param["Value"])
			if err != nil {
				t.Fatalf("fleet %s resources parameter: %v", fc.Name, err)
			}
			res, err := rollout.ParseResources(value)
			want := rollout.Resources{
				Listener:        name(mf.Fleet.Listener().ListenerArn()),
				TargetGroup:     name(mf.Fleet.BlueTargetGroup().TargetGroupArn()),
				PeerTargetGroup: name(mf.Fleet.GreenTargetGroup().TargetGroupArn()),
			}
			if err != nil || res != want || param["Name"] != bg.ResourcesParameter {
				t.Errorf("fleet %s resources parameter %v: deployed it reads %+v (%v), want %+v", fc.Name, param["Name"], res, err, want)
			}
			// The parameters the listener reads its weights from, which the
			// rollout writes before it changes them.
			if w := fc.WeightParameters(); bg.WeightParameters != w || w.TargetGroup == "" {
				t.Errorf("fleet %s weight parameters: got %+v, want %+v", fc.Name, bg.WeightParameters, w)
			}
		}
	}
}

// checkScaling compares the policy a function read with the declared one:
// rule for rule, direction and step table as declared; a triggered rule's
// alarm is the deployed name of the alarm the stack created for it, whose
// metric, threshold and comparison are the trigger's and whose dimensions
// are bound.
func checkScaling(f *fixture, d deployed, mf ManagedFleet, declared, got scaling.Policy) error {
	var errs []error
	if got.Min != declared.Min || got.Max != declared.Max || got.Warmup != declared.Warmup {
		errs = append(errs, fmt.Errorf("min/max/warmup: got %d/%d/%v, want %d/%d/%v",
			got.Min, got.Max, got.Warmup, declared.Min, declared.Max, declared.Warmup))
	}
	switch g, w := got.Forecast, declared.Forecast; {
	case (g == nil) != (w == nil):
		errs = append(errs, fmt.Errorf("forecast: got %+v, want %+v", g, w))
	case g != nil:
		for k, v := range g.Dimensions {
			if v == "" || strings.Contains(v, "${") {
				errs = append(errs, fmt.Errorf("forecast dimension %s = %q is not bound", k, v))
			}
		}
		gf, wf := *g, *w
		if !slices.Equal(slices.Sorted(maps.Keys(gf.Dimensions)), slices.Sorted(maps.Keys(wf.Dimensions))) {
			errs = append(errs, fmt.Errorf("forecast dimensions: got %v, want %v", gf.Dimensions, wf.Dimensions))
		}
		gf.Dimensions, wf.Dimensions = nil, nil
		if d := cmp.Diff(wf, gf); d != "" {
			errs = append(errs, fmt.Errorf("forecast (-want +got):\n%s", d))
		}
	}
	if len(got.Rules) != len(declared.Rules) {
		return fmt.Errorf("rules: got %d, want %d", len(got.Rules), len(declared.Rules))
	}
	// Deployed alarm name → logical id, for the fleet's scaling alarms only.
	alarms := map[string]string{}
	for _, a := range mf.Scaling.Alarms() {
		id := f.logicalIDOf(a.Alarm.AlarmArn())
		alarms[d.physicalName(id)] = id
	}
	for i, w := range declared.Rules {
		g := got.Rules[i]
		if g.Direction != w.Direction || g.AdjustmentType != w.AdjustmentType || fmt.Sprint(g.Steps) != fmt.Sprint(w.Steps) {
			errs = append(errs, fmt.Errorf("rules[%d]: got %s %s %v, want %s %s %v", i,
				g.Direction, g.AdjustmentType, g.Steps, w.Direction, w.AdjustmentType, w.Steps))
		}
		if w.Trigger == nil {
			if g.Alarm != w.Alarm || g.Trigger != nil {
				errs = append(errs, fmt.Errorf("rules[%d]: got alarm %q, want the external alarm %q", i, g.Alarm, w.Alarm))
			}
			continue
		}
		if g.Trigger != nil {
			errs = append(errs, fmt.Errorf("rules[%d]: got a trigger, want none: the alarm the rule names stands for it", i))
		}
		id, ok := alarms[g.Alarm]
		if !ok {
			errs = append(errs, fmt.Errorf("rules[%d]: alarm %q is none of the stack's alarms", i, g.Alarm))
			continue
		}
		p := props(f.resources[id])
		op := map[scaling.Direction]string{scaling.Out: "GreaterThanThreshold", scaling.In: "LessThanThreshold"}[w.Direction]
		_, metrics := watchedMetrics(p)
		for _, m := range metrics {
			if p["Threshold"] != w.Trigger.Threshold || p["ComparisonOperator"] != op || m["MetricName"] != w.Trigger.Metric {
				errs = append(errs, fmt.Errorf("rules[%d]: alarm %s is %v %v %v, want %s %s %g", i, id,
					m["MetricName"], p["ComparisonOperator"], p["Threshold"], w.Trigger.Metric, op, w.Trigger.Threshold))
			}
			for _, dim := range asList(m["Dimensions"]) {
				v, err := d.resolve(dim.(map[string]any)["Value"])
				if err != nil {
					return err
				}
				if strings.Contains(v, "${") || v == "" {
					errs = append(errs, fmt.Errorf("rules[%d]: alarm %s dimension %v is not bound", i, id, dim))
				}
			}
		}
	}
	return errors.Join(errs...)
}
