package report_test

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/stampkit/stampkit/shared/twin"
	"github.com/stampkit/stampkit/shared/twin/report"
	"github.com/stampkit/stampkit/shared/twin/score"
	"github.com/stampkit/stampkit/shared/twin/suite"
)

// runs simulates every policy on the generated scenarios cut to two hours.
func runs(t *testing.T, seed uint64) []suite.Run {
	t.Helper()
	cfg := twin.DefaultConfig()
	cfg.Seed = seed
	jobs, err := suite.Jobs(cfg, seed, suite.Generated(), suite.PolicyNames())
	if err != nil {
		t.Fatalf("jobs: %v", err)
	}
	for i := range jobs {
		if n := int(2 * time.Hour / cfg.Step); len(jobs[i].Scenario.Trace.Rates) > n {
			jobs[i].Scenario.Trace.Rates = jobs[i].Scenario.Trace.Rates[:n]
		}
	}
	out, err := suite.RunAll(t.Context(), cfg, jobs, nil)
	if err != nil {
		t.Fatalf("RunAll: %v", err)
	}
	return out
}

func render(t *testing.T, seed uint64, rs []suite.Run) (html, summary string) {
	t.Helper()
	var h, s bytes.Buffer
	if err := report.WriteHTML(&h, report.Meta{Seed: seed}, rs); err != nil {
		t.Fatalf("WriteHTML: %v", err)
	}
	if err := report.WriteSummary(&s, rs); err != nil {
		t.Fatalf("WriteSummary: %v", err)
	}
	return h.String(), s.String()
}

func TestHTMLParsesWithAChartPerScenario(t *testing.T) {
	rs := runs(t, 1)
	page, _ := render(t, 1, rs)
	dec := xml.NewDecoder(strings.NewReader(page))
	dec.Strict = true
	var svgs, panels, sections int
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("report is not well-formed: %v", err)
		}
		el, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		switch el.Name.Local {
		case "svg":
			svgs++
		case "g":
			for _, a := range el.Attr {
				if a.Name.Local == "data-policy" {
					panels++
				}
			}
		case "h2":
			for _, a := range el.Attr {
				if a.Name.Local == "id" && strings.HasPrefix(a.Value, "scenario-") {
					sections++
				}
			}
		}
	}
	n := len(suite.Generated())
	if svgs != n || sections != n {
		t.Errorf("got %d charts in %d scenario sections, want %d of each", svgs, sections, n)
	}
	if want := n * len(suite.PolicyNames()); panels != want {
		t.Errorf("got %d policy panels, want %d", panels, want)
	}
	for _, want := range []string{"<title>stampkit twin report</title>", "θU", "target-tracking", "instance refresh"} {
		if !strings.Contains(page, want) {
			t.Errorf("report lacks %q", want)
		}
	}
}

func TestReportIsDeterministic(t *testing.T) {
	html1, sum1 := render(t, 1, runs(t, 1))
	html2, sum2 := render(t, 1, runs(t, 1))
	if html1 != html2 || sum1 != sum2 {
		t.Error("one seed gave two different reports")
	}
	html3, _ := render(t, 2, runs(t, 2))
	if html3 == html1 {
		t.Error("two seeds gave the same report")
	}
}

func TestCompare(t *testing.T) {
	mk := func(scenario, policy string, slo, hours float64) suite.Run {
		return suite.Run{Result: &twin.Result{Scenario: scenario, Policy: policy}, Scores: score.Scores{SLOViolationMinutes: slo, InstanceHours: hours}}
	}
	rs := []suite.Run{
		mk(suite.Spike, suite.Stampkit, 5, 110), mk(suite.Spike, suite.TargetTracking, 10, 100), mk(suite.Spike, suite.StepScaling, 50, 90),
		mk(suite.NASAWeek, suite.Stampkit, 30, 200), mk(suite.NASAWeek, suite.TargetTracking, 60, 200),
	}
	got := report.Compare(rs)
	want := []struct {
		name          string
		slo, hours    float64
		sloCh, hourCh float64
	}{
		{suite.Spike, 5, 110, -50, 10},
		{suite.NASAWeek, 30, 200, -50, 0},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d comparisons %+v, want %d", len(got), got, len(want))
	}
	for i, w := range want {
		g := got[i]
		if g.Scenario != w.name || g.StampkitSLO != w.slo || g.StampkitHours != w.hours ||
			abs(g.SLOChange()-w.sloCh) > 1e-9 || abs(g.HoursChange()-w.hourCh) > 1e-9 {
			t.Errorf("comparison %d = %+v (SLO %+.1f%%, hours %+.1f%%), want %+v", i, g, g.SLOChange(), g.HoursChange(), w)
		}
	}
}

func abs(v float64) float64 {
	if v < 0 {
		return -v
	}
	return v
}

// TestWeightsPanel checks that in a blue/green scenario's chart each
// policy gets a panel of the listener's weights with its line, that a
// scenario without one gets none, and that a rollback is marked in red.
func TestWeightsPanel(t *testing.T) {
	cfg := twin.DefaultConfig()
	policies := []string{suite.Stampkit, suite.TargetTracking}
	jobs, err := suite.Jobs(cfg, 1, []string{suite.Spike, suite.BlueGreen, suite.BadGreen}, policies)
	if err != nil {
		t.Fatalf("jobs: %v", err)
	}
	for i := range jobs {
		jobs[i].Scenario.Trace.Rates = jobs[i].Scenario.Trace.Rates[:int(3*time.Hour/cfg.Step)]
	}
	rs, err := suite.RunAll(t.Context(), cfg, jobs, nil)
	if err != nil {
		t.Fatalf("RunAll: %v", err)
	}
	page, _ := render(t, 1, rs)
	dec := xml.NewDecoder(strings.NewReader(page))
	dec.Strict = true
	var panels, lines, inPanel int
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("report is not well-formed: %v", err)
		}
		switch el := tok.(type) {
		case xml.StartElement:
			if inPanel > 0 {
				inPanel++
				if el.Name.Local == "path" {
					lines++
				}
			}
			if el.Name.Local == "g" && len(el.Attr) > 0 && el.Attr[0].Value == "weights" {
				panels++
				inPanel = 1
			}
		case xml.EndElement:
			if inPanel > 0 {
				inPanel--
			}
		}
	}
	if want := 2 * len(policies); panels != want || lines != want {
		t.Errorf("got %d weights panels with %d lines, want %d of each (one per policy of each blue/green scenario)", panels, lines, want)
	}
	if !strings.Contains(page, `stroke="#e53935" stroke-dasharray="2 2"`) {
		t.Error("the bad image's rollback is not marked in red")
	}
}

// TestChaosReport renders a run under chaos: the summary and the page
// count the faults and say, from the run's own checks, whether anything
// was lost or doubled; a run whose checks fail says so.
func TestChaosReport(t *testing.T) {
	cfg := twin.DefaultConfig()
	sc, err := suite.Scenario(suite.Spike, cfg, 1)
	if err != nil {
		t.Fatal(err)
	}
	sc.Trace.Rates = sc.Trace.Rates[:int(3*time.Hour/cfg.Step)]
	var jobs []suite.Job
	for _, name := range []string{suite.Stampkit, suite.TargetTracking} {
		p, err := suite.Policy(name, cfg)
		if err != nil {
			t.Fatal(err)
		}
		jobs = append(jobs, suite.Job{Scenario: suite.WithChaos(sc, twin.DefaultChaos()), Policy: p})
	}
	rs, err := suite.RunAll(t.Context(), cfg, jobs, nil)
	if err != nil {
		t.Fatalf("RunAll: %v", err)
	}
	page, summary := render(t, 1, rs)
	for _, want := range []string{"chaos (faults injected", "spike-chaos / stampkit", "recovered by retry", "no action lost or doubled", "scaled by AWS's own policy"} {
		if !strings.Contains(summary, want) {
			t.Errorf("summary lacks %q:\n%s", want, summary)
		}
	}
	if strings.Contains(summary, "ACTIONS LOST OR DOUBLED") {
		t.Errorf("summary reports actions lost or doubled:\n%s", summary)
	}
	dec := xml.NewDecoder(strings.NewReader(page))
	dec.Strict = true
	for {
		if _, err := dec.Token(); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("report is not well-formed: %v", err)
		}
	}
	for _, want := range []string{`<table class="chaos">`, `class="key" data-mark="chaos-`, "recovered by retry", `class="name intact"`} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	cs := report.Chaos(rs)
	if len(cs) != 2 || cs[0].Faults == 0 || !cs[0].Intact() {
		t.Fatalf("chaos summaries %+v: want two, the first with faults, intact", cs)
	}
	broken := cs[0]
	broken.Effects.Unrecorded = 1
	if broken.Intact() || !strings.Contains(broken.Verdict(), "ACTIONS LOST OR DOUBLED: 1 capacity changes not on the scaler's record") {
		t.Errorf("a run with a forgotten change: intact %v, verdict %q", broken.Intact(), broken.Verdict())
	}
}

// TestStampsPanel checks that a stamp shift's chart draws, per policy,
// the DNS weight of the new stamp's record and each stamp's healthy
// targets, keyed in the legend, and that other scenarios draw neither.
func TestStampsPanel(t *testing.T) {
	cfg := twin.DefaultConfig()
	policies := []string{suite.Stampkit, suite.TargetTracking}
	jobs, err := suite.Jobs(cfg, 1, []string{suite.Spike, suite.StampShift}, policies)
	if err != nil {
		t.Fatalf("jobs: %v", err)
	}
	for i := range jobs {
		jobs[i].Scenario.Trace.Rates = jobs[i].Scenario.Trace.Rates[:int(90*time.Minute/cfg.Step)]
	}
	rs, err := suite.RunAll(t.Context(), cfg, jobs, nil)
	if err != nil {
		t.Fatalf("RunAll: %v", err)
	}
	page, _ := render(t, 1, rs)
	for _, tt := range []struct {
		what string
		want int
	}{
		{`<g class="stamps"`, len(policies)},
		{`<g data-mark="dns-weight">`, len(policies)},
		{`<g data-mark="stamp-from">`, len(policies)},
		{`<g data-mark="stamp-to">`, len(policies)},
		{`<g class="key" data-mark="dns-weight"`, 1},
		{`<g class="key" data-mark="stamp-to"`, 1},
		{`<g data-mark="weight">`, 0},
	} {
		if got := strings.Count(page, tt.what); got != tt.want {
			t.Errorf("%s appears %d times, want %d", tt.what, got, tt.want)
		}
	}
}
