package twin_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/stampkit/stampkit/shared/twin"
	"github.com/stampkit/stampkit/shared/twin/suite"
)

// zones is the shipped layout's: cdk.json's maxAzs.
const zones = 3

// lifecycleEnds counts how a run's lifecycle actions ended, by transition.
type lifecycleEnds struct {
	Gated, Ready, LaunchExpired, Drained, TerminateExpired int
}

func endsOf(r *twin.Result) lifecycleEnds {
	var e lifecycleEnds
	for _, l := range r.Lifecycle {
		launch := strings.HasSuffix(l.Transition, "LAUNCHING")
		switch {
		case l.What == twin.LaunchGated:
			e.Gated++
		case l.What == twin.LaunchReady:
			e.Ready++
		case l.What == twin.HookExpired && launch:
			e.LaunchExpired++
		case l.What == twin.Drained:
			e.Drained++
		case l.What == twin.HookExpired:
			e.TerminateExpired++
		}
	}
	return e
}

// TestZoneEgressLoss loses the NAT gateway of one of the shipped three
// zones during a spike, under each network layout, and compares with the
// run where nothing is lost. Only the lifecycle function runs in the VPC,
// so only its calls may fail. With one NAT gateway, in the lost zone, no
// launch passes its gate: every one is held until the hook's heartbeat
// timeout abandons it. With a NAT gateway per zone a third of the
// lifecycle invocations fail and are retried, most elsewhere: launches go
// into service, a few late, and the few whose every retry ran in the lost
// zone are abandoned when the hook expires. With interface endpoints the
// loss changes nothing.
func TestZoneEgressLoss(t *testing.T) {
	cfg := twin.DefaultConfig()
	sc := scenario(t, cfg, suite.Spike, 6, 1)
	clean := run(t, cfg, sc, policy(t, cfg, suite.Stampkit))
	want := endsOf(clean)
	t.Logf("nothing lost: %+v", want)
	if want.Ready == 0 || want.Drained == 0 {
		t.Fatalf("the spike launched and drained nothing (%+v): the test proves nothing", want)
	}
	for _, layout := range twin.Egresses() {
		t.Run(string(layout), func(t *testing.T) {
			chaos, err := twin.ZoneEgressLoss(layout, zones)
			if err != nil {
				t.Fatal(err)
			}
			lost := sc
			lost.Chaos = chaos
			r, err := twin.Run(t.Context(), cfg, lost, policy(t, cfg, suite.Stampkit))
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			got := endsOf(r)
			t.Logf("%s: %+v; effects %+v; %d calls lost, %d dead letters", layout, got, r.Effects, len(r.Faults), len(r.DeadLetters))
			for _, f := range r.Faults {
				if f.Function != twin.LifecycleFunction || f.Kind != twin.FaultEgressLost {
					t.Fatalf("fault %+v: only the lifecycle function runs in the VPC", f)
				}
			}
			// The hook's default result ends what the handler could not:
			// each lost launch is accounted to retries that ran out.
			if !r.Effects.Sound() {
				t.Errorf("effects %+v: a launch lost other than to retries that ran out", r.Effects)
			}
			switch layout {
			case twin.EgressSingleNAT:
				if got.Ready != 0 {
					t.Errorf("%d launches went into service without a way out of the VPC", got.Ready)
				}
				if got.LaunchExpired == 0 {
					t.Error("no launch was abandoned at its hook's timeout")
				}
			case twin.EgressNATPerZone:
				if got.Ready < want.Ready*9/10 {
					t.Errorf("%d launches ready, want at least 90 %% of the %d without the loss", got.Ready, want.Ready)
				}
				if got.LaunchExpired > got.Gated/10 {
					t.Errorf("%d of %d launches abandoned at their hook's timeout, want at most 10 %%", got.LaunchExpired, got.Gated)
				}
				if len(r.Faults) == 0 {
					t.Error("no call lost: a third of the invocations run in the lost zone")
				}
			case twin.EgressEndpoints:
				if len(r.Faults) > 0 {
					t.Errorf("%d calls lost, want none: every service the function calls has an endpoint", len(r.Faults))
				}
				if d := cmp.Diff(clean.Lifecycle, r.Lifecycle); d != "" {
					t.Errorf("lifecycle differs from the run without the loss (-without +with):\n%s", d)
				}
			}
		})
	}
}

func TestZoneEgressLossLayouts(t *testing.T) {
	tests := []struct {
		layout    twin.Egress
		loss      float64
		endpoints []string
	}{
		{twin.EgressSingleNAT, 1, []string{"dynamodb", "s3"}},
		{twin.EgressNATPerZone, 1.0 / zones, []string{"dynamodb", "s3"}},
		{twin.EgressEndpoints, 1, []string{"autoscaling", "dynamodb", "ec2", "elasticloadbalancing", "s3", "sqs", "ssm"}},
	}
	for _, tc := range tests {
		t.Run(string(tc.layout), func(t *testing.T) {
			c, err := twin.ZoneEgressLoss(tc.layout, zones)
			if err != nil {
				t.Fatal(err)
			}
			got := slices.Sorted(slices.Values(c.VPCEndpoints))
			if c.EgressLoss != tc.loss || !slices.Equal(got, tc.endpoints) {
				t.Errorf("got loss %g through endpoints %v, want %g through %v", c.EgressLoss, got, tc.loss, tc.endpoints)
			}
		})
	}
	for _, bad := range []struct {
		layout twin.Egress
		zones  int
	}{{"regional-nat", zones}, {twin.EgressNATPerZone, 0}} {
		if _, err := twin.ZoneEgressLoss(bad.layout, bad.zones); err == nil {
			t.Errorf("ZoneEgressLoss(%q, %d): got no error", bad.layout, bad.zones)
		}
	}
}
