package stamp

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// The limits a stamp comes near as its fleets grow. Synth checks each
// (checkLimits) and fails naming the stack, the resource and what to do.
const (
	// MaxResources, MaxOutputs and MaxParameters are CloudFormation's for
	// one template ("Understand CloudFormation quotas",
	// https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cloudformation-limits.html):
	// 500 resources, 200 outputs, 200 parameters. A fleet is a stack of
	// its own, nested in the stamp's; the stamp's stack holds one
	// resource, one output and a tick rule for every ten per fleet.
	MaxResources  = 500
	MaxOutputs    = 200
	MaxParameters = 200
	// MaxRolePolicySize is IAM's limit on the inline policies of one role
	// together, MaxManagedPolicySize on one managed policy, in characters
	// not counting white space, and MaxManagedPoliciesPerRole the managed
	// policies attached to one role by default ("IAM and AWS STS quotas",
	// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html).
	// The CDK moves what a role's inline policy cannot hold to managed
	// policies of the role's ("OverflowPolicy"), by its own estimate of
	// their sizes from the template, where a reference is as long as the
	// intrinsic naming it: the deployed ARN may be longer.
	MaxRolePolicySize         = 10240
	MaxManagedPolicySize      = 6144
	MaxManagedPoliciesPerRole = 10
	// MaxRulesPerBus is EventBridge's default limit of rules on one event
	// bus, the default bus included, per account and Region (adjustable;
	// "Amazon EventBridge quotas",
	// https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-quota.html).
	// Every stamp in an account and Region puts its rules on the default
	// bus, beside whatever else the account has there.
	MaxRulesPerBus = 300
	// MaxEventPatternSize is EventBridge's limit on an event pattern, in
	// characters (the same page).
	MaxEventPatternSize = 2048
	// MaxQueuePolicyStatements is SQS's limit on the statements of a
	// queue's policy ("Amazon SQS policy quotas",
	// https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/quotas-policies.html):
	// each rule that dead-letters to a function's queue adds one, the
	// scaler's tick rules among them.
	MaxQueuePolicyStatements = 20
)

// splitAdvice is what to do about a stamp that outgrows a limit.
const splitAdvice = "declare fewer fleets in this stamp: split them across stamps (cdk.json stamps[])"

// referenceLength is what a Ref or Fn::GetAtt counts for in a size
// estimate: as long as the longest ARN a stamp references (a listener's,
// about 120 characters), so the estimate errs high.
const referenceLength = 128

// checkLimits makes synth of the stamp's stack fail, naming what to do,
// when the stack, one of the stacks nested in it or the app's stacks in
// the stamp's account and Region would outgrow a limit above. The checks
// run once the app's references between stacks are in place, as CDK
// validates a construct tree.
func checkLimits(stack awscdk.Stack) {
	stack.Node().AddValidation(&limitsCheck{stack: stack})
}

type limitsCheck struct{ stack awscdk.Stack }

func (l *limitsCheck) Validate() *[]*string {
	var errs []string
	stacks := []awscdk.Stack{l.stack}
	for _, c := range *l.stack.Node().FindAll(constructs.ConstructOrder_PREORDER) {
		if *awscdk.NestedStack_IsNestedStack(c) {
			stacks = append(stacks, c.(awscdk.Stack))
		}
	}
	for _, st := range stacks {
		errs = append(errs, templateLimits(st)...)
	}
	errs = append(errs, busLimits(l.stack)...)
	return jsii.Strings(errs...)
}

// ownElements returns the CloudFormation elements of stack itself (not of
// the stacks nested in it).
func ownElements(stack awscdk.Stack) []awscdk.CfnElement {
	var out []awscdk.CfnElement
	for _, c := range *stack.Node().FindAll(constructs.ConstructOrder_PREORDER) {
		if !*awscdk.CfnElement_IsCfnElement(c) {
			continue
		}
		e := c.(awscdk.CfnElement)
		if *e.Stack().Node().Path() == *stack.Node().Path() {
			out = append(out, e)
		}
	}
	return out
}

// templateLimits checks one template: its resources, outputs and
// parameters, its roles' policies, its queues' policies and its rules'
// patterns.
func templateLimits(stack awscdk.Stack) []string {
	var errs []string
	var resources, outputs, parameters int
	policies := map[string]int{}   // role -> estimated size of its inline policies
	attached := map[string][]int{} // role -> estimated size of each managed policy of the stack attached to it
	for _, e := range ownElements(stack) {
		switch {
		case isOutput(e):
			outputs++
		case isParameter(e):
			parameters++
		case *awscdk.CfnResource_IsCfnResource(e):
			resources++
			errs = append(errs, resourceLimits(stack, e.(awscdk.CfnResource), policies, attached)...)
		}
	}
	// The AWS::CDK::Metadata resource synthesis adds.
	resources++
	where := *stack.Node().Path()
	for _, c := range []struct {
		what  string
		n, of int
	}{{"resources", resources, MaxResources}, {"outputs", outputs, MaxOutputs}, {"parameters", parameters, MaxParameters}} {
		if c.n > c.of {
			errs = append(errs, fmt.Sprintf("stack %s: %d %s, over CloudFormation's %d for a template: %s", where, c.n, c.what, c.of, splitAdvice))
		}
	}
	for _, role := range slices.Sorted(maps.Keys(policies)) {
		if n := policies[role]; n > MaxRolePolicySize {
			errs = append(errs, fmt.Sprintf("role %s: its inline policies would be about %d characters once deployed, over IAM's %d for a role: "+
				"%s (each blue/green fleet adds its listener's ARN to the rollout function's)", role, n, MaxRolePolicySize, splitAdvice))
		}
	}
	for _, role := range slices.Sorted(maps.Keys(attached)) {
		if n := len(attached[role]); n > MaxManagedPoliciesPerRole {
			errs = append(errs, fmt.Sprintf("role %s: %d managed policies attached, over IAM's %d by default: %s", role, n, MaxManagedPoliciesPerRole, splitAdvice))
		}
		for _, n := range attached[role] {
			if n > MaxManagedPolicySize {
				errs = append(errs, fmt.Sprintf("role %s: a managed policy of it would be about %d characters once deployed, over IAM's %d: %s",
					role, n, MaxManagedPolicySize, splitAdvice))
			}
		}
	}
	return errs
}

func isOutput(e awscdk.CfnElement) bool {
	_, ok := e.(awscdk.CfnOutput)
	return ok
}

func isParameter(e awscdk.CfnElement) bool {
	_, ok := e.(awscdk.CfnParameter)
	return ok
}

// resourceLimits checks one resource: a policy's size, added to its roles'
// totals in policies; a queue policy's statements; a rule's pattern.
func resourceLimits(stack awscdk.Stack, r awscdk.CfnResource, policies map[string]int, attached map[string][]int) []string {
	var errs []string
	switch p := r.(type) {
	case awsiam.CfnManagedPolicy:
		size := deployedSize(resolved(stack, p.PolicyDocument()))
		for _, role := range asAnyList(resolved(stack, p.Roles())) {
			attached[fmt.Sprint(role)] = append(attached[fmt.Sprint(role)], size)
		}
	case awsiam.CfnPolicy:
		size := deployedSize(resolved(stack, p.PolicyDocument()))
		for _, role := range asAnyList(resolved(stack, p.Roles())) {
			policies[fmt.Sprint(role)] += size
		}
	case awsiam.CfnRole:
		role := fmt.Sprint(map[string]any{"Ref": stack.Resolve(p.LogicalId())})
		for range asAnyList(resolved(stack, p.ManagedPolicyArns())) {
			attached[role] = append(attached[role], 0)
		}
		for _, inline := range asAnyList(resolved(stack, p.Policies())) {
			if m, ok := inline.(map[string]any); ok {
				policies[role] += deployedSize(m["policyDocument"]) + deployedSize(m["PolicyDocument"])
			}
		}
	case awssqs.CfnQueuePolicy:
		doc, _ := resolved(stack, p.PolicyDocument()).(map[string]any)
		if n := len(asAnyList(doc["Statement"])); n > MaxQueuePolicyStatements {
			errs = append(errs, fmt.Sprintf("queue policy %s: %d statements, over SQS's %d (each rule that dead-letters to the queue adds one): %s",
				*r.Node().Path(), n, MaxQueuePolicyStatements, splitAdvice))
		}
	case awsevents.CfnRule:
		if pattern := resolved(stack, p.EventPattern()); pattern != nil {
			if n := deployedSize(pattern); n > MaxEventPatternSize {
				errs = append(errs, fmt.Sprintf("rule %s: its event pattern would be about %d characters, over EventBridge's %d: %s",
					*r.Node().Path(), n, MaxEventPatternSize, splitAdvice))
			}
		}
	}
	return errs
}

// resolved is v resolved in stack, or nil for nil.
func resolved(stack awscdk.Stack, v any) any {
	switch x := v.(type) {
	case nil:
		return nil
	case *[]*string:
		if x == nil {
			return nil
		}
	}
	return stack.Resolve(v)
}

// busLimits counts the rules on the default event bus of every stack of
// the app in stack's account and Region, stamps or not, and fails the
// first stamp there when they are over EventBridge's quota.
func busLimits(stack awscdk.Stack) []string {
	env := fmt.Sprint(*stack.Account(), "/", *stack.Region())
	if awscdk.Token_IsUnresolved(stack.Account()) != nil && *awscdk.Token_IsUnresolved(stack.Account()) {
		return nil
	}
	var first string
	rules := 0
	for _, c := range *awscdk.Stage_Of(stack).Node().FindAll(constructs.ConstructOrder_PREORDER) {
		if *awscdk.Stack_IsStack(c) && !*awscdk.NestedStack_IsNestedStack(c) {
			st := c.(awscdk.Stack)
			if fmt.Sprint(*st.Account(), "/", *st.Region()) == env && first == "" && st.Node().TryGetContext(jsii.String(stampMarker)) != nil {
				first = *st.Node().Path()
			}
		}
		rule, ok := c.(awsevents.CfnRule)
		if !ok || rule.EventBusName() != nil {
			continue
		}
		if st := rule.Stack(); fmt.Sprint(*st.Account(), "/", *st.Region()) == env {
			rules++
		}
	}
	if rules <= MaxRulesPerBus || first != *stack.Node().Path() {
		return nil
	}
	return []string{fmt.Sprintf("account and Region %s: the app's stacks put %d rules on the default event bus, over EventBridge's %d "+
		"(a quota you may have raised; the account's other rules count too): %s, or across accounts and Regions", env, rules, MaxRulesPerBus, splitAdvice)}
}

// stampMarker is set in the context of every stamp's stack (NewStack), so
// that busLimits knows the stamps among the app's stacks.
const stampMarker = "stampkit:stamp"

// deployedSize estimates the characters v takes once CloudFormation has
// resolved it, as JSON without white space: each reference as
// referenceLength characters, each pseudo parameter as its longest value.
func deployedSize(v any) int {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(deployedStandIn(v)); err != nil {
		return 0
	}
	return len(bytes.TrimSpace(b.Bytes()))
}

// pseudoLengths are the longest values of the pseudo parameters.
var pseudoLengths = map[string]int{
	"AWS::Partition": len("aws-iso-b"), "AWS::Region": len("ap-southeast-5"), "AWS::AccountId": 12,
	"AWS::URLSuffix": len("amazonaws.com.cn"), "AWS::StackName": 128,
}

// deployedStandIn replaces the intrinsics in v with strings as long as what they
// resolve to, at most.
func deployedStandIn(v any) any {
	switch x := v.(type) {
	case map[string]any:
		if len(x) == 1 {
			for fn, arg := range x {
				switch fn {
				case "Ref":
					if n, ok := pseudoLengths[fmt.Sprint(arg)]; ok {
						return strings.Repeat("x", n)
					}
					return strings.Repeat("x", referenceLength)
				case "Fn::GetAtt", "Fn::ImportValue", "Fn::Select", "Fn::GetStackOutput":
					return strings.Repeat("x", referenceLength)
				case "Fn::Join":
					parts, _ := arg.([]any)
					if len(parts) == 2 {
						var out []string
						for _, p := range asAnyList(parts[1]) {
							out = append(out, fmt.Sprint(deployedStandIn(p)))
						}
						return strings.Join(out, fmt.Sprint(parts[0]))
					}
				}
			}
		}
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = deployedStandIn(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = deployedStandIn(e)
		}
		return out
	}
	return v
}

// asAnyList is v as a list: itself, or a list of one.
func asAnyList(v any) []any {
	switch x := v.(type) {
	case nil:
		return nil
	case []any:
		return x
	}
	return []any{v}
}
