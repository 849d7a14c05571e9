package stampconfig

import (
	"fmt"
	"slices"
	"strings"
)

// SelectFleet finds fleet in stamps as the stampkit CLI's -fleet and
// -stamp name it. An empty fleet is the configuration's one fleet (it is
// an error when stamps declare several); an empty stamp is the first stamp
// that has the fleet. An unknown name is an error that lists the names
// there are, with the nearest as a suggestion.
func SelectFleet(stamps []Config, stamp, fleet string) (Config, FleetConfig, error) {
	var stampNames, fleetNames []string
	for _, s := range stamps {
		stampNames = append(stampNames, s.Name)
		for _, f := range s.Fleets {
			if !slices.Contains(fleetNames, f.Name) {
				fleetNames = append(fleetNames, f.Name)
			}
		}
	}
	candidates := stamps
	if stamp != "" {
		i := slices.IndexFunc(stamps, func(s Config) bool { return s.Name == stamp })
		if i < 0 {
			return Config{}, FleetConfig{}, fmt.Errorf("no stamp %q (have %s)%s", stamp, strings.Join(stampNames, ", "), didYouMean(stamp, stampNames))
		}
		candidates = stamps[i : i+1]
		fleetNames = nil
		for _, f := range stamps[i].Fleets {
			fleetNames = append(fleetNames, f.Name)
		}
	}
	if fleet == "" {
		if len(fleetNames) != 1 {
			return Config{}, FleetConfig{}, fmt.Errorf("the configuration declares fleets %s: name one", strings.Join(fleetNames, ", "))
		}
		fleet = fleetNames[0]
	}
	for _, s := range candidates {
		for _, f := range s.Fleets {
			if f.Name == fleet {
				return s, f, nil
			}
		}
	}
	where := "the configuration"
	if stamp != "" {
		where = "stamp " + stamp
	}
	return Config{}, FleetConfig{}, fmt.Errorf("no fleet %q in %s (have %s)%s", fleet, where, strings.Join(fleetNames, ", "), didYouMean(fleet, fleetNames))
}
