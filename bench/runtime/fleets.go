package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"

	"github.com/stampkit/stampkit/shared/config"
	"github.com/stampkit/stampkit/shared/config/configtest"
)

// fleetSources are the configurations a function's cold start is timed
// with: today's, the fleets in the environment (3, as many as its 4 KB
// holds and more for the scaler), against the fleets file with 1, 3 and
// 100 fleets (issue #18: 100 fleets within 10 % of today's cold start).
var fleetSources = []struct {
	name   string
	fleets int
	file   bool
}{{"env-3", 3, false}, {"file-1", 1, true}, {"file-3", 3, true}, {"file-100", 100, true}}

// fleetsBaseline is what the fleets file is compared with.
const fleetsBaseline = "env-3"

// fleetProfiles gives each function one profile per fleet source: its own
// share of fleets as large as deployed ones (configtest), the file under
// dir as the function's task root, in place of its one-fleet profile.
func fleetProfiles(dir string, profiles map[string]profile, names []string) (map[string]map[string]profile, error) {
	out := map[string]map[string]profile{}
	for _, fn := range names {
		out[fn] = map[string]profile{}
		for _, src := range fleetSources {
			c, err := configtest.Config(fn, src.fleets)
			if err != nil {
				return nil, err
			}
			raw, err := json.Marshal(c.Fleets)
			if err != nil {
				return nil, err
			}
			env := maps.Clone(profiles[fn].env)
			delete(env, config.EnvFleets)
			if src.file {
				root := filepath.Join(dir, "fleets", fn, src.name)
				if err := os.MkdirAll(root, 0o755); err != nil {
					return nil, err
				}
				if err := os.WriteFile(filepath.Join(root, "fleets.json"), raw, 0o644); err != nil {
					return nil, err
				}
				env[config.EnvFleetsFile], env[config.EnvTaskRoot] = "fleets.json", root
			} else {
				env[config.EnvFleets] = string(raw)
			}
			out[fn][src.name] = profile{env: env, payload: profiles[fn].payload}
		}
	}
	return out, nil
}

// fleetsColdStarts times rounds cold starts of each function with each
// fleet source, interleaved as coldStarts does, and writes them with each
// source's median over fleetsBaseline's.
func fleetsColdStarts(ctx context.Context, w io.Writer, rie, dir string, host map[string]string, profiles map[string]profile, names []string, rounds int) error {
	byFn, err := fleetProfiles(dir, profiles, names)
	if err != nil {
		return err
	}
	colds := map[string]map[string][]coldStart{}
	for _, fn := range names {
		colds[fn] = map[string][]coldStart{}
	}
	for range rounds {
		for _, fn := range names {
			for _, src := range fleetSources {
				c, err := oneColdStart(ctx, rie, host[fn], byFn[fn][src.name])
				if err != nil {
					return fmt.Errorf("%s cold start with fleets %s: %w", fn, src.name, err)
				}
				colds[fn][src.name] = append(colds[fn][src.name], c)
			}
		}
	}
	fmt.Fprintln(w)
	for _, fn := range names {
		for _, src := range fleetSources {
			for _, c := range colds[fn][src.name] {
				fmt.Fprintf(w, "BenchmarkColdStartFleets/fn=%s/fleets=%s 1 %.3f init-ms %.3f first-invoke-ms %.2f rss-MB\n",
					fn, src.name, ms(c.init), ms(c.first), float64(c.rss)/(1<<20))
			}
		}
	}
	median := medianOf
	fmt.Fprintln(w)
	fmt.Fprintf(w, "# Cold start by where the fleets are, median of %d (ratio = source / %s; goal for file-100 ≤ 1.10):\n", rounds, fleetsBaseline)
	fmt.Fprintf(w, "# %-10s %-9s %9s %7s %16s %7s %8s\n", "function", "fleets", "init-ms", "ratio", "first-invoke-ms", "ratio", "rss-MB")
	for _, fn := range names {
		base := colds[fn][fleetsBaseline]
		for _, src := range fleetSources {
			cs := colds[fn][src.name]
			fmt.Fprintf(w, "# %-10s %-9s %9.2f %6.2fx %16.2f %6.2fx %8.1f\n", fn, src.name,
				median(cs, initOf), median(cs, initOf)/median(base, initOf),
				median(cs, firstOf), median(cs, firstOf)/median(base, firstOf), median(cs, rssOf))
		}
	}
	fmt.Fprintln(w)
	for _, fn := range names {
		base := colds[fn][fleetsBaseline]
		for _, src := range fleetSources {
			if src.name == fleetsBaseline {
				continue
			}
			cs := colds[fn][src.name]
			fmt.Fprintf(w, "BenchmarkColdStartFleetsRatio/fn=%s/fleets=%s 1 %.3f init-x-env3 %.3f first-invoke-x-env3 %.3f rss-x-env3\n", fn, src.name,
				median(cs, initOf)/median(base, initOf), median(cs, firstOf)/median(base, firstOf), median(cs, rssOf)/median(base, rssOf))
		}
	}
	return nil
}
