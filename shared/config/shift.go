package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/stampkit/stampkit/shared/clock"
	"github.com/stampkit/stampkit/shared/stampshift"
)

// EnvShiftFile names the JSON file (a Shift) the shift function reads its
// configuration from; a relative path is resolved against EnvTaskRoot, as
// EnvFleetsFile is.
const EnvShiftFile = "STAMPKIT_SHIFT_FILE"

// EnvShiftQueue names the SQS queue that carries the shift function's
// delayed wake-ups back to it.
const EnvShiftQueue = "STAMPKIT_SHIFT_QUEUE_URL"

// ShiftQueueFromEnv reads the shift function's wake-up queue URL.
func ShiftQueueFromEnv(getenv func(string) string) (string, error) {
	return queueURLFromEnv(getenv, EnvShiftQueue, "shift")
}

// Shift is the shift function's configuration: one weighted record whose
// weight it moves between stamps (stampshift), and the stamps behind it.
type Shift struct {
	// Record is the record's name, as Route 53 returns it: fully
	// qualified, with the trailing dot ("www.example.com.").
	Record string `json:"record"`
	// Type is the record's type; "A" when unset (an alias to an ALB).
	Type string `json:"type,omitempty"`
	// HostedZoneID is the hosted zone holding the record.
	HostedZoneID string `json:"hostedZoneId"`
	// TTL is how long resolvers may keep an answer: an alias record to an
	// ALB is answered with the ALB's TTL, 60 s ("Values specific for
	// weighted alias records", Route 53 Developer Guide). Each step waits
	// it out before its bake counts.
	TTL   clock.Duration `json:"ttl,omitempty"`
	Steps []int          `json:"steps,omitempty"`
	Bake  clock.Duration `json:"bake,omitempty"`
	// PollInterval and CapacityTimeout: stampshift.Policy.
	PollInterval    clock.Duration `json:"pollInterval,omitempty"`
	CapacityTimeout clock.Duration `json:"capacityTimeout,omitempty"`
	// Table is the function's DynamoDB table: its claims, leases and the
	// record's transition.
	Table  string       `json:"table"`
	Stamps []ShiftStamp `json:"stamps"`
}

// ShiftStamp is one stamp behind the record.
type ShiftStamp struct {
	// Name is the stamp's name and its weighted record's SetIdentifier.
	Name   string `json:"name"`
	Region string `json:"region"`
	// Fleet is the stamp's fleet that serves the record, Group its Auto
	// Scaling group.
	Fleet string `json:"fleet"`
	Group string `json:"group"`
	// WeightParameter is the SSM parameter, in Region, that holds the
	// stamp's live weight: the stamp's stack reads the record's weight from
	// it, so a deploy keeps a transition's weights. The function writes it
	// once Route 53 accepted each change.
	WeightParameter string `json:"weightParameter"`
	// HealthAlarms are the fleet's health alarms, in Region: one in ALARM
	// rolls a transition towards the stamp back.
	HealthAlarms []string `json:"healthAlarms,omitempty"`
	// StateTable is the stamp's scaler state table, where the function
	// raises the fleet's floor ahead of a step: the table's name, or,
	// starting with "/", the SSM parameter in Region that holds it (the
	// CDK's /stampkit/<stamp>/state-table: the table's name is
	// CloudFormation's), read on first use (shifter.StateTable).
	StateTable string `json:"stateTable"`
}

// ShiftFromEnv reads and validates the file EnvShiftFile names.
func ShiftFromEnv(getenv func(string) string) (Shift, error) {
	file := getenv(EnvShiftFile)
	if file == "" {
		return Shift{}, fmt.Errorf("%s: is not set; it names the shift configuration file", EnvShiftFile)
	}
	if root := getenv(EnvTaskRoot); root != "" && !filepath.IsAbs(file) {
		file = filepath.Join(root, file)
	}
	raw, err := os.ReadFile(file)
	if err != nil {
		return Shift{}, fmt.Errorf("%s: reading the shift configuration: %w", EnvShiftFile, err)
	}
	return DecodeShift(raw, file)
}

// DecodeShift decodes and validates a Shift; source names it in errors.
// Unknown fields are refused, as for fleets.
func DecodeShift(raw []byte, source string) (Shift, error) {
	var s Shift
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return Shift{}, fmt.Errorf("%s: not a shift configuration as this code knows it: %w", source, err)
	}
	if dec.More() {
		return Shift{}, fmt.Errorf("%s: more than one JSON value", source)
	}
	if err := s.Validate(); err != nil {
		return Shift{}, fmt.Errorf("%s: %w", source, err)
	}
	return s, nil
}

// RecordType is the record's type, "A" unless set.
func (s Shift) RecordType() string {
	if s.Type == "" {
		return "A"
	}
	return s.Type
}

// Policy is the transition policy the configuration declares.
func (s Shift) Policy() stampshift.Policy {
	return stampshift.Policy{
		Steps: s.Steps, TTL: s.TTL, Bake: s.Bake,
		PollInterval: s.PollInterval, CapacityTimeout: s.CapacityTimeout,
	}.WithDefaults()
}

// Stamp returns the stamp named name.
func (s Shift) Stamp(name string) (ShiftStamp, bool) {
	i := slices.IndexFunc(s.Stamps, func(st ShiftStamp) bool { return st.Name == name })
	if i < 0 {
		return ShiftStamp{}, false
	}
	return s.Stamps[i], true
}

// SameRecord reports whether name is the configured record, written with
// or without the trailing dot, in any case (DNS names are
// case-insensitive).
func (s Shift) SameRecord(name string) bool {
	return strings.EqualFold(strings.TrimSuffix(name, "."), strings.TrimSuffix(s.Record, "."))
}

// Validate reports every problem, each naming its key.
func (s Shift) Validate() error {
	var errs []error
	for _, f := range []struct{ key, v string }{{"record", s.Record}, {"hostedZoneId", s.HostedZoneID}, {"table", s.Table}} {
		if f.v == "" {
			errs = append(errs, fmt.Errorf("%s: is empty", f.key))
		}
	}
	errs = append(errs, s.Policy().Validate())
	if len(s.Stamps) < 2 {
		errs = append(errs, fmt.Errorf("stamps: %d given; a shift needs two or more", len(s.Stamps)))
	}
	seen := map[string]int{}
	for i, st := range s.Stamps {
		key := fmt.Sprintf("stamps[%d]", i)
		for _, f := range []struct{ key, v string }{{"name", st.Name}, {"region", st.Region}, {"fleet", st.Fleet},
			{"group", st.Group}, {"weightParameter", st.WeightParameter}, {"stateTable", st.StateTable}} {
			if f.v == "" {
				errs = append(errs, fmt.Errorf("%s.%s: is empty", key, f.key))
			}
		}
		if j, dup := seen[st.Name]; dup && st.Name != "" {
			errs = append(errs, fmt.Errorf("%s.name: %q is stamps[%d]'s too", key, st.Name, j))
		}
		seen[st.Name] = i
	}
	return errors.Join(errs...)
}
