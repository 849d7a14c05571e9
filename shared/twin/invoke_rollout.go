package twin

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/stampkit/stampkit/shared/config"
	"github.com/stampkit/stampkit/shared/cwalarm"
	"github.com/stampkit/stampkit/shared/event"
	"github.com/stampkit/stampkit/shared/imagebuilder"
	"github.com/stampkit/stampkit/shared/launchtemplate"
	"github.com/stampkit/stampkit/shared/memstore"
	"github.com/stampkit/stampkit/shared/rollout"
	"github.com/stampkit/stampkit/shared/stamper"
)

// RunningImage is the image of the rollout RolloutInvocation.Running
// starts before the event: older than the event's image, newer than
// ImageV1.
const RunningImage = "ami-0a1b2c3d4e5f60009"

// RolloutInvocation is the world one in-process invocation of the rollout
// handler sees: the fleet's group on launch template version 1 (ImageV1),
// the image of the event available and tagged for the fleet, the image
// parameter, the fleet's health alarm and, for blue/green, the peer group
// behind the weighted listener.
type RolloutInvocation struct {
	// Fleet is the fleet's name; empty is FleetName.
	Fleet string
	// Policy, when set, is the fleet's own rollout policy (a cdk.json
	// fleet's, as the stack binds it): with its strategy, it is bound to
	// the twin's image parameter, listener, target groups and health
	// alarm (Config.Rollout), and its peer group names the peer.
	Policy *rollout.Policy
	// GroupName is the fleet's group; empty means the group the event
	// names, else the twin's default group.
	GroupName string
	// Strategy is rollout.StrategyRolling (the default) or
	// rollout.StrategyBlueGreen; the policy is RolloutPolicy or
	// BlueGreenPolicy.
	Strategy          rollout.Strategy
	Min, Max, Desired int
	// Running starts a rollout of RunningImage a minute before the event, so that commands, instance refresh events and newer images
	// meet one. An instance refresh event is then about that rollout's
	// refresh, which takes the event's status.
	Running bool
	// Alarm is the health alarm's state (cwalarm.StateOK when empty); in
	// ALARM it rolls an instance refresh back and stops a blue/green shift.
	Alarm string
	// Replace is how long new instances take to be in service and healthy,
	// and an instance refresh to replace the group.
	Replace time.Duration
	// Now is the handler's clock; zero means the event's time plus Delay.
	Now   time.Time
	Delay time.Duration
	// Follow delivers each wake-up the handler schedules at its due time,
	// on a virtual clock, until the rollout ends.
	Follow bool
	// Log receives the handler's JSON log lines and EMF records.
	Log io.Writer
}

// RolloutResult is what an invocation of the rollout handler did.
type RolloutResult struct {
	Effects []Effect
	// Invocations counts the event and the wake-ups delivered.
	Invocations int
	// State is the fleet's rollout record afterwards; its ID is empty when
	// no rollout ever started.
	State rollout.State
	// DefaultVersion and Parameter are the launch template's default
	// version and the image parameter afterwards.
	DefaultVersion int64
	Parameter      string
}

// InvokeRollout runs the real rollout handler (shared/stamper) on raw
// against fakes of its ports, and returns what it changed.
func InvokeRollout(ctx context.Context, raw []byte, inv RolloutInvocation) (RolloutResult, error) {
	ev, _ := decodeFirst(raw)
	start, now := invocationTimes(ev, inv.Now, inv.Delay)
	if inv.Min < 0 || inv.Desired < inv.Min || inv.Desired > inv.Max {
		return RolloutResult{}, fmt.Errorf("group size min %d, max %d, desired %d: need 0 <= min <= desired <= max", inv.Min, inv.Max, inv.Desired)
	}
	tc := DefaultConfig()
	tc.Group = cmp.Or(inv.GroupName, eventGroup(ev), tc.Group)
	tc.Fleet, tc.Rollout = inv.Fleet, inv.Policy
	fleetName := tc.fleet()
	policy := RolloutPolicy(tc)
	if inv.Strategy == rollout.StrategyBlueGreen {
		policy = BlueGreenPolicy(tc)
	}
	policy = onTwin(inv.Policy, policy)
	cfg := config.Config{Table: "twin", Namespace: config.DefaultNamespace, Fleets: []config.Fleet{{
		Name: fleetName, Group: tc.Group, Rollout: policy,
	}}}
	if err := cfg.Validate(); err != nil {
		return RolloutResult{}, fmt.Errorf("invocation config: %w", err)
	}

	w := newWorld(now)
	tagged := map[string]string{rollout.FleetTag: fleetName}
	image := func(id, name string, created time.Time) launchtemplate.Image {
		return launchtemplate.Image{ID: id, Name: name, State: rollout.ImageAvailable, Architecture: "arm64",
			CreationDate: created, RootEncrypted: true, Tags: tagged}
	}
	// The twin's own launch template, images and parameter serve the
	// Templates and Parameters ports, as in the simulation.
	rs := &rolloutSim{
		images: map[string]launchtemplate.Image{
			ImageV1:      image(ImageV1, "stampkit-web-1", start.Add(-30*24*time.Hour)),
			RunningImage: image(RunningImage, "stampkit-web-running", start.Add(-time.Hour)),
			ImageV2:      image(ImageV2, "stampkit-web-2", start),
		},
		versions: []launchtemplate.Version{{Number: 1, ImageID: ImageV1, InstanceType: InstanceType}},
		deflt:    1,
		param:    ImageV1,
	}
	if d, ok := ev.Detail.(*event.AMIStateChange); ok && d.ImageID != "" {
		if _, known := rs.images[d.ImageID]; !known {
			rs.images[d.ImageID] = image(d.ImageID, "stampkit-web-"+d.ImageID, start)
		}
	}
	f := &rolloutFakes{w: w, replace: inv.Replace, alarm: inv.Alarm, alarms: policy.Alarms, versions: rs.version}
	if f.alarm == "" {
		f.alarm = cwalarm.StateOK
	}
	f.groups = []*fakeGroup{f.newGroup(tc.Group, TargetGroupARN, inv.Min, inv.Max, inv.Desired)}
	if inv.Strategy == rollout.StrategyBlueGreen {
		f.groups = append(f.groups, f.newGroup(PeerGroup(tc), PeerTargetGroupARN, 0, inv.Max, 0))
	}
	store := memstore.New(w.clk)
	log, metrics := w.logger(inv.Log)
	h := &stamper.Handler{
		Config: cfg, Region: region,
		Groups: f, Templates: recordedTemplates{Templates: rolloutTemplates{rs}, w: w},
		Builds:     builds{region: ev.Region, account: ev.Account},
		Parameters: recordedParameters{Parameters: rs, w: w},
		Listeners:  f, Alarms: f, Scheduler: w,
		Store: store, Clock: w.clk, Log: log, Metrics: metrics,
	}
	record := func() (rollout.State, error) {
		data, _, err := store.Load(ctx, rollout.Key(fleetName))
		s := rollout.State{Fleet: fleetName}
		if err != nil || len(data) == 0 {
			return s, err
		}
		if err := json.Unmarshal(data, &s); err != nil {
			return s, fmt.Errorf("decoding rollout of fleet %s: %w", fleetName, err)
		}
		return s, nil
	}
	if inv.Running {
		if err := f.startRunning(ctx, h, ev); err != nil {
			return RolloutResult{}, err
		}
	}
	phase := func() string {
		s, err := record()
		if err != nil {
			return ""
		}
		return string(s.Phase)
	}
	n, err := w.drive(ctx, raw, inv.Follow, func(ctx context.Context, raw []byte) error { return h.Handle(ctx, raw) }, phase)
	res := RolloutResult{Effects: w.effects, Invocations: n, DefaultVersion: rs.deflt, Parameter: rs.param}
	if err != nil {
		return res, fmt.Errorf("invoking rollout: %w", err)
	}
	if res.State, err = record(); err != nil {
		return res, err
	}
	return res, nil
}

// eventGroup is the group an event names, if any.
func eventGroup(ev event.Event) string {
	switch d := ev.Detail.(type) {
	case *event.InstanceRefresh:
		return d.GroupName
	case *event.LifecycleAction:
		return d.GroupName
	}
	return ""
}

// startRunning rolls RunningImage out a minute before the event, by
// delivering the AMI event EC2 would have sent then. Its effects are the
// world the event meets, not the event's own: they are dropped.
func (f *rolloutFakes) startRunning(ctx context.Context, h *stamper.Handler, ev event.Event) error {
	if d, ok := ev.Detail.(*event.InstanceRefresh); ok {
		f.refreshID, f.refreshStatus = d.InstanceRefreshID, refreshStatus(ev.DetailType)
	}
	now := f.w.clk.Now()
	f.w.clk.Set(now.Add(-time.Minute))
	raw, err := json.Marshal(map[string]any{
		"version": "0", "id": "invoke-running-image", "detail-type": event.DetailTypeAMIStateChange, "source": event.SourceEC2,
		"account": account, "region": region, "time": f.w.clk.Now().UTC().Format(time.RFC3339), "resources": []string{"arn:aws:ec2:" + region + "::image/" + RunningImage},
		"detail": amiDetail{RequestID: "invoke-running-image", ImageID: RunningImage, State: event.AMIStateAvailable},
	})
	if err != nil {
		return fmt.Errorf("encoding the running rollout's image: %w", err)
	}
	if err := h.Handle(ctx, raw); err != nil {
		return fmt.Errorf("starting the running rollout: %w", err)
	}
	f.w.clk.Set(now)
	f.w.effects = nil
	// The event is about the refresh the running rollout follows: from now
	// on it has the status the event reports; one still running goes on
	// from the event.
	if r := f.refresh(f.refreshID); r != nil && f.refreshStatus != "" {
		f.settle(r, f.refreshStatus, "as the event reports")
		r.started = now
	}
	return nil
}

// refreshStatus is the status an instance refresh event reports.
func refreshStatus(detailType string) string {
	return map[string]string{
		event.DetailTypeRefreshStarted:           rollout.RefreshInProgress,
		event.DetailTypeRefreshCheckpointReached: rollout.RefreshInProgress,
		event.DetailTypeRefreshSucceeded:         rollout.RefreshSuccessful,
		event.DetailTypeRefreshFailed:            rollout.RefreshFailed,
		event.DetailTypeRefreshCancelled:         rollout.RefreshCancelled,
		event.DetailTypeRefreshRollbackStarted:   rollout.RefreshRollbackInProgress,
		event.DetailTypeRefreshRollbackSucceeded: rollout.RefreshRollbackSuccessful,
		event.DetailTypeRefreshRollbackFailed:    rollout.RefreshRollbackFailed,
	}[detailType]
}

// builds is Image Builder: every image it is asked for has one AMI,
// ImageV2 (tagged for the fleet), in the event's region and account.
type builds struct{ region, account string }

// Image reads an image build.
func (b builds) Image(_ context.Context, arn string) (imagebuilder.Image, error) {
	name, version := arn, ""
	if i := strings.Index(arn, ":image/"); i >= 0 {
		name, version, _ = strings.Cut(arn[i+len(":image/"):], "/")
	}
	return imagebuilder.Image{
		ARN: arn, Name: name, Version: version, State: "AVAILABLE",
		AMIs: []imagebuilder.AMI{{ID: ImageV2, Region: b.region, Account: b.account, Name: name, State: rollout.ImageAvailable}},
	}, nil
}

// recordedTemplates records the launch template changes of the twin's
// templates.
type recordedTemplates struct {
	stamper.Templates
	w *world
}

// CreateVersionWithImage creates (or finds) the version and records it.
func (t recordedTemplates) CreateVersionWithImage(ctx context.Context, id, source, ami, description string) (int64, error) {
	n, err := t.Templates.CreateVersionWithImage(ctx, id, source, ami, description)
	if err == nil {
		t.w.record(EffectVersionCreated, "%s version %d from version %s with %s", id, n, source, ami)
	}
	return n, err
}

// SetDefaultVersion moves the default and records it.
func (t recordedTemplates) SetDefaultVersion(ctx context.Context, id string, v int64) error {
	err := t.Templates.SetDefaultVersion(ctx, id, v)
	if err == nil {
		t.w.record(EffectDefaultVersion, "%s default version %d", id, v)
	}
	return err
}

// recordedParameters records the writes of the twin's image parameter.
type recordedParameters struct {
	stamper.Parameters
	w *world
}

// PutImage writes the parameter and records it.
func (p recordedParameters) PutImage(ctx context.Context, name, ami string) error {
	err := p.Parameters.PutImage(ctx, name, ami)
	if err == nil {
		p.w.record(EffectParameter, "%s = %s", name, ami)
	}
	return err
}
