package main

import (
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/stampkit/stampkit/shared/twin"
	"github.com/stampkit/stampkit/shared/twin/compare"
	"github.com/stampkit/stampkit/shared/twin/report"
	"github.com/stampkit/stampkit/shared/twin/score"
	"github.com/stampkit/stampkit/shared/twin/suite"
	"github.com/stampkit/stampkit/shared/twin/traces"
)

// compareRow is one line of "compare -json": a policy at one setting and,
// for a baseline, stampkit read at its cost.
type compareRow struct {
	compare.Point
	// StampkitAtCost is stampkit's cost–SLO curve read at this row's
	// instance-hours; on baseline rows only.
	StampkitAtCost *atCost `json:"stampkitAtCost,omitempty"`
}

type atCost struct {
	SLOMinutes float64  `json:"sloMinutes"`
	OK         bool     `json:"ok"`
	Ratio      *float64 `json:"ratio,omitempty"`
}

func compareCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("compare", synopses["compare"], stderr)
	tracePath := fs.String("trace", "", `CSV of requests per minute ("minute,requests", minutes from 0; .gz read as gzip)`)
	from := fs.Int("from", 0, "first minute of the trace to replay")
	minutes := fs.Int("minutes", 0, "minutes to replay from -from (0: to the end)")
	peak := fs.Float64("peak", 60, "instances the busiest minute of the replayed window needs")
	warmPool := fs.Int("warm-pool", DefaultCompareWarmPool, "stopped, pre-initialised instances in a warm pool, the same for every policy (0: none); wins over the -config fleet's warmPool (default there: the fleet's)")
	seed := fs.Uint64("seed", 1, "random seed")
	seeds := fs.Int("seeds", 1, "runs of each setting, on seeds -seed, -seed+1, …; a row is their mean")
	only := fs.String("policies", "", fmt.Sprintf("comma-separated policies to run (default all: %s)", strings.Join(suite.ComparePolicies(), ",")))
	asJSON := fs.Bool("json", false, "print the runs as a JSON array instead of a table")
	out := fs.String("out", "out/compare", `directory for compare.html (the cost–SLO curves) and compare.json; "" writes nothing`)
	fleet := addFleetFlags(fs)
	price := addPriceFlag(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := noArgs(fs); err != nil {
		return err
	}
	switch {
	case *tracePath == "":
		return fmt.Errorf("compare needs -trace FILE.csv: %w", errUsage)
	case *from < 0 || *minutes < 0:
		return fmt.Errorf("-from %d and -minutes %d: need 0 or more: %w", *from, *minutes, errUsage)
	case *peak <= 0:
		return fmt.Errorf("-peak %g: need instances above 0: %w", *peak, errUsage)
	case *seeds < 1:
		return fmt.Errorf("-seeds %d: need 1 or more: %w", *seeds, errUsage)
	case *warmPool < 0:
		return fmt.Errorf("-warm-pool %d: need 0 or more: %w", *warmPool, errUsage)
	}
	policies := suite.ComparePolicies()
	if *only != "" {
		policies = strings.Split(*only, ",")
		for _, p := range policies {
			if !slices.Contains(suite.ComparePolicies(), p) {
				return fmt.Errorf("-policies: unknown policy %q (have %s): %w", p, strings.Join(suite.ComparePolicies(), ", "), errUsage)
			}
		}
	}
	own, cfg, err := twinFleet(fs, fleet, *price, stderr)
	if err != nil {
		return err
	}
	if own != nil && !flagSet(fs, "warm-pool") {
		*warmPool = 0
		if cfg.WarmPool != nil {
			*warmPool = cfg.WarmPool.MinSize
		}
	}
	cfg.Seed = *seed
	if *warmPool > 0 && (own == nil || flagSet(fs, "warm-pool")) {
		cfg.WarmPool = twin.DefaultWarmPool(cfg, *warmPool)
	} else if *warmPool == 0 {
		cfg.WarmPool = nil
	}
	sc, err := compareTrace(*tracePath, *from, *minutes, *peak, cfg)
	if err != nil {
		return err
	}
	var (
		jobs  []suite.Job
		setOf []suite.Setting
	)
	for _, name := range policies {
		settings, err := suite.Settings(name, cfg)
		if err != nil {
			return err
		}
		if own != nil && name == suite.Stampkit {
			// The fleet's own policy, at its one setting: a sweep of the
			// shipped policy's target would not be the fleet's.
			settings = []suite.Setting{{Policy: suite.Stampkit, Setting: "fleet=" + own.decl.Name, Default: true, Autoscaler: twin.Stampkit(own.bound.Scaling)}}
		}
		for _, s := range settings {
			jobs = append(jobs, suite.Job{Scenario: sc, Policy: s.Autoscaler})
			setOf = append(setOf, s)
		}
	}
	fmt.Fprintf(stderr, "compare: %s, %d minutes, %d policies, %d runs\n", sc.Name, int(sc.Trace.Duration()/time.Minute), len(policies), len(jobs)**seeds)
	started := time.Now()
	perSeed := make([][]compare.Point, len(jobs))
	for k := range *seeds {
		c := cfg
		c.Seed = *seed + uint64(k)
		runs, err := suite.RunAll(ctx, c, jobs, func(done, total int, r suite.Run) {
			fmt.Fprintf(stderr, "[%3d/%d] seed %d %-28s %6.1fs  SLO %7.1f min  %8.1f instance-hours\n",
				done, total, c.Seed, r.Result.Policy, r.Elapsed.Seconds(), r.Scores.SLOViolationMinutes, r.Scores.InstanceHours)
		})
		if err != nil {
			return err
		}
		for i, r := range runs {
			perSeed[i] = append(perSeed[i], pointOf(setOf[i], r.Scores))
		}
	}
	points := make([]compare.Point, len(jobs))
	for i := range points {
		points[i] = meanOf(perSeed[i])
	}
	fmt.Fprintf(stderr, "compare: %d runs in %.0fs\n", len(jobs)**seeds, time.Since(started).Seconds())
	rows := compareRows(points)
	if *out != "" {
		if err := writeCompare(*out, sc.Name, cfg, *seeds, *warmPool, points, rows); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "wrote %s\n", filepath.Join(*out, "compare.html"))
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rows); err != nil {
			return fmt.Errorf("printing JSON: %w", err)
		}
		return nil
	}
	return printCompare(stdout, sc.Name, points)
}

// DefaultCompareWarmPool is the warm pool compare gives every policy
// unless told otherwise: AWS's answer to launch latency is on offer to
// all of them, with the same settings.
const DefaultCompareWarmPool = 5

// compareTrace reads the window [from, from+minutes) of a per-minute
// trace and scales its busiest minute to peak instances.
func compareTrace(path string, from, minutes int, peak float64, cfg twin.Config) (twin.Scenario, error) {
	f, err := os.Open(path)
	if err != nil {
		return twin.Scenario{}, fmt.Errorf("opening trace: %w", err)
	}
	defer f.Close()
	var r io.Reader = f
	if strings.HasSuffix(path, ".gz") {
		zr, err := gzip.NewReader(f)
		if err != nil {
			return twin.Scenario{}, fmt.Errorf("opening trace %s: %w", path, err)
		}
		r = zr
	}
	counts, err := traces.ReadCounts(r)
	if err != nil {
		return twin.Scenario{}, fmt.Errorf("reading trace %s: %w", path, err)
	}
	if from >= len(counts) {
		return twin.Scenario{}, fmt.Errorf("-from %d: the trace has %d minutes", from, len(counts))
	}
	counts = counts[from:]
	if minutes > 0 {
		counts = counts[:min(minutes, len(counts))]
	}
	name := strings.TrimSuffix(strings.TrimSuffix(filepath.Base(path), ".gz"), ".csv")
	if from > 0 || minutes > 0 {
		name = fmt.Sprintf("%s[%d:%d]", name, from, from+len(counts))
	}
	t, err := traces.FromCounts(counts, name, time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC), cfg.Step, peak*cfg.PerInstanceTarget())
	if err != nil {
		return twin.Scenario{}, fmt.Errorf("reading trace %s: %w", path, err)
	}
	return twin.Scenario{Name: name, Trace: t}, nil
}

// pointOf scores a run, rounded to a thousandth of a minute and of an
// hour (finer than the twin's 10-second steps resolve), so that the JSON
// carries no float noise.
func pointOf(s suite.Setting, sc score.Scores) compare.Point {
	return rounded(compare.Point{
		Policy: s.Policy, Setting: s.Setting, Default: s.Default,
		SLOMinutes: sc.SLOViolationMinutes, InstanceHours: sc.InstanceHours,
		Flaps: sc.Flaps, DroppedPercent: sc.DroppedPercent,
	})
}

func rounded(p compare.Point) compare.Point {
	round := func(v, per float64) float64 { return math.Round(v*per) / per }
	p.SLOMinutes, p.InstanceHours, p.DroppedPercent = round(p.SLOMinutes, 1e3), round(p.InstanceHours, 1e3), round(p.DroppedPercent, 1e4)
	return p
}

// meanOf returns the mean of one setting's runs on several seeds.
func meanOf(runs []compare.Point) compare.Point {
	m := runs[0]
	n := float64(len(runs))
	var slo, hours, dropped float64
	flaps := 0
	for _, p := range runs {
		slo, hours, dropped, flaps = slo+p.SLOMinutes, hours+p.InstanceHours, dropped+p.DroppedPercent, flaps+p.Flaps
	}
	m.SLOMinutes, m.InstanceHours, m.DroppedPercent = slo/n, hours/n, dropped/n
	m.Flaps = int(math.Round(float64(flaps) / n))
	return rounded(m)
}

// compareRows attaches to each baseline row stampkit's curve at its cost.
func compareRows(points []compare.Point) []compareRow {
	rows := make([]compareRow, len(points))
	matches := compare.AtEachCost(points, suite.Stampkit)
	for i, p := range points {
		rows[i].Point = p
		if m, ok := matches[p]; ok {
			rows[i].StampkitAtCost = &atCost{SLOMinutes: m.SLOMinutes, OK: m.OK, Ratio: m.Ratio}
		}
	}
	return rows
}

// printCompare prints every run, then stampkit at each baseline's default
// cost.
func printCompare(w io.Writer, trace string, points []compare.Point) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: every policy at every setting (* the default)\n", trace)
	fmt.Fprintf(&b, "  %-28s %-28s %9s %10s %6s %8s\n", "policy", "setting", "SLO min", "inst-hours", "flaps", "dropped%")
	for _, p := range points {
		mark := " "
		if p.Default {
			mark = "*"
		}
		fmt.Fprintf(&b, "  %-28s %-27s%s %9.1f %10.1f %6d %8.3f\n", p.Policy, p.Setting, mark, p.SLOMinutes, p.InstanceHours, p.Flaps, p.DroppedPercent)
	}
	fmt.Fprintf(&b, "\n%s: stampkit at each baseline's cost (its curve read at the baseline default's instance-hours; » the best baseline)\n", trace)
	matches := compare.AtEachCost(points, suite.Stampkit)
	for _, name := range baselinesOf(points) {
		d, ok := compare.Default(points, name)
		if !ok {
			continue
		}
		b.WriteString(costLine(points, d, matches[d]))
	}
	b.WriteString(headline(points))
	_, err := io.WriteString(w, b.String())
	return err
}

// headline is the one comparison the README quotes: at the cost of the
// best baseline's default, stampkit against the lowest of every
// baseline's curve there.
func headline(points []compare.Point) string {
	d, ok := compare.Default(points, suite.BestBaseline)
	if !ok {
		return ""
	}
	base, by, okBase := compare.Lowest(points, baselinesOf(points), d.InstanceHours)
	mine, okMine := compare.At(compare.Curve(compare.Only(points, suite.Stampkit)), d.InstanceHours)
	out := fmt.Sprintf("\nheadline, at %s %s's cost (%.1f instance-hours):\n", d.Policy, d.Setting, d.InstanceHours)
	if okBase {
		out += fmt.Sprintf("  best baseline there  %-28s %7.1f SLO min\n", by, base)
	}
	if !okMine {
		return out + "  stampkit             not measured that cheap\n"
	}
	out += fmt.Sprintf("  stampkit             %-28s %7.1f SLO min", "", mine)
	if okBase && base > 0 {
		out += fmt.Sprintf(" (%.2f× the best baseline)", mine/base)
	}
	return out + "\n"
}

// costLine says how stampkit does at baseline point d's cost (m).
func costLine(points []compare.Point, d compare.Point, m compare.Match) string {
	mark := " "
	if d.Policy == suite.BestBaseline {
		mark = "»"
	}
	head := fmt.Sprintf("%s %-40s %7.1f SLO min at %8.1f instance-hours", mark, d.Policy+" "+d.Setting, d.SLOMinutes, d.InstanceHours)
	if !m.OK {
		return head + fmt.Sprintf("; stampkit not measured that cheap (its cheapest setting: %.1f instance-hours)\n", cheapest(points, suite.Stampkit))
	}
	rel := "n/a (baseline at 0)"
	if m.Ratio != nil {
		rel = fmt.Sprintf("%.2f×", *m.Ratio)
	}
	return head + fmt.Sprintf("; stampkit %7.1f (%s; nearest setting %s: %.1f min at %+.1f %% cost)\n",
		m.SLOMinutes, rel, m.Nearest.Setting, m.Nearest.SLOMinutes, m.NearestDistance)
}

func cheapest(points []compare.Point, policy string) float64 {
	c := -1.0
	for _, p := range points {
		if p.Policy == policy && (c < 0 || p.InstanceHours < c) {
			c = p.InstanceHours
		}
	}
	return c
}

// baselinesOf lists the policies other than stampkit, in order of first
// appearance.
func baselinesOf(points []compare.Point) []string {
	return slices.DeleteFunc(compare.Policies(points), func(p string) bool { return p == suite.Stampkit })
}

// writeCompare writes compare.json and compare.html (the curves) to dir.
func writeCompare(dir, trace string, cfg twin.Config, seeds, warmPool int, points []compare.Point, rows []compareRow) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("creating %s: %w", dir, err)
	}
	raw, err := json.MarshalIndent(rows, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding compare.json: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "compare.json"), append(raw, '\n'), 0o644); err != nil {
		return fmt.Errorf("writing compare.json: %w", err)
	}
	var page strings.Builder
	if err := report.WriteCurves(&page, report.CurvesMeta{Trace: trace, Seed: cfg.Seed, Seeds: seeds, WarmPool: warmPool, Best: suite.BestBaseline}, points); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "compare.html"), []byte(page.String()), 0o644); err != nil {
		return fmt.Errorf("writing compare.html: %w", err)
	}
	return nil
}
