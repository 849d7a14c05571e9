package cwalarm

import (
	"context"

	"github.com/stampkit/stampkit/shared/event"
	"github.com/stampkit/stampkit/shared/scaling"
)

// Signals reads the named alarms as the scaling decision sees them: state,
// newest datapoint and threshold, and when the alarm entered its state —
// the same instant an alarm state-change event carries, so a tick and an
// event about one state change are ordered alike.
func (a *Adapter) Signals(ctx context.Context, names []string) ([]scaling.Signal, error) {
	alarms, err := a.Alarms(ctx, names)
	if err != nil {
		return nil, err
	}
	sigs := make([]scaling.Signal, 0, len(alarms))
	for _, al := range alarms {
		since := al.StateTransitioned
		if since.IsZero() {
			since = al.StateUpdated
		}
		value, threshold, ok := event.ReasonValues(al.StateReasonData)
		if !ok {
			value, threshold = al.Threshold, al.Threshold
		}
		sigs = append(sigs, scaling.Signal{Alarm: al.Name, State: al.State, Value: value, Threshold: threshold, Since: since})
	}
	return sigs, nil
}
