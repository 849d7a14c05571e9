// Command infra is the stampkit CDK app: `cdk synth` / `cdk deploy` run it
// through cdk.json ("app": "go run ./infra"). It is a thin app over the
// library in ./stamp: all configuration comes from the CDK context
// (cdk.json or -c key=value), read by stamp.AddStamps; each stamp of
// stamps[] is a stack of its own, stampkit-<stamp> (`cdk deploy
// 'stampkit-*'` deploys them all), and a dns record of two stamps or more
// adds the stack stampkit-shift.
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

// build adds the stacks app's context describes (stamp.AddStamps: one
// per stamp, and with a dns record the shift stack) and applies the
// cdk-nag AwsSolutions checks: an unsuppressed nag error fails `cdk synth`.
func build(app awscdk.App) error {
	if _, err := stamp.AddStamps(app); err != nil {
		return err
	}
	awscdk.Aspects_Of(app).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{Verbose: jsii.Bool(true)}), nil)
	return nil
}
