package scaler

import (
	"context"
	"time"

	"github.com/stampkit/stampkit/shared/scaling"
)

// Groups reads and sets an Auto Scaling group's capacity.
type Groups interface {
	Capacity(ctx context.Context, group string) (scaling.Group, error)
	// SetDesiredCapacity sets the group's desired capacity without honouring
	// the group's own cooldown: the scaler owns cooldown.
	SetDesiredCapacity(ctx context.Context, group string, desired int) error
}

// Alarms reads the current state of alarms, for the scheduled re-evaluation.
type Alarms interface {
	Signals(ctx context.Context, alarms []string) ([]scaling.Signal, error)
}

// AlarmBatch reads the alarms of a whole tick batch with one describe.
type AlarmBatch interface {
	// Prefetch describes alarms at once and returns a reader of the
	// signals of any of them that describes nothing again; the metric
	// reads that remain run on the context the reader is given.
	Prefetch(ctx context.Context, alarms []string) (func(context.Context, []string) ([]scaling.Signal, error), error)
}

// Store keeps claims and versioned records. Load returns version 0 for a
// record that does not exist; Save succeeds only if the stored version is
// still the one loaded, and stores version+1.
type Store interface {
	Claim(ctx context.Context, key, owner string, ttl time.Duration) (bool, error)
	Release(ctx context.Context, key, owner string) error
	Load(ctx context.Context, key string) (data []byte, version int64, err error)
	Save(ctx context.Context, key string, data []byte, version int64) error
}

// History reads a metric's load history: its Sum over each period in
// [from, to), one Point per period that has data, oldest first.
type History interface {
	MetricSums(ctx context.Context, m scaling.Metric, period time.Duration, from, to time.Time) ([]scaling.Point, error)
}
