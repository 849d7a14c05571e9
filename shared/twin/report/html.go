package report

import (
	"fmt"
	"html/template"
	"io"
	"strings"
	"time"

	"github.com/stampkit/stampkit/shared/twin"
	"github.com/stampkit/stampkit/shared/twin/suite"
)

// Meta is what the report says about how the runs were made.
type Meta struct {
	Seed uint64
	// Started is when the runs began and Elapsed how long they took, by
	// the wall clock; Build names the program that made them (its version
	// and commit). The page leaves out what is zero.
	Started time.Time
	Elapsed time.Duration
	Build   string
}

// provenance says when, how fast and by what build the runs were made.
func (m Meta) provenance() string {
	var parts []string
	if !m.Started.IsZero() {
		parts = append(parts, "Run "+m.Started.UTC().Format("2006-01-02 15:04 UTC"))
	}
	if m.Elapsed > 0 {
		parts = append(parts, fmt.Sprintf("in %s of wall-clock time", m.Elapsed.Round(100*time.Millisecond)))
	}
	if m.Build != "" {
		parts = append(parts, "by "+m.Build)
	}
	if len(parts) == 0 {
		return ""
	}
	return strings.Join(parts, " ") + "."
}

type tableRow struct {
	Cells []string
	// Best marks the policy with the fewest SLO minutes in its scenario;
	// First starts a scenario's group of rows.
	Best, First bool
	Colour      string
}

type section struct {
	ID, Name, Description string
	Chart                 template.HTML
	// Zoom charts a day of a long trace closer, as ZoomNote says.
	Zoom     template.HTML
	ZoomNote string
	// Chaos summarises the scenario's runs under chaos, if any.
	Chaos []ChaosSummary
}

type policyNote struct{ Name, Colour, Text string }

type page struct {
	Meta        Meta
	Provenance  string
	Heads       []string
	Rows        []tableRow
	Comparisons []Comparison
	Sections    []section
	Policies    []policyNote
	Assumptions []string
}

// The report is XHTML-compatible HTML: well-formed XML too, so tests (and
// any XML tool) can parse it strictly.
const pageTemplate = `<!DOCTYPE html>
<html xmlns="http://www.w3.org/1999/xhtml" lang="en">
<head>
<meta charset="utf-8"/>
<title>stampkit twin report</title>
<link rel="icon" href="data:,"/>
<style>
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #212121; margin: 24px auto; max-width: 1000px; padding: 0 12px; }
h1 { font-size: 24px; margin-bottom: 4px; }
h2 { font-size: 18px; margin-top: 32px; border-bottom: 1px solid #e0e0e0; padding-bottom: 4px; }
p.lead { color: #546e7a; margin-top: 0; }
p.provenance { color: #757575; font-size: 12px; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; }
th, td { padding: 3px 8px; text-align: right; border-bottom: 1px solid #eeeeee; }
th { background: #f5f5f5; font-weight: 600; }
td.name, th.name { text-align: left; }
tr.first td { border-top: 1px solid #bdbdbd; }
tr.best td.slo { font-weight: bold; color: #00695c; }
td.better { color: #2e7d32; } td.worse { color: #c62828; }
.chart { display: block; margin: 8px 0 4px; max-width: 100%; height: auto; }
.chart text { font: 11px system-ui, sans-serif; fill: #424242; }
.chart text.ptitle { font-size: 12px; }
.chart text.tick, .chart text.legend { fill: #616161; }
.chart text.axis { font-size: 10px; fill: #616161; }
p.zoom { margin-bottom: 0; color: #546e7a; }
.swatch { display: inline-block; width: 12px; height: 12px; border-radius: 2px; vertical-align: -1px; margin-right: 4px; }
ul.notes li { margin-bottom: 4px; }
table.chaos td.name { max-width: 260px; }
td.intact { color: #2e7d32; } td.broken { color: #c62828; font-weight: bold; }
</style>
</head>
<body>
<h1>stampkit local twin</h1>
<p class="lead">Every scenario replayed against three scaling policies on the same simulated fleet (seed {{.Meta.Seed}}). The stampkit policy is the real scaler Lambda handler, fed the JSON events CloudWatch and EventBridge send.</p>
{{with .Provenance}}<p class="provenance">{{.}}</p>
{{end}}
<h2>Summary</h2>
<table>
<tr>{{range $i, $h := .Heads}}<th{{if lt $i 2}} class="name"{{end}}>{{$h}}</th>{{end}}</tr>
{{range .Rows}}{{$row := .}}<tr class="{{if .First}}first {{end}}{{if .Best}}best{{end}}">{{range $i, $c := .Cells}}{{if eq $i 0}}<td class="name">{{$c}}</td>{{else if eq $i 1}}<td class="name"><span class="swatch" style="background: {{$row.Colour}}"></span>{{$c}}</td>{{else if eq $i 2}}<td class="slo">{{$c}}</td>{{else}}<td>{{$c}}</td>{{end}}{{end}}</tr>
{{end}}</table>

<h2>stampkit against target tracking</h2>
<table>
<tr><th class="name">scenarios</th><th>SLO min stampkit</th><th>SLO min target tracking</th><th>change</th><th>instance-hours stampkit</th><th>instance-hours target tracking</th><th>change</th></tr>
{{range .Comparisons}}<tr><td class="name">{{.Scenario}}</td><td>{{f1 .StampkitSLO}}</td><td>{{f1 .TrackingSLO}}</td><td class="{{if le .SLOChange 0.0}}better{{else}}worse{{end}}">{{signed .SLOChange}}</td><td>{{f1 .StampkitHours}}</td><td>{{f1 .TrackingHours}}</td><td class="{{if le .HoursChange 0.0}}better{{else}}worse{{end}}">{{signed .HoursChange}}</td></tr>
{{end}}</table>

<h2>Policies</h2>
<ul class="notes">
{{range .Policies}}<li><span class="swatch" style="background: {{.Colour}}"></span><b>{{.Name}}</b>: {{.Text}}</li>
{{end}}</ul>

{{range .Sections}}<h2 id="{{.ID}}">{{.Name}}</h2>
<p>{{.Description}}</p>
{{.Chart}}
{{if .Zoom}}<p class="zoom">{{.ZoomNote}}</p>
{{.Zoom}}
{{end}}{{if .Chaos}}<table class="chaos">
<tr><th class="name">policy</th><th class="name">faults injected</th><th>absorbed by the handler</th><th>recovered by retry</th><th>dead-lettered</th><th>events dead-lettered</th><th>decisions applied twice / forgotten</th><th>ready launches lost (to dead letters, late retries)</th><th class="name">rollout</th><th>SLO min (without chaos)</th><th class="name">verdict</th></tr>
{{range .Chaos}}<tr><td class="name">{{.Policy}}</td><td class="name">{{.Faults}}: {{kinds .Injected}}</td><td>{{index .Outcomes "absorbed"}}</td><td>{{index .Outcomes "recovered"}}</td><td>{{index .Outcomes "dead-lettered"}}</td><td>{{deadLetters .}}</td><td>{{if .Scaler}}{{.Effects.Doubled}} / {{.Effects.Unrecorded}}{{else}}AWS's policy{{end}}</td><td>{{.Effects.Lost}} ({{.Effects.LostDeadLettered}}, {{.Effects.LostLate}})</td><td class="name">{{if .Rollout}}{{.Rollout}}{{else}}none{{end}}</td><td>{{f1 .SLO}} ({{f1 .CleanSLO}})</td><td class="name {{if .Intact}}intact{{else}}broken{{end}}">{{.Verdict}}</td></tr>
{{end}}</table>
{{end}}{{end}}
<h2>Model and metrics</h2>
<ul class="notes">
{{range .Assumptions}}<li>{{.}}</li>
{{end}}</ul>
</body>
</html>
`

// WriteHTML writes the report for runs, which come grouped by scenario.
func WriteHTML(w io.Writer, meta Meta, runs []suite.Run) error {
	t, err := template.New("report").Funcs(template.FuncMap{"f1": f1, "signed": signed, "kinds": kindCounts, "deadLetters": deadLetterCounts}).Parse(pageTemplate)
	if err != nil {
		return fmt.Errorf("parsing report template: %w", err)
	}
	p := page{Meta: meta, Provenance: meta.provenance(), Comparisons: Compare(runs), Policies: policyNotes(), Assumptions: assumptions(runs)}
	chaos := map[string][]ChaosSummary{}
	for _, c := range Chaos(runs) {
		chaos[c.Scenario] = append(chaos[c.Scenario], c)
	}
	for _, c := range tableColumns() {
		p.Heads = append(p.Heads, c.head)
	}
	byScenario := map[string][]suite.Run{}
	var order []string
	for _, r := range runs {
		name := r.Result.Scenario
		if _, ok := byScenario[name]; !ok {
			order = append(order, name)
		}
		byScenario[name] = append(byScenario[name], r)
	}
	for _, name := range order {
		group := byScenario[name]
		best := 0
		for i, r := range group {
			if r.Scores.SLOViolationMinutes < group[best].Scores.SLOViolationMinutes {
				best = i
			}
		}
		for i, r := range group {
			p.Rows = append(p.Rows, tableRow{Cells: row(r), Best: i == best, First: i == 0, Colour: policyColour(r.Result.Policy)})
		}
		sec := section{ID: "scenario-" + name, Name: name, Description: suite.Description(name), Chaos: chaos[name]}
		// chart escapes every string it writes.
		full := fullFrame(group)
		if zoom, why, ok := zoomFrame(group, full); ok {
			sec.Chart, sec.Zoom, sec.ZoomNote = template.HTML(chart(group, full, &zoom)), template.HTML(chart(group, zoom, nil)), why
		} else {
			sec.Chart = template.HTML(chart(group, full, nil))
		}
		p.Sections = append(p.Sections, sec)
	}
	var b strings.Builder
	if err := t.Execute(&b, p); err != nil {
		return fmt.Errorf("rendering report: %w", err)
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("writing report: %w", err)
	}
	return nil
}

func policyNotes() []policyNote {
	return []policyNote{
		{suite.Stampkit, policyColour(suite.Stampkit), "the real scaler handler (shared/scaler) running scaling.DefaultPolicy: a 10-second CPU alarm (2 of 2 above target+5), a one-minute request-count alarm that sizes surges, proportional steps, a slow, hysteretic scale-in, and after a day of history a seasonal forecast of the load balancer's request count that raises the floor ahead of the daily cycle (read through GetMetricData from the twin's CloudWatch). Alarm changes and a one-minute schedule reach it through a simulated EventBridge that delays, reorders and duplicates."},
		{suite.TargetTracking, policyColour(suite.TargetTracking), "a model of AWS target tracking on average CPU at the same target: high alarm 3 of 3 one-minute datapoints above target, low alarm 15 of 15 below 90 % of it, capacity = ceil(current × metric / target), 300-second instance warm-up during which warming instances' metrics are left out, they count as capacity when sizing a scale-out, and scale-in waits. stampkit compare also runs it at high resolution with request count per target, and with predictive scaling."},
		{suite.StepScaling, policyColour(suite.StepScaling), "a model of AWS step scaling on the same alarms and step tables as stampkit (CPU at 10 s, request count per target, CPU low at one minute), as AWS runs them: no cooldown, a step at every evaluation in ALARM, instances still warming up (stampkit's 3-minute warm-up) counted as capacity so that a repeated breach adds only the difference, and scale-in blocked while they warm up."},
	}
}

// hooksNote describes the lifecycle hooks every policy runs behind.
func hooksNote(c twin.Config) string {
	if c.Hooks == nil {
		return "Lifecycle hooks: none; a booted instance goes InService at once."
	}
	return fmt.Sprintf("Lifecycle hooks, the same for every policy: each launch and each termination of a serving instance is published as the Auto Scaling lifecycle action and answered by the real lifecycle handler (shared/hooks). A launch waits at the hook until its HTTP probe passes (every %v; the application answers %v after boot; abandoned after %v), then registers with the load balancer; a termination waits until the target has drained. Orange ticks at the bottom of a panel mark launches released, purple ones terminations drained.",
		c.Hooks.Launch.Interval.Std(), c.AppWarmup, c.Hooks.Launch.Timeout.Std())
}

// refreshNote describes the instance refresh preferences of c.
func refreshNote(c twin.Config) string {
	lo, hi := 90, 100
	if c.RefreshMinHealthy != nil {
		lo = *c.RefreshMinHealthy
	}
	if c.RefreshMaxHealthy != nil {
		hi = *c.RefreshMaxHealthy
	}
	out := fmt.Sprintf("keeping %d %% of desired capacity healthy and up to %d %% in service or pending", lo, hi)
	if hi > 100 {
		out += " (replacements launch before what they replace terminates, and count as InService)"
	}
	if n := len(c.RefreshCheckpoints); n > 1 {
		out += fmt.Sprintf(", waiting %v at checkpoints %v %%", c.RefreshCheckpointDelay, c.RefreshCheckpoints[:n-1])
	}
	return out
}

func assumptions(runs []suite.Run) []string {
	if len(runs) == 0 {
		return nil
	}
	c := runs[0].Result.Config
	notes := []string{
		fmt.Sprintf("Fleet: one Auto Scaling group (min %d, max %d) behind an Application Load Balancer. An instance serves %g requests/s at 100 %% CPU; demand in instances is the request rate over %g requests/s (%g %% utilisation).", c.Min, c.Max, c.InstanceCapacity, c.PerInstanceTarget(), 100*c.TargetUtilisation),
		fmt.Sprintf("Launch: log-normal, median %v (σ of the logarithm %g); then load-balancer health checks every %v, healthy after %d; scale-in drains a serving target for %v.", c.LaunchMedian, c.LaunchSpread, c.HealthCheckInterval, c.HealthyThreshold, c.DeregistrationDelay),
		hooksNote(c),
		fmt.Sprintf("Service: the load balancer deals requests round robin over healthy targets; each serves up to its capacity and answers the rest with 503 (target 5XX). A target group with only unhealthy targets fails open: the load balancer routes to all of them, and keeps sending it its weight; a target whose application crashed refuses connections and the load balancer answers 502, one with no target to route to 503 (load balancer 5XX, counted apart from the targets'). %d failed health checks %v apart mark a target unhealthy. p95 latency is %v/(1−u) (M/M/1). A %v step violates the SLO when p95 exceeds %v, utilisation exceeds %g %%, or a request fails.", c.UnhealthyThreshold, c.HealthCheckInterval, c.BaseP95, c.Step, c.P95Bound, 100*c.UtilisationBound),
		fmt.Sprintf("CloudWatch: CPU is the group average over running instances with %g points of measurement noise; alarms evaluate M of N datapoints and change state only on a change. EventBridge: delay %v–%v, %g %% duplicated up to %v later.", c.CPUNoise, c.Bus.MinDelay, c.Bus.MaxDelay, 100*c.Bus.DuplicateProbability, c.Bus.DuplicateDelay),
		fmt.Sprintf("Rollouts, the same for every policy: the image event reaches the real rollout handler (shared/stamper), which the twin serves its launch template, image parameter, groups, instance refresh, listener and alarms. The fleet's health alarms, which every rollout watches: target 5XX and load balancer 5XX (each more than %d a minute for 2 of 2 minutes) and, per target group, unhealthy hosts (any for 2 of 2 minutes), missing data not breaching. Rolling: an instance refresh %s with auto-rollback, whose alarm specification is the health alarms; on ALARM Auto Scaling rolls the refresh back, replacing the new instances with the same preferences. Blue/green: a peer group on the new image behind the same listener, whose forward weights the handler moves in its steps, baking each while it watches the alarms; a promotion empties the old group, and the stampkit scaler follows the group the rollout record says serves (the baselines scale the group with the larger weight). Operator commands (an abort) reach the handler as the CLI writes them. Metrics and alarms aggregate both groups. Dashed lines mark the rollout's events (red: a rollback; orange: an injected fault or an operator's command), shading the refresh or the blue/green rollout.", twin.HealthAlarmThreshold, refreshNote(c)),
		fmt.Sprintf("Cost: $%g per instance-hour (c7g.large on demand, us-east-1), billed from launch to termination.", c.PricePerHour),
		"Elasticity metrics (SPEC RG Cloud, Herbst et al., arXiv:1604.03470), with demand d and supply s = healthy targets per step: θU and θO are the mean shortfall and excess as a percentage of demand; τU and τO the percentage of time under- and over-provisioned; υ the percentage of time supply and demand move in different directions. Flaps count reversals of direction within 10 minutes.",
	}
	for _, r := range runs {
		if r.Result.Chaos != nil {
			notes = append(notes, chaosNote(*r.Result.Chaos))
			break
		}
	}
	return notes
}

// chaosNote describes chaos c and how the twin retries what it fails.
func chaosNote(c twin.Chaos) string {
	var fns []string
	for _, f := range twin.Functions() {
		s := fmt.Sprintf("%s %v timeout, %d retries within %v", f.Name, f.Timeout, f.Retries, f.MaxEventAge)
		if f.Visibility > 0 {
			s += fmt.Sprintf(", wake-ups redelivered after %v up to %d receives", f.Visibility, f.MaxReceives)
		}
		fns = append(fns, s)
	}
	return fmt.Sprintf("Chaos, per call a handler makes after the SDK's own three attempts: %g %% throttled (each service's throttling code), %g %% answered 500, %g %% timed out (a write landed or not), %g %% carried out with the response lost; %g %% of invocations out of time during one of their first %d calls; %g %% of deliveries made twice up to %v apart, %g %% of EventBridge's up to %v late. A failed invocation is retried as AWS does: an event from EventBridge by Lambda's asynchronous retries, a minute and two minutes later, within the maximum event age, then the function's on-failure destination; a wake-up by its SQS queue after the visibility timeout, up to maxReceiveCount, then the queue's dead-letter queue. As deployed: %s. Each run under chaos checks itself: no scaling decision applied twice for one alarm reading nor left off the scaler's record, every lifecycle action ended once and no ready launch lost but where its events' retries ran out or came too late; the rollout is compared with the run without chaos.",
		100*c.Throttle, 100*c.ServerError, 100*c.Timeout, 100*c.LostResponse, 100*c.LambdaTimeout, c.LambdaTimeoutCalls,
		100*c.Duplicate, c.DuplicateDelay, 100*c.Late, c.LateDelay, strings.Join(fns, "; "))
}
