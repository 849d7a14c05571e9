package stamp

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"
	"github.com/google/go-cmp/cmp"

	"github.com/stampkit/stampkit/shared/clock"
	"github.com/stampkit/stampkit/shared/rollout"
)

// threeStamps: main builds (111… in us-east-1), eu1 follows it in
// eu-west-1, and us2 runs in another account (222…) in eu-west-1; main's
// customer managed keys encrypt the image in both Regions.
const threeStamps = `[
	{"name": "main", "fleets": ["web"], "imageKmsKeyArns": {
		"us-east-1": "arn:aws:kms:us-east-1:111111111111:key/mrk-1111",
		"eu-west-1": "arn:aws:kms:eu-west-1:111111111111:key/mrk-1111"}},
	{"name": "eu1", "region": "eu-west-1", "fleets": ["web"]},
	{"name": "us2", "account": "222222222222", "region": "eu-west-1", "fleets": ["web"]}
]`

func TestPlanWaves(t *testing.T) {
	ctx := stampsContext(t, threeStamps)
	stamps, err := ParseStamps(getter(ctx))
	if err != nil {
		t.Fatal(err)
	}
	plans := PlanWaves(stamps)
	var got []FleetWave
	for _, p := range plans {
		fw, ok := p.Fleet("web")
		if !ok {
			t.Fatal("a stamp of fleet web has no plan for it")
		}
		got = append(got, fw)
	}
	want := []FleetWave{
		{Build: true, Distributions: []Distribution{
			{Region: "us-east-1", KmsKeyArn: "arn:aws:kms:us-east-1:111111111111:key/mrk-1111"},
			{Region: "eu-west-1", TargetAccounts: []string{"111111111111", "222222222222"}, KmsKeyArn: "arn:aws:kms:eu-west-1:111111111111:key/mrk-1111"},
		}, Wave: rollout.Wave{Stamp: "main", Parameter: "/stampkit/main/web/wave"}},
		{Wave: rollout.Wave{Stamp: "eu1", Parameter: "/stampkit/eu1/web/wave", MaxWait: clock.Duration(rollout.DefaultWaveMaxWait),
			After: &rollout.WaveStamp{Stamp: "main", Region: "us-east-1", Parameter: "/stampkit/main/web/wave"}}},
		{Wave: rollout.Wave{Stamp: "us2", Parameter: "/stampkit/us2/web/wave"}, SkippedAccount: "eu1"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("plans (-want +got):\n%s", diff)
	}
	if lone := PlanWaves(stamps[:1]); lone[0] != nil {
		t.Errorf("a lone stamp's plan: got %+v, want nil (it builds for its own Region)", lone[0])
	}
}

// A dry-run stamp rolls nothing out: the stamp after it waits for the one
// before it. A blue/green stamp before records its promotion only when its
// retention ends: the stamps after it wait that much longer.
func TestPlanWavesDryRunAndRetention(t *testing.T) {
	ctx := stampsContext(t, `[
		{"name": "main", "fleets": [{"fleet": "web", "rollout": {"strategy": "bluegreen", "blueGreen": {"retention": "72h", "bake": "10m", "steps": [50, 100]}}}]},
		{"name": "canary", "region": "eu-west-1", "fleets": [{"fleet": "web", "dryRun": true}]},
		{"name": "eu1", "region": "eu-west-1", "fleets": ["web"]}
	]`)
	stamps, err := ParseStamps(getter(ctx))
	if err != nil {
		t.Fatal(err)
	}
	fw, _ := PlanWaves(stamps)[2].Fleet("web")
	if fw.Wave.After == nil || fw.Wave.After.Stamp != "main" {
		t.Errorf("eu1 waits for: got %+v, want main (canary is a dry run)", fw.Wave.After)
	}
	// 72h retention + 2 × 10m bakes + the default 15m health wait.
	if want := rollout.DefaultWaveMaxWait + 72*time.Hour + 35*time.Minute; fw.Wave.MaxWait.Std() != want {
		t.Errorf("eu1's MaxWait: got %s, want %s", fw.Wave.MaxWait, want)
	}
}

// TestWavesSynth: the build stamp's pipeline distributes to every Region
// (copies owned by the other account), the other stamps build nothing, and
// each rollout role reads only the wave parameter of the stamp before it
// and writes only its own.
func TestWavesSynth(t *testing.T) {
	dir := "waves"
	assets := filepath.Join(testRoot, dir, "assets")
	if err := writeAssets(assets); err != nil {
		t.Fatal(err)
	}
	ctx, err := projectContext()
	if err != nil {
		t.Fatal(err)
	}
	var list any
	if err := json.Unmarshal([]byte(threeStamps), &list); err != nil {
		t.Fatal(err)
	}
	ctx[CtxAssetsDir], ctx[CtxStamps] = assets, list
	for _, env := range []string{"111111111111:region=us-east-1", "111111111111:region=eu-west-1", "222222222222:region=eu-west-1"} {
		ctx["availability-zones:account="+env] = []any{"za", "zb", "zc"}
	}
	app := awscdk.NewApp(&awscdk.AppProps{Context: &ctx, Outdir: jsii.String(filepath.Join(testRoot, dir, "cdk.out")),
		StackTraces: jsii.Bool(false)})
	cfgs, err := LoadStamps(app.Node())
	if err != nil {
		t.Fatal(err)
	}
	plans := PlanWaves(cfgs)
	var stacks []Stack
	for i, c := range cfgs {
		check(t, "adding stamp "+c.Name, func() {
			stacks = append(stacks, NewStack(app, c.StackName, &Props{Config: c, Wave: plans[i]}))
		})
	}
	fleet := func(i int) assertions.Template {
		return assertions.Template_FromStack(stacks[i].Fleets()[0].Stack, nil)
	}
	check(t, "the build stamp distributes to both Regions", func() {
		fleet(0).HasResourceProperties(jsii.String("AWS::ImageBuilder::DistributionConfiguration"), map[string]any{
			"Distributions": []any{
				map[string]any{"Region": "us-east-1", "AmiDistributionConfiguration": assertions.Match_ObjectLike(&map[string]any{
					"AmiTags":          assertions.Match_ObjectLike(&map[string]any{FleetTagKey: "web"}),
					"TargetAccountIds": assertions.Match_Absent(),
					"KmsKeyId":         "arn:aws:kms:us-east-1:111111111111:key/mrk-1111",
				})},
				map[string]any{"Region": "eu-west-1", "AmiDistributionConfiguration": assertions.Match_ObjectLike(&map[string]any{
					"AmiTags":          assertions.Match_ObjectLike(&map[string]any{FleetTagKey: "web"}),
					"TargetAccountIds": []any{"111111111111", "222222222222"},
					"KmsKeyId":         "arn:aws:kms:eu-west-1:111111111111:key/mrk-1111",
				})},
			},
		})
	})
	check(t, "the recipe encrypts the root volume with the build Region's key", func() {
		fleet(0).HasResourceProperties(jsii.String("AWS::ImageBuilder::ImageRecipe"), map[string]any{
			"BlockDeviceMappings": []any{assertions.Match_ObjectLike(&map[string]any{
				"Ebs": assertions.Match_ObjectLike(&map[string]any{"Encrypted": true, "KmsKeyId": "arn:aws:kms:us-east-1:111111111111:key/mrk-1111"}),
			})},
		})
	})
	check(t, "eu1 alarms when the wave halts an image there", func() {
		assertions.Template_FromStack(stacks[1].Fleets()[0].Stack, nil).HasResourceProperties(jsii.String("AWS::CloudWatch::Alarm"), map[string]any{
			"Metrics": assertions.Match_ArrayWith(&[]any{assertions.Match_ObjectLike(&map[string]any{
				"MetricStat": assertions.Match_ObjectLike(&map[string]any{
					"Metric": assertions.Match_ObjectLike(&map[string]any{"MetricName": "WaveHalts"}),
				}),
			})}),
			"AlarmActions":     assertions.Match_AnyValue(),
			"TreatMissingData": "notBreaching",
		})
	})
	for i := 1; i < 3; i++ {
		check(t, "stamp "+cfgs[i].Name+" builds nothing", func() {
			fleet(i).ResourceCountIs(jsii.String("AWS::ImageBuilder::ImagePipeline"), jsii.Number(0))
			fleet(i).ResourceCountIs(jsii.String("AWS::ImageBuilder::DistributionConfiguration"), jsii.Number(0))
		})
	}
	if w := stacks[1].Fleets()[0].Config.Rollout.Wave; w == nil || w.After == nil || w.After.Stamp != "main" {
		t.Errorf("eu1's wave: got %+v, want after main", w)
	}
	// Every statement naming a wave parameter, by parameter: its actions.
	grants := map[string][]string{}
	check(t, "reading eu1's policies", func() {
		tpl := assertions.Template_FromStack(stacks[1].Stack(), nil)
		for _, r := range *tpl.FindResources(jsii.String("AWS::IAM::Policy"), nil) {
			doc, _ := json.Marshal(r)
			var pol struct {
				Properties struct {
					PolicyDocument struct{ Statement []map[string]any }
				}
			}
			if err := json.Unmarshal(doc, &pol); err != nil {
				t.Fatal(err)
			}
			for _, st := range pol.Properties.PolicyDocument.Statement {
				for _, res := range asList(st["Resource"]) {
					if r, ok := res.(string); ok && strings.HasSuffix(r, "/wave") {
						for _, a := range asList(st["Action"]) {
							grants[r] = append(grants[r], a.(string))
						}
					}
				}
			}
		}
	})
	wantGrants := map[string][]string{
		"arn:aws:ssm:us-east-1:111111111111:parameter/stampkit/main/web/wave": {"ssm:GetParameter"},
		"arn:aws:ssm:eu-west-1:111111111111:parameter/stampkit/eu1/web/wave":  {"ssm:GetParameter", "ssm:PutParameter"},
	}
	if diff := cmp.Diff(wantGrants, grants); diff != "" {
		t.Errorf("eu1's rollout grants on wave parameters (-want +got):\n%s", diff)
	}
	check(t, "us2 waits for no one across accounts, and synth says so", func() {
		assertions.Annotations_FromStack(stacks[2].Stack()).HasWarning(jsii.String("*"),
			assertions.Match_StringLikeRegexp(jsii.String("does not wait for stamp eu1")))
	})
}

// A stamp in another account without the build stamp's keys is refused
// at synth: every build would fail its distribution.
func TestWavesRefuseAnotherAccountWithoutKeys(t *testing.T) {
	ctx := stampsContext(t, `[
		{"name": "main", "fleets": ["web"]},
		{"name": "us2", "account": "222222222222", "region": "eu-west-1", "fleets": ["web"]}
	]`)
	_, err := ParseStamps(getter(ctx))
	if err == nil || !strings.Contains(err.Error(), `"stamps[0].imageKmsKeyArns"`) && !strings.Contains(err.Error(), `"imageKmsKeyArns"`) {
		t.Fatalf("got %v, want the missing imageKmsKeyArns named", err)
	}
	for _, want := range []string{"copied into account 222222222222", "missing us-east-1, eu-west-1"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
}
