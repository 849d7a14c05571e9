package stampshift

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"
)

// KeyPrefix starts the shift table's key of every record's transition.
const KeyPrefix = "shift#"

// Key is the shift table's key of a record's transition (a JSON State):
// saving it with a version check is the record's transition lock.
func Key(record string) string { return KeyPrefix + record }

// Phase is where a transition stands.
type Phase string

// Phases: shift (step by step) → done, or shift → rollback → done.
const (
	PhaseShift    Phase = "shift"
	PhaseRollback Phase = "rollback"
	PhaseDone     Phase = "done"
)

// Outcome is how a transition ended.
type Outcome string

// Outcomes.
const (
	Succeeded  Outcome = "succeeded"
	RolledBack Outcome = "rolled_back"
	// Failed: the rollback's own change could not be made; an operator
	// must look at the record.
	Failed Outcome = "failed"
)

// Entry is one line of a transition's history.
type Entry struct {
	At    time.Time `json:"at"`
	Phase Phase     `json:"phase"`
	// Shifted is the receiving stamp's confirmed share, in percent.
	Shifted int    `json:"shifted"`
	Note    string `json:"note"`
}

// maxHistory bounds the history kept in the record.
const maxHistory = 40

// State is a record's transition: the one running or the last one.
type State struct {
	Record string `json:"record"`
	// ID names the transition: the start command's event id.
	ID string `json:"id,omitempty"`
	// From is the sending stamp, To the receiving one (SetIdentifiers).
	From  string `json:"from,omitempty"`
	To    string `json:"to,omitempty"`
	Phase Phase  `json:"phase,omitempty"`
	// Steps are the policy's steps when the transition began: a deploy
	// that changes them does not change a transition under way.
	Steps []int `json:"steps,omitempty"`
	// Step indexes Steps: the step being sent or baked.
	Step int `json:"step"`
	// Total is the weight From and To carried together at the start: the
	// weight the transition moves between them. Other stamps keep theirs.
	Total int64 `json:"total,omitempty"`
	// Weights are the weights of From and To the transition last asked for.
	Weights map[string]int64 `json:"weights,omitempty"`
	// Shifted is To's share, in percent, of the last confirmed weights.
	Shifted int `json:"shifted"`
	// Capacity is what From had in service at the start: what To needs at
	// 100 %.
	Capacity int `json:"capacity,omitempty"`
	// Change is Route 53's id of the change sent and not yet seen INSYNC;
	// SentAt when it was sent; Attempts how often this step's change was
	// asked for without being confirmed.
	Change   string    `json:"change,omitempty"`
	SentAt   time.Time `json:"sentAt,omitzero"`
	Attempts int       `json:"attempts,omitempty"`
	// InSyncAt is when the step's change was seen INSYNC; zero until then.
	InSyncAt time.Time `json:"inSyncAt,omitzero"`
	// WaitSince is when the step began waiting for To's capacity.
	WaitSince time.Time `json:"waitSince,omitzero"`
	Paused    bool      `json:"paused,omitempty"`
	// Drift says the transition paused because the live weights changed
	// outside it: a resume sends the step's weights again.
	Drift bool `json:"drift,omitempty"`
	// Abort, when set, is why the transition must roll back at its next
	// step; Promote asks it to go to 100 % at its next step.
	Abort   string    `json:"abort,omitempty"`
	Promote bool      `json:"promote,omitempty"`
	Outcome Outcome   `json:"outcome,omitempty"`
	Reason  string    `json:"reason,omitempty"`
	Started time.Time `json:"started,omitzero"`
	Ended   time.Time `json:"ended,omitzero"`
	// Seen is the time of the last observation Step took; an older one is
	// late and ignored.
	Seen    time.Time `json:"seen,omitzero"`
	WakeAt  time.Time `json:"wakeAt,omitzero"`
	History []Entry   `json:"history,omitempty"`
}

// Active reports whether a transition is under way.
func (s State) Active() bool { return s.Phase == PhaseShift || s.Phase == PhaseRollback }

// Target is the receiving stamp's share, in percent, of the step in
// progress (0 while rolling back).
func (s State) Target() int {
	if s.Phase == PhaseRollback || len(s.Steps) == 0 {
		return 0
	}
	return s.Steps[min(s.Step, len(s.Steps)-1)]
}

func (s State) clone() State {
	s.Steps = slices.Clone(s.Steps)
	s.Weights = maps.Clone(s.Weights)
	s.History = slices.Clone(s.History)
	return s
}

func (s *State) note(now time.Time, format string, args ...any) {
	s.History = append(s.History, Entry{At: now, Phase: s.Phase, Shifted: s.Shifted, Note: fmt.Sprintf(format, args...)})
	if n := len(s.History) - maxHistory; n > 0 {
		s.History = slices.Delete(s.History, 0, n)
	}
}

// Start asks for a transition of Record from From to To.
type Start struct {
	ID     string
	Record string
	From   string
	To     string
}

// ErrBusy reports a start for a record whose transition is still running.
var ErrBusy = errors.New("a transition is running on the record")

// ErrUnknownStamp reports a stamp the record has no weighted record for.
var ErrUnknownStamp = errors.New("no weighted record for the stamp")

// Begin starts the transition c asks for on the record whose last
// transition is s, from the live weights and From's in-service capacity in
// obs. A repeat of the running or finished transition's start (same ID, or
// the same stamps while it runs) returns s unchanged.
func Begin(p Policy, s State, c Start, obs Observation) (State, error) {
	switch {
	case c.ID != "" && c.ID == s.ID:
		return s, nil
	case s.Active() && s.From == c.From && s.To == c.To:
		return s, nil
	case s.Active():
		return s, fmt.Errorf("start %s -> %s on %s: %w (%s -> %s, since %s)", c.From, c.To, c.Record, ErrBusy, s.From, s.To, s.Started.Format(time.RFC3339))
	case c.From == "" || c.To == "" || c.From == c.To:
		return s, fmt.Errorf("start %q -> %q on %s: two different stamps are needed", c.From, c.To, c.Record)
	}
	for _, stamp := range []string{c.From, c.To} {
		if _, ok := obs.Weights[stamp]; !ok {
			return s, fmt.Errorf("start on %s: stamp %s: %w", c.Record, stamp, ErrUnknownStamp)
		}
	}
	sum := obs.Weights[c.From] + obs.Weights[c.To]
	total := min(sum, MaxWeight)
	if total == 0 {
		total = 100
	}
	next := State{
		Record: c.Record, ID: c.ID, From: c.From, To: c.To, Phase: PhaseShift,
		Steps: slices.Clone(p.Steps), Total: total,
		Weights:  map[string]int64{c.From: obs.Weights[c.From], c.To: obs.Weights[c.To]},
		Capacity: max(obs.Stamps[c.From].InService, 1),
		Started:  obs.Now,
	}
	next.Shifted = share(obs.Weights[c.To], sum)
	// A transition that begins where another left off (To already carries
	// some weight) skips the steps already behind it.
	for next.Step < len(next.Steps)-1 && next.Steps[next.Step] <= next.Shifted {
		next.Step++
	}
	next.note(obs.Now, "start %s -> %s: steps %v of weight %d, %s carries %d in service", c.From, c.To, next.Steps, total, c.From, next.Capacity)
	return next, nil
}

// share is w's part of total, in percent, rounded down.
func share(w, total int64) int {
	if total <= 0 {
		return 0
	}
	return int(w * 100 / total)
}

// Command is an operator's control of a running transition.
type Command string

// Commands.
const (
	Pause   Command = "pause"
	Resume  Command = "resume"
	Abort   Command = "abort"
	Promote Command = "promote"
)

// ErrNotActive reports a command for a record with no transition running
// (or not the one the command names).
var ErrNotActive = errors.New("no transition running")

// ErrNotApplicable reports a command the transition cannot take now: a
// repeat (a second pause) or one its phase refuses.
var ErrNotApplicable = errors.New("command not applicable")

// Control applies an operator's command to the record's transition s. from
// and to, when given, must name the running transition's stamps: a late
// command for an earlier transition changes nothing. Control only records
// the request; the next Step acts on it.
func Control(s State, c Command, from, to, reason string, now time.Time) (State, error) {
	if !s.Active() || (from != "" && from != s.From) || (to != "" && to != s.To) {
		return s, fmt.Errorf("%s %s -> %s on %s: %w", c, orAny(from), orAny(to), s.Record, ErrNotActive)
	}
	notNow := func(why string) (State, error) {
		return s, fmt.Errorf("%s %s -> %s on %s: %w: %s", c, s.From, s.To, s.Record, ErrNotApplicable, why)
	}
	rollingBack := s.Phase == PhaseRollback || s.Abort != ""
	next := s.clone()
	switch c {
	case Pause:
		switch {
		case rollingBack:
			return notNow("a rollback is not paused")
		case s.Paused:
			return notNow("already paused")
		}
		next.Paused = true
	case Resume:
		if !s.Paused {
			return notNow("not paused")
		}
		next.Paused = false
		if s.Drift {
			next.Drift, next.InSyncAt, next.Attempts = false, time.Time{}, 0
		} else if !s.InSyncAt.IsZero() {
			// The bake starts over: time spent paused proves nothing
			// about To under its share once traffic grows again.
			next.InSyncAt = now
		}
	case Abort:
		if rollingBack {
			return notNow("already rolling back")
		}
		if reason == "" {
			reason = "operator abort"
		}
		next.Abort, next.Paused = reason, false
	case Promote:
		switch {
		case rollingBack:
			return notNow("rolling back")
		case s.Target() == 100:
			return notNow("already at the last step")
		}
		next.Promote, next.Paused, next.Drift = true, false, false
	default:
		return s, fmt.Errorf("command %q: %w", c, ErrNotApplicable)
	}
	if reason != "" {
		next.note(now, "operator %s: %s", c, reason)
	} else {
		next.note(now, "operator %s", c)
	}
	return next, nil
}

func orAny(stamp string) string {
	if stamp == "" {
		return "*"
	}
	return stamp
}

// Sent records that the weights of a SetWeights action were accepted by
// Route 53 as change, at at: the step waits for it to be INSYNC.
func (s State) Sent(change string, at time.Time) State {
	s.Change, s.SentAt = change, at
	return s
}
