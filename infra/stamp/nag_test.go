package stamp

import (
	"encoding/json"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"
)

// nagFinding is the part of an annotation the test reports. (The CDK's Go
// type for it, cxapi.SynthesisMessage, is deprecated; JSON decouples us.)
type nagFinding struct {
	ID    string `json:"id"`
	Entry struct {
		Data any `json:"data"`
	} `json:"entry"`
}

// TestNag requires zero unsuppressed AwsSolutions errors and warnings, in
// both profiles: a finding is either fixed or suppressed next to the
// resource with a reason. (The demo profile's own warning is no finding:
// it names no AwsSolutions rule.)
// (An error annotation also fails synthesis itself, and with it every test
// of this package, with the same finding in the message.)
func TestNag(t *testing.T) {
	for name, synth := range profiles() {
		t.Run(name, func(t *testing.T) { checkNag(t, synth(t)) })
	}
	// Two stamps behind a weighted record (TestStampRecords).
	t.Run("dns", func(t *testing.T) {
		a := synthDNS(t)
		for _, f := range a.stamps {
			checkNag(t, f)
		}
		checkNagOf(t, a.shift.Stack())
	})
}

func checkNag(t *testing.T, f *fixture) {
	t.Helper()
	checkNagOf(t, f.stack.Stack())
}

func checkNagOf(t *testing.T, stack awscdk.Stack) {
	t.Helper()
	var annotations assertions.Annotations
	check(t, "reading annotations", func() { annotations = assertions.Annotations_FromStack(stack) })
	nag := assertions.Match_StringLikeRegexp(jsii.String("AwsSolutions-.*"))
	for _, level := range []string{"error", "warning"} {
		var raw []byte
		check(t, "finding "+level+"s", func() {
			found := annotations.FindWarning(jsii.String("*"), nag)
			if level == "error" {
				found = annotations.FindError(jsii.String("*"), nag)
			}
			raw, _ = json.Marshal(found)
		})
		var findings []nagFinding
		if err := json.Unmarshal(raw, &findings); err != nil {
			t.Fatalf("decoding %s annotations %s: %v", level, raw, err)
		}
		for _, m := range findings {
			t.Errorf("unsuppressed cdk-nag %s at %s: %v", level, m.ID, m.Entry.Data)
		}
	}
}
