package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/stampkit/stampkit/shared/twin"
	"github.com/stampkit/stampkit/shared/twin/report"
	"github.com/stampkit/stampkit/shared/twin/suite"
)

func demo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("demo", synopses["demo"], stderr)
	out := fs.String("out", "out", "directory for report.html and summary.txt")
	seed := fs.Uint64("seed", 1, "random seed: the same seed gives the same report")
	asJSON := fs.Bool("json", false, "print the runs' scores as a JSON array instead of the summary table")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := noArgs(fs); err != nil {
		return err
	}
	cfg := twin.DefaultConfig()
	cfg.Seed = *seed
	jobs, err := suite.Jobs(cfg, *seed, suite.Names(), suite.PolicyNames())
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "simulating %d scenarios × %d policies (seed %d)\n", len(suite.Names()), len(suite.PolicyNames()), *seed)
	started := time.Now()
	runs, err := suite.RunAll(ctx, cfg, jobs, progressTo(stderr))
	if err != nil {
		return err
	}
	return writeOutputs(*out, runMeta(*seed, started), runs, *asJSON, stdout, stderr)
}

// runMeta is what the report says of runs started at started that have
// just ended: the wall-clock time they took and the build that ran them.
func runMeta(seed uint64, started time.Time) report.Meta {
	return report.Meta{Seed: seed, Started: started, Elapsed: time.Since(started), Build: versionLine()}
}

// runRow is one run in the JSON that -json prints: a stable shape.
type runRow struct {
	Scenario       string  `json:"scenario"`
	Policy         string  `json:"policy"`
	SLOMinutes     float64 `json:"sloMinutes"`
	InstanceHours  float64 `json:"instanceHours"`
	Cost           float64 `json:"cost"`
	DroppedPercent float64 `json:"droppedPercent"`
	ScalingActions int     `json:"scalingActions"`
	Flaps          int     `json:"flaps"`
	PeakInstances  int     `json:"peakInstances"`
	// The SPEC elasticity metrics, in percent (score.Scores).
	UnderAccuracy  float64 `json:"underAccuracy"`
	OverAccuracy   float64 `json:"overAccuracy"`
	UnderTimeshare float64 `json:"underTimeshare"`
	OverTimeshare  float64 `json:"overTimeshare"`
	Instability    float64 `json:"instability"`
}

// printRuns prints runs as a JSON array of runRow.
func printRuns(w io.Writer, runs []suite.Run) error {
	rows := make([]runRow, len(runs))
	for i, r := range runs {
		sc := r.Scores
		rows[i] = runRow{
			Scenario: r.Result.Scenario, Policy: r.Result.Policy,
			SLOMinutes: sc.SLOViolationMinutes, InstanceHours: sc.InstanceHours, Cost: sc.Cost,
			DroppedPercent: sc.DroppedPercent, ScalingActions: sc.ScalingActions, Flaps: sc.Flaps, PeakInstances: sc.PeakInstances,
			UnderAccuracy: sc.UnderAccuracy, OverAccuracy: sc.OverAccuracy,
			UnderTimeshare: sc.UnderTimeshare, OverTimeshare: sc.OverTimeshare, Instability: sc.Instability,
		}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(rows); err != nil {
		return fmt.Errorf("printing JSON: %w", err)
	}
	return nil
}

// progressTo prints one line per finished simulation.
func progressTo(w io.Writer) suite.Progress {
	return func(done, total int, r suite.Run) {
		fmt.Fprintf(w, "[%2d/%d] %-18s %-16s %6.2fs  SLO %6.1f min  %7.1f instance-hours\n",
			done, total, r.Result.Scenario, r.Result.Policy, r.Elapsed.Seconds(), r.Scores.SLOViolationMinutes, r.Scores.InstanceHours)
	}
}

// writeOutputs prints the summary and writes it with the HTML report to
// dir.
func writeOutputs(dir string, meta report.Meta, runs []suite.Run, asJSON bool, stdout, stderr io.Writer) error {
	var summary bytes.Buffer
	if err := report.WriteSummary(&summary, runs); err != nil {
		return err
	}
	if asJSON {
		if err := printRuns(stdout, runs); err != nil {
			return err
		}
	} else if _, err := stdout.Write(summary.Bytes()); err != nil {
		return fmt.Errorf("printing summary: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("creating %s: %w", dir, err)
	}
	var page strings.Builder
	if err := report.WriteHTML(&page, meta, runs); err != nil {
		return err
	}
	for name, content := range map[string]string{"report.html": page.String(), "summary.txt": summary.String()} {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			return fmt.Errorf("writing %s: %w", path, err)
		}
	}
	fmt.Fprintf(stderr, "wrote %s\n", filepath.Join(dir, "report.html"))
	return nil
}
