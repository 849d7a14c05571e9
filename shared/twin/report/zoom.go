package report

import (
	"fmt"
	"time"

	"github.com/stampkit/stampkit/shared/twin/suite"
)

// zoomAfter is the longest trace a chart shows whole and alone: past it a
// pixel column holds minutes, and the chart is followed by a closer one of
// the most telling day.
const zoomAfter = 48 * time.Hour

// zoomFrame picks the calendar day of a long trace to chart closer: the
// one in which the policies broke the SLO for most steps, all together,
// or, where none did, the one with the highest demand. ok is false for a
// trace of zoomAfter or less.
func zoomFrame(runs []suite.Run, full frame) (f frame, why string, ok bool) {
	if full.to-full.from <= zoomAfter {
		return frame{}, "", false
	}
	first := runs[0].Result
	midnight := time.Date(first.Start.Year(), first.Start.Month(), first.Start.Day(), 0, 0, 0, 0, first.Start.Location())
	bestBad, bestPeak := -1, -1.0
	var worst, busiest frame
	for day := midnight; day.Sub(first.Start) < full.to; day = day.AddDate(0, 0, 1) {
		d := frame{start: full.start, step: full.step, from: max(day.Sub(first.Start), full.from), to: min(day.AddDate(0, 0, 1).Sub(first.Start), full.to)}
		i0, i1 := d.span(len(first.Samples))
		bad, peak := 0, 0.0
		for _, r := range runs {
			for _, smp := range r.Result.Samples[i0:min(i1, len(r.Result.Samples))] {
				if smp.Violation {
					bad++
				}
			}
		}
		for _, smp := range first.Samples[i0:i1] {
			peak = max(peak, float64(smp.Offered))
		}
		if bad > bestBad {
			bestBad, worst = bad, d
		}
		if peak > bestPeak {
			bestPeak, busiest = peak, d
		}
	}
	day := func(d frame) string { return d.start.Add(d.from).Format("Monday 2 January 2006") }
	if bestBad > 0 {
		return worst, fmt.Sprintf("Closer: %s, the day the policies broke the SLO longest (%s in all).", day(worst), time.Duration(bestBad)*full.step), true
	}
	return busiest, fmt.Sprintf("Closer: %s, the day of the highest demand.", day(busiest)), true
}
