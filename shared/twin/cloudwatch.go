package twin

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/stampkit/stampkit/shared/scaling"
)

// Comparison is an alarm's comparison operator.
type Comparison string

// Comparisons the twin's alarms use.
const (
	GreaterThanThreshold Comparison = "GreaterThanThreshold"
	LessThanThreshold    Comparison = "LessThanThreshold"
)

// Datapoint is one period's value of a metric.
type Datapoint struct {
	// Time is the start of the period.
	Time  time.Time
	Value float64
	// Missing is set when no data arrived in the period.
	Missing bool
}

// How an alarm treats a period with no data (TreatMissingData).
const (
	// TreatMissing leaves the period out: the default.
	TreatMissing = "missing"
	// TreatNotBreaching counts the period as within the threshold, as the
	// stack's health alarms do for metrics the load balancer publishes
	// only when nonzero.
	TreatNotBreaching = "notBreaching"
)

// Alarm is a CloudWatch metric alarm: it looks at the newest
// EvaluationPeriods datapoints and is in ALARM when at least
// DatapointsToAlarm of them breach the threshold, in OK when so many do not
// breach that DatapointsToAlarm can no longer be reached, and in
// INSUFFICIENT_DATA while it has no datapoint at all. With missing data
// treated as missing (the default) and part of the range missing, neither
// outcome settled, it keeps its state; treated as not breaching, a missing
// datapoint counts as one within the threshold ("Configuring how CloudWatch
// alarms treat missing data", Amazon CloudWatch user guide). (CloudWatch
// widens the evaluation range when datapoints are missing; the twin's
// metrics miss data only before the first target is healthy, or where a
// metric is published only when nonzero.)
type Alarm struct {
	Name              string
	Comparison        Comparison
	Threshold         float64
	EvaluationPeriods int
	DatapointsToAlarm int
	// TreatMissingData is TreatMissing ("" too) or TreatNotBreaching.
	TreatMissingData string

	state  string
	since  time.Time
	recent []Datapoint
}

// NewAlarm returns an alarm in INSUFFICIENT_DATA, as a new CloudWatch alarm
// starts.
func NewAlarm(name string, c Comparison, threshold float64, evaluationPeriods, datapointsToAlarm int) *Alarm {
	return &Alarm{
		Name: name, Comparison: c, Threshold: threshold,
		EvaluationPeriods: evaluationPeriods, DatapointsToAlarm: datapointsToAlarm,
		state: scaling.StateInsufficientData,
	}
}

// State is the alarm's state.
func (a *Alarm) State() string { return a.state }

// Since is when the alarm entered its state (zero before its first change).
func (a *Alarm) Since() time.Time { return a.since }

// Recent returns the datapoints in the evaluation range, oldest first.
func (a *Alarm) Recent() []Datapoint { return append([]Datapoint(nil), a.recent...) }

// Breaches reports whether v is on the alarming side of the threshold.
func (a *Alarm) Breaches(v float64) bool {
	if a.Comparison == LessThanThreshold {
		return v < a.Threshold
	}
	return v > a.Threshold
}

// Evaluate adds the datapoint of the period that just closed, evaluates the
// alarm at now, and reports whether its state changed.
func (a *Alarm) Evaluate(dp Datapoint, now time.Time) bool {
	a.recent = append(a.recent, dp)
	if over := len(a.recent) - a.EvaluationPeriods; over > 0 {
		a.recent = append(a.recent[:0], a.recent[over:]...)
	}
	present, breaching := 0, 0
	for _, d := range a.recent {
		switch {
		case d.Missing && a.TreatMissingData == TreatNotBreaching:
			present++
		case d.Missing:
		case a.Breaches(d.Value):
			present++
			breaching++
		default:
			present++
		}
	}
	next := a.state
	switch {
	case present == 0:
		next = scaling.StateInsufficientData
	case breaching >= a.DatapointsToAlarm:
		next = scaling.StateAlarm
	case present-breaching > a.EvaluationPeriods-a.DatapointsToAlarm:
		next = scaling.StateOK
	}
	if next == a.state {
		return false
	}
	a.state, a.since = next, now
	return true
}

// newest is the newest present datapoint's value, or the threshold when
// there is none.
func (a *Alarm) newest() float64 {
	for i := len(a.recent) - 1; i >= 0; i-- {
		if !a.recent[i].Missing {
			return a.recent[i].Value
		}
	}
	return a.Threshold
}

// newestAt is the time of the newest present datapoint; zero when there
// is none.
func (a *Alarm) newestAt() time.Time {
	for i := len(a.recent) - 1; i >= 0; i-- {
		if !a.recent[i].Missing {
			return a.recent[i].Time
		}
	}
	return time.Time{}
}

// metricKind is a metric the twin can produce.
type metricKind int

const (
	// cpuAll is the group's average CPU over every running instance, as the
	// AutoScalingGroupName aggregate of AWS/EC2 CPUUtilization (or of the
	// CloudWatch agent's cpu_usage_active) reports it.
	cpuAll metricKind = iota
	// cpuWarm is the average CPU over instances past their warm-up, the
	// aggregate AWS's target tracking and step policies scale on.
	cpuWarm
	// requestsPerTarget is the load balancer's RequestCountPerTarget: the
	// requests routed in the period per healthy target. Unlike CPU it does
	// not saturate when the fleet is overloaded.
	requestsPerTarget
	// targetErrors is the load balancer's HTTPCode_Target_5XX_Count: the
	// requests targets answered with a 5XX (past their capacity) in the
	// period.
	targetErrors
	// elbErrors is the load balancer's HTTPCode_ELB_5XX_Count: the 5XX it
	// answered itself (a target refused the connection, or a target group
	// had no target to route to).
	elbErrors
	// unhealthyHosts is a target group's UnHealthyHostCount, its Maximum
	// over the period.
	unhealthyHosts
)

// MetricSpec names a metric as CloudWatch does.
type MetricSpec struct {
	Namespace  string
	Name       string
	Dimensions map[string]string
	Statistic  string
	Period     time.Duration
}

// kindOf maps a CloudWatch metric the twin knows to what it simulates.
func kindOf(m MetricSpec) (metricKind, error) {
	switch {
	case m.Name == "CPUUtilization" && m.Namespace == "AWS/EC2":
		// Detailed monitoring publishes EC2 metrics once a minute.
		if m.Period < time.Minute {
			return 0, fmt.Errorf("AWS/EC2 CPUUtilization has no data at a %v period (detailed monitoring is 1 minute; use the CloudWatch agent for high resolution)", m.Period)
		}
		return cpuAll, nil
	case m.Name == "cpu_usage_active" || m.Name == "CPUUtilization":
		return cpuAll, nil
	case m.Name == "RequestCountPerTarget":
		if m.Period < time.Minute {
			return 0, fmt.Errorf("RequestCountPerTarget has no data at a %v period (load balancer metrics are per minute)", m.Period)
		}
		if m.Statistic != "Sum" {
			return 0, fmt.Errorf("RequestCountPerTarget is meaningful with statistic Sum, not %s", m.Statistic)
		}
		return requestsPerTarget, nil
	case m.Name == "HTTPCode_Target_5XX_Count" || m.Name == "HTTPCode_ELB_5XX_Count":
		if m.Period < time.Minute || m.Statistic != "Sum" {
			return 0, fmt.Errorf("%s is a per-minute Sum, not %s over %v", m.Name, m.Statistic, m.Period)
		}
		if m.Name == "HTTPCode_ELB_5XX_Count" {
			return elbErrors, nil
		}
		return targetErrors, nil
	case m.Name == "UnHealthyHostCount":
		if m.Period < time.Minute || m.Statistic != "Maximum" || m.Dimensions["TargetGroup"] == "" {
			return 0, fmt.Errorf("UnHealthyHostCount is the per-minute Maximum of one target group, not %s over %v of %v", m.Statistic, m.Period, m.Dimensions)
		}
		return unhealthyHosts, nil
	}
	return 0, fmt.Errorf("the twin does not simulate metric %s/%s", m.Namespace, m.Name)
}

// stepMetrics is what one step contributes to the metrics.
type stepMetrics struct {
	cpuAll                  float64 // sum of the CPU of serving instances
	nAll                    int     // running instances reporting CPU
	cpuWarm                 float64
	nWarm                   int
	requests                int64
	targets                 int
	targetErrors, elbErrors int64
}

type metric struct {
	kind   metricKind
	period time.Duration
	// g is the group whose target group a per-target-group metric
	// describes.
	g          *fleet
	sum, count float64
	alarms     []*watched
}

// value is the metric's datapoint from what the period gathered: a Sum,
// a Maximum or an Average.
func (m *metric) value() float64 {
	switch m.kind {
	case requestsPerTarget, targetErrors, elbErrors, unhealthyHosts:
		return m.sum
	}
	return m.sum / m.count
}

// watched is an alarm on a simulated metric, with what its owner does when
// it is evaluated.
type watched struct {
	*Alarm
	spec   MetricSpec
	metric *metric
	// prev is the state (and its start) before the latest change, for the
	// state-change event.
	prev      string
	prevSince time.Time
	onEval    func(w *watched, changed bool)
}

type cloudWatch struct {
	s       *sim
	metrics []*metric
	alarms  map[string]*watched
	// warmup is how long after InService an instance's CPU joins cpuWarm.
	warmup time.Duration
	// history keeps the hourly load for predictive scaling; nil without.
	history *loadHistory
}

func newCloudWatch(s *sim) *cloudWatch { return &cloudWatch{s: s, alarms: map[string]*watched{}} }

// addAlarm creates an alarm on spec; onEval runs after every evaluation.
func (cw *cloudWatch) addAlarm(a *Alarm, spec MetricSpec, kind metricKind, onEval func(*watched, bool)) (*watched, error) {
	if _, dup := cw.alarms[a.Name]; dup {
		return nil, fmt.Errorf("alarm %s is declared twice", a.Name)
	}
	if spec.Period <= 0 || spec.Period%cw.s.cfg.Step != 0 {
		return nil, fmt.Errorf("alarm %s: period %v is not a multiple of the %v step", a.Name, spec.Period, cw.s.cfg.Step)
	}
	if (kind == cpuAll || kind == cpuWarm) && spec.Statistic != "Average" {
		return nil, fmt.Errorf("alarm %s: the twin simulates the Average of CPU metrics, not %s", a.Name, spec.Statistic)
	}
	var g *fleet
	if kind == unhealthyHosts {
		for _, have := range cw.s.groups {
			if strings.HasSuffix(have.tg, ":"+spec.Dimensions["TargetGroup"]) {
				g = have
			}
		}
		if g == nil {
			return nil, fmt.Errorf("alarm %s: no simulated target group %s", a.Name, spec.Dimensions["TargetGroup"])
		}
	}
	var m *metric
	for _, have := range cw.metrics {
		if have.kind == kind && have.period == spec.Period && have.g == g {
			m = have
		}
	}
	if m == nil {
		m = &metric{kind: kind, period: spec.Period, g: g}
		cw.metrics = append(cw.metrics, m)
	}
	w := &watched{Alarm: a, spec: spec, metric: m, prev: a.state, onEval: onEval}
	m.alarms = append(m.alarms, w)
	cw.alarms[a.Name] = w
	return w, nil
}

// observe adds one step to every metric. The CPU measurement noise is one
// draw per step whatever the metrics, so runs on one seed see the same
// noise.
func (cw *cloudWatch) observe(sm stepMetrics) {
	noise := cw.s.cfg.CPUNoise * cw.s.noiseRNG.NormFloat64()
	avg := func(sum float64, n int) float64 { return min(max(sum/float64(n)+noise, 0), 100) }
	if cw.history != nil {
		cw.history.add(cw.s.now, sm)
	}
	for _, m := range cw.metrics {
		switch m.kind {
		case cpuAll:
			if sm.nAll > 0 {
				m.sum += avg(sm.cpuAll, sm.nAll) * float64(sm.nAll)
				m.count += float64(sm.nAll)
			}
		case cpuWarm:
			if sm.nWarm > 0 {
				m.sum += avg(sm.cpuWarm, sm.nWarm) * float64(sm.nWarm)
				m.count += float64(sm.nWarm)
			}
		case requestsPerTarget:
			if sm.targets > 0 {
				m.sum += float64(sm.requests) / float64(sm.targets)
				m.count++
			}
		case targetErrors, elbErrors:
			// The load balancer publishes its 5XX counts only for a
			// period with a nonzero value ("CloudWatch metrics for your
			// Application Load Balancer": reporting criteria); a period
			// without errors has no datapoint.
			n := sm.targetErrors
			if m.kind == elbErrors {
				n = sm.elbErrors
			}
			if n > 0 {
				m.sum += float64(n)
				m.count++
			}
		case unhealthyHosts:
			// Published every minute for a target group with targets;
			// an emptied group's alarm reads missing data.
			if len(m.g.registered) > 0 {
				m.sum = max(m.sum, float64(m.g.unhealthy))
				m.count++
			}
		}
	}
}

// closePeriods closes the periods that end now and evaluates their alarms.
func (cw *cloudWatch) closePeriods() {
	now := cw.s.now
	if now == 0 {
		return
	}
	for _, m := range cw.metrics {
		if now%m.period != 0 {
			continue
		}
		dp := Datapoint{Time: cw.s.wall(now - m.period), Missing: m.count == 0}
		if !dp.Missing {
			dp.Value = m.value()
			// CloudWatch keeps datapoints to a few significant digits in
			// reason data; rounding here keeps events and logs readable.
			dp.Value = math.Round(dp.Value*1000) / 1000
		}
		m.sum, m.count = 0, 0
		for _, w := range m.alarms {
			state, since := w.state, w.since
			changed := w.Evaluate(dp, cw.s.Now())
			cw.s.res.Datapoints[w.Name] = append(cw.s.res.Datapoints[w.Name], dp)
			if changed {
				w.prev, w.prevSince = state, since
				cw.s.res.Alarms = append(cw.s.res.Alarms, AlarmChange{At: cw.s.Now(), Alarm: w.Name, From: state, To: w.state, Value: w.newest()})
			}
			if w.onEval != nil {
				w.onEval(w, changed)
			}
		}
	}
}

// alarmsPort serves the scaler's Alarms port: what DescribeAlarms and the
// alarm's newest datapoint say now.
type alarmsPort struct{ cw *cloudWatch }

func (p alarmsPort) Signals(ctx context.Context, names []string) ([]scaling.Signal, error) {
	return callValue(p.cw.s, ctx, svcCloudWatch, "DescribeAlarms", false, func() ([]scaling.Signal, error) {
		out := make([]scaling.Signal, 0, len(names))
		for _, name := range names {
			w, ok := p.cw.alarms[name]
			if !ok {
				continue
			}
			out = append(out, scaling.Signal{Alarm: name, State: w.state, Value: w.newest(), Threshold: w.Threshold, Since: w.since})
		}
		return out, nil
	})
}

// HealthAlarm is the name of the fleet's target 5XX alarm: the first of
// its health alarms, the rollouts' alarm specification (see
// attachHealthAlarms).
func HealthAlarm(cfg Config) string { return cfg.Group + "-5xx" }

// ELB5xxAlarm is the name of the fleet's alarm on the 5XX the load
// balancer answers itself.
func ELB5xxAlarm(cfg Config) string { return cfg.Group + "-elb-5xx" }

// UnhealthyHostsAlarm is the name of the alarm on the unhealthy targets of
// group's target group.
func UnhealthyHostsAlarm(group string) string { return group + "-unhealthy-hosts" }

// HealthAlarms names the fleet's health alarms: target 5XX, load balancer
// 5XX, and unhealthy hosts of the configured group's target group and,
// with blueGreen, of its peer's.
func HealthAlarms(cfg Config, blueGreen bool) []string {
	out := []string{HealthAlarm(cfg), ELB5xxAlarm(cfg), UnhealthyHostsAlarm(cfg.Group)}
	if blueGreen {
		out = append(out, UnhealthyHostsAlarm(PeerGroup(cfg)))
	}
	return out
}

// HealthAlarmThreshold is the failed requests a minute above which a 5XX
// alarm's datapoint breaches; 2 of 2 breaching minutes fire it.
const HealthAlarmThreshold = 300

// loadBalancer is the LoadBalancer dimension of the twin's load balancer.
const loadBalancer = "app/web-alb/50dc6c495c0c9188"

// LoadBalancerDimension and TargetGroupDimension are the LoadBalancer and
// TargetGroup metric dimensions of the twin's load balancer and of the
// configured group's target group: what a cdk.json fleet's
// ${loadBalancer} and ${targetGroup} stand for in the twin
// (stampconfig.Config.BindFleet).
const (
	LoadBalancerDimension = loadBalancer
	TargetGroupDimension  = "targetgroup/web/73e2d6bc24d8a067"
)

// attachHealthAlarms creates the fleet's health alarms, as the stack
// declares them for the rollouts to watch, each treating missing data as
// not breaching:
//
//   - the target 5XX count of the load balancer, above
//     HealthAlarmThreshold a minute for 2 of 2 minutes;
//   - the load balancer's own 5XX count (HTTPCode_ELB_5XX_Count: 502 from
//     a target that refuses connections, 503 from a target group with
//     nothing to route to), the same way. The target 5XX alarm does not
//     see these: "CloudWatch metrics for your Application Load Balancer"
//     counts them apart;
//   - per target group, the unhealthy targets (UnHealthyHostCount,
//     Maximum), at least one for 2 of 2 minutes.
//
// The load balancer alarms watch the whole listener, both groups of a
// blue/green fleet; the rollout handler reads them through its Alarms
// port, and the instance refresh watches them for auto-rollback.
func (s *sim) attachHealthAlarms() error {
	lb := map[string]string{"LoadBalancer": loadBalancer}
	type alarmOn struct {
		a    *Alarm
		spec MetricSpec
	}
	alarms := []alarmOn{
		{NewAlarm(HealthAlarm(s.cfg), GreaterThanThreshold, HealthAlarmThreshold, 2, 2),
			MetricSpec{Namespace: "AWS/ApplicationELB", Name: "HTTPCode_Target_5XX_Count", Dimensions: lb, Statistic: "Sum", Period: time.Minute}},
		{NewAlarm(ELB5xxAlarm(s.cfg), GreaterThanThreshold, HealthAlarmThreshold, 2, 2),
			MetricSpec{Namespace: "AWS/ApplicationELB", Name: "HTTPCode_ELB_5XX_Count", Dimensions: lb, Statistic: "Sum", Period: time.Minute}},
	}
	for _, g := range s.groups {
		tg := g.tg[strings.LastIndex(g.tg, ":")+1:]
		alarms = append(alarms, alarmOn{NewAlarm(UnhealthyHostsAlarm(g.name), GreaterThanThreshold, 0, 2, 2),
			MetricSpec{Namespace: "AWS/ApplicationELB", Name: "UnHealthyHostCount", Dimensions: map[string]string{"LoadBalancer": loadBalancer, "TargetGroup": tg}, Statistic: "Maximum", Period: time.Minute}})
	}
	var errs []error
	for _, h := range alarms {
		h.a.TreatMissingData = TreatNotBreaching
		kind, err := kindOf(h.spec)
		if err == nil {
			_, err = s.cw.addAlarm(h.a, h.spec, kind, nil)
		}
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
