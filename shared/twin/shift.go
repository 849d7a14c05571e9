package twin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/stampkit/stampkit/shared/clock"
	"github.com/stampkit/stampkit/shared/config"
	"github.com/stampkit/stampkit/shared/cwalarm"
	"github.com/stampkit/stampkit/shared/event"
	"github.com/stampkit/stampkit/shared/logging"
	"github.com/stampkit/stampkit/shared/memstore"
	"github.com/stampkit/stampkit/shared/route53dns"
	"github.com/stampkit/stampkit/shared/shifter"
	"github.com/stampkit/stampkit/shared/stampshift"
	"github.com/stampkit/stampkit/shared/twin/dns"
)

// ShiftRecord is the weighted record a twin stamp shift moves.
const ShiftRecord = "www.example.com."

// ByShift names the stamp shift in ScalingEvent.By: capacity it raised
// ahead of the weight a stamp is about to take.
const ByShift = "shift"

// ShiftPhase prefixes the timeline events of the transition's history.
const ShiftPhase = "shift "

// shiftStartRetries is how often a start command that failed is delivered
// again: Lambda's asynchronous retries (the shift stack sets 2), a minute
// apart.
const shiftStartRetries = 2

// shiftSim runs the real shift function's handler (shared/shifter) on a
// stamp shift, as Lambda does: the operator's start command at
// Shift.StartAt, then each wake-up the handler schedules (its SQS
// message) at its due time. Its ports are the twin's: the zone
// (ListResourceRecordSets, ChangeResourceRecordSets, GetChange,
// GetHealthCheckStatus), and each stamp's alarms, group and scaler state
// table, so the floor it holds is the scaler's own (ShiftFloor, under the
// scaler's fleet lease) and only the stampkit scaler keeps it.
type shiftSim struct {
	ss *stampSim
	h  *shifter.Handler
	// table is the shift function's own table.
	table *memstore.Store
	// wake is the wake-up the handler scheduled (zero: none), as the
	// time its Tick carries.
	wake time.Time
	// starts counts the deliveries of the start command; started is set
	// once one succeeded.
	starts  int
	started bool
	events  int
	// noted is the newest history entry on the timeline.
	noted stampshift.Entry
}

func newShiftSim(ss *stampSim, p stampshift.Policy) (*shiftSim, error) {
	if p.SendAttempts != 0 || p.UnreadTimeout != 0 {
		return nil, fmt.Errorf("shift policy: sendAttempts and unreadTimeout: the shift function's configuration (config.Shift) sets neither")
	}
	sh := &shiftSim{ss: ss}
	cfg := config.Shift{
		Record: ShiftRecord, Type: "A", HostedZoneID: "Z0TWIN", Table: "twin-shift",
		Steps: p.Steps, TTL: p.TTL, Bake: p.Bake, PollInterval: p.PollInterval, CapacityTimeout: p.CapacityTimeout,
	}
	stamps := make(map[string]shifter.Stamp, len(ss.stamps))
	for k, s := range ss.stamps {
		var alarms []string
		for _, name := range HealthAlarms(s.cfg, false) {
			if s.cw.alarms[name] != nil {
				alarms = append(alarms, name)
			}
		}
		cfg.Stamps = append(cfg.Stamps, config.ShiftStamp{
			Name: ss.names[k], Region: region, Fleet: FleetName, Group: s.cfg.Group,
			WeightParameter: "/stampkit/" + ss.names[k] + "/dns-weight", HealthAlarms: alarms, StateTable: "twin",
		})
		stamps[ss.names[k]] = shifter.Stamp{
			Alarms:     describeAlarms{s: s},
			Groups:     groupsPort{s: s, by: ByShift},
			Parameters: shiftParameters{},
			State:      s.store(s.state),
		}
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("shift configuration: %w", err)
	}
	first := ss.stamps[0]
	out := io.Discard
	if first.cfg.HandlerLog != nil {
		out = first.cfg.HandlerLog
	}
	clk := shiftClock{ss}
	sh.table = memstore.New(clk)
	sh.h = &shifter.Handler{
		Config: cfg, DNS: shiftZone{ss}, Store: sh.table, Scheduler: sh, Stamps: stamps,
		Clock: clk, Log: first.handlerLog(nil), Metrics: logging.NewMetrics(out, config.DefaultNamespace, clk.Now),
		// The twin runs one invocation at a time: a lease held is one
		// left behind, and waiting for it in wall-clock time would stall.
		LeaseWait: -1,
	}
	return sh, nil
}

// tick delivers at now, before the step's requests are split, the start
// command (and its retries) and the wake-up that is due.
func (sh *shiftSim) tick(ctx context.Context, now time.Duration) error {
	ss := sh.ss
	start := ss.sc.Shift.StartAt
	switch {
	case !sh.started && sh.starts <= shiftStartRetries && now >= start+time.Duration(sh.starts)*time.Minute:
		sh.starts++
		err := sh.invoke(ctx, now, event.DetailTypeShiftCommand, event.SourceStampkit, event.ShiftCommand{
			Record: ShiftRecord, From: ss.names[0], To: ss.names[1], Action: event.CommandStart,
		}, ss.wall(start))
		if err == nil {
			sh.started = true
		}
		return sh.note(err)
	case !sh.wake.IsZero() && !ss.wall(now).Before(sh.wake):
		at := sh.wake
		sh.wake = time.Time{}
		return sh.note(sh.invoke(ctx, now, event.DetailTypeTick, event.SourceStampkit,
			tickDetail{At: at.UTC().Format(time.RFC3339Nano), Key: stampshift.Key(ShiftRecord)}, ss.wall(now)))
	}
	return nil
}

// invoke hands the handler one event as EventBridge (or the wake-up
// queue) delivers it, and puts what the transition did on the timeline.
func (sh *shiftSim) invoke(ctx context.Context, now time.Duration, detailType, source string, detail any, at time.Time) error {
	sh.events++
	raw, err := json.Marshal(envelope{
		Version: "0", ID: fmt.Sprintf("twin-shift-%d", sh.events), DetailType: detailType, Source: source,
		Account: account, Time: at.UTC().Format(time.RFC3339), Region: region, Resources: []string{}, Detail: detail,
	})
	if err != nil {
		return fmt.Errorf("encoding %s event: %w", detailType, err)
	}
	err = sh.h.Handle(ctx, raw)
	sh.timeline(ctx)
	return err
}

// note keeps a failed invocation among the handler errors, as Lambda
// logs it and retries; the run goes on.
func (sh *shiftSim) note(err error) error {
	if err != nil {
		sh.ss.errors = append(sh.ss.errors, fmt.Sprintf("shift: %v", err))
	}
	return nil
}

// WakeAt is the wake-up queue: one delayed message, delivered at the
// first step at or after at. The handler keeps one chain per record: a
// later wake-up replaces the one before.
func (sh *shiftSim) WakeAt(_ context.Context, _ string, at time.Time) error {
	sh.wake = at
	return nil
}

// state is the transition as the shift function's table holds it.
func (sh *shiftSim) state(ctx context.Context) stampshift.State {
	s := stampshift.State{Record: ShiftRecord}
	data, _, err := sh.table.Load(ctx, stampshift.Key(ShiftRecord))
	if err != nil || len(data) == 0 {
		return s
	}
	_ = json.Unmarshal(data, &s)
	return s
}

// timeline puts the transition's new history on the timeline.
func (sh *shiftSim) timeline(ctx context.Context) {
	h := sh.state(ctx).History
	from := slices.IndexFunc(h, func(e stampshift.Entry) bool { return e == sh.noted }) + 1
	for _, e := range h[from:] {
		sh.ss.events = append(sh.ss.events, RolloutEvent{At: e.At, What: ShiftPhase + string(e.Phase), Detail: e.Note})
	}
	if len(h) > 0 {
		sh.noted = h[len(h)-1]
	}
}

// shiftClock is the stamps' shared clock: they step in lockstep.
type shiftClock struct{ ss *stampSim }

func (c shiftClock) Now() time.Time { return c.ss.wall(c.ss.now) }

var _ clock.Clock = shiftClock{}

// shiftZone is the hosted zone as the shift function reaches it
// (route53dns.Adapter): each stamp's weighted record, health-checked by
// "hc-<stamp>".
type shiftZone struct{ ss *stampSim }

func (z shiftZone) Weighted(context.Context, string, string) ([]route53dns.Record, error) {
	out := make([]route53dns.Record, 0, len(z.ss.names))
	for k, w := range z.ss.zone.Records() {
		out = append(out, route53dns.Record{Stamp: z.ss.names[k], Weight: int64(w), HealthCheck: "hc-" + z.ss.names[k]})
	}
	return out, nil
}

// SetWeights submits the weights; the zone refuses an invalid batch as
// Route 53 does, with InvalidChangeBatch.
func (z shiftZone) SetWeights(_ context.Context, _ []route53dns.Record, weights map[string]int64, _ string) (string, error) {
	ss := z.ss
	next := ss.zone.Records()
	for k, name := range ss.names {
		if w, ok := weights[name]; ok {
			next[k] = int(w)
		}
	}
	id, err := ss.change(ss.now, next)
	if err != nil {
		return "", fmt.Errorf("changing weights: %w: %w", route53dns.ErrChangeRefused, err)
	}
	return id, nil
}

func (z shiftZone) ChangeInSync(_ context.Context, id string) (bool, error) {
	st, err := z.ss.zone.GetChange(z.ss.now, id)
	if err != nil {
		return false, err
	}
	return st == dns.InSync, nil
}

func (z shiftZone) Healthy(_ context.Context, healthCheck string) (bool, error) {
	for k, name := range z.ss.names {
		if healthCheck == "hc-"+name {
			return z.ss.zone.HealthChecks()[k], nil
		}
	}
	return false, fmt.Errorf("health check %s: %w", healthCheck, errors.New("NoSuchHealthCheck"))
}

// describeAlarms is a stamp's CloudWatch alarms as cwalarm.Adapter reads
// them: those that exist, as DescribeAlarms leaves out the others.
type describeAlarms struct{ s *sim }

func (a describeAlarms) Alarms(ctx context.Context, names []string) ([]cwalarm.Alarm, error) {
	return callValue(a.s, ctx, svcCloudWatch, "DescribeAlarms", false, func() ([]cwalarm.Alarm, error) {
		var out []cwalarm.Alarm
		for _, n := range names {
			if w, ok := a.s.cw.alarms[n]; ok {
				out = append(out, cwalarm.Alarm{Name: n, ARN: alarmARN(n), State: w.state})
			}
		}
		return out, nil
	})
}

// shiftParameters is SSM: a stamp's weight parameter is read only at a
// deploy, which the twin does not run.
type shiftParameters struct{}

func (shiftParameters) Put(context.Context, string, string) error { return nil }

// The twin's ports fit the handler's.
var (
	_ shifter.DNS        = shiftZone{}
	_ shifter.Alarms     = describeAlarms{}
	_ shifter.Groups     = groupsPort{}
	_ shifter.Parameters = shiftParameters{}
	_ shifter.Store      = stateStore{}
	_ shifter.Scheduler  = (*shiftSim)(nil)
)
