// Package sweep holds the fault sweep (issue #16): each of seven scenarios
// (alarm scale-out and scale-in; launch gate; terminate drain; rolling
// rollout; blue/green shift and promotion; blue/green abort mid-shift) runs
// the real handlers in-process, built as their main.go builds them over the
// real adapters, against the local AWS emulator (moto) through the test's
// AWS proxy, on a manual clock. It runs clean once, recording every AWS
// call; then, for each call and each fault kind, again from scratch with
// that fault on that call, redelivering failed events as Lambda and SQS
// would, and compares the end state with the clean run's.
//
// `go test` runs a deterministic subset: the first call of each distinct
// operation of each scenario, with one fault kind each, the kinds taken in
// turn. STAMPKIT_SWEEP=full (`make chaos`) puts every fault kind on every
// call. `go test -short` skips it; without moto it skips unless
// STAMPKIT_REQUIRE_EMULATOR=1. The package has no code outside its tests.
package sweep
