package report_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stampkit/stampkit/shared/browsertest"
	"github.com/stampkit/stampkit/shared/twin/report"
)

// ScreenshotsEnv names a directory to keep the browser test's screenshots
// in, for a person to look at (make report-check sets it).
const ScreenshotsEnv = "STAMPKIT_SCREENSHOTS"

// overlaps lists, per chart, the pairs of text labels and legend keys whose
// boxes, as the browser laid them out, meet.
const overlaps = `(() => {
  const out = [];
  document.querySelectorAll('svg.chart').forEach((svg, i) => {
    const els = [...svg.querySelectorAll('text:not(.legend)'), ...svg.querySelectorAll('g.key')];
    const bs = els.map(e => { const r = e.getBoundingClientRect(); return {name: e.textContent || e.dataset.mark, l: r.left, r: r.right, t: r.top, b: r.bottom}; });
    for (let a = 0; a < bs.length; a++) for (let b = a + 1; b < bs.length; b++) {
      const A = bs[a], B = bs[b];
      const w = Math.min(A.r, B.r) - Math.max(A.l, B.l), h = Math.min(A.b, B.b) - Math.max(A.t, B.t);
      if (w > 0.5 && h > 0.5) out.push('chart ' + i + ': "' + A.name + '" meets "' + B.name + '"');
    }
  });
  return out;
})()`

// TestReportInBrowser loads a report of every kind of chart (a spike, a
// blue/green rollback, chaos, and a long trace with its closer day) in
// headless Chromium, served from 127.0.0.1: the page logs no error, no two
// labels meet as the browser lays them out, every chart is there, and
// screenshots of the top of the page and of a chart are not blank.
func TestReportInBrowser(t *testing.T) {
	b := browsertest.Start(t)
	runs := append(dashboardRuns(t), report.LongRuns(4, 1)...)
	page, _ := render(t, 1, runs)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, page)
	}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()

	p, err := b.Open(ctx, srv.URL+"/", 1100, 1400)
	if err != nil {
		t.Fatal(err)
	}
	if errs := p.Errors(); len(errs) > 0 {
		t.Errorf("the page logged errors: %q", errs)
	}
	var met []string
	if err := p.Eval(ctx, overlaps, &met); err != nil {
		t.Fatal(err)
	}
	for _, m := range met {
		t.Errorf("labels meet: %s", m)
	}
	var charts int
	if err := p.Eval(ctx, `document.querySelectorAll('svg.chart').length`, &charts); err != nil {
		t.Fatal(err)
	}
	if want := len(parseCharts(t, page)); charts != want || want != 5 {
		t.Errorf("browser shows %d charts, the page has %d; want 5", charts, want)
	}
	var box struct{ X, Y, W, H float64 }
	if err := p.Eval(ctx, `(() => { const r = document.querySelector('svg.chart').getBoundingClientRect(); return {X: r.left + scrollX, Y: r.top + scrollY, W: r.width, H: r.height}; })()`, &box); err != nil {
		t.Fatal(err)
	}
	shots := []struct {
		name       string
		x, y, w, h float64
		minInk     float64
	}{
		{"top", 0, 0, 1100, 1400, 0.05},
		{"first-chart", box.X, box.Y, box.W, box.H, 0.15},
	}
	for _, s := range shots {
		png, err := p.Screenshot(ctx, s.x, s.y, s.w, s.h)
		if err != nil {
			t.Fatal(err)
		}
		share, colours, err := browsertest.Ink(png)
		if err != nil {
			t.Fatal(err)
		}
		if share < s.minInk || colours < 32 {
			t.Errorf("screenshot %s: %.3f of pixels inked, %d colours; want at least %.2f and 32", s.name, share, colours, s.minInk)
		}
		if dir := os.Getenv(ScreenshotsEnv); dir != "" {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, s.name+".png"), png, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}
