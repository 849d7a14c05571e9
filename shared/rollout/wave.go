package rollout

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"

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
	// WaveRolledBack: the rollout rolled back, failed or was superseded.
	WaveRolledBack WaveOutcome = "rolled_back"
	// WaveHalted: the stamp did not roll the image out because a stamp
	// before it rolled it back (or halted it, or did not finish it).
	WaveHalted WaveOutcome = "halted"
)

// WaveRecord is one line of a stamp's wave log.
type WaveRecord struct {
	// Image identifies the image in every Region and account: the Image
	// Builder image ARN its AMIs carry, or the AMI's name (WaveImage).
	Image string `json:"image"`
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

// maxWaveRecords keeps a log well under SSM's 4 KB standard parameter.
const maxWaveRecords = 5

// maxWaveReason bounds a record's reason for the same reason.
const maxWaveReason = 300

// ParseWaveLog decodes a wave parameter's value.
func ParseWaveLog(value string) (WaveLog, error) {
	var l WaveLog
	if err := json.Unmarshal([]byte(value), &l); err != nil {
		return WaveLog{}, fmt.Errorf("decoding wave log: %w", err)
	}
	return l, nil
}

// Encode is the log as its parameter holds it.
func (l WaveLog) Encode() string {
	raw, err := json.Marshal(l)
	if err != nil {
		panic(fmt.Sprintf("encoding wave log: %v", err)) // strings and times cannot fail
	}
	return string(raw)
}

// Find returns the record of image, if the log holds one.
func (l WaveLog) Find(image string) (WaveRecord, bool) {
	i := slices.IndexFunc(l.Records, func(r WaveRecord) bool { return r.Image == image })
	if i < 0 {
		return WaveRecord{}, false
	}
	return l.Records[i], true
}

// With returns the log with r recorded: a record of the same image is
// replaced (a retry writes the same line twice), and only the newest
// maxWaveRecords are kept.
func (l WaveLog) With(stamp string, r WaveRecord) WaveLog {
	if len(r.Reason) > maxWaveReason {
		r.Reason = r.Reason[:maxWaveReason-3] + "..."
	}
	out := WaveLog{Stamp: stamp}
	for _, old := range l.Records {
		if old.Image != r.Image {
			out.Records = append(out.Records, old)
		}
	}
	out.Records = append(out.Records, r)
	if n := len(out.Records); n > maxWaveRecords {
		out.Records = out.Records[n-maxWaveRecords:]
	}
	return out
}

// WaveImage is the identity of img that every stamp's copy shares: the
// Image Builder image ARN (tag arnTag, or Source), else the AMI name,
// which a distribution gives every copy.
func WaveImage(img Image, arnTag string) string {
	if arn := img.Tags[arnTag]; arn != "" {
		return arn
	}
	if img.Source != "" {
		return img.Source
	}
	return img.Name
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
// when the parameter does not exist yet).
func WaveGate(w Wave, log *WaveLog, image string, since, now time.Time) WaveDecision {
	if w.After == nil {
		return WaveDecision{Verdict: WaveGo, Reason: "first stamp of the wave"}
	}
	after := w.After.Stamp
	if log != nil {
		if r, ok := log.Find(image); ok {
			switch r.Outcome {
			case WavePromoted:
				return WaveDecision{Verdict: WaveGo, Reason: fmt.Sprintf("stamp %s promoted image %s", after, image)}
			case WaveHalted:
				// The stamp that rolled back is named in the reason already.
				return WaveDecision{Verdict: WaveHalt, Reason: r.Reason}
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
	if o == Succeeded {
		return WavePromoted
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
}

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
// again, a halt keeps why.
func (s State) WithWave(img Image, image string, since, now time.Time, d WaveDecision) State {
	next := s.clone()
	switch d.Verdict {
	case WaveGo:
		if next.Wave != nil {
			next.note(now, "wave: %s", d.Reason)
		}
		next.Wave = nil
	case WaveWait:
		if next.Wave == nil || next.Wave.Image.ID != img.ID {
			next.note(now, "%s: image %s (%s)", d.Reason, img.ID, image)
		}
		next.Wave = &WaveWaiting{Image: img, Since: since, WakeAt: d.RecheckAt, Reason: d.Reason}
	default:
		next.Wave = nil
		next.Halted = &HaltRecord{Image: image, AMI: img.ID, Reason: d.Reason, At: now}
		next.note(now, "%s", d.Reason)
	}
	return next
}
