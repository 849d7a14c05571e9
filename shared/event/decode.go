package event

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// Decode decodes one Lambda invocation payload into events. It accepts:
//   - an EventBridge event (including the "Scheduled Event" of a schedule
//     rule, decoded to *Tick);
//   - the payload a CloudWatch alarm sends when its action invokes a Lambda
//     function directly;
//   - an SNS batch ("Records" with "Sns"), whose messages may be alarm
//     notifications, Auto Scaling notifications or EventBridge events;
//   - an SQS batch ("Records" with "body") carrying the same messages, or
//     SNS notifications that wrap them.
//
// A batch yields one event per record and decodes all or nothing: the first
// bad record fails the call, and a batch with no records is malformed.
// Errors are a *MalformedError (errors.Is ErrMalformed) or wrap ErrUnknown.
func Decode(raw []byte) ([]Event, error) {
	obj, err := parseObject(raw, "payload")
	if err != nil {
		return nil, err
	}
	if recs, ok := obj["Records"]; ok {
		return decodeRecords(recs)
	}
	ev, err := decodeMessage(raw, obj, "", carrier{}, true)
	if errors.Is(err, errNoShape) {
		return nil, malformed("payload", "not an EventBridge event, alarm action, SNS or SQS batch")
	}
	if err != nil {
		return nil, err
	}
	return []Event{ev}, nil
}

// errNoShape marks a JSON object that matches none of the payloads Decode
// knows. At the top level that is malformed; inside a well-formed SNS or SQS
// record it is an unknown kind.
var errNoShape = errors.New("no known payload shape")

// carrier is what an SNS or SQS record tells about the message it carries,
// used when the message itself has no id or time.
type carrier struct {
	source string // "aws:sns" or "aws:sqs"
	id     string
	at     time.Time
	region string
}

// decodeRecords decodes an SNS or SQS batch.
func decodeRecords(raw json.RawMessage) ([]Event, error) {
	var recs []json.RawMessage
	if err := json.Unmarshal(raw, &recs); err != nil {
		return nil, malformed("Records", "want a JSON array")
	}
	if len(recs) == 0 {
		return nil, malformed("Records", "no records")
	}
	out := make([]Event, 0, len(recs))
	for i, rec := range recs {
		path := fmt.Sprintf("Records[%d]", i)
		ev, err := decodeRecord(rec, path)
		if err != nil {
			return nil, err
		}
		out = append(out, ev)
	}
	return out, nil
}

func decodeRecord(raw json.RawMessage, path string) (Event, error) {
	obj, err := parseObject(raw, path)
	if err != nil {
		return Event{}, err
	}
	if _, ok := obj["Sns"]; ok {
		return decodeSNSRecord(raw, path)
	}
	if _, ok := obj["body"]; ok {
		return decodeSQSRecord(raw, path)
	}
	// A record of another service (S3, DynamoDB, …): well-formed, not ours.
	var src struct {
		Upper string `json:"EventSource"`
		Lower string `json:"eventSource"`
	}
	_ = json.Unmarshal(raw, &src) // best effort, only names the source
	return Event{}, unknown(src.Upper+src.Lower, "")
}

func decodeSNSRecord(raw json.RawMessage, path string) (Event, error) {
	var rec events.SNSEventRecord
	// SNSEntity.Timestamp is the only field with its own unmarshaler.
	if err := unmarshal(raw, &rec, path, "Sns.Timestamp"); err != nil {
		return Event{}, err
	}
	msgPath := path + ".Sns.Message"
	if rec.SNS.Message == "" {
		return Event{}, malformed(msgPath, "missing")
	}
	c := carrier{source: "aws:sns", id: rec.SNS.MessageID, at: rec.SNS.Timestamp}
	c.region, _ = arnParts(rec.SNS.TopicArn)
	return decodeCarried([]byte(rec.SNS.Message), msgPath, c, true)
}

func decodeSQSRecord(raw json.RawMessage, path string) (Event, error) {
	var rec events.SQSMessage
	// Base64 message attributes are the only values with their own decoding.
	if err := unmarshal(raw, &rec, path, "messageAttributes"); err != nil {
		return Event{}, err
	}
	bodyPath := path + ".body"
	if rec.Body == "" {
		return Event{}, malformed(bodyPath, "missing")
	}
	c := carrier{source: "aws:sqs", id: rec.MessageId, region: rec.AWSRegion}
	if ms, err := strconv.ParseInt(rec.Attributes["SentTimestamp"], 10, 64); err == nil {
		c.at = time.UnixMilli(ms).UTC()
	}
	// An SQS queue subscribed to an SNS topic receives the SNS notification
	// as the body unless raw message delivery is on.
	return decodeCarried([]byte(rec.Body), bodyPath, c, true)
}

// decodeCarried decodes the message inside an SNS or SQS record.
func decodeCarried(raw []byte, path string, c carrier, snsWrapOK bool) (Event, error) {
	obj, err := parseObject(raw, path)
	if err != nil {
		return Event{}, err
	}
	ev, err := decodeMessage(raw, obj, path, c, snsWrapOK)
	if errors.Is(err, errNoShape) {
		return Event{}, unknown(c.source, "")
	}
	if err == nil && ev.Via == "" {
		// An SNS notification inside an SQS body names its innermost
		// carrier: either way the message came through one.
		ev.Via = c.source
	}
	return ev, err
}

// decodeMessage recognises a single message by the fields it carries.
func decodeMessage(raw []byte, obj map[string]json.RawMessage, path string, c carrier, snsWrapOK bool) (Event, error) {
	switch {
	case has(obj, "detail-type"):
		return decodeEventBridge(raw, path)
	case has(obj, "alarmData"):
		return decodeAlarmAction(raw, path)
	case has(obj, "AlarmName") && has(obj, "NewStateValue"):
		return decodeAlarmSNS(raw, path, c)
	case has(obj, "LifecycleActionToken") || (has(obj, "Event") && has(obj, "Service")):
		return decodeAutoScalingMessage(raw, path, c)
	case snsWrapOK && has(obj, "Message") && stringField(obj, "Type") == "Notification":
		return decodeSNSNotification(raw, path)
	}
	return Event{}, errNoShape
}

// decodeSNSNotification decodes an SNS notification delivered as an SQS
// message body (raw message delivery off).
func decodeSNSNotification(raw []byte, path string) (Event, error) {
	var n events.SNSEntity
	if err := unmarshal(raw, &n, path, "Timestamp"); err != nil {
		return Event{}, err
	}
	msgPath := join(path, "Message")
	if n.Message == "" {
		return Event{}, malformed(msgPath, "missing")
	}
	c := carrier{source: "aws:sns", id: n.MessageID, at: n.Timestamp}
	c.region, _ = arnParts(n.TopicArn)
	return decodeCarried([]byte(n.Message), msgPath, c, false)
}

// kind is a registry key.
type kind struct{ source, detailType string }

// envelope is an EventBridge event being decoded; prefix is its JSON path
// when it arrived inside another message.
type envelope struct {
	*events.EventBridgeEvent
	prefix string
}

// path returns the JSON path of a top-level envelope field.
func (e envelope) path(field string) string { return join(e.prefix, field) }

// detailPath returns the JSON path of a field inside detail.
func (e envelope) detailPath(field string) string { return join(e.prefix, join("detail", field)) }

// decodeFunc turns an envelope's detail into one of the Detail types.
type decodeFunc func(env envelope) (any, error)

// registry maps (source, detail-type) to the decoder of that detail. It is
// built once and never modified.
var registry = sync.OnceValue(func() map[kind]decodeFunc {
	return map[kind]decodeFunc{
		{SourceCloudWatch, DetailTypeAlarmStateChange}: decodeAlarmDetail,

		{SourceAutoScaling, DetailTypeLaunchLifecycleAction}:    decodeLifecycleDetail,
		{SourceAutoScaling, DetailTypeTerminateLifecycleAction}: decodeLifecycleDetail,

		{SourceAutoScaling, DetailTypeLaunchSuccessful}:      decodeActivityDetail,
		{SourceAutoScaling, DetailTypeLaunchUnsuccessful}:    decodeActivityDetail,
		{SourceAutoScaling, DetailTypeTerminateSuccessful}:   decodeActivityDetail,
		{SourceAutoScaling, DetailTypeTerminateUnsuccessful}: decodeActivityDetail,

		{SourceAutoScaling, DetailTypeRefreshStarted}:           decodeRefreshDetail,
		{SourceAutoScaling, DetailTypeRefreshSucceeded}:         decodeRefreshDetail,
		{SourceAutoScaling, DetailTypeRefreshFailed}:            decodeRefreshDetail,
		{SourceAutoScaling, DetailTypeRefreshCancelled}:         decodeRefreshDetail,
		{SourceAutoScaling, DetailTypeRefreshCheckpointReached}: decodeRefreshDetail,
		{SourceAutoScaling, DetailTypeRefreshRollbackStarted}:   decodeRefreshDetail,
		{SourceAutoScaling, DetailTypeRefreshRollbackSucceeded}: decodeRefreshDetail,
		{SourceAutoScaling, DetailTypeRefreshRollbackFailed}:    decodeRefreshDetail,

		{SourceImageBuilder, DetailTypeImageStateChange}: decodeImageDetail,
		{SourceEC2, DetailTypeAMIStateChange}:            decodeAMIDetail,

		{SourceCloudFormation, DetailTypeResourceStatusChange}: decodeResourceStatusDetail,

		{SourceEvents, DetailTypeScheduled}:    decodeScheduledDetail,
		{SourceStampkit, DetailTypeTick}:       decodeTickDetail,
		{SourceStampkit, DetailTypeCommand}:    decodeCommandDetail,
		{SourceStampkit, DetailTypeImageReady}: decodeImageReadyDetail,

		{SourceStampkit, DetailTypeShiftCommand}: decodeShiftCommandDetail,
	}
})

// decodeEventBridge validates an EventBridge envelope and decodes its detail
// through the registry.
func decodeEventBridge(raw []byte, prefix string) (Event, error) {
	var eb events.EventBridgeEvent
	// "time" is the only envelope field with its own unmarshaler.
	if err := unmarshal(raw, &eb, prefix, "time"); err != nil {
		return Event{}, err
	}
	env := envelope{EventBridgeEvent: &eb, prefix: prefix}
	switch {
	case eb.ID == "":
		return Event{}, malformed(env.path("id"), "missing")
	case eb.Source == "":
		return Event{}, malformed(env.path("source"), "missing")
	case eb.DetailType == "":
		return Event{}, malformed(env.path("detail-type"), "missing")
	case eb.Time.IsZero():
		return Event{}, malformed(env.path("time"), "missing")
	}
	if err := requireObject(eb.Detail, env.path("detail")); err != nil {
		return Event{}, err
	}
	dec, ok := registry()[kind{eb.Source, eb.DetailType}]
	if !ok {
		return Event{}, unknown(eb.Source, eb.DetailType)
	}
	detail, err := dec(env)
	if err != nil {
		return Event{}, err
	}
	return Event{
		ID:         eb.ID,
		Source:     eb.Source,
		DetailType: eb.DetailType,
		Time:       eb.Time,
		Region:     eb.Region,
		Account:    eb.AccountID,
		Resources:  eb.Resources,
		Detail:     detail,
	}, nil
}

// unknown reports a well-formed payload of a kind Decode does not handle.
func unknown(source, detailType string) error {
	return fmt.Errorf("source %q detail-type %q: %w", source, detailType, ErrUnknown)
}

// malformed builds a *MalformedError for field.
func malformed(field, format string, args ...any) error {
	return &MalformedError{Field: field, Err: fmt.Errorf(format, args...)}
}

// join appends a field to a JSON path.
func join(prefix, field string) string {
	switch {
	case prefix == "":
		return field
	case field == "":
		return prefix
	}
	return prefix + "." + field
}

// parseObject decodes raw as a JSON object, keeping its fields raw.
func parseObject(raw []byte, path string) (map[string]json.RawMessage, error) {
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) == 0 {
		return nil, malformed(path, "empty")
	}
	if !json.Valid(trimmed) {
		return nil, malformed(path, "not JSON")
	}
	if trimmed[0] != '{' {
		return nil, malformed(path, "want a JSON object, got %s", jsonKind(trimmed[0]))
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(trimmed, &obj); err != nil {
		return nil, malformed(path, "%v", err)
	}
	return obj, nil
}

// requireObject checks that raw is a JSON object (not absent, null or
// another type).
func requireObject(raw json.RawMessage, path string) error {
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) == 0 || bytes.Equal(trimmed, []byte("null")) {
		return malformed(path, "missing")
	}
	if trimmed[0] != '{' {
		return malformed(path, "want a JSON object, got %s", jsonKind(trimmed[0]))
	}
	return nil
}

// jsonKind names the JSON type a value starting with b has.
func jsonKind(b byte) string {
	switch b {
	case '[':
		return "array"
	case '"':
		return "string"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	case '{':
		return "object"
	}
	return "number"
}

// unmarshal decodes raw into v and turns a failure into a *MalformedError
// naming the field. encoding/json names the field of a type mismatch; the
// other failures come from a type's own unmarshaler, which the caller names
// (ownField) because it knows which field of v has one.
func unmarshal(raw []byte, v any, prefix, ownField string) error {
	err := json.Unmarshal(raw, v)
	if err == nil {
		return nil
	}
	field := join(prefix, ownField)
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &te):
		field, err = join(prefix, te.Field), fmt.Errorf("got JSON %s, want %s", te.Value, te.Type)
	case errors.As(err, &se):
		field = prefix
	}
	if field == "" {
		field = "payload"
	}
	return &MalformedError{Field: field, Err: err}
}

// has reports whether obj has field.
func has(obj map[string]json.RawMessage, field string) bool {
	_, ok := obj[field]
	return ok
}

// stringField returns obj[field] if it is a JSON string, else "".
func stringField(obj map[string]json.RawMessage, field string) string {
	var s string
	if err := json.Unmarshal(obj[field], &s); err != nil {
		return ""
	}
	return s
}

// need reports a missing required string field.
func need(value, path string) error {
	if value == "" {
		return malformed(path, "missing")
	}
	return nil
}

// firstErr returns the first non-nil error.
func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// layoutNoColonOffset is the timestamp form CloudWatch uses in alarm
// payloads ("2019-10-02T17:04:40.985+0000"): RFC 3339 but with no colon in
// the UTC offset.
const layoutNoColonOffset = "2006-01-02T15:04:05.999999999Z0700"

// parseTime parses the timestamp forms AWS emits in these payloads: RFC 3339
// with or without fractional seconds, and CloudWatch's colon-less offset.
func parseTime(s, path string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	t, err := time.Parse(layoutNoColonOffset, s)
	if err != nil {
		return time.Time{}, malformed(path, "timestamp %q is not RFC 3339", s)
	}
	return t, nil
}

// parseOptionalTime parses s when it is not empty.
func parseOptionalTime(s, path string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	return parseTime(s, path)
}

// arnParts returns the region and account of an ARN
// ("arn:partition:service:region:account:resource"), or empty strings.
func arnParts(arn string) (region, account string) {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" {
		return "", ""
	}
	return parts[3], parts[4]
}
