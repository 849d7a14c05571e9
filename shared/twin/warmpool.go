package twin

import (
	"context"
	"fmt"
	"math"
	"time"
)

// WarmPool is an Auto Scaling warm pool of stopped, pre-initialised
// instances in front of the configured group
// (https://docs.aws.amazon.com/autoscaling/ec2/userguide/ec2-auto-scaling-warm-pools.html).
// An instance launched into the pool boots once, waits at the launch hook
// (Destination WarmPool) and is stopped; a scale-out starts a stopped
// instance instead of launching one, and the launch hook holds it again
// (Origin WarmPool) until the application answers. Stopped instances are
// not billed (their volumes are, which the cost leaves out).
type WarmPool struct {
	// MinSize is the fewest instances the pool keeps.
	MinSize int
	// MaxPrepared is the group's MaxGroupPreparedCapacity: desired capacity
	// plus pool at most. Zero leaves it unset, which AWS reads as the
	// group's maximum. The pool holds max(MinSize, MaxPrepared - desired).
	MaxPrepared int
	// StartMedian is the median time to start a stopped instance until it
	// has booted (log-normal, with Config.LaunchSpread).
	StartMedian time.Duration
}

// DefaultWarmPool keeps size instances of cfg's group stopped and ready:
// MinSize size, and MaxPrepared at the group's minimum, so that the pool
// never grows past MinSize (AWS sizes it max(MinSize, MaxPrepared -
// desired)). A stopped instance starts in a median 25 s.
func DefaultWarmPool(cfg Config, size int) *WarmPool {
	return &WarmPool{MinSize: size, MaxPrepared: max(cfg.Min, 1), StartMedian: 25 * time.Second}
}

func (w WarmPool) validate() error {
	if w.MinSize < 0 || w.StartMedian <= 0 || w.MaxPrepared < 0 {
		return fmt.Errorf("min size %d, max prepared %d, start median %v: need min size and max prepared >= 0, start median > 0", w.MinSize, w.MaxPrepared, w.StartMedian)
	}
	return nil
}

// poolTarget is how many instances the pool should hold at the group's
// current desired capacity.
func (f *fleet) poolTarget() int {
	prepared := f.pool.MaxPrepared
	if prepared == 0 {
		prepared = f.max
	}
	return max(f.pool.MinSize, prepared-f.desired)
}

// topUpPool launches instances into the pool or releases stopped ones
// until it holds its target; stopped instances of an image the group no
// longer launches are released first, as an instance refresh replaces the
// pool too.
func (f *fleet) topUpPool() {
	if f.pool == nil {
		return
	}
	n := 0
	var stopped []*instance
	for _, in := range f.live {
		switch in.state {
		case warm:
			if in.image != f.image {
				f.gone(in)
				continue
			}
			stopped = append(stopped, in)
			n++
		case warming:
			n++
		}
	}
	target := f.poolTarget()
	for ; n < target; n++ {
		f.launchToPool()
	}
	// Surplus: the newest stopped instances go first (warming ones finish).
	for i := len(stopped) - 1; i >= 0 && n > target; i-- {
		f.gone(stopped[i])
		n--
	}
}

// launchToPool launches an instance into the warm pool: it boots, passes
// the launch hook and is stopped.
func (f *fleet) launchToPool() {
	in := f.newInstance()
	in.state, in.launched, in.runFrom = warming, f.s.now, f.s.now
	in.booted = f.s.now + f.s.draw(f.s.cfg.LaunchMedian)
	if f.s.hooks != nil {
		f.s.hooks.hold(in, Launching)
		return
	}
	f.s.at(in.booted, prioFleet, func(context.Context) {
		if in.state == warming {
			f.hold(in, Launching, func() { f.stopInPool(in) })
		}
	})
}

// stopInPool stops a warming instance once its first boot is done: the
// twin lets the boot (and the user data that pre-initialises the
// instance) finish even if the hook completed earlier.
func (f *fleet) stopInPool(in *instance) {
	stop := func() {
		if in.state != warming {
			return
		}
		in.state = warm
		f.billed += f.s.now - max(in.runFrom, 0)
		in.stopped = true
	}
	if f.s.now >= in.booted {
		stop()
		return
	}
	f.s.at(in.booted, prioFleet, func(context.Context) { stop() })
}

// fromPool starts a stopped instance of the group's image for a scale-out;
// false when the pool has none.
func (f *fleet) fromPool() bool {
	if f.pool == nil {
		return false
	}
	for _, in := range f.live {
		if in.state != warm || in.image != f.image {
			continue
		}
		in.state, in.stopped, in.fromPool, in.runFrom = pending, false, true, f.s.now
		in.booted = f.s.now + f.s.draw(f.pool.StartMedian)
		if f.s.hooks != nil {
			f.s.hooks.hold(in, Launching)
			return true
		}
		f.s.at(in.booted, prioFleet, func(context.Context) {
			if in.state == pending {
				f.hold(in, Launching, func() { f.enterService(in) })
			}
		})
		return true
	}
	return false
}

// draw is a log-normal duration around median with the launch spread.
func (s *sim) draw(median time.Duration) time.Duration {
	return time.Duration(float64(median) * math.Exp(s.cfg.LaunchSpread*s.launchRNG.NormFloat64()))
}
