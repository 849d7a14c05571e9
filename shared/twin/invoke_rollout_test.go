package twin_test

import (
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/stampkit/stampkit/shared/cwalarm"
	"github.com/stampkit/stampkit/shared/event"
	"github.com/stampkit/stampkit/shared/rollout"
	"github.com/stampkit/stampkit/shared/twin"
)

func TestInvokeRolloutSamples(t *testing.T) {
	const (
		eventAMI  = "ami-0abcdef1234567890" // ec2-ami-state-change-*
		refreshID = "c613620e-07e2-4ed2-a9e2-ef8258911ade"
	)
	amiAt := time.Date(2024, 5, 13, 21, 4, 10, 0, time.UTC)
	builtAt := time.Date(2024, 1, 18, 17, 50, 56, 0, time.UTC)
	commandAt := time.Date(2026, 11, 25, 15, 4, 5, 0, time.UTC)
	refreshAt := time.Date(2024, 5, 15, 8, 41, 10, 0, time.UTC)
	size := twin.RolloutInvocation{Min: 2, Max: 20, Desired: 4, Replace: 5 * time.Minute}
	with := func(f func(*twin.RolloutInvocation)) twin.RolloutInvocation {
		inv := size
		f(&inv)
		return inv
	}
	stamped := func() []string {
		return []string{"+0s version created " + twin.LaunchTemplateID, "+0s default version " + twin.LaunchTemplateID,
			"+0s parameter " + twin.ImageParameter}
	}
	tests := []struct {
		name   string
		sample string
		inv    twin.RolloutInvocation
		start  time.Time
		// want lists the effects but wake-ups and phase changes.
		want        []string
		wantImage   string
		wantPhase   rollout.Phase
		wantOutcome rollout.Outcome
		wantQueued  string
		// wantDefault and wantParameter are the launch template's default
		// version and the image parameter afterwards.
		wantDefault   int64
		wantParameter string
		wantWeights   []string
	}{
		{
			name: "available AMI is stamped and refreshed into the group", sample: "ec2-ami-state-change-available", inv: size, start: amiAt,
			want:      append(stamped(), "+0s refresh started 00000001-0000-4000-8000-000000000000"),
			wantImage: eventAMI, wantPhase: rollout.PhaseRefresh, wantDefault: 2, wantParameter: eventAMI,
		},
		{
			name: "available AMI starts a blue/green rollout on the peer group", sample: "ec2-ami-state-change-available", start: amiAt,
			inv:       with(func(i *twin.RolloutInvocation) { i.Strategy = rollout.StrategyBlueGreen }),
			want:      append(stamped(), "+0s group version web-asg-green", "+0s resized web-asg-green"),
			wantImage: eventAMI, wantPhase: rollout.PhaseWarm, wantDefault: 2, wantParameter: eventAMI,
		},
		{
			name: "Image Builder image is rolled out as its AMI", sample: "imagebuilder-image-state-change", inv: size, start: builtAt,
			want:      append(stamped(), "+0s refresh started 00000001-0000-4000-8000-000000000000"),
			wantImage: twin.ImageV2, wantPhase: rollout.PhaseRefresh, wantDefault: 2, wantParameter: twin.ImageV2,
		},
		{
			name: "failed AMI rolls nothing out", sample: "ec2-ami-state-change-failed", inv: size,
			wantDefault: 1, wantParameter: twin.ImageV1,
		},
		{
			name: "followed rolling rollout succeeds", sample: "ec2-ami-state-change-available", start: amiAt,
			inv:       with(func(i *twin.RolloutInvocation) { i.Follow = true }),
			want:      append(stamped(), "+0s refresh started 00000001-0000-4000-8000-000000000000", "+5m0s group version web-asg"),
			wantImage: eventAMI, wantPhase: rollout.PhaseDone, wantOutcome: rollout.Succeeded, wantDefault: 2, wantParameter: eventAMI,
		},
		{
			name: "followed rolling rollout under an alarm rolls back", sample: "ec2-ami-state-change-available", start: amiAt,
			inv: with(func(i *twin.RolloutInvocation) { i.Follow, i.Alarm = true, cwalarm.StateAlarm }),
			want: append(stamped(), "+0s refresh started 00000001-0000-4000-8000-000000000000",
				"+5m0s default version "+twin.LaunchTemplateID, "+5m0s parameter "+twin.ImageParameter, "+5m0s group version web-asg",
				"+6m0s group version web-asg"),
			wantImage: eventAMI, wantPhase: rollout.PhaseDone, wantOutcome: rollout.RolledBack, wantDefault: 1, wantParameter: twin.ImageV1,
		},
		{
			name: "followed blue/green rollout shifts in steps and promotes", sample: "ec2-ami-state-change-available", start: amiAt,
			inv: with(func(i *twin.RolloutInvocation) { i.Follow, i.Strategy = true, rollout.StrategyBlueGreen }),
			want: append(stamped(), "+0s group version web-asg-green", "+0s resized web-asg-green",
				"+5m0s weights web-asg", "+10m0s weights web-asg", "+15m0s weights web-asg", "+20m0s resized web-asg"),
			wantWeights: []string{"web-asg 90, web-asg-green 10", "web-asg 50, web-asg-green 50", "web-asg 0, web-asg-green 100"},
			wantImage:   eventAMI, wantPhase: rollout.PhaseDone, wantOutcome: rollout.Succeeded, wantDefault: 2, wantParameter: eventAMI,
		},
		{
			name: "followed blue/green rollout under an alarm never shifts", sample: "ec2-ami-state-change-available", start: amiAt,
			inv: with(func(i *twin.RolloutInvocation) {
				i.Follow, i.Strategy, i.Alarm = true, rollout.StrategyBlueGreen, cwalarm.StateAlarm
			}),
			want: append(stamped(), "+0s group version web-asg-green", "+0s resized web-asg-green",
				"+15m0s default version "+twin.LaunchTemplateID, "+15m0s parameter "+twin.ImageParameter,
				"+15m0s weights web-asg", "+15m0s resized web-asg-green"),
			wantWeights: []string{"web-asg 100, web-asg-green 0"},
			wantImage:   eventAMI, wantPhase: rollout.PhaseDone, wantOutcome: rollout.RolledBack, wantDefault: 1, wantParameter: twin.ImageV1,
		},
		{
			name: "newer AMI waits behind the running rollout", sample: "ec2-ami-state-change-available", start: amiAt,
			inv:       with(func(i *twin.RolloutInvocation) { i.Running = true }),
			wantImage: twin.RunningImage, wantPhase: rollout.PhaseRefresh, wantQueued: eventAMI, wantDefault: 2, wantParameter: twin.RunningImage,
		},
		{
			name: "abort command rolls the running rollout back", sample: "stampkit-rollout-command", start: commandAt,
			inv: with(func(i *twin.RolloutInvocation) { i.Running = true }),
			want: []string{"+0s refresh rollback 00000001-0000-4000-8000-000000000000", "+0s default version " + twin.LaunchTemplateID,
				"+0s parameter " + twin.ImageParameter},
			wantImage: twin.RunningImage, wantPhase: rollout.PhaseRevert, wantDefault: 1, wantParameter: twin.ImageV1,
		},
		{
			name: "abort command with no rollout running is refused", sample: "stampkit-rollout-command", inv: size,
			wantDefault: 1, wantParameter: twin.ImageV1,
		},
		{
			name: "refresh success ends the running rollout", sample: "autoscaling-instance-refresh-succeeded", start: refreshAt,
			inv:       with(func(i *twin.RolloutInvocation) { i.Running = true }),
			want:      []string{"+0s group version my-asg"},
			wantImage: twin.RunningImage, wantPhase: rollout.PhaseDone, wantOutcome: rollout.Succeeded, wantDefault: 2, wantParameter: twin.RunningImage,
		},
		{
			name: "refresh failure reverts the running rollout", sample: "autoscaling-instance-refresh-failed", start: refreshAt,
			inv:       with(func(i *twin.RolloutInvocation) { i.Running = true }),
			want:      []string{"+0s default version " + twin.LaunchTemplateID, "+0s parameter " + twin.ImageParameter, "+0s group version my-asg"},
			wantImage: twin.RunningImage, wantPhase: rollout.PhaseRevert, wantDefault: 1, wantParameter: twin.ImageV1,
		},
		{
			name: "refresh no rollout follows is ignored", sample: "autoscaling-instance-refresh-succeeded", inv: size,
			wantDefault: 1, wantParameter: twin.ImageV1,
		},
		{
			name: "lifecycle action is another handler's", sample: "autoscaling-launch-lifecycle-action", inv: size,
			wantDefault: 1, wantParameter: twin.ImageV1,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			inv := tc.inv
			inv.Log = io.Discard
			res, err := twin.InvokeRollout(t.Context(), sample(t, tc.sample), inv)
			if err != nil {
				t.Fatalf("InvokeRollout: %v", err)
			}
			if diff := cmp.Diff(tc.want, effectLines(res.Effects, tc.start, false)); diff != "" {
				t.Errorf("effects (-want +got):\n%s\nall: %v", diff, effectLines(res.Effects, tc.start, true))
			}
			var weights []string
			for _, e := range res.Effects {
				switch e.What {
				case twin.EffectWeights:
					weights = append(weights, e.Detail)
				case twin.EffectVersionCreated, twin.EffectParameter:
					if !strings.HasSuffix(e.Detail, " "+tc.wantImage) && !strings.HasSuffix(e.Detail, " "+twin.ImageV1) {
						t.Errorf("got %s %q, want it for %s (or back to %s)", e.What, e.Detail, tc.wantImage, twin.ImageV1)
					}
				}
			}
			if diff := cmp.Diff(tc.wantWeights, weights); diff != "" {
				t.Errorf("weights (-want +got):\n%s", diff)
			}
			s := res.State
			queued := ""
			if s.Queued != nil {
				queued = s.Queued.ID
			}
			got := []any{s.Image.ID, s.Phase, s.Outcome, queued, res.DefaultVersion, res.Parameter}
			want := []any{tc.wantImage, tc.wantPhase, tc.wantOutcome, tc.wantQueued, tc.wantDefault, tc.wantParameter}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("image, phase, outcome, queued, default version, parameter (-want +got):\n%s", diff)
			}
			if tc.wantImage == "" && s.ID != "" {
				t.Errorf("got rollout %s, want none", s.ID)
			}
		})
	}
}

func TestInvokeRolloutRejects(t *testing.T) {
	ami := string(sample(t, "ec2-ami-state-change-available"))
	tests := []struct {
		name          string
		raw           string
		inv           twin.RolloutInvocation
		wantMalformed bool
	}{
		{name: "not JSON", raw: "{", wantMalformed: true},
		{name: "AMI event without detail", raw: strings.Replace(ami, `"detail"`, `"details"`, 1), wantMalformed: true},
		{name: "SQS record without a body", raw: `{"Records":[{"messageId":"1","body":""}]}`, wantMalformed: true},
		{name: "unknown kind", raw: strings.Replace(ami, "EC2 AMI State Change", "EC2 Snapshot Created", 1)},
		{name: "unknown kind while a rollout runs", raw: strings.Replace(ami, "EC2 AMI State Change", "EC2 Snapshot Created", 1),
			inv: twin.RolloutInvocation{Running: true}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			inv := tc.inv
			// Followed, a running rollout goes on: its wake-ups are not the
			// event's effects.
			inv.Min, inv.Max, inv.Desired, inv.Follow, inv.Log = 2, 20, 4, !inv.Running, io.Discard
			res, err := twin.InvokeRollout(t.Context(), []byte(tc.raw), inv)
			if got := errors.Is(err, event.ErrMalformed); got != tc.wantMalformed {
				t.Errorf("got error %v, want malformed %t", err, tc.wantMalformed)
			}
			if len(res.Effects) != 0 {
				t.Errorf("got effects %v, want none", res.Effects)
			}
			if res.DefaultVersion != 1 || res.Parameter != twin.ImageV1 {
				// A running rollout stamped its image before the event.
				if !tc.inv.Running || res.DefaultVersion != 2 || res.Parameter != twin.RunningImage {
					t.Errorf("got default version %d and parameter %s, want them as before the event", res.DefaultVersion, res.Parameter)
				}
			}
		})
	}
	if _, err := twin.InvokeRollout(t.Context(), []byte(ami), twin.RolloutInvocation{Min: 3, Max: 2, Desired: 2}); err == nil {
		t.Error("group min above max: got no error")
	}
}
