package scaler

import (
	"context"
	"fmt"
	"runtime/debug"
	"sync"
	"time"

	"github.com/stampkit/stampkit/shared/config"
	"github.com/stampkit/stampkit/shared/event"
)

// tickWorkers bounds how many fleets one invocation evaluates at once: a
// whole tick batch (event.TickBatchSize says why ten). A tick that names
// no fleets, and so ticks every one, runs in rounds of this many.
const tickWorkers = event.TickBatchSize

// fanOut runs tick for each of fleets, tickWorkers at a time, and returns
// their results in the order of fleets. Each fleet runs on a context with
// a deadline of its own, its share of the time ctx has left (fleetShare):
// a fleet whose calls hang is cut there, and no fleet waiting for a worker
// finds the invocation's time used up by the ones before it.
//
// A fleet that panics does not stop the others; once they are done, the
// first panic goes on from here, naming its fleet and where it happened,
// so that invocation.Each still writes its one line for it.
func (h *Handler) fanOut(ctx context.Context, fleets []config.Fleet, tick func(context.Context, config.Fleet) fleetTick) []fleetTick {
	out := make([]fleetTick, len(fleets))
	if len(fleets) == 0 {
		return out
	}
	workers := min(len(fleets), tickWorkers)
	share, bounded := fleetShare(ctx, len(fleets), workers)
	run := func(f config.Fleet) fleetTick {
		fctx := ctx
		if bounded {
			var cancel context.CancelFunc
			fctx, cancel = context.WithTimeout(ctx, share)
			defer cancel()
		}
		return tick(fctx, f)
	}
	if workers == 1 {
		// One fleet: on the caller's goroutine, as before fan-out.
		out[0] = run(fleets[0])
		return out
	}

	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		panicked any
	)
	next := make(chan int)
	for range workers {
		wg.Go(func() {
			for i := range next {
				func() {
					defer func() {
						if p := recover(); p != nil {
							mu.Lock()
							if panicked == nil {
								panicked = fmt.Sprintf("fleet %s: %v\n\n%s", fleets[i].Name, p, debug.Stack())
							}
							mu.Unlock()
						}
					}()
					out[i] = run(fleets[i])
				}()
			}
		})
	}
	for i := range fleets {
		next <- i
	}
	close(next)
	wg.Wait()
	if panicked != nil {
		panic(panicked)
	}
	return out
}

// fleetShare is how long each of n fleets may take when workers evaluate
// them before ctx's deadline; bounded is false when ctx has none.
func fleetShare(ctx context.Context, n, workers int) (share time.Duration, bounded bool) {
	deadline, ok := ctx.Deadline()
	if !ok {
		return 0, false
	}
	return shareOf(time.Until(deadline), n, workers), true
}

// shareOf splits left among the rounds the busiest of workers runs to
// evaluate n fleets: a fleet that starts in the last round, however long
// the ones before it took, still has its share before the deadline. A
// tick batch (n ≤ workers) is one round, and each fleet may take all the
// time there is.
func shareOf(left time.Duration, n, workers int) time.Duration {
	rounds := (n + workers - 1) / workers
	return left / time.Duration(rounds)
}
