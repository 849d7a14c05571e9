// Package rollout decides how a fleet moves onto a new machine image: the
// stamp pattern made automatic. A new AMI is checked, stamped into a
// numbered launch template version and rolled out either by an Auto Scaling
// instance refresh (rolling) or by a second group behind the same ALB
// listener that takes traffic in weighted steps (blue/green); any failure
// rolls the fleet back to the image it had.
//
// It is pure, like the scaling and lifecycle packages: Step takes the
// policy, the fleet's rollout state and what the handler observed, and
// returns the actions to apply, the next state and when to step again. No
// I/O, no SDK types, time passed in. The waits (bake time, health, refresh
// progress) are durable and done elsewhere: the handler schedules a wake-up
// and returns.
//
// # One rollout per fleet; a newer image
//
// A fleet's State is one record in the state table, saved with a version
// check; the rollout handler also holds a per-fleet lease while it acts,
// so two invocations never act on one fleet at once. An image that
// arrives while a rollout runs is handled by Offer with one rule, "newest
// waits, one deep": the newer image is queued (replacing an older queued
// one, which is dropped) and starts when the running rollout ends,
// whatever its outcome, after being checked again against the image the
// fleet then runs. With OnNewer "supersede" the running rollout is also
// aborted, which rolls it back first. An image not newer than the running
// or queued one is stale and ignored, as is an image one of the fleet's
// last rollouts rolled back (State.RolledBack); ForceTag overrides both. A
// rollout that is only retaining its old group (blue/green, already
// promoted) ends the retention early and lets the new image start at once.
package rollout

import (
	"errors"
	"fmt"
	"time"

	"github.com/stampkit/stampkit/shared/clock"
)

// Strategy says how the fleet is moved onto a new image.
type Strategy string

// Strategies.
const (
	// StrategyRolling replaces the group's instances in place with an Auto
	// Scaling instance refresh (auto-rollback on, the fleet's alarms as its
	// alarm specification).
	StrategyRolling Strategy = "rolling"
	// StrategyBlueGreen brings up the peer group on the new image and shifts
	// the listener's weighted forward action to it in steps.
	StrategyBlueGreen Strategy = "bluegreen"
)

// NewerRule says what a newer image does to a running rollout.
type NewerRule string

// Newer-image rules.
const (
	// Queue lets the running rollout finish; the newest image waits.
	Queue NewerRule = "queue"
	// Supersede aborts the running rollout (rolling it back) and starts the
	// newest image once the rollback is done.
	Supersede NewerRule = "supersede"
)

// FleetTag is the image tag that names the fleet an image is for; an image
// carrying it with the fleet's name always matches the fleet.
const FleetTag = "stampkit:fleet"

// ForceTag, set to "true" on an image, lets it replace a newer image (a
// deliberate downgrade).
const ForceTag = "stampkit:force"

// Defaults applied by WithDefaults.
const (
	DefaultPollInterval  = time.Minute
	DefaultBake          = 5 * time.Minute
	DefaultHealthTimeout = 15 * time.Minute
	DefaultRetention     = time.Hour
	DefaultBlindTimeout  = 15 * time.Minute
)

// DefaultSteps returns the blue/green steps used when a policy sets none:
// percent of the listener's traffic sent to the new group.
func DefaultSteps() []int { return []int{10, 50, 100} }

// Policy is one fleet's rollout policy. The zero Policy turns rollouts off:
// images for the fleet are logged and ignored.
type Policy struct {
	// Strategy is StrategyRolling or StrategyBlueGreen; left out,
	// rollouts are off.
	Strategy Strategy `json:"strategy,omitempty"`
	// Match says which images are meant for the fleet, besides those tagged
	// FleetTag=<fleet name>.
	Match Match `json:"match,omitzero"`
	// Parameter is the SSM parameter that holds the fleet's current AMI ID,
	// the one the CDK app resolves at deploy time: a later deploy then keeps
	// the image the rollout put in place.
	Parameter string `json:"parameter,omitempty"`
	// Checks are what a new image must pass before it rolls out.
	Checks Checks `json:"checks,omitzero"`
	// OnNewer is Queue (the default) or Supersede.
	OnNewer NewerRule `json:"onNewer,omitempty"`
	// Alarms are the fleet's health alarms (5xx, latency, unhealthy hosts):
	// the instance refresh's alarm specification, and what a blue/green
	// bake watches.
	Alarms []string `json:"alarms,omitempty"`
	// PollInterval is how often a running rollout looks at the refresh, the
	// target health and the alarms between events.
	PollInterval clock.Duration `json:"pollInterval,omitempty"`
	// BlindTimeout bounds how long a rollout goes on without seeing what
	// it follows (a refresh that cannot be described, a group that cannot
	// be read): then it rolls back, or ends Failed if it already was.
	BlindTimeout clock.Duration `json:"blindTimeout,omitempty"`
	// Rolling tunes a rolling rollout's instance refresh.
	Rolling Rolling `json:"rolling,omitzero"`
	// BlueGreen tunes a blue/green rollout's traffic shift.
	BlueGreen BlueGreen `json:"blueGreen,omitzero"`
	// Wave, filled in by the stack of an app of several stamps, places
	// the fleet in the wave its image rolls out in (wave.go).
	Wave *Wave `json:"wave,omitempty"`
}

// Match selects the images meant for a fleet. An image matches when its
// FleetTag names the fleet, or when it carries every tag in Tags (a
// non-empty Tags). Both are AMI tags: an Image Builder pipeline's images
// carry what its distribution configuration's amiTags say.
type Match struct {
	// Tags an image must all carry, with these values, to match.
	Tags map[string]string `json:"tags,omitempty"`
}

// Checks configures the validation of a new image (see Check).
type Checks struct {
	// RequiredTags must be present, with a value, on the image.
	RequiredTags []string `json:"requiredTags,omitempty"`
	// Architecture, when set, is what the image must be ("arm64",
	// "x86_64"); otherwise it is derived from the launch template's
	// instance type.
	Architecture string `json:"architecture,omitempty"`
	// AllowUnencryptedRoot accepts an image whose root volume snapshot is
	// not encrypted.
	AllowUnencryptedRoot bool `json:"allowUnencryptedRoot,omitempty"`
	// AllowOlder accepts an image created before the fleet's current one
	// (otherwise only an image tagged ForceTag=true may).
	AllowOlder bool `json:"allowOlder,omitempty"`
}

// Rolling holds the instance refresh preferences. What is left out leaves
// the AWS default (min healthy 90 %, max healthy 100 %, warm-up = the
// group's health check grace period). Auto-rollback is always on.
type Rolling struct {
	// MinHealthyPercentage and MaxHealthyPercentage are sent as written,
	// 0 included (0 replaces every instance at once); nil leaves AWS's
	// default. AWS refuses a maximum without a minimum
	// (RefreshPreferences, EC2 Auto Scaling API reference).
	MinHealthyPercentage *int `json:"minHealthyPercentage,omitempty"`
	MaxHealthyPercentage *int `json:"maxHealthyPercentage,omitempty"`
	// Warmup is how long a new instance runs before the refresh counts it
	// healthy (default: the group's health check grace period).
	Warmup clock.Duration `json:"warmup,omitempty"`
	// Checkpoints are percentages of the group replaced at which the
	// refresh pauses for CheckpointDelay; AWS requires the last to be 100.
	Checkpoints     []int          `json:"checkpoints,omitempty"`
	CheckpointDelay clock.Duration `json:"checkpointDelay,omitempty"`
	// ReplaceMatching replaces instances already on the new version too;
	// by default they are skipped, which is also what lets a paused
	// refresh resume where it stopped.
	ReplaceMatching bool `json:"replaceMatching,omitempty"`
}

// BlueGreen describes the second group and the listener of a blue/green
// fleet. The fleet's configured group and PeerGroup take turns: the one
// serving is blue, the other green; a successful rollout swaps them.
type BlueGreen struct {
	// Listener is the ALB listener whose default forward action carries
	// both target groups.
	Listener string `json:"listener,omitempty"`
	// TargetGroup is the target group of the fleet's configured group.
	TargetGroup string `json:"targetGroup,omitempty"`
	// PeerGroup is the other Auto Scaling group and PeerTargetGroup its
	// target group.
	PeerGroup       string `json:"peerGroup,omitempty"`
	PeerTargetGroup string `json:"peerTargetGroup,omitempty"`
	// Steps are the percentages of traffic sent to green, increasing and
	// ending at 100 (default 10, 50, 100).
	Steps []int `json:"steps,omitempty"`
	// Bake is how long each step holds while the alarms are watched.
	Bake clock.Duration `json:"bake,omitempty"`
	// HealthTimeout bounds the wait for every green target to be healthy.
	HealthTimeout clock.Duration `json:"healthTimeout,omitempty"`
	// Retention is how long the old group is kept (at zero instances, its
	// launch template version intact) after a promotion, the window in
	// which an abort brings it back.
	Retention clock.Duration `json:"retention,omitempty"`
	// ResourcesParameter, instead of Listener, TargetGroup and
	// PeerTargetGroup, names the SSM parameter holding the three ARNs as
	// Resources JSON. A configuration written before the stack exists (the
	// fleets file the CDK app bundles with the function's code) cannot
	// hold them; CloudFormation writes the parameter at deploy time, and
	// the rollout function reads it when a rollout first needs them.
	ResourcesParameter string `json:"resourcesParameter,omitempty"`
	// WeightParameters, when set, name the SSM parameters the rollout
	// writes each target group's listener weight to before it sets the
	// weights. The CDK app's listener reads its weights from them, so a
	// deploy that updates the listener writes the live weights, not the
	// ones the template was synthesized with.
	WeightParameters WeightParameters `json:"weightParameters,omitzero"`
}

// WeightParameters name the SSM parameters holding the live listener
// weight of the fleet's configured target group and of its peer.
type WeightParameters struct {
	TargetGroup     string `json:"targetGroup,omitempty"`
	PeerTargetGroup string `json:"peerTargetGroup,omitempty"`
}

// Enabled reports whether the policy rolls images out.
func (p Policy) Enabled() bool { return p.Strategy != "" }

// WithDefaults fills in what the policy leaves out.
func (p Policy) WithDefaults() Policy {
	if p.OnNewer == "" {
		p.OnNewer = Queue
	}
	if p.PollInterval <= 0 {
		p.PollInterval = clock.Duration(DefaultPollInterval)
	}
	if p.BlindTimeout <= 0 {
		p.BlindTimeout = clock.Duration(DefaultBlindTimeout)
	}
	bg := &p.BlueGreen
	if len(bg.Steps) == 0 {
		bg.Steps = DefaultSteps()
	}
	if bg.Bake <= 0 {
		bg.Bake = clock.Duration(DefaultBake)
	}
	if bg.HealthTimeout <= 0 {
		bg.HealthTimeout = clock.Duration(DefaultHealthTimeout)
	}
	if bg.Retention <= 0 {
		bg.Retention = clock.Duration(DefaultRetention)
	}
	return p
}

// Validate reports every problem with p, each naming its field. A policy
// with no strategy is valid and does nothing.
func (p Policy) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", field, fmt.Sprintf(format, args...)))
	}
	if !p.Enabled() {
		return nil
	}
	switch p.Strategy {
	case StrategyRolling, StrategyBlueGreen:
	default:
		bad("strategy", "%q is not %q or %q", p.Strategy, StrategyRolling, StrategyBlueGreen)
	}
	switch p.OnNewer {
	case "", Queue, Supersede:
	default:
		bad("onNewer", "%q is not %q or %q", p.OnNewer, Queue, Supersede)
	}
	if p.Parameter == "" {
		bad("parameter", "is empty; it names the SSM parameter holding the fleet's AMI ID")
	}
	switch p.Checks.Architecture {
	case "", "arm64", "x86_64", "arm64_mac", "x86_64_mac", "i386":
	default:
		bad("checks.architecture", "%q is not an EC2 architecture", p.Checks.Architecture)
	}
	for i, tag := range p.Checks.RequiredTags {
		if tag == "" {
			bad(fmt.Sprintf("checks.requiredTags[%d]", i), "is empty")
		}
	}
	for name, d := range map[string]clock.Duration{
		"pollInterval": p.PollInterval, "blindTimeout": p.BlindTimeout, "rolling.warmup": p.Rolling.Warmup,
		"rolling.checkpointDelay": p.Rolling.CheckpointDelay, "blueGreen.bake": p.BlueGreen.Bake,
		"blueGreen.healthTimeout": p.BlueGreen.HealthTimeout, "blueGreen.retention": p.BlueGreen.Retention,
	} {
		if d < 0 {
			bad(name, "%v is negative", d)
		}
	}
	if p.Strategy == StrategyRolling {
		errs = append(errs, p.Rolling.validate()...)
	}
	if p.Strategy == StrategyBlueGreen {
		errs = append(errs, p.BlueGreen.validate()...)
	}
	return errors.Join(errs...)
}

func (r Rolling) validate() []error {
	var errs []error
	lo, hi := r.MinHealthyPercentage, r.MaxHealthyPercentage
	if lo != nil && (*lo < 0 || *lo > 100) {
		errs = append(errs, fmt.Errorf("rolling.minHealthyPercentage: %d is outside 0..100", *lo))
	}
	if hi != nil && (*hi < 100 || *hi > 200) {
		errs = append(errs, fmt.Errorf("rolling.maxHealthyPercentage: %d is outside 100..200", *hi))
	}
	switch {
	case hi != nil && lo == nil:
		errs = append(errs, errors.New("rolling.maxHealthyPercentage: set without rolling.minHealthyPercentage, which AWS refuses; set both"))
	case hi != nil && *hi-*lo > 100:
		errs = append(errs, fmt.Errorf("rolling: max healthy %d%% - min healthy %d%% is more than 100 points, which AWS refuses", *hi, *lo))
	}
	if err := increasing(r.Checkpoints); err != nil {
		errs = append(errs, fmt.Errorf("rolling.checkpoints: %w", err))
	}
	return errs
}

func (b BlueGreen) validate() []error {
	var errs []error
	if b.PeerGroup == "" {
		errs = append(errs, errors.New("blueGreen.peerGroup: is empty"))
	}
	arns := map[string]string{"listener": b.Listener, "targetGroup": b.TargetGroup, "peerTargetGroup": b.PeerTargetGroup}
	for _, field := range []string{"listener", "targetGroup", "peerTargetGroup"} {
		switch {
		case b.ResourcesParameter != "" && arns[field] != "":
			// Two sources of one ARN would leave which one acts to chance.
			errs = append(errs, fmt.Errorf("blueGreen.%s: set beside blueGreen.resourcesParameter; name the ARNs or the parameter holding them, not both", field))
		case b.ResourcesParameter == "" && arns[field] == "":
			errs = append(errs, fmt.Errorf("blueGreen.%s: is empty (or name blueGreen.resourcesParameter, which holds it)", field))
		}
	}
	if w := b.WeightParameters; (w.TargetGroup == "") != (w.PeerTargetGroup == "") {
		errs = append(errs, errors.New("blueGreen.weightParameters: name both targetGroup and peerTargetGroup, or neither"))
	}
	if b.TargetGroup != "" && b.TargetGroup == b.PeerTargetGroup {
		errs = append(errs, errors.New("blueGreen.peerTargetGroup: is the same as targetGroup"))
	}
	if len(b.Steps) > 0 {
		if err := increasing(b.Steps); err != nil {
			errs = append(errs, fmt.Errorf("blueGreen.steps: %w", err))
		}
	}
	return errs
}

// increasing checks percentages: each in 1..100, strictly increasing, the
// last 100 (an empty list is fine).
func increasing(steps []int) error {
	for i, s := range steps {
		if s < 1 || s > 100 {
			return fmt.Errorf("%d is outside 1..100", s)
		}
		if i > 0 && s <= steps[i-1] {
			return fmt.Errorf("%d does not increase on %d", s, steps[i-1])
		}
	}
	if n := len(steps); n > 0 && steps[n-1] != 100 {
		return fmt.Errorf("the last must be 100, not %d", steps[n-1])
	}
	return nil
}

// Matches reports whether img is meant for fleet under p.
func (p Policy) Matches(fleet string, img Image) bool {
	if !p.Enabled() {
		return false
	}
	if img.Tags[FleetTag] == fleet {
		return true
	}
	if len(p.Match.Tags) == 0 {
		return false
	}
	for k, v := range p.Match.Tags {
		if got, ok := img.Tags[k]; !ok || got != v {
			return false
		}
	}
	return true
}

// Side is one of a blue/green fleet's two groups with its target group.
type Side struct {
	Group       string `json:"group"`
	TargetGroup string `json:"targetGroup,omitempty"`
}

// Sides returns the group serving now (from) and the one a blue/green
// rollout moves to (to), given the fleet's configured group and the group
// the last rollout left live ("" for the configured one). For a rolling
// fleet both are the live group.
func (p Policy) Sides(fleetGroup, live string) (from, to Side) {
	if live == "" {
		live = fleetGroup
	}
	if p.Strategy != StrategyBlueGreen {
		return Side{Group: live}, Side{Group: live}
	}
	a := Side{Group: fleetGroup, TargetGroup: p.BlueGreen.TargetGroup}
	b := Side{Group: p.BlueGreen.PeerGroup, TargetGroup: p.BlueGreen.PeerTargetGroup}
	if live == b.Group {
		return b, a
	}
	return a, b
}
