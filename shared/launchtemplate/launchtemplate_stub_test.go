package launchtemplate_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/stampkit/stampkit/shared/awstest"
	"github.com/stampkit/stampkit/shared/launchtemplate"
)

// TestImageMapping covers what moto does not report: the architecture and an
// encrypted root volume among other block devices.
func TestImageMapping(t *testing.T) {
	cases := []struct {
		name string
		img  types.Image
		want launchtemplate.Image
	}{
		{
			name: "encrypted root, unencrypted data volume",
			img: types.Image{
				ImageId: aws.String("ami-1"), Name: aws.String("web"), State: types.ImageStateAvailable,
				Architecture: types.ArchitectureValuesArm64, CreationDate: aws.String("2026-11-25T14:00:00.000Z"),
				RootDeviceName: aws.String("/dev/xvda"),
				BlockDeviceMappings: []types.BlockDeviceMapping{
					{DeviceName: aws.String("/dev/xvdb"), Ebs: &types.EbsBlockDevice{Encrypted: aws.Bool(false)}},
					{DeviceName: aws.String("/dev/xvda"), Ebs: &types.EbsBlockDevice{Encrypted: aws.Bool(true)}},
				},
				Tags: []types.Tag{{Key: aws.String("k"), Value: aws.String("v")}},
			},
			want: launchtemplate.Image{
				ID: "ami-1", Name: "web", State: "available", Architecture: "arm64",
				CreationDate: time.Date(2026, 11, 25, 14, 0, 0, 0, time.UTC), RootEncrypted: true,
				Tags: map[string]string{"k": "v"},
			},
		},
		{
			name: "unencrypted root, encrypted data volume, still pending",
			img: types.Image{
				ImageId: aws.String("ami-2"), State: types.ImageStatePending, Architecture: types.ArchitectureValuesX8664,
				RootDeviceName: aws.String("/dev/xvda"),
				BlockDeviceMappings: []types.BlockDeviceMapping{
					{DeviceName: aws.String("/dev/xvda"), Ebs: &types.EbsBlockDevice{}},
					{DeviceName: aws.String("/dev/xvdb"), Ebs: &types.EbsBlockDevice{Encrypted: aws.Bool(true)}},
				},
			},
			want: launchtemplate.Image{ID: "ami-2", State: "pending", Architecture: "x86_64", Tags: map[string]string{}},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			stub := awstest.NewStub().On("DescribeImages", &ec2.DescribeImagesOutput{Images: []types.Image{tc.img}})
			got, err := launchtemplate.New(ec2.NewFromConfig(stub.Config())).Image(t.Context(), aws.ToString(tc.img.ImageId))
			if err != nil {
				t.Fatalf("Image: %v", err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Image mismatch (-want +got):\n%s", diff)
			}
			wantIn := &ec2.DescribeImagesInput{ImageIds: []string{aws.ToString(tc.img.ImageId)}, Owners: []string{"self"}}
			if diff := awstest.Diff(wantIn, stub.Calls()[0].Input); diff != "" {
				t.Errorf("DescribeImages input (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCreateVersionWithImageRequest(t *testing.T) {
	stub := awstest.NewStub().
		On("DescribeLaunchTemplateVersions", &ec2.DescribeLaunchTemplateVersionsOutput{LaunchTemplateVersions: []types.LaunchTemplateVersion{{
			VersionNumber: aws.Int64(3),
			LaunchTemplateData: &types.ResponseLaunchTemplateData{
				ImageId: aws.String("ami-old"), InstanceType: types.InstanceTypeC7gLarge,
				MetadataOptions: &types.LaunchTemplateInstanceMetadataOptions{
					HttpTokens: types.LaunchTemplateHttpTokensStateRequired,
					State:      types.LaunchTemplateInstanceMetadataOptionsStateApplied, // read-only, dropped
				},
			},
		}}}).
		On("CreateLaunchTemplateVersion", &ec2.CreateLaunchTemplateVersionOutput{
			LaunchTemplateVersion: &types.LaunchTemplateVersion{VersionNumber: aws.Int64(4)},
		})
	v, err := launchtemplate.New(ec2.NewFromConfig(stub.Config())).CreateVersionWithImage(t.Context(), "lt-1", "$Default", "ami-new", "stamp ami-new")
	if err != nil {
		t.Fatalf("CreateVersionWithImage: %v", err)
	}
	if v != 4 {
		t.Errorf("version: got %d, want 4", v)
	}
	calls := stub.Calls()
	if len(calls) != 2 {
		t.Fatalf("calls: got %d, want 2", len(calls))
	}
	wantDescribe := &ec2.DescribeLaunchTemplateVersionsInput{LaunchTemplateId: aws.String("lt-1"), Versions: []string{"$Default"}}
	if diff := awstest.Diff(wantDescribe, calls[0].Input); diff != "" {
		t.Errorf("DescribeLaunchTemplateVersions input (-want +got):\n%s", diff)
	}
	// No SourceVersion: the data is copied in full instead.
	wantCreate := &ec2.CreateLaunchTemplateVersionInput{
		LaunchTemplateId:   aws.String("lt-1"),
		VersionDescription: aws.String("stamp ami-new"),
		LaunchTemplateData: &types.RequestLaunchTemplateData{
			ImageId: aws.String("ami-new"), InstanceType: types.InstanceTypeC7gLarge,
			MetadataOptions: &types.LaunchTemplateInstanceMetadataOptionsRequest{HttpTokens: types.LaunchTemplateHttpTokensStateRequired},
		},
	}
	gotCreate := calls[1].Input.(*ec2.CreateLaunchTemplateVersionInput)
	if diff := awstest.Diff(wantCreate, gotCreate, cmpopts.IgnoreFields(ec2.CreateLaunchTemplateVersionInput{}, "ClientToken")); diff != "" {
		t.Errorf("CreateLaunchTemplateVersion input (-want +got):\n%s", diff)
	}
	if n := len(aws.ToString(gotCreate.ClientToken)); n != 64 {
		t.Errorf("client token length: got %d, want 64 (a SHA-256 in hex, not an SDK-made UUID)", n)
	}
}

// TestCreateVersionClientToken checks that a retried stamp reuses its
// idempotency token and that any change to the new version's content changes
// it.
func TestCreateVersionClientToken(t *testing.T) {
	token := func(t *testing.T, ltID, ami, description string, instanceType types.InstanceType) string {
		t.Helper()
		stub := awstest.NewStub().
			On("DescribeLaunchTemplateVersions", &ec2.DescribeLaunchTemplateVersionsOutput{LaunchTemplateVersions: []types.LaunchTemplateVersion{{
				LaunchTemplateData: &types.ResponseLaunchTemplateData{ImageId: aws.String("ami-old"), InstanceType: instanceType},
			}}}).
			On("CreateLaunchTemplateVersion", &ec2.CreateLaunchTemplateVersionOutput{LaunchTemplateVersion: &types.LaunchTemplateVersion{VersionNumber: aws.Int64(2)}})
		if _, err := launchtemplate.New(ec2.NewFromConfig(stub.Config())).CreateVersionWithImage(t.Context(), ltID, "1", ami, description); err != nil {
			t.Fatalf("CreateVersionWithImage: %v", err)
		}
		return aws.ToString(stub.Calls()[1].Input.(*ec2.CreateLaunchTemplateVersionInput).ClientToken)
	}
	base := token(t, "lt-1", "ami-new", "d", types.InstanceTypeT4gMicro)
	if again := token(t, "lt-1", "ami-new", "d", types.InstanceTypeT4gMicro); again != base {
		t.Errorf("retry token: got %q, want %q", again, base)
	}
	cases := []struct {
		name, lt, ami, desc string
		it                  types.InstanceType
	}{
		{"other template", "lt-2", "ami-new", "d", types.InstanceTypeT4gMicro},
		{"other image", "lt-1", "ami-newer", "d", types.InstanceTypeT4gMicro},
		{"other description", "lt-1", "ami-new", "e", types.InstanceTypeT4gMicro},
		{"other source data", "lt-1", "ami-new", "d", types.InstanceTypeT4gSmall},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := token(t, tc.lt, tc.ami, tc.desc, tc.it); got == base {
				t.Errorf("token: got %q, the same as the base request, want a different one", got)
			}
		})
	}
}

func TestSetDefaultVersionRequest(t *testing.T) {
	stub := awstest.NewStub().On("ModifyLaunchTemplate", &ec2.ModifyLaunchTemplateOutput{})
	if err := launchtemplate.New(ec2.NewFromConfig(stub.Config())).SetDefaultVersion(t.Context(), "lt-1", 12); err != nil {
		t.Fatalf("SetDefaultVersion: %v", err)
	}
	want := &ec2.ModifyLaunchTemplateInput{LaunchTemplateId: aws.String("lt-1"), DefaultVersion: aws.String("12")}
	// The SDK fills ClientToken with a fresh UUID; setting a default is
	// idempotent anyway.
	if diff := awstest.Diff(want, stub.Calls()[0].Input, cmpopts.IgnoreFields(ec2.ModifyLaunchTemplateInput{}, "ClientToken")); diff != "" {
		t.Errorf("ModifyLaunchTemplate input (-want +got):\n%s", diff)
	}
}

// TestImageNotOwned: an AMI missing from this account's images is looked up
// once more without the owner, to tell one that does not exist (yet) from
// one another account owns, which no retry changes.
func TestImageNotOwned(t *testing.T) {
	for _, tc := range []struct {
		name      string
		elsewhere []types.Image
		wantOwned bool
	}{
		{"another account's", []types.Image{{ImageId: aws.String("ami-1"), OwnerId: aws.String("999999999999")}}, true},
		{"nobody's", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stub := awstest.NewStub().On("DescribeImages", func(in any) (any, error) {
				if len(in.(*ec2.DescribeImagesInput).Owners) > 0 {
					return &ec2.DescribeImagesOutput{}, nil
				}
				return &ec2.DescribeImagesOutput{Images: tc.elsewhere}, nil
			})
			_, err := launchtemplate.New(ec2.NewFromConfig(stub.Config())).Image(t.Context(), "ami-1")
			if !errors.Is(err, launchtemplate.ErrNotFound) {
				t.Errorf("got %v, want ErrNotFound", err)
			}
			if got := errors.Is(err, launchtemplate.ErrNotOwned); got != tc.wantOwned {
				t.Errorf("ErrNotOwned: got %v (%v), want %v", got, err, tc.wantOwned)
			}
			if tc.wantOwned && !strings.Contains(err.Error(), "999999999999") {
				t.Errorf("error %q does not name the owner", err)
			}
		})
	}
}
