// Command infra is the stampkit CDK app: `cdk synth` / `cdk deploy` run it
// through cdk.json ("app": "go run ./infra"). All configuration comes from
// the CDK context (cdk.json or -c key=value); see config.go.
package main

import (
	"fmt"
	"os"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
)

func main() {
	app := awscdk.NewApp(nil)
	_, err := NewStampkitApp(app)
	if err != nil {
		fmt.Fprintf(os.Stderr, "stampkit infra: %v\n", err)
		jsii.Close()
		os.Exit(1)
	}
	app.Synth(nil)
	jsii.Close()
}

// NewStampkitApp loads the configuration from app's context, adds the
// stack and applies the cdk-nag AwsSolutions checks. Unsuppressed nag
// errors fail `cdk synth`.
func NewStampkitApp(app awscdk.App) (StampkitStack, error) {
	cfg, err := LoadConfig(app.Node())
	if err != nil {
		return nil, err
	}
	stack := NewStampkitStack(app, StackName, &StampkitStackProps{Config: cfg})
	awscdk.Aspects_Of(app).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{Verbose: jsii.Bool(true)}), nil)
	return stack, nil
}
