package twin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/stampkit/stampkit/shared/event"
)

// BusConfig is how the simulated EventBridge delivers. EventBridge delivers
// at least once and in no guaranteed order: each event arrives after a
// delay drawn uniformly between MinDelay and MaxDelay, and with
// DuplicateProbability once more, up to DuplicateDelay after the first
// delivery. Delays wider than the gap between two events reorder them.
type BusConfig struct {
	MinDelay, MaxDelay   time.Duration
	DuplicateProbability float64
	DuplicateDelay       time.Duration
	// ExactlyOnce makes the bus the ideal the scaler is tested against:
	// no duplicates, and an event that would arrive after a newer event
	// from the same source (the same alarm, the schedule) is not delivered
	// at all. Delays are drawn exactly as without it.
	ExactlyOnce bool
}

func (b BusConfig) validate() error {
	if b.MinDelay < 0 || b.MaxDelay < b.MinDelay || b.DuplicateDelay < 0 || b.DuplicateProbability < 0 || b.DuplicateProbability > 1 {
		return errors.New("need 0 <= minDelay <= maxDelay, duplicateDelay >= 0 and 0 <= duplicateProbability <= 1")
	}
	return nil
}

// scheduleSource keys the schedule rule's ticks on the bus.
const scheduleSource = "schedule"

// Constants of the simulated account.
const (
	account = "111122223333"
	region  = "us-east-1"
)

type bus struct {
	s *sim
	// scaler is the function the bus delivers alarm changes and the
	// schedule's ticks to; nil without the stampkit scaler.
	scaler *lambda
	n      uint64
	// newest is, per source, the publication time of the newest event
	// delivered (ExactlyOnce only).
	newest map[string]time.Duration
}

func newBus(s *sim) *bus { return &bus{s: s, newest: map[string]time.Duration{}} }

// publish puts an event for the scaler on the bus; source keys the
// ordering ExactlyOnce preserves.
func (b *bus) publish(source string, raw []byte) {
	if b.scaler == nil {
		return
	}
	b.send(b.s.busRNG, source, raw, b.scaler, false)
}

// send puts an event for the function to on the bus, drawing its delays
// from rng. Three draws per event, whatever the configuration, keep the
// delays of the exactly-once reference equal to those of the
// at-least-once run. queued marks a wake-up: AWS sends it through the
// function's wake-up queue, which the bus stands for, and retries it as
// the queue does.
func (b *bus) send(rng *rand.Rand, source string, raw []byte, to *lambda, queued bool) {
	cfg := b.s.cfg.Bus
	delay := cfg.MinDelay + time.Duration(rng.Float64()*float64(cfg.MaxDelay-cfg.MinDelay))
	dup := rng.Float64() < cfg.DuplicateProbability
	again := time.Duration(rng.Float64() * float64(cfg.DuplicateDelay))
	late, chaosDup, chaosAgain := b.s.deliveryFaults(queued)
	published := b.s.now
	b.s.res.Bus.Published++
	first := published + delay + late
	fault := ""
	if late > 0 {
		fault = FaultLate
	}
	b.s.at(first, prioBus, func(ctx context.Context) {
		b.arrive(ctx, source, published, raw, false, to, queued, fault)
	})
	if dup && !cfg.ExactlyOnce {
		b.s.at(published+delay+again, prioBus, func(ctx context.Context) {
			b.arrive(ctx, source, published, raw, true, to, queued, "")
		})
	}
	if chaosDup {
		b.s.at(first+chaosAgain, prioBus, func(ctx context.Context) {
			b.arrive(ctx, source, published, raw, true, to, queued, FaultDuplicate)
		})
	}
}

// arrive delivers an event to its function; fault names the chaos that
// made this delivery (FaultLate, FaultDuplicate), if any.
func (b *bus) arrive(ctx context.Context, source string, published time.Duration, raw []byte, duplicate bool, to *lambda, queued bool, fault string) {
	if b.s.cfg.Bus.ExactlyOnce {
		if last, ok := b.newest[source]; ok && last > published {
			b.s.res.Bus.Overtaken++
			return
		}
		b.newest[source] = published
	}
	b.s.res.Bus.Delivered++
	if duplicate {
		b.s.res.Bus.Duplicates++
	}
	var faults []int
	if fault != "" {
		faults = append(faults, b.s.recordFault(to, fault, envelopeOf(raw).DetailType))
	}
	b.s.deliver(ctx, to, raw, queued, faults...)
}

// nextID returns a stable event id in UUID form: the same run gives the
// same ids, and a duplicate keeps the id of the event it repeats.
func (b *bus) nextID() string {
	b.n++
	return fmt.Sprintf("%08x-%04x-4%03x-8%03x-%012x", uint32(b.s.cfg.Seed), uint16(b.s.cfg.Seed>>32), b.n>>44&0xfff, b.n>>32&0xfff, b.n&0xffffffffffff)
}

// The EventBridge envelope and the detail shapes, as AWS publishes them
// (see shared/event/testdata/events for the real samples).
type envelope struct {
	Version    string   `json:"version"`
	ID         string   `json:"id"`
	DetailType string   `json:"detail-type"`
	Source     string   `json:"source"`
	Account    string   `json:"account"`
	Time       string   `json:"time"`
	Region     string   `json:"region"`
	Resources  []string `json:"resources"`
	Detail     any      `json:"detail"`
}

type alarmDetail struct {
	AlarmName     string             `json:"alarmName"`
	State         alarmStateJSON     `json:"state"`
	PreviousState alarmStateJSON     `json:"previousState"`
	Configuration alarmConfiguration `json:"configuration"`
}

type alarmStateJSON struct {
	Value      string `json:"value"`
	Reason     string `json:"reason"`
	ReasonData string `json:"reasonData,omitempty"`
	Timestamp  string `json:"timestamp,omitempty"`
}

type alarmConfiguration struct {
	Description string        `json:"description,omitempty"`
	Metrics     []alarmMetric `json:"metrics"`
}

type alarmMetric struct {
	ID         string     `json:"id"`
	MetricStat metricStat `json:"metricStat"`
	ReturnData bool       `json:"returnData"`
}

type metricStat struct {
	Metric struct {
		Namespace  string            `json:"namespace"`
		Name       string            `json:"name"`
		Dimensions map[string]string `json:"dimensions"`
	} `json:"metric"`
	Period int    `json:"period"`
	Stat   string `json:"stat"`
}

type reasonData struct {
	Version          string    `json:"version"`
	QueryDate        string    `json:"queryDate"`
	StartDate        string    `json:"startDate"`
	Statistic        string    `json:"statistic"`
	Period           int       `json:"period"`
	RecentDatapoints []float64 `json:"recentDatapoints"`
	Threshold        float64   `json:"threshold"`
}

// cloudWatchTime is the timestamp form of alarm states.
const cloudWatchTime = "2006-01-02T15:04:05.000-0700"

func alarmARN(name string) string {
	return "arn:aws:cloudwatch:" + region + ":" + account + ":alarm:" + name
}

// alarmEvent encodes w's latest state change as EventBridge delivers it.
func (b *bus) alarmEvent(w *watched) ([]byte, error) {
	at := w.since.UTC()
	rd := reasonData{
		Version: "1.0", QueryDate: at.Format(cloudWatchTime),
		Statistic: w.spec.Statistic, Period: int(w.spec.Period / time.Second),
		Threshold: w.Threshold, RecentDatapoints: []float64{},
	}
	var shown []string
	for _, d := range w.recent {
		if d.Missing {
			continue
		}
		if rd.StartDate == "" {
			rd.StartDate = d.Time.UTC().Format(cloudWatchTime)
		}
		rd.RecentDatapoints = append(rd.RecentDatapoints, d.Value)
		shown = append(shown, fmt.Sprintf("%g (%s)", d.Value, d.Time.UTC().Format("02/01/06 15:04:05")))
	}
	rdJSON, err := json.Marshal(rd)
	if err != nil {
		return nil, fmt.Errorf("encoding reason data of %s: %w", w.Name, err)
	}
	verb := "greater than"
	if w.Comparison == LessThanThreshold {
		verb = "less than"
	}
	not := ""
	if w.state != event.AlarmStateAlarm {
		not = "not "
	}
	reason := fmt.Sprintf("Threshold Crossed: %d out of the last %d datapoints [%s] %s%s the threshold (%g) (minimum %d datapoints for %s -> %s transition).",
		len(shown), w.EvaluationPeriods, strings.Join(shown, ", "), not, verb, w.Threshold, w.DatapointsToAlarm, w.prev, w.state)

	var d alarmDetail
	d.AlarmName = w.Name
	d.State = alarmStateJSON{Value: w.state, Reason: reason, ReasonData: string(rdJSON), Timestamp: at.Format(cloudWatchTime)}
	d.PreviousState = alarmStateJSON{Value: w.prev, Reason: "previous state", Timestamp: formatOptional(w.prevSince)}
	var m alarmMetric
	m.ID = "m1"
	m.ReturnData = true
	m.MetricStat.Metric.Namespace = w.spec.Namespace
	m.MetricStat.Metric.Name = w.spec.Name
	m.MetricStat.Metric.Dimensions = w.spec.Dimensions
	if m.MetricStat.Metric.Dimensions == nil {
		m.MetricStat.Metric.Dimensions = map[string]string{}
	}
	m.MetricStat.Period = int(w.spec.Period / time.Second)
	m.MetricStat.Stat = w.spec.Statistic
	d.Configuration.Metrics = []alarmMetric{m}
	return b.encode(event.DetailTypeAlarmStateChange, event.SourceCloudWatch, at, []string{alarmARN(w.Name)}, d)
}

func formatOptional(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(cloudWatchTime)
}

// tickEvent encodes what a schedule rule sends.
func (b *bus) tickEvent(at time.Time) ([]byte, error) {
	return b.encode(event.DetailTypeScheduled, event.SourceEvents, at, []string{"arn:aws:events:" + region + ":" + account + ":rule/stampkit-scaler-tick"}, struct{}{})
}

func (b *bus) encode(detailType, source string, at time.Time, resources []string, detail any) ([]byte, error) {
	raw, err := json.Marshal(envelope{
		Version: "0", ID: b.nextID(), DetailType: detailType, Source: source,
		Account: account, Time: at.UTC().Format(time.RFC3339), Region: region,
		Resources: resources, Detail: detail,
	})
	if err != nil {
		return nil, fmt.Errorf("encoding %s event: %w", detailType, err)
	}
	return raw, nil
}
