package scaling

import (
	"encoding/json"
	"time"
)

// Seen is the newest state of one alarm that a decision applied, and when
// the alarm entered it.
//
// The time alone cannot order signals. A scheduled tick reads it from
// DescribeAlarms (StateTransitionedTimestamp), an event carries its own
// state.timestamp, and nothing promises the two agree to the millisecond:
// ordered by time alone, every tick after an event that carried a later
// time was stale, and an alarm held in ALARM never scaled again. Two
// readings of one state never make each other stale; only a signal in
// another state from before the applied one is out of order.
type Seen struct {
	// State is empty in a record saved before the state was kept.
	State string    `json:"state,omitempty"`
	Since time.Time `json:"since"`
}

// outOfOrder reports whether sig comes from before s: another state,
// entered before the one applied. A record without a state orders nothing:
// its time may be either source's reading of the state the alarm is still
// in, and judging by it alone is what kept held alarms from scaling.
func (s Seen) outOfOrder(sig Signal) bool {
	return s.State != "" && sig.State != s.State && sig.Since.Before(s.Since)
}

// then returns what to remember once sig is applied. A second reading of
// the same state keeps the later time, so the record never moves back and
// a scale-in hold counts from the latest reading: a late event from an
// earlier spell in the same state must not shorten the hold.
func (s Seen) then(sig Signal) Seen {
	if sig.State == s.State && sig.Since.Before(s.Since) {
		return s
	}
	return Seen{State: sig.State, Since: sig.Since}
}

// supersedes reports whether s replaces o when two decisions' states merge:
// a record with a state replaces one without, then the later time wins.
func (s Seen) supersedes(o Seen) bool {
	if (s.State == "") != (o.State == "") {
		return o.State == ""
	}
	return s.Since.After(o.Since)
}

// UnmarshalJSON reads a record in either shape: {"state": ..., "since": ...}
// or, as state tables saved it before the state was kept, the time alone.
func (s *Seen) UnmarshalJSON(data []byte) error {
	if len(data) > 0 && data[0] == '"' {
		*s = Seen{}
		return json.Unmarshal(data, &s.Since)
	}
	type plain Seen // without this method
	return json.Unmarshal(data, (*plain)(s))
}
