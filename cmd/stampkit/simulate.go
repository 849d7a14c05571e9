package main

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"time"

	rp "github.com/stampkit/stampkit/shared/rollout"
	"github.com/stampkit/stampkit/shared/twin"
	"github.com/stampkit/stampkit/shared/twin/report"
	"github.com/stampkit/stampkit/shared/twin/suite"
	"github.com/stampkit/stampkit/shared/twin/traces"
)

func simulate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("simulate", synopses["simulate"], stderr)
	scenario := fs.String("scenario", suite.Spike, fmt.Sprintf("scenario: one of %v", suite.Names()))
	tracePath := fs.String("trace", "", `CSV of requests per minute ("minute,requests") to replay instead of -scenario`)
	peak := fs.Float64("peak", 60, "with -trace: instances the busiest minute needs")
	policy := fs.String("policy", "all", fmt.Sprintf("policy: one of %v, or all", suite.PolicyNames()))
	seed := fs.Uint64("seed", 1, "random seed")
	out := fs.String("out", "out/simulate", "directory for report.html, summary.txt and per-policy CSVs")
	asJSON := fs.Bool("json", false, "print the runs' scores as a JSON array instead of the summary table")
	withLog := fs.Bool("log", false, "also write the stampkit handler's JSON log (scaler-log.jsonl)")
	imageAt := fs.Duration("image-at", -1, "when the new image is built, from the start (0: never); default: the scenario's")
	strategy := fs.String("strategy", "", `how the image is rolled out: "rolling" or "bluegreen"; wins over -config; default: the -config fleet's rollout, else the scenario's`)
	badImage := fs.Float64("bad-image", -1, "share of capacity the new image serves (0-1; 1 is a good image); default: the scenario's")
	warmPool := fs.Int("warm-pool", 0, "keep this many stopped, pre-initialised instances in a warm pool (0: none); wins over the -config fleet's warmPool")
	fleet := addFleetFlags(fs)
	price := addPriceFlag(fs)
	var chaos chaosFlag
	fs.Var(&chaos, "chaos", "inject AWS faults around the handlers (API errors, lost responses, Lambda timeouts, duplicate and late deliveries) and compare with the run without them; -chaos=N scales the default rates by N")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := noArgs(fs); err != nil {
		return err
	}
	if *warmPool < 0 {
		return fmt.Errorf("-warm-pool %d: need 0 or more: %w", *warmPool, errUsage)
	}
	own, cfg, err := twinFleet(fs, fleet, *price, stderr)
	if err != nil {
		return err
	}
	cfg.Seed = *seed
	if *warmPool > 0 {
		cfg.WarmPool = twin.DefaultWarmPool(cfg, *warmPool)
	} else if flagSet(fs, "warm-pool") {
		cfg.WarmPool = nil
	}
	var sc twin.Scenario
	if *tracePath != "" {
		f, err := os.Open(*tracePath)
		if err != nil {
			return fmt.Errorf("opening trace: %w", err)
		}
		defer f.Close()
		name := filepath.Base(*tracePath)
		t, err := traces.FromCSV(f, name, time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC), cfg.Step, *peak*cfg.PerInstanceTarget())
		if err != nil {
			return fmt.Errorf("reading trace %s: %w", *tracePath, err)
		}
		sc = twin.Scenario{Name: name, Trace: t}
	} else {
		if sc, err = suite.Scenario(*scenario, cfg, *seed); err != nil {
			return err
		}
	}
	if own != nil {
		// The fleet rolls an image out as it would deployed, or not at
		// all when it declares no rollout.
		sc.Strategy = own.bound.Rollout.Strategy
		if !own.bound.Rollout.Enabled() {
			sc.ImageBuiltAt = 0
		}
	}
	if *imageAt >= 0 {
		sc.ImageBuiltAt = *imageAt
	}
	switch rp.Strategy(*strategy) {
	case "":
	case rp.StrategyRolling, rp.StrategyBlueGreen:
		sc.Strategy = rp.Strategy(*strategy)
	default:
		return fmt.Errorf("-strategy %q: want %s or %s: %w", *strategy, rp.StrategyRolling, rp.StrategyBlueGreen, errUsage)
	}
	if *badImage >= 0 {
		if *badImage == 0 || *badImage > 1 {
			return fmt.Errorf("-bad-image %g: want a share of capacity in (0, 1]: %w", *badImage, errUsage)
		}
		sc.BadImage = *badImage
	}
	if chaos.set {
		sc.Chaos = nil
		if chaos.scale > 0 {
			sc = suite.WithChaos(sc, twin.DefaultChaos().Scaled(chaos.scale))
		}
	}
	policies := suite.PolicyNames()
	if *policy != "all" {
		policies = []string{*policy}
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return fmt.Errorf("creating %s: %w", *out, err)
	}
	var jobs []suite.Job
	for _, name := range policies {
		p, err := suite.Policy(name, cfg)
		if err != nil {
			return err
		}
		if own != nil && name == suite.Stampkit {
			p = twin.Stampkit(own.bound.Scaling)
		}
		jobs = append(jobs, suite.Job{Scenario: sc, Policy: p})
	}
	runCfg := cfg
	started := time.Now()
	if *withLog {
		path := filepath.Join(*out, "scaler-log.jsonl")
		f, err := os.Create(path)
		if err != nil {
			return fmt.Errorf("creating %s: %w", path, err)
		}
		defer f.Close()
		runCfg.HandlerLog = f
		// One writer: run the policies one at a time.
		var runs []suite.Run
		for _, j := range jobs {
			c := runCfg
			if j.Policy.Name() != suite.Stampkit {
				c.HandlerLog = nil
			}
			r, err := suite.RunAll(ctx, c, []suite.Job{j}, progressTo(stderr))
			if err != nil {
				return err
			}
			runs = append(runs, r...)
		}
		return finishSimulate(*out, runMeta(*seed, started), runs, *asJSON, stdout, stderr)
	}
	runs, err := suite.RunAll(ctx, runCfg, jobs, progressTo(stderr))
	if err != nil {
		return err
	}
	return finishSimulate(*out, runMeta(*seed, started), runs, *asJSON, stdout, stderr)
}

func finishSimulate(dir string, meta report.Meta, runs []suite.Run, asJSON bool, stdout, stderr io.Writer) error {
	for _, r := range runs {
		if err := writeSamples(filepath.Join(dir, "samples-"+r.Result.Policy+".csv"), r.Result); err != nil {
			return err
		}
		if err := writeScaling(filepath.Join(dir, "scaling-"+r.Result.Policy+".csv"), r.Result); err != nil {
			return err
		}
		if r.Result.Chaos != nil {
			if err := writeFaults(filepath.Join(dir, "faults-"+r.Result.Policy+".csv"), r.Result); err != nil {
				return err
			}
		}
	}
	return writeOutputs(dir, meta, runs, asJSON, stdout, stderr)
}

// writeSamples writes one row per step.
func writeSamples(path string, r *twin.Result) error {
	rows := [][]string{{"time", "offered", "served", "dropped", "healthy", "in_service", "pending", "draining", "desired", "cpu", "p95_ms", "slo_violation",
		"peer_offered", "peer_served", "peer_healthy", "warm_pool", "target_5xx", "elb_5xx", "unhealthy", "fail_open"}}
	for i, s := range r.Samples {
		rows = append(rows, []string{
			r.Time(i).UTC().Format(time.RFC3339),
			strconv.FormatInt(s.Offered, 10), strconv.FormatInt(s.Served, 10), strconv.FormatInt(s.Dropped, 10),
			strconv.Itoa(s.Healthy), strconv.Itoa(s.InService), strconv.Itoa(s.Pending), strconv.Itoa(s.Draining), strconv.Itoa(s.Desired),
			strconv.FormatFloat(s.CPU, 'f', 2, 64), strconv.FormatFloat(float64(s.P95)/float64(time.Millisecond), 'f', 1, 64),
			strconv.FormatBool(s.Violation),
			strconv.FormatInt(s.PeerOffered, 10), strconv.FormatInt(s.PeerServed, 10), strconv.Itoa(s.PeerHealthy), strconv.Itoa(s.WarmPool),
			strconv.FormatInt(s.TargetErrors, 10), strconv.FormatInt(s.ELBErrors, 10), strconv.Itoa(s.Unhealthy), strconv.FormatBool(s.FailOpen),
		})
	}
	return writeCSV(path, rows)
}

// writeScaling writes one row per capacity change.
func writeScaling(path string, r *twin.Result) error {
	rows := [][]string{{"time", "group", "from", "to", "by", "reason"}}
	for _, e := range r.Scaling {
		rows = append(rows, []string{e.At.UTC().Format(time.RFC3339Nano), e.Group, strconv.Itoa(e.From), strconv.Itoa(e.To), e.By, e.Reason})
	}
	return writeCSV(path, rows)
}

// writeFaults writes one row per fault the chaos injected, then one per
// dead letter.
func writeFaults(path string, r *twin.Result) error {
	rows := [][]string{{"time", "function", "kind", "call", "outcome"}}
	for _, f := range r.Faults {
		rows = append(rows, []string{f.At.UTC().Format(time.RFC3339Nano), f.Function, f.Kind, f.Call, f.Outcome})
	}
	for _, d := range r.DeadLetters {
		rows = append(rows, []string{d.At.UTC().Format(time.RFC3339Nano), d.Function, "dead letter: " + d.Queue, d.DetailType + " " + d.EventID,
			fmt.Sprintf("%d attempts; %s: %s", d.Attempts, d.Reason, d.Error)})
	}
	return writeCSV(path, rows)
}

// chaosFlag is -chaos: alone the default chaos, -chaos=N its rates
// scaled by N, -chaos=0 none (even on the chaos scenario).
type chaosFlag struct {
	set   bool
	scale float64
}

func (f *chaosFlag) String() string {
	if f == nil || !f.set {
		return ""
	}
	return strconv.FormatFloat(f.scale, 'g', -1, 64)
}

func (f *chaosFlag) Set(v string) error {
	switch v {
	case "true":
		f.scale = 1
	case "false":
		f.scale = 0
	default:
		n, err := strconv.ParseFloat(v, 64)
		if err != nil || n < 0 || math.IsInf(n, 0) || math.IsNaN(n) {
			return fmt.Errorf("want a scale of the default rates, 0 or more, not %q", v)
		}
		f.scale = n
	}
	f.set = true
	return nil
}

// IsBoolFlag lets -chaos stand alone.
func (f *chaosFlag) IsBoolFlag() bool { return true }

func writeCSV(path string, rows [][]string) (err error) {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("creating %s: %w", path, err)
	}
	defer func() {
		if cerr := f.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("closing %s: %w", path, cerr)
		}
	}()
	w := csv.NewWriter(f)
	if err := w.WriteAll(rows); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}
