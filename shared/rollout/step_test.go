package rollout_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/stampkit/stampkit/shared/clock"
	"github.com/stampkit/stampkit/shared/rollout"
)

var t0 = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

const (
	lt        = "lt-0123"
	oldAMI    = "ami-old"
	newAMI    = "ami-new"
	blue      = "web-blue"
	green     = "web-green"
	tgBlue    = "tg-blue"
	tgGreen   = "tg-green"
	newVer    = int64(4)
	baseVer   = int64(3)
	refreshID = "refresh-1"
)

func rollingPolicy() rollout.Policy {
	return rollout.Policy{
		Strategy: rollout.StrategyRolling, Parameter: "/stampkit/web/ami", Alarms: []string{"web-5xx"},
		PollInterval: clock.Duration(time.Minute),
		Rolling:      rollout.Rolling{MinHealthyPercentage: new(90), Checkpoints: []int{50, 100}},
	}
}

func blueGreenPolicy() rollout.Policy {
	return rollout.Policy{
		Strategy: rollout.StrategyBlueGreen, Parameter: "/stampkit/web/ami", Alarms: []string{"web-5xx", "web-latency"},
		PollInterval: clock.Duration(time.Minute),
		BlueGreen: rollout.BlueGreen{
			Listener: "listener", TargetGroup: tgBlue, PeerGroup: green, PeerTargetGroup: tgGreen,
			Steps: []int{10, 50, 100}, Bake: clock.Duration(5 * time.Minute),
			HealthTimeout: clock.Duration(10 * time.Minute), Retention: clock.Duration(time.Hour),
		},
	}
}

func newImage() rollout.Image {
	return rollout.Image{ID: newAMI, Name: "web-2", State: "available", Created: t0}
}

func baseline(spec string) rollout.Baseline {
	return rollout.Baseline{
		LaunchTemplate: lt, GroupSpec: spec, GroupVersion: baseVer, DefaultVersion: baseVer,
		Image: oldAMI, Parameter: oldAMI, Size: rollout.Size{Min: 1, Max: 4, Desired: 2},
	}
}

func begin(p rollout.Policy, spec string) rollout.State {
	return rollout.Begin(p, rollout.State{Fleet: "web"}, blue, newImage(), baseline(spec), t0)
}

// restored is what every rollback writes back first.
func restored(rolling bool) []rollout.Action {
	acts := []rollout.Action{
		{Kind: rollout.SetDefaultVersion, LaunchTemplate: lt, Version: baseVer},
		{Kind: rollout.PutParameter, Image: oldAMI},
	}
	if rolling {
		acts = append(acts, rollout.Action{Kind: rollout.SetGroupVersion, Group: blue, LaunchTemplate: lt, Version: baseVer})
	}
	return acts
}

// groupVersionBack is the revert's last action: the group back on the old
// version, set once no refresh runs.
func groupVersionBack() []rollout.Action {
	return []rollout.Action{{Kind: rollout.SetGroupVersion, Group: blue, LaunchTemplate: lt, Version: baseVer}}
}

func weights(toBlue, toGreen int) rollout.Action {
	return rollout.Action{Kind: rollout.SetWeights, Weights: []rollout.Weight{
		{TargetGroup: tgBlue, Weight: toBlue}, {TargetGroup: tgGreen, Weight: toGreen},
	}}
}

func emptied(group string) rollout.Action {
	return rollout.Action{Kind: rollout.Resize, Group: group, Size: rollout.Size{}}
}

// step runs one Step and checks its actions, and that the state it returns
// carries the wake-up.
func step(t *testing.T, p rollout.Policy, s rollout.State, obs rollout.Observation, want []rollout.Action) (rollout.State, time.Time) {
	t.Helper()
	acts, next, wake := rollout.Step(p, s, obs)
	if diff := cmp.Diff(want, acts); diff != "" {
		t.Fatalf("Step at %s in phase %s: actions (-want +got):\n%s", obs.Now.Format(time.TimeOnly), s.Phase, diff)
	}
	if !next.WakeAt.Equal(wake) {
		t.Fatalf("Step: state wakes at %s, step returned %s", next.WakeAt, wake)
	}
	return next, wake
}

func wantPhase(t *testing.T, s rollout.State, phase rollout.Phase, outcome rollout.Outcome) {
	t.Helper()
	if s.Phase != phase || s.Outcome != outcome {
		t.Fatalf("got phase %q outcome %q (%s), want %q %q", s.Phase, s.Outcome, s.Reason, phase, outcome)
	}
}

func wantWake(t *testing.T, got, want time.Time) {
	t.Helper()
	if !got.Equal(want) {
		t.Fatalf("wake: got %s, want %s", got.Format(time.TimeOnly), want.Format(time.TimeOnly))
	}
}

// --- rolling ---

// stampRolling takes a rolling rollout through the stamp to a started
// refresh.
func stampRolling(t *testing.T, p rollout.Policy, spec string) rollout.State {
	t.Helper()
	s := begin(p, spec)
	create := rollout.Action{Kind: rollout.CreateVersion, LaunchTemplate: lt, Version: baseVer, Image: newAMI}
	s, wake := step(t, p, s, rollout.Observation{Now: t0}, []rollout.Action{create})
	wantWake(t, wake, t0)
	s = s.Record(create, rollout.Result{Version: newVer})
	var want []rollout.Action
	if spec != "3" {
		want = append(want, rollout.Action{Kind: rollout.SetGroupVersion, Group: blue, LaunchTemplate: lt, Version: baseVer})
	}
	want = append(want,
		rollout.Action{Kind: rollout.SetDefaultVersion, LaunchTemplate: lt, Version: newVer},
		rollout.Action{Kind: rollout.PutParameter, Image: newAMI})
	s, wake = step(t, p, s, rollout.Observation{Now: t0}, want)
	wantPhase(t, s, rollout.PhaseRefresh, "")
	wantWake(t, wake, t0)
	start := rollout.Action{Kind: rollout.StartRefresh, Group: blue, LaunchTemplate: lt, Version: newVer, SkipMatching: true, AutoRollback: true}
	s, wake = step(t, p, s, rollout.Observation{Now: t0}, []rollout.Action{start})
	wantWake(t, wake, t0.Add(time.Minute))
	return s.Record(start, rollout.Result{RefreshID: refreshID})
}

func refreshObs(at time.Time, id, status string, onNew int) rollout.Observation {
	return rollout.Observation{
		Now:     at,
		Refresh: &rollout.Refresh{ID: id, Status: status},
		From:    rollout.Group{Name: blue, Desired: 2, InService: 2, Versions: map[string]int{"3": 2 - onNew, "4": onNew}},
	}
}

func TestRollingStampPinsSymbolicVersions(t *testing.T) {
	for _, spec := range []string{"3", "$Default", "$Latest"} {
		t.Run(spec, func(t *testing.T) {
			s := stampRolling(t, rollingPolicy(), spec)
			if s.RefreshID != refreshID || s.Version != newVer {
				t.Errorf("got refresh %q version %d, want %q %d", s.RefreshID, s.Version, refreshID, newVer)
			}
		})
	}
}

func TestRollingSucceeds(t *testing.T) {
	p := rollingPolicy()
	s := stampRolling(t, p, "3")
	s, wake := step(t, p, s, refreshObs(t0.Add(time.Minute), refreshID, rollout.RefreshInProgress, 1), nil)
	wantWake(t, wake, t0.Add(2*time.Minute))
	s, wake = step(t, p, s, refreshObs(t0.Add(2*time.Minute), refreshID, rollout.RefreshSuccessful, 2),
		[]rollout.Action{{Kind: rollout.SetGroupVersion, Group: blue, LaunchTemplate: lt, Version: newVer}})
	wantPhase(t, s, rollout.PhaseDone, rollout.Succeeded)
	wantWake(t, wake, time.Time{})
	if s.Holds() || s.Serving("web-blue") != blue {
		t.Errorf("after success: holds %v, serving %q; want no hold on %q", s.Holds(), s.Serving(blue), blue)
	}
}

func TestRollingRefreshEndsBadly(t *testing.T) {
	tests := []struct {
		name   string
		status string
		onNew  int // instances on the new version when the revert looks
		// then is how the revert ends.
		then rollout.Outcome
	}{
		{name: "auto rollback succeeded", status: rollout.RefreshRollbackSuccessful, then: rollout.RolledBack},
		{name: "failed without rollback leaves instances", status: rollout.RefreshFailed, onNew: 1, then: rollout.RolledBack},
		{name: "rollback failed", status: rollout.RefreshRollbackFailed, onNew: 2, then: rollout.RolledBack},
		{name: "cancelled by someone else", status: rollout.RefreshCancelled, onNew: 1, then: rollout.RolledBack},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := rollingPolicy()
			s := stampRolling(t, p, "3")
			at := t0.Add(10 * time.Minute)
			s, _ = step(t, p, s, refreshObs(at, refreshID, tt.status, tt.onNew), restored(true))
			wantPhase(t, s, rollout.PhaseRevert, "")
			at = at.Add(time.Minute)
			if tt.onNew == 0 {
				s, _ = step(t, p, s, refreshObs(at, refreshID, tt.status, 0), groupVersionBack())
				wantPhase(t, s, rollout.PhaseDone, tt.then)
				return
			}
			// Instances left on the new version: a refresh back to the old.
			s, _ = step(t, p, s, refreshObs(at, refreshID, tt.status, tt.onNew), []rollout.Action{{
				Kind: rollout.StartRefresh, Group: blue, LaunchTemplate: lt, Version: baseVer, SkipMatching: true,
			}})
			s = s.Record(rollout.Action{Kind: rollout.StartRefresh}, rollout.Result{RefreshID: "revert-1"})
			s, _ = step(t, p, s, refreshObs(at.Add(time.Minute), "revert-1", rollout.RefreshInProgress, 1), nil)
			wantPhase(t, s, rollout.PhaseRevert, "")
			s, _ = step(t, p, s, refreshObs(at.Add(2*time.Minute), "revert-1", rollout.RefreshSuccessful, 0), groupVersionBack())
			wantPhase(t, s, rollout.PhaseDone, tt.then)
			if !strings.Contains(s.Reason, tt.status) {
				t.Errorf("reason %q: want it to name the refresh status %q", s.Reason, tt.status)
			}
		})
	}
}

func TestRollingRevertRefreshFails(t *testing.T) {
	p := rollingPolicy()
	s := stampRolling(t, p, "3")
	s, _ = step(t, p, s, refreshObs(t0.Add(5*time.Minute), refreshID, rollout.RefreshFailed, 1), restored(true))
	s, _ = step(t, p, s, refreshObs(t0.Add(6*time.Minute), refreshID, rollout.RefreshFailed, 1), []rollout.Action{{
		Kind: rollout.StartRefresh, Group: blue, LaunchTemplate: lt, Version: baseVer, SkipMatching: true,
	}})
	s = s.Record(rollout.Action{Kind: rollout.StartRefresh}, rollout.Result{RefreshID: "revert-1"})
	s, _ = step(t, p, s, refreshObs(t0.Add(9*time.Minute), "revert-1", rollout.RefreshFailed, 1), groupVersionBack())
	wantPhase(t, s, rollout.PhaseDone, rollout.Failed)
}

func TestRollingAbort(t *testing.T) {
	p := rollingPolicy()
	s := stampRolling(t, p, "3")
	s, err := rollout.Control(p, s, rollout.Abort, "bad canary", t0.Add(3*time.Minute))
	if err != nil {
		t.Fatalf("Control abort: %v", err)
	}
	// Not the group's version while the refresh runs (Auto Scaling may
	// refuse it then, and the refresh's rollback restores it): after.
	want := append([]rollout.Action{{Kind: rollout.RollbackRefresh, Group: blue}}, restored(false)...)
	s, _ = step(t, p, s, refreshObs(t0.Add(3*time.Minute), refreshID, rollout.RefreshInProgress, 1), want)
	wantPhase(t, s, rollout.PhaseRevert, "")
	s, _ = step(t, p, s, refreshObs(t0.Add(4*time.Minute), refreshID, rollout.RefreshRollbackInProgress, 1), nil)
	s, _ = step(t, p, s, refreshObs(t0.Add(5*time.Minute), refreshID, rollout.RefreshRollbackSuccessful, 0), groupVersionBack())
	wantPhase(t, s, rollout.PhaseDone, rollout.RolledBack)
	if !strings.Contains(s.Reason, "bad canary") {
		t.Errorf("reason %q: want the operator's reason", s.Reason)
	}
}

func TestRollingPauseResume(t *testing.T) {
	p := rollingPolicy()
	s := stampRolling(t, p, "3")
	s, err := rollout.Control(p, s, rollout.Pause, "look at logs", t0.Add(2*time.Minute))
	if err != nil {
		t.Fatalf("Control pause: %v", err)
	}
	s, _ = step(t, p, s, refreshObs(t0.Add(2*time.Minute), refreshID, rollout.RefreshInProgress, 1),
		[]rollout.Action{{Kind: rollout.CancelRefresh, Group: blue}})
	s, _ = step(t, p, s, refreshObs(t0.Add(3*time.Minute), refreshID, rollout.RefreshCancelled, 1), nil)
	wantPhase(t, s, rollout.PhaseRefresh, "")
	if s.RefreshID != "" {
		t.Fatalf("refresh id after the pause: got %q, want none", s.RefreshID)
	}
	// While paused nothing starts.
	s, _ = step(t, p, s, rollout.Observation{Now: t0.Add(30 * time.Minute)}, nil)
	s, err = rollout.Control(p, s, rollout.Resume, "", t0.Add(31*time.Minute))
	if err != nil {
		t.Fatalf("Control resume: %v", err)
	}
	s, _ = step(t, p, s, rollout.Observation{Now: t0.Add(31 * time.Minute)}, []rollout.Action{{
		Kind: rollout.StartRefresh, Group: blue, LaunchTemplate: lt, Version: newVer, SkipMatching: true, AutoRollback: true,
	}})
	s = s.Record(rollout.Action{Kind: rollout.StartRefresh}, rollout.Result{RefreshID: "refresh-2"})
	s, _ = step(t, p, s, refreshObs(t0.Add(40*time.Minute), "refresh-2", rollout.RefreshSuccessful, 2),
		[]rollout.Action{{Kind: rollout.SetGroupVersion, Group: blue, LaunchTemplate: lt, Version: newVer}})
	wantPhase(t, s, rollout.PhaseDone, rollout.Succeeded)
}

func TestRollingReplaceMatching(t *testing.T) {
	p := rollingPolicy()
	p.Rolling.ReplaceMatching = true
	s := begin(p, "3")
	s, _ = step(t, p, s, rollout.Observation{Now: t0}, []rollout.Action{{Kind: rollout.CreateVersion, LaunchTemplate: lt, Version: baseVer, Image: newAMI}})
	s = s.Record(rollout.Action{Kind: rollout.CreateVersion}, rollout.Result{Version: newVer})
	s, _ = step(t, p, s, rollout.Observation{Now: t0}, []rollout.Action{
		{Kind: rollout.SetDefaultVersion, LaunchTemplate: lt, Version: newVer}, {Kind: rollout.PutParameter, Image: newAMI},
	})
	step(t, p, s, rollout.Observation{Now: t0}, []rollout.Action{{
		Kind: rollout.StartRefresh, Group: blue, LaunchTemplate: lt, Version: newVer, SkipMatching: false, AutoRollback: true,
	}})
}

func TestBlindLookChangesNothing(t *testing.T) {
	p := rollingPolicy()
	s := stampRolling(t, p, "3")
	obs := refreshObs(t0.Add(time.Minute), refreshID, rollout.RefreshSuccessful, 2)
	obs.Err = "describing instance refresh: throttled"
	next, _ := step(t, p, s, obs, nil)
	wantPhase(t, next, rollout.PhaseRefresh, "")
}

func TestAbortBeforeAnyChange(t *testing.T) {
	for _, p := range []rollout.Policy{rollingPolicy(), blueGreenPolicy()} {
		t.Run(string(p.Strategy), func(t *testing.T) {
			s := begin(p, "3")
			s, err := rollout.Control(p, s, rollout.Abort, "", t0)
			if err != nil {
				t.Fatalf("Control abort: %v", err)
			}
			// Nothing is on record as changed, but a stamp cut short before
			// its save may have changed it: every setter goes back.
			want := restored(p.Strategy == rollout.StrategyRolling)
			if p.Strategy == rollout.StrategyBlueGreen {
				want = append(want, emptied(green))
			}
			s, _ = step(t, p, s, rollout.Observation{Now: t0}, want)
			wantPhase(t, s, rollout.PhaseDone, rollout.RolledBack)
		})
	}
}

// --- blue/green ---

type obsMod func(*rollout.Observation)

func bgObs(at time.Time, mods ...obsMod) rollout.Observation {
	o := rollout.Observation{
		Now:         at,
		From:        rollout.Group{Name: blue, Min: 1, Max: 4, Desired: 2, InService: 2, Versions: map[string]int{"3": 2}},
		To:          rollout.Group{Name: green, Min: 1, Max: 4, Desired: 2, InService: 2, Versions: map[string]int{"4": 2}},
		FromTargets: rollout.Targets{Healthy: 2, Total: 2},
		ToTargets:   rollout.Targets{Healthy: 2, Total: 2},
		Alarms:      []rollout.Alarm{{Name: "web-5xx", State: "OK"}, {Name: "web-latency", State: "INSUFFICIENT_DATA"}},
	}
	for _, m := range mods {
		m(&o)
	}
	return o
}

func alarmFiring(name string) obsMod {
	return func(o *rollout.Observation) {
		for i := range o.Alarms {
			if o.Alarms[i].Name == name {
				o.Alarms[i].State = rollout.AlarmFiring
			}
		}
	}
}

func greenHealthy(healthy, total, inService int) obsMod {
	return func(o *rollout.Observation) {
		o.ToTargets = rollout.Targets{Healthy: healthy, Total: total}
		o.To.InService = inService
	}
}

// greenAt sets green's size, its healthy targets and those launching; the
// rest of its instances are in service with failing health checks.
func greenAt(desired, healthy, launching int) obsMod {
	return func(o *rollout.Observation) {
		o.To.Desired, o.To.InService, o.To.Launching = desired, desired-launching, launching
		o.To.Versions = map[string]int{"4": desired}
		o.ToTargets = rollout.Targets{Healthy: healthy, Total: desired - launching}
	}
}

// idleGreen is green before the stamp: empty.
func idleGreen(o *rollout.Observation) {
	o.To.Desired, o.To.InService, o.To.Versions = 0, 0, nil
	o.ToTargets = rollout.Targets{}
}

func blueAt(desired, healthy int) obsMod {
	return func(o *rollout.Observation) {
		o.From.Desired, o.From.InService = desired, desired
		o.From.Versions = map[string]int{"3": desired}
		o.FromTargets = rollout.Targets{Healthy: healthy, Total: healthy}
	}
}

// stampBlueGreen takes a blue/green rollout into the warm phase at t0.
func stampBlueGreen(t *testing.T, p rollout.Policy) rollout.State {
	t.Helper()
	s := begin(p, "3")
	create := rollout.Action{Kind: rollout.CreateVersion, LaunchTemplate: lt, Version: baseVer, Image: newAMI}
	s, _ = step(t, p, s, bgObs(t0, idleGreen), []rollout.Action{create})
	s = s.Record(create, rollout.Result{Version: newVer})
	s, wake := step(t, p, s, bgObs(t0, idleGreen), []rollout.Action{
		{Kind: rollout.SetDefaultVersion, LaunchTemplate: lt, Version: newVer},
		{Kind: rollout.PutParameter, Image: newAMI},
		{Kind: rollout.SetGroupVersion, Group: green, LaunchTemplate: lt, Version: newVer},
		{Kind: rollout.Resize, Group: green, Size: rollout.Size{Min: 1, Max: 4, Desired: 2}},
	})
	wantPhase(t, s, rollout.PhaseWarm, "")
	wantWake(t, wake, t0.Add(time.Minute))
	return s
}

// toStep takes a blue/green rollout to the start of step k (0-based); it
// returns the state and the time the step began.
func toStep(t *testing.T, p rollout.Policy, k int) (rollout.State, time.Time) {
	t.Helper()
	s := stampBlueGreen(t, p)
	at := t0.Add(time.Minute)
	s, _ = step(t, p, s, bgObs(at), []rollout.Action{weights(90, 10)})
	wantPhase(t, s, rollout.PhaseShift, "")
	pcts := []int{10, 50, 100}
	for i := 1; i <= k; i++ {
		at = at.Add(5 * time.Minute)
		s, _ = step(t, p, s, bgObs(at), []rollout.Action{weights(100-pcts[i], pcts[i])})
	}
	if s.Shifted != pcts[k] {
		t.Fatalf("shifted: got %d%%, want %d%%", s.Shifted, pcts[k])
	}
	return s, at
}

func TestBlueGreenSucceeds(t *testing.T) {
	p := blueGreenPolicy()
	s := stampBlueGreen(t, p)
	// Green comes up: not all targets healthy yet.
	s, wake := step(t, p, s, bgObs(t0.Add(time.Minute), greenHealthy(1, 2, 2)), nil)
	wantWake(t, wake, t0.Add(2*time.Minute))
	s, wake = step(t, p, s, bgObs(t0.Add(2*time.Minute)), []rollout.Action{weights(90, 10)})
	wantWake(t, wake, t0.Add(3*time.Minute))
	// Bake: looks every poll interval, moves on when the bake ends.
	s, wake = step(t, p, s, bgObs(t0.Add(6*time.Minute+30*time.Second)), nil)
	wantWake(t, wake, t0.Add(7*time.Minute))
	s, _ = step(t, p, s, bgObs(t0.Add(7*time.Minute)), []rollout.Action{weights(50, 50)})
	s, _ = step(t, p, s, bgObs(t0.Add(12*time.Minute)), []rollout.Action{weights(0, 100)})
	if got := s.Serving(blue); got != blue {
		t.Errorf("serving during the shift: got %q, want %q", got, blue)
	}
	s, wake = step(t, p, s, bgObs(t0.Add(17*time.Minute)), []rollout.Action{emptied(blue)})
	wantPhase(t, s, rollout.PhaseRetain, "")
	// Retention looks every poll interval: green must keep carrying, blue
	// must stay empty.
	wantWake(t, wake, t0.Add(18*time.Minute))
	if got := s.Serving(blue); got != green || !s.Holds() {
		t.Errorf("retaining: serving %q holds %v, want %q and a hold", got, s.Holds(), green)
	}
	// An alarm after promotion changes nothing.
	s, _ = step(t, p, s, bgObs(t0.Add(30*time.Minute), alarmFiring("web-5xx"), blueAt(0, 0)), nil)
	wantPhase(t, s, rollout.PhaseRetain, "")
	s, wake = step(t, p, s, bgObs(t0.Add(77*time.Minute), blueAt(0, 0)), nil)
	wantPhase(t, s, rollout.PhaseDone, rollout.Succeeded)
	wantWake(t, wake, time.Time{})
	if s.Live != green || s.Serving(blue) != green || s.Holds() {
		t.Errorf("done: live %q serving %q holds %v, want %q and no hold", s.Live, s.Serving(blue), s.Holds(), green)
	}
	// The next rollout moves back onto the first group.
	next := rollout.Begin(p, s, blue, rollout.Image{ID: "ami-3", Created: t0.Add(time.Hour)}, baseline("4"), t0.Add(2*time.Hour))
	if next.From.Group != green || next.To.Group != blue || next.To.TargetGroup != tgBlue {
		t.Errorf("next rollout: from %+v to %+v, want from %s to %s", next.From, next.To, green, blue)
	}
}

// TestBlueGreenAlarmRollsBackAtEachStep: an alarm during any bake sends all
// traffic back to blue, empties green and restores the default version and
// the parameter, in the same step.
func TestBlueGreenAlarmRollsBackAtEachStep(t *testing.T) {
	p := blueGreenPolicy()
	rollback := append(restored(false), weights(100, 0), emptied(green))
	for k, pct := range []int{10, 50, 100} {
		t.Run(fmt.Sprintf("step %d at %d%%", k+1, pct), func(t *testing.T) {
			s, at := toStep(t, p, k)
			// Mid-bake, then the alarm.
			s, _ = step(t, p, s, bgObs(at.Add(2*time.Minute)), nil)
			s, wake := step(t, p, s, bgObs(at.Add(3*time.Minute), alarmFiring("web-latency")), rollback)
			wantPhase(t, s, rollout.PhaseDone, rollout.RolledBack)
			wantWake(t, wake, time.Time{})
			if !strings.Contains(s.Reason, "web-latency") || !strings.Contains(s.Reason, fmt.Sprintf("%d%%", pct)) {
				t.Errorf("reason %q: want the alarm and the step %d%%", s.Reason, pct)
			}
			if s.Live != blue || s.Shifted != 0 {
				t.Errorf("after rollback: live %q shifted %d, want %q 0", s.Live, s.Shifted, blue)
			}
		})
	}
}

func TestBlueGreenAlarmDuringFinalStepWithBlueScaledIn(t *testing.T) {
	// At 100 % blue takes no traffic; if it has lost instances, traffic goes
	// back as its healthy targets can carry it: half with one of two.
	p := blueGreenPolicy()
	s, at := toStep(t, p, 2)
	at = at.Add(time.Minute)
	s, _ = step(t, p, s, bgObs(at, alarmFiring("web-5xx"), blueAt(1, 1)), append(restored(false),
		rollout.Action{Kind: rollout.Resize, Group: blue, Size: rollout.Size{Min: 1, Max: 4, Desired: 2}}, weights(50, 50)))
	wantPhase(t, s, rollout.PhaseRestore, "")
	s, _ = step(t, p, s, bgObs(at.Add(time.Minute), blueAt(2, 1)), nil)
	s, _ = step(t, p, s, bgObs(at.Add(2*time.Minute), blueAt(2, 2)), []rollout.Action{weights(100, 0), emptied(green)})
	wantPhase(t, s, rollout.PhaseDone, rollout.RolledBack)
}

func TestBlueGreenAbortDuringBake(t *testing.T) {
	p := blueGreenPolicy()
	s, at := toStep(t, p, 1)
	s, err := rollout.Control(p, s, rollout.Abort, "customer complaints", at.Add(time.Minute))
	if err != nil {
		t.Fatalf("Control abort: %v", err)
	}
	s, _ = step(t, p, s, bgObs(at.Add(time.Minute)), append(restored(false), weights(100, 0), emptied(green)))
	wantPhase(t, s, rollout.PhaseDone, rollout.RolledBack)
	if !strings.Contains(s.Reason, "customer complaints") {
		t.Errorf("reason %q: want the operator's reason", s.Reason)
	}
}

func TestBlueGreenWarmTimesOut(t *testing.T) {
	p := blueGreenPolicy()
	s := stampBlueGreen(t, p)
	for m := 1; m < 10; m++ {
		s, _ = step(t, p, s, bgObs(t0.Add(time.Duration(m)*time.Minute), greenHealthy(1, 2, 2)), nil)
	}
	s, _ = step(t, p, s, bgObs(t0.Add(10*time.Minute), greenHealthy(1, 2, 2)), append(restored(false), weights(100, 0), emptied(green)))
	wantPhase(t, s, rollout.PhaseDone, rollout.RolledBack)
	if !strings.Contains(s.Reason, "1/2 targets healthy") {
		t.Errorf("reason %q: want the target count", s.Reason)
	}
}

func TestBlueGreenWarmWaitsOutAnAlarm(t *testing.T) {
	p := blueGreenPolicy()
	s := stampBlueGreen(t, p)
	s, _ = step(t, p, s, bgObs(t0.Add(time.Minute), alarmFiring("web-5xx")), nil)
	wantPhase(t, s, rollout.PhaseWarm, "")
	s, _ = step(t, p, s, bgObs(t0.Add(2*time.Minute)), []rollout.Action{weights(90, 10)})
	wantPhase(t, s, rollout.PhaseShift, "")
	// An alarm that outlasts the health timeout ends the rollout before any
	// traffic moved.
	s = stampBlueGreen(t, p)
	s, _ = step(t, p, s, bgObs(t0.Add(10*time.Minute), alarmFiring("web-5xx")), append(restored(false), weights(100, 0), emptied(green)))
	wantPhase(t, s, rollout.PhaseDone, rollout.RolledBack)
}

func TestBlueGreenPauseResume(t *testing.T) {
	p := blueGreenPolicy()
	s, at := toStep(t, p, 0)
	s, err := rollout.Control(p, s, rollout.Pause, "", at.Add(time.Minute))
	if err != nil {
		t.Fatalf("Control pause: %v", err)
	}
	// Well past the bake: paused, nothing moves.
	s, _ = step(t, p, s, bgObs(at.Add(20*time.Minute)), nil)
	if s.Shifted != 10 {
		t.Fatalf("paused: shifted %d%%, want 10%%", s.Shifted)
	}
	resumed := at.Add(21 * time.Minute)
	s, err = rollout.Control(p, s, rollout.Resume, "", resumed)
	if err != nil {
		t.Fatalf("Control resume: %v", err)
	}
	// The bake starts over at the resume.
	s, _ = step(t, p, s, bgObs(resumed.Add(4*time.Minute)), nil)
	s, _ = step(t, p, s, bgObs(resumed.Add(5*time.Minute)), []rollout.Action{weights(50, 50)})
	// Safety is not paused: an alarm while paused still rolls back.
	s, _ = rollout.Control(p, s, rollout.Pause, "", resumed.Add(6*time.Minute))
	s, _ = step(t, p, s, bgObs(resumed.Add(7*time.Minute), alarmFiring("web-5xx")), append(restored(false), weights(100, 0), emptied(green)))
	wantPhase(t, s, rollout.PhaseDone, rollout.RolledBack)
}

func TestBlueGreenPromote(t *testing.T) {
	p := blueGreenPolicy()
	s, at := toStep(t, p, 0)
	s, err := rollout.Control(p, s, rollout.Promote, "looks good", at.Add(time.Minute))
	if err != nil {
		t.Fatalf("Control promote: %v", err)
	}
	s, wake := step(t, p, s, bgObs(at.Add(time.Minute)), []rollout.Action{weights(0, 100), emptied(blue)})
	wantPhase(t, s, rollout.PhaseRetain, "")
	wantWake(t, wake, at.Add(2*time.Minute))
	// A second promote ends the retention now.
	s, err = rollout.Control(p, s, rollout.Promote, "", at.Add(2*time.Minute))
	if err != nil {
		t.Fatalf("Control promote in retention: %v", err)
	}
	s, _ = step(t, p, s, bgObs(at.Add(2*time.Minute), blueAt(0, 0)), nil)
	wantPhase(t, s, rollout.PhaseDone, rollout.Succeeded)
}

func TestBlueGreenPromoteWhileWarming(t *testing.T) {
	p := blueGreenPolicy()
	s := stampBlueGreen(t, p)
	s, _ = rollout.Control(p, s, rollout.Promote, "", t0.Add(30*time.Second))
	// Promotion never skips the health gate.
	s, _ = step(t, p, s, bgObs(t0.Add(time.Minute), greenHealthy(0, 2, 0)), nil)
	s, _ = step(t, p, s, bgObs(t0.Add(2*time.Minute)), []rollout.Action{weights(0, 100), emptied(blue)})
	wantPhase(t, s, rollout.PhaseRetain, "")
}

func TestBlueGreenAbortDuringRetention(t *testing.T) {
	p := blueGreenPolicy()
	s, at := toStep(t, p, 2)
	s, _ = step(t, p, s, bgObs(at.Add(5*time.Minute)), []rollout.Action{emptied(blue)})
	wantPhase(t, s, rollout.PhaseRetain, "")
	at = at.Add(20 * time.Minute)
	s, _ = step(t, p, s, bgObs(at.Add(-time.Minute), blueAt(0, 0)), nil)
	s, _ = rollout.Control(p, s, rollout.Abort, "regression found", at)
	grow := rollout.Action{Kind: rollout.Resize, Group: blue, Size: rollout.Size{Min: 1, Max: 4, Desired: 2}}
	s, _ = step(t, p, s, bgObs(at, blueAt(0, 0)), append(restored(false), grow))
	wantPhase(t, s, rollout.PhaseRestore, "")
	if s.Serving(blue) != green {
		t.Errorf("restoring, traffic still on green: serving %q, want %q (scale-outs go where the traffic is)", s.Serving(blue), green)
	}
	s, _ = step(t, p, s, bgObs(at.Add(time.Minute), blueAt(2, 0)), nil)
	s, _ = step(t, p, s, bgObs(at.Add(2*time.Minute), blueAt(2, 1)), []rollout.Action{weights(50, 50)})
	if s.Serving(blue) != blue {
		t.Errorf("restoring, half back on blue: serving %q, want %q", s.Serving(blue), blue)
	}
	s, _ = step(t, p, s, bgObs(at.Add(3*time.Minute), blueAt(2, 2)), []rollout.Action{weights(100, 0), emptied(green)})
	wantPhase(t, s, rollout.PhaseDone, rollout.RolledBack)
	if s.Live != blue {
		t.Errorf("live after the abort: got %q, want %q", s.Live, blue)
	}
}

func TestBlueGreenRestoreGivesUp(t *testing.T) {
	p := blueGreenPolicy()
	s, at := toStep(t, p, 2)
	s, _ = step(t, p, s, bgObs(at.Add(5*time.Minute)), []rollout.Action{emptied(blue)})
	at = at.Add(10 * time.Minute)
	s, _ = rollout.Control(p, s, rollout.Abort, "", at)
	grow := rollout.Action{Kind: rollout.Resize, Group: blue, Size: rollout.Size{Min: 1, Max: 4, Desired: 2}}
	s, _ = step(t, p, s, bgObs(at, blueAt(0, 0)), append(restored(false), grow))
	// Blue never gets a healthy target: green keeps serving, and the
	// template and parameter say so again, so launches and the next
	// deploy match it; blue is emptied.
	settled := []rollout.Action{weights(0, 100), emptied(blue),
		{Kind: rollout.SetDefaultVersion, LaunchTemplate: lt, Version: newVer}, {Kind: rollout.PutParameter, Image: newAMI}}
	s, _ = step(t, p, s, bgObs(at.Add(10*time.Minute), blueAt(2, 0)), settled)
	wantPhase(t, s, rollout.PhaseDone, rollout.Failed)
	if s.Live != green {
		t.Errorf("live when the restore gave up: got %q, want %q (traffic stayed there)", s.Live, green)
	}
}

func TestBlueGreenRestoreAtFinalStepGivesUp(t *testing.T) {
	// At 100 % before promotion, blue lost its instances and never comes
	// back: traffic stays on green, which is then the group that serves.
	p := blueGreenPolicy()
	s, at := toStep(t, p, 2)
	grow := rollout.Action{Kind: rollout.Resize, Group: blue, Size: rollout.Size{Min: 1, Max: 4, Desired: 2}}
	s, _ = step(t, p, s, bgObs(at.Add(time.Minute), alarmFiring("web-5xx"), blueAt(0, 0)), append(restored(false), grow))
	settled := []rollout.Action{weights(0, 100), emptied(blue),
		{Kind: rollout.SetDefaultVersion, LaunchTemplate: lt, Version: newVer}, {Kind: rollout.PutParameter, Image: newAMI}}
	s, _ = step(t, p, s, bgObs(at.Add(11*time.Minute), blueAt(2, 0)), settled)
	wantPhase(t, s, rollout.PhaseDone, rollout.Failed)
	if got := s.Serving(blue); got != green {
		t.Errorf("serving after the failed restore: got %q, want %q", got, green)
	}
}

func TestBlueGreenGreenFollowsBlueCapacity(t *testing.T) {
	p := blueGreenPolicy()
	s, at := toStep(t, p, 0)
	grow := rollout.Action{Kind: rollout.Resize, Group: green, Size: rollout.Size{Min: 1, Max: 6, Desired: 5}}
	step(t, p, s, bgObs(at.Add(time.Minute), func(o *rollout.Observation) {
		o.From.Desired, o.From.Max = 5, 6
	}), []rollout.Action{grow})
}

func TestBlueGreenBlindBakeNeverAdvances(t *testing.T) {
	p := blueGreenPolicy()
	s, at := toStep(t, p, 0)
	obs := bgObs(at.Add(10 * time.Minute))
	obs.Alarms, obs.Err = nil, "describing alarms: throttled"
	s, _ = step(t, p, s, obs, nil)
	if s.Shifted != 10 {
		t.Errorf("shifted after a blind look: got %d%%, want 10%%", s.Shifted)
	}
}

// --- newer images and commands ---

func TestOffer(t *testing.T) {
	running := func(p rollout.Policy) rollout.State {
		s, _ := toStep(t, p, 1)
		return s
	}
	newer := rollout.Image{ID: "ami-3", Created: t0.Add(time.Hour)}
	newest := rollout.Image{ID: "ami-4", Created: t0.Add(2 * time.Hour)}
	older := rollout.Image{ID: "ami-0", Created: t0.Add(-time.Hour)}
	forced := rollout.Image{ID: "ami-f", Created: t0.Add(-time.Hour), Tags: map[string]string{rollout.ForceTag: "true"}}
	queue, supersede := blueGreenPolicy(), blueGreenPolicy()
	supersede.OnNewer = rollout.Supersede
	withQueued := func(p rollout.Policy) rollout.State {
		s, _, _ := rollout.Offer(p, running(p), newest, t0)
		return s
	}
	tests := []struct {
		name       string
		policy     rollout.Policy
		state      rollout.State
		img        rollout.Image
		verdict    rollout.Verdict
		wantQueued string
		wantAbort  bool
	}{
		{name: "nothing running", policy: queue, state: rollout.State{Fleet: "web"}, img: newer, verdict: rollout.Start},
		{name: "running: newer queues", policy: queue, state: running(queue), img: newer, verdict: rollout.Queued, wantQueued: "ami-3"},
		{name: "running: same image", policy: queue, state: running(queue), img: newImage(), verdict: rollout.Duplicate},
		{name: "running: older is stale", policy: queue, state: running(queue), img: older, verdict: rollout.Stale},
		{name: "running: older but forced queues", policy: queue, state: running(queue), img: forced, verdict: rollout.Queued, wantQueued: "ami-f"},
		{name: "queued: the queued image again", policy: queue, state: withQueued(queue), img: newest, verdict: rollout.Duplicate, wantQueued: "ami-4"},
		{name: "queued: older than the queued is stale", policy: queue, state: withQueued(queue), img: newer, verdict: rollout.Stale, wantQueued: "ami-4"},
		{name: "supersede: aborts the running rollout", policy: supersede, state: running(supersede), img: newer, verdict: rollout.Superseding, wantQueued: "ami-3", wantAbort: true},
		{
			name: "supersede while rolling back only queues", policy: supersede, img: newer, verdict: rollout.Queued, wantQueued: "ami-3", wantAbort: true,
			state: func() rollout.State {
				s, _ := rollout.Control(supersede, running(supersede), rollout.Abort, "", t0)
				return s
			}(),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			next, verdict, why := rollout.Offer(tt.policy, tt.state, tt.img, t0.Add(time.Minute))
			if verdict != tt.verdict {
				t.Fatalf("Offer: got %s (%s), want %s", verdict, why, tt.verdict)
			}
			got := ""
			if next.Queued != nil {
				got = next.Queued.ID
			}
			if got != tt.wantQueued {
				t.Errorf("queued: got %q, want %q", got, tt.wantQueued)
			}
			if (next.Abort != "") != tt.wantAbort {
				t.Errorf("abort: got %q, want set=%v", next.Abort, tt.wantAbort)
			}
		})
	}
}

func TestSupersedeRollsBackThenQueuedStarts(t *testing.T) {
	p := blueGreenPolicy()
	p.OnNewer = rollout.Supersede
	s, at := toStep(t, p, 1)
	newer := rollout.Image{ID: "ami-3", Created: t0.Add(time.Hour)}
	s, verdict, _ := rollout.Offer(p, s, newer, at.Add(time.Minute))
	if verdict != rollout.Superseding {
		t.Fatalf("Offer: got %s, want %s", verdict, rollout.Superseding)
	}
	s, _ = step(t, p, s, bgObs(at.Add(time.Minute)), append(restored(false), weights(100, 0), emptied(green)))
	wantPhase(t, s, rollout.PhaseDone, rollout.Superseded)
	if s.Queued == nil || s.Queued.ID != "ami-3" {
		t.Fatalf("queued after the rollback: got %+v, want ami-3", s.Queued)
	}
	next := rollout.Begin(p, s, blue, *s.Queued, baseline("3"), at.Add(2*time.Minute))
	if next.Queued != nil || next.Image.ID != "ami-3" || next.Phase != rollout.PhaseStamp || next.From.Group != blue {
		t.Errorf("next rollout: image %s phase %s from %s queued %v; want ami-3 stamping from %s, queue empty",
			next.Image.ID, next.Phase, next.From.Group, next.Queued, blue)
	}
}

func TestNewerImageEndsRetention(t *testing.T) {
	p := blueGreenPolicy()
	s, at := toStep(t, p, 2)
	s, _ = step(t, p, s, bgObs(at.Add(5*time.Minute)), []rollout.Action{emptied(blue)})
	newer := rollout.Image{ID: "ami-3", Created: t0.Add(time.Hour)}
	if _, verdict, _ := rollout.Offer(p, s, newer, at.Add(10*time.Minute)); verdict != rollout.Start {
		t.Fatalf("Offer during retention: got %s, want %s", verdict, rollout.Start)
	}
	next := rollout.Begin(p, s, blue, newer, baseline("4"), at.Add(10*time.Minute))
	if next.From.Group != green || next.To.Group != blue || next.Count != 2 {
		t.Errorf("after retention: from %s to %s count %d, want from %s to %s count 2", next.From.Group, next.To.Group, next.Count, green, blue)
	}
	if last := next.History[len(next.History)-2]; !strings.Contains(last.Note, "retention ended early") {
		t.Errorf("history: got %q, want the retention ended early", last.Note)
	}
}

func TestControlErrors(t *testing.T) {
	bg := blueGreenPolicy()
	shifting, _ := toStep(t, bg, 0)
	paused, _ := rollout.Control(bg, shifting, rollout.Pause, "", t0)
	aborting, _ := rollout.Control(bg, shifting, rollout.Abort, "", t0)
	rolling := stampRolling(t, rollingPolicy(), "3")
	tests := []struct {
		name   string
		policy rollout.Policy
		state  rollout.State
		cmd    rollout.Command
		want   error
	}{
		{name: "no rollout", policy: bg, state: rollout.State{Fleet: "web"}, cmd: rollout.Pause, want: rollout.ErrNotActive},
		{name: "resume when running", policy: bg, state: shifting, cmd: rollout.Resume, want: rollout.ErrNotApplicable},
		{name: "pause twice", policy: bg, state: paused, cmd: rollout.Pause, want: rollout.ErrNotApplicable},
		{name: "pause a rollback", policy: bg, state: aborting, cmd: rollout.Pause, want: rollout.ErrNotApplicable},
		{name: "abort twice", policy: bg, state: aborting, cmd: rollout.Abort, want: rollout.ErrNotApplicable},
		{name: "promote rolling", policy: rollingPolicy(), state: rolling, cmd: rollout.Promote, want: rollout.ErrNotApplicable},
		{name: "unknown command", policy: bg, state: shifting, cmd: "reboot", want: rollout.ErrNotApplicable},
		{name: "pause works", policy: bg, state: shifting, cmd: rollout.Pause},
		{name: "resume works", policy: bg, state: paused, cmd: rollout.Resume},
		{name: "abort while paused", policy: bg, state: paused, cmd: rollout.Abort},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			next, err := rollout.Control(tt.policy, tt.state, tt.cmd, "", t0)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Control: got %v, want %v", err, tt.want)
			}
			if err != nil && next.Steps != tt.state.Steps {
				t.Errorf("Control refused but changed the state")
			}
			if err == nil && len(next.History) != len(tt.state.History)+1 {
				t.Errorf("Control: history has %d entries, want one more than %d (every command is logged)", len(next.History), len(tt.state.History))
			}
		})
	}
}

func TestHistoryIsBounded(t *testing.T) {
	p := blueGreenPolicy()
	s, at := toStep(t, p, 0)
	for i := range 60 {
		s, _ = rollout.Control(p, s, rollout.Pause, "", at.Add(time.Duration(i)*time.Second))
		s, _ = rollout.Control(p, s, rollout.Resume, "", at.Add(time.Duration(i)*time.Second))
	}
	if got := len(s.History); got != 40 {
		t.Errorf("history: got %d entries, want 40", got)
	}
}

// A deploy may change the steps while a rollout shifts: the rollout goes
// on to the first new step above the share it reached, or is promoted
// when none is left.
func TestBlueGreenStepsChangedMidRollout(t *testing.T) {
	tests := []struct {
		name    string
		reached int   // index into the old steps 10, 50, 100
		steps   []int // after the deploy
		want    []rollout.Action
	}{
		{name: "fewer steps, share beyond all but the last", reached: 1, steps: []int{25, 100}, want: []rollout.Action{weights(0, 100)}},
		{name: "fewer steps, at 100%", reached: 2, steps: []int{50, 100}, want: []rollout.Action{emptied(blue)}},
		{name: "more steps", reached: 0, steps: []int{5, 20, 40, 100}, want: []rollout.Action{weights(80, 20)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, at := toStep(t, blueGreenPolicy(), tt.reached)
			p := blueGreenPolicy()
			p.BlueGreen.Steps = tt.steps
			step(t, p, s, bgObs(at.Add(5*time.Minute)), tt.want)
		})
	}
}

// An image a rollout rolled back is not rolled out again by a later event
// for it (an archive replay, a duplicate past its claim), through later
// rollouts too, unless it is tagged to force it.
func TestOfferRefusesARolledBackImage(t *testing.T) {
	p := rollingPolicy()
	s := stampRolling(t, p, "3")
	s, _ = step(t, p, s, refreshObs(t0.Add(5*time.Minute), refreshID, rollout.RefreshRollbackSuccessful, 0), restored(true))
	s, _ = step(t, p, s, refreshObs(t0.Add(6*time.Minute), refreshID, rollout.RefreshRollbackSuccessful, 0), groupVersionBack())
	wantPhase(t, s, rollout.PhaseDone, rollout.RolledBack)

	bad := newImage()
	forced := bad
	forced.Tags = map[string]string{rollout.ForceTag: "true"}
	other := rollout.Image{ID: "ami-3", Created: t0.Add(time.Hour)}
	if _, v, why := rollout.Offer(p, s, bad, t0.Add(time.Hour)); v != rollout.Stale {
		t.Errorf("rolled-back image: got %s (%s), want %s", v, why, rollout.Stale)
	}
	if _, v, why := rollout.Offer(p, s, forced, t0.Add(time.Hour)); v != rollout.Start {
		t.Errorf("rolled-back image, forced: got %s (%s), want %s", v, why, rollout.Start)
	}
	if _, v, why := rollout.Offer(p, s, other, t0.Add(time.Hour)); v != rollout.Start {
		t.Errorf("another image: got %s (%s), want %s", v, why, rollout.Start)
	}
	// Still refused while, and after, another image rolls out.
	next := rollout.Begin(p, s, blue, other, baseline("3"), t0.Add(time.Hour))
	if _, v, why := rollout.Offer(p, next, bad, t0.Add(2*time.Hour)); v != rollout.Stale {
		t.Errorf("during the next rollout: got %s (%s), want %s", v, why, rollout.Stale)
	}
}
