package event

import (
	"fmt"
	"time"

	"github.com/stampkit/stampkit/shared/config"
)

// Tick asks a handler to re-evaluate: an EventBridge schedule rule fired
// ("Scheduled Event", source aws.events), or a stampkit durable wait ended
// ("Tick", source stampkit).
type Tick struct {
	// At is when the tick was due.
	At time.Time
	// Rule is the ARN of the schedule rule that fired; empty for a stampkit
	// tick.
	Rule string
	// Key names what a stampkit tick wakes (for example a rollout id);
	// empty for a schedule rule.
	Key string
	// Fleets are the fleets a schedule rule's tick batch names (its
	// detail's "fleets", see TickInput); nil when the detail names none,
	// which ticks every fleet.
	Fleets []string
}

// decodeScheduledDetail decodes a schedule rule's event. AWS sends an
// empty detail; a tick batch's rule replaces it with {"fleets": [...]}
// (TickInput).
func decodeScheduledDetail(env envelope) (any, error) {
	var d struct {
		// A pointer tells a list that is absent (or null) from one that
		// is empty.
		Fleets *[]string `json:"fleets"`
	}
	if err := unmarshal(env.Detail, &d, env.path("detail"), ""); err != nil {
		return nil, err
	}
	t := &Tick{At: env.Time}
	if len(env.Resources) > 0 {
		t.Rule = env.Resources[0]
	}
	if d.Fleets == nil {
		return t, nil
	}
	if err := checkTickFleets(*d.Fleets, env.detailPath("fleets")); err != nil {
		return nil, err
	}
	t.Fleets = *d.Fleets
	return t, nil
}

// checkTickFleets reports what makes fleets no tick batch's list: empty
// (an empty list must not read as every fleet, nor tick none in silence),
// a name no fleet can have, or a fleet named twice.
func checkTickFleets(fleets []string, path string) error {
	if len(fleets) == 0 {
		return malformed(path, "empty; leave it out to tick every fleet")
	}
	seen := make(map[string]bool, len(fleets))
	for i, name := range fleets {
		at := fmt.Sprintf("%s[%d]", path, i)
		if err := config.CheckFleetName(name); err != nil {
			return malformed(at, "not a fleet name: %w", err)
		}
		if seen[name] {
			return malformed(at, "fleet %q is listed twice", name)
		}
		seen[name] = true
	}
	return nil
}

// decodeTickDetail decodes stampkit's own tick, whose detail is
// {"at": RFC 3339 time, "key": string}, both optional.
func decodeTickDetail(env envelope) (any, error) {
	var d struct {
		At  string `json:"at"`
		Key string `json:"key"`
	}
	if err := unmarshal(env.Detail, &d, env.path("detail"), ""); err != nil {
		return nil, err
	}
	at, err := parseOptionalTime(d.At, env.detailPath("at"))
	if err != nil {
		return nil, err
	}
	if at.IsZero() {
		at = env.Time
	}
	return &Tick{At: at, Key: d.Key}, nil
}
