package stamp

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"
)

// weightsTemplate returns the weights stack's resources, failing the test
// when the app has none.
func weightsTemplate(t *testing.T, f *fixture) (awscdk.Stack, map[string]map[string]any) {
	t.Helper()
	w := f.stack.Weights()
	if w == nil {
		t.Fatal("the test app has a blue/green fleet but no weights stack")
	}
	var tmpl assertions.Template
	check(t, "weights stack template", func() { tmpl = assertions.Template_FromStack(w.Stack(), nil) })
	raw, err := json.Marshal((*tmpl.ToJSON())["Resources"])
	if err != nil {
		t.Fatal(err)
	}
	var resources map[string]map[string]any
	if err := json.Unmarshal(raw, &resources); err != nil {
		t.Fatal(err)
	}
	return w.Stack(), resources
}

// TestListenerWeights: a blue/green fleet's listener weights live in two
// SSM parameters that the rollout Lambda writes and every deploy reads.
// They are created by a stack deployed before the app's (a change set
// resolves SSM parameters before any resource of its stack exists), with
// initial values the listener starts with, and with properties no deploy
// changes (a changed property would write the initial value back over the
// live one).
func TestListenerWeights(t *testing.T) {
	f := synth(t)
	stack, resources := weightsTemplate(t, f)

	t.Run("deployed before the app's stack", func(t *testing.T) {
		deps := f.stack.Stack().Dependencies()
		if !slices.ContainsFunc(*deps, func(s awscdk.Stack) bool { return *s.StackName() == *stack.StackName() }) {
			t.Errorf("stack %s does not depend on %s: a first deploy would resolve parameters that do not exist yet", f.cfg.StackName, *stack.StackName())
		}
		if got, want := *stack.StackName(), WeightsStackName(f.cfg.StackName); got != want {
			t.Errorf("weights stack name: got %s, want %s", got, want)
		}
		if fmt.Sprint(*stack.Account(), *stack.Region()) != fmt.Sprint(*f.stack.Stack().Account(), *f.stack.Stack().Region()) {
			t.Errorf("weights stack environment %s/%s, want the app stack's", *stack.Account(), *stack.Region())
		}
	})

	t.Run("two constant parameters per blue/green fleet, nothing else", func(t *testing.T) {
		want := map[string]map[string]any{}
		for _, fc := range f.cfg.Fleets {
			names := fc.WeightParameters()
			if !fc.BlueGreen() {
				if names.TargetGroup != "" || names.PeerTargetGroup != "" {
					t.Errorf("fleet %s (rolling) has weight parameters %+v", fc.Name, names)
				}
				continue
			}
			for _, p := range []struct {
				name   string
				weight int
			}{{names.TargetGroup, BlueWeight}, {names.PeerTargetGroup, GreenWeight}} {
				if !strings.HasPrefix(p.name, fc.ParameterPrefix+"/") {
					t.Errorf("fleet %s weight parameter %s: want it under the fleet's prefix %s", fc.Name, p.name, fc.ParameterPrefix)
				}
				want[p.name] = map[string]any{
					"Name": p.name, "Type": "String", "Value": strconv.Itoa(p.weight),
					"AllowedPattern": WeightPattern,
					"Description":    fmt.Sprintf("stampkit %s: live listener weight; the rollout Lambda writes it, deploys read it", fc.Name),
				}
			}
		}
		got := map[string]map[string]any{}
		for id, r := range resources {
			switch r["Type"] {
			case "AWS::SSM::Parameter":
				p := props(r)
				got[fmt.Sprint(p["Name"])] = p
			case "AWS::CDK::Metadata":
			default:
				t.Errorf("weights stack resource %s is a %v: want only the weight parameters", id, r["Type"])
			}
		}
		if len(got) != len(want) {
			t.Errorf("weight parameters: got %v, want %v", keys(got), keys(want))
		}
		for name, w := range want {
			// Exactly these properties: CloudFormation updates a parameter
			// (writing Value) only when one of them changes.
			m := assertions.Match_ObjectEquals(&w).Test(got[name])
			if *m.HasFailed() {
				t.Errorf("weight parameter %s:\n%s", name, *m.RenderMismatch())
			}
		}
	})

	t.Run("the rollout policy names them and the rollout Lambda may write them and no other parameter", func(t *testing.T) {
		d := deployed{f: f, account: f.cfg.Account, region: f.cfg.Region}
		arn := func(name string) string { return d.arn("ssm", "parameter"+name) }
		var weightArns, amiArns []string
		for _, mf := range f.stack.Fleets() {
			fc := f.fleetConfig(t, mf.Fleet.Name())
			got := mf.Config.Rollout.BlueGreen.WeightParameters
			if got != fc.WeightParameters() {
				t.Errorf("fleet %s policy weightParameters: got %+v, want %+v", fc.Name, got, fc.WeightParameters())
			}
			if got.TargetGroup != "" {
				weightArns = append(weightArns, arn(got.TargetGroup), arn(got.PeerTargetGroup))
			}
			if mf.Config.Rollout.Enabled() {
				amiArns = append(amiArns, arn(fc.AmiParameter))
			}
		}
		if len(weightArns) == 0 {
			t.Fatal("no fleet's policy names weight parameters")
		}
		// By the stamp's patterns: every AMI and weight parameter, no
		// other parameter of the fleets (the resources parameter is
		// CloudFormation's to write), nothing outside the stamp's root.
		roleID := f.logicalID(t, f.stack.Handlers().Rollout().Role.RoleArn())
		var put []string
		for _, s := range f.statements(roleID) {
			if !slices.Contains(asList(s["Action"]), any("ssm:PutParameter")) {
				continue
			}
			for _, res := range asList(s["Resource"]) {
				r, err := d.resolve(res)
				if err != nil {
					t.Fatal(err)
				}
				put = append(put, r)
			}
		}
		puts := func(arn string) bool {
			return slices.ContainsFunc(put, func(p string) bool { return iamMatch(p, arn) })
		}
		for _, a := range append(slices.Clone(amiArns), weightArns...) {
			if !puts(a) {
				t.Errorf("ssm:PutParameter on %v, not on %s", put, a)
			}
		}
		for _, mf := range f.stack.Fleets() {
			if p := mf.Config.Rollout.BlueGreen.ResourcesParameter; p != "" && puts(arn(p)) {
				t.Errorf("ssm:PutParameter on %v, which covers the resources parameter %s", put, arn(p))
			}
		}
		for _, other := range []string{arn("/stampkit/eu1/web/ami"), arn("/other/ami"), arn(f.cfg.Names().ParameterRoot() + "/web/secret")} {
			if puts(other) {
				t.Errorf("ssm:PutParameter on %v, which covers %s, not an AMI or weight parameter of the stamp", put, other)
			}
		}
	})

	t.Run("no unsuppressed cdk-nag finding", func(t *testing.T) {
		var annotations assertions.Annotations
		check(t, "reading annotations", func() { annotations = assertions.Annotations_FromStack(stack) })
		nag := assertions.Match_StringLikeRegexp(jsii.String("AwsSolutions-.*"))
		var raw []byte
		check(t, "finding nag annotations", func() {
			found := append(*annotations.FindError(jsii.String("*"), nag), *annotations.FindWarning(jsii.String("*"), nag)...)
			raw, _ = json.Marshal(found)
		})
		var findings []nagFinding
		if err := json.Unmarshal(raw, &findings); err != nil {
			t.Fatal(err)
		}
		for _, m := range findings {
			t.Errorf("unsuppressed cdk-nag finding at %s: %v", m.ID, m.Entry.Data)
		}
	})
}

// TestNoWeightsStackWithoutBlueGreen: an app of rolling fleets stays one
// stack.
func TestNoWeightsStackWithoutBlueGreen(t *testing.T) {
	var w ListenerWeights
	check(t, "creating", func() {
		w = NewListenerWeights(awscdk.NewApp(nil), "weights", &ListenerWeightsProps{
			Fleets: []FleetConfig{{Name: "web", ParameterPrefix: "/stampkit/web"}},
		})
	})
	if w != nil {
		t.Errorf("got a weights stack %s for rolling fleets only, want none", *w.Stack().StackName())
	}
}
