package config

// FleetNames returns the names of the fleets, in the order they are
// declared, without decoding any fleet.
func (c Config) FleetNames() []string {
	if c.file != nil {
		return c.file.names()
	}
	names := make([]string, len(c.Fleets))
	for i, f := range c.Fleets {
		names[i] = f.Name
	}
	return names
}

// FleetByName returns the fleet named name; ok is false when there is
// none. The error is that fleet's own: read from a fleets file, a fleet is
// decoded on first use, and one that does not decode or validate fails
// there, in the words FromEnv would have used (the file and the key).
func (c Config) FleetByName(name string) (f Fleet, ok bool, err error) {
	if c.file != nil {
		return c.file.lookup(c.file.index.byName, name)
	}
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
	if c.file != nil {
		return c.file.lookup(c.file.index.byGroup, group)
	}
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
	if c.file != nil {
		return c.file.lookup(c.file.index.byAlarm, alarm)
	}
	for _, f := range c.Fleets {
		if _, ok := f.Scaling.Rule(alarm); ok {
			return f, true, nil
		}
	}
	return Fleet{}, false, nil
}

// fleetList returns every fleet, decoding each one not yet decoded.
func (c Config) fleetList() ([]Fleet, error) {
	if c.file != nil {
		return c.file.all()
	}
	return c.Fleets, nil
}
