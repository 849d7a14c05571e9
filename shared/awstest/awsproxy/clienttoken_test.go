package awsproxy_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/google/go-cmp/cmp"

	"github.com/stampkit/stampkit/shared/awserr"
	"github.com/stampkit/stampkit/shared/awstest"
	"github.com/stampkit/stampkit/shared/awstest/awsproxy"
)

// TestClientToken: a CreateLaunchTemplateVersion repeated with its client
// token, by the SDK past a lost answer or by the caller, returns the version
// the first one made and makes no other; the token with other data is
// IdempotentParameterMismatch. moto itself ignores the token
// (launchtemplate TestEmulatorIgnoresClientToken).
func TestClientToken(t *testing.T) {
	cfg := retrying(emu.Fresh(t))
	f := awstest.NewFleet(t, cfg)
	p := emu.Proxy(t)
	c := ec2.NewFromConfig(cfg)
	create := func(token, image string) (int64, error) {
		out, err := c.CreateLaunchTemplateVersion(t.Context(), &ec2.CreateLaunchTemplateVersionInput{
			LaunchTemplateId:   aws.String(f.LaunchTemplateID),
			LaunchTemplateData: &ec2types.RequestLaunchTemplateData{ImageId: aws.String(image), InstanceType: ec2types.InstanceTypeT4gMicro},
			ClientToken:        aws.String(token),
		})
		if err != nil {
			return 0, err
		}
		return aws.ToInt64(out.LaunchTemplateVersion.VersionNumber), nil
	}
	versions := func() int {
		t.Helper()
		out, err := c.DescribeLaunchTemplateVersions(t.Context(), &ec2.DescribeLaunchTemplateVersionsInput{LaunchTemplateId: aws.String(f.LaunchTemplateID)})
		if err != nil {
			t.Fatalf("DescribeLaunchTemplateVersions: %v", err)
		}
		return len(out.LaunchTemplateVersions)
	}

	// The first answer is lost after the version was made; the SDK's retry
	// carries the same token.
	p.Fail(awsproxy.Call{Service: awsproxy.EC2, Operation: "CreateLaunchTemplateVersion", Nth: 1}, awsproxy.DropResponse)
	first, err := create("token-a", f.ImageID)
	if err != nil {
		t.Fatalf("CreateLaunchTemplateVersion past a lost answer: %v", err)
	}
	again, err := create("token-a", f.ImageID)
	if err != nil {
		t.Fatalf("CreateLaunchTemplateVersion repeated: %v", err)
	}
	if first != 2 || again != first {
		t.Errorf("versions returned: got %d then %d, want 2 both times", first, again)
	}
	if n := versions(); n != 2 {
		t.Errorf("versions in the template: got %d, want 2 (the first and one stamp)", n)
	}
	var models []string
	for _, r := range p.Calls() {
		if r.Operation == "CreateLaunchTemplateVersion" {
			models = append(models, r.Fault+"/"+r.Model)
		}
	}
	if diff := cmp.Diff([]string{"drop response/", "/client token", "/client token"}, models); diff != "" {
		t.Errorf("CreateLaunchTemplateVersion calls, fault/model (-want +got):\n%s", diff)
	}

	_, err = create("token-a", "ami-00000000000000001")
	if awserr.Code(err) != "IdempotentParameterMismatch" {
		t.Errorf("same token, other image: got %v, want IdempotentParameterMismatch", err)
	}
	if v, err := create("token-b", f.ImageID); err != nil || v != 3 {
		t.Errorf("a new token: got version %d, %v; want version 3", v, err)
	}
}
