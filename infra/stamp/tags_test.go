package stamp

import (
	"fmt"
	"slices"
	"testing"
)

// tagsOf returns a resource's tags by key, whether its type lists them
// ({Key, Value} objects) or maps them.
func tagsOf(r map[string]any) map[string]string {
	out := map[string]string{}
	switch tags := props(r)["Tags"].(type) {
	case []any:
		for _, tag := range tags {
			m, _ := tag.(map[string]any)
			out[fmt.Sprint(m["Key"])] = fmt.Sprint(m["Value"])
		}
	case map[string]any:
		for k, v := range tags {
			out[k] = fmt.Sprint(v)
		}
	}
	return out
}

// checkStampTags checks that every resource of f's stamp that carries tags
// carries want, that the resources cost allocation needs most carry
// tags at all, and that the types tagProps leaves alone carry none of
// want.
func checkStampTags(t *testing.T, f *fixture, want map[string]string) {
	t.Helper()
	hs := f.stack.Handlers()
	mustTag := []*string{f.stack.State().Table().TableName()}
	for _, h := range []Handler{hs.Scaler(), hs.Lifecycle(), hs.Rollout()} {
		mustTag = append(mustTag, h.Function.FunctionArn(), h.DeadLetterQueue.QueueArn())
	}
	for _, mf := range f.stack.Fleets() {
		for _, g := range mf.Fleet.Groups() {
			mustTag = append(mustTag, g.AutoScalingGroupName())
		}
	}
	for _, tok := range mustTag {
		if id := f.logicalID(t, tok); len(tagsOf(f.resources[id])) == 0 {
			t.Errorf("%s carries no tags", id)
		}
	}
	excluded := tagProps().ExcludeResourceTypes
	for id, r := range f.resources {
		tags := tagsOf(r)
		if slices.ContainsFunc(*excluded, func(typ *string) bool { return *typ == r["Type"] }) {
			for k := range want {
				if _, ok := tags[k]; ok {
					t.Errorf("%s (%s) carries tag %s; its type is one the stamp leaves untagged", id, r["Type"], k)
				}
			}
			continue
		}
		if len(tags) == 0 {
			continue
		}
		for k, v := range want {
			if tags[k] != v {
				t.Errorf("%s (%s): tag %s is %q, want %q", id, r["Type"], k, tags[k], v)
			}
		}
	}
}

// TestStampAndFleetTags: the stamp's name on every tagged resource; each
// fleet's name on its groups (and their instances), target groups,
// security groups, instance role and load balancer; none on the weights
// stack, whose resources must never change (NewListenerWeights).
func TestStampAndFleetTags(t *testing.T) {
	f := synth(t)
	checkStampTags(t, f, map[string]string{StampTagKey: f.cfg.Name})
	for _, mf := range f.stack.Fleets() {
		fl := mf.Fleet
		ids := []*string{
			fl.LoadBalancer().LoadBalancerArn(), fl.BlueTargetGroup().TargetGroupArn(), fl.GreenTargetGroup().TargetGroupArn(),
			fl.InstanceSecurityGroup().SecurityGroupId(), fl.InstanceRole().RoleArn(),
		}
		for _, g := range fl.Groups() {
			ids = append(ids, g.AutoScalingGroupName())
		}
		for _, tok := range ids {
			id := f.logicalID(t, tok)
			if got := tagsOf(f.resources[id])[FleetTagKey]; got != fl.Name() {
				t.Errorf("fleet %s: %s has %s %q", fl.Name(), id, FleetTagKey, got)
			}
		}
		for _, g := range fl.Groups() {
			for _, tag := range asList(props(f.resources[f.logicalID(t, g.AutoScalingGroupName())])["Tags"]) {
				if m := tag.(map[string]any); m["PropagateAtLaunch"] != true {
					t.Errorf("group %s: tag %v is not propagated to its instances", *g.Node().Path(), m)
				}
			}
		}
	}
	weights := f.stack.Weights().Stack()
	if tags := *weights.Tags().TagValues(); len(tags) > 0 {
		t.Errorf("the weights stack is tagged %v; a tag change would reset the live weights", tags)
	}
}

// TestExtraTags: Config.Name and Props.Tags reach every tagged resource.
func TestExtraTags(t *testing.T) {
	checkStampTags(t, synthHatches(t).fixture, map[string]string{StampTagKey: hatchStampName, "team": "platform"})
}
