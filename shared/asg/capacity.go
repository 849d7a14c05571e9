package asg

import (
	"context"
	"slices"

	"github.com/stampkit/stampkit/shared/scaling"
)

// ProcessAlarmNotification is the Auto Scaling process whose suspension
// stops a group's scaling policies.
const ProcessAlarmNotification = "AlarmNotification"

// Capacity describes the group as the scaling decision sees it. Instances
// still launching or waiting on a lifecycle hook are the difference between
// Desired and InService; those protected from scale-in set a floor.
func (a *Adapter) Capacity(ctx context.Context, name string) (scaling.Group, error) {
	g, err := a.Describe(ctx, name)
	if err != nil {
		return scaling.Group{}, err
	}
	protected := 0
	for _, in := range g.Instances {
		if in.ProtectedFromScaleIn && in.LifecycleState == StateInService {
			protected++
		}
	}
	return scaling.Group{
		Min: int(g.Min), Max: int(g.Max), Desired: int(g.Desired),
		InService: g.InService(), Protected: protected,
		Suspended: slices.Contains(g.Suspended, ProcessAlarmNotification),
	}, nil
}
