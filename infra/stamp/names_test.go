package stamp

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
)

// notIdentifying are properties named *Name that name no resource of the
// account and Region: an inline policy's name is unique per role, a
// metric's is what an alarm watches.
var notIdentifying = []string{"PolicyName", "MetricName"}

// stackTemplate is one stack of a cloud assembly: its CloudFormation name
// and template.
type stackTemplate struct {
	name     string
	template map[string]any
}

// assemblyTemplates synthesizes app and returns every stack's template,
// the nested stacks' (assets of the assembly) included.
func assemblyTemplates(t *testing.T, app awscdk.App) []stackTemplate {
	t.Helper()
	var out []stackTemplate
	check(t, "synthesizing", func() {
		asm := app.Synth(nil)
		for _, a := range *asm.Stacks() {
			raw, err := json.Marshal(a.Template())
			if err != nil {
				panic(err)
			}
			var tpl map[string]any
			if err := json.Unmarshal(raw, &tpl); err != nil {
				panic(err)
			}
			out = append(out, stackTemplate{name: *a.StackName(), template: tpl})
		}
		nested, err := filepath.Glob(filepath.Join(*asm.Directory(), "*.nested.template.json"))
		if err != nil {
			panic(err)
		}
		for _, path := range nested {
			raw, err := os.ReadFile(path)
			if err != nil {
				panic(err)
			}
			var tpl map[string]any
			if err := json.Unmarshal(raw, &tpl); err != nil {
				panic(err)
			}
			out = append(out, stackTemplate{name: strings.TrimSuffix(filepath.Base(path), ".nested.template.json"), template: tpl})
		}
	})
	return out
}

// namedResource is one physical name a template sets.
type namedResource struct {
	where, typ, key, name string
}

// physicalNames returns every top-level property whose key ends in "Name"
// and whose value is a plain string, of every resource of the stacks.
func physicalNames(stacks []stackTemplate) []namedResource {
	var out []namedResource
	for _, st := range stacks {
		resources, _ := st.template["Resources"].(map[string]any)
		for _, id := range slices.Sorted(maps.Keys(resources)) {
			r, _ := resources[id].(map[string]any)
			p, _ := r["Properties"].(map[string]any)
			for _, key := range slices.Sorted(maps.Keys(p)) {
				name, ok := p[key].(string)
				if !ok || !strings.HasSuffix(key, "Name") || slices.Contains(notIdentifying, key) {
					continue
				}
				out = append(out, namedResource{where: st.name + "/" + id, typ: fmt.Sprint(r["Type"]), key: key, name: name})
			}
		}
	}
	return out
}

// collisions lists the names two resources of one type share.
func collisions(names []namedResource) []string {
	seen := map[string]namedResource{}
	var out []string
	for _, n := range names {
		k := n.typ + " " + n.key + " " + n.name
		if first, dup := seen[k]; dup {
			out = append(out, fmt.Sprintf("%s %s %q: %s and %s", n.typ, n.key, n.name, first.where, n.where))
			continue
		}
		seen[k] = n
	}
	return out
}

// stampsApp is an app of a stamp of the test fleets (cdk.json's and
// apiFleet) under each of the names, all in one account and Region.
func stampsApp(t *testing.T, dir string, stamps ...string) awscdk.App {
	t.Helper()
	assets := filepath.Join(testRoot, dir, "assets")
	if err := writeAssets(assets); err != nil {
		t.Fatal(err)
	}
	ctx, err := testContext(assets)
	if err != nil {
		t.Fatal(err)
	}
	app := awscdk.NewApp(&awscdk.AppProps{
		Context: &ctx, Outdir: jsii.String(filepath.Join(testRoot, dir, "cdk.out")),
		StackTraces: jsii.Bool(false), BuiltinCloudFormationValidation: jsii.Bool(false),
	})
	var entries []any
	for i, name := range stamps {
		// The stack's name follows the stamp's unless two stamps share one.
		entries = append(entries, map[string]any{"name": name, "stackName": fmt.Sprintf("stamp%d", i), CtxFleets: []any{"web", "api"}})
	}
	var cfgs []Config
	for i := range stamps {
		// One stamp at a time: ParseStamps refuses two of one name.
		ctx[CtxStamps] = entries[i : i+1]
		c, err := ParseStamps(getter(ctx))
		if err != nil {
			t.Fatal(err)
		}
		cfgs = append(cfgs, c...)
	}
	if len(stamps) > 1 && stamps[0] != stamps[1] {
		ctx[CtxStamps] = entries
		if _, err := ParseStamps(getter(ctx)); err != nil {
			t.Fatalf("ParseStamps of both: %v", err)
		}
	}
	for _, c := range cfgs {
		check(t, "adding stamp "+c.Name, func() { NewStack(app, c.StackName, &Props{Config: c}) })
	}
	return app
}

// TestStampsShareNoName: two stamps of the same fleets in one account and
// Region set no physical name twice, walking every *Name property of every
// resource of both stamps' stacks. The same stamp twice must collide: the
// walk can fail.
func TestStampsShareNoName(t *testing.T) {
	stacks := assemblyTemplates(t, stampsApp(t, "twostamps", DefaultStampName, "eu1"))
	names := physicalNames(stacks)
	kinds := map[string]bool{}
	for _, n := range names {
		kinds[n.typ+" "+n.key] = true
	}
	// What the stamp names: groups, alarms, the bus, log groups,
	// dashboards, parameters and Image Builder resources.
	for _, want := range []string{
		"AWS::AutoScaling::AutoScalingGroup AutoScalingGroupName", "AWS::CloudWatch::Alarm AlarmName",
		"AWS::Events::EventBus Name", "AWS::Logs::LogGroup LogGroupName", "AWS::CloudWatch::Dashboard DashboardName",
		"AWS::SSM::Parameter Name", "AWS::ImageBuilder::ImagePipeline Name",
	} {
		if !kinds[want] {
			t.Errorf("no %s in the stamps' templates: the walk misses what it must check (found %v)", want, slices.Sorted(maps.Keys(kinds)))
		}
	}
	for _, c := range collisions(names) {
		t.Errorf("two stamps in one account and Region collide: %s", c)
	}
	t.Logf("%d physical names of %d kinds in %d stacks, none shared", len(names), len(kinds), len(stacks))

	t.Run("the same stamp twice collides", func(t *testing.T) {
		if len(collisions(physicalNames(assemblyTemplates(t, stampsApp(t, "samestamp", "eu1", "eu1"))))) == 0 {
			t.Error("the same stamp twice shares no name: the check cannot fail")
		}
	})
}
