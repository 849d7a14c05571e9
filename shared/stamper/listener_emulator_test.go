package stamper_test

import (
	"testing"

	"github.com/stampkit/stampkit/shared/elb"
	"github.com/stampkit/stampkit/shared/event"
	"github.com/stampkit/stampkit/shared/rollout"
)

// TestEmulatorListenerUpdateAfterPromotion: green serves after a promotion;
// a stack update writes the template's weights (blue 100, green 0) to the
// listener in moto; the listener's UPDATE_COMPLETE puts green back at 100,
// through the real ELB adapter and the rollout lock in DynamoDB.
func TestEmulatorListenerUpdateAfterPromotion(t *testing.T) {
	w := newEmuWorld(t, emuBlueGreen(), nil)
	w.announce(t, w.newImage(t, "web-2"))
	for st := w.state(t); st.Phase != rollout.PhaseDone; st = w.state(t) {
		w.tick(t)
	}
	if st := w.state(t); st.Outcome != rollout.Succeeded || st.Live != emuGreen {
		t.Fatalf("rollout: outcome %s live %s, want succeeded on %s", st.Outcome, st.Live, emuGreen)
	}
	if got := w.look(t).Weights; got["blue"] != 0 || got["green"] != 100 {
		t.Fatalf("after the promotion: got weights %v, want blue 0 green 100", got)
	}

	// What CloudFormation does when the deploy touches the listener.
	err := w.elb.SetForwardWeights(t.Context(), w.fleet.ListenerARN, []elb.Weighted{
		{TargetGroupARN: w.fleet.BlueTargetGroupARN, Weight: 100}, {TargetGroupARN: w.fleet.GreenTargetGroupARN, Weight: 0},
	})
	if err != nil {
		t.Fatalf("SetForwardWeights: %v", err)
	}
	w.handle(t, stackEvent(t, "cfn-1", event.ResourceTypeListener, w.fleet.ListenerARN, event.ResourceUpdateComplete))
	if got := w.look(t).Weights; got["blue"] != 0 || got["green"] != 100 {
		t.Errorf("after the listener update: got weights %v, want blue 0 green 100", got)
	}
}
