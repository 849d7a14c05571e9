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

// A stamp with one fleet, in a VPC of the app's own network stack.
func Example() {
	outdir, err := os.MkdirTemp("", "stamp-example-")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(outdir)
	// The bootstraps and app binary that `make build` writes to bin/arm64.
	assets := placeholderAssets(outdir)

	app := awscdk.NewApp(&awscdk.AppProps{Outdir: jsii.String(filepath.Join(outdir, "cdk.out"))})
	env := &awscdk.Environment{Account: jsii.String("111111111111"), Region: jsii.String("us-east-1")}
	network := awscdk.NewStack(app, jsii.String("Network"), &awscdk.StackProps{Env: env})
	vpc := awsec2.NewVpc(network, jsii.String("Vpc"), &awsec2.VpcProps{MaxAzs: jsii.Number(2)})

	st := stamp.NewStack(app, "Stamp", &stamp.Props{
		StackProps: awscdk.StackProps{Env: env},
		Config: stamp.Config{
			AssetsDir: assets,
			Fleets: []stamp.FleetConfig{{
				Name: "web", InstanceType: "t4g.small", MinCapacity: 2, MaxCapacity: 10, AppPort: 8080,
			}},
		},
		Vpc:  vpc,
		Tags: map[string]string{"team": "platform"},
	})
	awscdk.Aspects_Of(st.Stack()).Add(cdknag.NewAwsSolutionsChecks(nil), nil)

	for _, s := range *app.Synth(nil).Stacks() {
		fmt.Println(*s.StackName())
	}
	// Output:
	// Network
	// Stamp
}

// placeholderAssets writes stand-ins for the bootstraps and the app under
// dir and returns the directory that holds them.
func placeholderAssets(dir string) string {
	assets := filepath.Join(dir, "assets")
	for _, name := range append(stamp.HandlerNames(), "app") {
		file := "bootstrap"
		if name == "app" {
			file = "stampkit-app"
		}
		if err := os.MkdirAll(filepath.Join(assets, name), 0o755); err != nil {
			panic(err)
		}
		if err := os.WriteFile(filepath.Join(assets, name, file), []byte("placeholder"), 0o755); err != nil {
			panic(err)
		}
	}
	return assets
}
