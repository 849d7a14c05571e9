package stamp_test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// externalMain is the whole app of a module outside this repository that
// uses the library: its own VPC, in its own stack, and a stamp of one
// fleet in it. Its arguments are the assets directory and the outdir.
const externalMain = `package main

import (
	"os"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/stampkit/stampkit/infra/stamp"
)

func main() {
	defer jsii.Close()
	app := awscdk.NewApp(&awscdk.AppProps{Outdir: jsii.String(os.Args[2])})
	env := &awscdk.Environment{Account: jsii.String("222222222222"), Region: jsii.String("eu-west-1")}
	network := awscdk.NewStack(app, jsii.String("Network"), &awscdk.StackProps{Env: env})
	vpc := awsec2.NewVpc(network, jsii.String("Vpc"), &awsec2.VpcProps{MaxAzs: jsii.Number(2)})
	st := stamp.NewStack(app, "MyStamp", &stamp.Props{
		StackProps: awscdk.StackProps{Env: env},
		Config: stamp.Config{
			AssetsDir: os.Args[1],
			Fleets: []stamp.FleetConfig{{
				Name: "shop", InstanceType: "t4g.small", MinCapacity: 2, MaxCapacity: 6, AppPort: 8080,
			}},
		},
		Vpc: vpc,
	})
	awscdk.Aspects_Of(st.Stack()).Add(cdknag.NewAwsSolutionsChecks(nil), nil)
	app.Synth(nil)
}
`

// TestExternalModule builds and runs, from a temporary directory, a Go
// module of its own that requires this one (replaced by the working tree)
// and synthesizes a stamp in a VPC it makes itself: what `go get` of the
// library gives a platform team. It shares the module and build caches
// with this test, and starts from this module's go.sum, so it downloads
// nothing this module has not; the first run still compiles the app.
func TestExternalModule(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs a CDK app of its own (go run): not with -short")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("no go command: %v", err)
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	ownMod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	goLine := regexp.MustCompile(`(?m)^go [0-9.]+$`).Find(ownMod)
	if goLine == nil {
		t.Fatalf("%s/go.mod has no go line", root)
	}
	dir := t.TempDir()
	mod := fmt.Sprintf("module example.com/mystamp\n\n%s\n\nrequire github.com/stampkit/stampkit v0.0.0\n\nreplace github.com/stampkit/stampkit => %s\n", goLine, root)
	sums, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	for name, content := range map[string][]byte{"go.mod": []byte(mod), "go.sum": sums, "main.go": []byte(externalMain)} {
		if err := os.WriteFile(filepath.Join(dir, name), content, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	assets := placeholderAssets(filepath.Join(dir, "assets"))
	outdir := filepath.Join(dir, "cdk.out")

	run := func(timeout time.Duration, args ...string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(t.Context(), timeout)
		defer cancel()
		cmd := exec.CommandContext(ctx, goBin, args...)
		cmd.Dir = dir
		// The caller's GOPROXY, GOMODCACHE, GOCACHE and JSII_NODE carry
		// over; -mod=mod lets go.mod and go.sum be completed.
		cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off")
		cmd.WaitDelay = 5 * time.Second
		start := time.Now()
		out, err := cmd.CombinedOutput()
		t.Logf("go %s: %v", strings.Join(args, " "), time.Since(start).Round(time.Second))
		if err != nil {
			t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	run(2*time.Minute, "mod", "tidy")
	run(8*time.Minute, "run", ".", assets, outdir)

	templates := map[string]struct {
		Resources map[string]struct {
			Type       string         `json:"Type"`
			Properties map[string]any `json:"Properties"`
		} `json:"Resources"`
	}{}
	for _, stack := range []string{"Network", "MyStamp"} {
		// The stack's own template and those of the stacks nested in it
		// (the stamp's fleets'), as the stack's.
		paths, _ := filepath.Glob(filepath.Join(outdir, stack+"*.nested.template.json"))
		paths = append(paths, filepath.Join(outdir, stack+".template.json"))
		for _, path := range paths {
			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("the app synthesized no %s stack: %v", stack, err)
			}
			tpl := templates[path]
			if err := json.Unmarshal(raw, &tpl); err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			maps.Copy(tpl.Resources, templates[stack].Resources)
			templates[stack] = tpl
		}
	}
	vpcs := map[string]int{}
	groups := 0
	for stack, tpl := range templates {
		for _, r := range tpl.Resources {
			switch r.Type {
			case "AWS::EC2::VPC":
				vpcs[stack]++
			case "AWS::AutoScaling::AutoScalingGroup":
				raw, _ := json.Marshal(r.Properties["Tags"])
				if stack == "MyStamp" && strings.Contains(string(raw), `"Key":"stampkit:fleet","PropagateAtLaunch":true,"Value":"shop"`) {
					groups++
				}
			}
		}
	}
	if vpcs["Network"] != 1 || vpcs["MyStamp"] != 0 {
		t.Errorf("VPCs by stack %v, want the app's own one in Network and none in the stamp", vpcs)
	}
	if groups != 1 {
		t.Errorf("the stamp has %d groups of fleet shop, want 1", groups)
	}
}
