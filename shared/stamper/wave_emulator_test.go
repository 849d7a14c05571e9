package stamper_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/stampkit/stampkit/shared/awstest/awsproxy"
	"github.com/stampkit/stampkit/shared/rollout"
	"github.com/stampkit/stampkit/shared/ssmparam"
)

// Waves in the emulator: stamp us2 (the handler, in awstest.Region) waits
// for stamp eu1, whose wave parameter lives in moto's eu-west-1 (moto
// keeps each Region's parameters apart, as SSM does). The handler reads
// it through ssmparam.Regions over the proxy, so a fault scripted there
// hits that read alone: the handler's own parameters go to moto directly.

const (
	emuBeforeRegion = "eu-west-1"
	emuBeforeWave   = "/stampkit/eu1/web/wave"
	emuOwnWave      = "/stampkit/us2/web/wave"
)

// newEmuWave is the emulator world of a blue/green fleet of stamp us2,
// after eu1, and eu1's wave parameter's writer.
func newEmuWave(t *testing.T) (*emuWorld, func(rollout.WaveOutcome, string, string)) {
	t.Helper()
	p := emuBlueGreen()
	p.Wave = &rollout.Wave{Stamp: "us2", Parameter: emuOwnWave,
		After: &rollout.WaveStamp{Stamp: "eu1", Region: emuBeforeRegion, Parameter: emuBeforeWave}}
	w := newEmuWorld(t, p, nil)
	proxied := emu.Config(t)
	w.h.Waves = ssmparam.NewRegions(func(region string) ssmparam.API {
		return ssm.NewFromConfig(proxied, func(o *ssm.Options) { o.Region = region })
	})
	w.h.Parameters = ssmparam.New(ssm.NewFromConfig(emu.MotoConfig(t)))
	eu1 := ssmparam.New(ssm.NewFromConfig(emu.MotoConfig(t), func(o *ssm.Options) { o.Region = emuBeforeRegion }))
	record := func(o rollout.WaveOutcome, image, reason string) {
		t.Helper()
		l := rollout.WaveLog{}.With("eu1", rollout.WaveRecord{Image: image, Outcome: o, Reason: reason, At: w.clock.Now()})
		if err := eu1.Put(t.Context(), emuBeforeWave, l.Encode()); err != nil {
			t.Fatalf("writing eu1's wave in %s: %v", emuBeforeRegion, err)
		}
	}
	return w, record
}

func TestWaveInTheEmulator(t *testing.T) {
	t.Run("waits, then starts once the stamp before promoted the image", func(t *testing.T) {
		w, record := newEmuWave(t)
		img := w.newImage(t, "web-2")
		w.announce(t, img)
		if s := w.state(t); s.Wave == nil || s.Wave.Image.ID != img || s.Wave.Reason != "waiting for wave: eu1" {
			t.Fatalf("record: got wave %+v, want %s waiting for wave: eu1", s.Wave, img)
		}
		if got := w.look(t); got.DefaultVersion != 1 || got.Parameter != w.fleet.ImageID {
			t.Fatalf("moto while waiting: got %s, want nothing changed", got)
		}
		// The same parameter name in this stamp's own Region is not eu1's.
		if err := ssmparam.New(ssm.NewFromConfig(emu.MotoConfig(t))).Put(t.Context(), emuBeforeWave,
			rollout.WaveLog{}.With("eu1", rollout.WaveRecord{Image: "web-2", Outcome: rollout.WavePromoted}).Encode()); err != nil {
			t.Fatal(err)
		}
		w.tick(t)
		if s := w.state(t); s.Wave == nil || s.Phase != "" {
			t.Fatalf("after a promotion recorded in the wrong Region: got phase %q wave %+v, want still waiting", s.Phase, s.Wave)
		}
		record(rollout.WavePromoted, "web-2", "")
		w.tick(t)
		s := w.state(t)
		if s.Wave != nil || !s.Active() || s.Image.ID != img {
			t.Fatalf("record: got phase %q wave %+v image %s, want the rollout of %s under way", s.Phase, s.Wave, s.Image.ID, img)
		}
		if got := w.look(t); got.DefaultVersion != 2 || got.Parameter != img {
			t.Errorf("moto after the start: got %s, want default v2 and the parameter on %s", got, img)
		}
	})

	t.Run("halts with the reason when the stamp before rolled it back", func(t *testing.T) {
		w, record := newEmuWave(t)
		img := w.newImage(t, "web-2")
		w.announce(t, img)
		record(rollout.WaveRolledBack, "web-2", "alarm web-5xx fired")
		w.tick(t)
		want := "halted: stamp eu1 rolled back image web-2: alarm web-5xx fired"
		s := w.state(t)
		if s.Phase != "" || s.Wave != nil || s.Halted == nil || s.Halted.Reason != want {
			t.Fatalf("record: got phase %q wave %+v halted %+v, want halted %q", s.Phase, s.Wave, s.Halted, want)
		}
		raw, err := w.h.Parameters.Get(t.Context(), emuOwnWave)
		if err != nil {
			t.Fatalf("reading us2's own wave: %v", err)
		}
		l, err := rollout.ParseWaveLog(raw)
		if err != nil {
			t.Fatal(err)
		}
		if r, ok := l.Find(rollout.WaveID{Name: "web-2"}); !ok || r.Outcome != rollout.WaveHalted || r.Reason != want {
			t.Errorf("us2's wave record: got %+v (found %v), want halted %q", r, ok, want)
		}
		if got := w.look(t); got.DefaultVersion != 1 || got.Parameter != w.fleet.ImageID {
			t.Errorf("moto after the halt: got %s, want nothing changed", got)
		}
	})

	t.Run("a failing read of the stamp before's Region is a wait", func(t *testing.T) {
		w, record := newEmuWave(t)
		proxy := emu.Proxy(t)
		proxy.Fail(awsproxy.Call{Service: awsproxy.SSM, Operation: "GetParameter", Nth: 1, Until: awsproxy.Forever}, awsproxy.ServerError)
		img := w.newImage(t, "web-2")
		w.announce(t, img) // no error: the delivery is not failed into the dead-letter queue
		s := w.state(t)
		if s.Wave == nil || s.Wave.Image.ID != img {
			t.Fatalf("record: got wave %+v, want %s waiting", s.Wave, img)
		}
		if wk := w.sched.last(t); wk.Key != rollout.WaveKey(emuFleet) || !wk.At.Equal(w.clock.Now().Add(rollout.WaveRecheck)) {
			t.Errorf("wake-up: got %+v, want the wave's in %s", wk, rollout.WaveRecheck)
		}
		if n := proxy.Count(awsproxy.SSM, "GetParameter"); n == 0 {
			t.Error("the read of eu1's wave never went through the proxy")
		}
		proxy.Clear()
		record(rollout.WavePromoted, "web-2", "")
		w.tick(t)
		if s := w.state(t); !s.Active() || s.Image.ID != img {
			t.Errorf("after the Region recovered: got phase %q image %s, want the rollout of %s under way", s.Phase, s.Image.ID, img)
		}
	})
}
