package stampshift

import (
	"errors"
	"fmt"
	"time"

	"github.com/stampkit/stampkit/shared/clock"
)

// MaxWeight is the largest weight Route 53 takes on a weighted record
// (Route 53 API Reference, ResourceRecordSet.Weight: 0–255).
const MaxWeight = 255

// DefaultSteps are the percentages of the moved weight the receiving stamp
// carries, step by step, when the configuration names none.
func DefaultSteps() []int { return []int{5, 25, 50, 100} }

// Policy is how a record's transitions move.
type Policy struct {
	// Steps are the receiving stamp's shares in percent, increasing,
	// ending at 100.
	Steps []int `json:"steps,omitempty"`
	// TTL is the record's TTL: resolvers may answer with the old weights
	// for that long after a change is INSYNC, so each step waits it out.
	TTL clock.Duration `json:"ttl,omitempty"`
	// Bake is how long each step runs healthy, after the TTL, before the
	// next one.
	Bake clock.Duration `json:"bake,omitempty"`
	// PollInterval is how often a running transition looks at the pending
	// change, the health checks and the alarms.
	PollInterval clock.Duration `json:"pollInterval,omitempty"`
	// CapacityTimeout bounds how long a step waits for the receiving fleet
	// to have in service what the step needs; then it rolls back.
	CapacityTimeout clock.Duration `json:"capacityTimeout,omitempty"`
	// SendAttempts bounds how often one step's change is refused by Route
	// 53 as such (InvalidChangeBatch: a conflicting change, a record that
	// changed under it) before the transition rolls back. Throttling and
	// other failures that a later call may not meet do not count. A
	// rollback never gives up: past SendAttempts tries it backs off and
	// says it is stuck (State.Stuck).
	SendAttempts int `json:"sendAttempts,omitempty"`
	// UnreadTimeout is how long the receiving stamp's health may go
	// unread (throttled, its Region impaired, the health check gone)
	// before it counts as unhealthy and the transition rolls back.
	UnreadTimeout clock.Duration `json:"unreadTimeout,omitempty"`
}

// Defaults.
const (
	DefaultTTL             = 60 * time.Second
	DefaultBake            = 5 * time.Minute
	DefaultPollInterval    = 30 * time.Second
	DefaultCapacityTimeout = 15 * time.Minute
	DefaultSendAttempts    = 5
	DefaultUnreadTimeout   = 2 * time.Minute
	// MaxBackoff bounds the wait between a stuck rollback's tries.
	MaxBackoff = 5 * time.Minute
)

// WithDefaults fills what p leaves unset.
func (p Policy) WithDefaults() Policy {
	if len(p.Steps) == 0 {
		p.Steps = DefaultSteps()
	}
	if p.TTL == 0 {
		p.TTL = clock.Duration(DefaultTTL)
	}
	if p.Bake == 0 {
		p.Bake = clock.Duration(DefaultBake)
	}
	if p.PollInterval == 0 {
		p.PollInterval = clock.Duration(DefaultPollInterval)
	}
	if p.CapacityTimeout == 0 {
		p.CapacityTimeout = clock.Duration(DefaultCapacityTimeout)
	}
	if p.SendAttempts == 0 {
		p.SendAttempts = DefaultSendAttempts
	}
	if p.UnreadTimeout == 0 {
		p.UnreadTimeout = clock.Duration(DefaultUnreadTimeout)
	}
	return p
}

// Validate reports every problem with p, each naming its field.
func (p Policy) Validate() error {
	var errs []error
	if err := validSteps(p.Steps); err != nil {
		errs = append(errs, fmt.Errorf("steps: %w", err))
	}
	for _, d := range []struct {
		name string
		v    clock.Duration
	}{{"ttl", p.TTL}, {"bake", p.Bake}, {"pollInterval", p.PollInterval}, {"capacityTimeout", p.CapacityTimeout}, {"unreadTimeout", p.UnreadTimeout}} {
		if d.v < 0 {
			errs = append(errs, fmt.Errorf("%s: %s is negative", d.name, d.v))
		}
	}
	if p.PollInterval > 0 && p.PollInterval.Std() < time.Second {
		errs = append(errs, fmt.Errorf("pollInterval: %s is under a second", p.PollInterval))
	}
	if p.SendAttempts < 0 {
		errs = append(errs, fmt.Errorf("sendAttempts: %d is negative", p.SendAttempts))
	}
	return errors.Join(errs...)
}

// validSteps: percentages in (0, 100], strictly increasing, ending at 100.
func validSteps(steps []int) error {
	if len(steps) == 0 {
		return nil
	}
	prev := 0
	for i, s := range steps {
		if s <= prev || s > 100 {
			return fmt.Errorf("[%d] = %d: each step must be above the one before and at most 100", i, s)
		}
		prev = s
	}
	if prev != 100 {
		return fmt.Errorf("the last step is %d, want 100", prev)
	}
	return nil
}

// stepWait is how long a confirmed step runs before it counts.
func (p Policy) stepWait() time.Duration { return p.TTL.Std() + p.Bake.Std() }
