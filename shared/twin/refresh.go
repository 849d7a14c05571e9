package twin

import (
	"cmp"
	"fmt"
	"slices"
	"time"
)

// refresh is a simplified Auto Scaling instance refresh: it replaces the
// instances of older images in batches of (100 - MinHealthyPercentage) % of
// the group, terminating a batch first and letting the group launch the
// replacements on the new image, and starts the next batch once every
// replacement has been healthy for the warm-up. It stands in for the
// rollout core, which will drive the same fleet through its own ports.
type refresh struct {
	image   string
	started time.Duration
	batches int
}

func (f *fleet) startRefresh(image string) {
	f.image = image
	f.refresh = &refresh{image: image, started: f.s.now}
	f.s.res.Rollout = append(f.s.res.Rollout, RolloutEvent{At: f.s.Now(), What: "refresh started",
		Detail: fmt.Sprintf("min healthy %d%%", f.s.cfg.RefreshMinHealthy)})
}

// refreshStep advances the refresh; it runs before each step's traffic.
func (f *fleet) refreshStep() {
	r := f.refresh
	if r == nil {
		return
	}
	warmup := f.s.cfg.RefreshWarmup
	var old []*instance
	active := 0
	for _, in := range f.live {
		switch {
		case in.state > healthy:
			continue
		case in.image != r.image:
			old = append(old, in)
		case in.state != healthy || f.s.now-in.healthyAt < warmup:
			return // a batch is still coming up
		}
		active++
	}
	if len(old) == 0 {
		f.s.res.Rollout = append(f.s.res.Rollout, RolloutEvent{At: f.s.Now(), What: "refresh finished",
			Detail: fmt.Sprintf("%d batches in %s", r.batches, (f.s.now - r.started).Round(time.Second))})
		f.refresh = nil
		return
	}
	batch := max(1, active*(100-f.s.cfg.RefreshMinHealthy)/100)
	slices.SortStableFunc(old, func(a, b *instance) int { return cmp.Compare(a.launched, b.launched) })
	for _, in := range old[:min(batch, len(old))] {
		f.terminate(in)
	}
	r.batches++
	f.reconcile()
}
