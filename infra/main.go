// Command infra is the stampkit CDK app: `cdk synth` / `cdk deploy` run it
// through cdk.json ("app": "go run ./infra"). It is a thin app over the
// library in ./stamp: all configuration comes from the CDK context
// (cdk.json or -c key=value), read by stamp.LoadStamps; each stamp of
// stamps[] is a stack of its own, stampkit-<stamp> (`cdk deploy
// 'stampkit-*'` deploys them all).
package main

import (
	"fmt"
	"os"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/stampkit/stampkit/infra/stamp"
)

func main() {
	app := awscdk.NewApp(nil)
	if err := build(app); err != nil {
		fmt.Fprintf(os.Stderr, "stampkit infra: %v\n", err)
		jsii.Close()
		os.Exit(1)
	}
	app.Synth(nil)
	jsii.Close()
}

// build adds the stamps that app's context describes, one stack each, and
// applies the cdk-nag AwsSolutions checks: an unsuppressed nag error fails
// `cdk synth`.
func build(app awscdk.App) error {
	stamps, err := stamp.LoadStamps(app.Node())
	if err != nil {
		return err
	}
	dns, err := stamp.LoadDNS(app.Node(), stamps)
	if err != nil {
		return err
	}
	for _, cfg := range stamps {
		stamp.NewStack(app, cfg.StackName, &stamp.Props{Config: cfg, DNS: dns})
	}
	awscdk.Aspects_Of(app).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{Verbose: jsii.Bool(true)}), nil)
	return nil
}
