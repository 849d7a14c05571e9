package stamp

import (
	"slices"
	"time"

	"github.com/stampkit/stampkit/shared/clock"
	"github.com/stampkit/stampkit/shared/rollout"
)

// Build once, promote everywhere. In an app of several stamps each fleet's
// image is baked once, by the first stamp in stamps[] that declares the
// fleet (its build stamp): its pipeline distributes every build to each
// Region a stamp of the fleet runs in, and copies it into each other
// account there (targetAccountIds), where the copy is that account's own
// AMI (the rollout refuses AMIs another account owns). The other stamps
// get no pipeline for the fleet: a second build would be a different
// image, tested apart, and the waves would compare unlike things.
//
// The stamps then roll each image out in waves, in stamps[] order: each
// waits for the stamp before it that declares the fleet, in its own
// account (rollout.Wave). Waves do not cross accounts: reading another
// account's parameter needs it shared through AWS RAM as an advanced-tier
// parameter and read by its full ARN ("Working with shared parameters",
// Systems Manager User Guide), which the stamps do not set up; a stamp
// whose stamp before is in another account starts a wave of its own, and
// synth warns (WaveAcrossAccountsWarningID).

// WaveAcrossAccountsWarningID identifies the synth warning of a stamp that
// does not wait for the stamp before it because that one is in another
// account.
const WaveAcrossAccountsWarningID = "stampkit:waveAcrossAccounts"

// WaveParameter is the SSM parameter a fleet's rollout records its wave
// in (rollout.WaveLog), under the fleet's prefix.
func WaveParameter(parameterPrefix string) string { return parameterPrefix + "/wave" }

// Distribution is one Region an image pipeline distributes its AMIs to.
type Distribution struct {
	Region string
	// TargetAccounts, when set, are the accounts the AMI is copied into
	// there (the building account among them when it needs a copy too);
	// empty leaves the copy in the building account.
	TargetAccounts []string
	// KmsKeyArn, when set, is the customer managed key the copy there is
	// encrypted with (the build stamp's imageKmsKeyArns).
	KmsKeyArn string
}

// WavePlan is one stamp's place in the app's waves (PlanWaves). A nil
// plan, a lone stamp's, builds every fleet for its own Region and waits
// for no one.
type WavePlan struct {
	fleets map[string]FleetWave
}

// FleetWave is one fleet's part of a stamp's WavePlan.
type FleetWave struct {
	// Build says the stamp bakes the fleet's images, for Distributions.
	Build         bool
	Distributions []Distribution
	// Wave is what the stamp's rollout function reads.
	Wave rollout.Wave
	// SkippedAccount names the stamp before this one that the wave skips
	// because it is in another account ("" when none is skipped).
	SkippedAccount string
}

// Fleet returns the fleet's part of the plan; a nil plan's builds for its
// own Region and has no wave.
func (p *WavePlan) Fleet(name string) (FleetWave, bool) {
	if p == nil {
		return FleetWave{Build: true}, false
	}
	fw, ok := p.fleets[name]
	return fw, ok
}

// PlanWaves returns each stamp's WavePlan, in the order of stamps; a lone
// stamp's is nil.
func PlanWaves(stamps []Config) []*WavePlan {
	plans := make([]*WavePlan, len(stamps))
	if len(stamps) < 2 {
		return plans
	}
	for i := range plans {
		plans[i] = &WavePlan{fleets: map[string]FleetWave{}}
	}
	for _, name := range fleetNamesInOrder(stamps) {
		var idx []int
		for i, c := range stamps {
			if slices.ContainsFunc(c.Fleets, func(f FleetConfig) bool { return f.Name == name }) {
				idx = append(idx, i)
			}
		}
		dists := distributions(stamps, idx)
		for k, i := range idx {
			c := stamps[i]
			fw := FleetWave{Wave: rollout.Wave{Stamp: c.Name, Parameter: WaveParameter(fleetOf(c, name).ParameterPrefix)}}
			if k == 0 {
				fw.Build, fw.Distributions = true, dists
			}
			// What a waiting image allows for: the default, plus the time
			// the stamps before take to promote (blue/green bakes and
			// retention, which may run for days) on top of it.
			ahead := time.Duration(0)
			for j := k - 1; j >= 0; j-- {
				before := stamps[idx[j]]
				bf := fleetOf(before, name)
				if before.Account != c.Account {
					if fw.SkippedAccount == "" && fw.Wave.After == nil {
						fw.SkippedAccount = before.Name
					}
					continue
				}
				if bf.DryRun {
					// A dry-run stamp rolls nothing out (it records the
					// image skipped): wait for the stamp before it.
					continue
				}
				ahead += promotionTime(bf.Rollout)
				if fw.Wave.After == nil {
					fw.Wave.After = &rollout.WaveStamp{
						Stamp: before.Name, Region: before.Region,
						Parameter: WaveParameter(bf.ParameterPrefix),
					}
				}
			}
			if fw.Wave.After != nil {
				fw.Wave.MaxWait = clock.Duration(rollout.DefaultWaveMaxWait + ahead)
			}
			plans[i].fleets[name] = fw
		}
	}
	return plans
}

// promotionTime is how long a rollout under p takes at least before it
// records a promotion that it cannot shorten by itself: a blue/green
// rollout's health wait, bakes and retention (it records the promotion
// when the retention ends). A rolling one has no such floor.
func promotionTime(p rollout.Policy) time.Duration {
	if p.Strategy != rollout.StrategyBlueGreen {
		return 0
	}
	bg := p.WithDefaults().BlueGreen
	return bg.HealthTimeout.Std() + time.Duration(len(bg.Steps))*bg.Bake.Std() + bg.Retention.Std()
}

// distributions lists the Regions of the stamps idx (the build stamp
// first), once each, with the accounts the AMI is copied into there.
func distributions(stamps []Config, idx []int) []Distribution {
	build := stamps[idx[0]]
	var out []Distribution
	accounts := map[string][]string{}
	for _, i := range idx {
		c := stamps[i]
		if _, seen := accounts[c.Region]; !seen {
			out = append(out, Distribution{Region: c.Region})
		}
		if !slices.Contains(accounts[c.Region], c.Account) {
			accounts[c.Region] = append(accounts[c.Region], c.Account)
		}
	}
	for i, d := range out {
		got := accounts[d.Region]
		if len(got) == 1 && got[0] == build.Account {
			continue // the building account's own copy: no target needed
		}
		// With target accounts set, Image Builder copies the AMI into
		// those accounts ("Create a copy of the output AMI for each of the
		// specified target accounts … in the destination Region. The
		// target accounts … own their AMI copies", Manage Image Builder
		// distribution settings): the building account is listed in a
		// Region where one of its stamps needs a copy, but not in the
		// building Region, where the built AMI already is.
		targets := slices.DeleteFunc(slices.Clone(got), func(a string) bool {
			return d.Region == build.Region && a == build.Account
		})
		slices.Sort(targets)
		out[i].TargetAccounts = targets
	}
	for i, d := range out {
		out[i].KmsKeyArn = build.ImageKmsKeyArns[d.Region]
	}
	return out
}

// fleetNamesInOrder lists the fleets of stamps, each once, in the order
// they first appear.
func fleetNamesInOrder(stamps []Config) []string {
	var names []string
	for _, c := range stamps {
		for _, f := range c.Fleets {
			if !slices.Contains(names, f.Name) {
				names = append(names, f.Name)
			}
		}
	}
	return names
}

func fleetOf(c Config, name string) FleetConfig {
	i := slices.IndexFunc(c.Fleets, func(f FleetConfig) bool { return f.Name == name })
	return c.Fleets[i]
}
