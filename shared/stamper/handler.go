// Package stamper is the rollout Lambda's handler: it stamps new machine
// images into the fleets it manages, by instance refresh or blue/green, and
// rolls them back by itself. It drives the pure rollout.Step: decode the
// event, load the fleet's rollout record, observe, step, apply the actions,
// and schedule a wake-up instead of waiting.
//
// Events: an Image Builder image or an AMI becoming available offers the
// image to every fleet it matches (after rollout.Check); Auto Scaling
// instance refresh events and stampkit Ticks (delayed SQS messages) step a
// running rollout; stampkit "Rollout Command" events pause, resume, abort or
// promote it. A build that failed is logged and counted, never rolled out.
// A CloudFormation update of a blue/green fleet's listener, which writes the
// template's weights back, is answered by setting the weights the rollout
// record implies.
//
// State: one record per fleet under rollout.Key, saved with a version
// check; every effect on a fleet holds the fleet's lease (LeaseKey), so two
// invocations never act on one fleet at once. The scaler reads the same
// record: while a rollout runs it pauses scale-in and scales the group
// State.Serving names, until rollout.HoldGrace past the next wake-up, so a
// rollout whose function stopped releases the fleet by itself.
//
// Effects are idempotent setters (weights, sizes, default version,
// parameter) or made idempotent (the launch template version by a client
// token derived from its content, a refresh already running is followed
// instead of started twice), so a retry after a failure part-way through
// a step repeats it safely; the state is saved only after the step's
// actions are applied.
package stamper

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/stampkit/stampkit/shared/awserr"
	"github.com/stampkit/stampkit/shared/clock"
	"github.com/stampkit/stampkit/shared/config"
	"github.com/stampkit/stampkit/shared/event"
	"github.com/stampkit/stampkit/shared/imagebuilder"
	"github.com/stampkit/stampkit/shared/invocation"
	"github.com/stampkit/stampkit/shared/launchtemplate"
	"github.com/stampkit/stampkit/shared/logging"
	"github.com/stampkit/stampkit/shared/rollout"
)

// ClaimTTL is how long a claim outlives its effect. EventBridge retries a
// delivery for up to 24 hours, so a duplicate can arrive that late.
const ClaimTTL = 25 * time.Hour

// maxInlineSteps bounds the steps one invocation takes when a step is due
// at once (it needs an action's result or a fresh look).
const maxInlineSteps = 6

// Handler is the rollout Lambda's handler.
type Handler struct {
	Config config.Config
	// Region is the function's region: an Image Builder image is rolled out
	// as its AMI there.
	Region     string
	Groups     Groups
	Templates  Templates
	Builds     Builds
	Parameters Parameters
	// Waves reads the wave parameter of the stamp before this one; only
	// fleets with a rollout.Wave that names one need it.
	Waves     WaveLogs
	Listeners Listeners
	Alarms    Alarms
	Scheduler Scheduler
	Store     Store
	Clock     clock.Clock
	Log       *slog.Logger
	Metrics   *logging.Metrics
	// LeaseWait is how long an effect waits for the fleet's lease held by
	// another invocation; zero means DefaultLeaseWait.
	LeaseWait time.Duration

	resources resourceCache
}

// Handle processes one invocation payload. Malformed input is an error;
// other kinds are logged and ignored.
func (h *Handler) Handle(ctx context.Context, raw json.RawMessage) error {
	return invocation.Each(ctx, h.Log, raw, h.handleEvent)
}

func (h *Handler) handleEvent(ctx context.Context, ev event.Event) error {
	if _, tick := ev.Detail.(*event.Tick); ev.Via != "" && !tick {
		// Only the function's own wake-ups come through a queue. Every event
		// that steers a rollout comes from a rule: commands and image-ready
		// events from the command bus, whose policy names who may send them;
		// taken from the wake-up queue, anyone allowed to send to it could
		// abort or promote.
		h.Log.WarnContext(ctx, "refusing an event carried by a queue or topic: only wake-ups come that way",
			"via", ev.Via, "source", ev.Source, "detail_type", ev.DetailType, "event_id", ev.ID)
		h.emit(ctx, nil, logging.Metric{Name: "EventsRefused", Value: 1, Unit: logging.Count})
		return nil
	}
	switch d := ev.Detail.(type) {
	case *event.ImageStateChange:
		return h.onBuild(ctx, ev, d)
	case *event.AMIStateChange:
		return h.onAMI(ctx, ev, d)
	case *event.ImageReady:
		return h.onReady(ctx, ev, d)
	case *event.InstanceRefresh:
		return h.onRefresh(ctx, ev, d)
	case *event.Command:
		return h.onCommand(ctx, ev, d)
	case *event.ResourceStatusChange:
		return h.onStackResource(ctx, ev, d)
	case *event.Tick:
		if !strings.HasPrefix(d.Key, rollout.KeyPrefix) {
			h.Log.InfoContext(ctx, "ignoring tick for another handler", "key", d.Key)
			return nil
		}
		return h.onTick(ctx, d)
	default:
		h.Log.InfoContext(ctx, "ignoring event the rollout handler does not handle", "source", ev.Source, "detail_type", ev.DetailType)
		return nil
	}
}

func (h *Handler) onBuild(ctx context.Context, ev event.Event, d *event.ImageStateChange) error {
	ctx = logging.With(ctx, "image_arn", d.ImageARN, "image_state", d.State)
	switch d.State {
	case event.ImageStatusAvailable:
	case event.ImageStatusFailed, event.ImageStatusCancelled:
		h.Log.WarnContext(ctx, "image build did not succeed: nothing rolled out", "reason", d.Reason)
		h.emit(ctx, nil, logging.Metric{Name: "ImageBuildsFailed", Value: 1, Unit: logging.Count})
		return nil
	default:
		h.Log.DebugContext(ctx, "ignoring image build in progress")
		return nil
	}
	b, err := h.Builds.Image(ctx, d.ImageARN)
	if errors.Is(err, imagebuilder.ErrNotFound) {
		// Image Builder reports every image in the account: one distributed
		// only to other regions, or a container image, has no AMI here.
		// Retrying cannot change that; an AMI that does appear here has its
		// own "EC2 AMI State Change" event.
		h.Log.WarnContext(ctx, "image build has no AMI in this region: nothing rolled out", "error", err)
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading image build %s: %w", d.ImageARN, err)
	}
	region := h.regionOf(ev)
	ami, ok := b.AMIIn(region, ev.Account)
	if !ok {
		h.Log.WarnContext(ctx, "image build has no AMI in this region: nothing rolled out", "region", region, "amis", len(b.AMIs))
		return nil
	}
	img, found, err := h.image(ctx, ami.ID, ev.Time)
	if err != nil || !found {
		return err
	}
	// The AMI carries what matches it to a fleet: the tags its
	// distribution configuration gives it (the CDK app's pipelines tag
	// the fleet).
	img.Source = b.ARN
	return h.offerAll(ctx, img)
}

func (h *Handler) onAMI(ctx context.Context, ev event.Event, d *event.AMIStateChange) error {
	ctx = logging.With(ctx, "image_id", d.ImageID, "image_state", d.State)
	switch d.State {
	case event.AMIStateAvailable:
	case event.AMIStateFailed:
		h.Log.WarnContext(ctx, "AMI failed: nothing rolled out", "reason", d.ErrorMessage)
		h.emit(ctx, nil, logging.Metric{Name: "ImageBuildsFailed", Value: 1, Unit: logging.Count})
		return nil
	default:
		h.Log.DebugContext(ctx, "ignoring AMI state")
		return nil
	}
	img, found, err := h.image(ctx, d.ImageID, ev.Time)
	if err != nil || !found {
		return err
	}
	if arn := img.Tags[imagebuilder.ARNTag]; arn != "" && builtHere(arn, h.regionOf(ev), ev.Account) {
		// EC2 says "available" before Image Builder's test stage has run;
		// the pipeline's own AVAILABLE event comes after its tests, and
		// rolls the image out then. A copy distributed here from another
		// region or account was tested before it was distributed, and
		// the pipeline's event stays where the pipeline runs: this is
		// the only event it gets here.
		h.Log.InfoContext(ctx, "ignoring AMI of an Image Builder image built here: it rolls out once the pipeline has tested it", "image_arn", arn)
		return nil
	}
	return h.offerAll(ctx, img)
}

// regionOf is the region an event happened in: its own, or the function's.
func (h *Handler) regionOf(ev event.Event) string {
	if ev.Region != "" {
		return ev.Region
	}
	return h.Region
}

// builtHere reports whether an Image Builder image ARN
// (arn:aws:imagebuilder:REGION:ACCOUNT:image/…) names region and account;
// an account not known (empty) matches any.
func builtHere(arn, region, account string) bool {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) < 6 {
		return true
	}
	return parts[3] == region && (account == "" || parts[4] == account)
}

// onReady rolls out an AMI a bake tool marked ready (baked, tagged and
// tested), such as the Packer build's last step.
func (h *Handler) onReady(ctx context.Context, ev event.Event, d *event.ImageReady) error {
	ctx = logging.With(ctx, "image_id", d.ImageID)
	img, found, err := h.image(ctx, d.ImageID, ev.Time)
	if err != nil || !found {
		return err
	}
	return h.offerAll(ctx, img)
}

// imageSettle is how long after its event an AMI not found may still be
// one EC2 does not describe yet (its API is eventually consistent:
// "Eventual consistency in the Amazon EC2 API"): the delivery fails and
// is retried. Later, it is gone.
const imageSettle = 5 * time.Minute

// image reads an AMI as the rollout checks it. An AMI that no longer
// exists (deregistered before its event was handled, or a late or replayed
// event) is logged and reported not found: no retry can bring it back.
func (h *Handler) image(ctx context.Context, amiID string, announced time.Time) (rollout.Image, bool, error) {
	im, err := h.Templates.Image(ctx, amiID)
	if errors.Is(err, launchtemplate.ErrNotOwned) {
		h.Log.WarnContext(ctx, "image owned by another account: nothing rolled out; copy it into this account", "image_id", amiID, "error", err)
		h.emit(ctx, nil, logging.Metric{Name: "ImagesRefused", Value: 1, Unit: logging.Count})
		return rollout.Image{}, false, nil
	}
	if errors.Is(err, launchtemplate.ErrNotFound) && h.Clock.Now().Sub(announced) < imageSettle {
		return rollout.Image{}, false, fmt.Errorf("reading image %s announced at %s: %w", amiID, announced.UTC().Format(time.RFC3339), err)
	}
	if errors.Is(err, launchtemplate.ErrNotFound) {
		h.Log.WarnContext(ctx, "image no longer exists: nothing rolled out", "image_id", amiID, "error", err)
		h.emit(ctx, nil, logging.Metric{Name: "ImagesNotFound", Value: 1, Unit: logging.Count})
		return rollout.Image{}, false, nil
	}
	if err != nil {
		return rollout.Image{}, false, fmt.Errorf("reading image %s: %w", amiID, err)
	}
	return rolloutImage(im), true, nil
}

func rolloutImage(im launchtemplate.Image) rollout.Image {
	return rollout.Image{
		ID: im.ID, Name: im.Name, State: im.State, Architecture: im.Architecture,
		Created: im.CreationDate, RootEncrypted: im.RootEncrypted, Tags: im.Tags,
	}
}

// offerAll offers img to every fleet it is meant for.
func (h *Handler) offerAll(ctx context.Context, img rollout.Image) error {
	ctx = logging.With(ctx, "image_id", img.ID)
	var errs []error
	matched := false
	for _, name := range h.Config.FleetNames() {
		// A fleet that cannot be read (a fleets file decodes each on
		// first use: config.Config.FleetByName) is that fleet's error,
		// and the image still reaches the others.
		fleet, _, err := h.Config.FleetByName(name)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if !fleet.Rollout.Matches(fleet.Name, img) {
			continue
		}
		matched = true
		fctx := logging.With(ctx, "fleet", fleet.Name)
		key := "rollout-image#" + fleet.Name + "#" + img.ID
		if img.Forced() {
			// Tagging an image to force it (a rolled-back one, an older
			// one) and replaying its event must not meet the claim of
			// the delivery that refused it.
			key += "#forced"
		}
		err = h.once(fctx, fleet.Name, key, func() error {
			return h.offer(fctx, fleet, img)
		})
		if err != nil {
			errs = append(errs, err)
		}
	}
	if !matched {
		h.Log.InfoContext(ctx, "ignoring image meant for no fleet", "image_name", img.Name, "source", img.Source)
	}
	return errors.Join(errs...)
}

// offer checks img against the fleet and applies the newer-image rule.
func (h *Handler) offer(ctx context.Context, fleet config.Fleet, img rollout.Image) error {
	fleet, err := h.withResources(ctx, fleet)
	if err != nil {
		return err
	}
	p := fleet.Rollout
	s, version, err := h.load(ctx, fleet.Name)
	if err != nil {
		return err
	}
	base, cur, err := h.baseline(ctx, fleet, s.Serving(fleet.Group))
	if err != nil {
		return err
	}
	reasons := rollout.Check(p, img, cur)
	starts := !s.Active() || s.Phase == rollout.PhaseRetain
	if len(reasons) == 0 && p.Strategy == rollout.StrategyBlueGreen && starts {
		if reasons, err = h.listenerUnfit(ctx, fleet, s); err != nil {
			return err
		}
	}
	if len(reasons) > 0 {
		h.Log.WarnContext(ctx, "image rejected: nothing changes", "reasons", reasons, "current_image", base.Image)
		h.emit(ctx, &fleet, logging.Metric{Name: "ImagesRejected", Value: 1, Unit: logging.Count})
		return h.passBy(ctx, fleet, s, version, img, rollout.WaveRejected, strings.Join(reasons, "; "), false)
	}
	waited := s.Wave != nil
	s, pass, err := h.gate(ctx, fleet, s, version, img)
	if !pass || err != nil {
		return err
	}
	// What the gate cleared goes on record even when nothing starts.
	keep := func() error {
		if waited {
			return h.store(ctx, fleet, s, version)
		}
		return nil
	}
	now := h.Clock.Now()
	next, verdict, why := rollout.Offer(p, s, img, now)
	ctx = logging.With(ctx, "verdict", verdict)
	switch verdict {
	case rollout.Duplicate:
		h.Log.InfoContext(ctx, "image not rolled out", "reason", why, "rollout_id", s.ID)
		return keep()
	case rollout.Stale:
		h.Log.InfoContext(ctx, "image not rolled out", "reason", why, "rollout_id", s.ID)
		return h.passBy(ctx, fleet, s, version, img, rollout.WaveSuperseded, why, waited)
	case rollout.Queued:
		h.Log.InfoContext(ctx, "image queued behind the running rollout", "reason", why, "rollout_id", s.ID)
		h.emit(ctx, &fleet, logging.Metric{Name: "ImagesQueued", Value: 1, Unit: logging.Count})
		return h.save(ctx, fleet, next, version)
	case rollout.Superseding:
		h.Log.InfoContext(ctx, "newer image supersedes the running rollout", "reason", why, "rollout_id", s.ID)
		h.emit(ctx, &fleet, logging.Metric{Name: "ImagesQueued", Value: 1, Unit: logging.Count})
		return h.run(ctx, fleet, next, version)
	}
	if fleet.DryRun {
		h.Log.InfoContext(ctx, "dry run: rollout not started", "strategy", p.Strategy, "from_image", base.Image,
			"launch_template", base.LaunchTemplate, "group_version", base.GroupVersion)
		return h.passBy(ctx, fleet, s, version, img, rollout.WaveSkipped, "dry run", waited)
	}
	if err := h.run(ctx, fleet, rollout.Begin(p, s, fleet.Group, img, base, now), version); err != nil {
		return err
	}
	h.emit(ctx, &fleet, logging.Metric{Name: "RolloutsStarted", Value: 1, Unit: logging.Count})
	return nil
}

func (h *Handler) onRefresh(ctx context.Context, ev event.Event, d *event.InstanceRefresh) error {
	ctx = logging.With(ctx, "asg_name", d.GroupName, "refresh_id", d.InstanceRefreshID, "refresh_status", d.Status)
	fleet, ok, err := h.Config.FleetByGroup(d.GroupName)
	if err != nil {
		return err
	}
	if !ok || !fleet.Rollout.Enabled() {
		h.Log.InfoContext(ctx, "ignoring instance refresh of a group no rollout manages")
		return nil
	}
	ctx = logging.With(ctx, "fleet", fleet.Name)
	return h.once(ctx, fleet.Name, "rollout-event#"+ev.ID, func() error {
		s, version, err := h.load(ctx, fleet.Name)
		if err != nil {
			return err
		}
		if !s.Active() || s.RefreshID != d.InstanceRefreshID {
			h.Log.InfoContext(ctx, "ignoring instance refresh the rollout does not follow", "rollout_id", s.ID, "followed", s.RefreshID)
			return nil
		}
		// The event only says "look now": Auto Scaling events are best
		// effort and unordered, so the step reads the refresh itself.
		return h.run(ctx, fleet, s, version)
	})
}

func (h *Handler) onCommand(ctx context.Context, ev event.Event, c *event.Command) error {
	ctx = logging.With(ctx, "fleet", c.Fleet, "command", c.Action, "reason", c.Reason)
	fleet, ok, err := h.Config.FleetByName(c.Fleet)
	if err != nil {
		return err
	}
	if !ok {
		h.Log.WarnContext(ctx, "ignoring rollout command for an unknown fleet")
		return nil
	}
	return h.once(ctx, fleet.Name, "rollout-command#"+ev.ID, func() error {
		s, version, err := h.load(ctx, fleet.Name)
		if err != nil {
			return err
		}
		next, err := rollout.Control(fleet.Rollout, s, rollout.Command(c.Action), c.Reason, h.Clock.Now())
		if err != nil {
			// An operator error, not a fault: retrying cannot help.
			h.Log.WarnContext(ctx, "rollout command refused", "error", err, "rollout_id", s.ID, "phase", s.Phase)
			return nil
		}
		h.Log.InfoContext(ctx, "rollout command accepted", "rollout_id", s.ID, "phase", s.Phase)
		h.emit(ctx, &fleet, logging.Metric{Name: "Commands", Value: 1, Unit: logging.Count})
		return h.run(ctx, fleet, next, version)
	})
}

func (h *Handler) onTick(ctx context.Context, t *event.Tick) error {
	name := strings.TrimPrefix(t.Key, rollout.KeyPrefix)
	if fleet, ok := waveFleet(name); ok {
		return h.onWaveTick(ctx, fleet, t)
	}
	ctx = logging.With(ctx, "fleet", name, "due_at", t.At)
	fleet, ok, err := h.Config.FleetByName(name)
	if err != nil {
		return err
	}
	if !ok {
		h.Log.WarnContext(ctx, "ignoring wake-up of an unknown fleet")
		return nil
	}
	s, version, err := h.load(ctx, fleet.Name)
	if err != nil {
		return err
	}
	switch {
	case !s.Active():
		h.Log.InfoContext(ctx, "ignoring wake-up: no rollout running", "outcome", s.Outcome)
		return nil
	case invocation.AheadOfRecord(t, s.WakeAt, h.Clock.Now()):
		return fmt.Errorf("rollout of fleet %s recorded its wake-up for %s: %w", fleet.Name, s.WakeAt.UTC().Format(time.RFC3339Nano), invocation.ErrAheadOfRecord)
	case !t.At.Equal(s.WakeAt):
		h.Log.InfoContext(ctx, "ignoring stale wake-up", "wake_at", s.WakeAt)
		return nil
	}
	if early, err := invocation.ForwardEarly(ctx, h.Log, h.Scheduler, h.Clock.Now(), t); early || err != nil {
		return err
	}
	// The record's version is part of the claim: a wake-up acted on within
	// EarlyTolerance of its time may find the wait not quite over and
	// schedule the same time again, and that second wake-up must not meet
	// the first one's claim.
	key := fmt.Sprintf("rollout-tick#%s@%s#v%d", fleet.Name, t.At.UTC().Format(time.RFC3339Nano), version)
	return h.once(ctx, fleet.Name, key, func() error {
		// Read again under the lease: another invocation may have moved
		// the rollout on since.
		s, version, err := h.load(ctx, fleet.Name)
		if err != nil {
			return err
		}
		if !s.Active() || !t.At.Equal(s.WakeAt) {
			h.Log.InfoContext(ctx, "ignoring wake-up: the rollout moved on", "wake_at", s.WakeAt, "outcome", s.Outcome)
			return nil
		}
		return h.run(ctx, fleet, s, version)
	})
}

// once runs effect unless another delivery already claimed key, holding
// the fleet's lease (LeaseKey) while it does: every effect reads the
// rollout record, calls AWS, then saves the record with a version check,
// and the check alone would let two invocations (two images at once, an
// abort during a tick) both act before either saves. A fleet another
// invocation holds fails the delivery with invocation.ErrBusy; its retry
// finds it free.
func (h *Handler) once(ctx context.Context, fleet, key string, effect func() error) error {
	return h.report().Once(ctx, h.Store, ClaimTTL, fleet, key, func() error {
		err := invocation.Lease(ctx, h.Store, LeaseKey(fleet), h.leaseWait(), effect)
		if awserr.IsNotFound(err) {
			// Perhaps a listener or target group replaced since its ARNs
			// were read: the retry reads them again.
			h.resources.forget(fleet)
		}
		if errors.Is(err, invocation.ErrBusy) {
			h.Log.WarnContext(ctx, "fleet busy with another rollout invocation: retrying later", "claim", key)
			h.report().Emit(ctx, fleet, logging.Metric{Name: "Busy", Value: 1, Unit: logging.Count})
		}
		return err
	})
}

// DefaultLeaseWait is how long a rollout effect waits for its fleet's
// lease: most steps take seconds, and a delivery that gives up is retried
// only twice (EventBridge) or after the queue's visibility timeout.
const DefaultLeaseWait = 15 * time.Second

func (h *Handler) leaseWait() time.Duration {
	if h.LeaseWait > 0 {
		return h.LeaseWait
	}
	return DefaultLeaseWait
}

// LeaseKey is the store key of a fleet's rollout lease.
func LeaseKey(fleet string) string { return "rollout-lease#" + fleet }

// load reads the fleet's rollout record; a fleet that never had one gets a
// fresh state.
func (h *Handler) load(ctx context.Context, fleet string) (rollout.State, int64, error) {
	data, version, err := h.Store.Load(ctx, rollout.Key(fleet))
	if err != nil {
		return rollout.State{}, 0, fmt.Errorf("loading rollout of fleet %s: %w", fleet, err)
	}
	s := rollout.State{Fleet: fleet}
	if len(data) > 0 {
		if err := json.Unmarshal(data, &s); err != nil {
			return rollout.State{}, 0, fmt.Errorf("decoding rollout of fleet %s: %w", fleet, err)
		}
	}
	return s, version, nil
}

// emit writes metrics for fleet (nil: none).
func (h *Handler) emit(ctx context.Context, fleet *config.Fleet, ms ...logging.Metric) {
	name := ""
	if fleet != nil {
		name = fleet.Name
	}
	h.report().Emit(ctx, name, ms...)
}

func (h *Handler) report() invocation.Reporter {
	return invocation.Reporter{Log: h.Log, Metrics: h.Metrics}
}

// listenerUnfit returns why a blue/green fleet's listener cannot take a
// weighted shift, before anything changes: a sticky forward keeps clients
// on the group being emptied (weights move only new clients); a target
// group other than the fleet's two would lose its traffic at the first
// step; and traffic on the idle side (left by hand, or by a rollout an
// operator has not settled) would go to a group the stamp empties.
func (h *Handler) listenerUnfit(ctx context.Context, fleet config.Fleet, s rollout.State) ([]string, error) {
	p := fleet.Rollout
	bg := p.BlueGreen
	fw, err := h.Listeners.Forward(ctx, bg.Listener)
	if err != nil {
		return nil, fmt.Errorf("reading listener %s: %w", bg.Listener, err)
	}
	var why []string
	if fw.Sticky {
		why = append(why, fmt.Sprintf("listener %s forwards with target group stickiness: weights would move only new clients; turn it off for blue/green", bg.Listener))
	}
	_, idle := p.Sides(fleet.Group, s.Live)
	if s.Phase == rollout.PhaseRetain {
		idle = s.From // the retention ends as the new rollout begins
	}
	for _, w := range fw.Weights {
		switch {
		case w.TargetGroupARN != bg.TargetGroup && w.TargetGroupARN != bg.PeerTargetGroup:
			why = append(why, fmt.Sprintf("listener %s also forwards to %s, which a weight shift would drop", bg.Listener, w.TargetGroupARN))
		case w.TargetGroupARN == idle.TargetGroup && w.Weight > 0:
			why = append(why, fmt.Sprintf("listener %s sends weight %d to %s, the idle side the new image would be stamped on; move it to the serving side first", bg.Listener, w.Weight, w.TargetGroupARN))
		}
	}
	return why, nil
}
