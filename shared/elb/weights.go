package elb

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
)

// ErrNoForward reports a listener whose default action does not forward to
// target groups (a redirect or fixed response), so it has no weights.
var ErrNoForward = errors.New("listener default action is not a forward")

// MaxWeight is the largest weight ELB accepts for a target group.
const MaxWeight = 999

// Weighted is a target group's share of a listener's traffic; shares are
// relative to the sum of all weights on the listener.
type Weighted struct {
	TargetGroupARN string
	Weight         int32
}

// ForwardWeights reads the target groups and weights of the listener's
// default forward action.
func (a *Adapter) ForwardWeights(ctx context.Context, listenerARN string) ([]Weighted, error) {
	action, err := a.forwardAction(ctx, listenerARN)
	if err != nil {
		return nil, err
	}
	if action.ForwardConfig == nil || len(action.ForwardConfig.TargetGroups) == 0 {
		// A plain forward to one group: it takes all the traffic.
		return []Weighted{{TargetGroupARN: aws.ToString(action.TargetGroupArn), Weight: 1}}, nil
	}
	weights := make([]Weighted, 0, len(action.ForwardConfig.TargetGroups))
	for _, tg := range action.ForwardConfig.TargetGroups {
		w := int32(1) // AWS reports a weight for every group; 1 if one ever lacks it
		if tg.Weight != nil {
			w = *tg.Weight
		}
		weights = append(weights, Weighted{TargetGroupARN: aws.ToString(tg.TargetGroupArn), Weight: w})
	}
	return weights, nil
}

// SetForwardWeights replaces the listener's default action with a forward to
// the given target groups and weights. It keeps the listener's target group
// stickiness setting, which ModifyListener would otherwise reset.
func (a *Adapter) SetForwardWeights(ctx context.Context, listenerARN string, weights []Weighted) error {
	if err := validate(weights); err != nil {
		return fmt.Errorf("setting forward weights of %s: %w", listenerARN, err)
	}
	current, err := a.forwardAction(ctx, listenerARN)
	if err != nil && !errors.Is(err, ErrNoForward) {
		return err
	}
	cfg := &types.ForwardActionConfig{}
	if current.ForwardConfig != nil {
		cfg.TargetGroupStickinessConfig = current.ForwardConfig.TargetGroupStickinessConfig
	}
	for _, w := range weights {
		cfg.TargetGroups = append(cfg.TargetGroups, types.TargetGroupTuple{
			TargetGroupArn: aws.String(w.TargetGroupARN),
			Weight:         aws.Int32(w.Weight),
		})
	}
	_, err = a.api.ModifyListener(ctx, &elbv2.ModifyListenerInput{
		ListenerArn:    aws.String(listenerARN),
		DefaultActions: []types.Action{{Type: types.ActionTypeEnumForward, ForwardConfig: cfg}},
	})
	if err != nil {
		return fmt.Errorf("setting forward weights of %s: %w", listenerARN, err)
	}
	return nil
}

// validate rejects what ELB would reject, before spending a call on it.
func validate(weights []Weighted) error {
	if len(weights) == 0 {
		return errors.New("no target groups")
	}
	var sum int32
	for _, w := range weights {
		if w.TargetGroupARN == "" {
			return errors.New("empty target group ARN")
		}
		if w.Weight < 0 || w.Weight > MaxWeight {
			return fmt.Errorf("weight %d of %s outside 0..%d", w.Weight, w.TargetGroupARN, MaxWeight)
		}
		sum += w.Weight
	}
	if sum == 0 {
		return errors.New("all weights are zero")
	}
	return nil
}

// forwardAction returns the listener's default forward action, or an empty
// action and ErrNoForward when it has none.
func (a *Adapter) forwardAction(ctx context.Context, listenerARN string) (types.Action, error) {
	out, err := a.api.DescribeListeners(ctx, &elbv2.DescribeListenersInput{
		ListenerArns: []string{listenerARN},
	})
	if err != nil {
		return types.Action{}, fmt.Errorf("describing listener %s: %w", listenerARN, err)
	}
	for _, l := range out.Listeners {
		for _, act := range l.DefaultActions {
			if act.Type == types.ActionTypeEnumForward {
				return act, nil
			}
		}
	}
	return types.Action{}, fmt.Errorf("reading forward weights of %s: %w", listenerARN, ErrNoForward)
}
