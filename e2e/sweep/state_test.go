package sweep_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/stampkit/stampkit/shared/dynamo"
	"github.com/stampkit/stampkit/shared/hooks"
	"github.com/stampkit/stampkit/shared/lifecycle"
	"github.com/stampkit/stampkit/shared/rollout"
	"github.com/stampkit/stampkit/shared/scaling"
	"github.com/stampkit/stampkit/shared/ssmparam"
)

// endState is what a scenario leaves, as AWS (moto and the proxy's models)
// and the state table hold it: what issue #16 §2 says must be the same after
// every faulted run as after the clean one.
type endState struct {
	// Groups are each group's "min/max/desired on version".
	Groups map[string]string
	// Versions counts the launch template's versions: a stamp repeated
	// past a lost answer must not make another.
	Versions       int
	DefaultVersion int64
	Parameter      string
	// Weights are the listener's forward weights, "blue"/"green".
	Weights map[string]int32
	// Lifecycle is how each pended lifecycle action ended in the model:
	// "CONTINUE", "ABANDON", "… (timed out)", or "pending"; and how many
	// completions Auto Scaling accepted (always one when it ended by one).
	Lifecycle map[string]string
	// Refreshes counts the instance refreshes started on the fleet's group.
	Refreshes int
	// Rollout is the rollout record's phase, outcome and live group.
	Rollout string
}

// snapshot reads the end state, past the proxy.
func (w *world) snapshot() endState {
	t, ctx := w.t, w.t.Context()
	s := endState{Groups: map[string]string{}, Weights: map[string]int32{}, Lifecycle: map[string]string{}}
	out, err := autoscaling.NewFromConfig(w.moto).DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{
		AutoScalingGroupNames: append([]string{w.fleet.GroupName}, w.groups...),
	})
	if err != nil {
		t.Fatalf("DescribeAutoScalingGroups: %v", err)
	}
	for _, g := range out.AutoScalingGroups {
		v := ""
		if g.LaunchTemplate != nil {
			v = aws.ToString(g.LaunchTemplate.Version)
		}
		s.Groups[aws.ToString(g.AutoScalingGroupName)] = fmt.Sprintf("%d/%d/%d on v%s",
			aws.ToInt32(g.MinSize), aws.ToInt32(g.MaxSize), aws.ToInt32(g.DesiredCapacity), v)
	}
	e := ec2.NewFromConfig(w.moto)
	vs, err := e.DescribeLaunchTemplateVersions(ctx, &ec2.DescribeLaunchTemplateVersionsInput{LaunchTemplateId: aws.String(w.fleet.LaunchTemplateID)})
	if err != nil {
		t.Fatalf("DescribeLaunchTemplateVersions: %v", err)
	}
	s.Versions = len(vs.LaunchTemplateVersions)
	for _, v := range vs.LaunchTemplateVersions {
		if aws.ToBool(v.DefaultVersion) {
			s.DefaultVersion = aws.ToInt64(v.VersionNumber)
		}
	}
	if p, err := ssmparam.New(ssmClient(w.moto)).Get(ctx, imageParam); err == nil {
		s.Parameter = w.imageName(p)
	}
	ls, err := elbv2.NewFromConfig(w.moto).DescribeListeners(ctx, &elbv2.DescribeListenersInput{ListenerArns: []string{w.fleet.ListenerARN}})
	if err != nil || len(ls.Listeners) != 1 {
		t.Fatalf("DescribeListeners: %v", err)
	}
	for _, a := range ls.Listeners[0].DefaultActions {
		if a.ForwardConfig == nil {
			continue
		}
		for _, tg := range a.ForwardConfig.TargetGroups {
			name := "green"
			if aws.ToString(tg.TargetGroupArn) == w.fleet.BlueTargetGroupARN {
				name = "blue"
			}
			s.Weights[name] = aws.ToInt32(tg.Weight)
		}
	}
	for _, token := range w.tokens {
		o, ok := w.proxy.Lifecycle().Outcome(token)
		switch {
		case !ok:
			s.Lifecycle[token] = "pending"
		case o.TimedOut:
			s.Lifecycle[token] = o.Result + " (timed out)"
		default:
			s.Lifecycle[token] = o.Result
		}
	}
	s.Refreshes = w.proxy.Refreshes().Count(w.fleet.GroupName)
	if r := w.record(); r.ID != "" {
		s.Rollout = fmt.Sprintf("%s %s live=%s", r.Phase, r.Outcome, r.Live)
	}
	return s
}

// imageName names an AMI by what it is to the scenario: IDs differ from
// run to run.
func (w *world) imageName(id string) string {
	switch id {
	case w.fleet.ImageID:
		return "base image"
	case w.newImage:
		return "new image"
	}
	return id
}

// restored is the part of an end state an abort must bring back to what it
// was before the rollout: versions in use, parameter, weights, sizes. The
// version made for the new image stays (a template keeps its versions), the
// rollout record says how it ended, and a group left empty runs no version:
// a blue/green rollback leaves the idle group at zero on the version it
// was stamped with, to be stamped again by the next rollout.
func (s endState) restored() endState {
	s.Versions, s.Rollout, s.Refreshes = 0, "", 0
	groups := map[string]string{}
	for name, g := range s.Groups {
		if size, _, ok := strings.Cut(g, " on "); ok && strings.HasSuffix(size, "/0") {
			g = size
		}
		groups[name] = g
	}
	s.Groups = groups
	return s
}

// record reads the fleet's rollout record, past the proxy.
func (w *world) record() rollout.State {
	data, _, err := w.store().Load(w.t.Context(), rollout.Key(fleetName))
	if err != nil {
		w.t.Fatalf("loading the rollout record: %v", err)
	}
	var s rollout.State
	if len(data) > 0 {
		if err := json.Unmarshal(data, &s); err != nil {
			w.t.Fatalf("decoding the rollout record: %v", err)
		}
	}
	return s
}

func (w *world) store() *dynamo.Store {
	return dynamo.New(dynamodb.NewFromConfig(w.moto), table, dynamo.WithClock(w.clock.Now))
}

func ssmClient(cfg aws.Config) *ssm.Client { return ssm.NewFromConfig(cfg) }

// maxInvocation is the longest a claim or lease taken by an invocation
// lasts before its effect is done: Lambda's longest timeout, with the
// invocation package's headroom and a second of rounding.
const maxInvocation = 15*time.Minute + 3*time.Second

// leftovers scans the state table at the end of a run for what must not be
// there (issue #16 §2, "no claim, lease or rollout hold outlives its TTL"):
// a claim or lease without an expiry; a lease, or a claim of an effect in
// progress, that lasts past an invocation's lifetime (maxInvocation) from
// now, when no invocation runs; a rollout still holding the fleet; a
// lifecycle action's record not finished. A lease or claim whose release
// failed (its call faulted) is left to lapse at its invocation's deadline,
// by design: live at the end, it is no leftover.
func (w *world) leftovers() []string {
	t, ctx := w.t, w.t.Context()
	out, err := dynamodb.NewFromConfig(w.moto).Scan(ctx, &dynamodb.ScanInput{TableName: aws.String(table)})
	if err != nil {
		t.Fatalf("Scan: %v", err)
	}
	now := w.clock.Now()
	var bad []string
	for _, item := range out.Items {
		key := str(item[dynamo.KeyAttribute])
		_, owned := item["owner"]
		expires, hasExpiry := epoch(item[dynamo.TTLAttribute])
		live := hasExpiry && expires.After(now)
		switch {
		case owned && !hasExpiry:
			bad = append(bad, fmt.Sprintf("%s: held with no expiry", key))
		case !live || !expires.After(now.Add(maxInvocation)):
			// Gone, lapsed, or lapsing within an invocation's lifetime.
		case owned && isLease(key):
			bad = append(bad, fmt.Sprintf("lease %s: held for %s more, past any invocation", key, expires.Sub(now)))
		case owned && expires.Before(now.Add(time.Hour)):
			bad = append(bad, fmt.Sprintf("claim %s: expires in %s, neither an effect in progress nor a kept claim", key, expires.Sub(now)))
		}
	}
	if s := w.record(); s.ID != "" && s.Hold(w.fleet.GroupName) != nil {
		bad = append(bad, fmt.Sprintf("rollout %s still holds the fleet (phase %s)", s.ID, s.Phase))
	}
	for _, token := range w.tokens {
		data, v, err := w.store().Load(ctx, hooks.StateKey(token))
		if err != nil {
			t.Fatalf("loading lifecycle action %s: %v", token, err)
		}
		var s lifecycle.State
		if v > 0 && json.Unmarshal(data, &s) == nil && !s.Done() {
			bad = append(bad, fmt.Sprintf("lifecycle action %s: not done (phase %s)", token, s.Phase))
		}
	}
	slices.Sort(bad)
	return bad
}

func isLease(key string) bool {
	return strings.HasPrefix(key, "rollout-lease#") || key == scaling.LeaseKey(fleetName)
}

func str(v types.AttributeValue) string {
	if s, ok := v.(*types.AttributeValueMemberS); ok {
		return s.Value
	}
	return ""
}

func epoch(v types.AttributeValue) (time.Time, bool) {
	n, ok := v.(*types.AttributeValueMemberN)
	if !ok {
		return time.Time{}, false
	}
	s, err := strconv.ParseInt(n.Value, 10, 64)
	if err != nil {
		return time.Time{}, false
	}
	return time.Unix(s, 0), true
}
