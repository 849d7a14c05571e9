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

// Hooks names the lifecycle hooks the toolkit declares on a fleet's groups
// (a blue/green peer group's too). Other tools may add hooks of their own
// to the same groups: a lifecycle action of theirs is not the toolkit's to
// complete.
type Hooks struct {
	Launch    string `json:"launch,omitempty"`
	Terminate string `json:"terminate,omitempty"`
}

// Owns reports whether a lifecycle action of the hook named hook is the
// toolkit's: the hook is one of h's, or h names none (a configuration
// written before the hooks were named).
func (h Hooks) Owns(hook string) bool {
	if h == (Hooks{}) {
		return true
	}
	return hook == h.Launch || hook == h.Terminate
}

// validateLifecycle checks a fleet's lifecycle policy and hook names; key
// names the fleet.
func validateLifecycle(key string, f Fleet) []error {
	errs := prefixed(key+".lifecycle", f.Lifecycle.Validate())
	switch h := f.Hooks; {
	case h == (Hooks{}):
	case h.Launch == "" || h.Terminate == "":
		errs = append(errs, fmt.Errorf("%s.hooks: name both launch and terminate, or neither", key))
	case h.Launch == h.Terminate:
		errs = append(errs, fmt.Errorf("%s.hooks: launch and terminate both name %q", key, h.Launch))
	}
	return errs
}
