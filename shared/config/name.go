package config

import (
	"fmt"
	"regexp"
)

// fleetNameRe is the rule for a fleet's name: it is part of the stack's
// resource names (log groups, alarms, parameters), which must stay short
// and plain.
var fleetNameRe = regexp.MustCompile(`^[a-z][a-z0-9]{0,19}$`)

// CheckFleetName says what is wrong with name as a fleet's name, in the
// words the CDK app and the CLI both use.
func CheckFleetName(name string) error {
	if !fleetNameRe.MatchString(name) {
		return fmt.Errorf("got %q, want 1-20 lowercase letters and digits, starting with a letter", name)
	}
	return nil
}

// stampNameRe is the rule for a stamp's name: it is part of the physical
// name of every resource a stamp names (groups, alarms, the command bus,
// parameters), whose IAM policies and event patterns match by the prefix
// stampkit-<stamp>-. No hyphen: with one, a stamp's prefix could be another
// stamp's name and prefix (prod- and prod-eu-).
var stampNameRe = regexp.MustCompile(`^[a-z][a-z0-9]{0,19}$`)

// CheckStampName says what is wrong with name as a stamp's name, in the
// words the CDK app and the CLI both use.
func CheckStampName(name string) error {
	if !stampNameRe.MatchString(name) {
		return fmt.Errorf("got %q, want 1-20 lowercase letters and digits, starting with a letter (no hyphen: names carry it as a prefix)", name)
	}
	return nil
}
