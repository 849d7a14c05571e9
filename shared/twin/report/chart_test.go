package report_test

import (
	"encoding/xml"
	"errors"
	"io"
	"maps"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stampkit/stampkit/shared/twin"
	"github.com/stampkit/stampkit/shared/twin/report"
	"github.com/stampkit/stampkit/shared/twin/suite"
)

// dashboardRuns simulates every policy on spike, bad-green (a blue/green
// rollout rolled back) and spike under chaos, cut to three hours: between
// them nearly every kind of mark a chart draws.
func dashboardRuns(t *testing.T) []suite.Run {
	t.Helper()
	cfg := twin.DefaultConfig()
	var jobs []suite.Job
	for _, name := range []string{suite.Spike, suite.BadGreen, suite.Spike + "+chaos"} {
		sc, err := suite.Scenario(strings.TrimSuffix(name, "+chaos"), cfg, 1)
		if err != nil {
			t.Fatal(err)
		}
		sc.Trace.Rates = sc.Trace.Rates[:int(3*time.Hour/cfg.Step)]
		if strings.HasSuffix(name, "+chaos") {
			sc = suite.WithChaos(sc, twin.DefaultChaos())
		}
		for _, policy := range suite.PolicyNames() {
			p, err := suite.Policy(policy, cfg)
			if err != nil {
				t.Fatal(err)
			}
			jobs = append(jobs, suite.Job{Scenario: sc, Policy: p})
		}
	}
	rs, err := suite.RunAll(t.Context(), cfg, jobs, nil)
	if err != nil {
		t.Fatalf("RunAll: %v", err)
	}
	return rs
}

// chartInfo is what one chart of a page shows.
type chartInfo struct {
	label      string
	policies   int
	axisTitles []string
	// drawn are the kinds of mark the chart drew, keyed those its legend
	// names.
	drawn, keyed map[string]bool
}

func parseCharts(t *testing.T, page string) []chartInfo {
	t.Helper()
	dec := xml.NewDecoder(strings.NewReader(page))
	dec.Strict = true
	var charts []chartInfo
	inAxisTitle := false
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return charts
		}
		if err != nil {
			t.Fatalf("report is not well-formed: %v", err)
		}
		switch el := tok.(type) {
		case xml.StartElement:
			attr := map[string]string{}
			for _, a := range el.Attr {
				attr[a.Name.Local] = a.Value
			}
			if el.Name.Local == "svg" && attr["class"] == "chart" {
				charts = append(charts, chartInfo{label: attr["aria-label"], drawn: map[string]bool{}, keyed: map[string]bool{}})
			}
			if len(charts) == 0 {
				continue
			}
			c := &charts[len(charts)-1]
			switch {
			case el.Name.Local == "g" && attr["class"] == "key":
				c.keyed[attr["data-mark"]] = true
			case el.Name.Local == "g" && attr["data-mark"] != "":
				c.drawn[attr["data-mark"]] = true
			case el.Name.Local == "g" && attr["class"] == "panel":
				c.policies++
			case el.Name.Local == "text" && attr["class"] == "axis":
				inAxisTitle = true
			}
		case xml.CharData:
			if inAxisTitle {
				c := &charts[len(charts)-1]
				c.axisTitles = append(c.axisTitles, string(el))
				inAxisTitle = false
			}
		}
	}
}

// TestEveryPanelHasAxisTitles checks that each policy's panels title their
// axes with units (instances, CPU %, p95 ms, and the weight to the green
// group where a blue/green rollout runs) and that each chart titles its
// time axis with the time zone.
func TestEveryPanelHasAxisTitles(t *testing.T) {
	page, _ := render(t, 1, dashboardRuns(t))
	charts := parseCharts(t, page)
	if len(charts) != 3 {
		t.Fatalf("got %d charts, want 3", len(charts))
	}
	timeTitle := regexp.MustCompile(`^(time of day|day and time|day) \([A-Z]+\)$`)
	for _, c := range charts {
		count := map[string]int{}
		times := 0
		for _, title := range c.axisTitles {
			if timeTitle.MatchString(title) {
				times++
			} else {
				count[title]++
			}
		}
		want := map[string]int{"instances": c.policies, "CPU %": c.policies, "p95 ms": c.policies}
		if strings.Contains(c.label, suite.BadGreen) {
			want["green %"] = c.policies
		}
		if c.policies != len(suite.PolicyNames()) || !maps.Equal(count, want) || times != 1 {
			t.Errorf("%s: %d policies, axis titles %v and %d time axis titles; want %d policies, %v and 1",
				c.label, c.policies, count, times, len(suite.PolicyNames()), want)
		}
	}
}

// TestLegendKeysEveryMarkDrawn checks that each chart's legend names
// every kind of mark the chart drew and nothing else, and that between
// them the charts drew the marks the issue asks to be keyed.
func TestLegendKeysEveryMarkDrawn(t *testing.T) {
	page, _ := render(t, 1, dashboardRuns(t))
	all := map[string]bool{}
	for _, c := range parseCharts(t, page) {
		if !maps.Equal(c.drawn, c.keyed) {
			t.Errorf("%s: drew %v, legend keys %v", c.label, slices.Sorted(maps.Keys(c.drawn)), slices.Sorted(maps.Keys(c.keyed)))
		}
		maps.Copy(all, c.drawn)
	}
	for _, want := range []string{"demand", "healthy", "desired", "scale-out", "scale-in", "alarm-cpu-high", "alarm-5xx",
		"slo-violation", "rollout", "rollout-event", "rollback", "launch", "drain", "chaos-absorbed",
		"cpu", "cpu-target", "p95", "p95-bound", "weight"} {
		if !all[want] {
			t.Errorf("no chart drew %q marks; drew %v", want, slices.Sorted(maps.Keys(all)))
		}
	}
}

// TestLongTraceGetsACloserChart checks that a trace of more than two days
// is charted whole, with the zoomed day marked on its time axis, and
// then closer, with a note saying which day and why.
func TestLongTraceGetsACloserChart(t *testing.T) {
	page, _ := render(t, 1, report.LongRuns(4, 1))
	charts := parseCharts(t, page)
	if len(charts) != 2 {
		t.Fatalf("got %d charts, want the whole trace and a day of it", len(charts))
	}
	if !charts[0].drawn["zoom"] || charts[1].drawn["zoom"] {
		t.Errorf("zoomed span drawn on the charts: %v, %v; want on the first only", charts[0].drawn["zoom"], charts[1].drawn["zoom"])
	}
	if want := `<p class="zoom">Closer: Tuesday 3 November 2026`; !strings.Contains(page, want) {
		t.Errorf("page lacks %q", want)
	}
	for _, want := range []string{"day and time (UTC)", "time of day (UTC)"} {
		if !slices.Contains(charts[0].axisTitles, want) && !slices.Contains(charts[1].axisTitles, want) {
			t.Errorf("no chart has the time axis title %q", want)
		}
	}
	if !strings.Contains(page, "here: SLO violated 60 min · 0 scalings (whole trace: 0 min, 0)") {
		t.Error("the closer chart's panel titles do not count the day's own SLO violations")
	}
}

// TestProvenance checks that the page says when, how fast and by what
// build its runs were made, and says nothing of it when it is not known.
func TestProvenance(t *testing.T) {
	runs := report.LongRuns(1, -1)
	meta := report.Meta{Seed: 7, Started: time.Date(2026, 12, 7, 19, 20, 5, 0, time.UTC), Elapsed: 10840 * time.Millisecond, Build: "stampkit v1.2.3-4-gabcdef0 go1.26.8"}
	var with, without strings.Builder
	if err := report.WriteHTML(&with, meta, runs); err != nil {
		t.Fatal(err)
	}
	if err := report.WriteHTML(&without, report.Meta{Seed: 7}, runs); err != nil {
		t.Fatal(err)
	}
	if want := `<p class="provenance">Run 2026-12-07 19:20 UTC in 10.8s of wall-clock time by stampkit v1.2.3-4-gabcdef0 go1.26.8.</p>`; !strings.Contains(with.String(), want) {
		t.Errorf("page lacks %q", want)
	}
	if strings.Contains(without.String(), `class="provenance"`) {
		t.Error("a page without run time or build has a provenance line")
	}
}
