package stamp

import (
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
)

func TestLoadStampsChecksTheWholeContext(t *testing.T) {
	ctx := shippedContext(t)
	ctx["maxAZs"] = 2
	app := awscdk.NewApp(&awscdk.AppProps{Context: &ctx})
	_, err := LoadStamps(app.Node())
	if err == nil || !strings.Contains(err.Error(), `did you mean "maxAzs"`) {
		t.Fatalf("got %v, want the misspelt key refused", err)
	}
}
