package rollout_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/stampkit/stampkit/shared/clock"
	"github.com/stampkit/stampkit/shared/rollout"
)

func TestWaveGate(t *testing.T) {
	const img = "arn:aws:imagebuilder:us-east-1:111111111111:image/stampkit-eu1-web/1.0.0/7"
	const older = "arn:aws:imagebuilder:us-east-1:111111111111:image/stampkit-eu1-web/1.0.0/6"
	second := rollout.Wave{Stamp: "us2", Parameter: "/stampkit/us2/web/wave",
		After: &rollout.WaveStamp{Stamp: "eu1", Region: "eu-west-1", Parameter: "/stampkit/eu1/web/wave"}}
	logOf := func(rs ...rollout.WaveRecord) *rollout.WaveLog { return &rollout.WaveLog{Stamp: "eu1", Records: rs} }
	rec := func(image string, o rollout.WaveOutcome, reason string) rollout.WaveRecord {
		return rollout.WaveRecord{Image: image, Outcome: o, Reason: reason, At: t0}
	}
	now := t0.Add(time.Hour)
	tests := []struct {
		name   string
		wave   rollout.Wave
		log    *rollout.WaveLog
		since  time.Time
		want   rollout.WaveVerdict
		reason string
	}{
		{name: "first stamp goes at once", wave: rollout.Wave{Stamp: "eu1", Parameter: "/p"}, since: now, want: rollout.WaveGo},
		{name: "predecessor promoted the image", wave: second, log: logOf(rec(older, rollout.WavePromoted, ""), rec(img, rollout.WavePromoted, "")),
			since: now, want: rollout.WaveGo},
		{name: "missing parameter: the predecessor never finished a rollout", wave: second, since: now, want: rollout.WaveWait,
			reason: "waiting for wave: eu1"},
		{name: "predecessor finished only an older image: still in progress", wave: second, log: logOf(rec(older, rollout.WavePromoted, "")),
			since: now, want: rollout.WaveWait, reason: "waiting for wave: eu1"},
		{name: "predecessor rolled back the image", wave: second, log: logOf(rec(img, rollout.WaveRolledBack, "alarm 5xx fired")),
			since: now, want: rollout.WaveHalt, reason: "halted: stamp eu1 rolled back image " + img + ": alarm 5xx fired"},
		{name: "predecessor halted the image: the first reason travels on", wave: second,
			log:   logOf(rec(img, rollout.WaveHalted, "halted: stamp ap1 rolled back image "+img+": alarm")),
			since: now, want: rollout.WaveHalt, reason: "halted: stamp ap1 rolled back image " + img + ": alarm"},
		{name: "a rolled-back older image does not halt a newer one", wave: second, log: logOf(rec(older, rollout.WaveRolledBack, "alarm")),
			since: now, want: rollout.WaveWait},
		{name: "predecessor rejected the image", wave: second, log: logOf(rec(img, rollout.WaveRejected, "root volume is not encrypted")),
			since: now, want: rollout.WaveHalt, reason: "halted: stamp eu1 rejected image " + img + ": root volume is not encrypted"},
		{name: "predecessor skipped the image (dry run): go as the first stamp would", wave: second, log: logOf(rec(img, rollout.WaveSkipped, "dry run")),
			since: now, want: rollout.WaveGo},
		{name: "predecessor dropped the image for a newer one: drop it, no halt", wave: second, log: logOf(rec(img, rollout.WaveSuperseded, "newer image")),
			since: now, want: rollout.WaveDrop},
		{name: "a record of the copy's name matches the ARN's image", wave: second, log: logOf(rec("stampkit-eu1-web-1.0.0-7", rollout.WavePromoted, "")),
			since: now, want: rollout.WaveGo},
		{name: "waited too long", wave: second, since: now.Add(-rollout.DefaultWaveMaxWait), want: rollout.WaveHalt,
			reason: "halted: stamp eu1 did not finish image " + img + " within 48h0m0s"},
		{name: "a shorter bound", wave: withMaxWait(second, 30*time.Minute), since: now.Add(-30 * time.Minute), want: rollout.WaveHalt},
		{name: "just inside the bound", wave: withMaxWait(second, 30*time.Minute), since: now.Add(-29 * time.Minute), want: rollout.WaveWait},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := rollout.WaveGate(tt.wave, tt.log, rollout.WaveID{ARN: img, Name: "stampkit-eu1-web-1.0.0-7"}, tt.since, now)
			if d.Verdict != tt.want {
				t.Fatalf("verdict: got %s (%s), want %s", d.Verdict, d.Reason, tt.want)
			}
			if tt.reason != "" && d.Reason != tt.reason {
				t.Errorf("reason: got %q, want %q", d.Reason, tt.reason)
			}
			if d.Verdict == rollout.WaveWait && !d.RecheckAt.Equal(now.Add(rollout.WaveRecheck)) {
				t.Errorf("recheck: got %s, want %s", d.RecheckAt, now.Add(rollout.WaveRecheck))
			}
		})
	}
}

func withMaxWait(w rollout.Wave, d time.Duration) rollout.Wave {
	w.MaxWait = clock.Duration(d)
	return w
}

func TestWaveLogWith(t *testing.T) {
	rec := func(i int, o rollout.WaveOutcome) rollout.WaveRecord {
		return rollout.WaveRecord{Image: fmt.Sprintf("img-%d", i), Outcome: o, At: t0.Add(time.Duration(i) * time.Minute)}
	}
	t.Run("a duplicate write replaces its record", func(t *testing.T) {
		l := rollout.WaveLog{}.With("eu1", rec(1, rollout.WaveRolledBack)).With("eu1", rec(2, rollout.WavePromoted)).With("eu1", rec(1, rollout.WaveRolledBack))
		want := rollout.WaveLog{Stamp: "eu1", Records: []rollout.WaveRecord{rec(2, rollout.WavePromoted), rec(1, rollout.WaveRolledBack)}}
		if diff := cmp.Diff(want, l); diff != "" {
			t.Errorf("log (-want +got):\n%s", diff)
		}
	})
	t.Run("only the newest records are kept", func(t *testing.T) {
		l := rollout.WaveLog{}
		for i := range 9 {
			l = l.With("eu1", rec(i, rollout.WavePromoted))
		}
		if len(l.Records) != 5 || l.Records[0].Image != "img-4" || l.Records[4].Image != "img-8" {
			t.Errorf("got %+v, want img-4 … img-8", l.Records)
		}
	})
	t.Run("a long reason is cut so the parameter stays small", func(t *testing.T) {
		r := rec(1, rollout.WaveRolledBack)
		r.Reason = strings.Repeat("x", 5000)
		l := rollout.WaveLog{}.With("eu1", r)
		if n := len(l.Encode()); n > 1000 {
			t.Errorf("encoded log: got %d bytes, want under 1000", n)
		}
	})
	t.Run("a log of escaped reasons still fits a standard parameter", func(t *testing.T) {
		l := rollout.WaveLog{}
		for i := range 5 {
			r := rec(i, rollout.WaveRolledBack)
			r.Reason = strings.Repeat("<\"&", 200) // JSON writes each as 6 characters
			r.Image = "arn:aws:imagebuilder:eu-west-1:111111111111:image/" + strings.Repeat("n", 60) + fmt.Sprint(i)
			r.Name = strings.Repeat("m", 120) + fmt.Sprint(i)
			l = l.With("eu1", r)
		}
		enc := l.Encode()
		if len(enc) > rollout.MaxWaveValue {
			t.Fatalf("encoded log: got %d bytes, want at most %d", len(enc), rollout.MaxWaveValue)
		}
		got, err := rollout.ParseWaveLog(enc)
		if err != nil || len(got.Records) == 0 || got.Records[len(got.Records)-1].Image != l.Records[4].Image {
			t.Errorf("got %d records (newest %+v), err %v; want the newest kept", len(got.Records), got.Records, err)
		}
	})
	t.Run("a pass-by outcome never replaces how a rollout ended", func(t *testing.T) {
		l := rollout.WaveLog{}.With("eu1", rec(1, rollout.WavePromoted)).Add("eu1", rec(1, rollout.WaveRejected))
		if r, _ := l.Find(rollout.WaveID{ARN: "img-1"}); r.Outcome != rollout.WavePromoted {
			t.Errorf("got %s, want promoted kept", r.Outcome)
		}
		l = l.Add("eu1", rec(2, rollout.WaveSkipped)).Add("eu1", rec(2, rollout.WavePromoted))
		if r, _ := l.Find(rollout.WaveID{ARN: "img-2"}); r.Outcome != rollout.WavePromoted {
			t.Errorf("got %s, want promoted over skipped", r.Outcome)
		}
	})
	t.Run("encode and parse round-trip", func(t *testing.T) {
		l := rollout.WaveLog{}.With("eu1", rec(1, rollout.WavePromoted))
		got, err := rollout.ParseWaveLog(l.Encode())
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(l, got); diff != "" {
			t.Errorf("round trip (-want +got):\n%s", diff)
		}
	})
	t.Run("a malformed value is an error", func(t *testing.T) {
		if _, err := rollout.ParseWaveLog("{not json"); err == nil {
			t.Error("got nil, want an error")
		}
	})
}

func TestWaveImage(t *testing.T) {
	const arn = "arn:aws:imagebuilder:us-east-1:1:image/x/1.0.0/1"
	tests := []struct {
		name string
		img  rollout.Image
		want rollout.WaveID
	}{
		{name: "the Image Builder ARN tag every copy carries", img: rollout.Image{ID: "ami-1", Name: "n", Tags: map[string]string{"Ec2ImageBuilderArn": arn}},
			want: rollout.WaveID{ARN: arn, Name: "n"}},
		{name: "the build's ARN where the event named it", img: rollout.Image{ID: "ami-1", Name: "n", Source: arn}, want: rollout.WaveID{ARN: arn, Name: "n"}},
		{name: "a Packer copy: its name", img: rollout.Image{ID: "ami-1", Name: "stampkit-web-1"}, want: rollout.WaveID{Name: "stampkit-web-1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := rollout.WaveImage(tt.img, "Ec2ImageBuilderArn"); got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestWaveOutcomeOf(t *testing.T) {
	for o, want := range map[rollout.Outcome]rollout.WaveOutcome{
		rollout.Succeeded: rollout.WavePromoted, rollout.RolledBack: rollout.WaveRolledBack,
		rollout.Superseded: rollout.WaveSuperseded, rollout.Failed: rollout.WaveRolledBack,
	} {
		if got := rollout.WaveOutcomeOf(o); got != want {
			t.Errorf("%s: got %s, want %s", o, got, want)
		}
	}
}

// A copy that lacks the Image Builder ARN tag is known by its name: the
// record the build stamp wrote (with the ARN) still matches it.
func TestWaveIdentityMatchesCopyWithoutARNTag(t *testing.T) {
	const arn = "arn:aws:imagebuilder:us-east-1:111111111111:image/stampkit-main-web/1.0.0/7"
	const name = "stampkit-main-web-1.0.0-2026-11-25T12-00-00.000Z"
	built := rollout.Image{ID: "ami-b", Name: name, Source: arn, Tags: map[string]string{"Ec2ImageBuilderArn": arn}}
	copyNoTag := rollout.Image{ID: "ami-c", Name: name}
	log := rollout.WaveLog{}.With("main", rollout.NewWaveRecord(rollout.WaveImage(built, "Ec2ImageBuilderArn"), built, rollout.WavePromoted, "", t0))
	w := rollout.Wave{Stamp: "eu1", After: &rollout.WaveStamp{Stamp: "main"}}
	d := rollout.WaveGate(w, &log, rollout.WaveImage(copyNoTag, "Ec2ImageBuilderArn"), t0, t0.Add(time.Hour))
	if d.Verdict != rollout.WaveGo {
		t.Errorf("main promoted the image; eu1's untagged copy: got %s (%s), want go", d.Verdict, d.Reason)
	}
}

func TestWithWaveKeepsOlderImagesInLine(t *testing.T) {
	n := rollout.Image{ID: "ami-n", Name: "web-2", Created: t0}
	n1 := rollout.Image{ID: "ami-n1", Name: "web-3", Created: t0.Add(time.Hour)}
	wait := rollout.WaveDecision{Verdict: rollout.WaveWait, Reason: "waiting for wave: eu1", RecheckAt: t0.Add(rollout.WaveRecheck)}
	s := rollout.State{Fleet: "web"}.
		WithWave(n, rollout.WaveID{Name: n.Name}, t0, t0, wait).
		WithWave(n1, rollout.WaveID{Name: n1.Name}, t0.Add(time.Minute), t0.Add(time.Minute), wait)
	if s.Wave == nil || s.Wave.Image.ID != n1.ID || len(s.Wave.Older) != 1 || s.Wave.Older[0].Image.ID != n.ID {
		t.Fatalf("after N+1 came: got %+v, want N+1 waiting, N older", s.Wave)
	}
	now := t0.Add(2 * time.Hour)
	halt := rollout.WaveDecision{Verdict: rollout.WaveHalt, Reason: "halted: stamp eu1 rolled back image web-3: alarm"}
	h := s.WithWave(n1, rollout.WaveID{Name: n1.Name}, t0.Add(time.Minute), now, halt)
	if h.Halted == nil || h.Halted.AMI != n1.ID {
		t.Errorf("halted: got %+v, want N+1", h.Halted)
	}
	if h.Wave == nil || h.Wave.Image.ID != n.ID || !h.Wave.WakeAt.Equal(now) || !h.Wave.Since.Equal(t0) || len(h.Wave.Older) != 0 {
		t.Errorf("after the halt: got %+v, want N next in line, due now, since %s", h.Wave, t0)
	}
	if d := h.WithoutWaiting(n, now); d.Wave != nil {
		t.Errorf("N dropped: got %+v waiting, want none", d.Wave)
	}
}
