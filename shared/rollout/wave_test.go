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
		{name: "waited too long", wave: second, since: now.Add(-rollout.DefaultWaveMaxWait), want: rollout.WaveHalt,
			reason: "halted: stamp eu1 did not finish image " + img + " within 48h0m0s"},
		{name: "a shorter bound", wave: withMaxWait(second, 30*time.Minute), since: now.Add(-30 * time.Minute), want: rollout.WaveHalt},
		{name: "just inside the bound", wave: withMaxWait(second, 30*time.Minute), since: now.Add(-29 * time.Minute), want: rollout.WaveWait},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := rollout.WaveGate(tt.wave, tt.log, img, tt.since, now)
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
		want string
	}{
		{name: "the Image Builder ARN tag every copy carries", img: rollout.Image{ID: "ami-1", Name: "n", Tags: map[string]string{"Ec2ImageBuilderArn": arn}}, want: arn},
		{name: "the build's ARN where the event named it", img: rollout.Image{ID: "ami-1", Name: "n", Source: arn}, want: arn},
		{name: "a Packer copy: its name", img: rollout.Image{ID: "ami-1", Name: "stampkit-web-1"}, want: "stampkit-web-1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := rollout.WaveImage(tt.img, "Ec2ImageBuilderArn"); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestWaveOutcomeOf(t *testing.T) {
	for o, want := range map[rollout.Outcome]rollout.WaveOutcome{
		rollout.Succeeded: rollout.WavePromoted, rollout.RolledBack: rollout.WaveRolledBack,
		rollout.Superseded: rollout.WaveRolledBack, rollout.Failed: rollout.WaveRolledBack,
	} {
		if got := rollout.WaveOutcomeOf(o); got != want {
			t.Errorf("%s: got %s, want %s", o, got, want)
		}
	}
}
