package rollout_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stampkit/stampkit/shared/rollout"
)

// The tests here follow AWS where it is unkind: an ALB sends a target group
// its weight even when no target in it is healthy (fail open), and the 5xx
// that costs are the load balancer's own, which no target alarm sees. Only
// the healthy-target counts tell.

// scaledTo sets blue's size (the serving group the scaler sized) with all
// of it healthy.
func scaledTo(desired int) obsMod { return blueAt(desired, desired) }

func TestBlueGreenDeadGreenRollsBack(t *testing.T) {
	p := blueGreenPolicy()
	for _, k := range []int{0, 1, 2} {
		s, at := toStep(t, p, k)
		// Green crashed under its share: instances in service, no target
		// healthy, and no alarm has fired. One look may be an instance
		// being replaced; the next rolls back.
		s, _ = step(t, p, s, bgObs(at.Add(time.Minute), greenAt(2, 0, 0)), nil)
		s, wake := step(t, p, s, bgObs(at.Add(2*time.Minute), greenAt(2, 0, 0)),
			append(restored(false), weights(100, 0), emptied(green)))
		wantPhase(t, s, rollout.PhaseDone, rollout.RolledBack)
		wantWake(t, wake, time.Time{})
		if !strings.Contains(s.Reason, "0 healthy targets") {
			t.Errorf("step %d: reason %q: want the healthy-target count", k, s.Reason)
		}
	}
}

func TestBlueGreenShortGreenRollsBackWhenItLasts(t *testing.T) {
	p := blueGreenPolicy()
	s, at := toStep(t, p, 1) // 50 % of 4 instances needs 2 healthy targets
	obs := func(m time.Duration, healthy int) rollout.Observation {
		return bgObs(at.Add(m), scaledTo(4), greenAt(4, healthy, 0))
	}
	s, _ = step(t, p, s, obs(time.Minute, 4), nil)
	// One look short: an instance Auto Scaling is replacing, perhaps.
	s, _ = step(t, p, s, obs(2*time.Minute, 1), nil)
	wantPhase(t, s, rollout.PhaseShift, "")
	// Back in time: nothing happens.
	s, _ = step(t, p, s, obs(3*time.Minute, 2), nil)
	s, _ = step(t, p, s, obs(4*time.Minute, 1), nil)
	wantPhase(t, s, rollout.PhaseShift, "")
	// Short at two looks in a row: rolled back.
	s, _ = step(t, p, s, obs(5*time.Minute, 1), append(restored(false), weights(100, 0), emptied(green)))
	wantPhase(t, s, rollout.PhaseDone, rollout.RolledBack)
}

func TestBlueGreenGreenOnItsWayIsNotShort(t *testing.T) {
	p := blueGreenPolicy()
	s, at := toStep(t, p, 1)
	// The scaler took blue from 2 to 10; green follows: its new instances
	// are about to launch, then launching, then in their first checks.
	grow := rollout.Action{Kind: rollout.Resize, Group: green, Size: rollout.Size{Min: 1, Max: 10, Desired: 10}}
	s, _ = step(t, p, s, bgObs(at.Add(time.Minute), scaledTo(10), func(o *rollout.Observation) { o.From.Max = 10 }), []rollout.Action{grow})
	s, _ = step(t, p, s, bgObs(at.Add(2*time.Minute), scaledTo(10), greenAt(10, 2, 8)), nil)
	s, _ = step(t, p, s, bgObs(at.Add(3*time.Minute), scaledTo(10), greenAt(10, 2, 0), func(o *rollout.Observation) {
		o.ToTargets.Initial = 8
	}), nil)
	wantPhase(t, s, rollout.PhaseShift, "")
	if s.Shifted != 50 {
		t.Errorf("shifted: got %d%%, want 50%%", s.Shifted)
	}
}

func TestBlueGreenStepWaitsForTheTargetsItNeeds(t *testing.T) {
	p := blueGreenPolicy()
	s, at := toStep(t, p, 0) // 10 %
	// The bake is over, but 50 % of 10 instances needs 5 healthy targets
	// and green has 3 (7 launching): the step waits.
	bakeEnd := at.Add(5 * time.Minute)
	s, wake := step(t, p, s, bgObs(bakeEnd, scaledTo(10), greenAt(10, 3, 7)), nil)
	wantWake(t, wake, bakeEnd.Add(time.Minute))
	s, _ = step(t, p, s, bgObs(bakeEnd.Add(time.Minute), scaledTo(10), greenAt(10, 5, 5)), []rollout.Action{weights(50, 50)})
	if s.Shifted != 50 {
		t.Fatalf("shifted: got %d%%, want 50%%", s.Shifted)
	}
	// Green never gets there: rolled back after the health timeout.
	s, at = toStep(t, p, 0)
	bakeEnd = at.Add(5 * time.Minute)
	for m := range 10 {
		s, _ = step(t, p, s, bgObs(bakeEnd.Add(time.Duration(m)*time.Minute), scaledTo(10), greenAt(10, 3, 7)), nil)
	}
	s, _ = step(t, p, s, bgObs(bakeEnd.Add(10*time.Minute), scaledTo(10), greenAt(10, 3, 7)),
		append(restored(false), weights(100, 0), emptied(green)))
	wantPhase(t, s, rollout.PhaseDone, rollout.RolledBack)
	if !strings.Contains(s.Reason, "3 healthy targets of the 5") {
		t.Errorf("reason %q: want what green had and needed", s.Reason)
	}
}

func TestBlueGreenPromotionNeedsTheWholeFleet(t *testing.T) {
	p := blueGreenPolicy()
	s, at := toStep(t, p, 2) // 100 %, baking, blue still whole
	bakeEnd := at.Add(5 * time.Minute)
	// 9 of the 10 healthy targets 100 % needs (one launching): wait.
	s, _ = step(t, p, s, bgObs(bakeEnd, scaledTo(10), greenAt(10, 9, 1)), nil)
	wantPhase(t, s, rollout.PhaseShift, "")
	s, _ = step(t, p, s, bgObs(bakeEnd.Add(time.Minute), scaledTo(10), greenAt(10, 10, 0)), []rollout.Action{emptied(blue)})
	wantPhase(t, s, rollout.PhaseRetain, "")
	// An operator's promote waits the same way.
	s, at = toStep(t, p, 0)
	s, _ = rollout.Control(p, s, rollout.Promote, "", at)
	s, _ = step(t, p, s, bgObs(at.Add(time.Minute), scaledTo(4), greenAt(4, 2, 2), func(o *rollout.Observation) {
		o.From.Max = 4
	}), nil)
	wantPhase(t, s, rollout.PhaseShift, "")
}

func TestBlueGreenRetentionWatchesGreenAndHoldsBlueEmpty(t *testing.T) {
	p := blueGreenPolicy()
	s, at := toStep(t, p, 2)
	s, _ = step(t, p, s, bgObs(at.Add(5*time.Minute)), []rollout.Action{emptied(blue)})
	wantPhase(t, s, rollout.PhaseRetain, "")
	// A scaler decision taken just before the promotion sized blue: it is
	// put back to 0 at the next look.
	s, _ = step(t, p, s, bgObs(at.Add(6*time.Minute), blueAt(1, 0)), []rollout.Action{emptied(blue)})
	wantPhase(t, s, rollout.PhaseRetain, "")
	// Green fails its health checks after the promotion: blue comes back
	// to what green serves (6, not the pre-rollout 2) while the traffic
	// stays until blue can take it.
	s, _ = step(t, p, s, bgObs(at.Add(7*time.Minute), blueAt(0, 0), greenAt(6, 0, 0)), nil)
	back := rollout.Action{Kind: rollout.Resize, Group: blue, Size: rollout.Size{Min: 1, Max: 6, Desired: 6}}
	s, _ = step(t, p, s, bgObs(at.Add(8*time.Minute), blueAt(0, 0), greenAt(6, 0, 0)), append(restored(false), back))
	wantPhase(t, s, rollout.PhaseRestore, "")
	if !strings.Contains(s.Reason, "after promotion") {
		t.Errorf("reason %q: want it to say the promoted group failed", s.Reason)
	}
	// Behind a failed-open target group green's instances may still
	// serve: blue takes only what its healthy targets carry (1 of 6: 16%).
	s, _ = step(t, p, s, bgObs(at.Add(9*time.Minute), blueAt(6, 0), greenAt(6, 0, 0)), nil)
	s, _ = step(t, p, s, bgObs(at.Add(10*time.Minute), blueAt(6, 1), greenAt(6, 0, 0)), []rollout.Action{weights(16, 84)})
	s, _ = step(t, p, s, bgObs(at.Add(11*time.Minute), blueAt(6, 6), greenAt(6, 0, 0)),
		[]rollout.Action{weights(100, 0), emptied(green)})
	wantPhase(t, s, rollout.PhaseDone, rollout.RolledBack)
}

// TestBlueGreenAbortInRetentionKeepsCapacity: green scaled out to 10 after
// the promotion; an abort brings blue back to 10, not to the 2 it had, and
// moves traffic only as blue's healthy targets can carry it.
func TestBlueGreenAbortInRetentionKeepsCapacity(t *testing.T) {
	p := blueGreenPolicy()
	s, at := toStep(t, p, 2)
	s, _ = step(t, p, s, bgObs(at.Add(5*time.Minute)), []rollout.Action{emptied(blue)})
	at = at.Add(20 * time.Minute)
	s, _ = rollout.Control(p, s, rollout.Abort, "regression", at)
	serving := func(healthy int) obsMod {
		return func(o *rollout.Observation) {
			blueAt(10, healthy)(o)
			greenAt(10, 10, 0)(o)
		}
	}
	back := rollout.Action{Kind: rollout.Resize, Group: blue, Size: rollout.Size{Min: 1, Max: 10, Desired: 10}}
	s, _ = step(t, p, s, bgObs(at, blueAt(0, 0), greenAt(10, 10, 0)), append(restored(false), back))
	wantPhase(t, s, rollout.PhaseRestore, "")
	for i, tt := range []struct {
		healthy int
		want    []rollout.Action
	}{
		{0, nil},
		{3, []rollout.Action{weights(30, 70)}},
		{3, nil},
		{7, []rollout.Action{weights(70, 30)}},
		{10, []rollout.Action{weights(100, 0), emptied(green)}},
	} {
		s, _ = step(t, p, s, bgObs(at.Add(time.Duration(i+1)*time.Minute), serving(tt.healthy)), tt.want)
		// Never more of the traffic on blue than its healthy targets
		// carry at the fleet's load per instance.
		if onBlue := 100 - s.Shifted; onBlue*10 > tt.healthy*100 {
			t.Fatalf("look %d: %d%% on blue with %d of 10 healthy", i, onBlue, tt.healthy)
		}
	}
	wantPhase(t, s, rollout.PhaseDone, rollout.RolledBack)
}

func TestBlueGreenWarmNeedsTheStampedVersion(t *testing.T) {
	p := blueGreenPolicy()
	s := stampBlueGreen(t, p)
	stray := func(o *rollout.Observation) { o.To.Versions = map[string]int{"3": 1, "4": 1} }
	for m := 1; m < 10; m++ {
		s, _ = step(t, p, s, bgObs(t0.Add(time.Duration(m)*time.Minute), stray), nil)
	}
	wantPhase(t, s, rollout.PhaseWarm, "")
	s, _ = step(t, p, s, bgObs(t0.Add(10*time.Minute), stray), append(restored(false), weights(100, 0), emptied(green)))
	wantPhase(t, s, rollout.PhaseDone, rollout.RolledBack)
	if !strings.Contains(s.Reason, "1 on others") {
		t.Errorf("reason %q: want the instances on other versions", s.Reason)
	}
}

func TestBlueGreenStampEmptiesTheIdleGroupFirst(t *testing.T) {
	p := blueGreenPolicy()
	s := begin(p, "3")
	leftover := func(o *rollout.Observation) {
		o.To.Desired, o.To.InService, o.To.Versions = 1, 1, map[string]int{"3": 1}
	}
	s, wake := step(t, p, s, bgObs(t0, leftover), []rollout.Action{emptied(green)})
	wantWake(t, wake, t0.Add(time.Minute))
	// Terminating (no longer counted) but the desired already 0: wait.
	s, _ = step(t, p, s, bgObs(t0.Add(30*time.Second), leftover, func(o *rollout.Observation) { o.To.Desired = 0 }), nil)
	create := rollout.Action{Kind: rollout.CreateVersion, LaunchTemplate: lt, Version: baseVer, Image: newAMI}
	s, _ = step(t, p, s, bgObs(t0.Add(time.Minute), idleGreen), []rollout.Action{create})
	wantPhase(t, s, rollout.PhaseStamp, "")

	// An idle group that never empties (protected instances) fails the
	// rollout before anything changed.
	s = begin(p, "3")
	for m := range 10 {
		s, _ = step(t, p, s, bgObs(t0.Add(time.Duration(m)*time.Minute), leftover), []rollout.Action{emptied(green)})
	}
	s, _ = step(t, p, s, bgObs(t0.Add(10*time.Minute), leftover), append(restored(false), emptied(green)))
	wantPhase(t, s, rollout.PhaseDone, rollout.Failed)
}

func TestRollingRefreshThatCannotBeSeenIsRolledBack(t *testing.T) {
	p := rollingPolicy()
	s := stampRolling(t, p, "3")
	missing := func(at time.Time) rollout.Observation {
		o := refreshObs(at, refreshID, "", 1)
		o.Refresh, o.RefreshMissing = nil, true
		return o
	}
	for m := 1; m <= 15; m++ {
		s, _ = step(t, p, s, missing(t0.Add(time.Duration(m)*time.Minute)), nil)
	}
	wantPhase(t, s, rollout.PhaseRefresh, "")
	// 15 minutes blind (the default): the rollout reverts what it can see.
	s, _ = step(t, p, s, missing(t0.Add(16*time.Minute)), restored(true))
	wantPhase(t, s, rollout.PhaseRevert, "")
	if s.BlindGiveUps != 1 || !strings.Contains(s.Reason, "not found") {
		t.Errorf("blind give-ups %d, reason %q: want 1 and the missing refresh", s.BlindGiveUps, s.Reason)
	}
}

func TestRollingGroupThatCannotBeReadEndsFailed(t *testing.T) {
	p := rollingPolicy()
	s := stampRolling(t, p, "3")
	gone := func(at time.Time) rollout.Observation {
		return rollout.Observation{Now: at, Err: "describing group web-blue: not found"}
	}
	for m := 1; m <= 15; m++ {
		s, _ = step(t, p, s, gone(t0.Add(time.Duration(m)*time.Minute)), nil)
	}
	// The template and parameter go back; the group cannot be touched.
	s, wake := step(t, p, s, gone(t0.Add(16*time.Minute)), restored(false))
	wantPhase(t, s, rollout.PhaseDone, rollout.Failed)
	wantWake(t, wake, time.Time{})
	if s.Hold(blue) != nil {
		t.Errorf("hold after the give-up: %+v, want none (scale-in must not stay paused)", s.Hold(blue))
	}
}

func TestBlueGreenBlindBakeRollsBackAfterTheBlindTimeout(t *testing.T) {
	p := blueGreenPolicy()
	s, at := toStep(t, p, 1)
	blind := func(m int) rollout.Observation {
		o := bgObs(at.Add(time.Duration(m) * time.Minute))
		o.Err = "describing target health: throttled"
		return o
	}
	for m := 1; m <= 15; m++ {
		s, _ = step(t, p, s, blind(m), nil)
	}
	wantPhase(t, s, rollout.PhaseShift, "")
	s, _ = step(t, p, s, blind(16), append(restored(false), weights(100, 0), emptied(green)))
	wantPhase(t, s, rollout.PhaseDone, rollout.RolledBack)
	// A look that sees again resets the count.
	s, at = toStep(t, p, 1)
	for _, m := range []int{1, 10} {
		s, _ = step(t, p, s, blind(m), nil)
	}
	_, s, _ = rollout.Step(p, s, bgObs(at.Add(11*time.Minute))) // the next step, seen
	s, _ = step(t, p, s, blind(20), nil)
	wantPhase(t, s, rollout.PhaseShift, "")
}

// TestBlueGreenCoveredShortfallIsBounded: instances that keep being
// replaced as they fail under load are always "on their way"; they may
// cover a shortfall for the health timeout, not for ever.
func TestBlueGreenCoveredShortfallIsBounded(t *testing.T) {
	p := blueGreenPolicy()
	s, at := toStep(t, p, 1) // 50 % of 10 needs 5 healthy targets
	churning := func(o *rollout.Observation) {
		scaledTo(10)(o)
		greenAt(10, 3, 4)(o)
		o.ToTargets.Initial = 3
	}
	for m := 1; m <= 10; m++ {
		s, _ = step(t, p, s, bgObs(at.Add(time.Duration(m)*time.Second), churning), nil)
	}
	s, _ = step(t, p, s, bgObs(at.Add(10*time.Minute+time.Second), churning), append(restored(false), weights(100, 0), emptied(green)))
	wantPhase(t, s, rollout.PhaseDone, rollout.RolledBack)

	// After the promotion the same shortfall keeps the retention open
	// past its end, until it rolls back.
	s, at = toStep(t, p, 2)
	s, _ = step(t, p, s, bgObs(at.Add(5*time.Minute), scaledTo(10), greenAt(10, 10, 0)), []rollout.Action{emptied(blue)})
	wantPhase(t, s, rollout.PhaseRetain, "")
	retained := func(o *rollout.Observation) {
		blueAt(0, 0)(o)
		greenAt(10, 8, 2)(o)
	}
	s, _ = step(t, p, s, bgObs(at.Add(60*time.Minute), retained), nil)
	s, _ = step(t, p, s, bgObs(at.Add(66*time.Minute), retained), nil)
	wantPhase(t, s, rollout.PhaseRetain, "")
	s, _ = step(t, p, s, bgObs(at.Add(70*time.Minute), retained),
		append(restored(false), rollout.Action{Kind: rollout.Resize, Group: blue, Size: rollout.Size{Min: 1, Max: 10, Desired: 10}}))
	wantPhase(t, s, rollout.PhaseRestore, "")
}

// TestBlueGreenBlindRestoreNeverShrinksBlue: the scaler may have grown
// blue since the last look; a size written blind would shrink it.
func TestBlueGreenBlindRestoreNeverShrinksBlue(t *testing.T) {
	p := blueGreenPolicy()
	s, at := toStep(t, p, 2)
	s, _ = step(t, p, s, bgObs(at.Add(5*time.Minute)), []rollout.Action{emptied(blue)})
	s, _ = rollout.Control(p, s, rollout.Abort, "", at.Add(6*time.Minute))
	back := rollout.Action{Kind: rollout.Resize, Group: blue, Size: rollout.Size{Min: 1, Max: 4, Desired: 2}}
	s, _ = step(t, p, s, bgObs(at.Add(6*time.Minute), blueAt(0, 0)), append(restored(false), back))
	blind := bgObs(at.Add(7 * time.Minute))
	blind.Err = "describing alarms: throttled"
	s, _ = step(t, p, s, blind, nil)
	wantPhase(t, s, rollout.PhaseRestore, "")
	// Blind past the blind timeout: settled on the side most traffic is
	// on (green: blue never took any), with the configuration to match.
	blind.Now = at.Add(23 * time.Minute)
	s, _ = step(t, p, s, blind, []rollout.Action{weights(0, 100), emptied(blue),
		{Kind: rollout.SetDefaultVersion, LaunchTemplate: lt, Version: newVer}, {Kind: rollout.PutParameter, Image: newAMI}})
	wantPhase(t, s, rollout.PhaseDone, rollout.Failed)
	if s.Live != green {
		t.Errorf("live: got %q, want %q", s.Live, green)
	}
}

// TestBlueGreenBlindRetentionDoesNotRollBack: a promoted fleet whose
// alarms or target health cannot be read for a while is still promoted.
func TestBlueGreenBlindRetentionDoesNotRollBack(t *testing.T) {
	p := blueGreenPolicy()
	s, at := toStep(t, p, 2)
	s, _ = step(t, p, s, bgObs(at.Add(5*time.Minute)), []rollout.Action{emptied(blue)})
	for m := 6; m <= 64; m += 2 {
		blind := bgObs(at.Add(time.Duration(m) * time.Minute))
		blind.Err = "describing target health: AccessDenied"
		s, _ = step(t, p, s, blind, nil)
	}
	wantPhase(t, s, rollout.PhaseRetain, "")
	blind := bgObs(at.Add(65 * time.Minute))
	blind.Err = "describing target health: AccessDenied"
	s, _ = step(t, p, s, blind, nil)
	wantPhase(t, s, rollout.PhaseDone, rollout.Succeeded)
}

func TestResumeStartsTheWaitsOver(t *testing.T) {
	p := blueGreenPolicy()
	s, at := toStep(t, p, 0)
	bakeEnd := at.Add(5 * time.Minute)
	s, _ = step(t, p, s, bgObs(bakeEnd, scaledTo(10), greenAt(10, 3, 7)), nil) // waiting for 5
	s, _ = rollout.Control(p, s, rollout.Pause, "", bakeEnd.Add(time.Minute))
	resumed := bakeEnd.Add(2 * time.Hour)
	s, _ = rollout.Control(p, s, rollout.Resume, "", resumed)
	// The bake starts over; then the wait for targets starts anew rather
	// than counting the paused hours.
	s, _ = step(t, p, s, bgObs(resumed.Add(5*time.Minute), scaledTo(10), greenAt(10, 3, 7)), nil)
	wantPhase(t, s, rollout.PhaseShift, "")
}

func TestIdleGroupThatWillNotEmptyDoesNotRejectTheImage(t *testing.T) {
	p := blueGreenPolicy()
	s := begin(p, "3")
	leftover := func(o *rollout.Observation) {
		o.To.Desired, o.To.InService, o.To.Versions = 1, 1, map[string]int{"3": 1}
	}
	for m := range 11 {
		_, s, _ = rollout.Step(p, s, bgObs(t0.Add(time.Duration(m)*time.Minute), leftover))
	}
	wantPhase(t, s, rollout.PhaseDone, rollout.Failed)
	if _, v, _ := rollout.Offer(p, s, newImage(), t0.Add(time.Hour)); v != rollout.Start {
		t.Errorf("the image again after the idle group was emptied: got %s, want %s (it never reached the fleet)", v, rollout.Start)
	}
}
