package stamp

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/stampkit/stampkit/shared/config"
)

var stampsOut = flag.String("stamps.out", "", "write TestStampsAtScale's numbers to this file (make bench-stamps: bench/stamps.txt)")

// scaleFleets are n fleet definitions as a platform would declare many:
// rolling and blue/green in turn, each with HTTP probes and the default
// scaling policy on CPU alone (a forecast on the load balancer's metric
// would keep the scaler's fleets in its environment; see
// Config.FleetsInEnvironment).
func scaleFleets(n int) []any {
	var out []any
	for i := range n {
		strategy := "rolling"
		if i%2 == 1 {
			strategy = "bluegreen"
		}
		out = append(out, map[string]any{
			"name": fmt.Sprintf("f%03d", i), "instanceType": "t4g.small", "minCapacity": 2, "maxCapacity": 10, "appPort": 8080,
			"scalingTarget": map[string]any{"cpu": 50},
			"lifecycle": map[string]any{"launch": map[string]any{"probes": []any{
				map[string]any{"name": "ready", "kind": "http", "port": 8080, "path": "/readyz"},
			}}},
			"rollout": map[string]any{"strategy": strategy},
		})
	}
	return out
}

// scaleResult is what TestStampsAtScale measures of one synth.
type scaleResult struct {
	name     string
	synth    time.Duration
	stacks   []stackTemplate
	policies []rolePolicies
	// first is the first stamp.
	first Stack
}

// rolePolicies is one role's identity policies as deployed, estimated.
type rolePolicies struct {
	role            string
	inline, managed int
	managedPolicies int
}

func (r rolePolicies) total() int { return r.inline + r.managed }

// synthAtScale synthesizes the stamps, each of the fleets named, and
// measures it; nag adds cdk-nag's checks to the first stamp.
func synthAtScale(t *testing.T, dir string, fleets int, stamps []any, nag bool) scaleResult {
	t.Helper()
	assets := filepath.Join(testRoot, dir, "assets")
	if err := writeAssets(assets); err != nil {
		t.Fatal(err)
	}
	ctx, err := projectContext()
	if err != nil {
		t.Fatal(err)
	}
	ctx[CtxAssetsDir] = assets
	ctx[CtxFleets] = scaleFleets(fleets)
	ctx[CtxStamps] = stamps
	// Every stamp's account and Region has its zones in the context, as
	// README "Add a stamp" says: synth needs no credentials.
	for _, s := range stamps {
		m := s.(map[string]any)
		account, region := cmpOr(m[CtxAccount], DefaultAccount), cmpOr(m[CtxRegion], DefaultRegion)
		ctx["availability-zones:account="+account+":region="+region] = []any{region + "a", region + "b", region + "c"}
	}
	ctx["aws:cdk:enable-path-metadata"] = true
	app := awscdk.NewApp(&awscdk.AppProps{
		Context: &ctx, Outdir: jsii.String(filepath.Join(testRoot, dir, "cdk.out")),
		StackTraces: jsii.Bool(false), AnalyticsReporting: jsii.Bool(true),
	})
	start := time.Now()
	var first Stack
	cfgs, err := LoadStamps(app.Node())
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range cfgs {
		var st Stack
		check(t, "adding stamp "+c.Name, func() { st = NewStack(app, c.StackName, &Props{Config: c}) })
		if i == 0 {
			first = st
		}
		if nag && i == 0 {
			awscdk.Aspects_Of(st.Stack()).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{Verbose: jsii.Bool(true)}), nil)
		}
	}
	res := scaleResult{name: dir, stacks: assemblyTemplates(t, app), first: first}
	res.synth = time.Since(start)
	for _, st := range res.stacks {
		res.policies = append(res.policies, policiesOf(st)...)
	}
	slices.SortFunc(res.policies, func(a, b rolePolicies) int { return b.total() - a.total() })
	return res
}

func cmpOr(v any, def string) string {
	if s, ok := v.(string); ok && s != "" {
		return s
	}
	return def
}

// policiesOf estimates, per role of st, the deployed size of its inline
// policies and of the managed policies of the stack attached to it.
func policiesOf(st stackTemplate) []rolePolicies {
	resources, _ := st.template["Resources"].(map[string]any)
	byRole := map[string]*rolePolicies{}
	get := func(ref any) *rolePolicies {
		id := refOrGetAtt(ref)
		if byRole[id] == nil {
			byRole[id] = &rolePolicies{role: st.name + "/" + id}
		}
		return byRole[id]
	}
	for id, r := range resources {
		m := r.(map[string]any)
		p := props(m)
		switch m["Type"] {
		case "AWS::IAM::Role":
			get(map[string]any{"Ref": id})
		case "AWS::IAM::Policy":
			for _, role := range asList(p["Roles"]) {
				get(role).inline += deployedSize(p["PolicyDocument"])
			}
		case "AWS::IAM::ManagedPolicy":
			for _, role := range asList(p["Roles"]) {
				rp := get(role)
				rp.managed += deployedSize(p["PolicyDocument"])
				rp.managedPolicies++
			}
		}
	}
	var out []rolePolicies
	for _, id := range slices.Sorted(maps.Keys(byRole)) {
		out = append(out, *byRole[id])
	}
	return out
}

// resourceCount is the number of resources of a template.
func resourceCount(tpl map[string]any) int {
	r, _ := tpl["Resources"].(map[string]any)
	return len(r)
}

// TestStampsAtScale synthesizes cdk.json's settings with three stamps of
// forty fleets each (two in one account, one in another; three Regions),
// and one stamp of a hundred fleets, and reports the synth time, the
// resources of every stack, and the largest identity policy. Every stack
// must hold fewer than CloudFormation's 500 resources and every role's
// policies fit IAM (synth itself fails otherwise: checkLimits). cdk-nag
// checks the first stamp and cfn-lint lints its templates.
func TestStampsAtScale(t *testing.T) {
	if testing.Short() {
		t.Skip("synthesizes 220 fleets: a few minutes")
	}
	var results []scaleResult
	var fleetCost [2]int // a rolling fleet's stack, a blue/green fleet's
	t.Run("3 stamps × 40 fleets", func(t *testing.T) {
		var refs []any
		for _, f := range scaleFleets(40) {
			refs = append(refs, f.(map[string]any)["name"])
		}
		res := synthAtScale(t, "scale3x40", 40, []any{
			map[string]any{"name": "main", CtxFleets: refs, CtxImageKmsKeyArns: map[string]any{
				"us-east-1": "arn:aws:kms:us-east-1:111111111111:alias/images", "eu-west-1": "arn:aws:kms:eu-west-1:111111111111:alias/images",
				"us-west-2": "arn:aws:kms:us-west-2:111111111111:alias/images"}},
			map[string]any{"name": "eu1", CtxRegion: "eu-west-1", CtxFleets: refs},
			map[string]any{"name": "us2", CtxAccount: "222222222222", CtxRegion: "us-west-2", CtxFleets: refs},
		}, true)
		results = append(results, res)
		for _, st := range res.stacks {
			switch {
			case strings.Contains(st.name, "FleetStackf000"):
				fleetCost[0] = resourceCount(st.template)
			case strings.Contains(st.name, "FleetStackf001"):
				fleetCost[1] = resourceCount(st.template)
			}
		}
		if bin, err := exec.LookPath("cfn-lint"); err == nil {
			lintFiles(t, bin, filepath.Join(testRoot, "scale3x40", "cdk.out"), "stampkit-main")
		}
	})
	t.Run("1 stamp × 100 fleets", func(t *testing.T) {
		var refs []any
		for _, f := range scaleFleets(100) {
			refs = append(refs, f.(map[string]any)["name"])
		}
		res := synthAtScale(t, "scale1x100", 100, []any{map[string]any{"name": "main", CtxFleets: refs}}, false)
		results = append(results, res)
		checkFleetsFiles(t, res.first, 100)
	})

	var b strings.Builder
	fmt.Fprintf(&b, "# TestStampsAtScale (infra/stamp/scale_test.go): `make bench-stamps`\n")
	fmt.Fprintf(&b, "# fleets: rolling and blue/green in turn, HTTP probes, CPU scaling; the shipped cdk.json's settings (demo profile)\n\n")
	fmt.Fprintf(&b, "per-fleet stack: rolling %d resources, blue/green %d\n", fleetCost[0], fleetCost[1])
	for _, res := range results {
		fmt.Fprintf(&b, "\n## %s: synth %.1f s\n", res.name, res.synth.Seconds())
		nested, biggestNested := 0, 0
		for _, st := range res.stacks {
			n := resourceCount(st.template)
			if n >= MaxResources {
				t.Errorf("%s: %s has %d resources, want fewer than %d", res.name, st.name, n, MaxResources)
			}
			if strings.Contains(st.name, "FleetStack") {
				nested++
				biggestNested = max(biggestNested, n)
				continue
			}
			fmt.Fprintf(&b, "stack %-24s %4d resources\n", st.name, n)
		}
		fmt.Fprintf(&b, "fleet stacks: %d, the largest %d resources\n", nested, biggestNested)
		if len(res.policies) > 0 {
			p := res.policies[0]
			fmt.Fprintf(&b, "largest identity policy: %s, about %d characters deployed (inline %d of %d, %d managed policies of %d characters)\n",
				p.role, p.total(), p.inline, MaxRolePolicySize, p.managedPolicies, p.managed)
		}
	}
	t.Log("\n" + b.String())
	if *stampsOut != "" {
		if err := os.WriteFile(*stampsOut, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// checkFleetsFiles: each function of st reads its fleets, all n of them,
// from its fleets file, exactly FleetsFor of the fleets the stack bound,
// and accepts it (config.FromEnv, as at cold start).
func checkFleetsFiles(t *testing.T, st Stack, n int) {
	t.Helper()
	var bound []config.Fleet
	for _, mf := range st.Fleets() {
		bound = append(bound, mf.Config)
	}
	hs := st.Handlers()
	for name, h := range map[string]Handler{"scaler": hs.Scaler(), "lifecycle": hs.Lifecycle(), "rollout": hs.Rollout()} {
		raw, err := os.ReadFile(filepath.Join(h.CodeDir, FleetsFileName))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		want, _ := json.Marshal(FleetsFor(name, bound))
		if !bytes.Equal(raw, want) {
			t.Errorf("%s: fleets file is not FleetsFor of the bound fleets", name)
		}
		env := map[string]string{config.EnvTable: "stampkit-state", config.EnvFleetsFile: FleetsFileName, config.EnvTaskRoot: h.CodeDir}
		cfg, err := config.FromEnv(func(k string) string { return env[k] })
		if err == nil {
			// Validate decodes every fleet the file holds lazily.
			err = cfg.Validate()
		}
		if err != nil || len(cfg.FleetNames()) != n {
			t.Errorf("%s: config.FromEnv read %d fleets (%v), want %d", name, len(cfg.FleetNames()), err, n)
		}
	}
}

// lintFiles runs cfn-lint on the templates of the stack named stack in the
// assembly at dir: its own, its weights stack's and those of the stacks
// nested in it (named after it without its hyphens).
func lintFiles(t *testing.T, bin, dir, stack string) {
	t.Helper()
	all, _ := filepath.Glob(filepath.Join(dir, "*.template.json"))
	var paths []string
	for _, p := range all {
		base := filepath.Base(p)
		if strings.HasPrefix(base, stack+".") || strings.HasPrefix(base, WeightsStackName(stack)+".") ||
			strings.HasPrefix(base, strings.ReplaceAll(stack, "-", "")) {
			paths = append(paths, p)
		}
	}
	if len(paths) < 3 {
		t.Fatalf("cfn-lint: %v, want %s's templates, its weights stack's and its fleets'", paths, stack)
	}
	out, err := exec.CommandContext(t.Context(), bin, append([]string{"--format", "parseable", "--"}, paths...)...).CombinedOutput()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit) && exit.ExitCode()&cfnLintFailBits != 0:
		t.Errorf("cfn-lint on %d templates of %s: exit code %d; findings:\n%s", len(paths), stack, exit.ExitCode(), out)
	case err != nil && !errors.As(err, &exit):
		t.Fatalf("running cfn-lint: %v", err)
	}
	t.Logf("cfn-lint: %d templates of %s, no error or warning", len(paths), stack)
}
