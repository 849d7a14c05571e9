package rollout

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/stampkit/stampkit/shared/scaling"
)

// KeyPrefix starts the state-table key of every fleet's rollout record and
// the key of its wake-ups.
const KeyPrefix = "rollout#"

// Key is the state-table key of a fleet's rollout record (a JSON State),
// and the key of its wake-up Ticks. Saving it with a version check is the
// fleet's rollout lock.
func Key(fleet string) string { return KeyPrefix + fleet }

// Phase is where a rollout stands.
type Phase string

// Phases. Rolling: stamp → refresh → done, or → revert → done. Blue/green:
// stamp → warm → shift (one bake per step) → retain → done, or → restore →
// done from warm, shift or retain.
const (
	// PhaseStamp creates the numbered launch template version, then makes it
	// the default and records the image in the SSM parameter.
	PhaseStamp Phase = "stamp"
	// PhaseRefresh follows the instance refresh onto the new version.
	PhaseRefresh Phase = "refresh"
	// PhaseRevert puts a rolling fleet back: the refresh's own rollback,
	// then a refresh back to the old version for instances it left.
	PhaseRevert Phase = "revert"
	// PhaseWarm waits for every target of the new group to be healthy.
	PhaseWarm Phase = "warm"
	// PhaseShift moves the listener's weights step by step, baking each.
	PhaseShift Phase = "shift"
	// PhaseRetain keeps the old group, at zero, for the retention window.
	PhaseRetain Phase = "retain"
	// PhaseRestore sends all traffic back to the old group and empties the
	// new one.
	PhaseRestore Phase = "restore"
	// PhaseDone: the rollout is over; Outcome says how.
	PhaseDone Phase = "done"
)

// Outcome is how a rollout ended.
type Outcome string

// Outcomes.
const (
	Succeeded Outcome = "succeeded"
	// RolledBack: a failure, an alarm or an operator's abort put the fleet
	// back on its previous image.
	RolledBack Outcome = "rolled_back"
	// Superseded: rolled back to make way for a newer image.
	Superseded Outcome = "superseded"
	// Failed: the rollback itself could not finish; an operator must look.
	Failed Outcome = "failed"
)

// Size is an Auto Scaling group's size.
type Size struct {
	Min     int `json:"min"`
	Max     int `json:"max"`
	Desired int `json:"desired"`
}

// Baseline is what the fleet ran when the rollout began: what a rollback
// restores.
type Baseline struct {
	// LaunchTemplate is the launch template ID both groups launch from.
	LaunchTemplate string `json:"launchTemplate"`
	// GroupSpec is the version the live group named ("3", "$Default",
	// "$Latest"); GroupVersion is the number it resolved to.
	GroupSpec    string `json:"groupSpec"`
	GroupVersion int64  `json:"groupVersion"`
	// DefaultVersion is the template's default version.
	DefaultVersion int64 `json:"defaultVersion"`
	// Image is the AMI of GroupVersion.
	Image string `json:"image,omitempty"`
	// Parameter is the SSM parameter's value; empty when it did not exist.
	Parameter string `json:"parameter,omitempty"`
	// Size is the live group's size.
	Size Size `json:"size"`
}

// pinned reports whether the live group names a numbered version.
func (b Baseline) pinned() bool { return b.GroupSpec == strconv.FormatInt(b.GroupVersion, 10) }

// parameter is the value a rollback writes back to the SSM parameter.
func (b Baseline) parameter() string {
	if b.Parameter != "" {
		return b.Parameter
	}
	return b.Image
}

// Entry is one line of a rollout's history.
type Entry struct {
	At    time.Time `json:"at"`
	Phase Phase     `json:"phase"`
	// Shifted is the percentage of traffic on the new group (blue/green).
	Shifted int    `json:"shifted,omitempty"`
	Note    string `json:"note"`
}

// maxHistory bounds the history kept in the record.
const maxHistory = 40

// maxRolledBack bounds State.RolledBack.
const maxRolledBack = 5

// State is a fleet's rollout record: the current or last rollout, the group
// that serves, and the image waiting for its turn.
type State struct {
	Fleet string `json:"fleet"`
	// Live is the group serving the fleet once the last rollout ended; ""
	// means the fleet's configured group. A blue/green promotion swaps it.
	Live string `json:"live,omitempty"`
	// Queued is the newest image waiting for the running rollout to end.
	Queued *Image `json:"queued,omitempty"`
	// Count is how many rollouts the fleet has begun.
	Count int `json:"count,omitempty"`
	// RolledBack are the images the fleet's last rollouts rolled back or
	// failed with, newest last (at most maxRolledBack): an event for one
	// of them (a replay from an archive, a late duplicate past its claim)
	// does not roll it out again unless it is tagged ForceTag.
	RolledBack []string `json:"rolledBack,omitempty"`
	// Wave is the image waiting for the stamp before this one to finish
	// it; Halted the last image the wave halted before it, and why.
	Wave   *WaveWaiting `json:"wave,omitempty"`
	Halted *HaltRecord  `json:"halted,omitempty"`
	// WaveUnsent are records of this stamp's wave parameter that could
	// not be written yet, retried at WaveRetryAt (a wave wake-up) and with
	// every later write: a write that fails never holds the rollout back.
	WaveUnsent  []WaveRecord `json:"waveUnsent,omitempty"`
	WaveRetryAt time.Time    `json:"waveRetryAt,omitzero"`

	ID       string   `json:"id,omitempty"`
	Strategy Strategy `json:"strategy,omitempty"`
	Phase    Phase    `json:"phase,omitempty"`
	Image    Image    `json:"image,omitzero"`
	Base     Baseline `json:"base,omitzero"`
	// From is the group serving when the rollout began; To the group moved
	// to (the same group for a rolling fleet).
	From Side `json:"from,omitzero"`
	To   Side `json:"to,omitzero"`
	// Version is the launch template version holding Image; 0 until made.
	Version int64 `json:"version,omitempty"`
	// RefreshID is the instance refresh being followed; Reverting says it
	// is the refresh back to the old version.
	RefreshID string `json:"refreshId,omitempty"`
	Reverting bool   `json:"reverting,omitempty"`
	// Restarts counts refreshes started again after a pause.
	Restarts int `json:"restarts,omitempty"`
	// Step indexes the blue/green steps; StepAt is when its weights were set
	// (or the bake restarted); Shifted is the traffic on To, in percent.
	Step    int       `json:"step,omitempty"`
	StepAt  time.Time `json:"stepAt,omitzero"`
	Shifted int       `json:"shifted,omitempty"`
	// PhaseAt is when the phase began (health and retention timers).
	PhaseAt time.Time `json:"phaseAt,omitzero"`
	// ShortSince is when the group carrying new traffic was first seen
	// with fewer healthy targets than its share needs; WaitSince when the
	// next step began waiting for them.
	ShortSince time.Time `json:"shortSince,omitzero"`
	WaitSince  time.Time `json:"waitSince,omitzero"`
	// Carry is the size a blue/green rollback brings From back to: the
	// most that served during the rollback, never less than the baseline.
	Carry int `json:"carry,omitempty"`
	// Returning says the rollback brings back a From the promotion had
	// emptied, so traffic moves only as its healthy targets arrive.
	Returning bool `json:"returning,omitempty"`
	// BlindSince is when the rollout last began failing to see what it
	// follows; BlindGiveUps counts the times Policy.BlindTimeout ran out.
	BlindSince   time.Time `json:"blindSince,omitzero"`
	BlindGiveUps int       `json:"blindGiveUps,omitempty"`
	Paused       bool      `json:"paused,omitempty"`
	// Abort, when set, is why the rollout must roll back at its next step;
	// Supersede says a newer image asked for it.
	Abort     string `json:"abort,omitempty"`
	Supersede bool   `json:"supersede,omitempty"`
	// Promote asks a blue/green rollout to go to 100 % at once (or to end
	// its retention).
	Promote bool      `json:"promote,omitempty"`
	Outcome Outcome   `json:"outcome,omitempty"`
	Reason  string    `json:"reason,omitempty"`
	Started time.Time `json:"started,omitzero"`
	Ended   time.Time `json:"ended,omitzero"`
	WakeAt  time.Time `json:"wakeAt,omitzero"`
	Steps   int       `json:"steps,omitempty"`
	History []Entry   `json:"history,omitempty"`
}

// Active reports whether a rollout is under way (retention included).
func (s State) Active() bool { return s.Phase != "" && s.Phase != PhaseDone }

// Serving returns the group the fleet's capacity belongs on now:
// fleetGroup unless a rollout or the last one moved it. While a blue/green
// rollout shifts, the old group stays the one that scales; the new one
// follows its size.
func (s State) Serving(fleetGroup string) string {
	switch {
	case s.Phase == PhaseRetain, s.Phase == PhaseRestore && s.Returning && s.Shifted > 50:
		// After a promotion, and while a rollback has not yet moved most
		// of the traffic back, To carries the fleet: scale-outs go there
		// (the rollback sizes From after it).
		return s.To.Group
	case s.Active():
		return s.From.Group
	case s.Live != "":
		return s.Live
	}
	return fleetGroup
}

// Holds reports whether the rollout holds the fleet against scale-in.
func (s State) Holds() bool { return s.Active() }

// HoldGrace is how long past a rollout's next wake-up its hold on the fleet
// lasts: a rollout whose function stopped waking releases the fleet by
// itself.
const HoldGrace = 15 * time.Minute

// Hold returns the rollout's hold on the fleet's scaling, nil when it has
// none: while it runs, scale-in pauses and capacity goes to the group that
// serves. The scaler derives it from the record, so the two can never
// disagree.
func (s State) Hold(fleetGroup string) *scaling.Hold {
	if !s.Holds() {
		return nil
	}
	base := s.WakeAt
	if base.IsZero() {
		base = s.Started
	}
	return &scaling.Hold{Rollout: s.ID, LiveGroup: s.Serving(fleetGroup), Until: base.Add(HoldGrace)}
}

func (s State) clone() State {
	n := s
	n.History = slices.Clone(s.History)
	n.RolledBack = slices.Clone(s.RolledBack)
	if s.Queued != nil {
		q := *s.Queued
		n.Queued = &q
	}
	return n
}

func (s *State) note(now time.Time, format string, args ...any) {
	s.History = append(s.History, Entry{At: now, Phase: s.Phase, Shifted: s.Shifted, Note: fmt.Sprintf(format, args...)})
	if n := len(s.History); n > maxHistory {
		s.History = slices.Delete(s.History, 0, n-maxHistory)
	}
}

// Begin starts a rollout of img on the fleet whose configured group is
// fleetGroup, from the baseline the handler read off the live group. A
// rollout that was only retaining its old group ends, successful.
func Begin(p Policy, s State, fleetGroup string, img Image, base Baseline, now time.Time) State {
	next := s.clone()
	if s.Phase == PhaseRetain {
		next.finish(now, Succeeded, "retention ended early: newer image "+img.ID)
	}
	from, to := p.Sides(fleetGroup, s.Live)
	next.Count++
	n := State{
		Fleet: s.Fleet, Live: next.Live, Count: next.Count, Queued: next.Queued, RolledBack: next.RolledBack, History: next.History,
		Wave: next.Wave, Halted: next.Halted, WaveUnsent: next.WaveUnsent, WaveRetryAt: next.WaveRetryAt,
		ID:       fmt.Sprintf("%s-%d", s.Fleet, next.Count),
		Strategy: p.Strategy, Phase: PhaseStamp, Image: img, Base: base, From: from, To: to,
		PhaseAt: now, Started: now,
	}
	if n.Queued != nil && n.Queued.ID == img.ID {
		n.Queued = nil
	}
	n.note(now, "rollout %s of %s (%s) began: %s from %s (launch template %s version %d)",
		n.ID, img.ID, img.Name, p.Strategy, base.Image, base.LaunchTemplate, base.GroupVersion)
	return n
}

// Verdict is what Offer made of an image.
type Verdict string

// Verdicts.
const (
	// Start: no rollout runs (or one only retains); begin one now.
	Start Verdict = "start"
	// Queued: a rollout runs; the image waits for it.
	Queued Verdict = "queued"
	// Superseding: queued, and the running rollout rolls back first.
	Superseding Verdict = "superseding"
	// Duplicate: the running or queued rollout already has the image.
	Duplicate Verdict = "duplicate"
	// Stale: older than the running or queued image, and not forced.
	Stale Verdict = "stale"
)

// Offer applies the newer-image rule (see the package doc) to a checked
// image. The returned reason explains the verdict for the log.
func Offer(p Policy, s State, img Image, now time.Time) (State, Verdict, string) {
	p = p.WithDefaults()
	if slices.Contains(s.RolledBack, img.ID) && !img.Forced() {
		return s, Stale, fmt.Sprintf("a rollout of this image was rolled back; tag it %s=true to roll it out again", ForceTag)
	}
	if !s.Active() || s.Phase == PhaseRetain {
		return s, Start, "no rollout running"
	}
	if img.ID == s.Image.ID || (s.Queued != nil && img.ID == s.Queued.ID) {
		return s, Duplicate, "already running or queued"
	}
	if img.Created.Before(s.Image.Created) && !img.Forced() {
		return s, Stale, fmt.Sprintf("created before %s, the image being rolled out", s.Image.ID)
	}
	if s.Queued != nil && img.Created.Before(s.Queued.Created) && !img.Forced() {
		return s, Stale, fmt.Sprintf("created before %s, the image already queued", s.Queued.ID)
	}
	next := s.clone()
	why := "queued behind " + s.Image.ID
	if s.Queued != nil {
		why += "; replaces queued " + s.Queued.ID
	}
	q := img
	next.Queued = &q
	verdict := Queued
	rollingBack := s.Phase == PhaseRevert || s.Phase == PhaseRestore || s.Abort != ""
	if p.OnNewer == Supersede && !rollingBack {
		next.Abort, next.Supersede, next.Paused = "superseded by "+img.ID, true, false
		verdict = Superseding
		why += "; the running rollout rolls back first"
	}
	next.note(now, "newer image %s: %s", img.ID, why)
	return next, verdict, why
}

// Command is an operator's control of a running rollout.
type Command string

// Commands.
const (
	Pause   Command = "pause"
	Resume  Command = "resume"
	Abort   Command = "abort"
	Promote Command = "promote"
)

// ErrNotActive reports a command for a fleet with no rollout running.
var ErrNotActive = errors.New("no rollout running")

// ErrNotApplicable reports a command the rollout cannot take in its phase.
var ErrNotApplicable = errors.New("command not applicable")

// Control applies an operator's command. It only records the request; the
// next Step acts on it (an abort rolls back, a pause stops the refresh).
// Safety is never paused: an alarm during a paused bake still rolls back.
func Control(p Policy, s State, c Command, reason string, now time.Time) (State, error) {
	if !s.Active() {
		return s, fmt.Errorf("%s fleet %s: %w", c, s.Fleet, ErrNotActive)
	}
	notNow := func(why string) (State, error) {
		return s, fmt.Errorf("%s rollout %s in phase %s: %w: %s", c, s.ID, s.Phase, ErrNotApplicable, why)
	}
	rollingBack := s.Phase == PhaseRevert || s.Phase == PhaseRestore || s.Abort != ""
	next := s.clone()
	switch c {
	case Pause:
		switch {
		case rollingBack:
			return notNow("a rollback is not paused")
		case s.Phase == PhaseRetain:
			return notNow("already promoted; the retention needs no pause")
		case s.Paused:
			return notNow("already paused")
		}
		next.Paused = true
	case Resume:
		if !s.Paused {
			return notNow("not paused")
		}
		next.Paused = false
		// The bake or health wait starts over: time spent paused proves
		// nothing about the new image.
		next.WaitSince, next.ShortSince = time.Time{}, time.Time{}
		switch s.Phase {
		case PhaseShift:
			next.StepAt = now
		case PhaseWarm:
			next.PhaseAt = now
		}
	case Abort:
		if rollingBack {
			return notNow("already rolling back")
		}
		if reason == "" {
			reason = "operator abort"
		}
		next.Abort, next.Paused = reason, false
	case Promote:
		switch {
		case p.Strategy != StrategyBlueGreen || s.Strategy != StrategyBlueGreen:
			return notNow("a rolling refresh cannot be promoted; resume it instead")
		case rollingBack:
			return notNow("rolling back")
		}
		next.Promote, next.Paused = true, false
	default:
		return s, fmt.Errorf("command %q: %w", c, ErrNotApplicable)
	}
	if reason != "" {
		next.note(now, "operator %s: %s", c, reason)
	} else {
		next.note(now, "operator %s", c)
	}
	return next, nil
}

// Result is what applying an action returned.
type Result struct {
	// Version is the launch template version CreateVersion made.
	Version int64
	// RefreshID is the instance refresh StartRefresh started.
	RefreshID string
}

// Record keeps what an applied action returned in the state.
func (s State) Record(a Action, r Result) State {
	switch a.Kind {
	case CreateVersion:
		s.Version = r.Version
	case StartRefresh:
		s.RefreshID = r.RefreshID
	}
	return s
}
