package report

import (
	"fmt"
	"html"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/stampkit/stampkit/shared/rollout"
	"github.com/stampkit/stampkit/shared/twin"
	"github.com/stampkit/stampkit/shared/twin/suite"
)

// Chart geometry, in SVG user units.
const (
	chartWidth  = 960
	marginLeft  = 48
	marginRight = 14
	plotWidth   = chartWidth - marginLeft - marginRight
	// legendHeight holds two rows of legend.
	legendHeight = 46
	titleHeight  = 20
	panelHeight  = 130
	panelGap     = 12
	axisHeight   = 24
	// weightsHeight is the panel of a blue/green listener's weights.
	weightsHeight = 60
)

// policyColour is the colour of a policy's capacity lines.
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
)

// alarmColour colours an alarm's ALARM band by what the alarm watches.
func alarmColour(name string) string {
	n := strings.ToLower(name)
	switch {
	case strings.Contains(n, "5xx"):
		return "#b71c1c"
	case strings.Contains(n, "unhealthy"):
		return "#6d4c41"
	case strings.Contains(n, "request"):
		return "#fbc02d"
	case strings.Contains(n, "high"):
		return "#fb8c00"
	}
	return "#64b5f6"
}

// svg builds SVG text, escaping every string it is given.
type svg struct{ b strings.Builder }

func (s *svg) f(format string, args ...any) { fmt.Fprintf(&s.b, format, args...) }

func esc(v string) string { return html.EscapeString(v) }

func num(v float64) string {
	return strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%.1f", v), "0"), ".")
}

// chart draws one scenario: a panel per policy with demand, healthy and
// desired capacity, alarm states, scaling actions, SLO violations and
// rollout marks over time.
func chart(runs []suite.Run) string {
	if len(runs) == 0 {
		return ""
	}
	first := runs[0].Result
	n := len(first.Samples)
	cfg := first.Config
	total := time.Duration(n) * cfg.Step
	bucket := max(1, (n+plotWidth-1)/plotWidth)

	demand := make([]float64, n)
	for i, smp := range first.Samples {
		demand[i] = float64(cfg.DemandInstances(float64(smp.Offered) / cfg.Step.Seconds()))
	}
	top := 0.0
	for _, r := range runs {
		for i, smp := range r.Result.Samples {
			top = max(top, demand[i], float64(smp.Desired), float64(smp.Healthy))
		}
	}
	ymax := niceCeil(top * 1.05)

	weighted := false
	for _, r := range runs {
		weighted = weighted || len(r.Result.Weights) > 1
	}
	height := legendHeight + len(runs)*(titleHeight+panelHeight+panelGap) + axisHeight
	if weighted {
		height += titleHeight + weightsHeight + panelGap
	}
	chaos := false
	for _, r := range runs {
		chaos = chaos || len(r.Result.Faults) > 0
	}
	var s svg
	s.f(`<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 %d %d" width="%d" height="%d" role="img" aria-label="%s">`,
		chartWidth, height, chartWidth, height, esc("demand and capacity over time, "+first.Scenario))
	s.f(`<title>%s</title>`, esc(first.Scenario+": demand vs capacity per policy"))
	legend(&s, chaos)

	x := func(t time.Duration) float64 { return marginLeft + plotWidth*float64(t)/float64(total) }
	for k, r := range runs {
		res := r.Result
		top := float64(legendHeight + k*(titleHeight+panelHeight+panelGap) + titleHeight)
		y := func(v float64) float64 { return top + panelHeight - panelHeight*v/ymax }
		colour := policyColour(res.Policy)
		s.f(`<g class="panel" data-policy="%s">`, esc(res.Policy))
		s.f(`<text x="%d" y="%s" class="ptitle"><tspan fill="%s" font-weight="bold">%s</tspan>  SLO violated %s min · %s instance-hours · θU %s %% · θO %s %% · %d scalings</text>`,
			marginLeft, num(top-6), colour, esc(res.Policy), num(r.Scores.SLOViolationMinutes), num(r.Scores.InstanceHours),
			num(r.Scores.UnderAccuracy), num(r.Scores.OverAccuracy), r.Scores.ScalingActions)
		s.f(`<rect x="%d" y="%s" width="%d" height="%d" fill="#fafafa" stroke="#e0e0e0"/>`, marginLeft, num(top), plotWidth, panelHeight)
		gridlines(&s, top, ymax, y)

		// Demand as an area, averaged per pixel.
		var area strings.Builder
		fmt.Fprintf(&area, "M%s %s", num(x(0)), num(y(0)))
		for i := 0; i < n; i += bucket {
			j := min(i+bucket, n)
			fmt.Fprintf(&area, " L%s %s L%s %s", num(x(time.Duration(i)*cfg.Step)), num(y(mean(demand[i:j]))), num(x(time.Duration(j)*cfg.Step)), num(y(mean(demand[i:j]))))
		}
		fmt.Fprintf(&area, " L%s %s Z", num(x(total)), num(y(0)))
		s.f(`<path d="%s" fill="%s" stroke="%s" stroke-width="0.6"><title>demand (instances needed at the target utilisation)</title></path>`, area.String(), demandFill, demandStroke)

		// Desired (dashed) and healthy capacity as step lines.
		s.f(`<path d="%s" fill="none" stroke="%s" stroke-width="1" stroke-dasharray="3 2" opacity="0.7"><title>desired capacity</title></path>`,
			stepPath(res, bucket, x, y, func(smp twin.Sample) float64 { return float64(smp.Desired) }), colour)
		s.f(`<path d="%s" fill="none" stroke="%s" stroke-width="1.6"><title>healthy instances taking traffic</title></path>`,
			stepPath(res, bucket, x, y, func(smp twin.Sample) float64 { return float64(smp.Healthy) }), colour)

		alarmBands(&s, res, top, x)
		violations(&s, res, top, x)
		scalings(&s, res, top, x)
		rollouts(&s, res, top, x)
		lifecycleMarks(&s, res, top, x)
		faultMarks(&s, res, top, x)
		s.f(`</g>`)
	}
	if weighted {
		weightsPanel(&s, runs, float64(legendHeight+len(runs)*(titleHeight+panelHeight+panelGap)+titleHeight), total, x)
	}
	timeAxis(&s, first, total, float64(height-axisHeight), x)
	s.f(`</svg>`)
	return s.b.String()
}

// legend names the marks, on as many lines as they need (about 6 units a
// character; two fit legendHeight); chaos adds the chaos's faults.
func legend(s *svg, chaos bool) {
	type item struct{ swatch, label string }
	items := []item{
		{fmt.Sprintf(`<rect width="14" height="9" y="-8" fill="%s" stroke="%s"/>`, demandFill, demandStroke), "demand"},
		{`<line x1="0" x2="14" y1="-4" y2="-4" stroke="#444" stroke-width="1.6"/>`, "healthy"},
		{`<line x1="0" x2="14" y1="-4" y2="-4" stroke="#444" stroke-dasharray="3 2"/>`, "desired"},
		{fmt.Sprintf(`<path d="M7 -9 L12 -1 L2 -1 Z" fill="%s"/>`, outGreen), "scale-out"},
		{fmt.Sprintf(`<path d="M2 -9 L12 -9 L7 -1 Z" fill="%s"/>`, inPurple), "scale-in"},
		{fmt.Sprintf(`<rect width="14" height="4" y="-6" fill="%s"/>`, alarmColour("high")), "CPU high"},
		{fmt.Sprintf(`<rect width="14" height="4" y="-6" fill="%s"/>`, alarmColour("request")), "requests high"},
		{fmt.Sprintf(`<rect width="14" height="4" y="-6" fill="%s"/>`, alarmColour("low")), "CPU low"},
		{fmt.Sprintf(`<rect width="14" height="4" y="-6" fill="%s"/>`, alarmColour("5xx")), "5XX errors"},
		{fmt.Sprintf(`<rect width="14" height="4" y="-6" fill="%s"/>`, alarmColour("unhealthy")), "unhealthy hosts"},
		{fmt.Sprintf(`<rect width="14" height="5" y="-6" fill="%s"/>`, violationRed), "SLO violated"},
		{fmt.Sprintf(`<line x1="7" x2="7" y1="-11" y2="1" stroke="%s" stroke-dasharray="2 2"/>`, rolloutGrey), "rollout"},
		{fmt.Sprintf(`<line x1="7" x2="7" y1="-11" y2="1" stroke="%s" stroke-dasharray="2 2"/>`, faultOrange), "fault"},
	}
	if chaos {
		items = append(items,
			item{fmt.Sprintf(`<line x1="3" x2="3" y1="-9" y2="-2" stroke="%s" stroke-width="1.5"/><line x1="7" x2="7" y1="-9" y2="-2" stroke="%s" stroke-width="1.5"/><line x1="11" x2="11" y1="-9" y2="-2" stroke="%s" stroke-width="1.5"/>`,
				absorbedGrey, faultOrange, violationRed), "chaos: absorbed, recovered, dead-lettered"})
	}
	xpos, ypos := marginLeft, 18
	for _, it := range items {
		w := 22 + 6*len([]rune(it.label)) + 8
		if xpos+w > chartWidth-marginRight {
			xpos, ypos = marginLeft, ypos+16
		}
		s.f(`<g transform="translate(%d %d)">%s<text x="18" y="0" class="legend">%s</text></g>`, xpos, ypos, it.swatch, esc(it.label))
		xpos += w
	}
}

func gridlines(s *svg, top, ymax float64, y func(float64) float64) {
	for _, v := range []float64{0, ymax / 2, ymax} {
		s.f(`<line x1="%d" x2="%d" y1="%s" y2="%s" stroke="#e0e0e0"/>`, marginLeft, marginLeft+plotWidth, num(y(v)), num(y(v)))
		s.f(`<text x="%d" y="%s" class="tick" text-anchor="end">%s</text>`, marginLeft-4, num(y(v)+3), num(v))
	}
	_ = top
}

// stepPath draws value per pixel bucket (its mean) as a step line.
func stepPath(res *twin.Result, bucket int, x func(time.Duration) float64, y func(float64) float64, value func(twin.Sample) float64) string {
	var p strings.Builder
	step := res.Config.Step
	n := len(res.Samples)
	for i := 0; i < n; i += bucket {
		j := min(i+bucket, n)
		sum := 0.0
		for _, smp := range res.Samples[i:j] {
			sum += value(smp)
		}
		v := y(sum / float64(j-i))
		if i == 0 {
			fmt.Fprintf(&p, "M%s %s", num(x(0)), num(v))
		} else {
			fmt.Fprintf(&p, " V%s", num(v))
		}
		fmt.Fprintf(&p, " H%s", num(x(time.Duration(j)*step)))
	}
	return p.String()
}

// alarmBands draws each alarm's ALARM periods as a thin band at the top
// of the panel, one row per alarm.
func alarmBands(s *svg, res *twin.Result, top float64, x func(time.Duration) float64) {
	names := make([]string, 0, len(res.Datapoints))
	for name := range res.Datapoints {
		names = append(names, name)
	}
	slices.Sort(names)
	end := time.Duration(len(res.Samples)) * res.Config.Step
	for row, name := range names {
		y := top + 1 + float64(row)*4
		var since time.Duration = -1
		flush := func(until time.Duration) {
			if since < 0 {
				return
			}
			s.f(`<rect x="%s" y="%s" width="%s" height="3" fill="%s"><title>%s in ALARM</title></rect>`,
				num(x(since)), num(y), num(max(x(until)-x(since), 0.8)), alarmColour(name), esc(name))
			since = -1
		}
		for _, c := range res.Alarms {
			if c.Alarm != name {
				continue
			}
			at := c.At.Sub(res.Start)
			if c.To == "ALARM" {
				since = at
			} else {
				flush(at)
			}
		}
		flush(end)
	}
}

// violations draws the steps that broke the SLO, merged into intervals, at
// the bottom of the panel.
func violations(s *svg, res *twin.Result, top float64, x func(time.Duration) float64) {
	step := res.Config.Step
	for i := 0; i < len(res.Samples); {
		if !res.Samples[i].Violation {
			i++
			continue
		}
		j := i
		for j < len(res.Samples) && res.Samples[j].Violation {
			j++
		}
		from, to := time.Duration(i)*step, time.Duration(j)*step
		s.f(`<rect x="%s" y="%s" width="%s" height="6" fill="%s"><title>SLO violated %s for %s</title></rect>`,
			num(x(from)), num(top+panelHeight-6), num(max(x(to)-x(from), 0.8)), violationRed,
			esc(res.Time(i).Format("Mon 15:04")), esc((to - from).String()))
		i = j
	}
}

// scalings marks each capacity change with a triangle under the alarm
// bands: up for scale-out, down for scale-in.
func scalings(s *svg, res *twin.Result, top float64, x func(time.Duration) float64) {
	y := top + 1 + float64(len(res.Datapoints))*4 + 2
	for _, e := range res.Scaling {
		cx := x(e.At.Sub(res.Start))
		tip := fmt.Sprintf("%s %d → %d by %s", e.At.Format("Mon 15:04:05"), e.From, e.To, e.By)
		if e.Reason != "" {
			tip += ": " + e.Reason
		}
		if e.To > e.From {
			s.f(`<path d="M%s %s l3.5 6 h-7 Z" fill="%s"><title>%s</title></path>`, num(cx), num(y), outGreen, esc(tip))
		} else {
			s.f(`<path d="M%s %s h7 l-3.5 6 Z" fill="%s"><title>%s</title></path>`, num(cx-3.5), num(y), inPurple, esc(tip))
		}
	}
}

// rollouts shades an instance refresh or a blue/green rollout from start
// to end and draws a dashed line at each of its events: grey, red where it
// rolled back, orange for an injected fault or an operator's command.
func rollouts(s *svg, res *twin.Result, top float64, x func(time.Duration) float64) {
	var started time.Duration = -1
	shade := func(at time.Duration, tip string) {
		if started >= 0 {
			s.f(`<rect x="%s" y="%s" width="%s" height="%d" fill="%s" opacity="0.12"><title>%s</title></rect>`,
				num(x(started)), num(top), num(x(at)-x(started)), panelHeight, rolloutGrey, esc(tip))
			started = -1
		}
	}
	for _, e := range res.Rollout {
		at := e.At.Sub(res.Start)
		switch e.What {
		case "refresh started", twin.RolloutPhase + string(rollout.PhaseWarm):
			started = at
		case "refresh finished":
			shade(at, "instance refresh: "+e.Detail)
		case twin.RolloutPhase + string(rollout.PhaseDone):
			shade(at, "blue/green rollout: "+e.Detail)
		}
	}
	for _, e := range res.Rollout {
		cx := num(x(e.At.Sub(res.Start)))
		colour := rolloutGrey
		switch {
		case e.What == twin.RefreshRollback || strings.Contains(e.Detail, string(rollout.RolledBack)):
			colour = violationRed
		case e.What == twin.Fault || strings.HasPrefix(e.What, twin.OperatorPrefix):
			colour = faultOrange
		}
		s.f(`<line x1="%s" x2="%s" y1="%s" y2="%s" stroke="%s" stroke-dasharray="2 2"><title>%s</title></line>`,
			cx, cx, num(top), num(top+panelHeight), colour, esc(e.At.Format("15:04:05")+" "+e.What+": "+e.Detail))
	}
	if len(res.Rollout) > 0 {
		e := res.Rollout[0]
		s.f(`<text x="%s" y="%s" class="tick" fill="%s">%s</text>`, num(x(e.At.Sub(res.Start))+3), num(top+panelHeight-10), rolloutGrey, esc("image rollout"))
	}
}

// weightsPanel draws, under the policies' panels, the share of the
// listener's traffic each run's blue/green peer group got over time: a
// step line per policy, moving only where the rollout handler set the
// weights.
func weightsPanel(s *svg, runs []suite.Run, top float64, total time.Duration, x func(time.Duration) float64) {
	y := func(v float64) float64 { return top + weightsHeight - weightsHeight*v/100 }
	first := runs[0].Result
	s.f(`<g class="weights">`)
	s.f(`<text x="%d" y="%s" class="ptitle">%s</text>`, marginLeft, num(top-6),
		esc(fmt.Sprintf("listener weight to %s (%%), per policy: the rollout handler's steps; back to 0 on a rollback", twin.PeerGroup(first.Config))))
	s.f(`<rect x="%d" y="%s" width="%d" height="%d" fill="#fafafa" stroke="#e0e0e0"/>`, marginLeft, num(top), plotWidth, weightsHeight)
	gridlines(s, top, 100, y)
	for _, r := range runs {
		ws := r.Result.Weights
		if len(ws) == 0 {
			continue
		}
		var p strings.Builder
		var tips []string
		for i, w := range ws {
			at := w.At.Sub(r.Result.Start)
			if i == 0 {
				fmt.Fprintf(&p, "M%s %s", num(x(at)), num(y(float64(w.Peer))))
				continue
			}
			fmt.Fprintf(&p, " H%s V%s", num(x(at)), num(y(float64(w.Peer))))
			tips = append(tips, fmt.Sprintf("%s %d%%", w.At.Format("15:04:05"), w.Peer))
		}
		fmt.Fprintf(&p, " H%s", num(x(total)))
		s.f(`<path d="%s" fill="none" stroke="%s" stroke-width="1.6" opacity="0.85"><title>%s</title></path>`,
			p.String(), policyColour(r.Result.Policy), esc(r.Result.Policy+": "+strings.Join(tips, ", ")))
	}
	s.f(`</g>`)
}

// lifecycleMarks draws, along the bottom of a panel, the lifecycle hooks'
// work: a tick wherever launches were released from the launch hook
// (abandoned ones in red) and a shorter one wherever terminations drained,
// gathered per pixel so that a week stays small; each tick's tooltip gives
// the counts and the mean time held.
func lifecycleMarks(s *svg, res *twin.Result, top float64, x func(time.Duration) float64) {
	type mark struct {
		at                       time.Time
		ready, abandoned, drains int
		readyWait, drainWait     time.Duration
	}
	var marks []*mark
	byPixel := map[int]*mark{}
	for _, e := range res.Lifecycle {
		px := int(x(e.At.Sub(res.Start)))
		m := byPixel[px]
		if m == nil {
			m = &mark{at: e.At}
			byPixel[px] = m
			marks = append(marks, m)
		}
		switch e.What {
		case twin.LaunchReady:
			m.ready++
			m.readyWait += e.Wait
		case twin.LaunchAbandoned:
			m.abandoned++
		case twin.Drained:
			m.drains++
			m.drainWait += e.Wait
		}
	}
	bottom := top + panelHeight
	for _, m := range marks {
		cx := num(x(m.at.Sub(res.Start)))
		if m.ready+m.abandoned > 0 {
			colour, tip := hookOrange, m.at.Format("Mon 15:04")
			if m.ready > 0 {
				tip += fmt.Sprintf(": %d launches released after %s at the launch hook (mean)", m.ready, (m.readyWait / time.Duration(m.ready)).Round(time.Second))
			}
			if m.abandoned > 0 {
				colour = violationRed
				tip += fmt.Sprintf("; %d abandoned", m.abandoned)
			}
			s.f(`<line x1="%s" x2="%s" y1="%s" y2="%s" stroke="%s"><title>%s</title></line>`, cx, cx, num(bottom-7), num(bottom), colour, esc(tip))
		}
		if m.drains > 0 {
			tip := fmt.Sprintf("%s: %d terminations drained in %s (mean)", m.at.Format("Mon 15:04"), m.drains, (m.drainWait / time.Duration(m.drains)).Round(time.Second))
			s.f(`<line x1="%s" x2="%s" y1="%s" y2="%s" stroke="%s"><title>%s</title></line>`, cx, cx, num(bottom-3), num(bottom), inPurple, esc(tip))
		}
	}
}

// faultMarks draws, along the top of a panel under the scaling marks, the
// faults the chaos injected, gathered per pixel: a tick coloured by the
// worst that became of them (grey absorbed by the handler, orange
// recovered by a retry, red dead-lettered), its tooltip counting them by
// kind and outcome; a dead letter also gets a red dot.
func faultMarks(s *svg, res *twin.Result, top float64, x func(time.Duration) float64) {
	if len(res.Faults) == 0 {
		return
	}
	type mark struct {
		at       time.Time
		kinds    map[string]int
		outcomes map[string]int
	}
	var marks []*mark
	byPixel := map[int]*mark{}
	for _, f := range res.Faults {
		px := int(x(f.At.Sub(res.Start)))
		m := byPixel[px]
		if m == nil {
			m = &mark{at: f.At, kinds: map[string]int{}, outcomes: map[string]int{}}
			byPixel[px] = m
			marks = append(marks, m)
		}
		m.kinds[f.Kind]++
		m.outcomes[f.Outcome]++
	}
	y := top + 1 + float64(len(res.Datapoints))*4 + 10
	for _, m := range marks {
		colour := absorbedGrey
		switch {
		case m.outcomes[twin.DeadLettered] > 0:
			colour = violationRed
		case m.outcomes[twin.Recovered] > 0 || m.outcomes[twin.Pending] > 0:
			colour = faultOrange
		}
		tip := fmt.Sprintf("%s: %s; %d absorbed, %d recovered by retry, %d dead-lettered, %d pending", m.at.Format("Mon 15:04"), kindCounts(m.kinds),
			m.outcomes[twin.Absorbed], m.outcomes[twin.Recovered], m.outcomes[twin.DeadLettered], m.outcomes[twin.Pending])
		cx := num(x(m.at.Sub(res.Start)))
		s.f(`<line x1="%s" x2="%s" y1="%s" y2="%s" stroke="%s"><title>%s</title></line>`, cx, cx, num(y), num(y+5), colour, esc(tip))
	}
	for _, d := range res.DeadLetters {
		s.f(`<circle cx="%s" cy="%s" r="2" fill="%s"><title>%s</title></circle>`, num(x(d.At.Sub(res.Start))), num(y+8), violationRed,
			esc(fmt.Sprintf("%s: %s event %s dead-lettered to the %s after %d attempts: %s", d.At.Format("Mon 15:04:05"), d.Function, d.DetailType, d.Queue, d.Attempts, d.Error)))
	}
}

// timeAxis labels the time axis with wall-clock times of the trace.
func timeAxis(s *svg, first *twin.Result, total time.Duration, y float64, x func(time.Duration) float64) {
	stepChoices := []time.Duration{30 * time.Minute, time.Hour, 2 * time.Hour, 3 * time.Hour, 6 * time.Hour, 12 * time.Hour, 24 * time.Hour}
	tick := stepChoices[len(stepChoices)-1]
	for _, c := range stepChoices {
		if total/c <= 12 {
			tick = c
			break
		}
	}
	layout := "15:04"
	if tick >= 24*time.Hour {
		layout = "Mon 2 Jan"
	}
	for t := time.Duration(0); t <= total; t += tick {
		cx := num(x(t))
		s.f(`<line x1="%s" x2="%s" y1="%s" y2="%s" stroke="#9e9e9e"/>`, cx, cx, num(y), num(y+4))
		anchor := "middle"
		switch {
		case t+tick > total:
			anchor = "end"
		case tick >= 24*time.Hour || t == 0:
			anchor = "start"
		}
		s.f(`<text x="%s" y="%s" class="tick" text-anchor="%s">%s</text>`, cx, num(y+15), anchor, esc(first.Start.Add(t).Format(layout)))
	}
}

func mean(v []float64) float64 {
	sum := 0.0
	for _, x := range v {
		sum += x
	}
	return sum / float64(len(v))
}

// niceCeil rounds v up to a round number: 1, 1.2, 1.5, 2, 2.5, 3, 4, 5,
// 6 or 8 times a power of ten.
func niceCeil(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10} {
		if m*p >= v {
			return m * p
		}
	}
	return 10 * p
}
