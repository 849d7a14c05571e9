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

// BenchmarkFirstUse is what the fleets file costs the first events after
// a cold start, which decode the fleets they need (FromEnv reads only
// what routes events): FromEnv and then the one fleet an event is routed
// to (an alarm for the scaler, a group for the others), or every fleet (a
// scaler tick that names none, a new image in the rollout function).
func BenchmarkFirstUse(b *testing.B) {
	for _, fn := range configtest.Functions() {
		c, err := configtest.Config(fn, 100)
		if err != nil {
			b.Fatal(err)
		}
		raw, err := json.Marshal(c.Fleets)
		if err != nil {
			b.Fatal(err)
		}
		root := b.TempDir()
		if err := os.WriteFile(filepath.Join(root, "fleets.json"), raw, 0o644); err != nil {
			b.Fatal(err)
		}
		vars := map[string]string{config.EnvTable: c.Table, config.EnvFleetsFile: "fleets.json", config.EnvTaskRoot: root}
		last := c.Fleets[len(c.Fleets)-1]
		one := func(got config.Config) (config.Fleet, bool, error) { return got.FleetByGroup(last.Group) }
		if fn == "scaler" {
			one = func(got config.Config) (config.Fleet, bool, error) {
				return got.FleetByAlarm(last.Scaling.Rules[0].Alarm)
			}
		}
		every := func(got config.Config) (config.Fleet, bool, error) {
			var f config.Fleet
			for _, name := range got.FleetNames() {
				var err error
				if f, _, err = got.FleetByName(name); err != nil {
					return f, false, err
				}
			}
			return f, true, nil
		}
		for _, then := range []struct {
			name string
			use  func(config.Config) (config.Fleet, bool, error)
		}{{"one-fleet", one}, {"every-fleet", every}} {
			b.Run(fmt.Sprintf("fn=%s/source=file/fleets=100/then=%s", fn, then.name), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					got, err := config.FromEnv(env(vars))
					if err != nil {
						b.Fatal(err)
					}
					if f, ok, err := then.use(got); err != nil || !ok || f.Name != last.Name {
						b.Fatalf("%s: %q, %v, %v; want fleet %s", then.name, f.Name, ok, err, last.Name)
					}
				}
			})
		}
	}
}
