package shifter

import (
	"context"
	"errors"
	"fmt"

	"github.com/stampkit/stampkit/shared/cwalarm"
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
// goes into Observation.Err: the reducer then only waits.
func (h *Handler) observe(ctx context.Context, s stampshift.State) view {
	v := view{obs: stampshift.Observation{Now: h.Clock.Now()}}
	var errs []error
	records, err := h.DNS.Weighted(ctx, h.Config.Record, h.Config.RecordType())
	if err != nil {
		errs = append(errs, err)
	}
	v.records = records
	v.obs.Weights = make(map[string]int64, len(records))
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
		health, err := h.health(ctx, name, checks[name])
		if err != nil {
			errs = append(errs, fmt.Errorf("stamp %s: %w", name, err))
			continue
		}
		v.obs.Stamps[name] = health
	}
	if err := errors.Join(errs...); err != nil {
		v.obs.Err = err.Error()
		h.Log.WarnContext(ctx, "shift observation incomplete", "record", h.Config.Record, "error", v.obs.Err)
	}
	return v
}

// health reads a stamp's health check, its fleet's health alarms and its
// in-service capacity.
func (h *Handler) health(ctx context.Context, name, healthCheck string) (stampshift.Health, error) {
	cfg, ok := h.Config.Stamp(name)
	clients, has := h.Stamps[name]
	if !ok || !has {
		return stampshift.Health{}, fmt.Errorf("not configured")
	}
	// A record without a health check has nothing for Route 53 to fail
	// over on; its fleet's alarms still guard it.
	health := stampshift.Health{Healthy: true}
	if healthCheck != "" {
		ok, err := h.DNS.Healthy(ctx, healthCheck)
		if err != nil {
			return health, err
		}
		health.Healthy = ok
	}
	if len(cfg.HealthAlarms) > 0 {
		alarms, err := clients.Alarms.Alarms(ctx, cfg.HealthAlarms)
		if err != nil {
			return health, err
		}
		for _, a := range alarms {
			if a.State == cwalarm.StateAlarm {
				health.Alarms = append(health.Alarms, a.Name)
			}
		}
	}
	g, err := clients.Groups.Capacity(ctx, cfg.Group)
	if err != nil {
		return health, err
	}
	health.InService = g.InService
	return health, nil
}
