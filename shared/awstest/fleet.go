package awstest

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
)

// Fleet is the stamp-pattern estate created in the emulator by NewFleet: a VPC
// with two subnets, an AMI, a launch template on it, an Auto Scaling group in
// the blue target group, and an ALB whose listener forwards by weight to the
// blue (100) and green (0) target groups.
type Fleet struct {
	VPCID               string
	SubnetIDs           []string
	ImageID             string
	LaunchTemplateID    string
	LaunchTemplateName  string
	GroupName           string
	LoadBalancerARN     string
	ListenerARN         string
	BlueTargetGroupARN  string
	GreenTargetGroupARN string
}

// Fleet sizes.
const (
	FleetMin     = 1
	FleetMax     = 4
	FleetDesired = 2
)

// NewFleet creates a Fleet in the emulator cfg points at; any failure fails
// the test.
func NewFleet(t testing.TB, cfg aws.Config) Fleet {
	t.Helper()
	ctx := t.Context()
	ec2c := ec2.NewFromConfig(cfg)
	elbc := elb.NewFromConfig(cfg)
	asc := autoscaling.NewFromConfig(cfg)
	var f Fleet

	vpc, err := ec2c.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.0.0.0/16")})
	must(t, "CreateVpc", err)
	f.VPCID = aws.ToString(vpc.Vpc.VpcId)
	for i, az := range []string{"us-east-1a", "us-east-1b"} {
		sn, err := ec2c.CreateSubnet(ctx, &ec2.CreateSubnetInput{
			VpcId:            vpc.Vpc.VpcId,
			CidrBlock:        aws.String([]string{"10.0.1.0/24", "10.0.2.0/24"}[i]),
			AvailabilityZone: aws.String(az),
		})
		must(t, "CreateSubnet", err)
		f.SubnetIDs = append(f.SubnetIDs, aws.ToString(sn.Subnet.SubnetId))
	}

	img, err := ec2c.RegisterImage(ctx, &ec2.RegisterImageInput{
		Name:         aws.String("stampkit-base"),
		Architecture: ec2types.ArchitectureValuesArm64,
	})
	must(t, "RegisterImage", err)
	f.ImageID = aws.ToString(img.ImageId)

	f.LaunchTemplateName = "stampkit-web"
	lt, err := ec2c.CreateLaunchTemplate(ctx, &ec2.CreateLaunchTemplateInput{
		LaunchTemplateName: aws.String(f.LaunchTemplateName),
		LaunchTemplateData: &ec2types.RequestLaunchTemplateData{
			ImageId:      aws.String(f.ImageID),
			InstanceType: ec2types.InstanceTypeT4gMicro,
		},
	})
	must(t, "CreateLaunchTemplate", err)
	f.LaunchTemplateID = aws.ToString(lt.LaunchTemplate.LaunchTemplateId)

	lb, err := elbc.CreateLoadBalancer(ctx, &elb.CreateLoadBalancerInput{
		Name:    aws.String("stampkit-alb"),
		Subnets: f.SubnetIDs,
		Type:    elbtypes.LoadBalancerTypeEnumApplication,
	})
	must(t, "CreateLoadBalancer", err)
	f.LoadBalancerARN = aws.ToString(lb.LoadBalancers[0].LoadBalancerArn)

	var tgs []string
	for _, name := range []string{"stampkit-blue", "stampkit-green"} {
		tg, err := elbc.CreateTargetGroup(ctx, &elb.CreateTargetGroupInput{
			Name:       aws.String(name),
			Protocol:   elbtypes.ProtocolEnumHttp,
			Port:       aws.Int32(80),
			VpcId:      aws.String(f.VPCID),
			TargetType: elbtypes.TargetTypeEnumInstance,
		})
		must(t, "CreateTargetGroup", err)
		tgs = append(tgs, aws.ToString(tg.TargetGroups[0].TargetGroupArn))
	}
	f.BlueTargetGroupARN, f.GreenTargetGroupARN = tgs[0], tgs[1]

	ln, err := elbc.CreateListener(ctx, &elb.CreateListenerInput{
		LoadBalancerArn: aws.String(f.LoadBalancerARN),
		Protocol:        elbtypes.ProtocolEnumHttp,
		Port:            aws.Int32(80),
		DefaultActions: []elbtypes.Action{{
			Type: elbtypes.ActionTypeEnumForward,
			ForwardConfig: &elbtypes.ForwardActionConfig{TargetGroups: []elbtypes.TargetGroupTuple{
				{TargetGroupArn: aws.String(f.BlueTargetGroupARN), Weight: aws.Int32(100)},
				{TargetGroupArn: aws.String(f.GreenTargetGroupARN), Weight: aws.Int32(0)},
			}},
		}},
	})
	must(t, "CreateListener", err)
	f.ListenerARN = aws.ToString(ln.Listeners[0].ListenerArn)

	f.GroupName = "stampkit-web"
	_, err = asc.CreateAutoScalingGroup(ctx, &autoscaling.CreateAutoScalingGroupInput{
		AutoScalingGroupName: aws.String(f.GroupName),
		MinSize:              aws.Int32(FleetMin),
		MaxSize:              aws.Int32(FleetMax),
		DesiredCapacity:      aws.Int32(FleetDesired),
		LaunchTemplate: &astypes.LaunchTemplateSpecification{
			LaunchTemplateId: aws.String(f.LaunchTemplateID),
			Version:          aws.String("1"),
		},
		VPCZoneIdentifier: aws.String(f.SubnetIDs[0] + "," + f.SubnetIDs[1]),
		TargetGroupARNs:   []string{f.BlueTargetGroupARN},
	})
	must(t, "CreateAutoScalingGroup", err)
	return f
}

func must(t testing.TB, call string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("fleet fixture: %s: %v", call, err)
	}
}
