package report

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/stampkit/stampkit/shared/twin"
)

// The strips under a policy's capacity panel share its time axis: CPU, p95
// latency (the SLO is defined on it) and, in a blue/green scenario, the
// listener's weight to the green group. Each is drawn per pixel column of
// samples: CPU as the column's mean, latency as its worst, since one step
// over the bound breaks the SLO.

// columnPath draws value per pixel column as a step line: the mean of the
// column's samples, or their maximum when worst is set.
func columnPath(res *twin.Result, f frame, y func(float64) float64, worst bool, value func(twin.Sample) float64) string {
	var p strings.Builder
	i0, i1 := f.span(len(res.Samples))
	bucket := f.bucket()
	for i := i0; i < i1; i += bucket {
		j := min(i+bucket, i1)
		v := value(res.Samples[i])
		sum := 0.0
		for _, smp := range res.Samples[i:j] {
			sum += value(smp)
			v = max(v, value(smp))
		}
		if !worst {
			v = sum / float64(j-i)
		}
		if i == i0 {
			fmt.Fprintf(&p, "M%s %s", num(f.x(time.Duration(i)*res.Config.Step)), num(y(v)))
		} else {
			fmt.Fprintf(&p, " V%s", num(y(v)))
		}
		fmt.Fprintf(&p, " H%s", num(f.x(time.Duration(j)*res.Config.Step)))
	}
	return p.String()
}

// hline draws a dashed horizontal line across the plot at y.
func hline(colour string, y float64, tip string) string {
	return fmt.Sprintf(`<line x1="%d" x2="%d" y1="%s" y2="%s" stroke="%s" stroke-dasharray="4 3"><title>%s</title></line>`,
		marginLeft, marginLeft+plotWidth, num(y), num(y), colour, esc(tip))
}

// cpuStrip draws the mean CPU of the targets that took traffic against
// the policies' target.
func cpuStrip(c *canvas, res *twin.Result, f frame, top float64, ticks []timeTick) {
	y := func(v float64) float64 { return top + stripHeight - stripHeight*min(max(v, 0), 100)/100 }
	yAxis(c, top, stripHeight, "CPU %", []yTick{{0, "0"}, {50, "50"}, {100, "100"}}, y)
	timeGrid(c, top, stripHeight, ticks)
	target := 100 * res.Config.TargetUtilisation
	c.group(markCPUTarget, hline(targetGrey, y(target), fmt.Sprintf("CPU target %s %%", num(target))))
	c.group(markCPU, fmt.Sprintf(`<path d="%s" fill="none" stroke="%s" stroke-width="1.2"><title>%s: CPU of the targets that took traffic, %% (mean per pixel)</title></path>`,
		columnPath(res, f, y, false, func(s twin.Sample) float64 { return s.CPU }), policyColour(res.Policy), esc(res.Policy)))
}

// p95Strip draws the p95 latency of served requests on a log scale from
// the service's latency at no load to the model's cap, with the SLO's
// bound.
func p95Strip(c *canvas, res *twin.Result, f frame, top float64, ticks []timeTick) {
	cfg := res.Config
	lo, bound := ms(cfg.BaseP95), ms(cfg.P95Bound)
	hi := max(ms(cfg.P95Cap), 10*lo)
	y := func(v float64) float64 {
		v = min(max(v, lo), hi)
		return top + stripHeight - stripHeight*math.Log(v/lo)/math.Log(hi/lo)
	}
	yAxis(c, top, stripHeight, "p95 ms", []yTick{{bound, num(bound)}, {hi, num(hi)}, {lo, num(lo)}}, y)
	timeGrid(c, top, stripHeight, ticks)
	c.group(markP95Bound, hline(violationRed, y(bound), fmt.Sprintf("SLO: p95 latency at most %s ms", num(bound))))
	c.group(markP95, fmt.Sprintf(`<path d="%s" fill="none" stroke="%s" stroke-width="1.2"><title>%s: p95 latency of served requests, ms (log scale; worst per pixel)</title></path>`,
		columnPath(res, f, y, true, func(s twin.Sample) float64 { return ms(s.P95) }), policyColour(res.Policy), esc(res.Policy)))
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// weightsStrip draws the share of the listener's traffic res's blue/green
// peer group got: a step line moving only where the rollout handler set
// the weights (none before the first).
func weightsStrip(c *canvas, res *twin.Result, f frame, top float64, ticks []timeTick) {
	y := func(v float64) float64 { return top + stripHeight - stripHeight*v/100 }
	label, kind, target := "green %", markWeight, twin.PeerGroup(res.Config)
	if len(res.Stamps) > 1 {
		// A stamp shift: the weight of the new stamp's record, as the name
		// servers answer it.
		target = res.Stamps[1].Name
		label, kind = target+" %", markDNSWeight
	}
	yAxis(c, top, stripHeight, label, []yTick{{0, "0"}, {50, "50"}, {100, "100"}}, y)
	timeGrid(c, top, stripHeight, ticks)
	peer := 0
	var p strings.Builder
	var tips []string
	for _, w := range res.Weights {
		at := w.At.Sub(res.Start)
		if at > f.to {
			break
		}
		if at > f.from {
			if p.Len() == 0 {
				fmt.Fprintf(&p, "M%s %s", num(f.x(f.from)), num(y(float64(peer))))
			}
			fmt.Fprintf(&p, " H%s V%s", num(f.x(at)), num(y(float64(w.Peer))))
			tips = append(tips, fmt.Sprintf("%s %d%%", w.At.Format("15:04:05"), w.Peer))
		}
		peer = w.Peer
	}
	if p.Len() == 0 {
		fmt.Fprintf(&p, "M%s %s", num(f.x(f.from)), num(y(float64(peer))))
	}
	fmt.Fprintf(&p, " H%s", num(f.x(f.to)))
	tip := fmt.Sprintf("%s: listener weight to %s, %%", res.Policy, target)
	if kind == markDNSWeight {
		tip = fmt.Sprintf("%s: DNS weight of %s's record, %% (INSYNC)", res.Policy, target)
	}
	if len(tips) > 0 {
		tip += ": " + strings.Join(tips, ", ")
	}
	c.f(`<g class="weights" data-policy="%s">`, esc(res.Policy))
	c.group(kind, fmt.Sprintf(`<path d="%s" fill="none" stroke="%s" stroke-width="1.6"><title>%s</title></path>`, p.String(), policyColour(res.Policy), esc(tip)))
	c.f(`</g>`)
}

// stampsStrip draws each stamp's healthy targets in a stamp shift: the
// old stamp draining, the new one raised ahead of each step.
func stampsStrip(c *canvas, res *twin.Result, f frame, top float64, ticks []timeTick) {
	if len(res.Stamps) < 2 {
		return
	}
	peak := 1.0
	for _, st := range res.Stamps {
		for _, smp := range st.Result.Samples {
			peak = max(peak, float64(smp.Healthy))
		}
	}
	ymax := niceCeil(peak)
	y := func(v float64) float64 { return top + stripHeight - stripHeight*v/ymax }
	yAxis(c, top, stripHeight, "targets", []yTick{{0, "0"}, {ymax, num(ymax)}}, y)
	timeGrid(c, top, stripHeight, ticks)
	c.f(`<g class="stamps" data-policy="%s">`, esc(res.Policy))
	for k, st := range res.Stamps[:2] {
		kind, colour := markStampFrom, stampFromColour
		if k == 1 {
			kind, colour = markStampTo, stampToColour
		}
		c.group(kind, fmt.Sprintf(`<path d="%s" fill="none" stroke="%s" stroke-width="1.4"><title>%s: healthy targets of stamp %s (mean per pixel)</title></path>`,
			columnPath(st.Result, f, y, false, func(s twin.Sample) float64 { return float64(s.Healthy) }), colour, esc(res.Policy), esc(st.Name)))
	}
	c.f(`</g>`)
}
