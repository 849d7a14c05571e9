package report

import (
	"fmt"
	"strings"

	"github.com/stampkit/stampkit/shared/twin"
	"github.com/stampkit/stampkit/shared/twin/suite"
)

// ChaosSummary is what the chaos did to one run, what the handlers made
// of it, and how the run compares with the same one without chaos.
type ChaosSummary struct {
	Scenario, Policy string
	// Injected counts the faults by kind (twin.FaultKinds); Outcomes by
	// what became of the event each hit (twin.Absorbed, Recovered,
	// DeadLettered, Pending).
	Injected, Outcomes map[string]int
	Faults             int
	// Invocations and Failed total the functions' invocations;
	// DeadLetters counts the events each function dead-lettered.
	Invocations, Failed int
	DeadLetters         map[string]int
	Effects             twin.Effects
	// Scaler is set when the stampkit scaler scaled the run (not one of
	// AWS's own policies).
	Scaler bool
	// Rollout describes the rollout's end against the run without chaos
	// ("" without a rollout); RolloutAsClean says it ended the same.
	Rollout        string
	RolloutAsClean bool
	// SLO and Hours are the run's SLO-violation minutes and
	// instance-hours; CleanSLO and CleanHours the run without chaos's.
	SLO, CleanSLO, Hours, CleanHours float64
}

// Intact reports whether nothing was lost or doubled: no scaling decision
// applied twice or forgotten, no lifecycle action lost but to retries
// that ran out or came too late, every action ended once, and the
// rollout ended as without chaos.
func (c ChaosSummary) Intact() bool {
	return c.Effects.Sound() && (c.Rollout == "" || c.RolloutAsClean)
}

// Verdict says in words what Intact computes.
func (c ChaosSummary) Verdict() string {
	e := c.Effects
	if c.Intact() {
		v := "no action lost or doubled"
		if n := e.LostDeadLettered + e.LostLate; n > 0 {
			v += fmt.Sprintf(" (launches left to the hook's default result once their events' retries ran out or came too late, as designed: %d)", n)
		}
		return v
	}
	var why []string
	if e.Doubled > 0 {
		why = append(why, fmt.Sprintf("%d scaling decisions applied twice", e.Doubled))
	}
	if e.Unrecorded > 0 {
		why = append(why, fmt.Sprintf("%d capacity changes not on the scaler's record", e.Unrecorded))
	}
	if n := e.Lost - e.LostDeadLettered - e.LostLate; n > 0 {
		why = append(why, fmt.Sprintf("%d ready launches lost to the handler", n))
	}
	if e.Completed+e.Expired+e.Released+e.Held != e.LifecycleActions {
		why = append(why, "lifecycle actions that did not end once")
	}
	if c.Rollout != "" && !c.RolloutAsClean {
		why = append(why, "the rollout ended otherwise: "+c.Rollout)
	}
	return "ACTIONS LOST OR DOUBLED: " + strings.Join(why, "; ")
}

// Chaos summarises every run with chaos, in the order the runs came.
func Chaos(runs []suite.Run) []ChaosSummary {
	var out []ChaosSummary
	for _, r := range runs {
		res := r.Result
		if res.Chaos == nil {
			continue
		}
		c := ChaosSummary{
			Scenario: res.Scenario, Policy: res.Policy,
			Injected: map[string]int{}, Outcomes: map[string]int{}, DeadLetters: map[string]int{},
			Faults: len(res.Faults), Effects: res.Effects,
			SLO: r.Scores.SLOViolationMinutes, Hours: r.Scores.InstanceHours,
		}
		for _, f := range res.Faults {
			c.Injected[f.Kind]++
			c.Outcomes[f.Outcome]++
		}
		for _, f := range res.Functions {
			c.Scaler = c.Scaler || f.Name == twin.ScalerFunction
			c.Invocations += f.Invocations
			c.Failed += f.Failed
			c.DeadLetters[f.Name] += f.DeadLettered
		}
		if r.Clean != nil {
			c.CleanSLO, c.CleanHours = r.CleanScores.SLOViolationMinutes, r.CleanScores.InstanceHours
			c.Rollout, c.RolloutAsClean = rolloutAgainst(res, r.Clean)
		}
		out = append(out, c)
	}
	return out
}

// rolloutAgainst describes how r's rollout ended against clean's: its
// outcome, image parameter, launch template default and number of
// versions, and the listener's last weights.
func rolloutAgainst(r, clean *twin.Result) (string, bool) {
	if clean.RolloutOutcome == "" && r.RolloutOutcome == "" && len(r.Rollout) == 0 {
		return "", true
	}
	end := func(r *twin.Result) string {
		outcome := r.RolloutOutcome
		if outcome == "" {
			outcome = "not ended"
		}
		s := fmt.Sprintf("%s, parameter %s, default version %d of %d", outcome, r.ImageParameter, r.DefaultVersion, r.TemplateVersions)
		if n := len(r.Weights); n > 0 {
			s += fmt.Sprintf(", weights %d/%d", r.Weights[n-1].Group, r.Weights[n-1].Peer)
		}
		return s
	}
	got, want := end(r), end(clean)
	if got == want {
		return "as without chaos: " + got, true
	}
	return got + "; without chaos: " + want, false
}

// kindCounts lists counts by kind in twin.FaultKinds' order, naming the
// kinds with any.
func kindCounts(counts map[string]int) string {
	var parts []string
	for _, k := range twin.FaultKinds() {
		if n := counts[k]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, k))
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

// deadLetterCounts lists dead letters by function.
func deadLetterCounts(c ChaosSummary) string {
	var parts []string
	for _, fn := range []string{twin.ScalerFunction, twin.LifecycleFunction, twin.RolloutFunction} {
		if n := c.DeadLetters[fn]; n > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", fn, n))
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

func deadLettered(c ChaosSummary) int {
	n := 0
	for _, v := range c.DeadLetters {
		n += v
	}
	return n
}

// writeChaos writes the chaos block of the summary.
func writeChaos(b *strings.Builder, cs []ChaosSummary) {
	if len(cs) == 0 {
		return
	}
	b.WriteString("\nchaos (faults injected around the handlers; against the same run without chaos):\n")
	for _, c := range cs {
		e := c.Effects
		fmt.Fprintf(b, "  %s / %s: %d faults (%s): %d absorbed by the handler, %d recovered by retry, %d dead-lettered, %d pending\n",
			c.Scenario, c.Policy, c.Faults, kindCounts(c.Injected), c.Outcomes[twin.Absorbed], c.Outcomes[twin.Recovered], c.Outcomes[twin.DeadLettered], c.Outcomes[twin.Pending])
		fmt.Fprintf(b, "    invocations %d, failed %d; events dead-lettered after their retries: %d (%s)\n",
			c.Invocations, c.Failed, deadLettered(c), deadLetterCounts(c))
		scaling := "scaled by AWS's own policy"
		if c.Scaler {
			scaling = fmt.Sprintf("scaling decisions %d: applied twice %d, forgotten %d", e.Decisions, e.Doubled, e.Unrecorded)
		}
		fmt.Fprintf(b, "    %s; lifecycle actions %d: completed %d, expired %d, still held %d; ready launches lost %d (to dead letters %d, to late retries %d)\n",
			scaling, e.LifecycleActions, e.Completed, e.Expired, e.Held, e.Lost, e.LostDeadLettered, e.LostLate)
		if c.Rollout != "" {
			fmt.Fprintf(b, "    rollout %s\n", c.Rollout)
		}
		fmt.Fprintf(b, "    SLO %.1f min (%.1f without chaos), %.1f instance-hours (%.1f)\n", c.SLO, c.CleanSLO, c.Hours, c.CleanHours)
		fmt.Fprintf(b, "    %s\n", c.Verdict())
	}
}
