package stamper

import (
	"context"
	"time"

	"github.com/stampkit/stampkit/shared/asg"
	"github.com/stampkit/stampkit/shared/cwalarm"
	"github.com/stampkit/stampkit/shared/elb"
	"github.com/stampkit/stampkit/shared/imagebuilder"
	"github.com/stampkit/stampkit/shared/launchtemplate"
	"github.com/stampkit/stampkit/shared/ssmparam"
)

// Groups reads and changes Auto Scaling groups and drives their instance
// refreshes. StartInstanceRefresh fails with an error awserr.IsConflict
// recognises when a refresh already runs.
type Groups interface {
	Describe(ctx context.Context, name string) (asg.Group, error)
	SetLaunchTemplateVersion(ctx context.Context, group, launchTemplateID, version string) error
	Resize(ctx context.Context, group string, s asg.Size) error
	StartInstanceRefresh(ctx context.Context, s asg.RefreshSpec) (string, error)
	DescribeInstanceRefresh(ctx context.Context, group, id string) (asg.Refresh, error)
	LatestInstanceRefresh(ctx context.Context, group string) (asg.Refresh, error)
	CancelInstanceRefresh(ctx context.Context, group string) (string, error)
	RollbackInstanceRefresh(ctx context.Context, group string) (string, error)
}

// Templates reads AMIs and launch templates and stamps new versions. Missing
// images, templates and versions are launchtemplate.ErrNotFound.
type Templates interface {
	Image(ctx context.Context, amiID string) (launchtemplate.Image, error)
	Template(ctx context.Context, launchTemplateID string) (launchtemplate.Template, error)
	Version(ctx context.Context, launchTemplateID, version string) (launchtemplate.Version, error)
	CreateVersionWithImage(ctx context.Context, launchTemplateID, sourceVersion, amiID, description string) (int64, error)
	SetDefaultVersion(ctx context.Context, launchTemplateID string, version int64) error
}

// Builds reads Image Builder images, for the AMIs an image event omits.
type Builds interface {
	Image(ctx context.Context, arn string) (imagebuilder.Image, error)
}

// Parameters reads and writes the SSM parameters holding a fleet's AMI and
// its listener weights. A missing parameter is ssmparam.ErrNotFound.
type Parameters interface {
	Get(ctx context.Context, name string) (string, error)
	Put(ctx context.Context, name, value string) error
	PutImage(ctx context.Context, name, amiID string) error
}

// Listeners shifts weighted traffic and reads target health.
type Listeners interface {
	Forward(ctx context.Context, listenerARN string) (elb.Forward, error)
	SetForwardWeights(ctx context.Context, listenerARN string, weights []elb.Weighted) error
	TargetHealth(ctx context.Context, targetGroupARN string) ([]elb.Target, error)
}

// Alarms reads the fleet's health alarms.
type Alarms interface {
	Alarms(ctx context.Context, names []string) ([]cwalarm.Alarm, error)
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
	_ Groups     = (*asg.Adapter)(nil)
	_ Templates  = (*launchtemplate.Adapter)(nil)
	_ Builds     = (*imagebuilder.Adapter)(nil)
	_ Parameters = (*ssmparam.Adapter)(nil)
	_ Listeners  = (*elb.Adapter)(nil)
	_ Alarms     = (*cwalarm.Adapter)(nil)
)
