package e2e_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/google/go-cmp/cmp"

	"github.com/stampkit/stampkit/shared/config"
	"github.com/stampkit/stampkit/shared/rollout"
)

// resourcesParam holds the blue/green fleet's ARNs, as CloudFormation
// writes them at deploy time.
const resourcesParam = "/stampkit/e2e/web/blue-green-resources"

// fromFleetsFile moves the fleets into a file under a task root of their
// own, named relatively by STAMPKIT_FLEETS_FILE, and the blue/green ARNs
// into resourcesParam: the configuration as the CDK app bundles it.
func fromFleetsFile(t *testing.T, cfg aws.Config, c *config.Config, env map[string]string) {
	t.Helper()
	bg := &c.Fleets[0].Rollout.BlueGreen
	value, err := json.Marshal(rollout.Resources{Listener: bg.Listener, TargetGroup: bg.TargetGroup, PeerTargetGroup: bg.PeerTargetGroup})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ssm.NewFromConfig(cfg).PutParameter(t.Context(), &ssm.PutParameterInput{
		Name: aws.String(resourcesParam), Value: aws.String(string(value)), Type: ssmtypes.ParameterTypeString,
	}); err != nil {
		t.Fatalf("PutParameter %s: %v", resourcesParam, err)
	}
	bg.ResourcesParameter = resourcesParam
	bg.Listener, bg.TargetGroup, bg.PeerTargetGroup = "", "", ""
	if err := c.Validate(); err != nil {
		t.Fatalf("test configuration: %v", err)
	}
	raw, err := json.Marshal(c.Fleets)
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, "fleets.json"), raw, 0o644); err != nil {
		t.Fatal(err)
	}
	delete(env, config.EnvFleets)
	env[config.EnvFleetsFile], env[config.EnvTaskRoot] = "fleets.json", root
}

// TestRolloutFromFleetsFile: the rollout bootstrap reads its fleets from
// the file and its blue/green fleet's ARNs from the parameter, and takes
// the first step as with both in its environment.
func TestRolloutFromFleetsFile(t *testing.T) {
	r := newRolloutRig(t, fromFleetsFile)
	mustSucceed(t, "AMI event", invoke(t, r.rt, r.amiEvent(t, nil)))
	step := map[string]int32{r.fleet.BlueTargetGroupARN: 50, r.fleet.GreenTargetGroupARN: 50}
	for range 2 { // as in TestRolloutBlueGreenFirstStep: a stale wake-up first
		mustSucceed(t, "wake-up", invoke(t, r.rt, wakeUp(t, r.cfg, r.queue)))
		if cmp.Equal(step, r.weights(t)) {
			break
		}
	}
	if diff := cmp.Diff(step, r.weights(t)); diff != "" {
		t.Errorf("weights after the first step (-want +got):\n%s", diff)
	}
}
