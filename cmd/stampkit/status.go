package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/stampkit/stampkit/shared/asg"
	"github.com/stampkit/stampkit/shared/awsclient"
	"github.com/stampkit/stampkit/shared/config"
	"github.com/stampkit/stampkit/shared/dynamo"
	"github.com/stampkit/stampkit/shared/hooks"
	"github.com/stampkit/stampkit/shared/lifecycle"
	rolloutpkg "github.com/stampkit/stampkit/shared/rollout"
	"github.com/stampkit/stampkit/shared/scaler"
	"github.com/stampkit/stampkit/shared/scaling"
)

// scalerPrefix starts every fleet's scaler state key (scaler.StateKey).
var scalerPrefix = scaler.StateKey("")

// fleetStatus is one fleet as "status" shows it. Its JSON is the -json
// output's element: fields are added, never renamed.
type fleetStatus struct {
	// Fleet is "" for a group only pending lifecycle actions name.
	Fleet string `json:"fleet"`
	// Group is the group that serves the fleet; GroupFrom says where its
	// name came from: "flag" (-group), "rollout" (the rollout record) or
	// "lifecycle" (a pending action's group).
	Group     string       `json:"group,omitempty"`
	GroupFrom string       `json:"groupFrom,omitempty"`
	Capacity  *groupStatus `json:"capacity,omitempty"`
	// GroupError is why the group could not be described.
	GroupError string          `json:"groupError,omitempty"`
	Scaler     *scalerStatus   `json:"scaler,omitempty"`
	Rollout    *rolloutStatus  `json:"rollout,omitempty"`
	Gates      []lifecycleGate `json:"gates"`
}

// groupStatus is the group as DescribeAutoScalingGroups reports it.
type groupStatus struct {
	Desired   int `json:"desired"`
	InService int `json:"inService"`
	Min       int `json:"min"`
	Max       int `json:"max"`
	Protected int `json:"protected"`
}

// scalerStatus is the scaler's state record (scaling.State). The record
// keeps what decisions changed, not every decision: the last scale-out
// and scale-in, and each alarm's newest state applied.
type scalerStatus struct {
	Version      int64        `json:"version"`
	LastScaleOut time.Time    `json:"lastScaleOut,omitzero"`
	LastScaleIn  time.Time    `json:"lastScaleIn,omitzero"`
	OutFrom      int          `json:"outFrom,omitempty"`
	Alarms       []alarmState `json:"alarms"`
	// Floor is the forecast floor; FloorActive says FloorUntil is ahead.
	Floor       int       `json:"floor,omitempty"`
	FloorUntil  time.Time `json:"floorUntil,omitzero"`
	FloorActive bool      `json:"floorActive"`
}

// alarmState is one alarm's newest state a decision applied.
type alarmState struct {
	Alarm string    `json:"alarm"`
	State string    `json:"state,omitempty"`
	Since time.Time `json:"since"`
}

// rolloutStatus is the rollout record (rolloutpkg.State), current or last.
type rolloutStatus struct {
	ID       string              `json:"id,omitempty"`
	Strategy rolloutpkg.Strategy `json:"strategy,omitempty"`
	Phase    rolloutpkg.Phase    `json:"phase,omitempty"`
	Active   bool                `json:"active"`
	Outcome  rolloutpkg.Outcome  `json:"outcome,omitempty"`
	Image    string              `json:"image,omitempty"`
	From     string              `json:"from,omitempty"`
	To       string              `json:"to,omitempty"`
	Live     string              `json:"live,omitempty"`
	// Weights are the percentages of traffic on From and To (blue/green).
	Weights *weights `json:"weights,omitempty"`
	Step    int      `json:"step,omitempty"`
	Steps   int      `json:"steps,omitempty"`
	Paused  bool     `json:"paused,omitempty"`
	Abort   string   `json:"abort,omitempty"`
	Promote bool     `json:"promote,omitempty"`
	// Hold is the rollout's hold on the fleet's scaling, as the scaler
	// derives it.
	Hold    *scaling.Hold `json:"hold,omitempty"`
	Queued  string        `json:"queued,omitempty"`
	Reason  string        `json:"reason,omitempty"`
	Note    string        `json:"note,omitempty"`
	Started time.Time     `json:"started,omitzero"`
	Ended   time.Time     `json:"ended,omitzero"`
	WakeAt  time.Time     `json:"wakeAt,omitzero"`
}

// weights splits traffic between a blue/green rollout's groups.
type weights struct {
	From int `json:"from"`
	To   int `json:"to"`
}

// lifecycleGate is a lifecycle action not yet completed.
type lifecycleGate struct {
	Token      string               `json:"token"`
	Group      string               `json:"group"`
	InstanceID string               `json:"instanceId"`
	Hook       string               `json:"hook"`
	Transition lifecycle.Transition `json:"transition"`
	Gate       lifecycle.Gate       `json:"gate"`
	Phase      lifecycle.Phase      `json:"phase"`
	Since      time.Time            `json:"since"`
	WakeAt     time.Time            `json:"wakeAt,omitzero"`
	Reason     string               `json:"reason,omitempty"`
}

// status reads the state table and the fleets' groups and shows, per
// fleet, the group's capacity, the scaler's state, the rollout and the
// lifecycle actions pending.
func status(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string, now func() time.Time) error {
	fs := newFlagSet("status", synopses["status"], stderr)
	fleet := fs.String("fleet", "", "show only this fleet (default: every fleet the table knows)")
	group := fs.String("group", "", "the fleet's Auto Scaling group, when no rollout record names it (needs -fleet)")
	table := fs.String("table", "", "the state table (default $"+config.EnvTable+")")
	region := fs.String("region", "", "AWS region (default from the environment or profile)")
	asJSON := fs.Bool("json", false, "print a JSON array of per-fleet objects")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := noArgs(fs); err != nil {
		return err
	}
	if *table == "" {
		*table = getenv(config.EnvTable)
	}
	if *table == "" {
		return fmt.Errorf("status: -table or $%s is required: %w", config.EnvTable, errUsage)
	}
	if *fleet != "" {
		if err := config.CheckFleetName(*fleet); err != nil {
			return fmt.Errorf("status: -fleet %w: %w", err, errUsage)
		}
	}
	if *group != "" && *fleet == "" {
		return fmt.Errorf("status: -group needs -fleet: %w", errUsage)
	}

	cfg, err := awsclient.Load(ctx, awsclient.WithRegion(*region))
	if err != nil {
		return err
	}
	store := dynamo.New(dynamodb.NewFromConfig(cfg), *table)
	groups := asg.New(autoscaling.NewFromConfig(cfg))
	fleets, err := readStatus(ctx, store, *fleet, *group, now())
	if err != nil {
		return err
	}
	for i := range fleets {
		f := &fleets[i]
		if f.Group == "" {
			continue
		}
		g, err := groups.Capacity(ctx, f.Group)
		switch {
		case err == nil:
			f.Capacity = &groupStatus{Desired: g.Desired, InService: g.InService, Min: g.Min, Max: g.Max, Protected: g.Protected}
		case errors.Is(err, asg.ErrNotFound):
			f.GroupError = "no such group"
		default:
			return err
		}
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(fleets)
	}
	return printStatus(stdout, fleets, now())
}

// readStatus reads the table: fleet's records, or every fleet's, and the
// pending lifecycle actions. The serving group is group when set, else
// the one the rollout record names; a scaler record names none.
func readStatus(ctx context.Context, store *dynamo.Store, fleet, group string, now time.Time) ([]fleetStatus, error) {
	var records []dynamo.Record
	if fleet != "" {
		for _, key := range []string{scaler.StateKey(fleet), rolloutpkg.Key(fleet)} {
			r, ok, err := store.Get(ctx, key)
			if err != nil {
				return nil, err
			}
			if ok {
				records = append(records, r)
			}
		}
	} else {
		for _, prefix := range []string{scalerPrefix, rolloutpkg.KeyPrefix} {
			rs, err := store.Scan(ctx, prefix)
			if err != nil {
				return nil, err
			}
			records = append(records, rs...)
		}
	}
	byFleet := map[string]*fleetStatus{}
	get := func(name string) *fleetStatus {
		if byFleet[name] == nil {
			byFleet[name] = &fleetStatus{Fleet: name, Gates: []lifecycleGate{}}
		}
		return byFleet[name]
	}
	if fleet != "" {
		get(fleet)
	}
	for _, r := range records {
		switch name, ok := strings.CutPrefix(r.Key, scalerPrefix); {
		case ok && config.CheckFleetName(name) == nil:
			var st scaling.State
			if err := json.Unmarshal(r.Data, &st); err != nil {
				return nil, fmt.Errorf("decoding %s: %w", r.Key, err)
			}
			get(name).Scaler = scalerView(st, r.Version, now)
		default:
			name, ok := strings.CutPrefix(r.Key, rolloutpkg.KeyPrefix)
			if !ok || config.CheckFleetName(name) != nil {
				continue // another purpose's key that shares the prefix
			}
			var st rolloutpkg.State
			if err := json.Unmarshal(r.Data, &st); err != nil {
				return nil, fmt.Errorf("decoding %s: %w", r.Key, err)
			}
			f := get(name)
			f.Rollout = rolloutView(st, group)
			if g := st.Serving(""); g != "" {
				f.Group, f.GroupFrom = g, "rollout"
			}
		}
	}
	if group != "" {
		f := get(fleet)
		f.Group, f.GroupFrom = group, "flag"
	}

	gates, err := store.Scan(ctx, hooks.KeyPrefix)
	if err != nil {
		return nil, err
	}
	for _, r := range gates {
		var st lifecycle.State
		if err := json.Unmarshal(r.Data, &st); err != nil {
			return nil, fmt.Errorf("decoding %s: %w", r.Key, err)
		}
		if !st.DoneAt.IsZero() || st.Outcome != "" {
			continue
		}
		f := owner(byFleet, st.Request.Group)
		if f == nil {
			if fleet != "" {
				continue
			}
			// A group no fleet record names: shown on its own.
			f = get("#" + st.Request.Group)
			f.Fleet, f.Group, f.GroupFrom = "", st.Request.Group, "lifecycle"
		}
		f.Gates = append(f.Gates, gateView(st))
	}

	out := make([]fleetStatus, 0, len(byFleet))
	for _, key := range slices.Sorted(maps.Keys(byFleet)) {
		f := byFleet[key]
		slices.SortFunc(f.Gates, func(a, b lifecycleGate) int {
			return cmp.Or(a.Since.Compare(b.Since), strings.Compare(a.Token, b.Token))
		})
		out = append(out, *f)
	}
	// Fleets first, by name; then groups only lifecycle actions name.
	slices.SortStableFunc(out, func(a, b fleetStatus) int { return compareBool(a.Fleet == "", b.Fleet == "") })
	return out, nil
}

// owner returns the fleet group belongs to: the group serving it, or
// either side of its rollout.
func owner(fleets map[string]*fleetStatus, group string) *fleetStatus {
	for _, key := range slices.Sorted(maps.Keys(fleets)) {
		f := fleets[key]
		if f.Group == group {
			return f
		}
		if r := f.Rollout; r != nil && (r.From == group || r.To == group || r.Live == group) {
			return f
		}
	}
	return nil
}

func compareBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return 1
	}
	return -1
}

func scalerView(st scaling.State, version int64, now time.Time) *scalerStatus {
	v := &scalerStatus{
		Version: version, LastScaleOut: st.LastScaleOut, LastScaleIn: st.LastScaleIn, OutFrom: st.OutFrom,
		Alarms: []alarmState{}, Floor: st.Floor, FloorUntil: st.FloorUntil,
		FloorActive: st.FloorAt(now) > 0,
	}
	for _, name := range slices.Sorted(maps.Keys(st.Seen)) {
		v.Alarms = append(v.Alarms, alarmState{Alarm: name, State: st.Seen[name].State, Since: st.Seen[name].Since})
	}
	return v
}

func rolloutView(st rolloutpkg.State, group string) *rolloutStatus {
	v := &rolloutStatus{
		ID: st.ID, Strategy: st.Strategy, Phase: st.Phase, Active: st.Active(), Outcome: st.Outcome,
		Image: st.Image.ID, From: st.From.Group, To: st.To.Group, Live: st.Live,
		Step: st.Step, Steps: st.Steps, Paused: st.Paused, Abort: st.Abort, Promote: st.Promote,
		Hold: st.Hold(group), Reason: st.Reason, Started: st.Started, Ended: st.Ended, WakeAt: st.WakeAt,
	}
	if st.Strategy == rolloutpkg.StrategyBlueGreen {
		v.Weights = &weights{From: 100 - st.Shifted, To: st.Shifted}
	}
	if st.Queued != nil {
		v.Queued = st.Queued.ID
	}
	if n := len(st.History); n > 0 {
		v.Note = st.History[n-1].Note
	}
	return v
}

func gateView(st lifecycle.State) lifecycleGate {
	r := st.Request
	return lifecycleGate{
		Token: r.Token, Group: r.Group, InstanceID: r.InstanceID, Hook: r.Hook, Transition: r.Transition,
		Gate: st.Gate, Phase: st.Phase, Since: r.At, WakeAt: st.WakeAt, Reason: st.Reason,
	}
}

// printStatus writes fleets for people: one block per fleet.
func printStatus(w io.Writer, fleets []fleetStatus, now time.Time) error {
	if len(fleets) == 0 {
		_, err := fmt.Fprintln(w, "no fleet in the state table")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	line := func(label, format string, args ...any) {
		fmt.Fprintf(tw, "  %s\t"+format+"\n", append([]any{label}, args...)...)
	}
	for i, f := range fleets {
		if i > 0 {
			fmt.Fprintln(tw)
		}
		if f.Fleet != "" {
			fmt.Fprintf(tw, "fleet %s\n", f.Fleet)
		} else {
			fmt.Fprintf(tw, "group %s (no fleet record names it)\n", f.Group)
		}
		switch {
		case f.Group == "":
			line("group", "unknown: no rollout record names it (stampkit status -fleet %s -group NAME)", f.Fleet)
		case f.Capacity != nil:
			c := f.Capacity
			line("group", "%s (from %s): desired %d, in service %d, min %d, max %d, protected %d", f.Group, f.GroupFrom, c.Desired, c.InService, c.Min, c.Max, c.Protected)
		default:
			line("group", "%s (from %s): %s", f.Group, f.GroupFrom, f.GroupError)
		}
		if s := f.Scaler; s != nil {
			line("scale-out", "%s", ago(s.LastScaleOut, now))
			line("scale-in", "%s", ago(s.LastScaleIn, now))
			for _, a := range s.Alarms {
				line("alarm", "%s %s since %s", a.Alarm, cmp.Or(a.State, "(state not kept)"), ago(a.Since, now))
			}
			switch {
			case s.Floor == 0:
				line("floor", "none")
			case s.FloorActive:
				line("floor", "%d until %s", s.Floor, stampTime(s.FloorUntil))
			default:
				line("floor", "%d, ended %s", s.Floor, ago(s.FloorUntil, now))
			}
		} else if f.Fleet != "" {
			line("scaler", "no state yet")
		}
		if r := f.Rollout; r != nil {
			state := string(r.Phase)
			if !r.Active {
				state += " " + string(r.Outcome)
			}
			if r.Paused {
				state += ", paused"
			}
			line("rollout", "%s %s of %s: %s", r.ID, r.Strategy, cmp.Or(r.Image, "-"), state)
			if r.From != "" {
				line("groups", "%s -> %s", r.From, r.To)
			}
			if r.Weights != nil {
				line("weights", "%d/%d (step %d of %d)", r.Weights.From, r.Weights.To, r.Step, r.Steps)
			}
			if r.Hold != nil {
				line("hold", "scale-in held, capacity to %s, until %s", r.Hold.LiveGroup, stampTime(r.Hold.Until))
			}
			if r.Abort != "" {
				line("abort", "%s", r.Abort)
			}
			if r.Reason != "" {
				line("reason", "%s", r.Reason)
			}
			if r.Note != "" {
				line("last", "%s", r.Note)
			}
		} else if f.Fleet != "" {
			line("rollout", "none")
		}
		if len(f.Gates) == 0 {
			line("gates", "none pending")
		}
		for _, g := range f.Gates {
			line("gate", "%s %s %s %s/%s since %s: %s", g.InstanceID, g.Transition, g.Hook, g.Gate, g.Phase, ago(g.Since, now), cmp.Or(g.Reason, "-"))
		}
	}
	return tw.Flush()
}

// ago is t, and how long before now it was; "never" for the zero time.
func ago(t, now time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return fmt.Sprintf("%s (%s ago)", stampTime(t), now.Sub(t).Round(time.Second))
}

func stampTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }
