package stamp

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// policyStatement is one statement of an identity policy in a template,
// with where it was found.
type policyStatement struct {
	where string
	s     map[string]any
}

// identityStatements returns every statement of every identity policy in
// the app's templates: AWS::IAM::Policy and AWS::IAM::ManagedPolicy
// documents and the inline policies of AWS::IAM::Role, whichever construct
// (ours or the CDK's own) made them.
func identityStatements(t *testing.T, f *fixture) []policyStatement {
	t.Helper()
	templates := map[string]map[string]any{}
	for _, st := range assemblyTemplates(t, f.app) {
		resources, _ := st.template["Resources"].(map[string]any)
		for id, r := range resources {
			templates[st.name+"/"+id] = r.(map[string]any)
		}
	}
	var out []policyStatement
	add := func(where string, doc any) {
		for _, s := range docStatements(doc) {
			out = append(out, policyStatement{where: where, s: s})
		}
	}
	for where, r := range templates {
		p := props(r)
		switch r["Type"] {
		case "AWS::IAM::Policy", "AWS::IAM::ManagedPolicy":
			add(where, p["PolicyDocument"])
		case "AWS::IAM::Role":
			for _, inline := range asList(p["Policies"]) {
				add(where, inline.(map[string]any)["PolicyDocument"])
			}
		}
	}
	if len(out) == 0 {
		t.Fatal("no identity policy statements in the templates: the test checks nothing")
	}
	return out
}

// TestUnscopedActions is the drift guard for Resource "*": every action
// any identity policy of the app allows on "*" must be in UnscopedActions,
// which gives AWS's reason it cannot be scoped; every entry there must be
// in use and cite AWS's documentation. NotAction and NotResource, which
// would let a grant widen unseen, are refused.
func TestUnscopedActions(t *testing.T) {
	f := synth(t)
	used := map[string]bool{}
	for _, ps := range identityStatements(t, f) {
		for _, key := range []string{"NotAction", "NotResource"} {
			if ps.s[key] != nil {
				t.Errorf("%s: statement with %s %v; want Action and Resource", ps.where, key, ps.s[key])
			}
		}
		if ps.s["Effect"] != "Allow" || !slices.Contains(asList(ps.s["Resource"]), any("*")) {
			continue
		}
		for _, a := range asList(ps.s["Action"]) {
			action := fmt.Sprint(a)
			if _, ok := unscopedReason(action); !ok {
				t.Errorf("%s: %s on Resource *: scope it, or add it to UnscopedActions with AWS's reason", ps.where, action)
			}
			used[action] = true
		}
	}
	for _, u := range UnscopedActions() {
		if !used[u.Action] {
			t.Errorf("UnscopedActions lists %s, which no policy grants on Resource *: remove it", u.Action)
		}
		if !strings.Contains(u.Reason, "https://docs.aws.amazon.com/") {
			t.Errorf("UnscopedActions: the reason for %s cites no AWS documentation: %q", u.Action, u.Reason)
		}
	}
}

// TestLifecycleNetworkInterfaceScope: the lifecycle Lambda runs in the VPC,
// so its role lets Lambda manage the function's network interfaces, no
// wider than IAM allows: create them only in the function's own subnets
// with its own security group, change their addresses only in its VPC,
// delete them in the stack's account and region in the one form Lambda's
// documentation gives for that action, and describe them anywhere (no
// resource type).
func TestLifecycleNetworkInterfaceScope(t *testing.T) {
	f := synth(t)
	d := deployed{f: f, account: f.cfg.Account, region: f.cfg.Region}
	h := f.stack.Handlers().Lifecycle()
	fn := props(f.resources[f.logicalID(t, h.Function.FunctionArn())])
	vpcConfig, _ := fn["VpcConfig"].(map[string]any)
	if vpcConfig == nil {
		t.Fatal("the lifecycle function has no VpcConfig: the test checks nothing")
	}
	ec2Arn := func(resource string) string { return d.arn("ec2", resource) }
	wantCreate := []string{ec2Arn("network-interface/*")}
	for _, key := range []string{"SubnetIds", "SecurityGroupIds"} {
		typ := map[string]string{"SubnetIds": "subnet/", "SecurityGroupIds": "security-group/"}[key]
		for _, v := range asList(vpcConfig[key]) {
			id, err := d.resolve(v)
			if err != nil {
				t.Fatalf("VpcConfig.%s %v: %v", key, v, err)
			}
			wantCreate = append(wantCreate, ec2Arn(typ+id))
		}
	}
	vpcID, err := d.resolve(f.resolve(f.stack.Network().Vpc().VpcId()))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]struct {
		resources []string
		condition string
	}{
		"ec2:CreateNetworkInterface":     {resources: wantCreate},
		"ec2:AssignPrivateIpAddresses":   {resources: []string{ec2Arn("network-interface/*")}, condition: "ArnEquals ec2:Vpc " + ec2Arn("vpc/"+vpcID)},
		"ec2:UnassignPrivateIpAddresses": {resources: []string{ec2Arn("network-interface/*")}, condition: "ArnEquals ec2:Vpc " + ec2Arn("vpc/"+vpcID)},
		"ec2:DeleteNetworkInterface":     {resources: []string{ec2Arn("*/*")}},
		"ec2:DescribeNetworkInterfaces":  {resources: []string{"*"}},
		"ec2:DescribeSubnets":            {resources: []string{"*"}},
	}
	got := map[string][]string{}
	gotCondition := map[string]string{}
	for _, s := range f.statements(f.logicalID(t, h.Role.RoleArn())) {
		for _, a := range asList(s["Action"]) {
			action := fmt.Sprint(a)
			if _, ok := want[action]; !ok {
				continue
			}
			for _, res := range asList(s["Resource"]) {
				r, err := d.resolve(res)
				if err != nil {
					t.Fatalf("%s resource %v: %v", action, res, err)
				}
				got[action] = append(got[action], r)
			}
			for op, keys := range asMap(s["Condition"]) {
				for key, v := range asMap(keys) {
					r, err := d.resolve(v)
					if err != nil {
						t.Fatalf("%s condition %s %s %v: %v", action, op, key, v, err)
					}
					gotCondition[action] += strings.TrimSpace(fmt.Sprintf("%s %s %s", op, key, r))
				}
			}
		}
	}
	for action, w := range want {
		slices.Sort(got[action])
		slices.Sort(w.resources)
		if !slices.Equal(got[action], w.resources) {
			t.Errorf("%s on %v, want %v", action, got[action], w.resources)
		}
		if gotCondition[action] != w.condition {
			t.Errorf("%s condition %q, want %q", action, gotCondition[action], w.condition)
		}
	}
}

func asMap(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

// TestPassRoleOnlyToItsService: every iam:PassRole in the app names the
// roles it passes and, by iam:PassedToService, the one service they go to.
// The rollout passes the fleets' instance roles to EC2, as pointing a group
// at a launch template whose instance profile holds one does.
func TestPassRoleOnlyToItsService(t *testing.T) {
	f := synth(t)
	passes := 0
	for _, ps := range identityStatements(t, f) {
		if !slices.Contains(asList(ps.s["Action"]), any("iam:PassRole")) {
			continue
		}
		passes++
		if slices.Contains(asList(ps.s["Resource"]), any("*")) {
			t.Errorf("%s: iam:PassRole on Resource *; want the roles it passes", ps.where)
		}
		services := asList(asMap(asMap(ps.s["Condition"])["StringEquals"])["iam:PassedToService"])
		if len(services) == 0 {
			t.Errorf("%s: iam:PassRole without an iam:PassedToService condition: %v", ps.where, ps.s)
		}
	}
	if passes == 0 {
		t.Fatal("no iam:PassRole in the app: the test checks nothing")
	}

	// The rollout passes the stamp's instance roles, by their path.
	d := deployed{f: f, account: f.cfg.Account, region: f.cfg.Region}
	var patterns []string
	for _, s := range f.statements(f.logicalID(t, f.stack.Handlers().Rollout().Role.RoleArn())) {
		if !slices.Contains(asList(s["Action"]), any("iam:PassRole")) {
			continue
		}
		want := map[string]any{"StringEquals": map[string]any{"iam:PassedToService": []any{"ec2.amazonaws.com", "ec2.amazonaws.com.cn"}}}
		if fmt.Sprint(s["Condition"]) != fmt.Sprint(want) {
			t.Errorf("rollout iam:PassRole condition %v, want %v", s["Condition"], want)
		}
		for _, res := range asList(s["Resource"]) {
			r, err := d.resolve(res)
			if err != nil {
				t.Fatal(err)
			}
			patterns = append(patterns, r)
		}
	}
	if len(patterns) != 1 {
		t.Errorf("rollout passes %v, want one pattern, whatever the fleets", patterns)
	}
	passesRole := func(arn string) bool {
		return slices.ContainsFunc(patterns, func(p string) bool { return iamMatch(p, arn) })
	}
	for _, mf := range f.stack.Fleets() {
		arn, err := d.resolve(f.resolve(mf.Fleet.InstanceRole().RoleArn()))
		if err != nil {
			t.Fatal(err)
		}
		if !passesRole(arn) {
			t.Errorf("rollout passes %v, not fleet %s's instance role %s", patterns, mf.Fleet.Name(), arn)
		}
	}
	for _, other := range []string{
		"arn:aws:iam::" + d.account + ":role/stampkit/eu1/" + d.region + "/x",
		"arn:aws:iam::" + d.account + ":role/stampkit/" + f.cfg.Name + "/eu-west-1/x",
		"arn:aws:iam::" + d.account + ":role/admin",
	} {
		if passesRole(other) {
			t.Errorf("rollout passes %v, which lets it pass %s, not the stamp's in its Region", patterns, other)
		}
	}
}

// TestRolloutLaunchesOnlyFromTheTemplates: the ec2:RunInstances that Auto
// Scaling checks for the rollout is limited to launches from a launch
// template and to the resources of the stack's account and region, plus
// the account-less image and snapshot ARNs a launch reads; a Deny refuses
// every launch template that does not carry the stamp's tag, which each of
// the stamp's does, and the templates the rollout may change are those.
func TestRolloutLaunchesOnlyFromTheTemplates(t *testing.T) {
	f := synth(t)
	d := deployed{f: f, account: f.cfg.Account, region: f.cfg.Region}
	templates := d.arn("ec2", "launch-template/*")
	stampTag := map[string]any{"aws:ResourceTag/" + StampTagKey: f.cfg.Name}
	wantResources := []string{d.arn("ec2", "*/*"), "arn:aws:ec2:" + d.region + "::image/*", "arn:aws:ec2:" + d.region + "::snapshot/*"}
	var allows, denies, changes int
	for _, s := range f.statements(f.logicalID(t, f.stack.Handlers().Rollout().Role.RoleArn())) {
		var resources []string
		for _, res := range asList(s["Resource"]) {
			r, err := d.resolve(res)
			if err != nil {
				t.Fatal(err)
			}
			resources = append(resources, r)
		}
		slices.Sort(resources)
		actions := asList(s["Action"])
		cond := asMap(s["Condition"])
		switch {
		case slices.Contains(actions, any("ec2:RunInstances")) && s["Effect"] == "Deny":
			denies++
			if !slices.Equal(resources, []string{templates}) || fmt.Sprint(cond) != fmt.Sprint(map[string]any{"StringNotEquals": stampTag}) {
				t.Errorf("ec2:RunInstances Deny on %v if %v, want on %s unless tagged %v", resources, cond, templates, stampTag)
			}
		case slices.Contains(actions, any("ec2:RunInstances")):
			allows++
			slices.Sort(wantResources)
			from, err := d.resolve(asMap(cond["ArnLike"])["ec2:LaunchTemplate"])
			if !slices.Equal(resources, wantResources) || err != nil || from != templates {
				t.Errorf("ec2:RunInstances on %v from %q (%v), want on %v from %s", resources, from, err, wantResources, templates)
			}
		case slices.Contains(actions, any("ec2:CreateLaunchTemplateVersion")):
			changes++
			if !slices.Equal(resources, []string{templates}) || fmt.Sprint(cond) != fmt.Sprint(map[string]any{"StringEquals": stampTag}) {
				t.Errorf("ec2:CreateLaunchTemplateVersion on %v if %v, want on %s if tagged %v", resources, cond, templates, stampTag)
			}
		}
	}
	if allows != 1 || denies != 1 || changes != 1 {
		t.Fatalf("rollout role: %d RunInstances Allow, %d Deny, %d CreateLaunchTemplateVersion statements; want one each", allows, denies, changes)
	}
	for _, mf := range f.stack.Fleets() {
		lt := props(f.resources[f.logicalID(t, mf.Fleet.LaunchTemplate().LaunchTemplateId())])
		found := false
		for _, spec := range asList(lt["TagSpecifications"]) {
			if asMap(spec)["ResourceType"] != "launch-template" {
				continue
			}
			for _, tag := range asList(asMap(spec)["Tags"]) {
				found = found || fmt.Sprint(tag) == fmt.Sprint(map[string]any{"Key": StampTagKey, "Value": f.cfg.Name})
			}
		}
		if !found {
			t.Errorf("fleet %s's launch template is not tagged %s=%s: the rollout could not launch from it", mf.Fleet.Name(), StampTagKey, f.cfg.Name)
		}
	}
}

// TestAccessLogBucketsWrittenOnlyByTheLogDelivery holds the load
// balancers' access-log buckets to their cdk-nag S1 reason: each bucket
// policy allows writes to the ELB log delivery alone, under the load
// balancer's prefix, and no identity policy of the app names the bucket.
func TestAccessLogBucketsWrittenOnlyByTheLogDelivery(t *testing.T) {
	f := synth(t)
	buckets := map[string]bool{}
	for _, lb := range f.ofType("AWS::ElasticLoadBalancingV2::LoadBalancer") {
		for _, a := range asList(props(lb)["LoadBalancerAttributes"]) {
			if asMap(a)["Key"] == "access_logs.s3.bucket" {
				ref, _ := asMap(asMap(a)["Value"])["Ref"].(string)
				buckets[ref] = true
			}
		}
	}
	if len(buckets) == 0 {
		t.Fatal("no load balancer logs to a bucket of the stack: the test checks nothing")
	}
	logDelivery := []string{
		// ELB's account for us-east-1, as the CDK writes it for a stack in
		// that region, and the log delivery service.
		fmt.Sprint(map[string]any{"AWS": "arn:aws:iam::127311923021:root"}),
		fmt.Sprint(map[string]any{"Service": "delivery.logs.amazonaws.com"}),
	}
	for _, p := range f.ofType("AWS::S3::BucketPolicy") {
		bucket, _ := asMap(props(p)["Bucket"])["Ref"].(string)
		if !buckets[bucket] {
			continue
		}
		for _, st := range docStatements(props(p)["PolicyDocument"]) {
			if st["Effect"] != "Allow" {
				continue
			}
			if !slices.Contains(logDelivery, fmt.Sprint(st["Principal"])) {
				t.Errorf("bucket %s allows %v to %v; want the ELB log delivery alone", bucket, st["Principal"], st["Action"])
			}
			for _, a := range asList(st["Action"]) {
				if a != "s3:PutObject" && a != "s3:GetBucketAcl" {
					t.Errorf("bucket %s allows %v; want s3:PutObject (and the delivery's s3:GetBucketAcl) only", bucket, a)
				}
			}
			if slices.Contains(asList(st["Action"]), any("s3:PutObject")) {
				raw, _ := json.Marshal(st["Resource"])
				if !strings.Contains(string(raw), "/AWSLogs/"+f.cfg.Account+"/*") {
					t.Errorf("bucket %s allows s3:PutObject on %s; want the load balancer's AWSLogs/<account>/ prefix", bucket, raw)
				}
			}
		}
	}
	for _, ps := range identityStatements(t, f) {
		raw, _ := json.Marshal(ps.s["Resource"])
		for b := range buckets {
			if strings.Contains(string(raw), `"`+b+`"`) {
				t.Errorf("%s: %v on the access-log bucket %s; want no role of the app to reach it", ps.where, ps.s["Action"], b)
			}
		}
	}
}
