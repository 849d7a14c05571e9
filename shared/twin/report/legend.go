package report

import (
	"fmt"
	"strings"
)

// mark is a kind of mark a chart draws. Each chart groups its marks by
// kind (data-mark="kind") and its legend keys only the kinds it drew, so
// that a reader never meets a mark the legend does not name, nor a key
// for a mark that is not there.
type mark string

const (
	markDemand         mark = "demand"
	markHealthy        mark = "healthy"
	markDesired        mark = "desired"
	markScaleOut       mark = "scale-out"
	markScaleIn        mark = "scale-in"
	markAlarmCPUHigh   mark = "alarm-cpu-high"
	markAlarmRequests  mark = "alarm-requests-high"
	markAlarmCPULow    mark = "alarm-cpu-low"
	markAlarm5XX       mark = "alarm-5xx"
	markAlarmUnhealthy mark = "alarm-unhealthy"
	markViolation      mark = "slo-violation"
	markRollout        mark = "rollout"
	markRolloutEvent   mark = "rollout-event"
	markRollback       mark = "rollback"
	markFault          mark = "fault"
	markLaunch         mark = "launch"
	markAbandoned      mark = "launch-abandoned"
	markDrain          mark = "drain"
	markAbsorbed       mark = "chaos-absorbed"
	markRecovered      mark = "chaos-recovered"
	markChaosDead      mark = "chaos-dead-lettered"
	markDeadLetter     mark = "dead-letter"
	markCPU            mark = "cpu"
	markCPUTarget      mark = "cpu-target"
	markP95            mark = "p95"
	markP95Bound       mark = "p95-bound"
	markWeight         mark = "weight"
	markDNSWeight      mark = "dns-weight"
	markStampFrom      mark = "stamp-from"
	markStampTo        mark = "stamp-to"
	markZoom           mark = "zoom"
)

type legendKey struct {
	kind mark
	// swatch is SVG drawn in a 14×12 box whose baseline is y = 0.
	swatch, label string
}

// legendKeys lists every kind of mark in the order the legend shows them:
// the capacity panel's lines first, then its marks from top to bottom,
// then the panels under it.
func legendKeys() []legendKey {
	bar := func(colour string) string {
		return fmt.Sprintf(`<rect width="14" height="4" y="-6" fill="%s"/>`, colour)
	}
	vline := func(colour, dash string) string {
		return fmt.Sprintf(`<line x1="7" x2="7" y1="-11" y2="1" stroke="%s" stroke-dasharray="%s"/>`, colour, dash)
	}
	tick := func(colour string, h int) string {
		return fmt.Sprintf(`<line x1="7" x2="7" y1="%d" y2="1" stroke="%s" stroke-width="1.5"/>`, 1-h, colour)
	}
	stroke := func(colour, dash string, width float64) string {
		return fmt.Sprintf(`<line x1="0" x2="14" y1="-4" y2="-4" stroke="%s" stroke-width="%s" stroke-dasharray="%s"/>`, colour, num(width), dash)
	}
	return []legendKey{
		{markDemand, fmt.Sprintf(`<rect width="14" height="9" y="-8" fill="%s" stroke="%s"/>`, demandFill, demandStroke), "demand (instances needed)"},
		{markHealthy, stroke(neutralLine, "none", 1.6), "healthy instances"},
		{markDesired, stroke(neutralLine, "3 2", 1), "desired capacity"},
		{markAlarmCPUHigh, bar(alarmColour(markAlarmCPUHigh)), "CPU high alarm"},
		{markAlarmRequests, bar(alarmColour(markAlarmRequests)), "request-count alarm"},
		{markAlarmCPULow, bar(alarmColour(markAlarmCPULow)), "CPU low alarm"},
		{markAlarm5XX, bar(alarmColour(markAlarm5XX)), "5XX alarm"},
		{markAlarmUnhealthy, bar(alarmColour(markAlarmUnhealthy)), "unhealthy-hosts alarm"},
		{markScaleOut, fmt.Sprintf(`<path d="M7 -9 L12 -1 L2 -1 Z" fill="%s"/>`, outGreen), "scale-out"},
		{markScaleIn, fmt.Sprintf(`<path d="M2 -9 L12 -9 L7 -1 Z" fill="%s"/>`, inPurple), "scale-in"},
		{markAbsorbed, tick(absorbedGrey, 8), "fault absorbed"},
		{markRecovered, tick(faultOrange, 8), "fault recovered by retry"},
		{markChaosDead, tick(violationRed, 8), "fault dead-lettered"},
		{markDeadLetter, fmt.Sprintf(`<circle cx="7" cy="-4" r="2.5" fill="%s"/>`, violationRed), "event dead-lettered"},
		{markRollout, fmt.Sprintf(`<rect width="14" height="12" y="-10" fill="%s" opacity="0.25"/>`, rolloutGrey), "rollout in progress"},
		{markRolloutEvent, vline(rolloutGrey, "2 2"), "rollout step"},
		{markRollback, vline(violationRed, "2 2"), "rollback"},
		{markFault, vline(faultOrange, "2 2"), "fault or operator command"},
		{markLaunch, tick(hookOrange, 8), "launches released"},
		{markAbandoned, tick(violationRed, 8), "launch abandoned"},
		{markDrain, tick(inPurple, 4), "terminations drained"},
		{markViolation, fmt.Sprintf(`<rect width="14" height="4" y="-4" fill="%s"/>`, violationRed), "SLO violated"},
		{markCPU, stroke(neutralLine, "none", 1.2), "CPU (mean of serving targets)"},
		{markCPUTarget, stroke(targetGrey, "4 3", 1), "CPU target"},
		{markP95, stroke(neutralLine, "none", 1.2), "p95 latency (worst per pixel)"},
		{markP95Bound, stroke(violationRed, "4 3", 1), "p95 SLO bound"},
		{markWeight, stroke(neutralLine, "none", 1.6), "listener weight to green"},
		{markDNSWeight, stroke(neutralLine, "none", 1.6), "DNS weight of the new stamp's record"},
		{markStampFrom, stroke(stampFromColour, "none", 1.4), "old stamp: healthy targets"},
		{markStampTo, stroke(stampToColour, "none", 1.4), "new stamp: healthy targets"},
		{markZoom, fmt.Sprintf(`<rect width="14" height="6" y="-6" fill="%s"/>`, zoomBlue), "span shown closer below"},
	}
}

// Legend layout: keys flow left to right and wrap; a key is its swatch,
// its label at legendChar units a character (generous for 11-unit text,
// so that estimated keys never run into each other) and a gap.
const (
	legendRow  = 16
	legendChar = 6.5
	legendGap  = 12
	swatchRoom = 18
)

// legend draws a key for each kind in drawn and returns it with the
// height it takes.
func legend(drawn map[mark]bool) (string, float64) {
	var b strings.Builder
	x, y := float64(marginLeft), float64(legendRow)
	b.WriteString(`<g class="legend">`)
	for _, k := range legendKeys() {
		if !drawn[k.kind] {
			continue
		}
		w := swatchRoom + legendChar*float64(len([]rune(k.label)))
		if x+w > chartWidth-marginRight && x > marginLeft {
			x, y = marginLeft, y+legendRow
		}
		fmt.Fprintf(&b, `<g class="key" data-mark="%s" transform="translate(%s %s)">%s<text x="%d" y="0" class="legend">%s</text></g>`,
			k.kind, num(x), num(y), k.swatch, swatchRoom, esc(k.label))
		x += w + legendGap
	}
	b.WriteString(`</g>`)
	return b.String(), y + 10
}
