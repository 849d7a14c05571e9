package stamper_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stampkit/stampkit/shared/elb"
	"github.com/stampkit/stampkit/shared/event"
	"github.com/stampkit/stampkit/shared/imagebuilder"
	"github.com/stampkit/stampkit/shared/rollout"
	"github.com/stampkit/stampkit/shared/scaling"
	"github.com/stampkit/stampkit/shared/stamper"
)

// TestWeightParametersWrittenBeforeTheListener: the listener's template
// reads its weights from the parameters, so they hold the weights the
// rollout sets before it sets them: a deploy in between writes where the
// rollout is going, never where it has left.
func TestWeightParametersWrittenBeforeTheListener(t *testing.T) {
	p := blueGreenPolicy()
	p.BlueGreen.WeightParameters = rollout.WeightParameters{TargetGroup: "/stampkit/web/weight/blue", PeerTargetGroup: "/stampkit/web/weight/green"}
	hs := startBlueGreen(t, p)
	hs.tick(t)
	wantEffects(t, hs,
		"Put /stampkit/web/weight/blue 90",
		"Put /stampkit/web/weight/green 10",
		"SetForwardWeights listener-1 tg-blue=90 tg-green=10",
	)
	// A parameter that cannot be written leaves the listener alone.
	hs.aws.fail("Put", errors.New("throttled"))
	tickUntilErr(t, hs)
	if got := hs.aws.weights[tgGreen]; got != 10 {
		t.Errorf("green weight after a failed parameter write: got %d, want 10", got)
	}
}

// tickUntilErr delivers wake-ups until one fails.
func tickUntilErr(t *testing.T, hs *harness) {
	t.Helper()
	for range 20 {
		w := hs.aws.lastWake(t)
		if hs.clock.Now().Before(w.At) {
			hs.clock.Set(w.At)
		}
		if err := hs.h.Handle(t.Context(), tickBody(t, w.Key, w.At)); err != nil {
			return
		}
	}
	t.Fatal("no wake-up failed")
}

func TestEventForAnAMIThatNoLongerExistsIsIgnored(t *testing.T) {
	hs := newHarness(t, rollingPolicy(), false)
	delete(hs.aws.images, newAMI)
	hs.handle(t, amiEvent(t, "ev-1", newAMI, "available"))
	hs.handle(t, readyEvent(t, newAMI))
	wantEffects(t, hs)
	if got := hs.metric(t, "ImagesNotFound"); got != 2 {
		t.Errorf("ImagesNotFound: got %v, want 2", got)
	}
}

// TestImageBuilderAMIWaitsForThePipelinesTests: EC2 announces the AMI
// before Image Builder has tested it; only the pipeline's AVAILABLE
// rolls it out.
func TestImageBuilderAMIWaitsForThePipelinesTests(t *testing.T) {
	hs := newHarness(t, rollingPolicy(), false)
	img := hs.aws.images[newAMI]
	img.Tags[imagebuilder.ARNTag] = buildARN
	hs.aws.images[newAMI] = img
	hs.handle(t, amiEvent(t, "ev-1", newAMI, "available"))
	wantEffects(t, hs)
	if s, _ := hs.state(t); s.Active() {
		t.Fatalf("rollout %s began on EC2's event, before the image's tests", s.ID)
	}
}

func TestImageReadyRollsOut(t *testing.T) {
	hs := newHarness(t, rollingPolicy(), false)
	hs.handle(t, readyEvent(t, newAMI))
	wantPhase(t, hs, rollout.PhaseRefresh, "")
	// The AMI's own event, late, is the same image: nothing more.
	hs.aws.Effects()
	hs.handle(t, amiEvent(t, "ev-1", newAMI, "available"))
	wantEffects(t, hs)
}

func readyEvent(t *testing.T, ami string) []byte {
	t.Helper()
	b, err := event.ImageReadyBody(ami, t0)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestBlueGreenRefusesAListenerItCannotShift(t *testing.T) {
	for _, tt := range []struct {
		name  string
		setup func(hs *harness)
		want  string
	}{
		{"sticky forward", func(hs *harness) { hs.aws.sticky = true }, "stickiness"},
		{"a third target group", func(hs *harness) { hs.aws.weights["tg-other"] = 5 }, "tg-other"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			hs := newHarness(t, blueGreenPolicy(), false)
			hs.h.Listeners = otherGroups{Listeners: hs.h.Listeners, aws: hs.aws}
			tt.setup(hs)
			hs.handle(t, amiEvent(t, "ev-1", newAMI, "available"))
			wantEffects(t, hs)
			if !strings.Contains(hs.logs.String(), tt.want) {
				t.Errorf("log: want the reason naming %q", tt.want)
			}
			if got := hs.metric(t, "ImagesRejected"); got != 1 {
				t.Errorf("ImagesRejected: got %v, want 1", got)
			}
		})
	}
}

// otherGroups reports every target group the fake listener has a weight
// for, not just the fleet's two.
type otherGroups struct {
	stamper.Listeners
	aws *fakeAWS
}

func (o otherGroups) Forward(ctx context.Context, arn string) (elb.Forward, error) {
	fw, err := o.Listeners.Forward(ctx, arn)
	if w, ok := o.aws.weights["tg-other"]; ok {
		fw.Weights = append(fw.Weights, elb.Weighted{TargetGroupARN: "tg-other", Weight: int32(w)})
	}
	return fw, err
}

// TestBlueGreenStepHoldsTheScalerLease: a scaling decision reads which
// group serves and sizes it under the scaler's lease; a rollout step that
// moves that role holds the same lease, so the two never interleave.
func TestBlueGreenStepHoldsTheScalerLease(t *testing.T) {
	hs := startBlueGreen(t, blueGreenPolicy())
	probe := &leaseProbe{Listeners: hs.h.Listeners, hs: hs, t: t}
	hs.h.Listeners = probe
	tickUntil(t, hs, "retention", inPhase(rollout.PhaseRetain))
	if probe.calls == 0 {
		t.Fatal("no weights set")
	}
}

type leaseProbe struct {
	stamper.Listeners
	hs    *harness
	t     *testing.T
	calls int
}

func (l *leaseProbe) SetForwardWeights(ctx context.Context, arn string, ws []elb.Weighted) error {
	l.calls++
	if ok, err := l.hs.store.Claim(ctx, scaling.LeaseKey(fleetName), "a scaling decision", time.Minute); err != nil || ok {
		l.t.Errorf("scaler lease claimable while the rollout sets weights (claimed %v, error %v)", ok, err)
	}
	return l.Listeners.SetForwardWeights(ctx, arn, ws)
}

// TestRefreshThatCannotBeSeenEndsTheHold: a refresh Auto Scaling no
// longer describes (the group replaced, the refresh aged out) ends the
// rollout's wait after the blind timeout, with a metric an alarm watches,
// and the hold on scale-in ends with it.
func TestRefreshThatCannotBeSeenEndsTheHold(t *testing.T) {
	hs := startRolling(t)
	hs.aws.setRefresh("refresh-1", rollout.RefreshInProgress, 1, "4")
	delete(hs.aws.refreshes, "refresh-1")
	tickUntil(t, hs, "the revert", inPhase(rollout.PhaseRevert))
	if got := hs.metric(t, "RolloutsBlind"); got != 1 {
		t.Errorf("RolloutsBlind: got %v, want 1", got)
	}
	if at := hs.clock.Now(); at.Sub(t0) < rollout.DefaultBlindTimeout {
		t.Errorf("gave up after %s, want the blind timeout %s", at.Sub(t0), rollout.DefaultBlindTimeout)
	}
	// The revert starts a refresh of its own back to the old version, and
	// the rollout ends.
	hs.tick(t)
	hs.aws.setRefresh("refresh-2", rollout.RefreshSuccessful, 0, "3")
	tickUntil(t, hs, "the end", inPhase(rollout.PhaseDone))
	if hs.hold(t) != nil {
		t.Errorf("hold after the rollout ended: %+v", hs.hold(t))
	}
}
