package e2e_test

import (
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/google/go-cmp/cmp"

	"github.com/stampkit/stampkit/shared/awstest"
	"github.com/stampkit/stampkit/shared/clock"
	"github.com/stampkit/stampkit/shared/config"
	"github.com/stampkit/stampkit/shared/rollout"
	"github.com/stampkit/stampkit/shared/runtimetest"
	"github.com/stampkit/stampkit/shared/scaling"
)

const (
	amiSample = "ec2-ami-state-change-available"
	// newImage is one of the AMIs moto ships (Amazon Linux 2022, arm64):
	// an image registered in the emulator loses its architecture
	// (awstest/GAPS.md), and the fleet's t4g instances demand arm64.
	newImage   = "ami-0e9271c829888680e"
	peerGroup  = "stampkit-web-green"
	imageParam = "/stampkit/e2e/web/ami"
)

// rolloutRig is the rollout function under the runtime emulator against an
// emulator fleet made blue/green: the standard fleet's group serves from
// the blue target group, and a second, empty group waits behind the green
// one.
type rolloutRig struct {
	rt    *runtimetest.Runtime
	cfg   aws.Config
	fleet awstest.Fleet
	queue string
}

// rigEdit changes the rollout function's configuration, and the
// environment that carries it, before the function starts.
type rigEdit func(t *testing.T, cfg aws.Config, c *config.Config, env map[string]string)

func newRolloutRig(t *testing.T, edits ...rigEdit) rolloutRig {
	t.Helper()
	cfg := emu.Fresh(t)
	fleet := awstest.NewFleet(t, cfg)
	awstest.NewTable(t, cfg, table)
	queue := newQueue(t, cfg, "stampkit-e2e-rollout")
	if _, err := autoscaling.NewFromConfig(cfg).CreateAutoScalingGroup(t.Context(), &autoscaling.CreateAutoScalingGroupInput{
		AutoScalingGroupName: aws.String(peerGroup),
		MinSize:              aws.Int32(0), MaxSize: aws.Int32(awstest.FleetMax), DesiredCapacity: aws.Int32(0),
		LaunchTemplate:    &astypes.LaunchTemplateSpecification{LaunchTemplateId: aws.String(fleet.LaunchTemplateID), Version: aws.String("1")},
		VPCZoneIdentifier: aws.String(strings.Join(fleet.SubnetIDs, ",")),
		TargetGroupARNs:   []string{fleet.GreenTargetGroupARN},
	}); err != nil {
		t.Fatalf("CreateAutoScalingGroup %s: %v", peerGroup, err)
	}
	// The image is meant for the fleet by its tag, as a pipeline would tag it.
	if _, err := ec2.NewFromConfig(cfg).CreateTags(t.Context(), &ec2.CreateTagsInput{
		Resources: []string{newImage}, Tags: []ec2types.Tag{{Key: aws.String(rollout.FleetTag), Value: aws.String("web")}},
	}); err != nil {
		t.Fatalf("tagging %s: %v", newImage, err)
	}
	c := config.Config{Table: table, Fleets: []config.Fleet{{
		Name: "web", Group: fleet.GroupName,
		Scaling: scaling.Policy{Min: awstest.FleetMin, Max: awstest.FleetMax, Rules: []scaling.Rule{{
			Alarm: "web-high", Direction: scaling.Out, AdjustmentType: scaling.ChangeInCapacity,
			Steps: []scaling.Step{{Lower: 0, Adjustment: 1}},
		}}},
		Rollout: rollout.Policy{
			Strategy: rollout.StrategyBlueGreen, Parameter: imageParam,
			// moto reports no encryption, and dates its own AMIs from its
			// start, before the fleet's image: neither says anything here.
			Checks: rollout.Checks{AllowUnencryptedRoot: true, AllowOlder: true},
			// A one-second poll keeps the wait for green's health short; the
			// hour-long bake holds the first step for the assertions.
			PollInterval: clock.Duration(time.Second),
			BlueGreen: rollout.BlueGreen{
				Listener: fleet.ListenerARN, TargetGroup: fleet.BlueTargetGroupARN,
				PeerGroup: peerGroup, PeerTargetGroup: fleet.GreenTargetGroupARN,
				Steps: []int{50, 100}, Bake: clock.Duration(time.Hour),
			},
		},
	}}}
	env := configEnv(t, c)
	env[config.EnvRolloutQueue] = queue
	for _, edit := range edits {
		edit(t, cfg, &c, env)
	}
	return rolloutRig{rt: start(t, "rollout", env), cfg: cfg, fleet: fleet, queue: queue}
}

func (r rolloutRig) amiEvent(t *testing.T, edit func(ev map[string]any)) []byte {
	t.Helper()
	return sample(t, amiSample, func(ev map[string]any) {
		ev["time"] = time.Now().UTC().Format(time.RFC3339)
		ev["resources"] = []string{"arn:aws:ec2:us-east-1::image/" + newImage}
		detail(ev)["ImageId"] = newImage
		if edit != nil {
			edit(ev)
		}
	})
}

// weights returns the listener's forward weights by target group ARN.
func (r rolloutRig) weights(t *testing.T) map[string]int32 {
	t.Helper()
	out, err := elbv2.NewFromConfig(r.cfg).DescribeListeners(t.Context(), &elbv2.DescribeListenersInput{
		ListenerArns: []string{r.fleet.ListenerARN},
	})
	if err != nil || len(out.Listeners) != 1 {
		t.Fatalf("DescribeListeners: %v", err)
	}
	got := map[string]int32{}
	for _, a := range out.Listeners[0].DefaultActions {
		if a.ForwardConfig == nil {
			continue
		}
		for _, tg := range a.ForwardConfig.TargetGroups {
			got[aws.ToString(tg.TargetGroupArn)] = aws.ToInt32(tg.Weight)
		}
	}
	return got
}

// template returns the launch template's default version and the image of
// its latest version.
func (r rolloutRig) template(t *testing.T) (defaultVersion, latestVersion int64, latestImage string) {
	t.Helper()
	c := ec2.NewFromConfig(r.cfg)
	lts, err := c.DescribeLaunchTemplates(t.Context(), &ec2.DescribeLaunchTemplatesInput{LaunchTemplateIds: []string{r.fleet.LaunchTemplateID}})
	if err != nil || len(lts.LaunchTemplates) != 1 {
		t.Fatalf("DescribeLaunchTemplates: %v", err)
	}
	lt := lts.LaunchTemplates[0]
	vs, err := c.DescribeLaunchTemplateVersions(t.Context(), &ec2.DescribeLaunchTemplateVersionsInput{
		LaunchTemplateId: lt.LaunchTemplateId, Versions: []string{"$Latest"},
	})
	if err != nil || len(vs.LaunchTemplateVersions) != 1 {
		t.Fatalf("DescribeLaunchTemplateVersions: %v", err)
	}
	v := vs.LaunchTemplateVersions[0]
	return aws.ToInt64(lt.DefaultVersionNumber), aws.ToInt64(v.VersionNumber), aws.ToString(v.LaunchTemplateData.ImageId)
}

// parameter returns the image parameter's value, "" when it does not exist.
func (r rolloutRig) parameter(t *testing.T) string {
	t.Helper()
	out, err := ssm.NewFromConfig(r.cfg).GetParameter(t.Context(), &ssm.GetParameterInput{Name: aws.String(imageParam)})
	if err != nil {
		if strings.Contains(err.Error(), "ParameterNotFound") {
			return ""
		}
		t.Fatalf("GetParameter: %v", err)
	}
	return aws.ToString(out.Parameter.Value)
}

// group returns a group's desired capacity and launch template version.
func (r rolloutRig) group(t *testing.T, name string) (int32, string) {
	t.Helper()
	out, err := autoscaling.NewFromConfig(r.cfg).DescribeAutoScalingGroups(t.Context(), &autoscaling.DescribeAutoScalingGroupsInput{
		AutoScalingGroupNames: []string{name},
	})
	if err != nil || len(out.AutoScalingGroups) != 1 {
		t.Fatalf("DescribeAutoScalingGroups %s: %v", name, err)
	}
	g := out.AutoScalingGroups[0]
	var version string
	if g.LaunchTemplate != nil {
		version = aws.ToString(g.LaunchTemplate.Version)
	}
	return aws.ToInt32(g.DesiredCapacity), version
}

// TestRolloutBlueGreenFirstStep rolls a new AMI into a blue/green fleet
// through the bootstrap. The AMI event stamps it (launch template version 2,
// made the default; the SSM image parameter) and brings up the green group
// on it; a duplicate event changes nothing; the wake-up, delivered as an SQS
// batch, finds green healthy and moves the listener's weights to the first
// step, 50/50, where the hour-long bake holds it.
func TestRolloutBlueGreenFirstStep(t *testing.T) {
	r := newRolloutRig(t)
	ev := r.amiEvent(t, nil)

	mustSucceed(t, "AMI event", invoke(t, r.rt, ev))
	def, latest, image := r.template(t)
	if def != 2 || latest != 2 || image != newImage {
		t.Errorf("launch template: got default %d, latest %d with %s; want default 2, latest 2 with %s", def, latest, image, newImage)
	}
	if got := r.parameter(t); got != newImage {
		t.Errorf("image parameter %s: got %q, want %q", imageParam, got, newImage)
	}
	if desired, version := r.group(t, peerGroup); desired != awstest.FleetDesired || version != "2" {
		t.Errorf("green group: got desired %d on version %q, want %d on \"2\"", desired, version, awstest.FleetDesired)
	}
	if desired, version := r.group(t, r.fleet.GroupName); desired != awstest.FleetDesired || version != "1" {
		t.Errorf("blue group: got desired %d on version %q, want %d on \"1\" (untouched)", desired, version, awstest.FleetDesired)
	}
	before := map[string]int32{r.fleet.BlueTargetGroupARN: 100, r.fleet.GreenTargetGroupARN: 0}
	if diff := cmp.Diff(before, r.weights(t)); diff != "" {
		t.Errorf("weights before green is seen healthy (-want +got):\n%s", diff)
	}

	mustSucceed(t, "duplicate AMI event", invoke(t, r.rt, ev))
	if got := len(records(r.rt, "duplicate delivery")); got != 1 {
		t.Errorf("duplicate log lines: got %d, want 1", got)
	}
	if _, latest, _ := r.template(t); latest != 2 {
		t.Errorf("launch template versions after the duplicate: got %d, want 2", latest)
	}

	// Two wake-ups are queued: the one saved with the rollout before its
	// first change (stale once the stamp went through) and the stamp's.
	step := map[string]int32{r.fleet.BlueTargetGroupARN: 50, r.fleet.GreenTargetGroupARN: 50}
	for range 2 {
		mustSucceed(t, "wake-up", invoke(t, r.rt, wakeUp(t, r.cfg, r.queue)))
		if cmp.Equal(step, r.weights(t)) {
			break
		}
	}
	if diff := cmp.Diff(step, r.weights(t)); diff != "" {
		t.Errorf("weights after the first step (-want +got):\n%s", diff)
	}

	var phases []string
	for _, rec := range records(r.rt, "rollout step") {
		phases = append(phases, rec["from"].(string)+">"+rec["to"].(string))
	}
	if got, want := strings.Join(phases, " "), "stamp>stamp stamp>warm warm>shift"; got != want {
		t.Errorf("rollout steps logged: got %q, want %q", got, want)
	}
}

// TestRolloutRejectsMalformedEvents: an AMI event missing what the function
// needs fails the invocation and stamps nothing.
func TestRolloutRejectsMalformedEvents(t *testing.T) {
	r := newRolloutRig(t)
	tests := []struct {
		name    string
		payload []byte
		want    string
	}{
		{name: "no image id", payload: r.amiEvent(t, func(ev map[string]any) { delete(detail(ev), "ImageId") }),
			want: "malformed event: detail.ImageId: missing"},
		{name: "no state", payload: r.amiEvent(t, func(ev map[string]any) { delete(detail(ev), "State") }),
			want: "malformed event: detail.State: missing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fe, ok := invoke(t, r.rt, tt.payload).Error()
			if !ok {
				t.Fatal("got a result, want a function error")
			}
			if !strings.Contains(fe.Message, tt.want) {
				t.Errorf("errorMessage got %q, want it to contain %q", fe.Message, tt.want)
			}
		})
	}
	if def, latest, _ := r.template(t); def != 1 || latest != 1 {
		t.Errorf("launch template: got default %d, latest %d; want 1, 1 (untouched)", def, latest)
	}
	if got := r.parameter(t); got != "" {
		t.Errorf("image parameter: got %q, want none", got)
	}
	if got := tableItems(t, r.cfg); got != 0 {
		t.Errorf("state table items: got %d, want 0", got)
	}
	if got, want := len(records(r.rt, "rejecting malformed event")), len(tests); got != want {
		t.Errorf("rejection log lines: got %d, want %d", got, want)
	}
}

// TestRolloutImageBuilderEvent: an "EC2 Image Builder Image State Change"
// names only the image's ARN; the bootstrap finds the AMI by the
// Ec2ImageBuilderArn tag Image Builder puts on its output AMIs and stamps it
// as it would the AMI event's.
func TestRolloutImageBuilderEvent(t *testing.T) {
	r := newRolloutRig(t)
	ctx := t.Context()
	c := ec2.NewFromConfig(r.cfg)
	// The build's AMI is this account's own (the adapter asks for owner
	// self): a copy of moto's arm64 image, which keeps its architecture.
	cp, err := c.CopyImage(ctx, &ec2.CopyImageInput{
		Name: aws.String("web 1.0.0/3"), SourceImageId: aws.String(newImage), SourceRegion: aws.String(awstest.Region),
	})
	if err != nil {
		t.Fatalf("CopyImage: %v", err)
	}
	built := aws.ToString(cp.ImageId)
	const buildARN = "arn:aws:imagebuilder:us-east-1:123456789012:image/web/1.0.0/3"
	if _, err := c.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{built}, Tags: []ec2types.Tag{
		{Key: aws.String("Ec2ImageBuilderArn"), Value: aws.String(buildARN)},
		{Key: aws.String("CreatedBy"), Value: aws.String("EC2 Image Builder")},
		{Key: aws.String(rollout.FleetTag), Value: aws.String("web")},
	}}); err != nil {
		t.Fatalf("tagging %s: %v", built, err)
	}
	imgs, err := c.DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{built}})
	if err != nil || len(imgs.Images) != 1 {
		t.Fatalf("DescribeImages %s: %v", built, err)
	}
	ev := sample(t, "imagebuilder-image-state-change", func(ev map[string]any) {
		ev["time"] = time.Now().UTC().Format(time.RFC3339)
		ev["region"] = awstest.Region
		ev["account"] = aws.ToString(imgs.Images[0].OwnerId)
		ev["resources"] = []string{buildARN}
	})

	mustSucceed(t, "image build event", invoke(t, r.rt, ev))
	if def, latest, image := r.template(t); def != 2 || latest != 2 || image != built {
		t.Errorf("launch template: got default %d, latest %d with %s; want default 2, latest 2 with %s", def, latest, image, built)
	}
	if got := r.parameter(t); got != built {
		t.Errorf("image parameter %s: got %q, want %q", imageParam, got, built)
	}
}
