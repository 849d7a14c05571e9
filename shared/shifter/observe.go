package shifter

import (
	"context"
	"errors"
	"fmt"

	"github.com/stampkit/stampkit/shared/cwalarm"
	"github.com/stampkit/stampkit/shared/invocation"
	"github.com/stampkit/stampkit/shared/route53dns"
	"github.com/stampkit/stampkit/shared/stampshift"
)

// view is what one turn saw: the observation the reducer reads and the
// records an UPSERT resends whole.
type view struct {
	obs     stampshift.Observation
	records []route53dns.Record
}

// observe reads the record's weights, the pending change and the health
// and capacity of the stamps the transition involves (every configured
// stamp when none runs: a start may name any two). What cannot be read
// goes into Observation.Err and the stamp is left out of
// Observation.Stamps: the reducer then decides on the rest (To in ALARM
// rolls back even when From's Region cannot be read) and does not move
// forward.
func (h *Handler) observe(ctx context.Context, s stampshift.State) view {
	v := view{obs: stampshift.Observation{Now: h.Clock.Now()}}
	var errs []error
	records, err := h.DNS.Weighted(ctx, h.Config.Record, h.Config.RecordType())
	if err != nil {
		errs = append(errs, err)
	} else {
		v.records = records
		v.obs.Weights = make(map[string]int64, len(records))
	}
	checks := make(map[string]string, len(records))
	for _, r := range records {
		v.obs.Weights[r.Stamp], checks[r.Stamp] = r.Weight, r.HealthCheck
	}
	if s.Change != "" {
		in, err := h.DNS.ChangeInSync(ctx, s.Change)
		if err != nil {
			errs = append(errs, err)
		}
		v.obs.Change = stampshift.ChangeStatus{ID: s.Change, InSync: in}
	}
	stamps := []string{s.From, s.To}
	if !s.Active() {
		stamps = stamps[:0]
		for _, st := range h.Config.Stamps {
			stamps = append(stamps, st.Name)
		}
	}
	v.obs.Stamps = make(map[string]stampshift.Health, len(stamps))
	for _, name := range stamps {
		health, err := h.health(ctx, name, checks[name], records != nil)
		if err != nil {
			errs = append(errs, fmt.Errorf("stamp %s: %w", name, err))
			if len(health.Alarms) == 0 {
				continue
			}
			// An alarm in ALARM decides alone: the stamp is not healthy
			// whatever else could not be read.
			health.Healthy = false
		}
		v.obs.Stamps[name] = health
	}
	if err := errors.Join(errs...); err != nil {
		v.obs.Err = err.Error()
		h.Log.WarnContext(ctx, "shift observation incomplete", "record", h.Config.Record, "fault", invocation.FaultOf(err), "error", v.obs.Err)
	}
	return v
}

// errNoHealthCheck reports a stamp whose weighted record has no health
// check. Route 53 then judges an alias record by its target's health
// (EvaluateTargetHealth: an ALB with no healthy target in its target
// groups is unhealthy, "AliasTarget", Route 53 API Reference), and answers
// with a weight-0 record only when every other one is unhealthy ("How
// Amazon Route 53 chooses records when health checking is configured").
// That health cannot be read here, and assuming it healthy would let a
// transition "succeed" while Route 53 answers with the old stamp's
// weight-0 record: such a stamp is not observed.
var errNoHealthCheck = errors.New("its weighted record has no health check: its Route 53 health cannot be read")

// health reads a stamp's fleet health alarms, its health check and its
// serving group's in-service capacity. Alarms are read first: one in
// ALARM is returned with the error of whatever else failed.
func (h *Handler) health(ctx context.Context, name, healthCheck string, recordsRead bool) (stampshift.Health, error) {
	cfg, ok := h.Config.Stamp(name)
	clients, has := h.Stamps[name]
	if !ok || !has {
		return stampshift.Health{}, fmt.Errorf("not configured")
	}
	var health stampshift.Health
	if len(cfg.HealthAlarms) > 0 {
		alarms, err := clients.Alarms.Alarms(ctx, cfg.HealthAlarms)
		if err != nil {
			return health, err
		}
		found := make(map[string]bool, len(alarms))
		for _, a := range alarms {
			found[a.Name] = true
			if a.State == cwalarm.StateAlarm {
				health.Alarms = append(health.Alarms, a.Name)
			}
		}
		// DescribeAlarms leaves out names that do not exist: an alarm
		// deleted or misnamed guards nothing, so it is not read as OK.
		for _, n := range cfg.HealthAlarms {
			if !found[n] {
				return health, fmt.Errorf("health alarm %s: does not exist", n)
			}
		}
	}
	switch {
	case !recordsRead:
		return health, errors.New("health check unknown: the records were not read")
	case healthCheck == "":
		return health, errNoHealthCheck
	}
	healthy, err := h.DNS.Healthy(ctx, healthCheck)
	if err != nil {
		return health, err
	}
	health.Healthy = healthy
	group, err := h.serving(ctx, clients, cfg.Fleet, cfg.Group)
	if err != nil {
		return health, err
	}
	g, err := clients.Groups.Capacity(ctx, group)
	if err != nil {
		return health, err
	}
	health.InService = g.InService
	return health, nil
}
