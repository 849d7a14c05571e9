package config

import (
	"fmt"

	"github.com/stampkit/stampkit/shared/rollout"
)

// Rollout is a fleet's rollout policy: how a new image reaches the fleet
// (see package rollout).
type Rollout = rollout.Policy

// EnvRolloutQueue names the SQS queue that carries the rollout function's
// delayed wake-ups (stampkit Tick events) back to it.
const EnvRolloutQueue = "STAMPKIT_ROLLOUT_QUEUE_URL"

// RolloutQueueFromEnv reads the rollout wake-up queue URL; the rollout
// function cannot bake or wait for health without it.
func RolloutQueueFromEnv(getenv func(string) string) (string, error) {
	return queueURLFromEnv(getenv, EnvRolloutQueue, "rollout")
}

// validateRollout checks a fleet's rollout policy; key names the fleet.
func validateRollout(key string, f Fleet) []error {
	errs := prefixed(key+".rollout", f.Rollout.Validate())
	if f.Rollout.Strategy == rollout.StrategyBlueGreen && f.Rollout.BlueGreen.PeerGroup != "" && f.Rollout.BlueGreen.PeerGroup == f.Group {
		errs = append(errs, fmt.Errorf("%s.rollout.blueGreen.peerGroup: %q is the fleet's own group", key, f.Group))
	}
	return errs
}
