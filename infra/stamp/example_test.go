package stamp_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/stampkit/stampkit/infra/stamp"
)

// A stamp with one fleet, in a VPC of the app's own network stack. README
// "Use it as a library" shows the same code (TestReadmeShowsTheExample).
func Example() {
	outdir, cleanUp := inScratchCheckout()
	defer cleanUp()
	app := awscdk.NewApp(&awscdk.AppProps{Outdir: jsii.String(outdir)})
	// README: from here
	env := &awscdk.Environment{Account: jsii.String("111111111111"), Region: jsii.String("us-east-1")}
	network := awscdk.NewStack(app, jsii.String("Network"), &awscdk.StackProps{Env: env})
	vpc := awsec2.NewVpc(network, jsii.String("Vpc"), &awsec2.VpcProps{MaxAzs: jsii.Number(2)})

	st := stamp.NewStack(app, "Stamp", &stamp.Props{
		StackProps: awscdk.StackProps{Env: env},
		Config: stamp.Config{
			// <function>/bootstrap and app/stampkit-app, as `make build` writes them.
			AssetsDir: "bin/arm64",
			Fleets: []stamp.FleetConfig{{
				Name: "web", InstanceType: "t4g.small", MinCapacity: 2, MaxCapacity: 10, AppPort: 8080,
			}},
		},
		Vpc:  vpc,
		Tags: map[string]string{"team": "platform"},
	})
	awscdk.Aspects_Of(st.Stack()).Add(cdknag.NewAwsSolutionsChecks(nil), nil)
	// README: to here

	for _, s := range *app.Synth(nil).Stacks() {
		fmt.Println(*s.StackName())
	}
	// Output:
	// Network
	// stampkit-main
}

// inScratchCheckout makes the example run as an app in its checkout
// would after `make build`: in a temporary directory holding placeholder
// assets in bin/arm64. It returns the directory's cdk.out for the
// assembly, and what puts everything back.
func inScratchCheckout() (outdir string, cleanUp func()) {
	dir, err := os.MkdirTemp("", "stamp-example-")
	if err != nil {
		panic(err)
	}
	placeholderAssets(filepath.Join(dir, "bin", "arm64"))
	wd, err := os.Getwd()
	if err != nil {
		panic(err)
	}
	if err := os.Chdir(dir); err != nil {
		panic(err)
	}
	return filepath.Join(dir, "cdk.out"), func() {
		os.Chdir(wd)
		os.RemoveAll(dir)
	}
}

// placeholderAssets writes stand-ins for the bootstraps and the app into
// dir, as `make build` lays them out, and returns dir.
func placeholderAssets(dir string) string {
	for _, name := range append(stamp.HandlerNames(), "app") {
		file := "bootstrap"
		if name == "app" {
			file = "stampkit-app"
		}
		if err := os.MkdirAll(filepath.Join(dir, name), 0o755); err != nil {
			panic(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name, file), []byte("placeholder"), 0o755); err != nil {
			panic(err)
		}
	}
	return dir
}
