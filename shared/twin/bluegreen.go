package twin

import (
	"fmt"
	"time"

	"github.com/aws/smithy-go"

	"github.com/stampkit/stampkit/shared/clock"
	"github.com/stampkit/stampkit/shared/elb"
	"github.com/stampkit/stampkit/shared/rollout"
)

// The blue/green peer's target group and the listener in front of both.
const (
	PeerTargetGroupARN = "arn:aws:elasticloadbalancing:" + region + ":" + account + ":targetgroup/web-green/5d1f0b3a9c7e2468"
	ListenerARN        = "arn:aws:elasticloadbalancing:" + region + ":" + account + ":listener/app/web-alb/50dc6c495c0c9188/f2f7dc8efc522ab2"
)

// PeerGroup is the name of the blue/green peer of cfg's group: the one
// cfg.Rollout names, else the group's name and "-green".
func PeerGroup(cfg Config) string {
	if cfg.Rollout != nil && cfg.Rollout.BlueGreen.PeerGroup != "" {
		return cfg.Rollout.BlueGreen.PeerGroup
	}
	return cfg.Group + "-green"
}

// BlueGreenPolicy is the blue/green rollout the twin's fleet runs when a
// scenario asks for one: the peer group is sized like the serving one on
// the new image, then takes 10, 50 and 100 % of the listener's traffic,
// each step baked for five minutes while the fleet's health alarms (both
// target groups' unhealthy hosts among them) are watched; the old group is
// kept at zero for 15 minutes after promotion.
func BlueGreenPolicy(cfg Config) rollout.Policy {
	return rollout.Policy{
		Strategy: rollout.StrategyBlueGreen, Parameter: ImageParameter,
		PollInterval: clock.Duration(time.Minute),
		Alarms:       HealthAlarms(cfg, true),
		BlueGreen: rollout.BlueGreen{
			Listener: ListenerARN, TargetGroup: TargetGroupARN,
			PeerGroup: PeerGroup(cfg), PeerTargetGroup: PeerTargetGroupARN,
			Steps: []int{10, 50, 100}, Bake: clock.Duration(5 * time.Minute),
			HealthTimeout: clock.Duration(15 * time.Minute), Retention: clock.Duration(15 * time.Minute),
		},
	}
}

// WeightChange is the listener's forward weights from At on: Group is the
// weight of the configured group's target group, Peer that of the
// blue/green peer's. The first change of a run is the listener as
// deployed (all to the configured group).
type WeightChange struct {
	At          time.Time
	Group, Peer int
}

// listener is the load balancer's listener with a weighted forward action
// over the two groups' target groups. It splits each step's requests by
// weight, carrying the remainder so that over many steps each group gets
// its exact share and no request is lost or counted twice.
type listener struct {
	s       *sim
	weights [2]int
	carry   int64
}

func newListener(s *sim) *listener {
	l := &listener{s: s, weights: [2]int{100, 0}}
	s.res.Weights = append(s.res.Weights, WeightChange{At: s.start, Group: 100, Peer: 0})
	return l
}

// split returns how many of offered requests go to the peer group.
func (l *listener) split(offered int64) int64 {
	total := int64(l.weights[0] + l.weights[1])
	if total == 0 || l.weights[1] == 0 {
		return 0
	}
	num := l.carry + offered*int64(l.weights[1])
	toPeer := num / total
	l.carry = num % total
	return toPeer
}

// set is ModifyListener's weighted forward action: every target group must
// be one of the two, weights 0–999, and at least one above zero.
func (l *listener) set(arn string, ws []elb.Weighted) error {
	if arn != ListenerARN {
		return &smithy.GenericAPIError{Code: "ListenerNotFound", Message: "One or more listeners not found: " + arn}
	}
	next := [2]int{}
	for _, w := range ws {
		if w.Weight < 0 || w.Weight > 999 {
			return &smithy.GenericAPIError{Code: "ValidationError", Message: fmt.Sprintf("weight %d of %s is outside 0-999", w.Weight, w.TargetGroupARN)}
		}
		switch w.TargetGroupARN {
		case TargetGroupARN:
			next[0] = int(w.Weight)
		case PeerTargetGroupARN:
			next[1] = int(w.Weight)
		default:
			return &smithy.GenericAPIError{Code: "TargetGroupNotFound", Message: "One or more target groups not found: " + w.TargetGroupARN}
		}
	}
	if next[0]+next[1] == 0 {
		return &smithy.GenericAPIError{Code: "ValidationError", Message: "a forward action needs a target group with a weight above zero"}
	}
	if next == l.weights {
		return nil
	}
	l.weights = next
	s := l.s
	s.res.Weights = append(s.res.Weights, WeightChange{At: s.Now(), Group: next[0], Peer: next[1]})
	s.res.Rollout = append(s.res.Rollout, RolloutEvent{At: s.Now(), What: WeightsSet,
		Detail: fmt.Sprintf("%s %d / %s %d", s.fleet.name, next[0], s.peer.name, next[1])})
	return nil
}

// WeightsSet is the timeline event of a change of the listener's weights.
const WeightsSet = "weights"
