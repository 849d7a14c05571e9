package twin

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strconv"
	"time"

	"github.com/aws/smithy-go"

	"github.com/stampkit/stampkit/shared/asg"
	"github.com/stampkit/stampkit/shared/clock"
	"github.com/stampkit/stampkit/shared/config"
	"github.com/stampkit/stampkit/shared/cwalarm"
	"github.com/stampkit/stampkit/shared/elb"
	"github.com/stampkit/stampkit/shared/event"
	"github.com/stampkit/stampkit/shared/imagebuilder"
	"github.com/stampkit/stampkit/shared/launchtemplate"
	"github.com/stampkit/stampkit/shared/logging"
	"github.com/stampkit/stampkit/shared/rollout"
	"github.com/stampkit/stampkit/shared/ssmparam"
	"github.com/stampkit/stampkit/shared/stamper"
)

// The simulated fleet's launch template, instance type, image parameter
// and images: the one it starts on and the one the pipeline publishes.
const (
	LaunchTemplateID = "lt-0a1b2c3d4e5f60718"
	InstanceType     = "c7g.large"
	ImageParameter   = "/stampkit/web/ami"
	ImageV1          = "ami-0a1b2c3d4e5f60001"
	ImageV2          = "ami-0a1b2c3d4e5f60002"
)

// ByRollout is ScalingEvent.By for the rollout handler's resizes.
const ByRollout = "rollout"

// RolloutPhase prefixes the timeline events of the rollout handler's phase
// changes ("phase refresh", "phase done").
const RolloutPhase = "phase "

// RolloutPolicy is the rolling rollout the twin's fleet runs: an instance
// refresh with cfg's healthy percentages and checkpoints, each replacement
// warmed up for cfg.RefreshWarmup, followed every minute, with the fleet's
// health alarms as its alarm specification (auto-rollback).
func RolloutPolicy(cfg Config) rollout.Policy {
	return rollout.Policy{
		Strategy: rollout.StrategyRolling, Parameter: ImageParameter,
		PollInterval: clock.Duration(time.Minute),
		Alarms:       HealthAlarms(cfg, false),
		Rolling: rollout.Rolling{
			MinHealthyPercentage: cfg.RefreshMinHealthy, MaxHealthyPercentage: cfg.RefreshMaxHealthy,
			Checkpoints: cfg.RefreshCheckpoints, CheckpointDelay: clock.Duration(cfg.RefreshCheckpointDelay),
			Warmup: clock.Duration(cfg.RefreshWarmup),
		},
	}
}

// rolloutSim runs the real rollout handler (shared/stamper) on the image
// event and serves its ports from the simulated group, launch template,
// parameter store and instance refresh. Deliveries draw their delays from
// their own random stream.
type rolloutSim struct {
	s   *sim
	h   *stamper.Handler
	fn  *lambda
	rng *rand.Rand

	images    map[string]launchtemplate.Image
	versions  []launchtemplate.Version // version n at n-1
	deflt     int64
	param     string
	refreshes []*refresh
}

// The handler's ports, served by the twin.
var (
	_ stamper.Groups     = (*rolloutSim)(nil)
	_ stamper.Templates  = rolloutTemplates{}
	_ stamper.Builds     = (*rolloutSim)(nil)
	_ stamper.Parameters = (*rolloutSim)(nil)
	_ stamper.Listeners  = (*rolloutSim)(nil)
	_ stamper.Alarms     = (*rolloutSim)(nil)
	_ stamper.Scheduler  = (*rolloutSim)(nil)
)

// rolloutPolicy is the rollout policy of the scenario's strategy: the
// fleet's own (Config.Rollout) when it has that strategy, bound to the
// twin's resources.
func (s *sim) rolloutPolicy() rollout.Policy {
	twins := RolloutPolicy(s.cfg)
	if s.sc.Strategy == rollout.StrategyBlueGreen {
		twins = BlueGreenPolicy(s.cfg)
	}
	return onTwin(s.cfg.Rollout, twins)
}

// onTwin is the fleet's own rollout policy own bound to the twin's
// resources, which twins (the twin's policy of the same strategy) names;
// twins itself when own is nil or of another strategy.
func onTwin(own *rollout.Policy, twins rollout.Policy) rollout.Policy {
	if own == nil || own.Strategy != twins.Strategy {
		return twins
	}
	p := *own
	p.Parameter, p.Alarms = twins.Parameter, twins.Alarms
	if p.Strategy == rollout.StrategyBlueGreen {
		bg := twins.BlueGreen
		bg.Steps, bg.Bake, bg.HealthTimeout, bg.Retention = p.BlueGreen.Steps, p.BlueGreen.Bake, p.BlueGreen.HealthTimeout, p.BlueGreen.Retention
		p.BlueGreen = bg
	}
	return p
}

func (s *sim) attachRollout() error {
	if err := s.attachHealthAlarms(); err != nil {
		return err
	}
	c := config.Config{Table: "twin", Namespace: config.DefaultNamespace, Fleets: []config.Fleet{{
		Name: s.cfg.fleet(), Group: s.cfg.Group, Rollout: s.rolloutPolicy(),
	}}}
	if err := c.Validate(); err != nil {
		return fmt.Errorf("rollout: %w", err)
	}
	created := s.start.Add(-30 * 24 * time.Hour)
	rs := &rolloutSim{
		s: s, rng: rand.New(rand.NewPCG(s.cfg.Seed, streamRollout)),
		images: map[string]launchtemplate.Image{
			ImageV1: {ID: ImageV1, Name: "stampkit-web-1", State: rollout.ImageAvailable, Architecture: "arm64",
				CreationDate: created, RootEncrypted: true, Tags: map[string]string{rollout.FleetTag: s.cfg.fleet()}},
		},
		versions: []launchtemplate.Version{{Number: 1, ImageID: ImageV1, InstanceType: InstanceType}},
		deflt:    1,
		param:    ImageV1,
	}
	rs.h = &stamper.Handler{
		Config: c, Region: region,
		Groups: rs, Templates: rolloutTemplates{rs}, Builds: rs, Parameters: rs, Listeners: rs, Alarms: rs, Scheduler: rs,
		// The scaler's store: the rollout's hold on the fleet reaches the
		// stampkit scaler as it does in AWS.
		Store: s.store(s.state), Clock: s, Log: s.handlerLog(s.observeRollout),
	}
	if s.cfg.HandlerLog != nil {
		rs.h.Metrics = logging.NewMetrics(s.cfg.HandlerLog, c.Namespace, s.Now)
	}
	rs.fn = s.newLambda(RolloutFunction, func(ctx context.Context, raw []byte) error { return rs.h.Handle(ctx, raw) })
	s.rollout = rs
	return nil
}

// imageBuilt is the image pipeline registering a new AMI tagged for the
// fleet: EC2 announces it with an "EC2 AMI State Change" event, which
// EventBridge routes to the rollout handler.
func (rs *rolloutSim) imageBuilt() {
	s := rs.s
	rs.images[ImageV2] = launchtemplate.Image{ID: ImageV2, Name: "stampkit-web-2", State: rollout.ImageAvailable, Architecture: "arm64",
		CreationDate: s.Now(), RootEncrypted: true, Tags: map[string]string{rollout.FleetTag: s.cfg.fleet()}}
	s.res.Rollout = append(s.res.Rollout, RolloutEvent{At: s.Now(), What: "image built", Detail: ImageV2})
	raw, err := s.bus.encode(event.DetailTypeAMIStateChange, event.SourceEC2, s.Now(),
		[]string{"arn:aws:ec2:" + region + "::image/" + ImageV2},
		amiDetail{RequestID: fmt.Sprintf("%08x-0000-4000-8000-000000000001", uint32(s.cfg.Seed)), ImageID: ImageV2, State: event.AMIStateAvailable})
	if err != nil {
		s.res.HandlerErrors = append(s.res.HandlerErrors, err.Error())
		return
	}
	rs.send("image:"+ImageV2, raw, false)
}

// OperatorPrefix prefixes the timeline event of an operator's rollout
// command ("operator abort").
const OperatorPrefix = "operator "

// command sends an operator's rollout command as "stampkit rollout" writes
// it (event.CommandBody) and EventBridge delivers a PutEvents entry of it:
// its source, detail-type and detail in a new envelope of the account.
func (rs *rolloutSim) command(c Command) {
	s := rs.s
	s.res.Rollout = append(s.res.Rollout, RolloutEvent{At: s.Now(), What: OperatorPrefix + c.Action, Detail: c.Reason})
	body, err := event.CommandBody(event.Command{Fleet: s.cfg.fleet(), Action: c.Action, Reason: c.Reason}, s.Now())
	if err != nil {
		s.res.HandlerErrors = append(s.res.HandlerErrors, err.Error())
		return
	}
	var entry struct {
		Source     string          `json:"source"`
		DetailType string          `json:"detail-type"`
		Detail     json.RawMessage `json:"detail"`
	}
	if err := json.Unmarshal(body, &entry); err != nil {
		s.res.HandlerErrors = append(s.res.HandlerErrors, fmt.Sprintf("reading the rollout command: %v", err))
		return
	}
	raw, err := s.bus.encode(entry.DetailType, entry.Source, s.Now(), []string{}, entry.Detail)
	if err != nil {
		s.res.HandlerErrors = append(s.res.HandlerErrors, err.Error())
		return
	}
	rs.send("command:"+c.Action, raw, false)
}

type amiDetail struct {
	RequestID    string `json:"RequestId"`
	ImageID      string `json:"ImageId"`
	State        string `json:"State"`
	ErrorMessage string `json:"ErrorMessage"`
}

// send puts an event for the rollout function on the bus; queued marks a
// wake-up, which comes through the function's queue.
func (rs *rolloutSim) send(key string, raw []byte, queued bool) {
	rs.s.bus.send(rs.rng, "rollout:"+key, raw, rs.fn, queued)
}

func (rs *rolloutSim) version(v string) (launchtemplate.Version, bool) {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 1 || n > int64(len(rs.versions)) {
		return launchtemplate.Version{}, false
	}
	return rs.versions[n-1], true
}

// versionOf is the launch template version an instance on image was
// launched from.
func (rs *rolloutSim) versionOf(image string) string {
	for _, v := range rs.versions {
		if v.ImageID == image {
			return strconv.FormatInt(v.Number, 10)
		}
	}
	return "1"
}

func groupNotFound(name string) error {
	return fmt.Errorf("describing auto scaling group %s: %w", name, asg.ErrNotFound)
}

// Describe reports a group with its instances, target group and launch
// template version.
func (rs *rolloutSim) Describe(ctx context.Context, name string) (asg.Group, error) {
	return callValue(rs.s, ctx, svcAutoScaling, "DescribeAutoScalingGroups", false, func() (asg.Group, error) {
		f := rs.s.group(name)
		if f == nil {
			return asg.Group{}, groupNotFound(name)
		}
		g := asg.Group{
			Name: name, Min: int32(f.min), Max: int32(f.max), Desired: int32(f.desired), TargetGroupARNs: []string{f.tg},
			LaunchTemplate: asg.LaunchTemplate{ID: LaunchTemplateID, Version: f.version},
		}
		for _, in := range f.live {
			state := asg.StateInService
			switch {
			case in.state > draining:
				// Gone, or in the warm pool, which DescribeWarmPool lists.
				continue
			case in.state == pending && in.action != "":
				state = asg.StatePendingWait
			case in.state == pending:
				state = asg.StatePending
			case in.state == draining:
				state = asg.StateTerminating
			}
			g.Instances = append(g.Instances, asg.Instance{ID: in.id(), LifecycleState: state, HealthStatus: "Healthy", LaunchTemplateVersion: rs.versionOf(in.image)})
		}
		return g, nil
	})
}

// SetLaunchTemplateVersion points a group at a version: later launches
// use its image.
func (rs *rolloutSim) SetLaunchTemplateVersion(ctx context.Context, group, lt, version string) error {
	return rs.s.call(ctx, svcAutoScaling, "UpdateAutoScalingGroup", true, func() error {
		v, ok := rs.version(version)
		f := rs.s.group(group)
		switch {
		case f == nil:
			return groupNotFound(group)
		case lt != LaunchTemplateID || !ok:
			return &smithy.GenericAPIError{Code: "ValidationError", Message: "launch template " + lt + " version " + version + " not found"}
		}
		f.version = version
		if f.refresh == nil {
			f.image = v.ImageID
		}
		return nil
	})
}

// Resize sets a group's size: the blue/green strategy sizes the new group
// and empties the old one.
func (rs *rolloutSim) Resize(ctx context.Context, group string, sz asg.Size) error {
	return rs.s.call(ctx, svcAutoScaling, "UpdateAutoScalingGroup", true, func() error {
		f := rs.s.group(group)
		if f == nil {
			return groupNotFound(group)
		}
		if sz.Min < 0 || sz.Desired < sz.Min || (sz.Max > 0 && sz.Desired > sz.Max) {
			return &smithy.GenericAPIError{Code: "ValidationError", Message: fmt.Sprintf("size min %d, max %d, desired %d of %s is inconsistent", sz.Min, sz.Max, sz.Desired, group)}
		}
		f.min = sz.Min
		if sz.Max > 0 {
			f.max = sz.Max
		}
		return f.setDesired(sz.Desired, ByRollout, "rollout resize")
	})
}

// StartInstanceRefresh starts the twin's refresh to the spec's version,
// refusing as Auto Scaling does while one runs, and refusing preferences
// it refuses (RefreshPreferences, EC2 Auto Scaling API reference):
// healthy percentages out of range or more than 100 points apart, a
// maximum without a minimum, checkpoints that do not increase to 100.
// Unset percentages take AWS's defaults, 90 and 100; a checkpoint delay
// left at zero with checkpoints set is AWS's default hour.
func (rs *rolloutSim) StartInstanceRefresh(ctx context.Context, sp asg.RefreshSpec) (string, error) {
	return callValue(rs.s, ctx, svcAutoScaling, "StartInstanceRefresh", true, func() (string, error) {
		f := rs.s.fleet
		v, ok := rs.version(sp.LaunchTemplate.Version)
		invalid := func(format string, args ...any) (string, error) {
			return "", &smithy.GenericAPIError{Code: "ValidationError", Message: fmt.Sprintf(format, args...)}
		}
		lo, hi := orDefault(sp.MinHealthy, 90), orDefault(sp.MaxHealthy, 100)
		switch {
		case sp.Group != rs.s.cfg.Group:
			return "", groupNotFound(sp.Group)
		case f.refresh != nil:
			return "", &smithy.GenericAPIError{Code: "InstanceRefreshInProgress", Message: "An Instance Refresh is already in progress and blocks the execution of this Instance Refresh."}
		case sp.LaunchTemplate.ID != LaunchTemplateID || !ok:
			return invalid("launch template %s version %s not found", sp.LaunchTemplate.ID, sp.LaunchTemplate.Version)
		case sp.MaxHealthy != nil && sp.MinHealthy == nil:
			return invalid("MinHealthyPercentage must be specified with MaxHealthyPercentage")
		case lo < 0 || lo > 100 || hi < 100 || hi > 200 || hi-lo > 100:
			return invalid("min healthy %d%% and max healthy %d%%: need 0-100 and 100-200, at most 100 apart", lo, hi)
		}
		var checkpoints []int
		for i, c := range sp.Checkpoints {
			if c < 1 || c > 100 || (i > 0 && int(c) <= checkpoints[i-1]) {
				return invalid("checkpoint percentages %v must increase within 1-100", sp.Checkpoints)
			}
			checkpoints = append(checkpoints, int(c))
		}
		if n := len(checkpoints); n > 0 && checkpoints[n-1] != 100 {
			return invalid("the last checkpoint percentage must be 100, not %d", checkpoints[n-1])
		}
		delay := sp.CheckpointDelay
		if len(checkpoints) > 0 && delay == 0 {
			delay = time.Hour
		}
		r := &refresh{
			id:    fmt.Sprintf("%08x-0000-4000-8000-%012x", uint32(rs.s.cfg.Seed), len(rs.refreshes)+1),
			image: v.ImageID, version: sp.LaunchTemplate.Version,
			minHealthy: lo, maxHealthy: hi, checkpoints: checkpoints, checkpointDelay: delay,
			warmup: time.Duration(sp.WarmupSeconds) * time.Second,
			alarms: slices.Clone(sp.AlarmNames), autoRollback: sp.AutoRollback,
		}
		rs.refreshes = append(rs.refreshes, r)
		f.startRefresh(r)
		return r.id, nil
	})
}

// refreshEnded publishes the event Auto Scaling sends when a refresh
// ends, which tells the rollout handler to look now rather than at its
// next poll.
func (rs *rolloutSim) refreshEnded(r *refresh) {
	detailType := map[string]string{
		rollout.RefreshSuccessful:         event.DetailTypeRefreshSucceeded,
		rollout.RefreshFailed:             event.DetailTypeRefreshFailed,
		rollout.RefreshCancelled:          event.DetailTypeRefreshCancelled,
		rollout.RefreshRollbackSuccessful: event.DetailTypeRefreshRollbackSucceeded,
		rollout.RefreshRollbackFailed:     event.DetailTypeRefreshRollbackFailed,
	}[r.status]
	if detailType == "" {
		return
	}
	rs.refreshEvent(r, detailType)
}

// refreshEvent publishes an instance refresh event of detailType.
func (rs *rolloutSim) refreshEvent(r *refresh, detailType string) {
	s := rs.s
	raw, err := s.bus.encode(detailType, event.SourceAutoScaling, s.Now(),
		[]string{"arn:aws:autoscaling:" + region + ":" + account + ":autoScalingGroup:twin:autoScalingGroupName/" + s.cfg.Group},
		refreshDetail{ID: r.id, Group: s.cfg.Group})
	if err != nil {
		s.res.HandlerErrors = append(s.res.HandlerErrors, err.Error())
		return
	}
	rs.send("refresh:"+r.id, raw, false)
}

type refreshDetail struct {
	ID    string `json:"InstanceRefreshId"`
	Group string `json:"AutoScalingGroupName"`
}

func (rs *rolloutSim) describe(r *refresh) asg.Refresh {
	out := asg.Refresh{ID: r.id, Group: rs.s.cfg.Group, Status: r.status, StatusReason: r.reason, InstancesToUpdate: int32(r.total - r.done),
		StartTime: rs.s.wall(r.started)}
	if r.total > 0 {
		out.PercentageComplete = int32(100 * r.done / r.total)
	}
	if r.status == rollout.RefreshSuccessful {
		out.PercentageComplete, out.InstancesToUpdate = 100, 0
	}
	if r.status != rollout.RefreshInProgress {
		out.EndTime = rs.s.wall(r.ended)
	}
	return out
}

// DescribeInstanceRefresh reads a refresh by ID.
func (rs *rolloutSim) DescribeInstanceRefresh(ctx context.Context, group, id string) (asg.Refresh, error) {
	return callValue(rs.s, ctx, svcAutoScaling, "DescribeInstanceRefreshes", false, func() (asg.Refresh, error) {
		for _, r := range rs.refreshes {
			if r.id == id && group == rs.s.cfg.Group {
				return rs.describe(r), nil
			}
		}
		return asg.Refresh{}, fmt.Errorf("describing instance refresh %s: %w", id, asg.ErrNotFound)
	})
}

// LatestInstanceRefresh reads the newest refresh of the group.
func (rs *rolloutSim) LatestInstanceRefresh(ctx context.Context, group string) (asg.Refresh, error) {
	return callValue(rs.s, ctx, svcAutoScaling, "DescribeInstanceRefreshes", false, func() (asg.Refresh, error) {
		if group != rs.s.cfg.Group || len(rs.refreshes) == 0 {
			return asg.Refresh{}, fmt.Errorf("latest instance refresh of %s: %w", group, asg.ErrNotFound)
		}
		return rs.describe(rs.refreshes[len(rs.refreshes)-1]), nil
	})
}

func noRefresh(group string) error {
	return &smithy.GenericAPIError{Code: "ActiveInstanceRefreshNotFound", Message: "No in progress or pending Instance Refresh found for Auto Scaling group " + group}
}

// CancelInstanceRefresh stops the running refresh where it is.
func (rs *rolloutSim) CancelInstanceRefresh(ctx context.Context, group string) (string, error) {
	return callValue(rs.s, ctx, svcAutoScaling, "CancelInstanceRefresh", true, func() (string, error) {
		f := rs.s.fleet
		if group != rs.s.cfg.Group || f.refresh == nil {
			return "", noRefresh(group)
		}
		id := f.refresh.id
		f.endRefresh(rollout.RefreshCancelled)
		return id, nil
	})
}

// RollbackInstanceRefresh rolls the running refresh back, as an alarm
// does with auto-rollback on.
func (rs *rolloutSim) RollbackInstanceRefresh(ctx context.Context, group string) (string, error) {
	return callValue(rs.s, ctx, svcAutoScaling, "RollbackInstanceRefresh", true, func() (string, error) {
		f := rs.s.fleet
		if group != rs.s.cfg.Group || f.refresh == nil {
			return "", noRefresh(group)
		}
		if f.refresh.rollingBack {
			return "", &smithy.GenericAPIError{Code: "IncorrectInstanceRefreshState", Message: "instance refresh " + f.refresh.id + " is already rolling back"}
		}
		f.rollback("RollbackInstanceRefresh")
		return f.refresh.id, nil
	})
}

// rolloutTemplates serves the Templates port: its Image method would
// clash with the Builds port's.
type rolloutTemplates struct{ rs *rolloutSim }

// Image reads an AMI.
func (t rolloutTemplates) Image(ctx context.Context, id string) (launchtemplate.Image, error) {
	return callValue(t.rs.s, ctx, svcEC2, "DescribeImages", false, func() (launchtemplate.Image, error) {
		im, ok := t.rs.images[id]
		if !ok {
			return launchtemplate.Image{}, fmt.Errorf("describing image %s: %w", id, launchtemplate.ErrNotFound)
		}
		return im, nil
	})
}

// Template reads the fleet's launch template.
func (t rolloutTemplates) Template(ctx context.Context, id string) (launchtemplate.Template, error) {
	return callValue(t.rs.s, ctx, svcEC2, "DescribeLaunchTemplates", false, func() (launchtemplate.Template, error) {
		if id != LaunchTemplateID {
			return launchtemplate.Template{}, fmt.Errorf("describing launch template %s: %w", id, launchtemplate.ErrNotFound)
		}
		return launchtemplate.Template{ID: id, Name: FleetName, DefaultVersion: t.rs.deflt, LatestVersion: int64(len(t.rs.versions))}, nil
	})
}

// Version reads a numbered version.
func (t rolloutTemplates) Version(ctx context.Context, id, version string) (launchtemplate.Version, error) {
	return callValue(t.rs.s, ctx, svcEC2, "DescribeLaunchTemplateVersions", false, func() (launchtemplate.Version, error) {
		v, ok := t.rs.version(version)
		if id != LaunchTemplateID || !ok {
			return launchtemplate.Version{}, fmt.Errorf("describing launch template %s version %s: %w", id, version, launchtemplate.ErrNotFound)
		}
		return v, nil
	})
}

// CreateVersionWithImage returns the same version for the same request,
// as EC2 does for a repeated client token.
func (t rolloutTemplates) CreateVersionWithImage(ctx context.Context, id, source, ami, _ string) (int64, error) {
	return callValue(t.rs.s, ctx, svcEC2, "CreateLaunchTemplateVersion", true, func() (int64, error) {
		src, ok := t.rs.version(source)
		if id != LaunchTemplateID || !ok {
			return 0, fmt.Errorf("creating a version of launch template %s from %s: %w", id, source, launchtemplate.ErrNotFound)
		}
		if i := slices.IndexFunc(t.rs.versions, func(v launchtemplate.Version) bool {
			return v.Number > src.Number && v.ImageID == ami && v.InstanceType == src.InstanceType
		}); i >= 0 {
			return t.rs.versions[i].Number, nil
		}
		n := int64(len(t.rs.versions)) + 1
		t.rs.versions = append(t.rs.versions, launchtemplate.Version{Number: n, ImageID: ami, InstanceType: src.InstanceType})
		return n, nil
	})
}

// SetDefaultVersion moves the template's default.
func (t rolloutTemplates) SetDefaultVersion(ctx context.Context, id string, v int64) error {
	return t.rs.s.call(ctx, svcEC2, "ModifyLaunchTemplate", true, func() error {
		if id != LaunchTemplateID || v < 1 || v > int64(len(t.rs.versions)) {
			return fmt.Errorf("setting default version %d of %s: %w", v, id, launchtemplate.ErrNotFound)
		}
		t.rs.deflt = v
		return nil
	})
}

// Image: the twin's pipeline publishes AMIs, never Image Builder images.
func (rs *rolloutSim) Image(ctx context.Context, arn string) (imagebuilder.Image, error) {
	return callValue(rs.s, ctx, svcImage, "GetImage", false, func() (imagebuilder.Image, error) {
		return imagebuilder.Image{}, fmt.Errorf("reading image build %s: %w", arn, imagebuilder.ErrNotFound)
	})
}

// Get reads the fleet's image parameter.
func (rs *rolloutSim) Get(ctx context.Context, name string) (string, error) {
	return callValue(rs.s, ctx, svcSSM, "GetParameter", false, func() (string, error) {
		if name != ImageParameter {
			return "", fmt.Errorf("reading parameter %s: %w", name, ssmparam.ErrNotFound)
		}
		return rs.param, nil
	})
}

// PutImage writes the fleet's image parameter.
func (rs *rolloutSim) PutImage(ctx context.Context, name, ami string) error {
	return rs.s.call(ctx, svcSSM, "PutParameter", true, func() error {
		if name != ImageParameter {
			return fmt.Errorf("writing parameter %s: %w", name, ssmparam.ErrNotFound)
		}
		rs.param = ami
		return nil
	})
}

// Put writes a plain parameter; the twin's fleets name none (their
// listener is not deployed by a template).
func (rs *rolloutSim) Put(ctx context.Context, name, _ string) error {
	return rs.s.call(ctx, svcSSM, "PutParameter", true, func() error {
		return fmt.Errorf("writing parameter %s: %w", name, ssmparam.ErrNotFound)
	})
}

// SetForwardWeights sets the blue/green listener's weights; a fleet
// without a peer has no weighted listener.
func (rs *rolloutSim) SetForwardWeights(ctx context.Context, listener string, ws []elb.Weighted) error {
	return rs.s.call(ctx, svcELB, "ModifyListener", true, func() error {
		if rs.s.lb == nil {
			return &smithy.GenericAPIError{Code: "ListenerNotFound", Message: "the twin has no weighted listener " + listener}
		}
		return rs.s.lb.set(listener, ws)
	})
}

// Forward reads the blue/green listener's weighted forward: not sticky,
// nothing else on it.
func (rs *rolloutSim) Forward(ctx context.Context, listener string) (elb.Forward, error) {
	return callValue(rs.s, ctx, svcELB, "DescribeListeners", false, func() (elb.Forward, error) {
		if rs.s.lb == nil || listener != ListenerARN {
			return elb.Forward{}, &smithy.GenericAPIError{Code: "ListenerNotFound", Message: "the twin has no weighted listener " + listener}
		}
		w := rs.s.lb.weights
		return elb.Forward{Weights: []elb.Weighted{{TargetGroupARN: TargetGroupARN, Weight: int32(w[0])}, {TargetGroupARN: PeerTargetGroupARN, Weight: int32(w[1])}}}, nil
	})
}

// TargetHealth lists the target group's targets.
func (rs *rolloutSim) TargetHealth(ctx context.Context, arn string) ([]elb.Target, error) {
	return callValue(rs.s, ctx, svcELB, "DescribeTargetHealth", false, func() ([]elb.Target, error) {
		return rs.s.targetHealth(arn)
	})
}

// Alarms reads the twin's alarms by name.
func (rs *rolloutSim) Alarms(ctx context.Context, names []string) ([]cwalarm.Alarm, error) {
	return describeAlarms{s: rs.s}.Alarms(ctx, names)
}

// WakeAt is the delayed message: at the due time a stampkit Tick goes on
// the bus to the handler.
func (rs *rolloutSim) WakeAt(ctx context.Context, key string, at time.Time) error {
	return rs.s.wakeAt(ctx, key, at, rs.send)
}

// observeRollout puts the rollout's phase changes, as the rollout handler
// logs them, on the timeline.
func (s *sim) observeRollout(r slog.Record) {
	if r.Message != "rollout step" {
		return
	}
	var from, to, outcome string
	var notes []string
	r.Attrs(func(a slog.Attr) bool {
		switch a.Key {
		case "from":
			from = a.Value.String()
		case "to":
			to = a.Value.String()
		case "outcome":
			outcome = a.Value.String()
		case "notes":
			notes, _ = a.Value.Any().([]string)
		}
		return true
	})
	if from == to {
		return
	}
	detail := "from " + from
	switch n := len(notes); {
	case n > 0:
		// The last note says why the phase changed (and how a rollout
		// ended).
		detail += ": " + notes[n-1]
	case outcome != "":
		detail += ", " + outcome
	}
	s.res.Rollout = append(s.res.Rollout, RolloutEvent{At: s.Now(), What: RolloutPhase + to, Detail: detail})
}

// outcome reads the outcome of the fleet's last rollout off its record.
func (rs *rolloutSim) outcome(ctx context.Context) string {
	data, _, err := rs.s.state.Load(ctx, rollout.Key(rs.s.cfg.fleet()))
	var st rollout.State
	if err != nil || len(data) == 0 || json.Unmarshal(data, &st) != nil {
		return ""
	}
	return string(st.Outcome)
}

// orDefault is a refresh preference as Auto Scaling applies it: the value
// sent, or AWS's default when none was (RefreshPreferences, EC2 Auto
// Scaling API reference).
func orDefault[T int | int32](p *T, def int) int {
	if p == nil {
		return def
	}
	return int(*p)
}
