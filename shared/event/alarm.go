package event

import (
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// Alarm state values.
const (
	AlarmStateOK               = "OK"
	AlarmStateAlarm            = "ALARM"
	AlarmStateInsufficientData = "INSUFFICIENT_DATA"
)

// AlarmStateChange is a CloudWatch alarm changing state, whether it came as
// an EventBridge "CloudWatch Alarm State Change", a direct Lambda alarm
// action or an SNS alarm notification.
type AlarmStateChange struct {
	AlarmName string
	AlarmARN  string
	// State is the state the alarm entered; PreviousState the one it left.
	// An SNS notification carries only the previous state's value.
	State, PreviousState AlarmState
	Description          string
	// AlarmRule is a composite alarm's rule; empty for metric alarms.
	AlarmRule string
	// Metrics are the metrics and expressions a metric alarm evaluates.
	Metrics []AlarmMetric
}

// AlarmState is one state of an alarm.
type AlarmState struct {
	// Value is AlarmStateOK, AlarmStateAlarm or AlarmStateInsufficientData.
	Value  string
	Reason string
	// ReasonData is the JSON document CloudWatch attaches to the reason
	// (datapoints, threshold), kept as text.
	ReasonData string
	Timestamp  time.Time
}

// AlarmMetric is one metric or expression an alarm evaluates.
type AlarmMetric struct {
	// ID is the metric's id within the alarm; empty for the single metric
	// of an SNS notification.
	ID         string
	Expression string
	Label      string
	Namespace  string
	MetricName string
	Dimensions map[string]string
	// Period is in seconds.
	Period     int
	Stat       string
	Unit       string
	ReturnData bool
}

// Key identifies the state change itself, whichever envelope delivered it:
// the alarm ARN and the time the alarm entered its state. Use it to claim
// the effects of one state change exactly once.
func (a *AlarmStateChange) Key() string {
	return a.AlarmARN + "@" + a.State.Timestamp.UTC().Format(time.RFC3339Nano)
}

// alarmData is the alarm part shared by the EventBridge detail and the
// direct Lambda action payload ("alarmData").
type alarmData struct {
	AlarmName     string          `json:"alarmName"`
	State         *alarmStateJSON `json:"state"`
	PreviousState *alarmStateJSON `json:"previousState"`
	Configuration struct {
		Description string       `json:"description"`
		AlarmRule   string       `json:"alarmRule"`
		Metrics     []metricJSON `json:"metrics"`
	} `json:"configuration"`
}

type alarmStateJSON struct {
	Value      string `json:"value"`
	Reason     string `json:"reason"`
	ReasonData string `json:"reasonData"`
	Timestamp  string `json:"timestamp"`
}

type metricJSON struct {
	ID         string `json:"id"`
	Expression string `json:"expression"`
	Label      string `json:"label"`
	ReturnData bool   `json:"returnData"`
	Period     int    `json:"period"`
	MetricStat *struct {
		Metric struct {
			Namespace  string            `json:"namespace"`
			Name       string            `json:"name"`
			Dimensions map[string]string `json:"dimensions"`
		} `json:"metric"`
		Period int    `json:"period"`
		Stat   string `json:"stat"`
		Unit   string `json:"unit"`
	} `json:"metricStat"`
}

// decodeAlarmDetail decodes the detail of "CloudWatch Alarm State Change".
func decodeAlarmDetail(env envelope) (any, error) {
	var d alarmData
	if err := unmarshal(env.Detail, &d, env.path("detail"), ""); err != nil {
		return nil, err
	}
	// The alarm ARN is only in resources.
	if len(env.Resources) == 0 || env.Resources[0] == "" {
		return nil, malformed(env.path("resources"), "missing the alarm ARN")
	}
	return d.change(env.Resources[0], env.path("detail"))
}

// change validates the alarm data found at path and converts it.
func (d alarmData) change(arn, path string) (*AlarmStateChange, error) {
	if err := need(d.AlarmName, join(path, "alarmName")); err != nil {
		return nil, err
	}
	if d.State == nil {
		return nil, malformed(join(path, "state"), "missing")
	}
	state, err := d.State.convert(join(path, "state"), true)
	if err != nil {
		return nil, err
	}
	var prev AlarmState
	if d.PreviousState != nil {
		if prev, err = d.PreviousState.convert(join(path, "previousState"), false); err != nil {
			return nil, err
		}
	}
	a := &AlarmStateChange{
		AlarmName:     d.AlarmName,
		AlarmARN:      arn,
		State:         state,
		PreviousState: prev,
		Description:   d.Configuration.Description,
		AlarmRule:     d.Configuration.AlarmRule,
	}
	for _, m := range d.Configuration.Metrics {
		am := AlarmMetric{ID: m.ID, Expression: m.Expression, Label: m.Label, Period: m.Period, ReturnData: m.ReturnData}
		if ms := m.MetricStat; ms != nil {
			am.Namespace = ms.Metric.Namespace
			am.MetricName = ms.Metric.Name
			am.Dimensions = ms.Metric.Dimensions
			am.Period = ms.Period
			am.Stat = ms.Stat
			am.Unit = ms.Unit
		}
		a.Metrics = append(a.Metrics, am)
	}
	return a, nil
}

// convert validates one alarm state. The entered state must say when; the
// previous state may omit its time.
func (s alarmStateJSON) convert(path string, current bool) (AlarmState, error) {
	if err := checkStateValue(s.Value, join(path, "value"), current); err != nil {
		return AlarmState{}, err
	}
	tsPath := join(path, "timestamp")
	if current {
		if err := need(s.Timestamp, tsPath); err != nil {
			return AlarmState{}, err
		}
	}
	ts, err := parseOptionalTime(s.Timestamp, tsPath)
	if err != nil {
		return AlarmState{}, err
	}
	return AlarmState{Value: s.Value, Reason: s.Reason, ReasonData: s.ReasonData, Timestamp: ts}, nil
}

// checkStateValue accepts the three alarm states; an empty value only where
// it is optional.
func checkStateValue(v, path string, required bool) error {
	switch v {
	case AlarmStateOK, AlarmStateAlarm, AlarmStateInsufficientData:
		return nil
	case "":
		if !required {
			return nil
		}
		return malformed(path, "missing")
	}
	return malformed(path, "unknown alarm state %q", v)
}

// alarmAction is the payload a CloudWatch alarm sends when its action
// invokes a Lambda function directly.
type alarmAction struct {
	Source    string    `json:"source"`
	AlarmARN  string    `json:"alarmArn"`
	AccountID string    `json:"accountId"`
	Time      string    `json:"time"`
	Region    string    `json:"region"`
	AlarmData alarmData `json:"alarmData"`
}

func decodeAlarmAction(raw []byte, prefix string) (Event, error) {
	var p alarmAction
	if err := unmarshal(raw, &p, prefix, ""); err != nil {
		return Event{}, err
	}
	if err := need(p.AlarmARN, join(prefix, "alarmArn")); err != nil {
		return Event{}, err
	}
	a, err := p.AlarmData.change(p.AlarmARN, join(prefix, "alarmData"))
	if err != nil {
		return Event{}, err
	}
	at, err := parseOptionalTime(p.Time, join(prefix, "time"))
	if err != nil {
		return Event{}, err
	}
	if at.IsZero() {
		at = a.State.Timestamp
	}
	source := p.Source
	if source == "" {
		source = SourceCloudWatch
	}
	region, account := p.Region, p.AccountID
	if region == "" && account == "" {
		region, account = arnParts(p.AlarmARN)
	}
	return Event{
		ID:         a.Key(),
		Source:     source,
		DetailType: DetailTypeAlarmStateChange,
		Time:       at,
		Region:     region,
		Account:    account,
		Resources:  []string{p.AlarmARN},
		Detail:     a,
	}, nil
}

// decodeAlarmSNS decodes the JSON message CloudWatch publishes to an SNS
// topic when an alarm changes state.
func decodeAlarmSNS(raw []byte, prefix string, c carrier) (Event, error) {
	var p events.CloudWatchAlarmSNSPayload
	if err := unmarshal(raw, &p, prefix, ""); err != nil {
		return Event{}, err
	}
	if err := firstErr(
		need(p.AlarmName, join(prefix, "AlarmName")),
		need(p.AlarmARN, join(prefix, "AlarmArn")),
		checkStateValue(p.NewStateValue, join(prefix, "NewStateValue"), true),
		checkStateValue(p.OldStateValue, join(prefix, "OldStateValue"), false),
		need(p.StateChangeTime, join(prefix, "StateChangeTime")),
	); err != nil {
		return Event{}, err
	}
	changed, err := parseTime(p.StateChangeTime, join(prefix, "StateChangeTime"))
	if err != nil {
		return Event{}, err
	}
	a := &AlarmStateChange{
		AlarmName:     p.AlarmName,
		AlarmARN:      p.AlarmARN,
		State:         AlarmState{Value: p.NewStateValue, Reason: p.NewStateReason, Timestamp: changed},
		PreviousState: AlarmState{Value: p.OldStateValue},
		Description:   p.AlarmDescription,
		Metrics:       snsMetrics(p.Trigger),
	}
	// The message's "Region" is a display name ("US East (N. Virginia)");
	// the ARN has the code.
	region, account := arnParts(p.AlarmARN)
	if region == "" {
		region = c.region
	}
	if account == "" {
		account = p.AWSAccountID
	}
	return Event{
		ID:         a.Key(),
		Source:     SourceCloudWatch,
		DetailType: DetailTypeAlarmStateChange,
		Time:       changed,
		Region:     region,
		Account:    account,
		Resources:  []string{p.AlarmARN},
		Detail:     a,
	}, nil
}

// snsMetrics converts an SNS alarm trigger: either one metric described
// inline or a list of metric data queries.
func snsMetrics(t events.CloudWatchAlarmTrigger) []AlarmMetric {
	if len(t.Metrics) == 0 {
		if t.MetricName == "" && t.Namespace == "" {
			return nil
		}
		return []AlarmMetric{{
			Namespace:  t.Namespace,
			MetricName: t.MetricName,
			Dimensions: snsDimensions(t.Dimensions),
			Period:     int(t.Period),
			Stat:       t.Statistic,
			Unit:       t.Unit,
			ReturnData: true,
		}}
	}
	out := make([]AlarmMetric, 0, len(t.Metrics))
	for _, q := range t.Metrics {
		period := q.MetricStat.Period
		if period == 0 {
			period = q.Period
		}
		out = append(out, AlarmMetric{
			ID:         q.ID,
			Expression: q.Expression,
			Label:      q.Label,
			Namespace:  q.MetricStat.Metric.Namespace,
			MetricName: q.MetricStat.Metric.MetricName,
			Dimensions: snsDimensions(q.MetricStat.Metric.Dimensions),
			Period:     int(period),
			Stat:       q.MetricStat.Stat,
			Unit:       q.MetricStat.Unit,
			ReturnData: q.ReturnData,
		})
	}
	return out
}

func snsDimensions(ds []events.CloudWatchDimension) map[string]string {
	if len(ds) == 0 {
		return nil
	}
	out := make(map[string]string, len(ds))
	for _, d := range ds {
		out[d.Name] = d.Value
	}
	return out
}
