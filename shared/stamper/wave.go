package stamper

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/stampkit/stampkit/shared/config"
	"github.com/stampkit/stampkit/shared/event"
	"github.com/stampkit/stampkit/shared/imagebuilder"
	"github.com/stampkit/stampkit/shared/invocation"
	"github.com/stampkit/stampkit/shared/logging"
	"github.com/stampkit/stampkit/shared/rollout"
	"github.com/stampkit/stampkit/shared/ssmparam"
)

// WaveLogs reads the wave parameter of the stamp before this one, in that
// stamp's Region (rollout.WaveStamp). A missing parameter is
// ssmparam.ErrNotFound.
type WaveLogs interface {
	Get(ctx context.Context, region, name string) (string, error)
}

var _ WaveLogs = (*ssmparam.Regions)(nil)

// waveTickPrefix marks a wave wake-up's key after rollout.KeyPrefix
// (rollout.WaveKey); fleet names have no '#'.
const waveTickPrefix = "wave#"

// gate asks the fleet's wave whether img may be offered now (rollout.WaveGate).
// When it must wait, the record keeps the image and a wake-up comes back
// to ask again; when it halts, the record says why and so does this
// stamp's own wave parameter, for the stamps after it. Either way the
// record is saved here and gate reports false.
func (h *Handler) gate(ctx context.Context, fleet config.Fleet, s rollout.State, version int64, img rollout.Image) (rollout.State, bool, error) {
	w := fleet.Rollout.Wave
	if w == nil || w.After == nil {
		return s, true, nil
	}
	now := h.Clock.Now()
	since, stale := s.WaveSince(img, now)
	if stale {
		h.Log.InfoContext(ctx, "image not rolled out: a newer image waits for the wave", "waiting_image", s.Wave.Image.ID)
		return s, false, nil
	}
	id := rollout.WaveImage(img, imagebuilder.ARNTag)
	log, err := h.waveLog(ctx, *w.After)
	if err != nil {
		return s, false, err
	}
	d := rollout.WaveGate(*w, log, id, since, now)
	ctx = logging.With(ctx, "wave_verdict", d.Verdict, "wave_after", w.After.Stamp, "wave_image", id)
	next := s.WithWave(img, id, since, now, d)
	switch d.Verdict {
	case rollout.WaveGo:
		h.Log.InfoContext(ctx, "wave lets the image through", "reason", d.Reason)
		return next, true, nil
	case rollout.WaveWait:
		if s.Wave == nil || s.Wave.Image.ID != img.ID {
			h.emit(ctx, &fleet, logging.Metric{Name: "WaveWaits", Value: 1, Unit: logging.Count})
		}
		h.Log.InfoContext(ctx, "image waits for the stamp before this one", "reason", d.Reason, "recheck_at", d.RecheckAt)
		if err := h.Scheduler.WakeAt(ctx, rollout.WaveKey(fleet.Name), d.RecheckAt); err != nil {
			return s, false, fmt.Errorf("scheduling wave check of fleet %s: %w", fleet.Name, err)
		}
		return next, false, h.store(ctx, fleet, next, version)
	default:
		h.Log.WarnContext(ctx, "image halted by the wave: not rolled out", "reason", d.Reason)
		h.emit(ctx, &fleet, logging.Metric{Name: "WaveHalts", Value: 1, Unit: logging.Count})
		rec := rollout.WaveRecord{Image: id, AMI: img.ID, Created: img.Created, Outcome: rollout.WaveHalted, Reason: d.Reason, At: now}
		if err := h.recordWave(ctx, fleet, rec); err != nil {
			return s, false, err
		}
		return next, false, h.store(ctx, fleet, next, version)
	}
}

// waveLog reads the log of the stamp before; nil when it has none yet. A
// log that does not decode is an error: the delivery retries, then goes
// to the dead-letter queue and its alarm, rather than guess.
func (h *Handler) waveLog(ctx context.Context, after rollout.WaveStamp) (*rollout.WaveLog, error) {
	if h.Waves == nil {
		return nil, fmt.Errorf("fleet waits for stamp %s, but the handler has no wave reader", after.Stamp)
	}
	raw, err := h.Waves.Get(ctx, after.Region, after.Parameter)
	if errors.Is(err, ssmparam.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the wave of stamp %s (%s in %s): %w", after.Stamp, after.Parameter, after.Region, err)
	}
	l, err := rollout.ParseWaveLog(raw)
	if err != nil {
		return nil, fmt.Errorf("reading the wave of stamp %s (%s in %s): %w", after.Stamp, after.Parameter, after.Region, err)
	}
	return &l, nil
}

// recordWave writes rec into this stamp's wave parameter (read, merge,
// write: the fleet's lease keeps two writers apart, and a repeated write
// replaces its own line).
func (h *Handler) recordWave(ctx context.Context, fleet config.Fleet, rec rollout.WaveRecord) error {
	w := fleet.Rollout.Wave
	if w == nil {
		return nil
	}
	var log rollout.WaveLog
	raw, err := h.Parameters.Get(ctx, w.Parameter)
	switch {
	case errors.Is(err, ssmparam.ErrNotFound):
	case err != nil:
		return fmt.Errorf("reading this stamp's wave %s: %w", w.Parameter, err)
	default:
		if log, err = rollout.ParseWaveLog(raw); err != nil {
			// Ours to write: start it afresh rather than stop the wave.
			h.Log.WarnContext(ctx, "this stamp's wave parameter does not decode: writing it afresh", "parameter", w.Parameter, "error", err)
		}
	}
	if err := h.Parameters.Put(ctx, w.Parameter, log.With(w.Stamp, rec).Encode()); err != nil {
		return fmt.Errorf("recording the wave of image %s: %w", rec.Image, err)
	}
	h.Log.InfoContext(ctx, "wave recorded", "wave_image", rec.Image, "wave_outcome", rec.Outcome, "reason", rec.Reason)
	return nil
}

// recordEnded writes the wave record of each rollout that ended in a run.
func (h *Handler) recordEnded(ctx context.Context, fleet config.Fleet, ended []rollout.State) error {
	for _, s := range ended {
		rec := rollout.WaveRecord{
			Image: rollout.WaveImage(s.Image, imagebuilder.ARNTag), AMI: s.Image.ID, Created: s.Image.Created,
			Outcome: rollout.WaveOutcomeOf(s.Outcome), Reason: s.Reason, At: s.Ended,
		}
		if err := h.recordWave(ctx, fleet, rec); err != nil {
			return err
		}
	}
	return nil
}

// onWaveTick asks the wave again for the image waiting in the record.
func (h *Handler) onWaveTick(ctx context.Context, name string, t *event.Tick) error {
	ctx = logging.With(ctx, "fleet", name, "due_at", t.At)
	fleet, ok, err := h.Config.FleetByName(name)
	if err != nil {
		return err
	}
	if !ok {
		h.Log.WarnContext(ctx, "ignoring wave wake-up of an unknown fleet")
		return nil
	}
	s, _, err := h.load(ctx, fleet.Name)
	if err != nil {
		return err
	}
	if s.Wave == nil || !t.At.Equal(s.Wave.WakeAt) {
		h.Log.InfoContext(ctx, "ignoring stale wave wake-up")
		return nil
	}
	if early, err := invocation.ForwardEarly(ctx, h.Log, h.Scheduler, h.Clock.Now(), t); early || err != nil {
		return err
	}
	key := fmt.Sprintf("rollout-wave-tick#%s@%s", fleet.Name, t.At.UTC().Format(time.RFC3339Nano))
	return h.once(ctx, fleet.Name, key, func() error {
		s, _, err := h.load(ctx, fleet.Name)
		if err != nil {
			return err
		}
		if s.Wave == nil || !t.At.Equal(s.Wave.WakeAt) {
			h.Log.InfoContext(ctx, "ignoring wave wake-up: the record moved on")
			return nil
		}
		return h.offer(logging.With(ctx, "image_id", s.Wave.Image.ID), fleet, s.Wave.Image)
	})
}

// waveFleet returns the fleet name a wave wake-up's key (after
// rollout.KeyPrefix) names.
func waveFleet(name string) (string, bool) { return strings.CutPrefix(name, waveTickPrefix) }
