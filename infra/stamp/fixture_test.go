package stamp

// The tests are in package stamp, beside what they check. One app is
// synthesized per test binary (synth costs ~2 s on these machines) and
// shared read-only by every assertions test.
//
// jsii picks its Node (JSII_NODE, else `node` on PATH) while the packages
// initialise, before TestMain runs, so the caller chooses it: run
//
//	JSII_NODE=$PWD/infra/node_modules/.bin/node go test ./infra/...
//
// to use the Node 24 that `npm ci --prefix infra` pins instead of an
// end-of-life system Node.

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
)

// testCertificateArn makes the second test fleet exercise the HTTPS path.
const testCertificateArn = "arn:aws:acm:us-east-1:111111111111:certificate/00000000-0000-0000-0000-000000000000"

// testAlarmEmail is subscribed to the alarm topic in the test app.
const testAlarmEmail = "ops@example.com"

// testCommandPrincipals may put events on the test app's command bus: a
// role with a path and a user, so the policy's Deny is synthesized, linted
// and nagged.
var testCommandPrincipals = []any{
	"arn:aws:iam::111111111111:role/ops/stampkit-operator",
	"arn:aws:iam::111111111111:user/release-bot",
}

// fixture is the synthesized app every assertions test reads.
type fixture struct {
	cfg   Config
	app   awscdk.App
	stack Stack
	// template is the stamp's stack's template with the resources and
	// parameters of the fleets' stacks nested in it merged in (their
	// logical ids are unique: each carries its fleet's name), so that an
	// assertion finds a fleet's resources wherever they live. Outputs are
	// the stamp's stack's alone (outputs holds every stack's).
	template assertions.Template
	// resources is the merged Resources section, for checks that walk
	// every resource of a type.
	resources map[string]map[string]any
	// stacks are the stamp's stack and the fleets' stacks, and the
	// resources of each by logical id.
	stacks  []awscdk.Stack
	byStack map[awscdk.Stack]map[string]map[string]any
	// outputs are the outputs of each stack, by the stack's construct path.
	outputs map[string]map[string]any
	// passed puts in a value resolved in a stack what the stamp's stack
	// passes a fleet's stack for its parameters, or what a fleet's stack
	// outputs for the stamp's (read).
	passed map[awscdk.Stack]func(any) any
}

// resolve resolves token as the stamp were one stack: in the stack that
// holds what it stands for, with what a parameter is passed or an output
// holds put in place. A fleet's stacks are tried first, in the one that
// holds the resource or takes the value as a parameter.
func (f *fixture) resolve(token *string) any {
	for i := len(f.stacks) - 1; i > 0; i-- {
		st := f.stacks[i]
		raw := st.Resolve(token)
		v := f.passed[st](raw)
		if _, own := f.byStack[st][refOrGetAtt(raw)]; own || fmt.Sprint(v) != fmt.Sprint(raw) {
			return v
		}
	}
	st := f.stack.Stack()
	if pass, ok := f.passed[st]; ok {
		return pass(st.Resolve(token))
	}
	return st.Resolve(token)
}

// read fills in f's templates from f.stack, synthesizing the app. The
// fleets' stacks nested in the stamp's take the stamp's values as
// parameters and give theirs back as outputs; read puts the values
// themselves in place of both (what the stamp's stack passes for a
// parameter, what an output holds), so that a reference reads as if the
// stamp were one stack and a test need not know where a resource lives.
func (f *fixture) read() error {
	f.stacks = []awscdk.Stack{f.stack.Stack()}
	for _, mf := range f.stack.Fleets() {
		f.stacks = append(f.stacks, mf.Stack)
	}
	templates := make([]map[string]any, len(f.stacks))
	for i, st := range f.stacks {
		if err := try(func() {
			raw, err := json.Marshal(assertions.Template_FromStack(st, nil).ToJSON())
			if err != nil {
				panic(err)
			}
			if err := json.Unmarshal(raw, &templates[i]); err != nil {
				panic(err)
			}
		}); err != nil {
			return err
		}
	}
	parent := templates[0]
	parentResources, _ := parent["Resources"].(map[string]any)
	outputsOf := map[string]map[string]any{} // nested stack resource id -> its outputs
	f.passed = map[awscdk.Stack]func(any) any{}
	for i, mf := range f.stack.Fleets() {
		id := refOrGetAtt(f.stack.Stack().Resolve(mf.Stack.NestedStackResource().Ref()))
		params, _ := props(parentResources[id].(map[string]any))["Parameters"].(map[string]any)
		f.passed[mf.Stack] = func(v any) any {
			return replaceRefs(v, func(v map[string]any) (any, bool) {
				name, ok := v["Ref"].(string)
				if !ok {
					return nil, false
				}
				p, passed := params[name]
				return p, passed
			})
		}
		templates[i+1] = f.passed[mf.Stack](templates[i+1]).(map[string]any)
		outputsOf[id], _ = templates[i+1]["Outputs"].(map[string]any)
	}
	f.passed[f.stack.Stack()] = func(v any) any {
		return replaceRefs(v, func(v map[string]any) (any, bool) {
			ga, ok := v["Fn::GetAtt"].([]any)
			if !ok || len(ga) != 2 {
				return nil, false
			}
			outputs, nested := outputsOf[fmt.Sprint(ga[0])]
			name, isOutput := strings.CutPrefix(fmt.Sprint(ga[1]), "Outputs.")
			if !nested || !isOutput {
				return nil, false
			}
			o, ok := outputs[name].(map[string]any)
			return o["Value"], ok
		})
	}
	templates[0] = f.passed[f.stack.Stack()](parent).(map[string]any)

	f.byStack = map[awscdk.Stack]map[string]map[string]any{}
	f.outputs = map[string]map[string]any{}
	f.resources = map[string]map[string]any{}
	resources, parameters := map[string]any{}, map[string]any{}
	for i, st := range f.stacks {
		own := map[string]map[string]any{}
		rs, _ := templates[i]["Resources"].(map[string]any)
		for id, r := range rs {
			if r.(map[string]any)["Type"] == "AWS::CDK::Metadata" && i > 0 {
				// Every stack's; the stamp's stands for them.
				continue
			}
			if _, dup := resources[id]; dup {
				return fmt.Errorf("logical id %s is in two of the stamp's stacks; the merged template needs them unique", id)
			}
			resources[id] = r
			own[id] = r.(map[string]any)
			f.resources[id] = r.(map[string]any)
		}
		f.byStack[st] = own
		ps, _ := templates[i]["Parameters"].(map[string]any)
		maps.Copy(parameters, ps)
		outs, _ := templates[i]["Outputs"].(map[string]any)
		f.outputs[*st.Node().Path()] = outs
	}
	merged := maps.Clone(templates[0])
	merged["Resources"], merged["Parameters"] = resources, parameters
	return try(func() { f.template = assertions.Template_FromJSON(&merged, nil) })
}

// replaceRefs returns v with every map for which replace says so replaced
// by what it returns.
func replaceRefs(v any, replace func(map[string]any) (any, bool)) any {
	switch x := v.(type) {
	case map[string]any:
		if r, ok := replace(x); ok {
			return r
		}
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = replaceRefs(e, replace)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = replaceRefs(e, replace)
		}
		return out
	}
	return v
}

// stackOutputs returns the outputs of the stack of construct c.
func (f *fixture) stackOutputs(c constructs.IConstruct) map[string]any {
	return f.outputs[*awscdk.Stack_Of(c).Node().Path()]
}

// testRoot is created by TestMain and removed after the run; it holds the
// dummy assets and the cloud assembly.
var testRoot string

var sharedFixture = sync.OnceValues(func() (*fixture, error) { return newFixture("demo", nil) })

// productionFixture is the test app under the production profile, with
// what the profile requires (productionContext).
var productionFixture = sync.OnceValues(func() (*fixture, error) { return newFixture("production", productionContext) })

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "stampkit-infra-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	testRoot = dir
	code := emu.Run(m)
	jsii.Close()
	os.RemoveAll(dir)
	os.Exit(code)
}

// synth returns the shared fixture, synthesizing it on first use.
func synth(t *testing.T) *fixture {
	t.Helper()
	f, err := sharedFixture()
	if err != nil {
		t.Fatalf("synthesizing the test app: %v", err)
	}
	return f
}

// synthProduction returns the production fixture, synthesizing it on
// first use.
func synthProduction(t *testing.T) *fixture {
	t.Helper()
	f, err := productionFixture()
	if err != nil {
		t.Fatalf("synthesizing the production test app: %v", err)
	}
	return f
}

// profiles are the fixtures of both profiles, for the tests every
// template must pass (cdk-nag, cfn-lint).
func profiles() map[string]func(*testing.T) *fixture {
	return map[string]func(*testing.T) *fixture{ProfileDemo: synth, ProfileProduction: synthProduction}
}

// productionContext turns testContext into a production one: a fake
// certificate on every fleet, interface endpoints, 90 days of logs and
// two instances at least (testContext already names an alarm email).
func productionContext(ctx map[string]any) {
	ctx[CtxProfile] = ProfileProduction
	ctx[CtxInterfaceEndpoints] = true
	ctx[CtxLogRetentionDays] = MinProductionLogRetentionDays
	for _, f := range ctx[CtxFleets].([]any) {
		fleet := f.(map[string]any)
		fleet["certificateArn"] = testCertificateArn
		fleet["minCapacity"] = max(fleet["minCapacity"].(float64), 2)
	}
}

// writeAssets creates <dir>/<name>/bootstrap for every handler, as
// `make build` would.
func writeAssets(dir string) error {
	for _, name := range append(HandlerNames(), ShiftFunctionName) {
		if err := os.MkdirAll(filepath.Join(dir, name), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, name, "bootstrap"), []byte("not a real binary: "+name), 0o755); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(filepath.Join(dir, "app"), 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "app", "stampkit-app"), []byte("not a real binary: app"), 0o755)
}

// projectContext returns the context from ../../cdk.json, so the tests run
// shippedContext is cdk.json's context with dummy assets: what `cdk synth`
// would load.
func shippedContext(t *testing.T) map[string]any {
	t.Helper()
	ctx, err := projectContext()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := writeAssets(dir); err != nil {
		t.Fatal(err)
	}
	ctx[CtxAssetsDir] = dir
	return ctx
}

// the configuration that `cdk synth` runs.
func projectContext() (map[string]any, error) {
	raw, err := os.ReadFile(filepath.Join("..", "..", "cdk.json"))
	if err != nil {
		return nil, err
	}
	var doc struct {
		Context map[string]any `json:"context"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("parsing cdk.json: %w", err)
	}
	return doc.Context, nil
}

// apiFleet is the second test fleet. Where cdk.json's fleet runs the
// default scaling policy, a rolling rollout and HTTP probes, this one
// covers the other paths: an explicit policy (default and explicit trigger
// dimensions, an alarm managed elsewhere), SSM commands in the lifecycle
// policy with its own heartbeat, a forecast with the default dimensions,
// a blue/green rollout with a warm pool beside both groups, HTTPS, an app on
// another port and health check path than the image's defaults, and health
// alarm thresholds of its own.
const apiFleet = `{
  "name": "api", "instanceType": "c7g.large", "minCapacity": 1, "maxCapacity": 6,
  "appPort": 9090, "healthCheckPath": "/healthz", "certificateArn": "` + testCertificateArn + `",
  "scaling": {
    "scaleOutCooldown": "1m", "scaleInCooldown": "5m", "warmup": "3m", "scaleInHold": "5m",
    "rules": [
      {"alarm": "cpu-high", "direction": "out", "adjustmentType": "ChangeInCapacity", "steps": [{"lower": 0, "adjustment": 2}],
       "trigger": {"namespace": "AWS/EC2", "metric": "CPUUtilization", "statistic": "Average", "period": "1m",
                   "evaluationPeriods": 3, "datapointsToAlarm": 3, "threshold": 70}},
      {"alarm": "cpu-low", "direction": "in", "adjustmentType": "ChangeInCapacity", "steps": [{"lower": 0, "adjustment": 1}],
       "trigger": {"namespace": "AWS/EC2", "metric": "CPUUtilization", "statistic": "Average", "period": "1m",
                   "evaluationPeriods": 15, "datapointsToAlarm": 15, "threshold": 30}},
      {"alarm": "${group}-latency-high", "direction": "out", "adjustmentType": "PercentChangeInCapacity", "steps": [{"lower": 0, "adjustment": 50}],
       "trigger": {"namespace": "AWS/ApplicationELB", "metric": "TargetResponseTime", "statistic": "p90", "period": "1m",
                   "evaluationPeriods": 2, "datapointsToAlarm": 2, "threshold": 0.5,
                   "dimensions": {"LoadBalancer": "${loadBalancer}"}}},
      {"alarm": "orders-queue-backlog", "direction": "out", "adjustmentType": "ChangeInCapacity", "steps": [{"lower": 0, "adjustment": 1}]}
    ],
    "forecast": {"namespace": "AWS/ApplicationELB", "metric": "RequestCount", "perInstance": 3000,
                 "lookbackDays": 7, "lead": "4m", "window": "10m", "quantile": 0.6}
  },
  "lifecycle": {
    "heartbeatTimeout": "10m",
    "launch": {"probes": [
      {"name": "ready", "kind": "http", "port": 9091, "path": "/healthz"},
      {"name": "warm", "kind": "ssm", "commands": ["/opt/api/warm-cache"], "timeout": "2m"}
    ]},
    "terminate": {"command": {"name": "flush", "kind": "ssm", "commands": ["/opt/api/flush"], "document": "StampkitDrain"}}
  },
  "rollout": {"strategy": "bluegreen", "blueGreen": {"steps": [10, 50, 100], "bake": "5m"}},
  "healthAlarms": {"elb5xxPerMinute": 5, "unhealthyHostMinutes": 2},
  "warmPool": {"minSize": 1, "maxPrepared": 5}
}`

// testContext is cdk.json's context plus apiFleet, so one synth covers both
// listener variants, both rollout strategies and more than one fleet.
func testContext(assetsDir string) (map[string]any, error) {
	ctx, err := projectContext()
	if err != nil {
		return nil, err
	}
	fleets, ok := ctx[CtxFleets].([]any)
	if !ok || len(fleets) == 0 {
		return nil, fmt.Errorf("cdk.json: context %q is not a non-empty list", CtxFleets)
	}
	var second map[string]any
	if err := json.Unmarshal([]byte(apiFleet), &second); err != nil {
		return nil, fmt.Errorf("apiFleet: %w", err)
	}
	ctx[CtxFleets] = append(fleets, second)
	// cdk.json's one stamp runs apiFleet too.
	stamps, ok := ctx[CtxStamps].([]any)
	if !ok || len(stamps) != 1 {
		return nil, fmt.Errorf("cdk.json: context %q is not a list of one stamp", CtxStamps)
	}
	only := stamps[0].(map[string]any)
	only[CtxFleets] = append(only[CtxFleets].([]any), second["name"])
	ctx[CtxAssetsDir] = assetsDir
	ctx[CtxAlarmEmail] = testAlarmEmail
	ctx[CtxCommandPrincipals] = testCommandPrincipals
	// The CLI adds this; cfn-lint recognises CDK resources by it.
	ctx["aws:cdk:enable-path-metadata"] = true
	return ctx, nil
}

// newFixture synthesizes testContext, changed by change if set, into
// its own cloud assembly under testRoot/name.
func newFixture(name string, change func(ctx map[string]any)) (*fixture, error) {
	assets := filepath.Join(testRoot, name, "assets")
	if err := writeAssets(assets); err != nil {
		return nil, fmt.Errorf("writing dummy assets: %w", err)
	}
	ctx, err := testContext(assets)
	if err != nil {
		return nil, err
	}
	if change != nil {
		change(ctx)
	}
	app := awscdk.NewApp(&awscdk.AppProps{
		Context: &ctx,
		Outdir:  jsii.String(filepath.Join(testRoot, name, "cdk.out")),
		// As the CLI does: no construct stack traces (they slow synth), and
		// the AWS::CDK::Metadata resource, by which cfn-lint knows a CDK
		// template (it then skips W3010 on the context-pinned zones).
		StackTraces:        jsii.Bool(false),
		AnalyticsReporting: jsii.Bool(true),
		// CDK's built-in CloudFormation validation costs ~15 s of the ~17 s
		// synth here; TestCfnLint runs cfn-lint on the same template instead
		// (`cdk synth` keeps the built-in validation on).
		BuiltinCloudFormationValidation: jsii.Bool(false),
	})
	// As infra/main.go composes the app.
	cfg, err := LoadConfig(app.Node())
	if err != nil {
		return nil, err
	}
	stack := NewStack(app, cfg.StackName, &Props{Config: cfg})
	awscdk.Aspects_Of(app).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{Verbose: jsii.Bool(true)}), nil)
	outdir := *app.Outdir()
	f := &fixture{cfg: cfg, app: app, stack: stack}
	if err := f.read(); err != nil {
		// Error annotations (an unsuppressed cdk-nag error among them) fail
		// synthesis itself; say which.
		return nil, fmt.Errorf("%w%s", err, validationReport(outdir))
	}
	return f, nil
}

// validationReport summarises <outdir>/validation-report.json, which CDK
// writes when synthesis fails validation.
func validationReport(outdir string) string {
	raw, err := os.ReadFile(filepath.Join(outdir, "validation-report.json"))
	if err != nil {
		return ""
	}
	var report struct {
		PluginReports []struct {
			Violations []struct {
				Description         string `json:"description"`
				ViolatingConstructs []struct {
					ConstructPath string `json:"constructPath"`
				} `json:"violatingConstructs"`
			} `json:"violations"`
		} `json:"pluginReports"`
	}
	if json.Unmarshal(raw, &report) != nil {
		return ""
	}
	var b strings.Builder
	for _, p := range report.PluginReports {
		for _, v := range p.Violations {
			first, _, _ := strings.Cut(v.Description, "\n")
			for _, c := range v.ViolatingConstructs {
				fmt.Fprintf(&b, "\n  %s: %s", c.ConstructPath, first)
			}
		}
	}
	return b.String()
}

// try runs f and turns a panic (a failed CDK assertion is a jsii panic
// carrying AssertionError, a construct validation panics too) into an
// error.
func try(f func()) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	f()
	return nil
}

// check runs one CDK assertion and fails the test with its message.
func check(t *testing.T, what string, assertion func()) {
	t.Helper()
	if err := try(assertion); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// ofType returns the resources of one CloudFormation type by logical id.
func (f *fixture) ofType(typ string) map[string]map[string]any {
	out := map[string]map[string]any{}
	for id, r := range f.resources {
		if r["Type"] == typ {
			out[id] = r
		}
	}
	return out
}

// props returns a resource's Properties.
func props(r map[string]any) map[string]any {
	p, _ := r["Properties"].(map[string]any)
	return p
}

// logicalID resolves a token such as a Ref or a GetAtt to the logical id
// of the resource it points at.
func (f *fixture) logicalID(t *testing.T, token *string) string {
	t.Helper()
	id := f.logicalIDOf(token)
	if id == "" {
		t.Fatalf("token %s resolves to %v, want a Ref or Fn::GetAtt", *token, f.resolve(token))
	}
	return id
}

// logicalIDOf is logicalID without a test: "" when token is neither a Ref
// nor a GetAtt. A token resolves to the resource's own logical id in the
// stack that holds it: the fleets' stacks are tried before the stamp's,
// where a fleet's token may stand for an output of the fleet's stack.
func (f *fixture) logicalIDOf(token *string) string {
	return refOrGetAtt(f.resolve(token))
}

// refOrGetAtt is the logical id a resolved Ref or Fn::GetAtt names, or "".
func refOrGetAtt(v any) string {
	if m, ok := v.(map[string]any); ok {
		if ref, ok := m["Ref"].(string); ok {
			return ref
		}
		if ga, ok := m["Fn::GetAtt"].([]any); ok && len(ga) > 0 {
			if id, ok := ga[0].(string); ok {
				return id
			}
		}
	}
	return ""
}

// ref is the CloudFormation form of a Ref, for matching.
func ref(id string) map[string]any { return map[string]any{"Ref": id} }

// getAtt is the CloudFormation form of a GetAtt, for matching.
func getAtt(id, attr string) map[string]any { return map[string]any{"Fn::GetAtt": []any{id, attr}} }

func num(n int) *float64 { return jsii.Number(n) }
