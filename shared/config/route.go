package config

import (
	"fmt"
	"slices"
)

// route is what events find a fleet by: its name (FleetByName), its
// groups (FleetByGroup) and the alarms its rules name (FleetByAlarm).
type route struct {
	name, group, peerGroup string
	alarms                 []string
}

// routeOf is f's route as the full decode reads it.
func routeOf(f Fleet) route {
	r := route{name: f.Name, group: f.Group, peerGroup: f.Rollout.BlueGreen.PeerGroup}
	for _, rule := range f.Scaling.Rules {
		r.alarms = append(r.alarms, rule.Alarm)
	}
	return r
}

func (r route) equal(o route) bool {
	return r.name == o.name && r.group == o.group && r.peerGroup == o.peerGroup && slices.Equal(r.alarms, o.alarms)
}

// routeIndex finds a fleet, by its position, from what an event names.
type routeIndex struct {
	byName, byGroup, byAlarm map[string]int
}

// indexRoutes checks what routing needs of the fleets, routes: each has a
// name and a group, and no name, group or alarm is two fleets'. Those are
// all the checks that look at more than one fleet. source names the
// fleets in errors.
func indexRoutes(source string, routes []route) (routeIndex, []error) {
	var errs []error
	if len(routes) == 0 {
		errs = append(errs, fmt.Errorf("%s: no fleets", source))
	}
	ix := routeIndex{byName: make(map[string]int, len(routes)), byGroup: make(map[string]int, len(routes)), byAlarm: map[string]int{}}
	for i, r := range routes {
		key := fleetKey(source, i)
		if r.name == "" {
			errs = append(errs, fmt.Errorf("%s.name: is empty", key))
		} else if _, ok := ix.byName[r.name]; ok {
			errs = append(errs, fmt.Errorf("%s.name: %q is used by another fleet", key, r.name))
		} else {
			ix.byName[r.name] = i
		}
		if r.group == "" {
			errs = append(errs, fmt.Errorf("%s.group: is empty; it names the Auto Scaling group", key))
		}
		// A group managed by two fleets would take lifecycle actions and
		// rollouts from whichever fleet FleetByGroup found first.
		for _, g := range []struct{ field, name string }{{"group", r.group}, {"rollout.blueGreen.peerGroup", r.peerGroup}} {
			if g.name == "" {
				continue
			}
			if other, ok := ix.byGroup[g.name]; !ok {
				ix.byGroup[g.name] = i
			} else if routes[other].name != r.name {
				errs = append(errs, fmt.Errorf("%s.%s: %q is also a group of fleet %q", key, g.field, g.name, routes[other].name))
			}
		}
		for _, alarm := range r.alarms {
			if other, ok := ix.byAlarm[alarm]; !ok {
				ix.byAlarm[alarm] = i
			} else if routes[other].name != r.name {
				errs = append(errs, fmt.Errorf("%s.scaling.rules: alarm %q also scales fleet %q", key, alarm, routes[other].name))
			}
		}
	}
	return ix, errs
}
