package config_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stampkit/stampkit/shared/config"
	"github.com/stampkit/stampkit/shared/config/configtest"
)

// BenchmarkFromEnv is what reading the configuration costs a cold start,
// for each function's share of the fleets (configtest: as large as
// deployed ones): from the environment (3 fleets, more than its 4 KB
// holds for the scaler) against the fleets file with 1, 3 and 100.
// bench/runtime measures whole cold starts the same way.
func BenchmarkFromEnv(b *testing.B) {
	for _, fn := range configtest.Functions() {
		for _, bc := range []struct {
			source string
			fleets int
		}{{"env", 3}, {"file", 1}, {"file", 3}, {"file", 100}} {
			c, err := configtest.Config(fn, bc.fleets)
			if err != nil {
				b.Fatal(err)
			}
			raw, err := json.Marshal(c.Fleets)
			if err != nil {
				b.Fatal(err)
			}
			vars := map[string]string{config.EnvTable: c.Table}
			if bc.source == "env" {
				vars[config.EnvFleets] = string(raw)
			} else {
				root := b.TempDir()
				if err := os.WriteFile(filepath.Join(root, "fleets.json"), raw, 0o644); err != nil {
					b.Fatal(err)
				}
				vars[config.EnvFleetsFile], vars[config.EnvTaskRoot] = "fleets.json", root
			}
			b.Run(fmt.Sprintf("fn=%s/source=%s/fleets=%d", fn, bc.source, bc.fleets), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					got, err := config.FromEnv(env(vars))
					if n := len(got.FleetNames()); err != nil || n != bc.fleets {
						b.Fatalf("FromEnv: %d fleets, %v; want %d", n, err, bc.fleets)
					}
				}
				b.ReportMetric(float64(len(raw)), "json-B")
			})
		}
	}
}
