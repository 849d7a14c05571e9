package shifter

import (
	"context"
	"time"

	"github.com/stampkit/stampkit/shared/asg"
	"github.com/stampkit/stampkit/shared/cwalarm"
	"github.com/stampkit/stampkit/shared/dynamo"
	"github.com/stampkit/stampkit/shared/route53dns"
	"github.com/stampkit/stampkit/shared/scaling"
	"github.com/stampkit/stampkit/shared/sqsqueue"
	"github.com/stampkit/stampkit/shared/ssmparam"
)

// DNS is the record's hosted zone (route53dns.Adapter).
type DNS interface {
	Weighted(ctx context.Context, name, typ string) ([]route53dns.Record, error)
	SetWeights(ctx context.Context, records []route53dns.Record, weights map[string]int64, comment string) (string, error)
	ChangeInSync(ctx context.Context, id string) (bool, error)
	Healthy(ctx context.Context, healthCheck string) (bool, error)
}

// Store is a DynamoDB table of versioned records and claims (dynamo.Store;
// memstore.Store in tests and the twin).
type Store interface {
	Claim(ctx context.Context, key, owner string, ttl time.Duration) (bool, error)
	Release(ctx context.Context, key, owner string) error
	Load(ctx context.Context, key string) (data []byte, version int64, err error)
	Save(ctx context.Context, key string, data []byte, version int64) error
}

// Scheduler sends the delayed wake-up of a record's transition
// (sqsqueue.Scheduler).
type Scheduler interface {
	WakeAt(ctx context.Context, key string, at time.Time) error
}

// Alarms reads alarms' states (cwalarm.Adapter).
type Alarms interface {
	Alarms(ctx context.Context, names []string) ([]cwalarm.Alarm, error)
}

// Groups reads and sizes Auto Scaling groups (asg.Adapter).
type Groups interface {
	Capacity(ctx context.Context, name string) (scaling.Group, error)
	SetDesiredCapacity(ctx context.Context, name string, n int) error
}

// Parameters writes SSM parameters (ssmparam.Adapter).
type Parameters interface {
	Put(ctx context.Context, name, value string) error
}

// Stamp is one stamp's clients, in the stamp's Region.
type Stamp struct {
	Alarms     Alarms
	Groups     Groups
	Parameters Parameters
	// State is the stamp's scaler state table, where the fleet's floor is
	// raised.
	State Store
}

// The AWS adapters fit the ports as they are.
var (
	_ DNS             = (*route53dns.Adapter)(nil)
	_ Store           = (*dynamo.Store)(nil)
	_ Alarms          = (*cwalarm.Adapter)(nil)
	_ Groups          = (*asg.Adapter)(nil)
	_ Parameters      = (*ssmparam.Adapter)(nil)
	_ ParameterReader = (*ssmparam.Adapter)(nil)
	_ Scheduler       = (*sqsqueue.Scheduler)(nil)
)
