package stamper

import (
	"context"
	"errors"
	"fmt"
	"slices"
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
// stamp's own wave parameter, for the stamps after it, and an image that
// waited before img, if any, is offered in its place. Either way the
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
		// Not an error of the delivery: its retries (minutes) would end in
		// the dead-letter queue with the image recorded nowhere. The image
		// waits as for a predecessor still at work; MaxWait bounds it.
		h.Log.WarnContext(ctx, "wave of the stamp before not read: the image waits", "error", err)
		h.emit(ctx, &fleet, logging.Metric{Name: "WaveReadErrors", Value: 1, Unit: logging.Count})
	}
	d := rollout.WaveGate(*w, log, id, since, now)
	ctx = logging.With(ctx, "wave_verdict", d.Verdict, "wave_after", w.After.Stamp, "wave_image", id.String())
	next := s.WithWave(img, id, since, now, d)
	outcome := rollout.WaveHalted
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
	case rollout.WaveDrop:
		h.Log.InfoContext(ctx, "image dropped by the wave: a newer image follows", "reason", d.Reason)
		outcome = rollout.WaveSuperseded
	default:
		h.Log.WarnContext(ctx, "image halted by the wave: not rolled out", "reason", d.Reason)
		h.emit(ctx, &fleet, logging.Metric{Name: "WaveHalts", Value: 1, Unit: logging.Count})
	}
	next, err = h.recordWave(ctx, fleet, next, rollout.NewWaveRecord(id, img, outcome, d.Reason, now))
	if err != nil {
		return s, false, err
	}
	if err := h.store(ctx, fleet, next, version); err != nil {
		return s, false, err
	}
	return next, false, h.nextInLine(ctx, fleet, next, now)
}

// nextInLine offers the image that waited before the one just halted,
// dropped or refused, when s put one in its place (rollout.State.WithWave).
func (h *Handler) nextInLine(ctx context.Context, fleet config.Fleet, s rollout.State, now time.Time) error {
	if q := s.Wave; q == nil || !q.WakeAt.Equal(now) {
		return nil
	}
	return h.offer(logging.With(ctx, "image_id", s.Wave.Image.ID), fleet, s.Wave.Image)
}

// passBy records in this stamp's wave that it did not roll img out
// (skipped, rejected, superseded), so that the stamps after it need not
// wait for it, and offers the image that waited before img if img was
// the one waiting. It saves s at version when that changed it, or when
// save says the record holds news of its own.
func (h *Handler) passBy(ctx context.Context, fleet config.Fleet, s rollout.State, version int64, img rollout.Image, o rollout.WaveOutcome, reason string, save bool) error {
	now := h.Clock.Now()
	next, err := h.recordWave(ctx, fleet, s.WithoutWaiting(img, now),
		rollout.NewWaveRecord(rollout.WaveImage(img, imagebuilder.ARNTag), img, o, reason, now))
	if err != nil {
		return err
	}
	if !save && next.Wave == s.Wave && len(next.WaveUnsent) == len(s.WaveUnsent) {
		return nil
	}
	if err := h.store(ctx, fleet, next, version); err != nil {
		return err
	}
	return h.nextInLine(ctx, fleet, next, now)
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

// maxWaveUnsent bounds rollout.State.WaveUnsent.
const maxWaveUnsent = 10

// recordWave writes recs, after the records an earlier write left unsent,
// into this stamp's wave parameter and returns s without unsent records.
// A write that fails does not fail the invocation: the fleet's own
// rollout must not wait on its wave (a parameter made SecureString by
// hand, an SCP, SSM throttled for long). The records stay in
// s.WaveUnsent, counted (WaveWriteErrors), and a wave wake-up writes them
// again; only a wake-up that cannot be scheduled is an error.
func (h *Handler) recordWave(ctx context.Context, fleet config.Fleet, s rollout.State, recs ...rollout.WaveRecord) (rollout.State, error) {
	w := fleet.Rollout.Wave
	all := append(slices.Clone(s.WaveUnsent), recs...)
	if w == nil || len(all) == 0 {
		return s, nil
	}
	err := h.writeWave(ctx, *w, all)
	if err == nil {
		s.WaveUnsent, s.WaveRetryAt = nil, time.Time{}
		return s, nil
	}
	h.Log.WarnContext(ctx, "wave not recorded: written again later", "parameter", w.Parameter, "records", len(all), "error", err)
	h.emit(ctx, &fleet, logging.Metric{Name: "WaveWriteErrors", Value: 1, Unit: logging.Count})
	if n := len(all); n > maxWaveUnsent {
		all = all[n-maxWaveUnsent:]
	}
	s.WaveUnsent, s.WaveRetryAt = all, h.Clock.Now().Add(rollout.WaveRecheck)
	if err := h.Scheduler.WakeAt(ctx, rollout.WaveKey(fleet.Name), s.WaveRetryAt); err != nil {
		return s, fmt.Errorf("scheduling the wave write of fleet %s: %w", fleet.Name, err)
	}
	return s, nil
}

// writeWave merges recs into the wave parameter (read, merge, write: the
// fleet's lease keeps two writers apart, and a repeated write replaces
// its own line).
func (h *Handler) writeWave(ctx context.Context, w rollout.Wave, recs []rollout.WaveRecord) error {
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
	for _, r := range recs {
		log = log.Add(w.Stamp, r)
	}
	if err := h.Parameters.Put(ctx, w.Parameter, log.Encode()); err != nil {
		return fmt.Errorf("recording the wave of image %s: %w", recs[len(recs)-1].Image, err)
	}
	for _, r := range recs {
		h.Log.InfoContext(ctx, "wave recorded", "wave_image", r.Image, "wave_outcome", r.Outcome, "reason", r.Reason)
	}
	return nil
}

// endedRecords are the wave records of the rollouts that ended in a run.
func endedRecords(ended []rollout.State) []rollout.WaveRecord {
	var recs []rollout.WaveRecord
	for _, s := range ended {
		id := rollout.WaveImage(s.Image, imagebuilder.ARNTag)
		recs = append(recs, rollout.NewWaveRecord(id, s.Image, rollout.WaveOutcomeOf(s.Outcome), s.Reason, s.Ended))
	}
	return recs
}

// onWaveTick asks the wave again for the image waiting in the record,
// and writes again the wave records an earlier write left unsent.
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
	if !waveDue(s, t.At) {
		h.Log.InfoContext(ctx, "ignoring stale wave wake-up")
		return nil
	}
	if early, err := invocation.ForwardEarly(ctx, h.Log, h.Scheduler, h.Clock.Now(), t); early || err != nil {
		return err
	}
	key := fmt.Sprintf("rollout-wave-tick#%s@%s", fleet.Name, t.At.UTC().Format(time.RFC3339Nano))
	return h.once(ctx, fleet.Name, key, func() error {
		s, version, err := h.load(ctx, fleet.Name)
		if err != nil {
			return err
		}
		if !waveDue(s, t.At) {
			h.Log.InfoContext(ctx, "ignoring wave wake-up: the record moved on")
			return nil
		}
		if len(s.WaveUnsent) > 0 && t.At.Equal(s.WaveRetryAt) {
			next, err := h.recordWave(ctx, fleet, s)
			if err != nil {
				return err
			}
			if err := h.store(ctx, fleet, next, version); err != nil {
				return err
			}
		}
		if s.Wave == nil || !t.At.Equal(s.Wave.WakeAt) {
			return nil
		}
		return h.offer(logging.With(ctx, "image_id", s.Wave.Image.ID), fleet, s.Wave.Image)
	})
}

// waveDue reports whether a wave wake-up for at is one s waits for.
func waveDue(s rollout.State, at time.Time) bool {
	return (s.Wave != nil && at.Equal(s.Wave.WakeAt)) || (len(s.WaveUnsent) > 0 && at.Equal(s.WaveRetryAt))
}

// waveFleet returns the fleet name a wave wake-up's key (after
// rollout.KeyPrefix) names.
func waveFleet(name string) (string, bool) { return strings.CutPrefix(name, waveTickPrefix) }
