package twin

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"github.com/stampkit/stampkit/shared/rollout"
)

// refresh is a simplified Auto Scaling instance refresh: it replaces the
// instances not on its image in batches of (100 - minHealthy) % of the
// group, terminating a batch first and letting the group launch the
// replacements on the new image, and starts the next batch once every
// replacement has been healthy for the warm-up. The real rollout handler
// starts and follows it through the twin's Groups port; checkpoints,
// max healthy above 100 % and alarm-driven rollback are not modelled.
type refresh struct {
	id         string
	image      string
	version    string
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
	if r == nil {
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
		r.done = r.total
		f.endRefresh(rollout.RefreshSuccessful)
		return
	}
	batch := max(1, active*(100-r.minHealthy)/100)
	slices.SortStableFunc(old, func(a, b *instance) int { return cmp.Compare(a.launched, b.launched) })
	for _, in := range old[:min(batch, len(old))] {
		f.terminate(in)
		r.done++
	}
	r.batches++
	f.reconcile()
}
