package stamp

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"

	"github.com/stampkit/stampkit/infra/stampconfig"
)

// FunctionOptions overrides one of the stamp's Lambdas (HandlerNames).
// Zero fields keep the stamp's choice.
type FunctionOptions struct {
	// MemoryMiB is the function's memory, 128..10240 MiB (default
	// DefaultMemoryMiB). Lambda gives CPU in proportion to it.
	MemoryMiB int
	// Timeout is the function's timeout, 1 s..15 min (defaults: scaler
	// 30 s, lifecycle LifecycleTimeout, rollout 1 min). The lifecycle wake
	// queue's visibility timeout follows the lifecycle function's, and each
	// fleet's lifecycle timing is checked against it (Config.Validate).
	Timeout time.Duration
	// LogRetention is how long the function's log group keeps its logs
	// (default: Config.LogRetentionDays).
	LogRetention awslogs.RetentionDays
	// ReservedConcurrency reserves concurrency for the function (default:
	// none, or Config.ScalerReservedConcurrency for the scaler).
	ReservedConcurrency int
}

// DefaultMemoryMiB is every function's memory unless FunctionOptions say
// otherwise. The handlers are I/O-bound: more buys little but cold start.
const DefaultMemoryMiB = 256

// checkFunctionOptions panics naming the first option Lambda would refuse.
func checkFunctionOptions(who string, byName map[string]FunctionOptions) {
	for _, name := range slices.Sorted(maps.Keys(byName)) {
		o := byName[name]
		switch {
		case !slices.Contains(HandlerNames(), name):
			panic(fmt.Sprintf("%s: Functions[%q]: want one of %v", who, name, HandlerNames()))
		case o.MemoryMiB != 0 && (o.MemoryMiB < 128 || o.MemoryMiB > 10240):
			panic(fmt.Sprintf("%s: Functions[%q].MemoryMiB: got %d, want 128..10240", who, name, o.MemoryMiB))
		case o.Timeout != 0 && (o.Timeout < time.Second || o.Timeout > 15*time.Minute || o.Timeout%time.Second != 0):
			panic(fmt.Sprintf("%s: Functions[%q].Timeout: got %v, want whole seconds from 1s to 15m", who, name, o.Timeout))
		case o.ReservedConcurrency < 0:
			panic(fmt.Sprintf("%s: Functions[%q].ReservedConcurrency: got %d, want >= 0", who, name, o.ReservedConcurrency))
		}
	}
}

// lifecycleTimeout is the lifecycle function's timeout under byName.
func lifecycleTimeout(byName map[string]FunctionOptions) time.Duration {
	return cmp.Or(byName["lifecycle"].Timeout, LifecycleTimeout)
}

// applyTo returns spec with o's overrides, and the stamp's defaults
// where neither says otherwise.
func (o FunctionOptions) applyTo(spec functionSpec, retention awslogs.RetentionDays) functionSpec {
	spec.memoryMiB = cmp.Or(o.MemoryMiB, DefaultMemoryMiB)
	spec.logRetention = cmp.Or(o.LogRetention, retention)
	spec.reserved = cmp.Or(o.ReservedConcurrency, spec.reserved)
	if o.Timeout != 0 {
		spec.timeout = o.Timeout
		// A visibility tied to the timeout follows it; the six-fold
		// default (zero) follows by itself.
		if spec.wakeVisibility != 0 {
			spec.wakeVisibility = stampconfig.WakeVisibility(o.Timeout)
		}
	}
	return spec
}
