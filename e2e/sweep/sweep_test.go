package sweep_test

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/stampkit/stampkit/shared/awsclient/lambdaenv"
	"github.com/stampkit/stampkit/shared/awstest"
	"github.com/stampkit/stampkit/shared/awstest/awsproxy"
)

// faultKind is a fault the sweep puts on one call: on every attempt the
// SDK makes of it (its retries exhausted, so the invocation fails and its
// delivery is retried), or once.
type faultKind struct {
	name  string
	fault awsproxy.Fault
	every bool
}

var kinds = []faultKind{
	{name: "throttle", fault: awsproxy.Throttle, every: true},
	{name: "5xx", fault: awsproxy.ServerError, every: true},
	{name: "reset", fault: awsproxy.Reset, every: true},
	{name: "drop", fault: awsproxy.DropResponse},
	{name: "timeout", fault: awsproxy.Timeout},
}

// op is an AWS operation as the proxy names it.
type op struct{ service, operation string }

func (o op) String() string { return o.service + " " + o.operation }

// injection is one faulted run's fault: kind on the clean run's k-th call,
// the nth call of its operation.
type injection struct {
	k    int
	op   op
	nth  int
	kind faultKind
}

func (i injection) call() awsproxy.Call {
	c := awsproxy.Call{Service: i.op.service, Operation: i.op.operation, Nth: i.nth}
	if i.kind.every {
		c.Until = i.nth + lambdaenv.DefaultMaxAttempts - 1
	}
	return c
}

func (i injection) String() string {
	return fmt.Sprintf("%s on call %d (%s #%d)", i.kind.name, i.k+1, i.op, i.nth)
}

// result is what one run of a scenario left.
type result struct {
	end         endState
	before      endState // the abort scenario: before the rollout began
	calls       []awsproxy.Record
	invocations []invoked
	dead        []*delivery
	leftovers   []string
	overrun     string
	virtual     time.Duration
}

// play runs sc from scratch, with inj's fault (none when nil).
func play(t *testing.T, sc scenario, inj *injection) result {
	t.Helper()
	w := setUp(t, sc)
	if inj != nil {
		w.proxy.Fail(inj.call(), inj.kind.fault)
	}
	w.run()
	return result{
		end: w.snapshot(), before: w.before, calls: w.proxy.Calls()[w.firstCall:], invocations: w.invocations, dead: w.dead,
		leftovers: w.leftovers(), overrun: w.overrun, virtual: w.clock.Now().Sub(w.start),
	}
}

// violations are the ways r breaks issue #16 §2 against the clean run.
func violations(sc scenario, clean, r result) []string {
	var v []string
	if r.overrun != "" {
		v = append(v, "waits forever: "+r.overrun)
	}
	for _, d := range r.dead {
		v = append(v, fmt.Sprintf("gave up: %s dead-lettered after %d tries: %v", d, d.tries, lastErr(r, d)))
		errs, effects := 0, 0
		for _, inv := range r.invocations {
			if inv.d == d {
				errs += inv.errorLines
				effects += inv.effectsFailed
			}
		}
		if errs == 0 || effects == 0 {
			v = append(v, fmt.Sprintf("give-up not visible: %s wrote %d ERROR lines and %d EffectsFailed records", d, errs, effects))
		}
	}
	for _, inv := range r.invocations {
		if inv.err != nil && inv.errorLines == 0 && !inv.timedOut {
			v = append(v, fmt.Sprintf("failure not visible: %s failed with no ERROR line: %v", inv.d, inv.err))
		}
	}
	if d := cmp.Diff(clean.end, r.end); d != "" {
		v = append(v, "end state differs from the clean run (-clean +faulted):\n"+d)
	}
	if sc.abort {
		if d := cmp.Diff(r.before.restored(), r.end.restored()); d != "" {
			v = append(v, "the abort did not restore the fleet (-before +after):\n"+d)
		}
	}
	for _, l := range r.leftovers {
		v = append(v, "left in the state table: "+l)
	}
	return v
}

func lastErr(r result, d *delivery) error {
	var err error
	for _, inv := range r.invocations {
		if inv.d == d {
			err = inv.err
		}
	}
	return err
}

// plan lists a scenario's faulted runs: every fault kind on every call of
// the clean run (full); or (CI) one on the first call of each distinct
// operation, the kinds taken in turn from offset, so that every kind meets
// every scenario and, across scenarios, an operation meets several kinds.
func plan(calls []awsproxy.Record, full bool, offset int) []injection {
	var out []injection
	seen := map[op]int{}
	for k, c := range calls {
		o := op{c.Service, c.Operation}
		seen[o]++
		switch {
		case strings.HasPrefix(c.Code, "upstream"):
			// The emulator dropped the connection: not a call of the
			// scenario's, and absent from the next run.
		case full:
			for _, kind := range kinds {
				out = append(out, injection{k: k, op: o, nth: seen[o], kind: kind})
			}
		case seen[o] == 1:
			out = append(out, injection{k: k, op: o, nth: 1, kind: kinds[(offset+len(out))%len(kinds)]})
		}
	}
	return out
}

// tally is one row of the sweep's table: an operation, and per fault kind
// the runs tried, those that needed a redelivery, and the violations.
type tally struct {
	tried, redelivered, violations map[string]int
	scenarios                      map[string]bool
}

// TestSweep is the fault sweep. Each scenario runs clean first (and must
// succeed by itself); then once per planned fault, from scratch.
func TestSweep(t *testing.T) {
	full := os.Getenv(SweepEnv) == "full"
	began := time.Now()
	var mu sync.Mutex // the faulted runs of a scenario run in parallel
	rows := map[op]*tally{}
	var found []string
	runs := 0
	for i, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			var clean result
			if !t.Run("clean", func(t *testing.T) {
				clean = play(t, sc, nil)
				checkClean(t, sc, clean)
			}) {
				t.Fatalf("the clean run failed: nothing to compare with")
			}
			injections := plan(clean.calls, full, i)
			t.Logf("%s: %d AWS calls, %d invocations, %s virtual; %d faulted runs", sc.name, len(clean.calls), len(clean.invocations), clean.virtual, len(injections))
			for _, inj := range injections {
				t.Run(fmt.Sprintf("%s/%03d-%s-%s", inj.kind.name, inj.k+1, inj.op.operation, inj.op.service), func(t *testing.T) {
					t.Parallel()
					r := play(t, sc, &inj)
					mu.Lock()
					defer mu.Unlock()
					runs++
					row := rows[inj.op]
					if row == nil {
						row = &tally{tried: map[string]int{}, redelivered: map[string]int{}, violations: map[string]int{}, scenarios: map[string]bool{}}
						rows[inj.op] = row
					}
					row.tried[inj.kind.name]++
					row.scenarios[sc.name] = true
					if slices.ContainsFunc(r.invocations, func(i invoked) bool { return i.err != nil }) {
						row.redelivered[inj.kind.name]++
					}
					if !slices.ContainsFunc(r.calls, func(c awsproxy.Record) bool { return c.Fault != "" }) {
						// The run is the clean one up to the faulted call.
						t.Errorf("%s: %s never fired: the run left the clean run's path before it", sc.name, inj)
					}
					if v := violations(sc, clean, r); len(v) > 0 {
						row.violations[inj.kind.name]++
						msg := fmt.Sprintf("%s: %s: %s", sc.name, inj, strings.Join(v, "\n  "))
						found = append(found, msg)
						t.Errorf("%s\ninvocations:\n%s", msg, describe(r))
					}
				})
			}
		})
	}
	table := render(rows, runs, len(found), full, time.Since(began))
	t.Logf("fault sweep:\n%s", table)
	if *sweepOut != "" {
		if err := os.WriteFile(*sweepOut, []byte(table), 0o644); err != nil {
			t.Errorf("writing %s: %v", *sweepOut, err)
		}
	}
}

// checkClean fails t unless the clean run did what the scenario is for, by
// itself: no invocation failed, nothing was left over.
func checkClean(t *testing.T, sc scenario, r result) {
	t.Helper()
	for _, inv := range r.invocations {
		if inv.err != nil {
			t.Errorf("clean run: %s failed: %v", inv.d, inv.err)
		}
	}
	if r.overrun != "" || len(r.dead) > 0 || len(r.leftovers) > 0 {
		t.Errorf("clean run: overrun %q, dead %v, left over %v", r.overrun, r.dead, r.leftovers)
	}
	if want, ok := wantEnd[sc.name]; ok {
		if got := want(r.end); got != "" {
			t.Errorf("clean run: %s\nend state %+v", got, r.end)
		}
	}
	if sc.abort {
		if d := cmp.Diff(r.before.restored(), r.end.restored()); d != "" {
			t.Errorf("clean run: the abort did not restore the fleet (-before +after):\n%s", d)
		}
	}
	t.Logf("clean run: end state %+v\n%s", r.end, describe(r))
}

// wantEnd says what each scenario's clean run must end with.
var wantEnd = map[string]func(endState) string{
	"scale-out": func(s endState) string {
		return expect(s.Groups["stampkit-web"], fmt.Sprintf("1/4/%d on v1", awstest.FleetDesired+1))
	},
	"scale-in": func(s endState) string {
		return expect(s.Groups["stampkit-web"], fmt.Sprintf("1/4/%d on v1", awstest.FleetDesired-1))
	},
	"launch-gate": func(s endState) string {
		return expect(s.Lifecycle[launchToken], awsproxy.Continue)
	},
	"terminate-drain": func(s endState) string {
		return expect(s.Lifecycle[terminateToken], awsproxy.Continue)
	},
	"rolling": func(s endState) string {
		return expect(fmt.Sprintf("%s v%d %d refresh", s.Rollout, s.DefaultVersion, s.Refreshes), "done succeeded live=stampkit-web v2 1 refresh")
	},
	"bluegreen": func(s endState) string {
		return expect(fmt.Sprintf("%s v%d %v", s.Rollout, s.DefaultVersion, s.Weights), "done succeeded live=stampkit-web-green v2 map[blue:0 green:100]")
	},
	"bluegreen-abort": func(s endState) string {
		return expect(fmt.Sprintf("%s v%d %v", s.Rollout, s.DefaultVersion, s.Weights), "done rolled_back live=stampkit-web v1 map[blue:100 green:0]")
	},
}

func expect(got, want string) string {
	if got == want {
		return ""
	}
	return fmt.Sprintf("got %q, want %q", got, want)
}

// describe lists a run's invocations, one a line.
func describe(r result) string {
	var b strings.Builder
	for _, inv := range r.invocations {
		status := "ok"
		if inv.err != nil {
			status = "FAILED: " + inv.err.Error()
		}
		fmt.Fprintf(&b, "  %s %-60s %5dms  %s\n", inv.at.Format("15:04:05"), inv.d, inv.took.Milliseconds(), status)
	}
	for _, d := range r.dead {
		fmt.Fprintf(&b, "  dead-lettered: %s\n", d)
	}
	return b.String()
}

// render is the sweep's table, Markdown: per operation and fault kind, the
// runs tried, "r" those in which some delivery failed and was retried, and
// "v" those that broke an invariant.
func render(rows map[op]*tally, runs, violations int, full bool, took time.Duration) string {
	var b strings.Builder
	extent := "the first call of each distinct operation of each scenario, one fault kind each, in turn (CI)"
	if full {
		extent = "every call of each scenario, every fault kind (" + SweepEnv + "=full)"
	}
	fmt.Fprintf(&b, "Fault sweep: %d faulted runs over %s, %d with violations; %s wall.\n", runs, extent, violations, took.Round(time.Second))
	b.WriteString("Cells: runs tried / runs that needed a redelivery / runs with a violation.\n\n")
	b.WriteString("| operation | scenarios |")
	for _, k := range kinds {
		b.WriteString(" " + k.name + " |")
	}
	b.WriteString("\n|---|---|" + strings.Repeat("---|", len(kinds)) + "\n")
	ops := make([]op, 0, len(rows))
	for o := range rows {
		ops = append(ops, o)
	}
	slices.SortFunc(ops, func(a, b op) int { return strings.Compare(a.String(), b.String()) })
	for _, o := range ops {
		row := rows[o]
		names := make([]string, 0, len(row.scenarios))
		for s := range row.scenarios {
			names = append(names, s)
		}
		slices.Sort(names)
		fmt.Fprintf(&b, "| %s | %s |", o, strings.Join(names, ", "))
		for _, k := range kinds {
			fmt.Fprintf(&b, " %d / %d / %d |", row.tried[k.name], row.redelivered[k.name], row.violations[k.name])
		}
		b.WriteString("\n")
	}
	return b.String()
}
