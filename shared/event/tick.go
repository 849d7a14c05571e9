package event

import "time"

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
}

func decodeScheduledDetail(env envelope) (any, error) {
	t := &Tick{At: env.Time}
	if len(env.Resources) > 0 {
		t.Rule = env.Resources[0]
	}
	return t, nil
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
