package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stampkit/stampkit/shared/twin/suite"
)

// writeSurgeTrace writes a day of per-minute counts: a flat base with a
// 3× surge for 20 minutes in the afternoon.
func writeSurgeTrace(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("minute,requests\n")
	for m := range 6 * 60 {
		v := 1000 + 300*math.Sin(2*math.Pi*float64(m)/(6*60))
		if m >= 180 && m < 200 {
			v *= 3
		}
		fmt.Fprintf(&b, "%d,%.0f\n", m, v)
	}
	path := filepath.Join(t.TempDir(), "surge.csv")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestCompareJSON(t *testing.T) {
	trace := writeSurgeTrace(t)
	dir := t.TempDir()
	var out, errs bytes.Buffer
	if err := run(t.Context(), []string{"compare", "-trace", trace, "-json", "-out", dir, "-peak", "20"}, &out, &errs); err != nil {
		t.Fatalf("compare: %v\n%s", err, errs.String())
	}
	var rows []map[string]any
	if err := json.Unmarshal(out.Bytes(), &rows); err != nil {
		t.Fatalf("stdout is not a JSON array: %v\n%s", err, out.String())
	}
	perPolicy := map[string]int{}
	defaults := map[string]int{}
	for i, r := range rows {
		for _, key := range []string{"policy", "setting", "sloMinutes", "instanceHours", "flaps", "droppedPercent"} {
			if _, ok := r[key]; !ok {
				t.Errorf("row %d has no %q: %v", i, key, r)
			}
		}
		policy, _ := r["policy"].(string)
		perPolicy[policy]++
		if d, _ := r["default"].(bool); d {
			defaults[policy]++
		}
		if ih, _ := r["instanceHours"].(float64); ih <= 0 {
			t.Errorf("row %d (%s %v): instance-hours %v, want > 0", i, policy, r["setting"], r["instanceHours"])
		}
		_, matched := r["stampkitAtCost"]
		if matched == (policy == suite.Stampkit) {
			t.Errorf("row %d (%s): stampkitAtCost present %v, want it on baseline rows only", i, policy, matched)
		}
	}
	for _, p := range suite.ComparePolicies() {
		if perPolicy[p] < 2 {
			t.Errorf("policy %s: %d rows, want its default and a sweep", p, perPolicy[p])
		}
		if defaults[p] != 1 {
			t.Errorf("policy %s: %d default rows, want 1", p, defaults[p])
		}
	}
	for _, f := range []string{"compare.json", "compare.html"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("%s not written: %v", f, err)
		}
	}
	if !strings.Contains(errs.String(), "runs in") {
		t.Errorf("no progress on stderr: %q", errs.String())
	}
}

func TestCompareTable(t *testing.T) {
	trace := writeSurgeTrace(t)
	var out, errs bytes.Buffer
	args := []string{"compare", "-trace", trace, "-from", "60", "-minutes", "240", "-out", "", "-policies", suite.Stampkit + "," + suite.BestBaseline}
	if err := run(t.Context(), args, &out, &errs); err != nil {
		t.Fatalf("compare: %v\n%s", err, errs.String())
	}
	for _, want := range []string{"surge[60:300]", "stampkit at each baseline's cost", "» " + suite.BestBaseline, "headline, at " + suite.BestBaseline + " target=", "best baseline there"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, out.String())
		}
	}
}

func TestCompareRejects(t *testing.T) {
	trace := writeSurgeTrace(t)
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no trace", nil, "-trace"},
		{"negative window", []string{"-trace", trace, "-from", "-1"}, "-from"},
		{"window past the end", []string{"-trace", trace, "-from", "100000"}, "has 360 minutes"},
		{"unknown policy", []string{"-trace", trace, "-policies", "magic"}, "magic"},
		{"no seeds", []string{"-trace", trace, "-seeds", "0"}, "-seeds"},
		{"missing file", []string{"-trace", filepath.Join(t.TempDir(), "none.csv")}, "opening trace"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			err := run(t.Context(), append([]string{"compare", "-out", ""}, tt.args...), &out, &out)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error mentioning %q", err, tt.want)
			}
		})
	}
}

// Two seeds give each setting the mean of its two runs.
func TestCompareSeedsAverage(t *testing.T) {
	trace := writeSurgeTrace(t)
	rows := func(args ...string) map[string]map[string]any {
		var out, errs bytes.Buffer
		base := []string{"compare", "-trace", trace, "-json", "-out", "", "-peak", "20", "-policies", suite.Stampkit}
		if err := run(t.Context(), append(base, args...), &out, &errs); err != nil {
			t.Fatalf("compare %v: %v\n%s", args, err, errs.String())
		}
		var rs []map[string]any
		if err := json.Unmarshal(out.Bytes(), &rs); err != nil {
			t.Fatal(err)
		}
		by := map[string]map[string]any{}
		for _, r := range rs {
			by[r["setting"].(string)] = r
		}
		return by
	}
	one, two, both := rows("-seed", "1"), rows("-seed", "2"), rows("-seed", "1", "-seeds", "2")
	differ := false
	for setting, r := range both {
		for _, key := range []string{"sloMinutes", "instanceHours"} {
			a, b, got := one[setting][key].(float64), two[setting][key].(float64), r[key].(float64)
			if math.Abs(got-(a+b)/2) > 0.001 { // both rounded to thousandths
				t.Errorf("%s %s: got %g, want the mean of %g and %g", setting, key, got, a, b)
			}
			differ = differ || a != b
		}
	}
	if !differ {
		t.Error("seeds 1 and 2 gave the same runs: the test cannot tell a mean from either")
	}
}
