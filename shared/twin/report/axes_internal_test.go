package report

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stampkit/stampkit/shared/twin"
	"github.com/stampkit/stampkit/shared/twin/suite"
)

type label struct {
	x      float64
	anchor string
	text   string
}

// axisLabels parses the tick labels out of the SVG a time axis emitted.
func axisLabels(t *testing.T, out string) (labels []label, title string) {
	t.Helper()
	dec := xml.NewDecoder(strings.NewReader("<svg>" + out + "</svg>"))
	dec.Strict = true
	var open *xml.StartElement
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return labels, title
		}
		if err != nil {
			t.Fatalf("time axis is not well-formed: %v\n%s", err, out)
		}
		switch el := tok.(type) {
		case xml.StartElement:
			if el.Name.Local == "text" {
				open = &el
			}
		case xml.CharData:
			if open == nil {
				continue
			}
			attr := map[string]string{}
			for _, a := range open.Attr {
				attr[a.Name.Local] = a.Value
			}
			switch attr["class"] {
			case "tick":
				x, err := strconv.ParseFloat(attr["x"], 64)
				if err != nil {
					t.Fatalf("tick label x %q: %v", attr["x"], err)
				}
				labels = append(labels, label{x, attr["text-anchor"], string(el)})
			case "axis":
				title = string(el)
			}
			open = nil
		}
	}
}

// TestTimeAxisLabelsDoNotMeet renders the time axis of many spans, short
// and long, from midnight and from an odd time, whole and zoomed, and
// checks from the positions and anchors it emitted that no two labels are
// closer than their width (taken at 7 units a character, wider than
// 11-unit system-ui text renders), that all lie inside the chart, and that
// there are enough of them to read the time by.
func TestTimeAxisLabelsDoNotMeet(t *testing.T) {
	const charWidth, minGap = 7.0, 4.0
	edt := time.FixedZone("EDT", -4*3600)
	starts := []time.Time{
		time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC),
		time.Date(1995, 7, 10, 0, 0, 0, 0, edt),
		time.Date(2026, 11, 2, 13, 37, 20, 0, time.UTC),
	}
	spans := []time.Duration{10 * time.Minute, 45 * time.Minute, 90 * time.Minute, 2 * time.Hour, 5 * time.Hour, 13 * time.Hour,
		24 * time.Hour, 30 * time.Hour, 49 * time.Hour, 3 * 24 * time.Hour, 7 * 24 * time.Hour, 9 * 24 * time.Hour, 14 * 24 * time.Hour}
	var frames []frame
	for _, start := range starts {
		for _, span := range spans {
			frames = append(frames, frame{start: start, step: 10 * time.Second, to: span})
		}
		frames = append(frames, frame{start: start, step: 10 * time.Second, from: 24 * time.Hour, to: 48 * time.Hour})
	}
	for _, f := range frames {
		name := fmt.Sprintf("%s+%v-%v", f.start.Format("15:04:05MST"), f.from, f.to)
		t.Run(name, func(t *testing.T) {
			c := canvas{drawn: map[mark]bool{}}
			timeAxis(&c, f, timeTicks(f), 100, nil)
			labels, title := axisLabels(t, c.b.String())
			if len(labels) < 3 {
				t.Errorf("got %d labels %v, want at least 3", len(labels), labels)
			}
			if want := f.start.Format("MST"); !strings.HasSuffix(title, "("+want+")") {
				t.Errorf("axis title %q does not name the time zone %s", title, want)
			}
			prevRight, prev := math.Inf(-1), ""
			for _, l := range labels {
				w := charWidth * float64(len([]rune(l.text)))
				left := map[string]float64{"start": l.x, "middle": l.x - w/2, "end": l.x - w}[l.anchor]
				if left < 0 || left+w > chartWidth {
					t.Errorf("label %q spans %.1f–%.1f, outside the chart's 0–%d", l.text, left, left+w, chartWidth)
				}
				if left < prevRight+minGap {
					t.Errorf("label %q starts at %.1f, %.1f units after %q ends at %.1f: want %g or more", l.text, left, left-prevRight, prev, prevRight, minGap)
				}
				prevRight, prev = left+w, l.text
			}
		})
	}
}

// longRuns is two policies on a synthetic trace of days days, quiet but
// for a burst of demand on the last day, whose first run breaks the SLO
// for an hour on day bad (none when bad is negative).
func longRuns(days, bad int) []suite.Run {
	cfg := twin.DefaultConfig()
	start := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	n := int(time.Duration(days) * 24 * time.Hour / cfg.Step)
	var runs []suite.Run
	for k, policy := range []string{suite.Stampkit, suite.TargetTracking} {
		res := &twin.Result{Scenario: "long", Policy: policy, Config: cfg, Start: start, Samples: make([]twin.Sample, n)}
		for i := range res.Samples {
			at := time.Duration(i) * cfg.Step
			s := &res.Samples[i]
			s.Offered, s.Healthy, s.Desired, s.CPU, s.P95 = 1000, 4, 4, 50, 60*time.Millisecond
			if at >= time.Duration(days-1)*24*time.Hour+12*time.Hour && at < time.Duration(days-1)*24*time.Hour+13*time.Hour {
				s.Offered = 5000
			}
			if k == 0 && at >= time.Duration(bad)*24*time.Hour+10*time.Hour && at < time.Duration(bad)*24*time.Hour+11*time.Hour {
				s.Violation, s.P95 = true, time.Second
			}
		}
		runs = append(runs, suite.Run{Result: res})
	}
	return runs
}

// TestZoomFrame checks which day of a long trace is charted closer: the
// one with the most SLO violations, else the busiest, and none for a trace
// of two days or less.
func TestZoomFrame(t *testing.T) {
	cases := []struct {
		name      string
		days, bad int
		ok        bool
		day       int
		why       string
	}{
		{"violations on day 2", 4, 1, true, 1, "Tuesday 3 November 2026, the day the policies broke the SLO longest (1h0m0s in all)"},
		{"no violations: the busiest day", 4, -1, true, 3, "Thursday 5 November 2026, the day of the highest demand"},
		{"two days: no zoom", 2, 0, false, 0, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			runs := longRuns(tc.days, tc.bad)
			f, why, ok := zoomFrame(runs, fullFrame(runs))
			if ok != tc.ok {
				t.Fatalf("zoom %v, want %v", ok, tc.ok)
			}
			if !ok {
				return
			}
			if want := time.Duration(tc.day) * 24 * time.Hour; f.from != want || f.to != want+24*time.Hour {
				t.Errorf("zoomed %v–%v, want day %d (%v–%v)", f.from, f.to, tc.day, want, want+24*time.Hour)
			}
			if !strings.Contains(why, tc.why) {
				t.Errorf("note %q, want it to say %q", why, tc.why)
			}
		})
	}
}

// TestLegendKeysOnlyWhatIsDrawn checks the legend against the kinds of
// mark drawn: a key for each, none for a kind not drawn, in the order
// legendKeys gives.
func TestLegendKeysOnlyWhatIsDrawn(t *testing.T) {
	out, _ := legend(map[mark]bool{markLaunch: true, markDemand: true, markP95Bound: true})
	var got []string
	for _, part := range strings.Split(out, `data-mark="`)[1:] {
		got = append(got, part[:strings.Index(part, `"`)])
	}
	if want := []string{"demand", "launch", "p95-bound"}; !slices.Equal(got, want) {
		t.Errorf("legend keys %v, want %v", got, want)
	}
	for _, k := range legendKeys() {
		if k.label == "" || !strings.Contains(k.swatch, "<") {
			t.Errorf("key %s has label %q and swatch %q: want both", k.kind, k.label, k.swatch)
		}
	}
}
