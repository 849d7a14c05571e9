package stamp

import (
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
)

// TestConstructorsRejectBadProps checks that each constructor names the
// prop it rejects. No synth: the panics happen at construction.
func TestConstructorsRejectBadProps(t *testing.T) {
	tests := []struct {
		name string
		make func(stack awscdk.Stack)
		want string
	}{
		{"network one zone", func(s awscdk.Stack) {
			NewNetwork(s, "N", &NetworkProps{MaxAzs: 1, NatGateways: 1, FlowLogRetention: "ONE_MONTH"})
		}, "MaxAzs"},
		{"network too many NATs", func(s awscdk.Stack) {
			NewNetwork(s, "N", &NetworkProps{MaxAzs: 2, NatGateways: 3, FlowLogRetention: "ONE_MONTH"})
		}, "NatGateways"},
		{"fleet without network", func(s awscdk.Stack) { NewFleet(s, "F", &FleetProps{}) }, "Network"},
		{"fleet without app log retention", func(s awscdk.Stack) {
			NewFleet(s, "F", &FleetProps{Network: NewNetwork(s, "N", &NetworkProps{
				MaxAzs: 2, NatGateways: 1, FlowLogRetention: "ONE_MONTH",
			})})
		}, "AppLogRetention"},
		{"fleet with negative access log days", func(s awscdk.Stack) {
			NewFleet(s, "F", &FleetProps{AccessLogDays: -1, AppLogRetention: "ONE_MONTH", Network: NewNetwork(s, "N", &NetworkProps{
				MaxAzs: 2, NatGateways: 1, FlowLogRetention: "ONE_MONTH",
			})})
		}, "AccessLogDays"},
		{"scaling without fleet", func(s awscdk.Stack) { NewScaling(s, "S", &ScalingProps{}) }, "Fleet"},
		{"observability without fleets", func(s awscdk.Stack) { NewObservability(s, "O", &ObservabilityProps{}) }, "Fleets"},
		{"handlers without names", func(s awscdk.Stack) { NewHandlers(s, "H", &HandlersProps{}) }, "Names"},
		{"listener weights without props", func(s awscdk.Stack) { NewListenerWeights(s, "W", nil) }, "props"},
		{"handlers without table", func(s awscdk.Stack) {
			NewHandlers(s, "H", &HandlersProps{Names: NamesOf(DefaultStampName), Network: NewNetwork(s, "N", &NetworkProps{
				MaxAzs: 2, NatGateways: 1, FlowLogRetention: "ONE_MONTH",
			})})
		}, "Table"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			stack := awscdk.NewStack(awscdk.NewApp(nil), jsii.String("T"), nil)
			err := try(func() { tc.make(stack) })
			if err == nil {
				t.Fatalf("got no panic, want one naming %s", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("panic: got %q, want it to name %s", err, tc.want)
			}
		})
	}
}
