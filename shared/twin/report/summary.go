// Package report presents twin runs: a plain-text summary table for the
// terminal and a self-contained HTML report with an SVG chart per scenario.
// Output depends only on the runs and the Meta passed in, never on the
// machine or the clock: the run's wall-clock time and build, which Meta
// carries, are the only lines in which two reports of one seed differ.
package report

import (
	"fmt"
	"io"
	"strings"

	"github.com/stampkit/stampkit/shared/twin/suite"
)

// Comparison is stampkit against target tracking on one scenario.
type Comparison struct {
	Scenario string
	// SLOMinutes and InstanceHours of stampkit and of target tracking.
	StampkitSLO, TrackingSLO     float64
	StampkitHours, TrackingHours float64
}

// SLOChange is stampkit's SLO-violation minutes relative to target
// tracking's, in percent (negative is better).
func (c Comparison) SLOChange() float64 { return change(c.StampkitSLO, c.TrackingSLO) }

// HoursChange is stampkit's instance-hours relative to target tracking's,
// in percent.
func (c Comparison) HoursChange() float64 { return change(c.StampkitHours, c.TrackingHours) }

func change(v, base float64) float64 {
	if base == 0 {
		return 0
	}
	return 100 * (v/base - 1)
}

// Compare pairs stampkit with target tracking per scenario, in the order
// the runs came. It adds no totals: scenarios run at different costs, and
// a sum would let one long trace speak for all (compare, cost-matched, is
// the fair verdict).
func Compare(runs []suite.Run) []Comparison {
	by := map[string]*Comparison{}
	var order []string
	for _, r := range runs {
		name := r.Result.Scenario
		c, ok := by[name]
		if !ok {
			c = &Comparison{Scenario: name}
			by[name] = c
			order = append(order, name)
		}
		switch r.Result.Policy {
		case suite.Stampkit:
			c.StampkitSLO, c.StampkitHours = r.Scores.SLOViolationMinutes, r.Scores.InstanceHours
		case suite.TargetTracking:
			c.TrackingSLO, c.TrackingHours = r.Scores.SLOViolationMinutes, r.Scores.InstanceHours
		}
	}
	out := make([]Comparison, 0, len(order))
	for _, name := range order {
		out = append(out, *by[name])
	}
	return out
}

type column struct {
	head  string
	width int
}

// tableColumns are the columns of the summary table.
func tableColumns() []column {
	return []column{
		{"scenario", 19}, {"policy", 16}, {"SLO min", 8}, {"inst-h", 8}, {"cost $", 8},
		{"θU %", 6}, {"θO %", 6}, {"τU %", 6}, {"τO %", 6}, {"υ %", 6}, {"drop %", 7}, {"scalings", 8}, {"flaps", 6},
	}
}

// row formats one run's scores as table cells.
func row(r suite.Run) []string {
	s := r.Scores
	return []string{
		r.Result.Scenario, r.Result.Policy,
		f1(s.SLOViolationMinutes), f1(s.InstanceHours), f2(s.Cost),
		f1(s.UnderAccuracy), f1(s.OverAccuracy), f1(s.UnderTimeshare), f1(s.OverTimeshare), f1(s.Instability),
		f2(s.DroppedPercent), fmt.Sprint(s.ScalingActions), fmt.Sprint(s.Flaps),
	}
}

func f1(v float64) string { return fmt.Sprintf("%.1f", v) }
func f2(v float64) string { return fmt.Sprintf("%.2f", v) }

// signed formats a percentage change with its sign.
func signed(v float64) string { return fmt.Sprintf("%+.0f%%", v) }

// WriteSummary writes the summary table and the comparison with target
// tracking as plain text.
func WriteSummary(w io.Writer, runs []suite.Run) error {
	var b strings.Builder
	columns := tableColumns()
	pad := func(cells []string) {
		for i, c := range cells {
			if i < 2 {
				fmt.Fprintf(&b, "%-*s", columns[i].width, c)
			} else {
				fmt.Fprintf(&b, " %*s", columns[i].width, c)
			}
		}
		b.WriteString("\n")
	}
	heads := make([]string, len(columns))
	for i, c := range columns {
		heads[i] = c.head
	}
	pad(heads)
	prev := ""
	for _, r := range runs {
		if prev != "" && r.Result.Scenario != prev {
			b.WriteString("\n")
		}
		prev = r.Result.Scenario
		pad(row(r))
	}
	b.WriteString("\nstampkit vs target tracking (SLO-violation minutes, instance-hours):\n")
	for _, c := range Compare(runs) {
		fmt.Fprintf(&b, "  %-18s SLO %7.1f vs %7.1f min (%5s)   instance-hours %8.1f vs %8.1f (%5s)\n",
			c.Scenario, c.StampkitSLO, c.TrackingSLO, signed(c.SLOChange()), c.StampkitHours, c.TrackingHours, signed(c.HoursChange()))
	}
	writeChaos(&b, Chaos(runs))
	_, err := io.WriteString(w, b.String())
	if err != nil {
		return fmt.Errorf("writing summary: %w", err)
	}
	return nil
}
