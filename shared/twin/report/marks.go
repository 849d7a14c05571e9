package report

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/stampkit/stampkit/shared/rollout"
	"github.com/stampkit/stampkit/shared/twin"
)

// markWidth is the width of the column a scaling triangle stands for: the
// changes that fall in one are drawn as one triangle, so that a busy week
// does not become a solid bar of overlapping triangles.
const markWidth = 7

// alarmKind sorts an alarm by what it watches, from its name.
func alarmKind(name string) mark {
	n := strings.ToLower(name)
	switch {
	case strings.Contains(n, "5xx"):
		return markAlarm5XX
	case strings.Contains(n, "unhealthy"):
		return markAlarmUnhealthy
	case strings.Contains(n, "request"):
		return markAlarmRequests
	case strings.Contains(n, "high"):
		return markAlarmCPUHigh
	}
	return markAlarmCPULow
}

// alarmBands draws each alarm's ALARM periods as a thin band at the top
// of the panel, one row per alarm; periods less than a pixel apart are
// drawn as one.
func alarmBands(c *canvas, res *twin.Result, p capacityPanel, f frame) {
	names := slices.Sorted(maps.Keys(res.Datapoints))
	bands := map[mark]*svg{}
	for row, name := range names {
		kind := alarmKind(name)
		if bands[kind] == nil {
			bands[kind] = &svg{}
		}
		y := p.top + 2 + float64(row)*4
		var spans [][2]time.Duration
		var since time.Duration = -1
		for _, ch := range res.Alarms {
			if ch.Alarm != name {
				continue
			}
			at := ch.At.Sub(res.Start)
			switch {
			case ch.To == "ALARM" && since < 0:
				since = at
			case ch.To != "ALARM" && since >= 0:
				spans = append(spans, [2]time.Duration{since, at})
				since = -1
			}
		}
		if since >= 0 {
			spans = append(spans, [2]time.Duration{since, f.to})
		}
		for _, sp := range mergeSpans(spans, f) {
			x0, x1 := f.x(sp[0]), f.x(sp[1])
			bands[kind].f(`<rect x="%s" y="%s" width="%s" height="3" fill="%s"><title>%s in ALARM %s–%s</title></rect>`,
				num(x0), num(y), num(max(x1-x0, 0.8)), alarmColour(kind), esc(name),
				esc(f.start.Add(sp[0]).Format("Mon 15:04")), esc(f.start.Add(sp[1]).Format("15:04")))
		}
	}
	for _, k := range legendKeys() {
		if b := bands[k.kind]; b != nil {
			c.group(k.kind, b.b.String())
		}
	}
}

// mergeSpans clips spans to f and joins those less than a pixel apart.
func mergeSpans(spans [][2]time.Duration, f frame) [][2]time.Duration {
	var out [][2]time.Duration
	for _, sp := range spans {
		sp[0], sp[1] = max(sp[0], f.from), min(sp[1], f.to)
		if sp[1] < sp[0] {
			continue
		}
		if n := len(out); n > 0 && f.x(sp[0])-f.x(out[n-1][1]) < 1 {
			out[n-1][1] = max(out[n-1][1], sp[1])
			continue
		}
		out = append(out, sp)
	}
	return out
}

// violations draws the steps that broke the SLO at the foot of the panel,
// joined where less than a pixel apart; each one's tooltip says how much
// of its span broke the SLO.
func violations(c *canvas, res *twin.Result, p capacityPanel, f frame) {
	var spans [][2]time.Duration
	step := res.Config.Step
	i0, i1 := f.span(len(res.Samples))
	for i := i0; i < i1; i++ {
		if res.Samples[i].Violation {
			spans = append(spans, [2]time.Duration{time.Duration(i) * step, time.Duration(i+1) * step})
		}
	}
	var s svg
	for _, sp := range mergeSpans(spans, f) {
		bad := 0
		for i := int(sp[0] / step); i < int(sp[1]/step); i++ {
			if res.Samples[i].Violation {
				bad++
			}
		}
		s.f(`<rect x="%s" y="%s" width="%s" height="4" fill="%s"><title>SLO violated %s–%s: %s of %s</title></rect>`,
			num(f.x(sp[0])), num(p.bottom()-4), num(max(f.x(sp[1])-f.x(sp[0]), 0.8)), violationRed,
			esc(f.start.Add(sp[0]).Format("Mon 15:04:05")), esc(f.start.Add(sp[1]).Format("15:04:05")),
			esc((time.Duration(bad) * step).String()), esc((sp[1] - sp[0]).String()))
	}
	c.group(markViolation, s.b.String())
}

// scalings marks capacity changes under the alarm bands, gathered per
// markWidth column: a green triangle where the group scaled out and,
// in the row below, a purple one where it scaled in. A triangle's tooltip
// counts its changes.
func scalings(c *canvas, res *twin.Result, p capacityPanel, f frame) {
	type column struct {
		events []twin.ScalingEvent
		net    int
	}
	cols := [2]map[int]*column{{}, {}}
	var order [2][]int
	for _, e := range res.Scaling {
		if !f.shows(e.At) {
			continue
		}
		dir := 0
		if e.To < e.From {
			dir = 1
		}
		col := int((f.xAt(e.At) - marginLeft) / markWidth)
		cl := cols[dir][col]
		if cl == nil {
			cl = &column{}
			cols[dir][col] = cl
			order[dir] = append(order[dir], col)
		}
		cl.events = append(cl.events, e)
		cl.net += e.To - e.From
	}
	for dir, kind := range []mark{markScaleOut, markScaleIn} {
		var s svg
		y := p.scalingY() + 8*float64(dir)
		for _, col := range order[dir] {
			cl := cols[dir][col]
			cx := marginLeft + (float64(col)+0.5)*markWidth
			if len(cl.events) == 1 {
				cx = f.xAt(cl.events[0].At)
			}
			if dir == 0 {
				s.f(`<path d="M%s %s l3.5 6 h-7 Z" fill="%s"><title>%s</title></path>`, num(cx), num(y), outGreen, esc(scalingTip(cl.events, cl.net)))
			} else {
				s.f(`<path d="M%s %s h7 l-3.5 6 Z" fill="%s"><title>%s</title></path>`, num(cx-3.5), num(y), inPurple, esc(scalingTip(cl.events, cl.net)))
			}
		}
		c.group(kind, s.b.String())
	}
}

func scalingTip(events []twin.ScalingEvent, net int) string {
	e := events[0]
	if len(events) == 1 {
		tip := fmt.Sprintf("%s %d → %d by %s", e.At.Format("Mon 15:04:05"), e.From, e.To, e.By)
		if e.Reason != "" {
			tip += ": " + e.Reason
		}
		return tip
	}
	last := events[len(events)-1]
	return fmt.Sprintf("%s–%s: %d changes, %+d instances in all (%d → %d)",
		e.At.Format("Mon 15:04:05"), last.At.Format("15:04:05"), len(events), net, e.From, last.To)
}

// rolloutShading shades an instance refresh or a blue/green rollout from
// start to end, under the panel's lines.
func rolloutShading(c *canvas, res *twin.Result, p capacityPanel, f frame) {
	var s svg
	var started time.Duration = -1
	shade := func(at time.Duration, tip string) {
		if started < 0 {
			return
		}
		from, to := max(started, f.from), min(at, f.to)
		if to > from {
			s.f(`<rect x="%s" y="%s" width="%s" height="%d" fill="%s" opacity="0.12"><title>%s</title></rect>`,
				num(f.x(from)), num(p.top), num(f.x(to)-f.x(from)), panelHeight, rolloutGrey, esc(tip))
		}
		started = -1
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
	c.group(markRollout, s.b.String())
}

// rolloutLines draws a dashed line at each of the rollout's events: grey,
// red where it rolled back, orange for an injected fault or an operator's
// command.
func rolloutLines(c *canvas, res *twin.Result, p capacityPanel, f frame) {
	lines := map[mark]*svg{markRolloutEvent: {}, markRollback: {}, markFault: {}}
	for _, e := range res.Rollout {
		if !f.shows(e.At) {
			continue
		}
		kind, colour := markRolloutEvent, rolloutGrey
		switch {
		case e.What == twin.RefreshRollback || strings.Contains(e.Detail, string(rollout.RolledBack)):
			kind, colour = markRollback, violationRed
		case e.What == twin.Fault || strings.HasPrefix(e.What, twin.OperatorPrefix):
			kind, colour = markFault, faultOrange
		}
		cx := num(f.xAt(e.At))
		lines[kind].f(`<line x1="%s" x2="%s" y1="%s" y2="%s" stroke="%s" stroke-dasharray="2 2"><title>%s</title></line>`,
			cx, cx, num(p.top), num(p.bottom()), colour, esc(e.At.Format("15:04:05")+" "+e.What+": "+e.Detail))
	}
	for _, k := range []mark{markRolloutEvent, markRollback, markFault} {
		c.group(k, lines[k].b.String())
	}
}

// lifecycleMarks draws, at the foot of a panel above the violations, the
// lifecycle hooks' work: a tick wherever launches were released from the
// launch hook (abandoned ones in red) and a shorter one wherever
// terminations drained, gathered per pixel so that a week stays small;
// each tick's tooltip gives the counts and the mean time held.
func lifecycleMarks(c *canvas, res *twin.Result, p capacityPanel, f frame) {
	type column struct {
		at                       time.Time
		ready, abandoned, drains int
		readyWait, drainWait     time.Duration
	}
	var cols []*column
	byPixel := map[int]*column{}
	for _, e := range res.Lifecycle {
		if !f.shows(e.At) {
			continue
		}
		px := int(f.xAt(e.At))
		m := byPixel[px]
		if m == nil {
			m = &column{at: e.At}
			byPixel[px] = m
			cols = append(cols, m)
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
	var launches, abandoned, drains svg
	foot := p.bottom() - 5
	for _, m := range cols {
		cx := num(f.xAt(m.at))
		if m.ready+m.abandoned > 0 {
			out, colour, tip := &launches, hookOrange, m.at.Format("Mon 15:04")
			if m.ready > 0 {
				tip += fmt.Sprintf(": %d launches released after %s at the launch hook (mean)", m.ready, (m.readyWait / time.Duration(m.ready)).Round(time.Second))
			}
			if m.abandoned > 0 {
				out, colour = &abandoned, violationRed
				tip += fmt.Sprintf("; %d abandoned", m.abandoned)
			}
			out.f(`<line x1="%s" x2="%s" y1="%s" y2="%s" stroke="%s"><title>%s</title></line>`, cx, cx, num(foot-7), num(foot), colour, esc(tip))
		}
		if m.drains > 0 {
			tip := fmt.Sprintf("%s: %d terminations drained in %s (mean)", m.at.Format("Mon 15:04"), m.drains, (m.drainWait / time.Duration(m.drains)).Round(time.Second))
			drains.f(`<line x1="%s" x2="%s" y1="%s" y2="%s" stroke="%s"><title>%s</title></line>`, cx, cx, num(foot-3), num(foot), inPurple, esc(tip))
		}
	}
	c.group(markLaunch, launches.b.String())
	c.group(markAbandoned, abandoned.b.String())
	c.group(markDrain, drains.b.String())
}

// faultMarks draws, under the scaling marks, the faults the chaos
// injected, gathered per pixel: a tick coloured by the worst that became
// of them (grey absorbed by the handler, orange recovered by a retry or
// still pending, red dead-lettered), its tooltip counting them by kind
// and outcome; a dead letter also gets a red dot.
func faultMarks(c *canvas, res *twin.Result, p capacityPanel, f frame) {
	type column struct {
		at       time.Time
		kinds    map[string]int
		outcomes map[string]int
	}
	var cols []*column
	byPixel := map[int]*column{}
	for _, ft := range res.Faults {
		if !f.shows(ft.At) {
			continue
		}
		px := int(f.xAt(ft.At))
		m := byPixel[px]
		if m == nil {
			m = &column{at: ft.At, kinds: map[string]int{}, outcomes: map[string]int{}}
			byPixel[px] = m
			cols = append(cols, m)
		}
		m.kinds[ft.Kind]++
		m.outcomes[ft.Outcome]++
	}
	y := p.faultY()
	ticks := map[mark]*svg{markAbsorbed: {}, markRecovered: {}, markChaosDead: {}}
	for _, m := range cols {
		kind, colour := markAbsorbed, absorbedGrey
		switch {
		case m.outcomes[twin.DeadLettered] > 0:
			kind, colour = markChaosDead, violationRed
		case m.outcomes[twin.Recovered] > 0 || m.outcomes[twin.Pending] > 0:
			kind, colour = markRecovered, faultOrange
		}
		tip := fmt.Sprintf("%s: %s; %d absorbed, %d recovered by retry, %d dead-lettered, %d pending", m.at.Format("Mon 15:04"), kindCounts(m.kinds),
			m.outcomes[twin.Absorbed], m.outcomes[twin.Recovered], m.outcomes[twin.DeadLettered], m.outcomes[twin.Pending])
		cx := num(f.xAt(m.at))
		ticks[kind].f(`<line x1="%s" x2="%s" y1="%s" y2="%s" stroke="%s" stroke-width="1.5"><title>%s</title></line>`, cx, cx, num(y), num(y+5), colour, esc(tip))
	}
	for _, k := range []mark{markAbsorbed, markRecovered, markChaosDead} {
		c.group(k, ticks[k].b.String())
	}
	var dots svg
	for _, d := range res.DeadLetters {
		if !f.shows(d.At) {
			continue
		}
		dots.f(`<circle cx="%s" cy="%s" r="2" fill="%s"><title>%s</title></circle>`, num(f.xAt(d.At)), num(y+8), violationRed,
			esc(fmt.Sprintf("%s: %s event %s dead-lettered to the %s after %d attempts: %s", d.At.Format("Mon 15:04:05"), d.Function, d.DetailType, d.Queue, d.Attempts, d.Error)))
	}
	c.group(markDeadLetter, dots.b.String())
}
