package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/stampkit/stampkit/shared/config"
	"github.com/stampkit/stampkit/shared/event"
)

// generateSynopsis is the usage of "events generate".
const generateSynopsis = "stampkit events generate KIND [-id uuid] [-time t] [flags]"

// eventKind is one kind of event "events generate" writes: the flags a
// user varies, and how they turn the kind's base event into the one
// wanted.
type eventKind struct {
	name string
	// about is the one line "events generate -h" lists the kind with.
	about string
	// flags defines the kind's flags on fs and returns what applies them:
	// it checks their values (a fault is a usage error) and returns the
	// base event, decoded, with them set.
	flags func(fs *flag.FlagSet) func(at time.Time) (doc, error)
	// ownID is set for stampkit's own events, whose builder derives the id
	// from what the event says, as the command that sends it does.
	ownID bool
}

// doc is an event being generated: its JSON decoded with numbers kept as
// written, so that what is not set stays as the sample has it.
type doc map[string]any

// eventKinds are the kinds "events generate" writes, one for each event
// the functions accept.
var eventKinds = []eventKind{
	{name: "alarm", about: "CloudWatch Alarm State Change, through EventBridge", flags: alarmFlags},
	{name: "lifecycle-launch", about: "EC2 Instance-launch Lifecycle Action", flags: lifecycleFlags(true)},
	{name: "lifecycle-terminate", about: "EC2 Instance-terminate Lifecycle Action", flags: lifecycleFlags(false)},
	{name: "schedule", about: "the Scheduled Event of the one-minute schedule rule", flags: scheduleFlags},
	{name: "ami-available", about: "EC2 AMI State Change (available or failed)", flags: amiFlags},
	{name: "image-builder", about: "EC2 Image Builder Image State Change", flags: imageBuilderFlags},
	{name: "image-ready", about: "stampkit's Image Ready, as \"stampkit image ready\" sends it", flags: imageReadyFlags, ownID: true},
	{name: "rollout-command", about: "stampkit's Rollout Command, as \"stampkit rollout\" sends it", flags: rolloutCommandFlags, ownID: true},
	{name: "refresh", about: "EC2 Auto Scaling Instance Refresh Started, Succeeded, …", flags: refreshFlags},
}

// generate is "events generate KIND [flags]": it writes an event of KIND
// to stdout, the real sample of that kind with the fields the flags set,
// ready for "stampkit invoke" or "aws lambda invoke".
func generate(args []string, stdout, stderr io.Writer, now func() time.Time) error {
	if len(args) == 0 {
		return fmt.Errorf("events generate needs a kind: %s: %w", kindNames(), errUsage)
	}
	if isHelp(args[0]) {
		fmt.Fprintf(stderr, "usage: %s\n\nkinds:\n", generateSynopsis)
		for _, k := range eventKinds {
			fmt.Fprintf(stderr, "  %-20s %s\n", k.name, k.about)
		}
		fmt.Fprintf(stderr, "\n\"stampkit events generate KIND -h\" lists a kind's flags.\n")
		return errHelp
	}
	i := slices.IndexFunc(eventKinds, func(k eventKind) bool { return k.name == args[0] })
	if i < 0 {
		return fmt.Errorf("events generate: unknown kind %q; the kinds are %s: %w", args[0], kindNames(), errUsage)
	}
	k := eventKinds[i]
	fs := newFlagSet("events generate "+k.name, strings.Replace(generateSynopsis, "KIND", k.name, 1), stderr)
	id := fs.String("id", "", "the event id (default a random UUID; the package's own id for image-ready and rollout-command)")
	at := fs.String("time", "", "when the event happened, RFC 3339 (default now, to the second)")
	apply := k.flags(fs)
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	if err := noArgs(fs); err != nil {
		return err
	}
	when := now().UTC().Truncate(time.Second)
	if *at != "" {
		t, err := time.Parse(time.RFC3339, *at)
		if err != nil {
			return fmt.Errorf("events generate %s: -time %q is not an RFC 3339 time (2006-01-02T15:04:05Z): %w", k.name, *at, errUsage)
		}
		when = t.UTC()
	}
	ev, err := apply(when)
	if err != nil {
		return fmt.Errorf("events generate %s: %w", k.name, err)
	}
	ev["time"] = when.Format(time.RFC3339)
	switch {
	case *id != "":
		ev["id"] = *id
	case !k.ownID:
		ev["id"] = uuid.NewString()
	}
	var body bytes.Buffer
	enc := json.NewEncoder(&body)
	enc.SetEscapeHTML(false) // the alarm's reason says "OK -> ALARM"
	enc.SetIndent("", "  ")
	if err := enc.Encode(ev); err != nil {
		return fmt.Errorf("encoding the %s event: %w", k.name, err)
	}
	// Decoding it back is the check that the functions accept it.
	if _, err := event.Decode(body.Bytes()); err != nil {
		return fmt.Errorf("generated %s event does not decode: %w", k.name, err)
	}
	_, err = stdout.Write(body.Bytes())
	return err
}

// kindNames lists the kinds for an error message.
func kindNames() string {
	names := make([]string, len(eventKinds))
	for i, k := range eventKinds {
		names[i] = k.name
	}
	return strings.Join(names, ", ")
}

// sample returns the real sample event name, decoded.
func sample(name string) (doc, error) {
	samples, err := event.Samples()
	if err != nil {
		return nil, err
	}
	raw, ok := samples[name]
	if !ok {
		return nil, fmt.Errorf("no sample event %q", name)
	}
	return decodeDoc(raw)
}

// decodeDoc decodes an event's JSON, keeping numbers as written.
func decodeDoc(raw []byte) (doc, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var d doc
	if err := dec.Decode(&d); err != nil {
		return nil, fmt.Errorf("reading an event: %w", err)
	}
	return d, nil
}

// object returns the JSON object at the path of keys in d, or an error if
// the sample has no such object.
func (d doc) object(keys ...string) (map[string]any, error) {
	m := map[string]any(d)
	for _, k := range keys {
		next, ok := m[k].(map[string]any)
		if !ok {
			return nil, fmt.Errorf("the sample event has no object %s", strings.Join(keys, "."))
		}
		m = next
	}
	return m, nil
}

// sampleDetail returns the real sample event name, decoded, and its
// detail object.
func sampleDetail(name string) (doc, map[string]any, error) {
	ev, err := sample(name)
	if err != nil {
		return nil, nil, err
	}
	d, err := ev.detail()
	if err != nil {
		return nil, nil, err
	}
	return ev, d, nil
}

// detail returns the event's detail object.
func (d doc) detail() (map[string]any, error) { return d.object("detail") }

// str returns d's string field key, or "".
func (d doc) str(key string) string {
	s, _ := d[key].(string)
	return s
}

// oneOf checks that the value of flag is one of allowed.
func oneOf(flag, value string, allowed ...string) error {
	if !slices.Contains(allowed, value) {
		return fmt.Errorf("-%s %q is not %s: %w", flag, value, orList(allowed), errUsage)
	}
	return nil
}

// orList joins words as "a, b or c".
func orList(words []string) string {
	if len(words) < 2 {
		return strings.Join(words, "")
	}
	return strings.Join(words[:len(words)-1], ", ") + " or " + words[len(words)-1]
}

// prefixed checks that the value of flag starts with prefix; what names
// what it should be ("an AMI id").
func prefixed(flag, value, prefix, what string) error {
	if !strings.HasPrefix(value, prefix) || len(value) == len(prefix) {
		return fmt.Errorf("-%s %q is not %s (%s…): %w", flag, value, what, prefix, errUsage)
	}
	return nil
}

// nonEmpty checks that flag has a value.
func nonEmpty(flag, value string) error {
	if value == "" {
		return fmt.Errorf("-%s is empty: %w", flag, errUsage)
	}
	return nil
}

// groupARN is the ARN of Auto Scaling group name in ev's region and
// account; the samples leave it a placeholder.
func groupARN(ev doc, name string) string {
	return fmt.Sprintf("arn:aws:autoscaling:%s:%s:autoScalingGroup:%s:autoScalingGroupName/%s",
		ev.str("region"), ev.str("account"), uuid.NewString(), name)
}

// alarmTimestamp is the form CloudWatch writes alarm state times in.
const alarmTimestamp = "2006-01-02T15:04:05.000-0700"

var alarmStates = []string{event.AlarmStateAlarm, event.AlarmStateOK, event.AlarmStateInsufficientData}

func alarmFlags(fs *flag.FlagSet) func(time.Time) (doc, error) {
	name := fs.String("alarm", "web-asg-cpu-high", "the alarm's name")
	state := fs.String("state", event.AlarmStateAlarm, "the state the alarm entered: "+orList(alarmStates))
	previous := fs.String("previous", event.AlarmStateOK, "the state it left: "+orList(alarmStates))
	value := fs.Float64("value", 99.5, "the datapoint that changed the state")
	threshold := fs.Float64("threshold", 50, "the alarm's threshold")
	return func(at time.Time) (doc, error) {
		if err := firstError(
			nonEmpty("alarm", *name),
			oneOf("state", *state, alarmStates...),
			oneOf("previous", *previous, alarmStates...),
		); err != nil {
			return nil, err
		}
		if *state == *previous {
			return nil, fmt.Errorf("-state and -previous are both %s; an alarm changes state: %w", *state, errUsage)
		}
		ev, d, err := sampleDetail("cloudwatch-alarm-state-change-single-metric")
		if err != nil {
			return nil, err
		}
		ev["resources"] = []string{fmt.Sprintf("arn:aws:cloudwatch:%s:%s:alarm:%s", ev.str("region"), ev.str("account"), *name)}
		d["alarmName"] = *name
		cur, err := ev.object("detail", "state")
		if err != nil {
			return nil, err
		}
		prev, err := ev.object("detail", "previousState")
		if err != nil {
			return nil, err
		}
		period := 300 * time.Second
		if err := setAlarmState(cur, *state, *previous, *value, *threshold, at, period); err != nil {
			return nil, err
		}
		// The state it left: entered one period before, its datapoint on the
		// other side of the threshold.
		if err := setAlarmState(prev, *previous, *state, 2**threshold-*value, *threshold, at.Add(-period), period); err != nil {
			return nil, err
		}
		return ev, nil
	}
}

// setAlarmState sets one of an alarm's states (the sample's "state" or
// "previousState"): its value, when it was entered, and the reason and
// reason data that say which datapoint crossed the threshold.
func setAlarmState(s map[string]any, value, from string, datapoint, threshold float64, at time.Time, period time.Duration) error {
	s["value"] = value
	s["timestamp"] = at.Format(alarmTimestamp)
	data, ok := s["reasonData"].(string)
	if !ok {
		return fmt.Errorf("the sample alarm state has no reasonData")
	}
	rd, err := decodeDoc([]byte(data))
	if err != nil {
		return err
	}
	start := at.Add(-period).Truncate(time.Minute)
	rd["queryDate"] = at.Format(alarmTimestamp)
	rd["startDate"] = start.Format(alarmTimestamp)
	rd["period"] = int(period.Seconds())
	rd["recentDatapoints"] = []float64{datapoint}
	rd["threshold"] = threshold
	if value == event.AlarmStateInsufficientData {
		rd["recentDatapoints"] = []float64{}
	}
	b, err := json.Marshal(rd)
	if err != nil {
		return fmt.Errorf("encoding the alarm's reason data: %w", err)
	}
	s["reasonData"] = string(b)
	if value == event.AlarmStateInsufficientData {
		s["reason"] = "Insufficient Data: 1 datapoint was unknown."
		return nil
	}
	cmp := "was greater than"
	if value != event.AlarmStateAlarm {
		cmp = "was not greater than"
	}
	s["reason"] = fmt.Sprintf("Threshold Crossed: 1 out of the last 1 datapoints [%s (%s)] %s the threshold (%s) (minimum 1 datapoint for %s -> %s transition).",
		strconv.FormatFloat(datapoint, 'f', -1, 64), start.Format("02/01/06 15:04:05"), cmp,
		strconv.FormatFloat(threshold, 'f', 1, 64), from, value)
	return nil
}

var places = []string{event.PlaceEC2, event.PlaceAutoScalingGroup, event.PlaceWarmPool}

func lifecycleFlags(launch bool) func(fs *flag.FlagSet) func(time.Time) (doc, error) {
	sampleName, hookName, origin, destination := "autoscaling-launch-lifecycle-action", "stampkit-launch", event.PlaceEC2, event.PlaceAutoScalingGroup
	if !launch {
		sampleName, hookName, origin, destination = "autoscaling-terminate-lifecycle-action", "stampkit-terminate", event.PlaceAutoScalingGroup, event.PlaceEC2
	}
	return func(fs *flag.FlagSet) func(time.Time) (doc, error) {
		group := fs.String("group", "web-asg", "the Auto Scaling group")
		hook := fs.String("hook", hookName, "the lifecycle hook")
		instance := fs.String("instance", "i-0123456789abcdef0", "the instance held in the hook's wait state")
		token := fs.String("token", "", "the lifecycle action token (default a random UUID)")
		from := fs.String("origin", origin, "where the instance comes from: "+orList(places))
		to := fs.String("destination", destination, "where it goes: "+orList(places))
		return func(time.Time) (doc, error) {
			if err := firstError(
				nonEmpty("group", *group),
				nonEmpty("hook", *hook),
				prefixed("instance", *instance, "i-", "an instance id"),
				oneOf("origin", *from, places...),
				oneOf("destination", *to, places...),
			); err != nil {
				return nil, err
			}
			ev, d, err := sampleDetail(sampleName)
			if err != nil {
				return nil, err
			}
			if *token == "" {
				*token = uuid.NewString()
			}
			d["AutoScalingGroupName"] = *group
			d["LifecycleHookName"] = *hook
			d["EC2InstanceId"] = *instance
			d["LifecycleActionToken"] = *token
			d["Origin"] = *from
			d["Destination"] = *to
			ev["resources"] = []string{groupARN(ev, *group)}
			return ev, nil
		}
	}
}

func scheduleFlags(*flag.FlagSet) func(time.Time) (doc, error) {
	return func(time.Time) (doc, error) { return sample("eventbridge-scheduled-event") }
}

var amiStates = []string{event.AMIStateAvailable, event.AMIStateFailed}

func amiFlags(fs *flag.FlagSet) func(time.Time) (doc, error) {
	ami := fs.String("ami", "ami-0abcdef1234567890", "the AMI")
	state := fs.String("state", event.AMIStateAvailable, "the state it entered: "+orList(amiStates))
	return func(time.Time) (doc, error) {
		if err := firstError(
			prefixed("ami", *ami, "ami-", "an AMI id"),
			oneOf("state", *state, amiStates...),
		); err != nil {
			return nil, err
		}
		ev, d, err := sampleDetail("ec2-ami-state-change-" + *state)
		if err != nil {
			return nil, err
		}
		d["ImageId"] = *ami
		ev["resources"] = []string{fmt.Sprintf("arn:aws:ec2:%s::image/%s", ev.str("region"), *ami)}
		return ev, nil
	}
}

var imageStatuses = []string{event.ImageStatusAvailable, event.ImageStatusFailed}

func imageBuilderFlags(fs *flag.FlagSet) func(time.Time) (doc, error) {
	image := fs.String("image", "arn:aws:imagebuilder:us-west-2:111122223333:image/web/1.0.0/1",
		"the Image Builder image's ARN (the event carries no AMI id; the function looks it up)")
	status := fs.String("status", event.ImageStatusAvailable, "the status it entered: "+orList(imageStatuses))
	reason := fs.String("reason", "", "why, for a FAILED image")
	return func(time.Time) (doc, error) {
		if err := oneOf("status", *status, imageStatuses...); err != nil {
			return nil, err
		}
		if err := prefixed("image", *image, "arn:", "an Image Builder image ARN"); err != nil {
			return nil, err
		}
		if !strings.Contains(*image, ":image/") {
			return nil, fmt.Errorf("-image %q is not an Image Builder image ARN (arn:aws:imagebuilder:REGION:ACCOUNT:image/NAME/VERSION/BUILD): %w", *image, errUsage)
		}
		ev, err := sample("imagebuilder-image-state-change")
		if err != nil {
			return nil, err
		}
		s, err := ev.object("detail", "state")
		if err != nil {
			return nil, err
		}
		s["status"] = *status
		if *reason != "" {
			s["reason"] = *reason
		}
		ev["resources"] = []string{*image}
		return ev, nil
	}
}

func imageReadyFlags(fs *flag.FlagSet) func(time.Time) (doc, error) {
	ami := fs.String("ami", "ami-0abcdef1234567890", "the AMI that is ready")
	return func(at time.Time) (doc, error) {
		if err := prefixed("ami", *ami, "ami-", "an AMI id"); err != nil {
			return nil, err
		}
		body, err := event.ImageReadyBody(*ami, at)
		if err != nil {
			return nil, err
		}
		return decodeDoc(body)
	}
}

var commandActions = []string{event.CommandPause, event.CommandResume, event.CommandAbort, event.CommandPromote}

func rolloutCommandFlags(fs *flag.FlagSet) func(time.Time) (doc, error) {
	fleet := fs.String("fleet", "web", "the fleet whose rollout to control")
	action := fs.String("action", event.CommandPause, "what to do: "+orList(commandActions))
	reason := fs.String("reason", "", "why, for the rollout's log")
	return func(at time.Time) (doc, error) {
		if err := oneOf("action", *action, commandActions...); err != nil {
			return nil, err
		}
		if err := config.CheckFleetName(*fleet); err != nil {
			return nil, fmt.Errorf("-fleet %w: %w", err, errUsage)
		}
		body, err := event.CommandBody(event.Command{Fleet: *fleet, Action: *action, Reason: *reason}, at)
		if err != nil {
			return nil, err
		}
		return decodeDoc(body)
	}
}

// refreshStatuses are the -status values of "refresh": each names the
// sample autoscaling-instance-refresh-STATUS.
var refreshStatuses = []string{
	"started", "succeeded", "failed", "cancelled", "checkpoint-reached",
	"rollback-started", "rollback-succeeded", "rollback-failed",
}

func refreshFlags(fs *flag.FlagSet) func(time.Time) (doc, error) {
	group := fs.String("group", "web-asg", "the Auto Scaling group")
	status := fs.String("status", "started", "the refresh's progress: "+orList(refreshStatuses))
	refresh := fs.String("refresh", "", "the instance refresh id (default a random UUID)")
	return func(time.Time) (doc, error) {
		if err := firstError(nonEmpty("group", *group), oneOf("status", *status, refreshStatuses...)); err != nil {
			return nil, err
		}
		ev, d, err := sampleDetail("autoscaling-instance-refresh-" + *status)
		if err != nil {
			return nil, err
		}
		if *refresh == "" {
			*refresh = uuid.NewString()
		}
		d["AutoScalingGroupName"] = *group
		d["InstanceRefreshId"] = *refresh
		ev["resources"] = []string{groupARN(ev, *group)}
		return ev, nil
	}
}

// firstError returns the first non-nil error.
func firstError(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
