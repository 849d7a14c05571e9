package rollout

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/stampkit/stampkit/shared/clock"
)

// Waves: an app of several stamps builds each image once and rolls it out
// stamp by stamp, in the order cdk.json's stamps[] gives. Every stamp
// records how its rollouts of each image ended in its wave parameter (a
// WaveLog in SSM, in its own account and Region); a stamp with a
// predecessor (Wave.After) reads the predecessor's log before it rolls an
// image out, and WaveGate decides: go once the predecessor promoted the
// image, wait while it has not finished it, halt when it rolled it back or
// halted it. A halt is recorded too, so it reaches every later stamp.

// Wave places one fleet of one stamp in its wave. The stack fills it in;
// nil (a lone stamp, the twin) leaves the fleet out of waves.
type Wave struct {
	// Stamp is this stamp's name.
	Stamp string `json:"stamp"`
	// Parameter is this stamp's wave parameter for the fleet.
	Parameter string `json:"parameter"`
	// After is the stamp before this one in the fleet's wave; nil for the
	// first stamp, which rolls an image out as soon as it is offered.
	After *WaveStamp `json:"after,omitempty"`
	// MaxWait bounds how long an image waits for the stamp before; then it
	// halts (default DefaultWaveMaxWait).
	MaxWait clock.Duration `json:"maxWait,omitempty"`
}

// WaveStamp names a stamp's wave parameter: the stamp, its Region and the
// parameter's name there.
type WaveStamp struct {
	Stamp     string `json:"stamp"`
	Region    string `json:"region"`
	Parameter string `json:"parameter"`
}

// Wave timing.
const (
	// DefaultWaveMaxWait is long enough for a blue/green rollout with its
	// bakes and retention, and short of the image becoming stale news.
	DefaultWaveMaxWait = 48 * time.Hour
	// WaveRecheck is how often a waiting image looks at its predecessor.
	WaveRecheck = 5 * time.Minute
)

// WaveOutcome is how one stamp's rollout of one image ended, as its wave
// log records it.
type WaveOutcome string

// Wave outcomes.
const (
	// WavePromoted: the rollout succeeded; the next stamp goes.
	WavePromoted WaveOutcome = "promoted"
	// WaveRolledBack: the rollout rolled back or failed.
	WaveRolledBack WaveOutcome = "rolled_back"
	// WaveHalted: the stamp did not roll the image out because a stamp
	// before it rolled it back (or halted it, or did not finish it).
	WaveHalted WaveOutcome = "halted"
	// WaveSuperseded: a newer image came first (the rollout made way for
	// it, or the image arrived after it). The next stamp drops the image
	// without a halt: the newer one is on its way there too.
	WaveSuperseded WaveOutcome = "superseded"
	// WaveSkipped: the stamp let the image pass without rolling it out
	// (a dry run); the next stamp goes, as if it were the first.
	WaveSkipped WaveOutcome = "skipped"
	// WaveRejected: the image failed the stamp's checks (rollout.Check);
	// the next stamp halts.
	WaveRejected WaveOutcome = "rejected"
)

// WaveID identifies one image in every Region and account: the Image
// Builder image ARN (from the AMI's tag, or the build event) and the AMI
// name, which a distribution gives every copy alike. A copy may lack the
// tag (no AWS page promises amiTags, or the ARN tag, on every copy), so
// records keep both and match on either (WaveRecord.Is).
type WaveID struct {
	ARN  string
	Name string
}

// String is the identity as logs and reasons show it: the ARN if known.
func (id WaveID) String() string {
	if id.ARN != "" {
		return id.ARN
	}
	return id.Name
}

// WaveRecord is one line of a stamp's wave log.
type WaveRecord struct {
	// Image is the image's WaveID.String (what earlier versions wrote);
	// Name its AMI name when Image is the ARN.
	Image string `json:"image"`
	Name  string `json:"name,omitempty"`
	// AMI is the stamp's own copy, for the reader.
	AMI     string      `json:"ami,omitempty"`
	Created time.Time   `json:"created,omitzero"`
	Outcome WaveOutcome `json:"outcome"`
	Reason  string      `json:"reason,omitempty"`
	At      time.Time   `json:"at"`
}

// WaveLog is a stamp's wave parameter: its last records, oldest first.
type WaveLog struct {
	Stamp   string       `json:"stamp"`
	Records []WaveRecord `json:"records"`
}

// NewWaveRecord is the record of id with outcome, reason and time.
func NewWaveRecord(id WaveID, img Image, o WaveOutcome, reason string, at time.Time) WaveRecord {
	r := WaveRecord{Image: id.String(), AMI: img.ID, Created: img.Created, Outcome: o, Reason: reason, At: at}
	if r.Image != id.Name {
		r.Name = id.Name
	}
	return r
}

// Is reports whether r records the image id, by ARN or by name.
func (r WaveRecord) Is(id WaveID) bool {
	match := func(a, b string) bool { return a != "" && a == b }
	return match(r.Image, id.ARN) || match(r.Image, id.Name) || match(r.Name, id.Name)
}

// same reports whether r and o record one image.
func (r WaveRecord) same(o WaveRecord) bool {
	name := o.Name
	if name == "" {
		name = o.Image
	}
	return r.Is(WaveID{ARN: o.Image, Name: name})
}

// maxWaveRecords keeps a log well under SSM's 4 KB standard parameter.
const maxWaveRecords = 5

// maxWaveReason bounds a record's reason for the same reason.
const maxWaveReason = 300

// MaxWaveValue is the most a standard-tier parameter holds: 4 KB
// ("Managing parameter tiers", Systems Manager User Guide). Encode keeps
// a log within it, JSON escapes included.
const MaxWaveValue = 4096

// ParseWaveLog decodes a wave parameter's value.
func ParseWaveLog(value string) (WaveLog, error) {
	var l WaveLog
	if err := json.Unmarshal([]byte(value), &l); err != nil {
		return WaveLog{}, fmt.Errorf("decoding wave log: %w", err)
	}
	return l, nil
}

// Encode is the log as its parameter holds it: the oldest records are
// left out, then reasons cut, until it fits MaxWaveValue.
func (l WaveLog) Encode() string {
	l.Records = slices.Clone(l.Records)
	for {
		raw, err := json.Marshal(l)
		if err != nil {
			panic(fmt.Sprintf("encoding wave log: %v", err)) // strings and times cannot fail
		}
		switch {
		case len(raw) <= MaxWaveValue:
			return string(raw)
		case len(l.Records) > 1:
			l.Records = l.Records[1:]
		default:
			l.Records[0].Reason = cut(l.Records[0].Reason, len(l.Records[0].Reason)/2)
		}
	}
}

// Find returns the record of image, if the log holds one.
func (l WaveLog) Find(id WaveID) (WaveRecord, bool) {
	i := slices.IndexFunc(l.Records, func(r WaveRecord) bool { return r.Is(id) })
	if i < 0 {
		return WaveRecord{}, false
	}
	return l.Records[i], true
}

// With returns the log with r recorded: a record of the same image is
// replaced (a retry writes the same line twice), and only the newest
// maxWaveRecords are kept.
func (l WaveLog) With(stamp string, r WaveRecord) WaveLog {
	r.Reason = cut(r.Reason, maxWaveReason)
	out := WaveLog{Stamp: stamp}
	for _, old := range l.Records {
		if !old.same(r) {
			out.Records = append(out.Records, old)
		}
	}
	out.Records = append(out.Records, r)
	if n := len(out.Records); n > maxWaveRecords {
		out.Records = out.Records[n-maxWaveRecords:]
	}
	return out
}

// Add is With, except that a record of the same image already there
// stays: an outcome that only says the stamp passed an image by (skipped,
// rejected, superseded) never replaces how its rollout ended.
func (l WaveLog) Add(stamp string, r WaveRecord) WaveLog {
	if i := slices.IndexFunc(l.Records, r.same); i >= 0 && l.Records[i].Outcome != r.Outcome {
		switch r.Outcome {
		case WaveSkipped, WaveRejected, WaveSuperseded:
			l.Stamp = stamp
			return l
		}
	}
	return l.With(stamp, r)
}

// cut shortens s to at most n bytes, on a rune boundary.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	n = max(n-3, 0)
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "..."
}

// WaveImage is the identity of img that every stamp's copy shares: the
// Image Builder image ARN (tag arnTag, or Source) and the AMI name.
func WaveImage(img Image, arnTag string) WaveID {
	arn := img.Tags[arnTag]
	if arn == "" {
		arn = img.Source
	}
	return WaveID{ARN: arn, Name: img.Name}
}

// WaveVerdict is what WaveGate made of an image.
type WaveVerdict string

// Wave verdicts.
const (
	// WaveGo: roll the image out (first stamp, or the predecessor
	// promoted it).
	WaveGo WaveVerdict = "go"
	// WaveWait: the predecessor has not finished the image; look again.
	WaveWait WaveVerdict = "wait"
	// WaveHalt: do not roll the image out; Reason says why.
	WaveHalt WaveVerdict = "halt"
	// WaveDrop: do not roll the image out, and raise nothing: the stamp
	// before dropped it for a newer image (WaveSuperseded).
	WaveDrop WaveVerdict = "drop"
)

// WaveDecision is WaveGate's answer.
type WaveDecision struct {
	Verdict WaveVerdict
	Reason  string
	// RecheckAt, for WaveWait, is when to look again.
	RecheckAt time.Time
}

// WaveGate decides whether a stamp rolls out image (its WaveImage
// identity), offered first at since, given its predecessor's log (nil
// when the parameter does not exist yet, or could not be read: then the
// image waits, up to MaxWait, as for a predecessor still at work).
func WaveGate(w Wave, log *WaveLog, image WaveID, since, now time.Time) WaveDecision {
	if w.After == nil {
		return WaveDecision{Verdict: WaveGo, Reason: "first stamp of the wave"}
	}
	after := w.After.Stamp
	if log != nil {
		if r, ok := log.Find(image); ok {
			switch r.Outcome {
			case WavePromoted:
				return WaveDecision{Verdict: WaveGo, Reason: fmt.Sprintf("stamp %s promoted image %s", after, image)}
			case WaveSkipped:
				return WaveDecision{Verdict: WaveGo, Reason: fmt.Sprintf("stamp %s skipped image %s: %s", after, image, r.Reason)}
			case WaveSuperseded:
				return WaveDecision{Verdict: WaveDrop, Reason: fmt.Sprintf("dropped: stamp %s dropped image %s: %s", after, image, r.Reason)}
			case WaveHalted:
				// The stamp that rolled back is named in the reason already.
				return WaveDecision{Verdict: WaveHalt, Reason: r.Reason}
			case WaveRejected:
				return WaveDecision{Verdict: WaveHalt, Reason: fmt.Sprintf("halted: stamp %s rejected image %s: %s", after, image, r.Reason)}
			default:
				return WaveDecision{Verdict: WaveHalt, Reason: fmt.Sprintf("halted: stamp %s rolled back image %s: %s", after, image, r.Reason)}
			}
		}
	}
	maxWait := time.Duration(w.MaxWait)
	if maxWait <= 0 {
		maxWait = DefaultWaveMaxWait
	}
	if !now.Before(since.Add(maxWait)) {
		return WaveDecision{Verdict: WaveHalt, Reason: fmt.Sprintf("halted: stamp %s did not finish image %s within %s", after, image, maxWait)}
	}
	return WaveDecision{Verdict: WaveWait, Reason: "waiting for wave: " + after, RecheckAt: now.Add(WaveRecheck)}
}

// WaveOutcomeOf is what a rollout's outcome means to the next stamp.
func WaveOutcomeOf(o Outcome) WaveOutcome {
	switch o {
	case Succeeded:
		return WavePromoted
	case Superseded:
		return WaveSuperseded
	}
	return WaveRolledBack
}

// WaveWaiting is an image waiting for the stamp before (State.Wave).
type WaveWaiting struct {
	Image Image `json:"image"`
	// Since is when it was first offered; WakeAt when it looks again.
	Since  time.Time `json:"since"`
	WakeAt time.Time `json:"wakeAt"`
	Reason string    `json:"reason"`
	// Older are the images that waited before Image came, oldest first
	// (at most maxWaveOlder): when the stamp before halts Image, the
	// newest of them takes its place (State.WithWave), so an image it
	// promoted while Image was on its way still rolls out here.
	Older []WaveOffer `json:"older,omitempty"`
}

// WaveOffer is an image and when it was first offered.
type WaveOffer struct {
	Image Image     `json:"image"`
	Since time.Time `json:"since"`
}

// maxWaveOlder bounds WaveWaiting.Older: as many as a wave log keeps.
const maxWaveOlder = maxWaveRecords - 1

// HaltRecord is the last image the wave halted before this stamp
// (State.Halted).
type HaltRecord struct {
	Image  string    `json:"image"`
	AMI    string    `json:"ami,omitempty"`
	Reason string    `json:"reason"`
	At     time.Time `json:"at"`
}

// WaveKey is the key of a fleet's wave wake-ups: apart from the rollout's
// own (Key), which a running rollout uses.
func WaveKey(fleet string) string { return KeyPrefix + "wave#" + fleet }

// WaveSince is when img was first offered to the fleet's wave: the
// waiting image's start if img is that image, else now. Stale reports an
// image older than the one waiting (and not forced): the newest waits,
// as Offer's rule has it.
func (s State) WaveSince(img Image, now time.Time) (since time.Time, stale bool) {
	q := s.Wave
	switch {
	case q == nil:
		return now, false
	case q.Image.ID == img.ID:
		return q.Since, false
	case img.Created.Before(q.Image.Created) && !img.Forced():
		return now, true
	}
	return now, false
}

// WithWave records what the wave decided for img (whose WaveImage is
// image): a go clears the wait, a wait keeps the image and when to look
// again (and the images that waited before it, in Older), a halt keeps
// why. After a halt or a drop the newest older image, if any, waits in
// its place, due at once: the caller offers it again (WaveWaiting.Older).
func (s State) WithWave(img Image, image WaveID, since, now time.Time, d WaveDecision) State {
	next := s.clone()
	var older []WaveOffer
	if q := s.Wave; q != nil {
		for _, o := range append(q.Older, WaveOffer{Image: q.Image, Since: q.Since}) {
			if o.Image.ID != img.ID {
				older = append(older, o)
			}
		}
		if n := len(older); n > maxWaveOlder {
			older = older[n-maxWaveOlder:]
		}
	}
	switch d.Verdict {
	case WaveGo:
		if next.Wave != nil {
			next.note(now, "wave: %s", d.Reason)
		}
		next.Wave = nil
		return next
	case WaveWait:
		if next.Wave == nil || next.Wave.Image.ID != img.ID {
			next.note(now, "%s: image %s (%s)", d.Reason, img.ID, image)
		}
		next.Wave = &WaveWaiting{Image: img, Since: since, WakeAt: d.RecheckAt, Reason: d.Reason, Older: older}
		return next
	case WaveHalt:
		next.Halted = &HaltRecord{Image: image.String(), AMI: img.ID, Reason: d.Reason, At: now}
	}
	next.note(now, "%s", d.Reason)
	next.Wave = nextInLine(older, now)
	return next
}

// nextInLine is the newest of older, waiting in its turn, due at now;
// nil for none.
func nextInLine(older []WaveOffer, now time.Time) *WaveWaiting {
	n := len(older)
	if n == 0 {
		return nil
	}
	return &WaveWaiting{Image: older[n-1].Image, Since: older[n-1].Since, WakeAt: now, Older: older[: n-1 : n-1],
		Reason: "next in line"}
}

// WithoutWaiting drops the waiting image img (refused by the checks, or
// passed by another way): the newest older image, if any, waits in its
// place, due at once.
func (s State) WithoutWaiting(img Image, now time.Time) State {
	if s.Wave == nil || s.Wave.Image.ID != img.ID {
		return s
	}
	s.Wave = nextInLine(s.Wave.Older, now)
	return s
}
