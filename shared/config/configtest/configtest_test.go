package configtest_test

import (
	"encoding/json"
	"testing"

	"github.com/stampkit/stampkit/shared/config/configtest"
	"github.com/stampkit/stampkit/shared/rollout"
)

func TestConfig(t *testing.T) {
	for _, fn := range configtest.Functions() {
		for _, n := range []int{1, 3, 100} {
			c, err := configtest.Config(fn, n)
			if err != nil {
				t.Fatalf("Config(%s, %d): %v", fn, n, err)
			}
			if len(c.Fleets) != n {
				t.Fatalf("Config(%s, %d): got %d fleets", fn, n, len(c.Fleets))
			}
			blueGreen := 0
			for _, f := range c.Fleets {
				if f.Rollout.BlueGreen.PeerGroup != "" {
					blueGreen++
				}
			}
			// The scaler is given no rollout policies.
			if want := n / 2; fn != "scaler" && blueGreen != want {
				t.Errorf("Config(%s, %d): %d blue/green fleets, want %d", fn, n, blueGreen, want)
			}
		}
	}
	c, err := configtest.Config("rollout", 2)
	if err != nil {
		t.Fatal(err)
	}
	if bg := c.Fleets[1].Rollout.BlueGreen; bg.ResourcesParameter != "/stampkit/api001/blue-green-resources" || bg.Resolved() {
		t.Errorf("rollout's blue/green fleet: got %+v, want its ARNs in /stampkit/api001/blue-green-resources", bg)
	}
	if c.Fleets[1].Rollout.Strategy != rollout.StrategyBlueGreen {
		t.Errorf("rollout's second fleet: strategy %q, want blue/green", c.Fleets[1].Rollout.Strategy)
	}
	// As large as deployed: the scaler's share of three fleets is more than
	// Lambda's 4 KB of environment holds.
	s, _ := configtest.Config("scaler", 3)
	raw, err := json.Marshal(s.Fleets)
	if err != nil {
		t.Fatal(err)
	}
	if len(raw) < 3500 {
		t.Errorf("the scaler's 3 fleets take %d bytes of JSON, want the size of deployed ones (> 3500)", len(raw))
	}
}
