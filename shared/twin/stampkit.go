package twin

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/stampkit/stampkit/shared/config"
	"github.com/stampkit/stampkit/shared/logging"
	"github.com/stampkit/stampkit/shared/scaler"
	"github.com/stampkit/stampkit/shared/scaling"
)

// FleetName is the name the twin's configuration gives the simulated
// fleet.
const FleetName = "web"

type stampkit struct {
	policy scaling.Policy
}

// Stampkit is the toolkit itself: the real scaler handler (shared/scaler)
// with policy p. The twin creates the CloudWatch alarms p's triggers
// declare, sends their state changes and a schedule tick through the
// simulated EventBridge as the JSON AWS sends, and serves the handler's
// Groups and Alarms ports from the simulated group and alarms, and its
// History port from the load balancer's per-minute request counts; claims,
// scaler state and the cached history live in a memstore.
func Stampkit(p scaling.Policy) Autoscaler { return stampkit{policy: p} }

func (stampkit) Name() string { return "stampkit" }

// config returns the configuration the stampkit scaler runs with in the
// twin: one fleet on cfg's group with policy p.
func (k stampkit) config(cfg Config) (config.Config, error) {
	c := config.Config{Table: "twin", Namespace: config.DefaultNamespace, Fleets: []config.Fleet{{Name: cfg.fleet(), Group: cfg.Group, Scaling: k.policy}}}
	if err := c.Validate(); err != nil {
		return config.Config{}, err
	}
	return c, nil
}

func (k stampkit) attach(s *sim) error {
	c, err := k.config(s.cfg)
	if err != nil {
		return err
	}
	var errs []error
	for _, r := range k.policy.Rules {
		if r.Trigger == nil {
			errs = append(errs, fmt.Errorf("rule %s: the twin needs the rule's trigger to simulate its alarm", r.Alarm))
			continue
		}
		t := r.Trigger
		spec := MetricSpec{Namespace: t.Namespace, Name: t.Metric, Dimensions: t.Dimensions, Statistic: t.Statistic, Period: t.Period.Std()}
		kind, err := kindOf(spec)
		if err != nil {
			errs = append(errs, fmt.Errorf("rule %s: %w", r.Alarm, err))
			continue
		}
		cmp := GreaterThanThreshold
		if r.Direction == scaling.In {
			cmp = LessThanThreshold
		}
		a := NewAlarm(r.Alarm, cmp, t.Threshold, t.EvaluationPeriods, t.DatapointsToAlarm)
		if _, err := s.cw.addAlarm(a, spec, kind, func(w *watched, changed bool) {
			if !changed {
				return
			}
			raw, err := s.bus.alarmEvent(w)
			if err != nil {
				s.res.HandlerErrors = append(s.res.HandlerErrors, err.Error())
				return
			}
			s.bus.publish("alarm:"+w.Name, raw)
		}); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}

	h := &scaler.Handler{
		Config:  c,
		Groups:  groupsPort{s: s, by: scalerPolicy},
		Alarms:  alarmsPort{cw: s.cw},
		History: newRequestHistory(s),
		Store:   s.store(s.state),
		Clock:   s,
		Log:     s.handlerLog(s.observeDecision),
	}
	if s.cfg.HandlerLog != nil {
		h.Metrics = logging.NewMetrics(s.cfg.HandlerLog, c.Namespace, s.Now)
	}
	s.bus.scaler = s.newLambda(ScalerFunction, func(ctx context.Context, raw []byte) error { return h.Handle(ctx, raw) })
	// The EventBridge schedule rule that makes the scaler re-evaluate
	// alarms still in ALARM.
	var tick func(context.Context)
	tick = func(context.Context) {
		raw, err := s.bus.tickEvent(s.Now())
		if err != nil {
			s.res.HandlerErrors = append(s.res.HandlerErrors, err.Error())
			return
		}
		s.bus.publish(scheduleSource, raw)
		s.at(s.now+s.cfg.TickInterval, prioBus, tick)
	}
	s.at(s.cfg.TickInterval, prioBus, tick)
	return nil
}

// observeDecision keeps the reason of each capacity change the scaler
// handler logs, and counts its outcomes.
func (s *sim) observeDecision(r slog.Record) {
	if r.Message != "scaling decision" {
		return
	}
	var outcome, reason string
	var to int64 = -1
	r.Attrs(func(a slog.Attr) bool {
		switch a.Key {
		case "outcome":
			outcome = a.Value.String()
		case "reason":
			reason = a.Value.String()
		case "to":
			to = a.Value.Int64()
		}
		return true
	})
	s.res.Outcomes[outcome]++
	if n := len(s.res.Scaling); outcome == string(scaling.Scaled) && n > 0 {
		last := &s.res.Scaling[n-1]
		if last.At.Equal(s.Now()) && int64(last.To) == to && last.Reason == "" {
			last.Reason = reason
		}
	}
}
