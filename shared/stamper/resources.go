package stamper

import (
	"context"
	"fmt"
	"sync"

	"github.com/stampkit/stampkit/shared/config"
	"github.com/stampkit/stampkit/shared/rollout"
)

// resourceCache keeps the blue/green ARNs read from each fleet's resources
// parameter for the life of the execution environment: CloudFormation
// writes them at deploy time and they change only when the listener or a
// target group is replaced, which a not-found answer from AWS then tells
// (Handler.once forgets the fleet's entry, and the retry reads again).
type resourceCache struct {
	mu      sync.Mutex
	byFleet map[string]rollout.Resources
}

func (c *resourceCache) get(fleet string) (rollout.Resources, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r, ok := c.byFleet[fleet]
	return r, ok
}

func (c *resourceCache) put(fleet string, r rollout.Resources) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.byFleet == nil {
		c.byFleet = map[string]rollout.Resources{}
	}
	c.byFleet[fleet] = r
}

func (c *resourceCache) forget(fleet string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.byFleet, fleet)
}

// withResources returns fleet with its blue/green listener and target
// group ARNs in place, read from its resources parameter (one GetParameter
// per fleet and execution environment) when the configuration names the
// parameter instead of the ARNs. It runs before the pure rollout functions
// see the policy, which then always holds the ARNs. A parameter missing or
// not as expected fails the invocation: the event is retried and, failing
// still, reaches the dead-letter queue and its alarm; a rollout never acts
// on empty ARNs.
func (h *Handler) withResources(ctx context.Context, fleet config.Fleet) (config.Fleet, error) {
	bg := fleet.Rollout.BlueGreen
	if fleet.Rollout.Strategy != rollout.StrategyBlueGreen || bg.ResourcesParameter == "" || bg.Resolved() {
		return fleet, nil
	}
	r, ok := h.resources.get(fleet.Name)
	if !ok {
		value, err := h.Parameters.Get(ctx, bg.ResourcesParameter)
		if err != nil {
			return fleet, fmt.Errorf("reading the listener and target groups of fleet %s: %w", fleet.Name, err)
		}
		if r, err = rollout.ParseResources(value); err != nil {
			return fleet, fmt.Errorf("parameter %s, the listener and target groups of fleet %s: %w", bg.ResourcesParameter, fleet.Name, err)
		}
		h.resources.put(fleet.Name, r)
	}
	fleet.Rollout.BlueGreen = bg.WithResources(r)
	return fleet, nil
}
