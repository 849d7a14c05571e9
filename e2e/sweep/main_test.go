package sweep_test

import (
	"flag"
	"os"
	"testing"

	"github.com/stampkit/stampkit/shared/awstest"
)

// emulators are the sweep's local AWS emulators, each a moto process of its
// own: the faulted runs of a scenario take turns on them two at a time
// (go test's -parallel, GOMAXPROCS by default), since a run spends most of
// its time waiting (a call held until the invocation's deadline) and moto
// serves one request at a time. Each run has one to itself: Fresh wipes it.
var emulators = make(chan *awstest.Emulator, 2)

// sweepOut, when set, is a file the sweep writes its table to (Markdown),
// for the README to quote: go test ./e2e/sweep -args -sweep.out=FILE.
var sweepOut = flag.String("sweep.out", "", "write the sweep's table of operations × faults to this file (Markdown)")

// SweepEnv selects the sweep's extent: "full" puts every fault kind on every
// AWS call of every scenario; anything else (CI) one fault kind on the first
// call of each distinct operation of each scenario, the kinds taken in turn.
const SweepEnv = "STAMPKIT_SWEEP"

func TestMain(m *testing.M) {
	all := []*awstest.Emulator{awstest.New(), awstest.New()}
	for _, e := range all {
		emulators <- e
	}
	code := m.Run()
	for _, e := range all {
		e.Stop()
	}
	os.Exit(code)
}

// emulator lends t an emulator of its own until t ends.
func emulator(t testing.TB) *awstest.Emulator {
	e := <-emulators
	t.Cleanup(func() { emulators <- e })
	return e
}
