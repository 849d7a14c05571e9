package elb_test

import (
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/google/go-cmp/cmp"

	"github.com/stampkit/stampkit/shared/awstest"
	"github.com/stampkit/stampkit/shared/elb"
)

// These tests use an in-process smithy middleware stub for shapes moto does
// not produce: a draining target, stickiness on a forward, a plain forward,
// a redirect listener, a missing or malformed attribute.

func listener(actions ...types.Action) *elbv2.DescribeListenersOutput {
	return &elbv2.DescribeListenersOutput{Listeners: []types.Listener{{ListenerArn: aws.String("arn:l"), DefaultActions: actions}}}
}

func TestTargetHealthMapping(t *testing.T) {
	stub := awstest.NewStub().On("DescribeTargetHealth", &elbv2.DescribeTargetHealthOutput{
		TargetHealthDescriptions: []types.TargetHealthDescription{
			{Target: &types.TargetDescription{Id: aws.String("i-1"), Port: aws.Int32(8080)},
				TargetHealth: &types.TargetHealth{State: types.TargetHealthStateEnumHealthy}},
			{Target: &types.TargetDescription{Id: aws.String("i-2"), Port: aws.Int32(8080)},
				TargetHealth: &types.TargetHealth{State: types.TargetHealthStateEnumDraining, Reason: types.TargetHealthReasonEnumDeregistrationInProgress}},
		},
	})
	got, err := elb.New(elbv2.NewFromConfig(stub.Config())).TargetHealth(t.Context(), "arn:tg")
	if err != nil {
		t.Fatalf("TargetHealth: %v", err)
	}
	want := []elb.Target{
		{ID: "i-1", Port: 8080, State: elb.StateHealthy},
		{ID: "i-2", Port: 8080, State: elb.StateDraining, Reason: "Target.DeregistrationInProgress"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("TargetHealth mismatch (-want +got):\n%s", diff)
	}
	wantIn := &elbv2.DescribeTargetHealthInput{TargetGroupArn: aws.String("arn:tg")}
	if diff := awstest.Diff(wantIn, stub.Calls()[0].Input); diff != "" {
		t.Errorf("DescribeTargetHealth input (-want +got):\n%s", diff)
	}
}

func TestDeregisterRequest(t *testing.T) {
	stub := awstest.NewStub().On("DeregisterTargets", &elbv2.DeregisterTargetsOutput{})
	if err := elb.New(elbv2.NewFromConfig(stub.Config())).Deregister(t.Context(), "arn:tg", "i-9"); err != nil {
		t.Fatalf("Deregister: %v", err)
	}
	// No port: ELB then deregisters the target on the port it was registered
	// with, which for Auto Scaling registrations is the group's port.
	want := &elbv2.DeregisterTargetsInput{
		TargetGroupArn: aws.String("arn:tg"),
		Targets:        []types.TargetDescription{{Id: aws.String("i-9")}},
	}
	if diff := awstest.Diff(want, stub.Calls()[0].Input); diff != "" {
		t.Errorf("DeregisterTargets input (-want +got):\n%s", diff)
	}
}

func TestDeregistrationDelayAttributes(t *testing.T) {
	attr := func(k, v string) types.TargetGroupAttribute {
		return types.TargetGroupAttribute{Key: aws.String(k), Value: aws.String(v)}
	}
	cases := []struct {
		name    string
		attrs   []types.TargetGroupAttribute
		want    time.Duration
		wantErr bool
	}{
		{name: "set", attrs: []types.TargetGroupAttribute{attr("stickiness.enabled", "false"), attr("deregistration_delay.timeout_seconds", "45")}, want: 45 * time.Second},
		{name: "absent means the AWS default", attrs: []types.TargetGroupAttribute{attr("stickiness.enabled", "false")}, want: elb.DefaultDeregistrationDelay},
		{name: "malformed", attrs: []types.TargetGroupAttribute{attr("deregistration_delay.timeout_seconds", "soon")}, wantErr: true},
		{name: "negative", attrs: []types.TargetGroupAttribute{attr("deregistration_delay.timeout_seconds", "-1")}, wantErr: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			stub := awstest.NewStub().On("DescribeTargetGroupAttributes", &elbv2.DescribeTargetGroupAttributesOutput{Attributes: tc.attrs})
			got, err := elb.New(elbv2.NewFromConfig(stub.Config())).DeregistrationDelay(t.Context(), "arn:tg")
			if (err != nil) != tc.wantErr {
				t.Fatalf("DeregistrationDelay: got error %v, want error %v", err, tc.wantErr)
			}
			if got != tc.want {
				t.Errorf("DeregistrationDelay: got %s, want %s", got, tc.want)
			}
		})
	}
}

func TestForwardShapes(t *testing.T) {
	cases := []struct {
		name    string
		out     *elbv2.DescribeListenersOutput
		want    elb.Forward
		wantErr error
	}{
		{
			name: "plain forward to one group",
			out:  listener(types.Action{Type: types.ActionTypeEnumForward, TargetGroupArn: aws.String("arn:blue")}),
			want: elb.Forward{Weights: []elb.Weighted{{"arn:blue", 1}}},
		},
		{
			name: "sticky weighted forward",
			out: listener(types.Action{Type: types.ActionTypeEnumForward, ForwardConfig: &types.ForwardActionConfig{
				TargetGroups:                []types.TargetGroupTuple{{TargetGroupArn: aws.String("arn:blue"), Weight: aws.Int32(100)}},
				TargetGroupStickinessConfig: &types.TargetGroupStickinessConfig{Enabled: aws.Bool(true), DurationSeconds: aws.Int32(600)},
			}}),
			want: elb.Forward{Weights: []elb.Weighted{{"arn:blue", 100}}, Sticky: true},
		},
		{
			name: "weighted forward after an authenticate action",
			out: listener(
				types.Action{Type: types.ActionTypeEnumAuthenticateOidc, Order: aws.Int32(1)},
				types.Action{Type: types.ActionTypeEnumForward, Order: aws.Int32(2), ForwardConfig: &types.ForwardActionConfig{
					TargetGroups: []types.TargetGroupTuple{
						{TargetGroupArn: aws.String("arn:blue"), Weight: aws.Int32(30)},
						{TargetGroupArn: aws.String("arn:green"), Weight: aws.Int32(70)},
					}}}),
			want: elb.Forward{Weights: []elb.Weighted{{"arn:blue", 30}, {"arn:green", 70}}, Others: []string{"authenticate-oidc"}},
		},
		{
			name:    "redirect",
			out:     listener(types.Action{Type: types.ActionTypeEnumRedirect}),
			wantErr: elb.ErrNoForward,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			stub := awstest.NewStub().On("DescribeListeners", tc.out)
			got, err := elb.New(elbv2.NewFromConfig(stub.Config())).Forward(t.Context(), "arn:l")
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Forward: got error %v, want %v", err, tc.wantErr)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Forward mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSetForwardWeightsKeepsStickiness(t *testing.T) {
	sticky := &types.TargetGroupStickinessConfig{Enabled: aws.Bool(true), DurationSeconds: aws.Int32(600)}
	stub := awstest.NewStub().
		On("DescribeListeners", listener(types.Action{Type: types.ActionTypeEnumForward, ForwardConfig: &types.ForwardActionConfig{
			TargetGroups:                []types.TargetGroupTuple{{TargetGroupArn: aws.String("arn:blue"), Weight: aws.Int32(100)}},
			TargetGroupStickinessConfig: sticky,
		}})).
		On("ModifyListener", &elbv2.ModifyListenerOutput{})
	err := elb.New(elbv2.NewFromConfig(stub.Config())).SetForwardWeights(t.Context(), "arn:l", []elb.Weighted{{"arn:blue", 80}, {"arn:green", 20}})
	if err != nil {
		t.Fatalf("SetForwardWeights: %v", err)
	}
	calls := stub.Calls()
	if len(calls) != 2 || calls[1].Operation != "ModifyListener" {
		t.Fatalf("calls: got %+v, want DescribeListeners then ModifyListener", calls)
	}
	want := &elbv2.ModifyListenerInput{
		ListenerArn: aws.String("arn:l"),
		DefaultActions: []types.Action{{Type: types.ActionTypeEnumForward, ForwardConfig: &types.ForwardActionConfig{
			TargetGroups: []types.TargetGroupTuple{
				{TargetGroupArn: aws.String("arn:blue"), Weight: aws.Int32(80)},
				{TargetGroupArn: aws.String("arn:green"), Weight: aws.Int32(20)},
			},
			TargetGroupStickinessConfig: sticky,
		}}},
	}
	if diff := awstest.Diff(want, calls[1].Input); diff != "" {
		t.Errorf("ModifyListener input (-want +got):\n%s", diff)
	}
}

// TestSetForwardWeightsKeepsAuthentication: ModifyListener replaces every
// default action; an authenticate action dropped there would open the
// application to anyone.
func TestSetForwardWeightsKeepsAuthentication(t *testing.T) {
	auth := types.Action{Type: types.ActionTypeEnumAuthenticateOidc, Order: aws.Int32(1),
		AuthenticateOidcConfig: &types.AuthenticateOidcActionConfig{Issuer: aws.String("https://idp"), ClientId: aws.String("c"),
			AuthorizationEndpoint: aws.String("https://idp/auth"), TokenEndpoint: aws.String("https://idp/token"),
			UserInfoEndpoint: aws.String("https://idp/userinfo")}}
	stub := awstest.NewStub().
		On("DescribeListeners", listener(auth, types.Action{Type: types.ActionTypeEnumForward, Order: aws.Int32(2),
			ForwardConfig: &types.ForwardActionConfig{TargetGroups: []types.TargetGroupTuple{{TargetGroupArn: aws.String("arn:blue"), Weight: aws.Int32(100)}}}})).
		On("ModifyListener", &elbv2.ModifyListenerOutput{})
	if err := elb.New(elbv2.NewFromConfig(stub.Config())).SetForwardWeights(t.Context(), "arn:l", []elb.Weighted{{"arn:blue", 50}, {"arn:green", 50}}); err != nil {
		t.Fatalf("SetForwardWeights: %v", err)
	}
	sent := auth
	oidc := *auth.AuthenticateOidcConfig
	oidc.UseExistingClientSecret = aws.Bool(true) // Describe never returns the secret
	sent.AuthenticateOidcConfig = &oidc
	want := &elbv2.ModifyListenerInput{
		ListenerArn: aws.String("arn:l"),
		DefaultActions: []types.Action{sent, {Type: types.ActionTypeEnumForward, Order: aws.Int32(2), ForwardConfig: &types.ForwardActionConfig{
			TargetGroups: []types.TargetGroupTuple{
				{TargetGroupArn: aws.String("arn:blue"), Weight: aws.Int32(50)},
				{TargetGroupArn: aws.String("arn:green"), Weight: aws.Int32(50)},
			},
		}}},
	}
	if diff := awstest.Diff(want, stub.Calls()[1].Input); diff != "" {
		t.Errorf("ModifyListener input (-want +got):\n%s", diff)
	}
}

func TestSetForwardWeightsValidation(t *testing.T) {
	cases := []struct {
		name    string
		weights []elb.Weighted
	}{
		{"none", nil},
		{"all zero", []elb.Weighted{{"arn:blue", 0}, {"arn:green", 0}}},
		{"negative", []elb.Weighted{{"arn:blue", -1}, {"arn:green", 10}}},
		{"above max", []elb.Weighted{{"arn:blue", elb.MaxWeight + 1}}},
		{"empty arn", []elb.Weighted{{"", 10}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			stub := awstest.NewStub()
			err := elb.New(elbv2.NewFromConfig(stub.Config())).SetForwardWeights(t.Context(), "arn:l", tc.weights)
			if err == nil {
				t.Errorf("SetForwardWeights(%v): got nil error, want a validation error", tc.weights)
			}
			if calls := stub.Calls(); len(calls) != 0 {
				t.Errorf("calls: got %+v, want none", calls)
			}
		})
	}
}
