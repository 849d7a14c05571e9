package stamp

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"

	"github.com/stampkit/stampkit/shared/lifecycle"
)

// matches checks one resource (by logical id) against an ObjectLike
// pattern of its Properties.
func (f *fixture) matches(t *testing.T, what, id string, pattern map[string]any) {
	t.Helper()
	r, ok := f.resources[id]
	if !ok {
		t.Fatalf("%s: no resource %s in the template", what, id)
	}
	var res assertions.MatchResult
	if err := try(func() { res = assertions.Match_ObjectLike(&pattern).Test(props(r)); res.Finished() }); err != nil {
		t.Fatalf("%s: matching %s: %v", what, id, err)
	}
	if *res.HasFailed() {
		t.Errorf("%s: %s does not match:\n%s", what, id, *res.RenderMismatch())
	}
}

func (f *fixture) fleetConfig(t *testing.T, name string) FleetConfig {
	t.Helper()
	for _, fc := range f.cfg.Fleets {
		if fc.Name == name {
			return fc
		}
	}
	t.Fatalf("no fleet %q in the config", name)
	return FleetConfig{}
}

func TestFleet(t *testing.T) {
	f := synth(t)
	groups := 0
	for _, fc := range f.cfg.Fleets {
		groups++
		if fc.BlueGreen() {
			groups++
		}
	}
	check(t, "one group per fleet, two for blue/green", func() {
		f.template.ResourceCountIs(jsii.String("AWS::AutoScaling::AutoScalingGroup"), num(groups))
	})
	// Hooks declared as their own resources come after the group and miss
	// the instances it launches first; they are in each group instead.
	check(t, "no lifecycle hook resources", func() {
		f.template.ResourceCountIs(jsii.String("AWS::AutoScaling::LifecycleHook"), num(0))
	})
	check(t, "two target groups per fleet", func() {
		f.template.ResourceCountIs(jsii.String("AWS::ElasticLoadBalancingV2::TargetGroup"), num(2*len(f.cfg.Fleets)))
	})
	check(t, "no key pair on any launch template", func() {
		f.template.AllResourcesProperties(jsii.String("AWS::EC2::LaunchTemplate"), map[string]any{
			"LaunchTemplateData": assertions.Match_ObjectLike(&map[string]any{"KeyName": assertions.Match_Absent()}),
		})
	})
	for _, mf := range f.stack.Fleets() {
		fl := mf.Fleet
		t.Run(fl.Name(), func(t *testing.T) { testOneFleet(t, f, fl) })
	}
	t.Run("warm pools where the config asks", func(t *testing.T) {
		pools := f.ofType("AWS::AutoScaling::WarmPool")
		want := 0
		for _, mf := range f.stack.Fleets() {
			fc := f.fleetConfig(t, mf.Fleet.Name())
			if fc.WarmPool == nil {
				continue
			}
			groups := []string{f.logicalID(t, mf.Fleet.AutoScalingGroup().AutoScalingGroupName())}
			if mf.Fleet.PeerGroup() != nil {
				groups = append(groups, f.logicalID(t, mf.Fleet.PeerGroup().AutoScalingGroupName()))
			}
			for _, g := range groups {
				want++
				found := false
				for id, p := range pools {
					if fmt.Sprint(props(p)["AutoScalingGroupName"]) != fmt.Sprint(map[string]any{"Ref": g}) {
						continue
					}
					found = true
					f.matches(t, "warm pool of "+g, id, map[string]any{
						"MinSize": fc.WarmPool.MinSize, "MaxGroupPreparedCapacity": *fc.WarmPool.MaxPrepared, "PoolState": "Stopped",
					})
				}
				if !found {
					t.Errorf("group %s of fleet %s has no warm pool", g, fc.Name)
				}
			}
		}
		if len(pools) != want || want == 0 {
			t.Errorf("%d warm pools, want %d (and the test app to have some)", len(pools), want)
		}
	})
}

func testOneFleet(t *testing.T, f *fixture, fl Fleet) {
	cfg := f.fleetConfig(t, fl.Name())
	ltID := f.logicalID(t, fl.LaunchTemplate().LaunchTemplateId())
	asgID := f.logicalID(t, fl.AutoScalingGroup().AutoScalingGroupName())
	instanceSG := f.logicalID(t, fl.InstanceSecurityGroup().SecurityGroupId())
	albSG := f.logicalID(t, (*fl.LoadBalancer().Connections().SecurityGroups())[0].SecurityGroupId())
	lifecycleSG := f.logicalID(t, f.stack.Handlers().LifecycleSecurityGroup().SecurityGroupId())
	albID := f.logicalID(t, fl.LoadBalancer().LoadBalancerArn())
	blue := f.logicalID(t, fl.BlueTargetGroup().TargetGroupArn())
	green := f.logicalID(t, fl.GreenTargetGroup().TargetGroupArn())

	t.Run("launch template", func(t *testing.T) {
		image := assertions.NewCapture(nil)
		f.matches(t, "launch template", ltID, map[string]any{"LaunchTemplateData": map[string]any{
			"ImageId":      map[string]any{"Ref": image},
			"InstanceType": cfg.InstanceType,
			"MetadataOptions": map[string]any{
				"HttpEndpoint": "enabled", "HttpTokens": "required", "HttpPutResponseHopLimit": 1,
			},
			"Monitoring": map[string]any{"Enabled": true},
			"BlockDeviceMappings": []any{map[string]any{
				"DeviceName": "/dev/xvda",
				"Ebs": map[string]any{
					"Encrypted": true, "VolumeType": "gp3", "VolumeSize": cfg.RootVolumeGiB, "DeleteOnTermination": true,
				},
			}},
			"NetworkInterfaces": []any{map[string]any{
				"AssociatePublicIpAddress": false,
				"Groups":                   []any{getAtt(instanceSG, "GroupId")},
			}},
			"IamInstanceProfile": assertions.Match_AnyValue(),
			"KeyName":            assertions.Match_Absent(),
		}})
		if t.Failed() {
			return
		}
		// The AMI is a deploy-time SSM parameter, not a synth-time lookup.
		check(t, "AMI parameter", func() {
			f.template.HasParameter(image.AsString(), map[string]any{
				"Type":    "AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>",
				"Default": cfg.AmiParameter,
			})
		})
	})

	t.Run("instance role is SSM core, agent metrics and the app log only", func(t *testing.T) {
		roleID := f.logicalID(t, fl.InstanceRole().RoleArn())
		logsID := f.logicalID(t, fl.AppLogGroup().LogGroupArn())
		f.matches(t, "instance role", roleID, map[string]any{
			"ManagedPolicyArns": []any{map[string]any{"Fn::Join": []any{"", []any{
				"arn:", map[string]any{"Ref": "AWS::Partition"}, ":iam::aws:policy/AmazonSSMManagedInstanceCore",
			}}}},
		})
		var actions []string
		for _, s := range f.statements(roleID) {
			for _, a := range asList(s["Action"]) {
				actions = append(actions, fmt.Sprint(a))
				if a == "cloudwatch:PutMetricData" && fmt.Sprint(s["Condition"]) != fmt.Sprint(map[string]any{
					"StringEquals": map[string]any{"cloudwatch:namespace": AgentNamespace},
				}) {
					t.Errorf("PutMetricData condition: got %v, want the %s namespace only", s["Condition"], AgentNamespace)
				}
				if strings.HasPrefix(fmt.Sprint(a), "logs:") {
					if got, want := fmt.Sprint(s["Resource"]), fmt.Sprint(getAtt(logsID, "Arn")); got != want {
						t.Errorf("%s on %s, want the fleet's app log group %s only", a, got, want)
					}
				}
			}
		}
		slices.Sort(actions)
		want := []string{"cloudwatch:PutMetricData", "ec2:DescribeTags",
			"logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"}
		if !slices.Equal(actions, want) {
			t.Errorf("instance role actions: got %v, want %v", actions, want)
		}
	})

	t.Run("app log group is the one the image's agent ships to", func(t *testing.T) {
		logsID := f.logicalID(t, fl.AppLogGroup().LogGroupArn())
		f.matches(t, "app log group", logsID, map[string]any{
			"LogGroupName":    f.cfg.Names().AppLogGroup(cfg.Name),
			"RetentionInDays": f.cfg.LogRetentionDays,
		})
		if got := f.resources[logsID]["DeletionPolicy"]; got != "Delete" {
			t.Errorf("app log group DeletionPolicy: got %v, want Delete (a retained named group blocks a redeploy)", got)
		}
		var agent struct {
			Logs struct {
				LogsCollected struct {
					Files struct {
						CollectList []struct {
							FilePath     string `json:"file_path"`
							LogGroupName string `json:"log_group_name"`
						} `json:"collect_list"`
					} `json:"files"`
				} `json:"logs_collected"`
			} `json:"logs"`
		}
		files := bakedFiles(t, f, fl.Name())
		raw, ok := files[agentConfigPath]
		if !ok {
			t.Fatalf("the fleet's image writes no %s; it writes %v", agentConfigPath, keys(files))
		}
		if err := json.Unmarshal([]byte(raw), &agent); err != nil {
			t.Fatalf("baked agent configuration: %v\n%s", err, raw)
		}
		collect := agent.Logs.LogsCollected.Files.CollectList
		if len(collect) != 1 || collect[0].LogGroupName != f.cfg.Names().AppLogGroup(cfg.Name) {
			t.Errorf("baked agent ships %+v, want one file to %s", collect, f.cfg.Names().AppLogGroup(cfg.Name))
		}
	})

	t.Run("group", func(t *testing.T) {
		private := []any{}
		for _, s := range *f.stack.Network().Vpc().PrivateSubnets() {
			private = append(private, ref(f.logicalID(t, s.SubnetId())))
		}
		f.matches(t, "group", asgID, map[string]any{
			"MinSize":           fmt.Sprint(cfg.MinCapacity),
			"MaxSize":           fmt.Sprint(cfg.MaxCapacity),
			"DesiredCapacity":   assertions.Match_Absent(),
			"HealthCheckType":   "ELB",
			"TargetGroupARNs":   []any{ref(blue)},
			"VPCZoneIdentifier": private,
			"LaunchTemplate": map[string]any{
				"LaunchTemplateId": ref(ltID),
				"Version":          getAtt(ltID, "LatestVersionNumber"),
			},
			"Tags": assertions.Match_ArrayWith(&[]any{map[string]any{
				"Key": FleetTagKey, "Value": cfg.Name, "PropagateAtLaunch": true,
			}}),
		})
	})

	t.Run("named lifecycle hooks in every group, without notification target", func(t *testing.T) {
		hook := func(name, transition, result string) map[string]any {
			return map[string]any{
				"LifecycleHookName":     name,
				"LifecycleTransition":   transition,
				"DefaultResult":         result,
				"HeartbeatTimeout":      int(cfg.Lifecycle.HeartbeatTimeout.Std().Seconds()),
				"NotificationTargetARN": assertions.Match_Absent(),
				"RoleARN":               assertions.Match_Absent(),
			}
		}
		for _, g := range fl.Groups() {
			f.matches(t, "group hooks", f.logicalID(t, g.AutoScalingGroupName()), map[string]any{
				"LifecycleHookSpecificationList": []any{
					hook(LaunchHookName, "autoscaling:EC2_INSTANCE_LAUNCHING", "ABANDON"),
					hook(TerminateHookName, "autoscaling:EC2_INSTANCE_TERMINATING", "CONTINUE"),
				},
			})
		}
	})

	t.Run("peer group for blue/green only", func(t *testing.T) {
		peer := fl.PeerGroup()
		if !cfg.BlueGreen() {
			if peer != nil || len(fl.Groups()) != 1 {
				t.Errorf("fleet %s (rollout %q): got a peer group, want none", cfg.Name, cfg.Rollout.Strategy)
			}
			return
		}
		if peer == nil || len(fl.Groups()) != 2 {
			t.Fatalf("fleet %s is blue/green: got no peer group", cfg.Name)
		}
		peerID := f.logicalID(t, peer.AutoScalingGroupName())
		f.matches(t, "peer group", peerID, map[string]any{
			"MinSize":         "0",
			"MaxSize":         fmt.Sprint(cfg.MaxCapacity),
			"DesiredCapacity": assertions.Match_Absent(),
			"TargetGroupARNs": []any{ref(green)},
			"LaunchTemplate":  map[string]any{"LaunchTemplateId": ref(ltID), "Version": getAtt(ltID, "LatestVersionNumber")},
			"Tags": assertions.Match_ArrayWith(&[]any{map[string]any{
				"Key": FleetTagKey, "Value": cfg.Name, "PropagateAtLaunch": true,
			}}),
		})
	})

	t.Run("health alarms on the load balancer and each serving target group", func(t *testing.T) {
		lb := map[string]any{"Name": "LoadBalancer", "Value": getAtt(albID, "LoadBalancerFullName")}
		onTargetGroup := func(tg string) []any {
			return []any{lb, map[string]any{"Name": "TargetGroup", "Value": getAtt(tg, "TargetGroupFullName")}}
		}
		h := cfg.HealthAlarms
		unhealthy := func(tg string) map[string]any {
			return map[string]any{
				"MetricName": "UnHealthyHostCount", "Statistic": "Maximum", "Dimensions": onTargetGroup(tg),
				"Threshold": 0, "ComparisonOperator": "GreaterThanThreshold",
				"EvaluationPeriods": h.UnhealthyHostMinutes, "DatapointsToAlarm": h.UnhealthyHostMinutes,
			}
		}
		// In the order the rollout policy lists them.
		want := []map[string]any{
			{
				"MetricName": "HTTPCode_Target_5XX_Count", "Statistic": "Sum", "Dimensions": []any{lb},
				"Threshold": h.Target5xxPerMinute, "ComparisonOperator": "GreaterThanOrEqualToThreshold",
				"EvaluationPeriods": 2, "DatapointsToAlarm": 2,
			},
			// The load balancer's own 502/503/504: targets that refuse
			// connections answer nothing the target count would see.
			{
				"MetricName": "HTTPCode_ELB_5XX_Count", "Statistic": "Sum", "Dimensions": []any{lb},
				"Threshold": h.Elb5xxPerMinute, "ComparisonOperator": "GreaterThanOrEqualToThreshold",
				"EvaluationPeriods": 2, "DatapointsToAlarm": 2,
			},
			{
				"MetricName": "TargetResponseTime", "ExtendedStatistic": "p99", "Dimensions": []any{lb},
				"Threshold": h.P99LatencySeconds, "ComparisonOperator": "GreaterThanThreshold",
				"EvaluationPeriods": 3, "DatapointsToAlarm": 3,
			},
			// A target group whose targets are all unhealthy still gets
			// its weight (the load balancer fails open).
			unhealthy(blue),
		}
		if cfg.BlueGreen() {
			want = append(want, unhealthy(green))
		}
		alarms := fl.HealthAlarms()
		if len(alarms) != len(want) {
			t.Fatalf("health alarms: got %d, want %d", len(alarms), len(want))
		}
		// Operators hear of each (TestAlarmNotifications checks every
		// alarm); the rollout watches it through its own describe calls.
		topic := []any{ref(f.logicalID(t, f.stack.Observability().AlarmTopic().TopicArn()))}
		for i, a := range alarms {
			w := want[i]
			w["Namespace"] = "AWS/ApplicationELB"
			w["Period"] = 60
			// Load balancer metrics are published only while requests flow.
			w["TreatMissingData"] = "notBreaching"
			w["AlarmActions"] = topic
			w["OKActions"] = topic
			f.matches(t, fmt.Sprintf("health alarm %d", i), f.logicalID(t, a.AlarmArn()), w)
		}
	})

	t.Run("blue and green target groups", func(t *testing.T) {
		for _, id := range []string{blue, green} {
			f.matches(t, "target group", id, map[string]any{
				"Port":                       cfg.AppPort,
				"Protocol":                   "HTTP",
				"TargetType":                 "instance",
				"HealthCheckPath":            cfg.HealthCheckPath,
				"HealthCheckIntervalSeconds": 10,
				"HealthyThresholdCount":      2,
				"UnhealthyThresholdCount":    3,
				"Matcher":                    map[string]any{"HttpCode": "200"},
				"TargetGroupAttributes": assertions.Match_ArrayWith(&[]any{map[string]any{
					"Key": "deregistration_delay.timeout_seconds", "Value": fmt.Sprint(cfg.DeregistrationDelaySeconds),
				}}),
			})
		}
	})

	t.Run("load balancer logs to an encrypted SSL-only bucket", func(t *testing.T) {
		bucket := assertions.NewCapture(nil)
		f.matches(t, "load balancer", albID, map[string]any{
			"Scheme": "internet-facing",
			"LoadBalancerAttributes": assertions.Match_ArrayWith(&[]any{
				map[string]any{"Key": "routing.http.drop_invalid_header_fields.enabled", "Value": "true"},
				map[string]any{"Key": "access_logs.s3.enabled", "Value": "true"},
				map[string]any{"Key": "access_logs.s3.bucket", "Value": map[string]any{"Ref": bucket}},
			}),
		})
		if t.Failed() {
			return
		}
		bucketID := *bucket.AsString()
		f.matches(t, "access log bucket", bucketID, map[string]any{
			"BucketEncryption": map[string]any{"ServerSideEncryptionConfiguration": []any{map[string]any{
				"ServerSideEncryptionByDefault": map[string]any{"SSEAlgorithm": "AES256"},
			}}},
			"PublicAccessBlockConfiguration": map[string]any{
				"BlockPublicAcls": true, "BlockPublicPolicy": true, "IgnorePublicAcls": true, "RestrictPublicBuckets": true,
			},
		})
		check(t, "bucket policy denies plain HTTP", func() {
			f.template.HasResourceProperties(jsii.String("AWS::S3::BucketPolicy"), map[string]any{
				"Bucket": ref(bucketID),
				"PolicyDocument": map[string]any{"Statement": assertions.Match_ArrayWith(&[]any{
					assertions.Match_ObjectLike(&map[string]any{
						"Effect":    "Deny",
						"Condition": map[string]any{"Bool": map[string]any{"aws:SecureTransport": "false"}},
					}),
				})},
			})
		})
	})

	t.Run("listener forwards blue 100 green 0, or the live weights on blue/green", func(t *testing.T) {
		var blueWeight, greenWeight any = BlueWeight, GreenWeight
		if cfg.BlueGreen() {
			// A deploy writes what the weight parameters hold, not
			// constants: after a promotion the configured group is empty.
			names := cfg.WeightParameters()
			for _, w := range []struct {
				weight *any
				name   string
			}{{&blueWeight, names.TargetGroup}, {&greenWeight, names.PeerTargetGroup}} {
				id := f.templateParameter(t, w.name)
				*w.weight = ref(id)
			}
		}
		// The forward action alone: no authenticate-* action (a weight
		// shift rewrites the default actions and would drop it).
		forward := []any{map[string]any{"Type": "forward", "ForwardConfig": map[string]any{"TargetGroups": []any{
			map[string]any{"TargetGroupArn": ref(blue), "Weight": blueWeight},
			map[string]any{"TargetGroupArn": ref(green), "Weight": greenWeight},
		}}}}
		byPort := map[int]map[string]any{}
		for _, r := range f.ofType("AWS::ElasticLoadBalancingV2::Listener") {
			p := props(r)
			if fmt.Sprint(p["LoadBalancerArn"]) == fmt.Sprint(ref(albID)) {
				byPort[int(p["Port"].(float64))] = p
			}
		}
		listenerID := f.logicalID(t, fl.Listener().ListenerArn())
		if cfg.CertificateArn == "" {
			if len(byPort) != 1 || byPort[80] == nil {
				t.Fatalf("listener ports: got %v, want only 80", keys(byPort))
			}
			f.matches(t, "HTTP listener", listenerID, map[string]any{"Port": 80, "Protocol": "HTTP", "DefaultActions": forward})
			return
		}
		if len(byPort) != 2 || byPort[80] == nil || byPort[443] == nil {
			t.Fatalf("listener ports: got %v, want 80 and 443", keys(byPort))
		}
		f.matches(t, "HTTPS listener", listenerID, map[string]any{
			"Port": 443, "Protocol": "HTTPS", "DefaultActions": forward,
			"Certificates": []any{map[string]any{"CertificateArn": cfg.CertificateArn}},
		})
		redirect := assertions.Match_ObjectLike(&map[string]any{"DefaultActions": []any{map[string]any{
			"Type": "redirect",
			"RedirectConfig": map[string]any{
				"Protocol": "HTTPS", "Port": "443", "StatusCode": "HTTP_301",
			},
		}}}).Test(byPort[80])
		if *redirect.HasFailed() {
			t.Errorf("port 80 listener does not redirect to HTTPS:\n%s", *redirect.RenderMismatch())
		}
	})

	t.Run("load balancer security group opens only the listener ports", func(t *testing.T) {
		want := []any{80}
		if cfg.CertificateArn != "" {
			want = []any{80, 443}
		}
		var got []any
		ingress, _ := props(f.resources[albSG])["SecurityGroupIngress"].([]any)
		for _, rule := range ingress {
			r := rule.(map[string]any)
			if r["FromPort"] != r["ToPort"] || r["CidrIp"] != "0.0.0.0/0" {
				t.Errorf("ALB ingress rule %v: want a single port from 0.0.0.0/0", r)
			}
			got = append(got, int(r["FromPort"].(float64)))
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("ALB ingress ports: got %v, want %v", got, want)
		}
		for id, r := range f.ofType("AWS::EC2::SecurityGroupIngress") {
			if fmt.Sprint(props(r)["GroupId"]) == fmt.Sprint(getAtt(albSG, "GroupId")) {
				t.Errorf("ALB security group has an extra ingress resource %s", id)
			}
		}
	})

	t.Run("instances accept the ALB on the app port and the lifecycle Lambda on the probe ports", func(t *testing.T) {
		f.matches(t, "instance security group", instanceSG, map[string]any{
			"SecurityGroupIngress": assertions.Match_Absent(),
		})
		var probePorts []int
		for _, p := range cfg.Lifecycle.Launch.Probes {
			if p.Kind == lifecycle.HTTP {
				probePorts = append(probePorts, p.Port)
			}
		}
		want := map[string][]int{
			fmt.Sprint(getAtt(albSG, "GroupId")):       {cfg.AppPort},
			fmt.Sprint(getAtt(lifecycleSG, "GroupId")): probePorts,
		}
		got := map[string][]int{}
		for id, r := range f.ofType("AWS::EC2::SecurityGroupIngress") {
			p := props(r)
			if fmt.Sprint(p["GroupId"]) != fmt.Sprint(getAtt(instanceSG, "GroupId")) {
				continue
			}
			src := fmt.Sprint(p["SourceSecurityGroupId"])
			if p["CidrIp"] != nil || p["CidrIpv6"] != nil || p["IpProtocol"] != "tcp" || p["FromPort"] != p["ToPort"] {
				t.Errorf("ingress %s: got %v, want one TCP port from a security group", id, p)
				continue
			}
			got[src] = append(got[src], int(p["FromPort"].(float64)))
		}
		for src := range got {
			slices.Sort(got[src])
			if _, ok := want[src]; !ok {
				t.Errorf("ingress from %s: want only the ALB and lifecycle security groups", src)
			}
		}
		for src, ports := range want {
			slices.Sort(ports)
			if !slices.Equal(got[src], ports) {
				t.Errorf("ingress ports from %s: got %v, want %v", src, got[src], ports)
			}
		}
	})
}

// templateParameter returns the logical id of the stack's template
// parameter of an SSM parameter type whose default names the SSM parameter
// name, failing the test when there is not exactly one.
func (f *fixture) templateParameter(t *testing.T, name string) string {
	t.Helper()
	params, _ := (*f.template.ToJSON())["Parameters"].(map[string]any)
	var found []string
	for id, p := range params {
		if p, _ := p.(map[string]any); p["Default"] == name {
			if p["Type"] != "AWS::SSM::Parameter::Value<String>" {
				t.Errorf("template parameter %s: type %v, want AWS::SSM::Parameter::Value<String> (resolved at each deploy)", id, p["Type"])
			}
			found = append(found, id)
		}
	}
	if len(found) != 1 {
		t.Fatalf("template parameters naming %s: got %v, want one", name, found)
	}
	return found[0]
}

func keys[K comparable, V any](m map[K]V) []K {
	out := make([]K, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestBlueGreenListenerHasNoStickinessOrAuthentication: moving weights
// does not move clients that target-group stickiness pins to the old
// group, and rewriting the listener's default actions drops any
// authenticate-* action. Neither is configurable (FleetConfig has no key
// for them, and unknown keys are refused), and neither is in the template.
func TestBlueGreenListenerHasNoStickinessOrAuthentication(t *testing.T) {
	for _, key := range []string{"stickiness", "authentication", "authenticateOidc", "authenticateCognito"} {
		ctx := validContext(t)
		ctx[CtxFleets].([]any)[0].(map[string]any)[key] = map[string]any{"enabled": true}
		if _, err := ParseConfig(getter(ctx)); err == nil || !strings.Contains(err.Error(), fmt.Sprintf("%q: not a key of a fleet", "fleets[0]."+key)) {
			t.Errorf("fleet key %q: got %v, want it refused as an unknown field", key, err)
		}
	}
	f := synth(t)
	blueGreen := 0
	for _, mf := range f.stack.Fleets() {
		fl := mf.Fleet
		if fl.PeerGroup() == nil {
			continue
		}
		blueGreen++
		for _, tg := range []*string{fl.BlueTargetGroup().TargetGroupArn(), fl.GreenTargetGroup().TargetGroupArn()} {
			id := f.logicalID(t, tg)
			for _, a := range asList(props(f.resources[id])["TargetGroupAttributes"]) {
				if kv := a.(map[string]any); strings.HasPrefix(fmt.Sprint(kv["Key"]), "stickiness.") && kv["Value"] != "false" {
					t.Errorf("fleet %s target group %s: attribute %v=%v, want no stickiness", fl.Name(), id, kv["Key"], kv["Value"])
				}
			}
		}
		listener := f.logicalID(t, fl.Listener().ListenerArn())
		for _, a := range asList(props(f.resources[listener])["DefaultActions"]) {
			action := a.(map[string]any)
			if action["Type"] != "forward" {
				t.Errorf("fleet %s listener: default action %v, want the weighted forward alone", fl.Name(), action["Type"])
			}
			if fc, _ := action["ForwardConfig"].(map[string]any); fc["TargetGroupStickinessConfig"] != nil {
				t.Errorf("fleet %s listener: forward stickiness %v, want none", fl.Name(), fc["TargetGroupStickinessConfig"])
			}
		}
		for id, r := range f.ofType("AWS::ElasticLoadBalancingV2::ListenerRule") {
			if fmt.Sprint(props(r)["ListenerArn"]) == fmt.Sprint(ref(listener)) {
				t.Errorf("fleet %s listener has rule %s, want the default action alone", fl.Name(), id)
			}
		}
	}
	if blueGreen == 0 {
		t.Fatal("the test app has no blue/green fleet")
	}
}
