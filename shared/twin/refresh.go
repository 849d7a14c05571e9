package twin

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"github.com/stampkit/stampkit/shared/event"
	"github.com/stampkit/stampkit/shared/rollout"
)

// refresh is a simplified Auto Scaling instance refresh: it replaces the
// instances not on its image in batches of (100 - minHealthy) % of the
// group, terminating a batch first and letting the group launch the
// replacements on the new image, and starts the next batch once every
// replacement has been healthy for the warm-up. The real rollout handler
// starts and follows it through the twin's Groups port.
//
// With auto-rollback and an alarm specification, an alarm going to ALARM
// fails the refresh and Auto Scaling rolls it back: the status turns
// RollbackInProgress, the group returns to the launch template version it
// had, the instances already replaced are replaced again on the previous
// image in the same batches, and the status ends RollbackSuccessful. A
// RollbackInstanceRefresh call does the same. Checkpoints and max healthy
// above 100 % are not modelled.
type refresh struct {
	id      string
	image   string
	version string
	// prevImage and prevVersion are what the group ran before: what a
	// rollback restores.
	prevImage, prevVersion string
	// alarms fail the refresh; autoRollback then rolls it back.
	alarms       []string
	autoRollback bool
	rollingBack  bool
	// reason is the refresh's status reason once it rolls back.
	reason     string
	minHealthy int
	warmup     time.Duration
	started    time.Duration
	ended      time.Duration
	batches    int
	// total is the number of instances to replace when it started; done
	// those replaced so far.
	total, done int
	status      string
}

// startRefresh starts r on the fleet: launches from now on use its image.
func (f *fleet) startRefresh(r *refresh) {
	r.prevImage, r.prevVersion = f.image, f.version
	f.image = r.image
	r.started, r.status = f.s.now, rollout.RefreshInProgress
	for _, in := range f.live {
		if in.state <= healthy && in.image != r.image {
			r.total++
		}
	}
	f.refresh = r
	f.s.res.Rollout = append(f.s.res.Rollout, RolloutEvent{At: f.s.Now(), What: "refresh started",
		Detail: fmt.Sprintf("%s to %s, min healthy %d%%", r.id, r.image, r.minHealthy)})
}

// endRefresh stops the running refresh with status.
func (f *fleet) endRefresh(status string) {
	r := f.refresh
	if r == nil {
		return
	}
	r.status, r.ended = status, f.s.now
	f.refresh = nil
	f.s.res.Rollout = append(f.s.res.Rollout, RolloutEvent{At: f.s.Now(), What: "refresh finished",
		Detail: fmt.Sprintf("%s %s: %d batches in %s", r.id, status, r.batches, (f.s.now - r.started).Round(time.Second))})
	if f.s.rollout != nil {
		f.s.rollout.refreshEnded(r)
	}
}

// refreshStep advances the refresh; it runs before each step's traffic.
func (f *fleet) refreshStep() {
	r := f.refresh
	if r == nil || !f.checkAlarms(r) {
		return
	}
	var old []*instance
	active := 0
	for _, in := range f.live {
		switch {
		case in.state > healthy:
			continue
		case in.image != r.image:
			old = append(old, in)
		case in.state != healthy || f.s.now-in.healthyAt < r.warmup:
			return // a batch is still coming up
		}
		active++
	}
	if len(old) == 0 {
		if r.rollingBack {
			f.endRefresh(rollout.RefreshRollbackSuccessful)
			return
		}
		r.done = r.total
		f.endRefresh(rollout.RefreshSuccessful)
		return
	}
	batch := max(1, active*(100-r.minHealthy)/100)
	slices.SortStableFunc(old, func(a, b *instance) int { return cmp.Compare(a.launched, b.launched) })
	for _, in := range old[:min(batch, len(old))] {
		f.terminate(in)
		if r.rollingBack {
			r.done = max(r.done-1, 0)
		} else {
			r.done++
		}
	}
	r.batches++
	f.reconcile()
}

// checkAlarms fails a forward refresh one of whose alarms is in ALARM, as
// Auto Scaling does while it monitors them; with auto-rollback on, the
// refresh rolls back. It reports whether the refresh went on unchanged.
func (f *fleet) checkAlarms(r *refresh) bool {
	if r.rollingBack {
		return true
	}
	for _, name := range r.alarms {
		w, ok := f.s.cw.alarms[name]
		if !ok || w.state != rollout.AlarmFiring {
			continue
		}
		if !r.autoRollback {
			f.endRefresh(rollout.RefreshFailed)
			return false
		}
		f.rollback("alarm " + name + " in ALARM")
		return false
	}
	return true
}

// rollback turns the running refresh around: the group goes back to the
// version and image it had, and the instances on the new image are
// replaced in the refresh's batches.
func (f *fleet) rollback(why string) {
	r := f.refresh
	r.rollingBack, r.status, r.reason = true, rollout.RefreshRollbackInProgress, "rollback: "+why
	r.image, f.image, f.version = r.prevImage, r.prevImage, r.prevVersion
	f.s.res.Rollout = append(f.s.res.Rollout, RolloutEvent{At: f.s.Now(), What: RefreshRollback,
		Detail: fmt.Sprintf("%s rolling back to %s: %s", r.id, r.prevImage, why)})
	if f.s.rollout != nil {
		f.s.rollout.refreshEvent(r, event.DetailTypeRefreshRollbackStarted)
	}
}

// RefreshRollback is the timeline event of an instance refresh starting
// its rollback.
const RefreshRollback = "refresh rollback"
