package report

import (
	"fmt"
	"html"
	"strings"
	"time"

	"github.com/stampkit/stampkit/shared/twin"
	"github.com/stampkit/stampkit/shared/twin/suite"
)

// Chart geometry, in SVG user units.
const (
	chartWidth = 960
	// marginLeft holds a rotated axis title and the tick labels.
	marginLeft  = 60
	marginRight = 14
	plotWidth   = chartWidth - marginLeft - marginRight
	titleHeight = 20
	panelHeight = 150
	// footHeight is the band at the foot of a capacity panel, under its
	// zero line, that holds the lifecycle ticks and the SLO violations.
	footHeight = 13
	// stripHeight is a CPU, latency or weights panel under a policy's
	// capacity panel.
	stripHeight = 50
	stripGap    = 8
	panelGap    = 18
	axisHeight  = 40
)

// policyColour is the colour of a policy's lines.
func policyColour(policy string) string {
	switch policy {
	case suite.Stampkit:
		return "#00897b"
	case suite.TargetTracking:
		return "#3949ab"
	}
	return "#8d6e63"
}

const (
	demandFill   = "#cfd8dc"
	demandStroke = "#90a4ae"
	violationRed = "#e53935"
	outGreen     = "#2e7d32"
	inPurple     = "#8e24aa"
	rolloutGrey  = "#546e7a"
	hookOrange   = "#ef6c00"
	faultOrange  = "#f4511e"
	absorbedGrey = "#9e9e9e"
	targetGrey   = "#757575"
	zoomBlue     = "#90caf9"
	// neutralLine keys a line drawn in each policy's own colour.
	neutralLine = "#444444"
	// stampFromColour and stampToColour draw the old and the new stamp of
	// a stamp shift.
	stampFromColour = "#1565c0"
	stampToColour   = "#ef6c00"
)

// alarmColour colours an alarm's ALARM band by what the alarm watches.
func alarmColour(kind mark) string {
	switch kind {
	case markAlarm5XX:
		return "#b71c1c"
	case markAlarmUnhealthy:
		return "#6d4c41"
	case markAlarmRequests:
		return "#fbc02d"
	case markAlarmCPUHigh:
		return "#fb8c00"
	}
	return "#64b5f6"
}

// svg builds SVG text; its callers escape every string they give it.
type svg struct{ b strings.Builder }

func (s *svg) f(format string, args ...any) { fmt.Fprintf(&s.b, format, args...) }

// canvas is a chart being drawn: its SVG, and the kinds of mark drawn on
// it so far, for the legend.
type canvas struct {
	svg
	drawn map[mark]bool
}

// group writes body, marks of one kind, as a group the legend keys;
// nothing when body is empty.
func (c *canvas) group(kind mark, body string) {
	if body == "" {
		return
	}
	c.drawn[kind] = true
	c.f(`<g data-mark="%s">%s</g>`, kind, body)
}

func esc(v string) string { return html.EscapeString(v) }

func num(v float64) string {
	return strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%.1f", v), "0"), ".")
}

// frame is the span of a trace a chart shows, mapped onto the plot's
// width.
type frame struct {
	start    time.Time
	step     time.Duration
	from, to time.Duration
}

func (f frame) x(t time.Duration) float64 {
	return marginLeft + plotWidth*float64(t-f.from)/float64(f.to-f.from)
}

func (f frame) xAt(at time.Time) float64 { return f.x(at.Sub(f.start)) }

func (f frame) shows(at time.Time) bool {
	t := at.Sub(f.start)
	return t >= f.from && t <= f.to
}

// span is the indices [i, j) of the samples in f, of n in all.
func (f frame) span(n int) (int, int) {
	return min(int(f.from/f.step), n), min(int(f.to/f.step), n)
}

// bucket is how many samples one pixel column stands for.
func (f frame) bucket() int {
	n := int((f.to - f.from) / f.step)
	return max(1, (n+plotWidth-1)/plotWidth)
}

// capacityPanel is the geometry of one policy's capacity panel: a band of
// marks at the top (a row per alarm, the scale-out and scale-in rows, the
// faults under chaos), the values under it, and the foot.
type capacityPanel struct {
	top       float64
	alarmRows int
	chaos     bool
	ymax      float64
}

func (p capacityPanel) scalingY() float64 { return p.top + 3 + 4*float64(p.alarmRows) }
func (p capacityPanel) faultY() float64   { return p.scalingY() + 15 }
func (p capacityPanel) bottom() float64   { return p.top + panelHeight }

// y places a number of instances between the band of marks and the foot,
// so that no line runs through a mark.
func (p capacityPanel) y(v float64) float64 {
	head := p.scalingY() + 15 - p.top + 3
	if p.chaos {
		head += 11
	}
	zero := p.bottom() - footHeight
	return zero - (zero-(p.top+head))*v/p.ymax
}

// fullFrame is the whole trace of runs.
func fullFrame(runs []suite.Run) frame {
	first := runs[0].Result
	return frame{start: first.Start, step: first.Config.Step, to: time.Duration(len(first.Samples)) * first.Config.Step}
}

// chart draws one scenario over f: per policy a capacity panel (demand,
// healthy and desired capacity, alarm states, scaling actions, SLO
// violations, lifecycle and rollout marks) and under it CPU, p95 latency
// and, in a blue/green scenario, the listener's weights; then one time
// axis, on which zoom, if set, is shaded; and over it all a legend keying
// every kind of mark drawn.
func chart(runs []suite.Run, f frame, zoom *frame) string {
	if len(runs) == 0 || f.to <= f.from {
		return ""
	}
	first := runs[0].Result
	cfg := first.Config
	i0, i1 := f.span(len(first.Samples))
	demand := make([]float64, len(first.Samples))
	for i, smp := range first.Samples {
		demand[i] = float64(cfg.DemandInstances(float64(smp.Offered) / cfg.Step.Seconds()))
	}
	top, rows, weighted, chaos, stamped := 0.0, 0, false, false, false
	for _, r := range runs {
		for i := i0; i < min(i1, len(r.Result.Samples)); i++ {
			smp := r.Result.Samples[i]
			top = max(top, demand[i], float64(smp.Desired), float64(smp.Healthy))
		}
		rows = max(rows, len(r.Result.Datapoints))
		weighted = weighted || len(r.Result.Weights) > 1
		chaos = chaos || len(r.Result.Faults) > 0
		stamped = stamped || len(r.Result.Stamps) > 1
	}
	ymax := niceCeil(top)
	strips := 2
	if weighted {
		strips++
	}
	if stamped {
		strips++
	}
	perPolicy := titleHeight + panelHeight + strips*(stripGap+stripHeight) + panelGap
	ticks := timeTicks(f)

	c := canvas{drawn: map[mark]bool{}}
	for k, r := range runs {
		res := r.Result
		p := capacityPanel{top: float64(k*perPolicy + titleHeight), alarmRows: rows, chaos: chaos, ymax: ymax}
		colour := policyColour(res.Policy)
		c.f(`<g class="panel" data-policy="%s">`, esc(res.Policy))
		c.f(`<text x="%d" y="%s" class="ptitle"><tspan fill="%s" font-weight="bold">%s</tspan>  %s</text>`,
			marginLeft, num(p.top-6), colour, esc(res.Policy), esc(panelScores(r, f)))
		yAxis(&c, p.top, panelHeight, "instances", []yTick{{0, "0"}, {ymax / 2, num(ymax / 2)}, {ymax, num(ymax)}}, p.y)
		timeGrid(&c, p.top, panelHeight, ticks)
		rolloutShading(&c, res, p, f)
		capacityLines(&c, res, demand, p, f)
		alarmBands(&c, res, p, f)
		scalings(&c, res, p, f)
		faultMarks(&c, res, p, f)
		lifecycleMarks(&c, res, p, f)
		violations(&c, res, p, f)
		rolloutLines(&c, res, p, f)
		strip := p.bottom() + stripGap
		cpuStrip(&c, res, f, strip, ticks)
		strip += stripHeight + stripGap
		p95Strip(&c, res, f, strip, ticks)
		if weighted {
			strip += stripHeight + stripGap
			weightsStrip(&c, res, f, strip, ticks)
		}
		if stamped {
			strip += stripHeight + stripGap
			stampsStrip(&c, res, f, strip, ticks)
		}
		c.f(`</g>`)
	}
	axisY := float64(len(runs)*perPolicy - panelGap + 4)
	timeAxis(&c, f, ticks, axisY, zoom)

	keys, legendHeight := legend(c.drawn)
	height := legendHeight + axisY + axisHeight
	var s svg
	s.f(`<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 %d %s" width="%d" height="%s" role="img" aria-label="%s">`,
		chartWidth, num(height), chartWidth, num(height), esc("demand, capacity, CPU and p95 latency over time, "+first.Scenario))
	s.f(`<title>%s</title>`, esc(first.Scenario+": demand vs capacity, CPU and p95 latency per policy"))
	s.b.WriteString(keys)
	s.f(`<g transform="translate(0 %s)">%s</g></svg>`, num(legendHeight), c.b.String())
	return s.b.String()
}

// panelScores sums up a run over the whole trace or, over part of it, what
// can be counted there.
func panelScores(r suite.Run, f frame) string {
	res := r.Result
	if f.from == 0 && int(f.to/f.step) >= len(res.Samples) {
		return fmt.Sprintf("SLO violated %s min · %s instance-hours · θU %s %% · θO %s %% · %d scalings",
			num(r.Scores.SLOViolationMinutes), num(r.Scores.InstanceHours), num(r.Scores.UnderAccuracy), num(r.Scores.OverAccuracy), r.Scores.ScalingActions)
	}
	bad, scalings := 0, 0
	i0, i1 := f.span(len(res.Samples))
	for _, smp := range res.Samples[i0:i1] {
		if smp.Violation {
			bad++
		}
	}
	for _, e := range res.Scaling {
		if f.shows(e.At) {
			scalings++
		}
	}
	return fmt.Sprintf("here: SLO violated %s min · %d scalings (whole trace: %s min, %d)",
		num((time.Duration(bad) * f.step).Minutes()), scalings, num(r.Scores.SLOViolationMinutes), r.Scores.ScalingActions)
}

// capacityLines draws demand as an area (its mean per pixel column) and
// the desired (dashed) and healthy capacity as step lines.
func capacityLines(c *canvas, res *twin.Result, demand []float64, p capacityPanel, f frame) {
	i0, i1 := f.span(len(demand))
	step := res.Config.Step
	var area strings.Builder
	fmt.Fprintf(&area, "M%s %s", num(f.x(f.from)), num(p.y(0)))
	for i := i0; i < i1; i += f.bucket() {
		j := min(i+f.bucket(), i1)
		v := num(p.y(mean(demand[i:j])))
		fmt.Fprintf(&area, " L%s %s L%s %s", num(f.x(time.Duration(i)*step)), v, num(f.x(time.Duration(j)*step)), v)
	}
	fmt.Fprintf(&area, " L%s %s Z", num(f.x(f.to)), num(p.y(0)))
	c.group(markDemand, fmt.Sprintf(`<path d="%s" fill="%s" stroke="%s" stroke-width="0.6"><title>demand (instances needed at the target utilisation)</title></path>`,
		area.String(), demandFill, demandStroke))
	colour := policyColour(res.Policy)
	c.group(markDesired, fmt.Sprintf(`<path d="%s" fill="none" stroke="%s" stroke-width="1" stroke-dasharray="3 2" opacity="0.7"><title>desired capacity</title></path>`,
		columnPath(res, f, p.y, false, func(s twin.Sample) float64 { return float64(s.Desired) }), colour))
	c.group(markHealthy, fmt.Sprintf(`<path d="%s" fill="none" stroke="%s" stroke-width="1.6"><title>healthy instances taking traffic</title></path>`,
		columnPath(res, f, p.y, false, func(s twin.Sample) float64 { return float64(s.Healthy) }), colour))
}

func mean(v []float64) float64 {
	sum := 0.0
	for _, x := range v {
		sum += x
	}
	return sum / float64(len(v))
}
