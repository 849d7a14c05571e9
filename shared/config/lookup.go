package config

// FleetNames returns the names of the fleets, in the order they are
// declared.
func (c Config) FleetNames() []string {
	names := make([]string, len(c.Fleets))
	for i, f := range c.Fleets {
		names[i] = f.Name
	}
	return names
}

// FleetByName returns the fleet named name; ok is false when there is
// none. The error is that fleet's own, when it cannot be read.
func (c Config) FleetByName(name string) (f Fleet, ok bool, err error) {
	for _, f := range c.Fleets {
		if f.Name == name {
			return f, true, nil
		}
	}
	return Fleet{}, false, nil
}

// FleetByGroup returns the fleet one of whose Auto Scaling groups is named
// group: its own, or the blue/green peer that takes turns with it. The
// error is the fleet's own, as for FleetByName.
func (c Config) FleetByGroup(group string) (f Fleet, ok bool, err error) {
	for _, f := range c.Fleets {
		if f.Group == group || (f.Rollout.BlueGreen.PeerGroup != "" && f.Rollout.BlueGreen.PeerGroup == group) {
			return f, true, nil
		}
	}
	return Fleet{}, false, nil
}

// FleetByAlarm returns the fleet one of whose rules names alarm. The
// error is the fleet's own, as for FleetByName.
func (c Config) FleetByAlarm(alarm string) (f Fleet, ok bool, err error) {
	for _, f := range c.Fleets {
		if _, ok := f.Scaling.Rule(alarm); ok {
			return f, true, nil
		}
	}
	return Fleet{}, false, nil
}

// FleetForGroup is FleetByGroup for a configuration whose fleets are all
// read: built in process, or read from EnvFleets. It panics on a fleet
// that cannot be read; the functions call FleetByGroup, which returns
// that error.
func (c Config) FleetForGroup(group string) (Fleet, bool) {
	return must(c.FleetByGroup(group))
}

// FleetForAlarm is FleetByAlarm for a configuration whose fleets are all
// read, as FleetForGroup is FleetByGroup.
func (c Config) FleetForAlarm(alarm string) (Fleet, bool) {
	return must(c.FleetByAlarm(alarm))
}

func must(f Fleet, ok bool, err error) (Fleet, bool) {
	if err != nil {
		panic(err)
	}
	return f, ok
}
