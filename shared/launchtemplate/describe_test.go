package launchtemplate_test

import (
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/stampkit/stampkit/shared/awstest"
	"github.com/stampkit/stampkit/shared/launchtemplate"
)

func TestTemplateAndVersionEmulator(t *testing.T) {
	cfg := emu.Fresh(t)
	f := awstest.NewFleet(t, cfg)
	c := ec2.NewFromConfig(cfg)
	a := launchtemplate.New(c)
	v2, err := a.CreateVersionWithImage(t.Context(), f.LaunchTemplateID, "1", "ami-0123456789abcdef0", "web 2")
	if err != nil {
		t.Fatalf("CreateVersionWithImage: %v", err)
	}
	tpl, err := a.Template(t.Context(), f.LaunchTemplateID)
	if err != nil {
		t.Fatalf("Template: %v", err)
	}
	want := launchtemplate.Template{ID: f.LaunchTemplateID, Name: f.LaunchTemplateName, DefaultVersion: 1, LatestVersion: v2}
	if tpl != want {
		t.Errorf("Template: got %+v, want %+v", tpl, want)
	}
	tests := []struct {
		spec string
		want launchtemplate.Version
	}{
		{spec: "1", want: launchtemplate.Version{Number: 1, ImageID: f.ImageID, InstanceType: "t4g.micro"}},
		{spec: "$Default", want: launchtemplate.Version{Number: 1, ImageID: f.ImageID, InstanceType: "t4g.micro"}},
		{spec: "$Latest", want: launchtemplate.Version{Number: v2, ImageID: "ami-0123456789abcdef0", InstanceType: "t4g.micro"}},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			got, err := a.Version(t.Context(), f.LaunchTemplateID, tt.spec)
			if err != nil {
				t.Fatalf("Version: %v", err)
			}
			if got != tt.want {
				t.Errorf("Version(%s): got %+v, want %+v", tt.spec, got, tt.want)
			}
		})
	}
	if _, err := a.Template(t.Context(), "lt-0123456789abcdef0"); !errors.Is(err, launchtemplate.ErrNotFound) {
		t.Errorf("Template(missing): got %v, want ErrNotFound", err)
	}
}

func TestVersionWithoutData(t *testing.T) {
	stub := awstest.NewStub().On("DescribeLaunchTemplateVersions", &ec2.DescribeLaunchTemplateVersionsOutput{
		LaunchTemplateVersions: []types.LaunchTemplateVersion{{VersionNumber: aws.Int64(7)}},
	})
	got, err := launchtemplate.New(ec2.NewFromConfig(stub.Config())).Version(t.Context(), "lt-1", "7")
	if err != nil {
		t.Fatalf("Version: %v", err)
	}
	if want := (launchtemplate.Version{Number: 7}); got != want {
		t.Errorf("Version: got %+v, want %+v", got, want)
	}
}
