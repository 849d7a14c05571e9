package report

import (
	"fmt"
	"html/template"
	"io"
	"math"
	"slices"

	"github.com/stampkit/stampkit/shared/twin/compare"
)

// CurvesMeta is what the cost–SLO page says about its runs.
type CurvesMeta struct {
	Trace string
	// Seed is the first of Seeds seeds each setting ran on; a point is
	// the mean of its runs.
	Seed     uint64
	Seeds    int
	WarmPool int
	// Best is the baseline the headline is matched against.
	Best string
}

type curveRow struct {
	compare.Point
	Colour string
	// AtCost is stampkit's curve read at this baseline setting's cost.
	AtCost string
}

const curvesTemplate = `<!DOCTYPE html>
<html xmlns="http://www.w3.org/1999/xhtml" lang="en">
<head>
<meta charset="utf-8"/>
<title>stampkit compare: {{.Meta.Trace}}</title>
<style>
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #212121; margin: 24px auto; max-width: 1000px; padding: 0 12px; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; }
th, td { padding: 3px 8px; text-align: right; border-bottom: 1px solid #eeeeee; }
th { background: #f5f5f5; } td.name, th.name { text-align: left; }
tr.default td { font-weight: bold; }
.chart text { font: 11px system-ui, sans-serif; fill: #424242; }
.swatch { display: inline-block; width: 12px; height: 12px; border-radius: 2px; vertical-align: -1px; margin-right: 4px; }
</style>
</head>
<body>
<h1>Cost against SLO: {{.Meta.Trace}}</h1>
<p>Each policy run at every setting of its main knob on the same trace ({{if gt .Meta.Seeds 1}}the mean of {{.Meta.Seeds}} runs on seeds from {{.Meta.Seed}}{{else}}seed {{.Meta.Seed}}{{end}}, warm pool of {{.Meta.WarmPool}} for every policy). A point is one run: instance-hours billed against minutes the SLO was broken. The line joins a policy's settings that no cheaper setting beats (its cost–SLO curve); a bigger dot is the policy's default. Lower and further left is better; compare policies along a vertical line, at the same cost. The headline baseline is {{.Meta.Best}}.</p>
{{.Chart}}
<table>
<tr><th class="name">policy</th><th class="name">setting</th><th>SLO min</th><th>instance-hours</th><th>flaps</th><th>dropped %</th><th>stampkit at this cost</th></tr>
{{range .Rows}}<tr{{if .Default}} class="default"{{end}}><td class="name"><span class="swatch" style="background: {{.Colour}}"></span>{{.Policy}}</td><td class="name">{{.Setting}}</td><td>{{printf "%.1f" .SLOMinutes}}</td><td>{{printf "%.1f" .InstanceHours}}</td><td>{{.Flaps}}</td><td>{{printf "%.3f" .DroppedPercent}}</td><td>{{.AtCost}}</td></tr>
{{end}}</table>
</body>
</html>
`

var curvesPage = template.Must(template.New("curves").Parse(curvesTemplate))

// WriteCurves writes the cost–SLO page of one trace's comparison.
func WriteCurves(w io.Writer, meta CurvesMeta, points []compare.Point) error {
	var rows []curveRow
	atCost := compare.AtEachCost(points, stampkitPolicy)
	for _, p := range points {
		r := curveRow{Point: p, Colour: curveColour(p.Policy, points)}
		if m, ok := atCost[p]; ok {
			r.AtCost = atCostText(m)
		}
		rows = append(rows, r)
	}
	err := curvesPage.Execute(w, struct {
		Meta  CurvesMeta
		Chart template.HTML
		Rows  []curveRow
	}{meta, template.HTML(curvesChart(points)), rows})
	if err != nil {
		return fmt.Errorf("writing compare page: %w", err)
	}
	return nil
}

const stampkitPolicy = "stampkit"

func atCostText(m compare.Match) string {
	if !m.OK {
		return "not measured that cheap"
	}
	if m.Ratio == nil {
		return fmt.Sprintf("%.1f", m.SLOMinutes)
	}
	return fmt.Sprintf("%.1f (%.2f×)", m.SLOMinutes, *m.Ratio)
}

// curvePalette colours policies in order of first appearance.
var curvePalette = []string{"#00897b", "#3949ab", "#8d6e63", "#f4511e", "#8e24aa", "#fbc02d", "#546e7a"}

func curveColour(policy string, points []compare.Point) string {
	return curvePalette[slices.Index(compare.Policies(points), policy)%len(curvePalette)]
}

// curvesChart draws every point and each policy's curve.
func curvesChart(points []compare.Point) string {
	const w, h, left, right, top, bottom = 960.0, 420.0, 56.0, 200.0, 12.0, 36.0
	if len(points) == 0 {
		return ""
	}
	xmin, xmax, ymax := math.Inf(1), 0.0, 0.0
	for _, p := range points {
		xmin, xmax, ymax = min(xmin, p.InstanceHours), max(xmax, p.InstanceHours), max(ymax, p.SLOMinutes)
	}
	pad := max((xmax-xmin)*0.05, 1)
	xmin, xmax = max(xmin-pad, 0), xmax+pad
	ymax = niceCeil(max(ymax, 1))
	x := func(v float64) float64 { return left + (v-xmin)/(xmax-xmin)*(w-left-right) }
	y := func(v float64) float64 { return top + (1-v/ymax)*(h-top-bottom) }
	var s svg
	s.f(`<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %s %s" width="%s" height="%s">`, num(w), num(h), num(w), num(h))
	for i := 0; i <= 4; i++ {
		v := ymax * float64(i) / 4
		s.f(`<line x1="%s" x2="%s" y1="%s" y2="%s" stroke="#eeeeee"/>`, num(left), num(w-right), num(y(v)), num(y(v)))
		s.f(`<text x="%s" y="%s" text-anchor="end">%s</text>`, num(left-4), num(y(v)+4), num(v))
	}
	for i := 0; i <= 5; i++ {
		v := xmin + (xmax-xmin)*float64(i)/5
		s.f(`<text x="%s" y="%s" text-anchor="middle">%s</text>`, num(x(v)), num(h-bottom+16), num(v))
	}
	s.f(`<text x="%s" y="%s" text-anchor="middle">instance-hours</text>`, num((left+w-right)/2), num(h-4))
	s.f(`<text x="12" y="%s" transform="rotate(-90 12 %s)" text-anchor="middle">SLO-violation minutes</text>`, num(h/2), num(h/2))
	for i, policy := range compare.Policies(points) {
		colour := curveColour(policy, points)
		mine := compare.Only(points, policy)
		var path string
		for j, p := range compare.Curve(mine) {
			cmd := "L"
			if j == 0 {
				cmd = "M"
			}
			path += fmt.Sprintf("%s%s %s ", cmd, num(x(p.InstanceHours)), num(y(p.SLOMinutes)))
		}
		s.f(`<path d="%s" fill="none" stroke="%s" stroke-width="2"/>`, path, colour)
		for _, p := range mine {
			r := 3.0
			if p.Default {
				r = 6
			}
			s.f(`<circle cx="%s" cy="%s" r="%s" fill="%s"><title>%s %s: %s min, %s h</title></circle>`,
				num(x(p.InstanceHours)), num(y(p.SLOMinutes)), num(r), colour, esc(p.Policy), esc(p.Setting), num(p.SLOMinutes), num(p.InstanceHours))
		}
		ly := top + 14 + 18*float64(i)
		s.f(`<rect x="%s" y="%s" width="12" height="12" fill="%s"/><text x="%s" y="%s">%s</text>`, num(w-right+12), num(ly-10), colour, num(w-right+30), num(ly), esc(policy))
	}
	s.f(`</svg>`)
	return s.b.String()
}
