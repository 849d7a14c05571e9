package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/stampkit/stampkit/shared/twin"
	"github.com/stampkit/stampkit/shared/twin/report"
	"github.com/stampkit/stampkit/shared/twin/suite"
)

func demo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("demo", synopses["demo"], stderr)
	out := fs.String("out", "out", "directory for report.html and summary.txt")
	seed := fs.Uint64("seed", 1, "random seed: the same seed gives the same report")
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
	runs, err := suite.RunAll(ctx, cfg, jobs, progressTo(stderr))
	if err != nil {
		return err
	}
	return writeOutputs(*out, report.Meta{Seed: *seed}, runs, stdout, stderr)
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
func writeOutputs(dir string, meta report.Meta, runs []suite.Run, stdout, stderr io.Writer) error {
	var summary bytes.Buffer
	if err := report.WriteSummary(&summary, runs); err != nil {
		return err
	}
	if _, err := stdout.Write(summary.Bytes()); err != nil {
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
