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

// Forward is a listener's default forward action as a weight shift sees
// it.
type Forward struct {
	Weights []Weighted
	// Sticky says the forward keeps clients on the target group they
	// first reached (TargetGroupStickinessConfig): moving weights then
	// moves only new clients, and a group being emptied keeps the old
	// ones for the stickiness duration ("Listeners for your Application
	// Load Balancers", target group stickiness).
	Sticky bool
	// Others are the types of the listener's other default actions, such
	// as authenticate-oidc before the forward; SetForwardWeights keeps
	// them.
	Others []string
}

// Forward reads the target groups and weights of the listener's default
// forward action, whether it is sticky, and the listener's other default
// actions.
func (a *Adapter) Forward(ctx context.Context, listenerARN string) (Forward, error) {
	actions, i, err := a.defaultActions(ctx, listenerARN)
	if err != nil {
		return Forward{}, err
	}
	var out Forward
	for j, act := range actions {
		if j != i {
			out.Others = append(out.Others, string(act.Type))
		}
	}
	action := actions[i]
	if action.ForwardConfig == nil || len(action.ForwardConfig.TargetGroups) == 0 {
		// A plain forward to one group: it takes all the traffic.
		out.Weights = []Weighted{{TargetGroupARN: aws.ToString(action.TargetGroupArn), Weight: 1}}
		return out, nil
	}
	if st := action.ForwardConfig.TargetGroupStickinessConfig; st != nil {
		out.Sticky = aws.ToBool(st.Enabled)
	}
	for _, tg := range action.ForwardConfig.TargetGroups {
		w := int32(1) // AWS reports a weight for every group; 1 if one ever lacks it
		if tg.Weight != nil {
			w = *tg.Weight
		}
		out.Weights = append(out.Weights, Weighted{TargetGroupARN: aws.ToString(tg.TargetGroupArn), Weight: w})
	}
	return out, nil
}

// SetForwardWeights sets the target groups and weights of the listener's
// default forward action. ModifyListener replaces every default action, so
// the others (an authenticate-oidc or authenticate-cognito before the
// forward) are sent back as they were, and so is the forward's stickiness
// setting. A listener with no forward gets one in place of its actions.
func (a *Adapter) SetForwardWeights(ctx context.Context, listenerARN string, weights []Weighted) error {
	if err := validate(weights); err != nil {
		return fmt.Errorf("setting forward weights of %s: %w", listenerARN, err)
	}
	actions, i, err := a.defaultActions(ctx, listenerARN)
	if errors.Is(err, ErrNoForward) {
		actions, i, err = []types.Action{{Type: types.ActionTypeEnumForward}}, 0, nil
	}
	if err != nil {
		return err
	}
	cfg := &types.ForwardActionConfig{}
	if current := actions[i].ForwardConfig; current != nil {
		cfg.TargetGroupStickinessConfig = current.TargetGroupStickinessConfig
	}
	for _, w := range weights {
		cfg.TargetGroups = append(cfg.TargetGroups, types.TargetGroupTuple{
			TargetGroupArn: aws.String(w.TargetGroupARN),
			Weight:         aws.Int32(w.Weight),
		})
	}
	actions[i] = types.Action{Type: types.ActionTypeEnumForward, Order: actions[i].Order, ForwardConfig: cfg}
	for j := range actions {
		if oidc := actions[j].AuthenticateOidcConfig; oidc != nil && oidc.ClientSecret == nil {
			// DescribeListeners never returns the client secret; sent back
			// without it, ModifyListener must be told to keep the one it
			// has (AuthenticateOidcActionConfig.UseExistingClientSecret).
			oidc.UseExistingClientSecret = aws.Bool(true)
		}
	}
	_, err = a.api.ModifyListener(ctx, &elbv2.ModifyListenerInput{
		ListenerArn:    aws.String(listenerARN),
		DefaultActions: actions,
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

// defaultActions returns the listener's default actions and the index of
// its forward, or ErrNoForward when it has none.
func (a *Adapter) defaultActions(ctx context.Context, listenerARN string) ([]types.Action, int, error) {
	out, err := a.api.DescribeListeners(ctx, &elbv2.DescribeListenersInput{
		ListenerArns: []string{listenerARN},
	})
	if err != nil {
		return nil, 0, fmt.Errorf("describing listener %s: %w", listenerARN, err)
	}
	for _, l := range out.Listeners {
		for i, act := range l.DefaultActions {
			if act.Type == types.ActionTypeEnumForward {
				return l.DefaultActions, i, nil
			}
		}
	}
	return nil, 0, fmt.Errorf("reading forward weights of %s: %w", listenerARN, ErrNoForward)
}
