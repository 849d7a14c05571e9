package twin

import (
	"fmt"
	"slices"
	"time"

	"github.com/stampkit/stampkit/shared/stampshift"
	"github.com/stampkit/stampkit/shared/twin/dns"
)

// ShiftRecord is the weighted record a twin stamp shift moves.
const ShiftRecord = "www.example.com."

// ByShift names the stamp shift in ScalingEvent.By: capacity it raised
// ahead of the weight a stamp is about to take.
const ByShift = "shift"

// shifter runs the real transition reducer (shared/stampshift) on a stamp
// shift: it starts the transition at Shift.StartAt, steps it whenever it
// asks to be woken, observing the zone and the stamps as the shift
// function reads them (the record's weights as ListResourceRecordSets
// returns them, GetChange, each stamp's Route 53 health check, its fleet's
// health alarms in ALARM and its group's in-service count), and applies
// its actions: new weights through the zone (ChangeResourceRecordSets),
// a raised floor on the receiving group.
type shifter struct {
	ss     *stampSim
	policy stampshift.Policy
	state  stampshift.State
	wake   time.Duration
	// floors are the raised floors, by stamp: the group's minimum before,
	// and until when the floor holds.
	floors map[int]floor
	// noted is the newest history entry on the timeline.
	noted stampshift.Entry
}

type floor struct {
	min   int
	until time.Duration
}

// ShiftPhase prefixes the timeline events of the transition's history.
const ShiftPhase = "shift "

func newShifter(ss *stampSim, p stampshift.Policy) (*shifter, error) {
	p = p.WithDefaults()
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("shift policy: %w", err)
	}
	return &shifter{ss: ss, policy: p, wake: ss.sc.Shift.StartAt, floors: map[int]floor{}}, nil
}

// tick runs the transition at now if it is due, before the step's
// requests are split.
func (sh *shifter) tick(now time.Duration) error {
	sh.releaseFloors(now)
	if sh.wake < 0 || now < sh.wake {
		return nil
	}
	obs := sh.observe(now)
	if sh.state.Phase == "" {
		st, err := stampshift.Begin(sh.policy, sh.state, stampshift.Start{ID: "twin-shift", Record: ShiftRecord, From: sh.ss.names[0], To: sh.ss.names[1]}, obs)
		if err != nil {
			return fmt.Errorf("starting the shift: %w", err)
		}
		sh.state = st
	}
	acts, next, wake := stampshift.Step(sh.policy, sh.state, obs)
	sh.state = next
	for _, a := range acts {
		if err := sh.apply(now, a); err != nil {
			return err
		}
	}
	sh.timeline()
	if wake.IsZero() {
		sh.wake = -1
		return nil
	}
	sh.wake = wake.Sub(sh.ss.sc.Trace.Start)
	return nil
}

// observe is what the shift function reads at now.
func (sh *shifter) observe(now time.Duration) stampshift.Observation {
	ss := sh.ss
	obs := stampshift.Observation{Now: ss.wall(now), Weights: map[string]int64{}, Stamps: map[string]stampshift.Health{}}
	for k, w := range ss.zone.Records() {
		obs.Weights[ss.names[k]] = int64(w)
	}
	if id := sh.state.Change; id != "" {
		st, err := ss.zone.GetChange(now, id)
		if err != nil {
			obs.Err = err.Error()
		}
		obs.Change = stampshift.ChangeStatus{ID: id, InSync: st == dns.InSync}
	}
	checks := ss.zone.HealthChecks()
	for k, s := range ss.stamps {
		h := stampshift.Health{Healthy: checks[k], InService: s.fleet.capacity().InService}
		for _, name := range HealthAlarms(s.cfg, false) {
			if w := s.cw.alarms[name]; w != nil && w.State() == "ALARM" {
				h.Alarms = append(h.Alarms, name)
			}
		}
		obs.Stamps[ss.names[k]] = h
	}
	return obs
}

func (sh *shifter) apply(now time.Duration, a stampshift.Action) error {
	ss := sh.ss
	switch a.Kind {
	case stampshift.SetWeights:
		weights := make([]int, len(ss.names))
		for k, name := range ss.names {
			w, ok := a.Weights[name]
			if !ok {
				w = int64(ss.zone.Records()[k])
			}
			weights[k] = int(w)
		}
		id, err := ss.change(now, weights)
		if err != nil {
			return fmt.Errorf("setting weights %v: %w", a.Weights, err)
		}
		sh.state = sh.state.Sent(id, ss.wall(now))
	case stampshift.RaiseFloor:
		k := slices.Index(ss.names, a.Stamp)
		if k < 0 {
			return fmt.Errorf("raising the floor of unknown stamp %s", a.Stamp)
		}
		f := ss.stamps[k].fleet
		until := a.Until.Sub(ss.sc.Trace.Start)
		prev, held := sh.floors[k]
		if !held {
			prev.min = f.min
		}
		capacity := min(a.Capacity, f.max)
		sh.floors[k] = floor{min: prev.min, until: max(until, prev.until)}
		f.min = max(f.min, capacity)
		if f.desired < capacity {
			if err := f.setDesired(capacity, ByShift, a.Reason); err != nil {
				return err
			}
		}
	case stampshift.ReleaseFloor:
		k := slices.Index(ss.names, a.Stamp)
		if fl, held := sh.floors[k]; held {
			ss.stamps[k].fleet.min = fl.min
			delete(sh.floors, k)
		}
	default:
		return fmt.Errorf("shift action %q: unknown", a.Kind)
	}
	return nil
}

// releaseFloors gives each group whose raised floor has expired its own
// minimum back.
func (sh *shifter) releaseFloors(now time.Duration) {
	for k, fl := range sh.floors {
		if now >= fl.until {
			sh.ss.stamps[k].fleet.min = fl.min
			delete(sh.floors, k)
		}
	}
}

// timeline puts the transition's new history on the timeline.
func (sh *shifter) timeline() {
	h := sh.state.History
	from := slices.IndexFunc(h, func(e stampshift.Entry) bool { return e == sh.noted }) + 1
	for _, e := range h[from:] {
		sh.ss.events = append(sh.ss.events, RolloutEvent{At: e.At, What: ShiftPhase + string(e.Phase), Detail: e.Note})
	}
	if len(h) > 0 {
		sh.noted = h[len(h)-1]
	}
}
