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
	"github.com/stampkit/stampkit/shared/launchtemplate"
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
	// A parameter that cannot be written never holds the listener back
	// (a rollback must move traffic whatever SSM says); it is counted.
	hs.aws.fail("Put", errors.New("AccessDenied"))
	tickUntil(t, hs, "the 50% step", shiftedTo(50))
	if got := hs.aws.weights[tgGreen]; got != 50 {
		t.Errorf("green weight after a failed parameter write: got %d, want 50", got)
	}
	if got := hs.metric(t, "WeightParametersNotWritten"); got != 1 {
		t.Errorf("WeightParametersNotWritten: got %v, want 1", got)
	}
}

func TestEventForAnAMIThatNoLongerExistsIsIgnored(t *testing.T) {
	hs := newHarness(t, rollingPolicy(), false)
	delete(hs.aws.images, newAMI)
	// Just announced: EC2 may not describe it yet. The delivery fails and
	// its retry looks again.
	if err := hs.h.Handle(t.Context(), amiEvent(t, "ev-1", newAMI, "available")); err == nil {
		t.Fatal("Handle right after the event: got nil, want an error to retry")
	}
	// Minutes later it is gone for good: logged, counted, nothing retried.
	hs.clock.Set(t0.Add(10 * time.Minute))
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
	for _, tt := range []struct {
		name, arn string
		rolls     bool
	}{
		{"built here", buildARN, false},
		// Distributed after its tests from another region or account: the
		// pipeline's event stays there, so EC2's is the only one here.
		{"copied from another region", strings.Replace(buildARN, "us-west-2", "eu-west-1", 1), true},
		{"shared from another account", strings.Replace(buildARN, "111122223333", "444455556666", 1), true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			hs := newHarness(t, rollingPolicy(), false)
			img := hs.aws.images[newAMI]
			img.Tags[imagebuilder.ARNTag] = tt.arn
			hs.aws.images[newAMI] = img
			hs.handle(t, amiEvent(t, "ev-1", newAMI, "available")) // us-west-2, account 111122223333
			if s, _ := hs.state(t); s.Active() != tt.rolls {
				t.Fatalf("rollout active %v on EC2's event, want %v", s.Active(), tt.rolls)
			}
		})
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

// TestBlueGreenRefusesToStampASideThatCarriesTraffic: a listener that
// still sends the idle side traffic (set by hand, or left by a rollout an
// operator has not settled) would lose it when the stamp empties that side.
func TestBlueGreenRefusesToStampASideThatCarriesTraffic(t *testing.T) {
	hs := newHarness(t, blueGreenPolicy(), false)
	hs.aws.weights[tgBlue], hs.aws.weights[tgGreen] = 70, 30
	hs.handle(t, amiEvent(t, "ev-1", newAMI, "available"))
	wantEffects(t, hs)
	if !strings.Contains(hs.logs.String(), "sends weight 30 to tg-green") {
		t.Errorf("log: want the idle side's weight named")
	}
}

// TestQueuedImageWaitsForAnOperatorAfterAFailure: a rollout that ended
// Failed is an operator's to look at; the image queued behind it is not
// started by itself.
func TestQueuedImageWaitsForAnOperatorAfterAFailure(t *testing.T) {
	hs := startRolling(t)
	hs.aws.images["ami-newer"] = launchtemplate.Image{ID: "ami-newer", Name: "web-3", State: "available", Architecture: "arm64",
		CreationDate: t0, RootEncrypted: true, Tags: map[string]string{"commit": "ccc", rollout.FleetTag: fleetName}}
	hs.handle(t, amiEvent(t, "ev-2", "ami-newer", "available"))
	// The refresh fails and its revert leaves instances on the new version.
	hs.aws.setRefresh("refresh-1", rollout.RefreshFailed, 1, "4")
	tickUntil(t, hs, "the revert's refresh", func(s rollout.State) bool { return s.Reverting && s.RefreshID != "" })
	hs.aws.setRefresh("refresh-2", rollout.RefreshSuccessful, 1, "4")
	tickUntil(t, hs, "the end", inPhase(rollout.PhaseDone))
	s := wantPhase(t, hs, rollout.PhaseDone, rollout.Failed)
	if s.Queued != nil || s.Image.ID != newAMI {
		t.Errorf("after the failure: image %s queued %v; want the failed rollout's and nothing queued", s.Image.ID, s.Queued)
	}
}
