package twin

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/stampkit/stampkit/shared/event"
	"github.com/stampkit/stampkit/shared/rollout"
)

// refresh is an Auto Scaling instance refresh. It replaces the instances
// not on its image in batches, keeping the group within the healthy
// percentages of its desired capacity D ("Instance maintenance policies"
// and RefreshPreferences, Amazon EC2 Auto Scaling):
//
//   - at most maxHealthy % of D in service or pending: above 100 % Auto
//     Scaling launches replacements before it terminates what they
//     replace. Those extra instances are InService, and
//     DescribeAutoScalingGroups lists them so, while desired capacity
//     stays D;
//   - at least minHealthy % of D (rounded up) healthy: below 100 % a
//     batch terminates instances first and lets the group launch their
//     replacements.
//
// A batch is as large as both allow (at least one instance), and no larger
// than the next checkpoint needs; the next batch starts once every
// replacement has been healthy for the warm-up. At each checkpoint short
// of 100 % the refresh waits checkpointDelay ("Add checkpoints to an
// instance refresh"), announcing it with a Checkpoint Reached event.
//
// With auto-rollback and an alarm specification, an alarm going to ALARM
// fails the refresh and Auto Scaling rolls it back: the status turns
// RollbackInProgress, the group returns to the launch template version it
// had, and the instances already replaced are replaced again on the
// previous image with the same preferences; the status ends
// RollbackSuccessful. A RollbackInstanceRefresh call does the same.
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
	reason                 string
	minHealthy, maxHealthy int
	warmup                 time.Duration
	// checkpoints are the percentages replaced to wait at, next the index
	// of the next one; waitUntil ends the current wait.
	checkpoints     []int
	checkpointDelay time.Duration
	next            int
	waitUntil       time.Duration
	// ahead counts the replacements launched above desired capacity whose
	// old instances have yet to be terminated.
	ahead   int
	started time.Duration
	ended   time.Duration
	batches int
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
	detail := fmt.Sprintf("%s to %s, healthy %d-%d%%", r.id, r.image, r.minHealthy, r.maxHealthy)
	if len(r.checkpoints) > 0 {
		detail += fmt.Sprintf(", checkpoints %s held %s", strings.Trim(fmt.Sprint(r.checkpoints), "[]"), r.checkpointDelay)
	}
	f.s.res.Rollout = append(f.s.res.Rollout, RolloutEvent{At: f.s.Now(), What: "refresh started", Detail: detail})
}

// endRefresh stops the running refresh with status. Replacements launched
// ahead of their old instances stay: the group keeps its desired capacity
// and terminates the surplus, old image first.
func (f *fleet) endRefresh(status string) {
	r := f.refresh
	if r == nil {
		return
	}
	r.status, r.ended = status, f.s.now
	f.refresh = nil
	f.s.res.Rollout = append(f.s.res.Rollout, RolloutEvent{At: f.s.Now(), What: "refresh finished",
		Detail: fmt.Sprintf("%s %s: %d batches in %s", r.id, status, r.batches, (f.s.now - r.started).Round(time.Second))})
	if r.ahead > 0 {
		r.ahead = 0
		f.reconcile()
	}
	if f.s.rollout != nil {
		f.s.rollout.refreshEnded(r)
	}
}

// refreshStep advances the refresh; it runs before each step's traffic.
func (f *fleet) refreshStep() {
	r := f.refresh
	if r == nil || !f.checkAlarms(r) || f.s.now < r.waitUntil {
		return
	}
	var old []*instance
	healthyNow := 0
	for _, in := range f.live {
		switch {
		case in.state > healthy:
			continue
		case in.image != r.image:
			old = append(old, in)
		case in.state != healthy || f.s.now-in.healthyAt < r.warmup:
			return // a batch is still coming up
		}
		if in.state == healthy {
			healthyNow++
		}
	}
	slices.SortStableFunc(old, func(a, b *instance) int { return cmp.Compare(a.launched, b.launched) })
	if r.ahead > 0 {
		// The replacements launched ahead are warm: terminate the
		// instances they replace.
		n := min(r.ahead, len(old))
		f.replaced(r, old[:n])
		old, healthyNow, r.ahead = old[n:], healthyNow-n, 0
	}
	if r.batches > 0 && f.checkpoint(r) {
		return
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
	d := f.desired
	extra := max(d*r.maxHealthy/100-d, 0)
	room := max(healthyNow-(d*r.minHealthy+99)/100, 0)
	batch := min(max(extra+room, 1), len(old), f.toCheckpoint(r))
	launchFirst := min(batch, extra)
	r.ahead = launchFirst
	f.replaced(r, old[:batch-launchFirst])
	r.batches++
	f.reconcile()
}

// replaced terminates old instances of the refresh and counts them.
func (f *fleet) replaced(r *refresh, old []*instance) {
	for _, in := range old {
		f.terminate(in)
		if r.rollingBack {
			r.done = max(r.done-1, 0)
		} else {
			r.done++
		}
	}
}

// toCheckpoint is how many instances may be replaced before the next
// checkpoint is reached (all of them when none is left).
func (f *fleet) toCheckpoint(r *refresh) int {
	if r.rollingBack || r.next >= len(r.checkpoints) || r.total == 0 {
		return r.total + len(f.live)
	}
	need := (r.checkpoints[r.next]*r.total + 99) / 100
	return max(need-r.done, 1)
}

// checkpoint starts the wait at a checkpoint the refresh has reached, if
// any short of 100 %, and reports whether it waits.
func (f *fleet) checkpoint(r *refresh) bool {
	if r.rollingBack || r.total == 0 {
		return false
	}
	reached := -1
	for r.next < len(r.checkpoints) && r.done*100 >= r.checkpoints[r.next]*r.total {
		reached = r.checkpoints[r.next]
		r.next++
	}
	if reached < 0 || reached == 100 {
		return false
	}
	r.waitUntil = f.s.now + r.checkpointDelay
	f.s.res.Rollout = append(f.s.res.Rollout, RolloutEvent{At: f.s.Now(), What: RefreshCheckpoint,
		Detail: fmt.Sprintf("%s at %d%% (%d of %d replaced), waiting %s", r.id, reached, r.done, r.total, r.checkpointDelay)})
	if f.s.rollout != nil {
		f.s.rollout.refreshEvent(r, event.DetailTypeRefreshCheckpointReached)
	}
	return true
}

// RefreshCheckpoint is the timeline event of an instance refresh reaching
// a checkpoint and waiting there.
const RefreshCheckpoint = "refresh checkpoint"

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
// replaced with the refresh's preferences. A checkpoint wait ends.
func (f *fleet) rollback(why string) {
	r := f.refresh
	r.rollingBack, r.status, r.reason = true, rollout.RefreshRollbackInProgress, "rollback: "+why
	r.image, f.image, f.version = r.prevImage, r.prevImage, r.prevVersion
	r.waitUntil = 0
	f.s.res.Rollout = append(f.s.res.Rollout, RolloutEvent{At: f.s.Now(), What: RefreshRollback,
		Detail: fmt.Sprintf("%s rolling back to %s: %s", r.id, r.prevImage, why)})
	if f.s.rollout != nil {
		f.s.rollout.refreshEvent(r, event.DetailTypeRefreshRollbackStarted)
	}
}

// RefreshRollback is the timeline event of an instance refresh starting
// its rollback.
const RefreshRollback = "refresh rollback"
