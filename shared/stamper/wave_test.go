package stamper_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stampkit/stampkit/shared/event"
	"github.com/stampkit/stampkit/shared/launchtemplate"
	"github.com/stampkit/stampkit/shared/rollout"
	"github.com/stampkit/stampkit/shared/ssmparam"
)

const (
	ownWave    = "/stampkit/us2/web/wave"
	beforeWave = "/stampkit/eu1/web/wave"
	// newImage is the wave identity of ami-new: its name (no Image
	// Builder ARN tag in the fakes).
	newImage = "web-2"
)

// fakeWaves is the stamp before's wave parameter, in its Region.
type fakeWaves struct {
	mu     sync.Mutex
	values map[string]string // region + name
	err    error
	reads  int
}

func (f *fakeWaves) Get(_ context.Context, region, name string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reads++
	if f.err != nil {
		return "", f.err
	}
	v, ok := f.values[region+name]
	if !ok {
		return "", ssmparam.ErrNotFound
	}
	return v, nil
}

func (f *fakeWaves) record(t *testing.T, outcome rollout.WaveOutcome, reason string) {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	l := rollout.WaveLog{}.With("eu1", rollout.WaveRecord{Image: newImage, Outcome: outcome, Reason: reason, At: t0})
	f.values["eu-west-1"+beforeWave] = l.Encode()
}

// waveHarness is a rolling fleet of stamp us2, second in its wave after
// eu1 (in eu-west-1).
func waveHarness(t *testing.T, after bool) (*harness, *fakeWaves) {
	t.Helper()
	p := rollingPolicy()
	p.Wave = &rollout.Wave{Stamp: "us2", Parameter: ownWave}
	if after {
		p.Wave.After = &rollout.WaveStamp{Stamp: "eu1", Region: "eu-west-1", Parameter: beforeWave}
	}
	hs := newHarness(t, p, false)
	w := &fakeWaves{values: map[string]string{}}
	hs.h.Waves = w
	return hs, w
}

// ownLog is this stamp's wave parameter.
func ownLog(t *testing.T, hs *harness) rollout.WaveLog {
	t.Helper()
	raw, ok := hs.aws.params[ownWave]
	if !ok {
		t.Fatalf("no wave parameter %s written", ownWave)
	}
	l, err := rollout.ParseWaveLog(raw)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestWaveWaitsThenStartsOncePredecessorPromotes(t *testing.T) {
	hs, waves := waveHarness(t, true)
	hs.handle(t, amiEvent(t, "ev-1", newAMI, "available"))
	wantEffects(t, hs)
	s, _ := hs.state(t)
	if s.Wave == nil || s.Wave.Image.ID != newAMI || s.Wave.Reason != "waiting for wave: eu1" {
		t.Fatalf("record: got wave %+v, want ami-new waiting for wave: eu1", s.Wave)
	}
	w := hs.aws.lastWake(t)
	if w.Key != rollout.WaveKey(fleetName) || !w.At.Equal(t0.Add(rollout.WaveRecheck)) {
		t.Fatalf("wake-up: got %+v, want %s at %s", w, rollout.WaveKey(fleetName), t0.Add(rollout.WaveRecheck))
	}
	// A duplicate delivery of the event changes nothing.
	hs.handle(t, amiEvent(t, "ev-1", newAMI, "available"))
	wantEffects(t, hs)
	if n := len(hs.aws.wakes); n != 1 {
		t.Errorf("wake-ups after a duplicate event: got %d, want 1", n)
	}

	// Still running in eu1 at the first recheck: wait again, same start.
	hs.tick(t)
	wantEffects(t, hs)
	again, _ := hs.state(t)
	if again.Wave == nil || !again.Wave.Since.Equal(t0) || !again.Wave.WakeAt.Equal(t0.Add(2*rollout.WaveRecheck)) {
		t.Fatalf("after a recheck: got wave %+v, want since %s, next at %s", again.Wave, t0, t0.Add(2*rollout.WaveRecheck))
	}

	waves.record(t, rollout.WavePromoted, "")
	hs.tick(t)
	wantEffects(t, hs,
		"CreateVersionWithImage lt-0123 3 ami-new",
		"SetDefaultVersion lt-0123 4",
		"PutImage /stampkit/web/ami ami-new",
		"StartInstanceRefresh web-blue lt-0123 4",
	)
	started := wantPhase(t, hs, rollout.PhaseRefresh, "")
	if started.Wave != nil {
		t.Errorf("wave after the start: got %+v, want none", started.Wave)
	}
	// The wave wake-up that comes late, or twice, finds nothing waiting.
	hs.handle(t, tickBody(t, rollout.WaveKey(fleetName), t0.Add(2*rollout.WaveRecheck)))
	wantEffects(t, hs)
}

func TestWaveHaltsWhenPredecessorRolledBack(t *testing.T) {
	hs, waves := waveHarness(t, true)
	hs.handle(t, amiEvent(t, "ev-1", newAMI, "available"))
	waves.record(t, rollout.WaveRolledBack, "alarm web-5xx fired")
	hs.tick(t)
	want := "halted: stamp eu1 rolled back image web-2: alarm web-5xx fired"
	s, _ := hs.state(t)
	if s.Phase != "" || s.Wave != nil || s.Halted == nil || s.Halted.Reason != want {
		t.Fatalf("record: got phase %q wave %+v halted %+v, want no rollout, halted %q", s.Phase, s.Wave, s.Halted, want)
	}
	if got := s.History[len(s.History)-1].Note; got != want {
		t.Errorf("history: got %q, want %q", got, want)
	}
	// The halt travels on: this stamp's own parameter says so.
	r, ok := ownLog(t, hs).Find(rollout.WaveID{Name: newImage})
	if !ok || r.Outcome != rollout.WaveHalted || r.Reason != want {
		t.Errorf("own wave record: got %+v, want halted with %q", r, want)
	}
	for _, e := range hs.aws.Effects() {
		if !strings.HasPrefix(e, "Put "+ownWave) {
			t.Errorf("effect: got %q, want only the wave parameter written", e)
		}
	}
	if got := hs.metric(t, "WaveHalts"); got != 1 {
		t.Errorf("WaveHalts: got %v, want 1", got)
	}
}

func TestWaveGate(t *testing.T) {
	tests := []struct {
		name     string
		after    bool
		before   rollout.WaveOutcome // "" leaves the parameter out
		starts   bool
		halted   bool
		readsLog bool
	}{
		{name: "first stamp starts at once", after: false, starts: true},
		{name: "predecessor promoted it", after: true, before: rollout.WavePromoted, starts: true, readsLog: true},
		{name: "predecessor halted it", after: true, before: rollout.WaveHalted, halted: true, readsLog: true},
		{name: "predecessor has no wave yet", after: true, readsLog: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hs, waves := waveHarness(t, tt.after)
			if tt.before != "" {
				waves.record(t, tt.before, "halted: stamp ap1 rolled back image web-2: alarm")
			}
			hs.handle(t, amiEvent(t, "ev-1", newAMI, "available"))
			s, _ := hs.state(t)
			if got := s.Phase == rollout.PhaseRefresh; got != tt.starts {
				t.Errorf("started: got %v (phase %q), want %v", got, s.Phase, tt.starts)
			}
			if got := s.Halted != nil; got != tt.halted {
				t.Errorf("halted: got %+v, want %v", s.Halted, tt.halted)
			}
			if got := waves.reads > 0; got != tt.readsLog {
				t.Errorf("read the predecessor's wave: got %v, want %v", got, tt.readsLog)
			}
		})
	}
}

// A read error of the predecessor's parameter is a wait, not a failed
// delivery: the delivery's retries would end in the dead-letter queue
// with the image recorded nowhere.
func TestWaveReadErrorWaits(t *testing.T) {
	hs, waves := waveHarness(t, true)
	waves.err = errors.New("ThrottlingException: Rate exceeded")
	hs.handle(t, amiEvent(t, "ev-1", newAMI, "available"))
	s, _ := hs.state(t)
	if s.Wave == nil || s.Wave.Image.ID != newAMI {
		t.Fatalf("record: got wave %+v, want ami-new waiting", s.Wave)
	}
	if w := hs.aws.lastWake(t); w.Key != rollout.WaveKey(fleetName) {
		t.Errorf("wake-up: got %+v, want the wave's", w)
	}
	if got := hs.metric(t, "WaveReadErrors"); got != 1 {
		t.Errorf("WaveReadErrors: got %v, want 1", got)
	}
	hs.tick(t) // still failing: waits on
	waves.err = nil
	waves.record(t, rollout.WavePromoted, "")
	hs.tick(t)
	wantPhase(t, hs, rollout.PhaseRefresh, "")

	t.Run("MaxWait still halts", func(t *testing.T) {
		hs, waves := waveHarness(t, true)
		waves.err = errors.New("RequestTimeout")
		hs.handle(t, amiEvent(t, "ev-1", newAMI, "available"))
		hs.clock.Add(rollout.DefaultWaveMaxWait)
		hs.tick(t)
		s, _ := hs.state(t)
		if s.Wave != nil || s.Halted == nil || !strings.Contains(s.Halted.Reason, "did not finish") {
			t.Errorf("got wave %+v halted %+v, want halted: did not finish", s.Wave, s.Halted)
		}
	})
}

// The predecessor promotes N, then rolls back N+1, which came here while
// N waited: N still rolls out here, in N+1's place.
func TestWaveFallsBackToTheImagePredecessorPromoted(t *testing.T) {
	hs, waves := waveHarness(t, true)
	hs.aws.images["ami-newer"] = launchtemplate.Image{ID: "ami-newer", Name: "web-3", State: "available", Architecture: "arm64",
		CreationDate: t0, RootEncrypted: true, Tags: map[string]string{rollout.FleetTag: fleetName, "commit": "ccc"}}
	hs.handle(t, amiEvent(t, "ev-1", newAMI, "available"))
	hs.handle(t, amiEvent(t, "ev-2", "ami-newer", "available"))
	if s, _ := hs.state(t); s.Wave == nil || s.Wave.Image.ID != "ami-newer" || len(s.Wave.Older) != 1 {
		t.Fatalf("after N+1 came: got %+v, want N+1 waiting and N in line", s.Wave)
	}
	l := rollout.WaveLog{}.
		With("eu1", rollout.WaveRecord{Image: newImage, Outcome: rollout.WavePromoted, At: t0}).
		With("eu1", rollout.WaveRecord{Image: "web-3", Outcome: rollout.WaveRolledBack, Reason: "alarm", At: t0.Add(time.Hour)})
	waves.values["eu-west-1"+beforeWave] = l.Encode()
	hs.tick(t)
	wantEffects(t, hs,
		`Put /stampkit/us2/web/wave {"stamp":"us2","records":[{"image":"web-3","ami":"ami-newer","created":"2026-11-25T12:00:00Z","outcome":"halted","reason":"halted: stamp eu1 rolled back image web-3: alarm","at":"2026-11-25T12:05:00Z"}]}`,
		"CreateVersionWithImage lt-0123 3 ami-new",
		"SetDefaultVersion lt-0123 4",
		"PutImage /stampkit/web/ami ami-new",
		"StartInstanceRefresh web-blue lt-0123 4",
	)
	s := wantPhase(t, hs, rollout.PhaseRefresh, "")
	if s.Image.ID != newAMI || s.Wave != nil || s.Halted == nil || s.Halted.AMI != "ami-newer" {
		t.Errorf("record: got image %s wave %+v halted %+v, want ami-new rolling, ami-newer halted", s.Image.ID, s.Wave, s.Halted)
	}
}

// A wave parameter that cannot be written never holds the fleet's own
// rollout: the record ends, and the wave record waits in it for a retry.
func TestWaveWriteFailureDoesNotHoldTheRollout(t *testing.T) {
	hs, _ := waveHarness(t, false)
	hs.handle(t, amiEvent(t, "ev-1", newAMI, "available"))
	hs.clock.Add(20 * time.Minute)
	hs.aws.setRefresh("refresh-1", rollout.RefreshSuccessful, 2, "4")
	hs.aws.fail("Put", errors.New("ValidationException: Standard tier parameters support a maximum parameter value of 4096 characters"))
	hs.handle(t, refreshEvent(t, "ev-2", event.DetailTypeRefreshSucceeded, "refresh-1"))
	s, _ := hs.state(t)
	if s.Active() || len(s.WaveUnsent) != 1 || s.WaveUnsent[0].Outcome != rollout.WavePromoted {
		t.Fatalf("record: got phase %s unsent %+v, want ended, the promotion unsent", s.Phase, s.WaveUnsent)
	}
	if got := hs.metric(t, "WaveWriteErrors"); got != 1 {
		t.Errorf("WaveWriteErrors: got %v, want 1", got)
	}
	w := hs.aws.lastWake(t)
	if w.Key != rollout.WaveKey(fleetName) || !w.At.Equal(s.WaveRetryAt) {
		t.Fatalf("wake-up: got %+v, want the wave's at %s", w, s.WaveRetryAt)
	}
	hs.tick(t)
	if r, ok := ownLog(t, hs).Find(rollout.WaveID{Name: newImage}); !ok || r.Outcome != rollout.WavePromoted {
		t.Errorf("own wave record after the retry: got %+v (found %v), want promoted", r, ok)
	}
	if s, _ := hs.state(t); len(s.WaveUnsent) != 0 {
		t.Errorf("unsent after the retry: got %+v, want none", s.WaveUnsent)
	}
}

// A stamp that does not roll an image out says so, so that the stamp
// after it does not wait MaxWait for nothing.
func TestWaveRecordsImagesPassedBy(t *testing.T) {
	tests := []struct {
		name    string
		dryRun  bool
		image   string
		outcome rollout.WaveOutcome
	}{
		{name: "dry run", dryRun: true, image: newAMI, outcome: rollout.WaveSkipped},
		{name: "rejected by the checks", image: "ami-untagged", outcome: rollout.WaveRejected},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := rollingPolicy()
			p.Wave = &rollout.Wave{Stamp: "us2", Parameter: ownWave}
			hs := newHarness(t, p, tt.dryRun)
			hs.aws.images["ami-untagged"] = launchtemplate.Image{ID: "ami-untagged", Name: "web-9", State: "available", Architecture: "arm64",
				CreationDate: t0, RootEncrypted: true, Tags: map[string]string{rollout.FleetTag: fleetName}}
			hs.handle(t, amiEvent(t, "ev-1", tt.image, "available"))
			r, ok := ownLog(t, hs).Find(rollout.WaveID{Name: hs.aws.images[tt.image].Name})
			if !ok || r.Outcome != tt.outcome {
				t.Errorf("own wave record: got %+v (found %v), want %s", r, ok, tt.outcome)
			}
		})
	}
}

func TestWaveRecordsEndedRollouts(t *testing.T) {
	tests := []struct {
		name    string
		status  string
		event   string
		onNew   int
		outcome rollout.WaveOutcome
	}{
		{name: "promoted", status: rollout.RefreshSuccessful, event: event.DetailTypeRefreshSucceeded, onNew: 2, outcome: rollout.WavePromoted},
		{name: "rolled back", status: rollout.RefreshRollbackSuccessful, event: event.DetailTypeRefreshFailed, outcome: rollout.WaveRolledBack},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hs, _ := waveHarness(t, false)
			hs.handle(t, amiEvent(t, "ev-1", newAMI, "available"))
			if _, ok := hs.aws.params[ownWave]; ok {
				t.Fatal("wave written when the rollout began, want when it ends")
			}
			hs.clock.Add(20 * time.Minute)
			hs.aws.setRefresh("refresh-1", tt.status, tt.onNew, "4")
			hs.handle(t, refreshEvent(t, "ev-2", tt.event, "refresh-1"))
			for range 3 { // a rollback takes steps more
				if s, _ := hs.state(t); !s.Active() {
					break
				}
				hs.tick(t)
			}
			s, _ := hs.state(t)
			if s.Active() {
				t.Fatalf("rollout still in phase %s", s.Phase)
			}
			r, ok := ownLog(t, hs).Find(rollout.WaveID{Name: newImage})
			if !ok || r.Outcome != tt.outcome || r.AMI != newAMI {
				t.Errorf("wave record: got %+v (found %v), want %s of %s", r, ok, tt.outcome, newAMI)
			}
		})
	}
}
