package config

import (
	"fmt"
	"strings"
)

// EnvWakeQueue names the SQS queue that carries the lifecycle function's
// delayed wake-ups (stampkit Tick events) back to it.
const EnvWakeQueue = "STAMPKIT_WAKE_QUEUE_URL"

// WakeQueueFromEnv reads the wake-up queue URL; the lifecycle function
// cannot wait without it.
func WakeQueueFromEnv(getenv func(string) string) (string, error) {
	return queueURLFromEnv(getenv, EnvWakeQueue, "lifecycle")
}

// queueURLFromEnv reads the URL of the SQS queue that carries a function's
// wake-ups, from the variable key.
func queueURLFromEnv(getenv func(string) string, key, function string) (string, error) {
	url := getenv(key)
	if url == "" {
		return "", fmt.Errorf("%s: is not set; it names the SQS queue of the %s wake-ups", key, function)
	}
	if !strings.HasPrefix(url, "https://") && !strings.HasPrefix(url, "http://") {
		return "", fmt.Errorf("%s: %q is not a queue URL", key, url)
	}
	return url, nil
}

// FleetForGroup returns the fleet one of whose Auto Scaling groups is named
// group: its own, or the blue/green peer that takes turns with it.
func (c Config) FleetForGroup(group string) (Fleet, bool) {
	for _, f := range c.Fleets {
		if f.Group == group || (f.Rollout.BlueGreen.PeerGroup != "" && f.Rollout.BlueGreen.PeerGroup == group) {
			return f, true
		}
	}
	return Fleet{}, false
}

// validateLifecycle checks a fleet's lifecycle policy; key names the fleet.
func validateLifecycle(key string, f Fleet) []error {
	return prefixed(key+".lifecycle", f.Lifecycle.Validate())
}
