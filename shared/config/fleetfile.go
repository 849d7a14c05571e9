package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
)

// fleetFile is the fleets of a fleets file, each decoded on first use.
//
// Deferring the decode is safe: the CDK app checks every fleet with this
// package at synth (Config.Validate of the configuration the functions
// will read) and bundles the file with code built from the same commit,
// so a fleet that fails here was written by hand or by other code. What
// events are routed by (route: names, groups, alarms) is read and checked
// for every fleet at cold start, so a fleet not yet decoded sends no event
// to the wrong fleet, or to none. Whatever else is wrong with a fleet
// fails every event that needs that fleet, in the words FromEnv would have
// used, and no other fleet's.
//
// Decoding 100 fleets at once took 1-3 ms of a cold start whose init
// takes about 5 (BenchmarkFromEnv, bench/results.txt ColdStartFleets); an
// event needs one fleet, a scaler tick ten.
type fleetFile struct {
	source string
	fleets []lazyFleet
	index  routeIndex
}

// lazyFleet is one fleet of a fleetFile. once guards the decode: the
// scaler's tick evaluates fleets concurrently.
type lazyFleet struct {
	raw   []byte
	route route
	// decoded is set when the scan could not read the route, and the fleet
	// was decoded at cold start to read it.
	decoded bool
	once    sync.Once
	fleet   Fleet
	err     error
}

// readFleetsFile reads the fleets file's routes and checks them; a fleet
// whose route the scan cannot read alone is decoded and checked in full
// now. errScan means the file is not laid out as the scan reads it.
func readFleetsFile(raw []byte, source string) (*fleetFile, error) {
	scanned, err := scanFleets(raw)
	if err != nil {
		return nil, err
	}
	file := &fleetFile{source: source, fleets: make([]lazyFleet, len(scanned))}
	routes := make([]route, len(scanned))
	var errs []error
	for i, s := range scanned {
		f := &file.fleets[i]
		f.raw, f.route, f.decoded = s.raw, s.route, s.decodeNow
		if s.decodeNow {
			fleet, err := file.get(i)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			f.route = routeOf(fleet)
		}
		routes[i] = f.route
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	file.index, errs = indexRoutes(source, routes)
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return file, nil
}

// get returns the i-th fleet, decoding and checking it the first time.
func (file *fleetFile) get(i int) (Fleet, error) {
	f := &file.fleets[i]
	f.once.Do(func() {
		f.fleet, f.err = file.decode(i)
	})
	return f.fleet, f.err
}

func (file *fleetFile) decode(i int) (Fleet, error) {
	f, key := &file.fleets[i], fleetKey(file.source, i)
	var fleet Fleet
	dec := json.NewDecoder(bytes.NewReader(f.raw))
	// Unknown fields are refused, as decodeFleets refuses them.
	dec.DisallowUnknownFields()
	if err := dec.Decode(&fleet); err != nil {
		return Fleet{}, fmt.Errorf("%s: not a fleet as this code knows them: %w", key, err)
	}
	if errs := validateFleet(key, fleet); len(errs) > 0 {
		return Fleet{}, errors.Join(errs...)
	}
	// The scan is written to read a route as encoding/json does, or to
	// leave the fleet to it (decodeNow); this keeps an event from acting
	// on a fleet it was not routed to if the two ever differ.
	if r := routeOf(fleet); !f.decoded && !r.equal(f.route) {
		return Fleet{}, fmt.Errorf("%s: decoded, the fleet is %+v, but the cold start routed events to it as %+v", key, r, f.route)
	}
	return fleet, nil
}

// lookup returns the fleet index maps key to.
func (file *fleetFile) lookup(index map[string]int, key string) (Fleet, bool, error) {
	i, ok := index[key]
	if !ok {
		return Fleet{}, false, nil
	}
	f, err := file.get(i)
	if err != nil {
		return Fleet{}, false, err
	}
	return f, true, nil
}

func (file *fleetFile) names() []string {
	names := make([]string, len(file.fleets))
	for i := range file.fleets {
		names[i] = file.fleets[i].route.name
	}
	return names
}

// all decodes every fleet, and reports every one that fails.
func (file *fleetFile) all() ([]Fleet, error) {
	fleets := make([]Fleet, len(file.fleets))
	var errs []error
	for i := range file.fleets {
		f, err := file.get(i)
		if err != nil {
			errs = append(errs, err)
		}
		fleets[i] = f
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return fleets, nil
}
