package imagebuilder_test

import (
	"errors"
	"os"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/imagebuilder"
	"github.com/aws/aws-sdk-go-v2/service/imagebuilder/types"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"

	"github.com/stampkit/stampkit/shared/awstest"
	ib "github.com/stampkit/stampkit/shared/imagebuilder"
)

var emu = awstest.New()

func TestMain(m *testing.M) { os.Exit(emu.Run(m)) }

const arn = "arn:aws:imagebuilder:us-east-1:111122223333:image/web/1.0.0/3"

// The emulator answers GetImage with HTTP 500 (TestEmulatorGap), so the
// adapter's request and mapping are checked against awstest.Stub.
func TestImage(t *testing.T) {
	stub := awstest.NewStub().On("GetImage", &imagebuilder.GetImageOutput{Image: &types.Image{
		Arn: aws.String(arn), Name: aws.String("web"), Version: aws.String("1.0.0/3"),
		SourcePipelineArn: aws.String("arn:aws:imagebuilder:us-east-1:111122223333:image-pipeline/web"),
		State:             &types.ImageState{Status: types.ImageStatusAvailable},
		Tags:              map[string]string{"stampkit:fleet": "web"},
		OutputResources: &types.OutputResources{Amis: []types.Ami{
			{Image: aws.String("ami-0aaa"), Region: aws.String("us-east-1"), AccountId: aws.String("111122223333"), Name: aws.String("web 1"),
				State: &types.ImageState{Status: types.ImageStatusAvailable}},
			{Image: aws.String("ami-0bbb"), Region: aws.String("eu-west-1"), AccountId: aws.String("111122223333")},
		}},
	}})
	got, err := ib.New(imagebuilder.NewFromConfig(stub.Config())).Image(t.Context(), arn)
	if err != nil {
		t.Fatalf("Image: %v", err)
	}
	want := ib.Image{
		ARN: arn, Name: "web", Version: "1.0.0/3", State: "AVAILABLE",
		Pipeline: "arn:aws:imagebuilder:us-east-1:111122223333:image-pipeline/web",
		Tags:     map[string]string{"stampkit:fleet": "web"},
		AMIs: []ib.AMI{
			{ID: "ami-0aaa", Region: "us-east-1", Account: "111122223333", Name: "web 1", State: "AVAILABLE"},
			{ID: "ami-0bbb", Region: "eu-west-1", Account: "111122223333"},
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Image (-want +got):\n%s", diff)
	}
	calls := stub.Calls()
	if len(calls) != 1 {
		t.Fatalf("calls: got %d, want 1", len(calls))
	}
	if d := awstest.Diff(&imagebuilder.GetImageInput{ImageBuildVersionArn: aws.String(arn)}, calls[0].Input); d != "" {
		t.Errorf("GetImage input (-want +got):\n%s", d)
	}
	for _, tt := range []struct{ region, want string }{{"us-east-1", "ami-0aaa"}, {"eu-west-1", "ami-0bbb"}, {"ap-south-1", ""}} {
		ami, ok := got.AMIIn(tt.region, "111122223333")
		if ami.ID != tt.want || ok != (tt.want != "") {
			t.Errorf("AMIIn(%s): got %q %v, want %q", tt.region, ami.ID, ok, tt.want)
		}
	}
}

func TestImageNotFound(t *testing.T) {
	tests := []struct {
		name   string
		answer any
	}{
		{name: "ResourceNotFoundException", answer: &smithy.GenericAPIError{Code: "ResourceNotFoundException", Message: "no such image"}},
		{name: "empty answer", answer: &imagebuilder.GetImageOutput{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stub := awstest.NewStub().On("GetImage", tt.answer)
			_, err := ib.New(imagebuilder.NewFromConfig(stub.Config())).Image(t.Context(), arn)
			if !errors.Is(err, ib.ErrNotFound) {
				t.Errorf("Image: got %v, want ErrNotFound", err)
			}
		})
	}
}

// TestEmulatorGap proves the emulator lacks GetImage: moto 5.2.1 has no
// Image Builder backend at all and answers HTTP 500. The day it stops
// failing, an emulator test of the adapter can replace the stub.
func TestEmulatorGap(t *testing.T) {
	cfg := emu.Fresh(t)
	_, err := ib.New(imagebuilder.NewFromConfig(cfg)).Image(t.Context(), arn)
	emu.AssertFault(t, err, "Unable to find appropriate backend for imagebuilder")
}
