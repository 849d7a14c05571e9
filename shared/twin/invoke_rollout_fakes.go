package twin

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/smithy-go"

	"github.com/stampkit/stampkit/shared/asg"
	"github.com/stampkit/stampkit/shared/cwalarm"
	"github.com/stampkit/stampkit/shared/elb"
	"github.com/stampkit/stampkit/shared/launchtemplate"
	"github.com/stampkit/stampkit/shared/rollout"
	"github.com/stampkit/stampkit/shared/stamper"
)

// rolloutFakes serves the rollout handler's Groups, Listeners and Alarms
// ports: groups whose new instances are healthy after replace, instance
// refreshes that replace a group in replace, and a health alarm that
// stays in one state.
type rolloutFakes struct {
	w        *world
	replace  time.Duration
	alarm    string
	alarms   []string
	versions func(string) (launchtemplate.Version, bool)
	groups   []*fakeGroup
	// refreshes are every refresh started, oldest first; the first takes
	// refreshID as its ID when set, and refreshStatus once the running
	// rollout started it.
	refreshes     []*fakeRefresh
	refreshID     string
	refreshStatus string
	launched      int
}

type fakeGroup struct {
	name, tg          string
	min, max, desired int
	version           string
	instances         []fakeInstance
}

type fakeInstance struct {
	id, version string
	readyAt     time.Time
}

type fakeRefresh struct {
	id, group    string
	from, to     string
	alarms       []string
	started, end time.Time
	status, why  string
	settled      bool
	autoRollback bool
}

var (
	_ stamper.Groups     = (*rolloutFakes)(nil)
	_ stamper.Listeners  = (*rolloutFakes)(nil)
	_ stamper.Alarms     = (*rolloutFakes)(nil)
	_ stamper.Builds     = builds{}
	_ stamper.Templates  = recordedTemplates{}
	_ stamper.Parameters = recordedParameters{}
	_ stamper.Scheduler  = (*world)(nil)
)

func (f *rolloutFakes) newGroup(name, tg string, minSize, maxSize, desired int) *fakeGroup {
	g := &fakeGroup{name: name, tg: tg, min: minSize, max: maxSize, version: "1"}
	f.size(g, desired, time.Time{})
	return g
}

// size launches or terminates instances (the newest first) to desired;
// new ones are on the group's version and ready at readyAt.
func (f *rolloutFakes) size(g *fakeGroup, desired int, readyAt time.Time) {
	for len(g.instances) < desired {
		f.launched++
		g.instances = append(g.instances, fakeInstance{id: fmt.Sprintf("i-0%016x", f.launched), version: g.version, readyAt: readyAt})
	}
	g.instances = g.instances[:desired]
	g.desired = desired
}

func (f *rolloutFakes) group(name string) (*fakeGroup, error) {
	for _, g := range f.groups {
		if g.name == name {
			return g, nil
		}
	}
	return nil, groupNotFound(name)
}

func (f *rolloutFakes) refresh(id string) *fakeRefresh {
	for _, r := range f.refreshes {
		if r.id == id {
			return r
		}
	}
	return nil
}

// advance moves a running refresh on: instances are replaced evenly over
// f.replace, and at its end the refresh succeeds, or rolls back when it
// watches an alarm in ALARM.
func (f *rolloutFakes) advance(r *fakeRefresh) {
	if r.settled {
		return
	}
	g, err := f.group(r.group)
	if err != nil {
		return
	}
	now := f.w.clk.Now()
	if !now.Before(r.started.Add(f.replace)) {
		if r.status == rollout.RefreshRollbackInProgress {
			f.settle(r, rollout.RefreshRollbackSuccessful, "rolled back")
			return
		}
		if r.autoRollback && len(r.alarms) > 0 && f.alarm == cwalarm.StateAlarm {
			f.settle(r, rollout.RefreshRollbackSuccessful, "alarm "+strings.Join(r.alarms, ", ")+" in ALARM")
			return
		}
		f.settle(r, rollout.RefreshSuccessful, "")
		return
	}
	done := len(g.instances)
	if f.replace > 0 {
		done = int(int64(len(g.instances)) * int64(now.Sub(r.started)) / int64(f.replace))
	}
	target := r.to
	if r.status == rollout.RefreshRollbackInProgress {
		target = r.from
	}
	for i := range g.instances[:max(done, 0)] {
		g.instances[i].version = target
	}
}

// settle ends a refresh with status: a success leaves every instance on
// the new version (and the group on it, as Auto Scaling does), a rollback
// every instance on the old one; other ends leave them where they are.
func (f *rolloutFakes) settle(r *fakeRefresh, status, why string) {
	g, err := f.group(r.group)
	if err != nil {
		return
	}
	r.status, r.why, r.end = status, why, f.w.clk.Now()
	r.settled = status != rollout.RefreshInProgress && status != rollout.RefreshRollbackInProgress
	target := ""
	switch status {
	case rollout.RefreshSuccessful:
		target, g.version = r.to, r.to
	case rollout.RefreshRollbackSuccessful:
		target, g.version = r.from, r.from
	}
	if target != "" {
		for i := range g.instances {
			g.instances[i].version = target
		}
	}
}

// Describe reports a group with its instances: in service once ready.
func (f *rolloutFakes) Describe(_ context.Context, name string) (asg.Group, error) {
	g, err := f.group(name)
	if err != nil {
		return asg.Group{}, err
	}
	for _, r := range f.refreshes {
		f.advance(r)
	}
	out := asg.Group{Name: g.name, Min: int32(g.min), Max: int32(g.max), Desired: int32(g.desired), TargetGroupARNs: []string{g.tg},
		LaunchTemplate: asg.LaunchTemplate{ID: LaunchTemplateID, Version: g.version}}
	for _, in := range g.instances {
		state := asg.StateInService
		if f.w.clk.Now().Before(in.readyAt) {
			state = asg.StatePending
		}
		out.Instances = append(out.Instances, asg.Instance{ID: in.id, LifecycleState: state, HealthStatus: "Healthy", LaunchTemplateVersion: in.version})
	}
	return out, nil
}

func (f *rolloutFakes) checkVersion(lt, version string) error {
	if _, ok := f.versions(version); lt != LaunchTemplateID || !ok {
		return &smithy.GenericAPIError{Code: "ValidationError", Message: "launch template " + lt + " version " + version + " not found"}
	}
	return nil
}

// SetLaunchTemplateVersion points a group at a version: later launches
// use it.
func (f *rolloutFakes) SetLaunchTemplateVersion(_ context.Context, group, lt, version string) error {
	g, err := f.group(group)
	if err != nil {
		return err
	}
	if err := f.checkVersion(lt, version); err != nil {
		return err
	}
	g.version = version
	f.w.record(EffectGroupVersion, "%s on %s version %s", group, lt, version)
	return nil
}

// Resize sets a group's size; instances it launches are ready after
// f.replace.
func (f *rolloutFakes) Resize(_ context.Context, group string, sz asg.Size) error {
	g, err := f.group(group)
	if err != nil {
		return err
	}
	maxSize := g.max
	if sz.Max > 0 {
		maxSize = sz.Max
	}
	if sz.Min < 0 || sz.Desired < sz.Min || sz.Desired > maxSize {
		return &smithy.GenericAPIError{Code: "ValidationError", Message: fmt.Sprintf("size min %d, max %d, desired %d of %s is inconsistent", sz.Min, sz.Max, sz.Desired, group)}
	}
	g.min, g.max = sz.Min, maxSize
	f.size(g, sz.Desired, f.w.clk.Now().Add(f.replace))
	f.w.record(EffectResized, "%s to min %d, max %d, desired %d", group, g.min, g.max, g.desired)
	return nil
}

// StartInstanceRefresh starts a refresh of the group to the spec's
// version, refusing as Auto Scaling does while one runs.
func (f *rolloutFakes) StartInstanceRefresh(_ context.Context, sp asg.RefreshSpec) (string, error) {
	g, err := f.group(sp.Group)
	if err != nil {
		return "", err
	}
	for _, r := range f.refreshes {
		if f.advance(r); r.group == g.name && !r.settled {
			return "", &smithy.GenericAPIError{Code: "InstanceRefreshInProgress", Message: "An Instance Refresh is already in progress and blocks the execution of this Instance Refresh."}
		}
	}
	if err := f.checkVersion(sp.LaunchTemplate.ID, sp.LaunchTemplate.Version); err != nil {
		return "", err
	}
	id := fmt.Sprintf("%08x-0000-4000-8000-000000000000", len(f.refreshes)+1)
	if len(f.refreshes) == 0 && f.refreshID != "" {
		id = f.refreshID
	}
	f.refreshes = append(f.refreshes, &fakeRefresh{id: id, group: g.name, from: g.version, to: sp.LaunchTemplate.Version,
		alarms: slices.Clone(sp.AlarmNames), autoRollback: sp.AutoRollback, started: f.w.clk.Now(), status: rollout.RefreshInProgress})
	f.w.record(EffectRefreshStarted, "%s of %s to version %s (min healthy %d%%, max healthy %d%%, auto-rollback %t, alarms %s)",
		id, g.name, sp.LaunchTemplate.Version, orDefault(sp.MinHealthy, 90), orDefault(sp.MaxHealthy, 100), sp.AutoRollback, orDash(strings.Join(sp.AlarmNames, ", ")))
	return id, nil
}

func (f *rolloutFakes) describe(r *fakeRefresh) asg.Refresh {
	f.advance(r)
	out := asg.Refresh{ID: r.id, Group: r.group, Status: r.status, StatusReason: r.why, StartTime: r.started, EndTime: r.end}
	if f.replace > 0 && !r.settled {
		out.PercentageComplete = int32(min(100, 100*f.w.clk.Now().Sub(r.started)/f.replace))
	}
	if r.status == rollout.RefreshSuccessful {
		out.PercentageComplete = 100
	}
	return out
}

// DescribeInstanceRefresh reads a refresh by ID.
func (f *rolloutFakes) DescribeInstanceRefresh(_ context.Context, group, id string) (asg.Refresh, error) {
	if r := f.refresh(id); r != nil && r.group == group {
		return f.describe(r), nil
	}
	return asg.Refresh{}, fmt.Errorf("describing instance refresh %s: %w", id, asg.ErrNotFound)
}

// LatestInstanceRefresh reads the group's newest refresh.
func (f *rolloutFakes) LatestInstanceRefresh(_ context.Context, group string) (asg.Refresh, error) {
	for _, r := range slices.Backward(f.refreshes) {
		if r.group == group {
			return f.describe(r), nil
		}
	}
	return asg.Refresh{}, fmt.Errorf("latest instance refresh of %s: %w", group, asg.ErrNotFound)
}

func (f *rolloutFakes) running(group string) *fakeRefresh {
	for _, r := range f.refreshes {
		if f.advance(r); r.group == group && !r.settled {
			return r
		}
	}
	return nil
}

// CancelInstanceRefresh stops the running refresh where it is.
func (f *rolloutFakes) CancelInstanceRefresh(_ context.Context, group string) (string, error) {
	r := f.running(group)
	if r == nil {
		return "", noRefresh(group)
	}
	f.settle(r, rollout.RefreshCancelled, "cancelled")
	f.w.record(EffectRefreshCancelled, "%s of %s", r.id, group)
	return r.id, nil
}

// RollbackInstanceRefresh puts the group's instances back on the version
// the running refresh started from, at once.
func (f *rolloutFakes) RollbackInstanceRefresh(_ context.Context, group string) (string, error) {
	r := f.running(group)
	if r == nil {
		return "", noRefresh(group)
	}
	f.settle(r, rollout.RefreshRollbackSuccessful, "rolled back")
	f.w.record(EffectRefreshRollback, "%s of %s back to version %s", r.id, group, r.from)
	return r.id, nil
}

// Forward reads the blue/green listener: a plain weighted forward over the
// fleet's two target groups.
func (f *rolloutFakes) Forward(_ context.Context, listener string) (elb.Forward, error) {
	if listener != ListenerARN {
		return elb.Forward{}, &smithy.GenericAPIError{Code: "ListenerNotFound", Message: "One or more listeners not found: " + listener}
	}
	var ws []elb.Weighted
	for _, g := range f.groups {
		if g.tg != "" {
			ws = append(ws, elb.Weighted{TargetGroupARN: g.tg})
		}
	}
	return elb.Forward{Weights: ws}, nil
}

// SetForwardWeights sets the blue/green listener's weights.
func (f *rolloutFakes) SetForwardWeights(_ context.Context, listener string, ws []elb.Weighted) error {
	if listener != ListenerARN {
		return &smithy.GenericAPIError{Code: "ListenerNotFound", Message: "One or more listeners not found: " + listener}
	}
	parts := make([]string, 0, len(ws))
	for _, wt := range ws {
		name := wt.TargetGroupARN
		for _, g := range f.groups {
			if g.tg == wt.TargetGroupARN {
				name = g.name
			}
		}
		if name == wt.TargetGroupARN {
			return notRegistered(wt.TargetGroupARN)
		}
		parts = append(parts, fmt.Sprintf("%s %d", name, wt.Weight))
	}
	f.w.record(EffectWeights, "%s", strings.Join(parts, ", "))
	return nil
}

// TargetHealth lists a target group's instances: initial until ready,
// then healthy.
func (f *rolloutFakes) TargetHealth(_ context.Context, arn string) ([]elb.Target, error) {
	for _, g := range f.groups {
		if g.tg != arn {
			continue
		}
		var out []elb.Target
		for _, in := range g.instances {
			t := elb.Target{ID: in.id, Port: 8080, State: elb.StateHealthy}
			if f.w.clk.Now().Before(in.readyAt) {
				t.State, t.Reason = elb.StateInitial, "Elb.RegistrationInProgress"
			}
			out = append(out, t)
		}
		return out, nil
	}
	return nil, notRegistered(arn)
}

// Alarms reports the fleet's health alarm in its one state.
func (f *rolloutFakes) Alarms(_ context.Context, names []string) ([]cwalarm.Alarm, error) {
	var out []cwalarm.Alarm
	for _, n := range names {
		if slices.Contains(f.alarms, n) {
			out = append(out, cwalarm.Alarm{Name: n, ARN: alarmARN(n), State: f.alarm})
		}
	}
	return out, nil
}
