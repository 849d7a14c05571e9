package stamper_test

import (
	"context"
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"

	"github.com/stampkit/stampkit/shared/event"
	"github.com/stampkit/stampkit/shared/rollout"
	"github.com/stampkit/stampkit/shared/stamper"
)

// resourcesParam holds the test fleet's listener and target groups, as
// CloudFormation writes them at deploy time.
const resourcesParam = "/stampkit/web/blue-green-resources"

// parameterPolicy is blueGreenPolicy with its ARNs in resourcesParam, as a
// fleets file carries it.
func parameterPolicy() rollout.Policy {
	p := blueGreenPolicy()
	p.BlueGreen.ResourcesParameter = resourcesParam
	p.BlueGreen.Listener, p.BlueGreen.TargetGroup, p.BlueGreen.PeerTargetGroup = "", "", ""
	return p
}

func resourcesJSON(t *testing.T, listenerARN string) string {
	t.Helper()
	b, err := json.Marshal(rollout.Resources{Listener: listenerARN, TargetGroup: tgBlue, PeerTargetGroup: tgGreen})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// countingParams counts the handler's reads of each parameter.
type countingParams struct {
	stamper.Parameters
	gets map[string]int
}

func (c *countingParams) Get(ctx context.Context, name string) (string, error) {
	c.gets[name]++
	return c.Parameters.Get(ctx, name)
}

func countGets(hs *harness) *countingParams {
	c := &countingParams{Parameters: hs.h.Parameters, gets: map[string]int{}}
	hs.h.Parameters = c
	return c
}

// TestBlueGreenResourcesFromParameter: a fleet whose configuration names
// the parameter rolls out as one given the ARNs, reading the parameter
// once however many invocations follow.
func TestBlueGreenResourcesFromParameter(t *testing.T) {
	hs := newHarness(t, parameterPolicy(), false)
	hs.aws.params[resourcesParam] = resourcesJSON(t, listener)
	params := countGets(hs)

	hs.handle(t, amiEvent(t, "ev-1", newAMI, "available"))
	wantEffects(t, hs,
		"CreateVersionWithImage lt-0123 3 ami-new",
		"SetDefaultVersion lt-0123 4",
		"PutImage /stampkit/web/ami ami-new",
		"SetLaunchTemplateVersion web-green lt-0123 4",
		"Resize web-green 1/4/2",
	)
	tickUntil(t, hs, "retention", inPhase(rollout.PhaseRetain))
	want := []string{
		"SetForwardWeights listener-1 tg-blue=90 tg-green=10",
		"SetForwardWeights listener-1 tg-blue=50 tg-green=50",
		"SetForwardWeights listener-1 tg-blue=0 tg-green=100",
		"Resize web-blue 0/0/0",
	}
	if diff := cmp.Diff(want, hs.aws.Effects()); diff != "" {
		t.Fatalf("shift (-want +got):\n%s", diff)
	}
	// The listener's own stack update is matched by the ARN read.
	hs.handle(t, listenerUpdated(t, "cfn-1"))
	wantEffects(t, hs, "SetForwardWeights listener-1 tg-blue=0 tg-green=100")
	if got := params.gets[resourcesParam]; got != 1 {
		t.Errorf("reads of %s: got %d, want 1 for the execution environment", resourcesParam, got)
	}
}

// TestBlueGreenResourcesParameterUnfit: a parameter missing or not as
// expected fails the invocation (to be retried, then dead-lettered) before
// anything changes; once it is right, the retry rolls out.
func TestBlueGreenResourcesParameterUnfit(t *testing.T) {
	tests := []struct {
		name    string
		value   *string
		wantErr []string
	}{
		{name: "missing", wantErr: []string{"reading the listener and target groups of fleet web", "parameter not found"}},
		{name: "not JSON", value: new("listener-1"), wantErr: []string{"parameter " + resourcesParam + ", the listener and target groups of fleet web: not {"}},
		{name: "an ARN missing", value: new(`{"listener":"listener-1","targetGroup":"tg-blue"}`), wantErr: []string{"peerTargetGroup: is empty"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hs := newHarness(t, parameterPolicy(), false)
			if tt.value != nil {
				hs.aws.params[resourcesParam] = *tt.value
			}
			err := hs.h.Handle(t.Context(), amiEvent(t, "ev-1", newAMI, "available"))
			if err == nil {
				t.Fatalf("Handle succeeded, want an error containing %q", tt.wantErr)
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			wantEffects(t, hs)
			if s, _ := hs.state(t); s.Active() {
				t.Fatalf("rollout %s began without its ARNs", s.ID)
			}
			hs.aws.params[resourcesParam] = resourcesJSON(t, listener)
			hs.handle(t, amiEvent(t, "ev-1", newAMI, "available")) // the retry
			wantPhase(t, hs, rollout.PhaseWarm, "")
		})
	}
}

// TestBlueGreenARNsGivenReadNoParameter: ARNs in the configuration (tests,
// the twin, older stacks) cost no read.
func TestBlueGreenARNsGivenReadNoParameter(t *testing.T) {
	hs := newHarness(t, blueGreenPolicy(), false)
	params := countGets(hs)
	hs.handle(t, amiEvent(t, "ev-1", newAMI, "available"))
	tickUntil(t, hs, "the 50% step", shiftedTo(50))
	hs.handle(t, listenerUpdated(t, "cfn-1"))
	if got := slices.Sorted(maps.Keys(params.gets)); !slices.Equal(got, []string{param}) {
		t.Errorf("parameters read: got %q, want only the image parameter %s", got, param)
	}
}

// TestReplacedListenerIsReadAgain: an ARN AWS no longer knows (the
// listener replaced since the parameter was read) fails the invocation and
// drops what was read, so the retry reads the parameter again.
func TestReplacedListenerIsReadAgain(t *testing.T) {
	const replacement = "listener-2"
	hs := newHarness(t, parameterPolicy(), false)
	hs.aws.params[resourcesParam] = resourcesJSON(t, listener)
	params := countGets(hs)
	hs.handle(t, listenerUpdated(t, "cfn-1"))
	wantEffects(t, hs, "SetForwardWeights listener-1 tg-blue=100 tg-green=0")

	hs.aws.params[resourcesParam] = resourcesJSON(t, replacement)
	hs.aws.fail("SetForwardWeights", &smithy.GenericAPIError{Code: "ListenerNotFound", Message: "One or more listeners not found"})
	if err := hs.h.Handle(t.Context(), listenerUpdated(t, "cfn-2")); err == nil {
		t.Fatal("Handle succeeded with the listener gone, want an error")
	}
	wantEffects(t, hs)
	hs.handle(t, stackEvent(t, "cfn-3", event.ResourceTypeListener, replacement, event.ResourceUpdateComplete))
	wantEffects(t, hs, "SetForwardWeights listener-2 tg-blue=100 tg-green=0")
	if got := params.gets[resourcesParam]; got != 2 {
		t.Errorf("reads of %s: got %d, want 2 (once more after the not-found)", resourcesParam, got)
	}
}
