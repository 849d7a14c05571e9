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
	// Failed is no longer reached: a rollback retries until its change is
	// made (State.Stuck says when it keeps failing). It is kept for
	// records an earlier version wrote.
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
	// refused by Route 53 as such (Refused); Tries how often a change was
	// asked for since the last one Route 53 accepted, for any reason.
	Change   string    `json:"change,omitempty"`
	SentAt   time.Time `json:"sentAt,omitzero"`
	Attempts int       `json:"attempts,omitempty"`
	Tries    int       `json:"tries,omitempty"`
	// Stuck says a rollback's change keeps failing (past
	// Policy.SendAttempts tries): it goes on trying, backing off, and the
	// handler raises an alarm-able metric while it is set.
	Stuck bool `json:"stuck,omitempty"`
	// Applied are the weights of the last change Route 53 accepted (Sent);
	// Params the weights last written to the stamps' weight parameters
	// (ParamsWritten). The handler writes Applied to the parameters until
	// the two agree, so a parameter never holds a weight never applied.
	Applied map[string]int64 `json:"applied,omitempty"`
	Params  map[string]int64 `json:"params,omitempty"`
	// UnreadSince is when To's health stopped being read; zero while it
	// is read.
	UnreadSince time.Time `json:"unreadSince,omitzero"`
	// CommandAt is when the last command applied (a start included) was
	// sent: an older one is stale (Stale).
	CommandAt time.Time `json:"commandAt,omitzero"`
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
	s.Applied = maps.Clone(s.Applied)
	s.Params = maps.Clone(s.Params)
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
	// At is when the command was sent (its event's time); zero when
	// unknown. A start sent before the record's last transition began is
	// stale (ErrStale): EventBridge retries a delivery for up to 24 hours.
	At time.Time
}

// ErrBusy reports a start for a record whose transition is still running.
var ErrBusy = errors.New("a transition is running on the record")

// ErrUnknownStamp reports a stamp the record has no weighted record for.
var ErrUnknownStamp = errors.New("no weighted record for the stamp")

// ErrStale reports a command sent before the record's last transition
// began or before the last command it applied: a late redelivery.
var ErrStale = errors.New("command older than the transition")

// ErrUnobserved reports a start whose stamps' health or capacity could not
// be read: the start is tried again, not begun on a guess.
var ErrUnobserved = errors.New("stamps not observed")

// ErrWeightTooSmall reports a moved weight that cannot be split so that
// every step gives the receiving stamp some weight, even scaled up to
// MaxWeight (or scaled at all when other stamps carry weight).
var ErrWeightTooSmall = errors.New("moved weight too small for the steps")

// Stale reports whether a command sent at at is older than the record's
// last transition or the last command applied to it. A zero at is never
// stale.
func (s State) Stale(at time.Time) bool {
	return !at.IsZero() && (at.Before(s.Started) || at.Before(s.CommandAt))
}

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
	case s.Stale(c.At):
		return s, fmt.Errorf("start %s -> %s on %s sent %s: %w (%s -> %s began %s)", c.From, c.To, c.Record, c.At.Format(time.RFC3339), ErrStale, s.From, s.To, s.Started.Format(time.RFC3339))
	case c.From == "" || c.To == "" || c.From == c.To:
		return s, fmt.Errorf("start %q -> %q on %s: two different stamps are needed", c.From, c.To, c.Record)
	}
	for _, stamp := range []string{c.From, c.To} {
		if _, ok := obs.Weights[stamp]; !ok {
			return s, fmt.Errorf("start on %s: stamp %s: %w", c.Record, stamp, ErrUnknownStamp)
		}
	}
	// What To needs at 100 % is sized from From's capacity: a start on a
	// failed read would size it from nothing.
	for _, stamp := range []string{c.From, c.To} {
		if _, ok := obs.Stamps[stamp]; !ok {
			return s, fmt.Errorf("start on %s: stamp %s: %w: %s", c.Record, stamp, ErrUnobserved, obs.Err)
		}
	}
	wFrom, wTo := obs.Weights[c.From], obs.Weights[c.To]
	sum := wFrom + wTo
	total := min(sum, MaxWeight)
	if total == 0 {
		total = 100
	}
	others := false
	for stamp, w := range obs.Weights {
		others = others || (stamp != c.From && stamp != c.To && w > 0)
	}
	scaled, err := scaleTotal(p.Steps, total, others)
	if err != nil {
		return s, fmt.Errorf("start %s -> %s on %s: %w", c.From, c.To, c.Record, err)
	}
	next := State{
		Record: c.Record, ID: c.ID, From: c.From, To: c.To, Phase: PhaseShift,
		Steps: slices.Clone(p.Steps), Total: scaled,
		Weights:  map[string]int64{c.From: wFrom, c.To: wTo},
		Capacity: capacity(obs.Stamps[c.From].InService, obs.Stamps[c.To].InService, wFrom, wTo),
		Started:  obs.Now, CommandAt: c.At,
	}
	next.Shifted = share(wTo, sum)
	// A transition that begins where another left off (To already carries
	// some weight) skips the steps already behind it.
	for next.Step < len(next.Steps)-1 && next.Steps[next.Step] <= next.Shifted {
		next.Step++
	}
	next.note(obs.Now, "start %s -> %s: steps %v of weight %d, %s needs %d in service at 100%%", c.From, c.To, next.Steps, scaled, c.To, next.Capacity)
	return next, nil
}

// capacity is what To needs in service to carry all of the traffic From
// and To carry together: From's in-service count serves From's share, so
// the whole needs From's count × (From + To) / From (rounded up). A From
// with no weight serves nothing: To already carries it all.
func capacity(fromInService, toInService int, wFrom, wTo int64) int {
	if wFrom <= 0 {
		if wTo <= 0 {
			return max(fromInService, 1)
		}
		return max(toInService, 1)
	}
	n := (int64(fromInService)*(wFrom+wTo) + wFrom - 1) / wFrom
	return max(int(n), 1)
}

// scaleTotal is the smallest multiple of total, at most MaxWeight, that
// gives To at every step a weight above 0 and above the step before's:
// Route 53 answers with a weight-0 record only when every other one is
// unhealthy ("How Amazon Route 53 chooses records when health checking is
// configured", Route 53 Developer Guide), so a step that rounds To to 0
// sends it no traffic and would bake on nothing. Scaling From and To alike
// keeps their ratio; with other stamps carrying weight it would take
// traffic from them, so a total that needs it is refused.
func scaleTotal(steps []int, total int64, others bool) (int64, error) {
	for t := total; t <= MaxWeight; t += total {
		if t > total && others {
			break
		}
		if splitsEvery(steps, t) {
			return t, nil
		}
	}
	return 0, fmt.Errorf("%w: a weight of %d gives %v some weight at each step only scaled beyond what Route 53 takes (%d), or other stamps carry weight", ErrWeightTooSmall, total, steps, MaxWeight)
}

func splitsEvery(steps []int, total int64) bool {
	prev := int64(0)
	for _, pct := range steps {
		to := toWeight(total, pct)
		if to <= prev {
			return false
		}
		prev = to
	}
	return true
}

// toWeight is To's weight at pct of total, rounded to the nearest.
func toWeight(total int64, pct int) int64 { return (total*int64(pct) + 50) / 100 }

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
	s.Change, s.SentAt, s.Tries = change, at, 0
	s.Applied = maps.Clone(s.Weights)
	return s
}

// Refused records that Route 53 refused a SetWeights action's change as
// such (InvalidChangeBatch): it counts against Policy.SendAttempts. Any
// other failure (throttling, PriorRequestNotComplete past the SDK's
// retries, a timeout) is not recorded: the next step asks again.
func (s State) Refused() State {
	s.Attempts++
	return s
}

// ParamsWritten records that the stamps' weight parameters now hold w.
func (s State) ParamsWritten(w map[string]int64) State {
	s.Params = maps.Clone(w)
	return s
}

// ParamsDue returns the weights the stamps' weight parameters must be
// written with (those of the last change Route 53 accepted), or nil when
// they already hold them.
func (s State) ParamsDue() map[string]int64 {
	if len(s.Applied) == 0 || maps.Equal(s.Applied, s.Params) {
		return nil
	}
	return maps.Clone(s.Applied)
}
