package hooks

import (
	"context"
	"time"

	"github.com/stampkit/stampkit/shared/asg"
	"github.com/stampkit/stampkit/shared/elb"
	"github.com/stampkit/stampkit/shared/lifecycle"
)

// Hooks answers lifecycle actions. A call for an action that is no longer
// active fails with an error awserr.IsNoActiveLifecycleAction recognises.
type Hooks interface {
	CompleteLifecycleAction(ctx context.Context, c asg.LifecycleCompletion) error
	RecordHeartbeat(ctx context.Context, l asg.LifecycleAction) error
}

// Groups reads an Auto Scaling group, for its target groups.
type Groups interface {
	Describe(ctx context.Context, name string) (asg.Group, error)
}

// Targets reads and drains target groups. Deregister's "nothing to
// deregister" errors satisfy elb.IsNotRegistered.
type Targets interface {
	TargetHealth(ctx context.Context, targetGroupARN string) ([]elb.Target, error)
	Deregister(ctx context.Context, targetGroupARN, instanceID string) error
	DeregistrationDelay(ctx context.Context, targetGroupARN string) (time.Duration, error)
}

// Prober runs one probe against an instance; commandID is the SSM command
// an earlier round left running. Failures to reach an API come back as a
// result with status lifecycle.Error.
type Prober interface {
	Probe(ctx context.Context, instanceID string, p lifecycle.Probe, commandID string) lifecycle.ProbeResult
}

// Scheduler arranges for a stampkit Tick with key and at to reach the
// handler at at (or earlier, for a wait longer than the scheduler's
// longest delay: the handler then schedules it again).
type Scheduler interface {
	WakeAt(ctx context.Context, key string, at time.Time) error
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

// The AWS adapters fit the ports as they are.
var (
	_ Hooks   = (*asg.Adapter)(nil)
	_ Groups  = (*asg.Adapter)(nil)
	_ Targets = (*elb.Adapter)(nil)
)
