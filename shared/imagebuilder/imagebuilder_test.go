package imagebuilder_test

import (
	"errors"
	"os"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"

	"github.com/stampkit/stampkit/shared/awstest"
	ib "github.com/stampkit/stampkit/shared/imagebuilder"
)

var emu = awstest.New()

func TestMain(m *testing.M) { os.Exit(emu.Run(m)) }

const (
	arn   = "arn:aws:imagebuilder:us-east-1:111122223333:image/web/1.0.0/3"
	other = "arn:aws:imagebuilder:us-east-1:111122223333:image/web/1.0.0/4"
)

func ami(id, name string, state types.ImageState, reason string) types.Image {
	im := types.Image{ImageId: aws.String(id), Name: aws.String(name), OwnerId: aws.String("111122223333"), State: state}
	if reason != "" {
		im.StateReason = &types.StateReason{Message: aws.String(reason)}
	}
	return im
}

// TestImage checks the request (owner self, the Image Builder ARN tag) and
// the mapping, paging included, against awstest.Stub.
func TestImage(t *testing.T) {
	tests := []struct {
		name  string
		pages [][]types.Image
		want  ib.Image
	}{
		{
			name:  "one AMI",
			pages: [][]types.Image{{ami("ami-0aaa", "web 1", types.ImageStateAvailable, "")}},
			want: ib.Image{ARN: arn, Name: "web", Version: "1.0.0/3", State: "AVAILABLE", AMIs: []ib.AMI{
				{ID: "ami-0aaa", Region: "us-west-2", Account: "111122223333", Name: "web 1", State: "available"},
			}},
		},
		{
			name: "a failed AMI on the second page makes the image failed",
			pages: [][]types.Image{
				{ami("ami-0aaa", "web 1", types.ImageStateAvailable, "")},
				{ami("ami-0bbb", "web 2", types.ImageStateFailed, "copy failed"), ami("ami-0ccc", "web 3", types.ImageStatePending, "")},
			},
			want: ib.Image{ARN: arn, Name: "web", Version: "1.0.0/3", State: "FAILED", Reason: "copy failed", AMIs: []ib.AMI{
				{ID: "ami-0aaa", Region: "us-west-2", Account: "111122223333", Name: "web 1", State: "available"},
				{ID: "ami-0bbb", Region: "us-west-2", Account: "111122223333", Name: "web 2", State: "failed"},
				{ID: "ami-0ccc", Region: "us-west-2", Account: "111122223333", Name: "web 3", State: "pending"},
			}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			page := 0
			stub := awstest.NewStub().On("DescribeImages", func(any) (any, error) {
				out := &ec2.DescribeImagesOutput{Images: tt.pages[page]}
				page++
				if page < len(tt.pages) {
					out.NextToken = aws.String("next")
				}
				return out, nil
			})
			got, err := ib.New(ec2.NewFromConfig(stub.Config()), "us-west-2").Image(t.Context(), arn)
			if err != nil {
				t.Fatalf("Image: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Image (-want +got):\n%s", diff)
			}
			calls := stub.Calls()
			if len(calls) != len(tt.pages) {
				t.Fatalf("calls: got %d, want %d", len(calls), len(tt.pages))
			}
			for i, c := range calls {
				want := &ec2.DescribeImagesInput{
					Owners:  []string{"self"},
					Filters: []types.Filter{{Name: aws.String("tag:Ec2ImageBuilderArn"), Values: []string{arn}}},
				}
				if i > 0 {
					want.NextToken = aws.String("next")
				}
				if d := awstest.Diff(want, c.Input); d != "" {
					t.Errorf("DescribeImages input %d (-want +got):\n%s", i, d)
				}
			}
		})
	}
}

func TestImageNotFound(t *testing.T) {
	tests := []struct {
		name   string
		answer any
	}{
		{name: "no AMI tagged with the image", answer: &ec2.DescribeImagesOutput{}},
		{name: "not-found error", answer: &smithy.GenericAPIError{Code: "InvalidAMIID.NotFound", Message: "no such image"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stub := awstest.NewStub().On("DescribeImages", tt.answer)
			_, err := ib.New(ec2.NewFromConfig(stub.Config()), "us-east-1").Image(t.Context(), arn)
			if !errors.Is(err, ib.ErrNotFound) {
				t.Errorf("Image: got %v, want ErrNotFound", err)
			}
		})
	}
}

func TestImageOtherError(t *testing.T) {
	stub := awstest.NewStub().On("DescribeImages", &smithy.GenericAPIError{Code: "UnauthorizedOperation", Message: "denied"})
	_, err := ib.New(ec2.NewFromConfig(stub.Config()), "us-east-1").Image(t.Context(), arn)
	if err == nil || errors.Is(err, ib.ErrNotFound) {
		t.Errorf("Image: got %v, want the API error and not ErrNotFound", err)
	}
}

func TestAMIIn(t *testing.T) {
	im := ib.Image{AMIs: []ib.AMI{
		{ID: "ami-0aaa", Region: "us-east-1", Account: "111122223333"},
		{ID: "ami-0bbb", Region: "eu-west-1", Account: "111122223333"},
	}}
	tests := []struct{ region, account, want string }{
		{"us-east-1", "111122223333", "ami-0aaa"},
		{"eu-west-1", "", "ami-0bbb"},
		{"eu-west-1", "444455556666", ""},
		{"ap-south-1", "111122223333", ""},
	}
	for _, tt := range tests {
		t.Run(tt.region+"/"+tt.account, func(t *testing.T) {
			got, ok := im.AMIIn(tt.region, tt.account)
			if got.ID != tt.want || ok != (tt.want != "") {
				t.Errorf("AMIIn(%s, %s): got %q %v, want %q", tt.region, tt.account, got.ID, ok, tt.want)
			}
		})
	}
}

// TestImageEmulator runs the adapter against moto: of three AMIs, it finds
// only the one tagged with the image's ARN.
func TestImageEmulator(t *testing.T) {
	cfg := emu.Fresh(t)
	c := ec2.NewFromConfig(cfg)
	register := func(name, builtBy string) string {
		t.Helper()
		out, err := c.RegisterImage(t.Context(), &ec2.RegisterImageInput{Name: aws.String(name)})
		if err != nil {
			t.Fatalf("RegisterImage: %v", err)
		}
		if builtBy != "" {
			_, err = c.CreateTags(t.Context(), &ec2.CreateTagsInput{Resources: []string{*out.ImageId}, Tags: []types.Tag{
				{Key: aws.String(ib.ARNTag), Value: aws.String(builtBy)},
				{Key: aws.String("CreatedBy"), Value: aws.String("EC2 Image Builder")},
			}})
			if err != nil {
				t.Fatalf("CreateTags: %v", err)
			}
		}
		return aws.ToString(out.ImageId)
	}
	register("web-untagged", "")
	register("web-other-build", other)
	id := register("web-this-build", arn)

	a := ib.New(c, awstest.Region)
	got, err := a.Image(t.Context(), arn)
	if err != nil {
		t.Fatalf("Image: %v", err)
	}
	if len(got.AMIs) != 1 {
		t.Fatalf("AMIs: got %+v, want exactly %s", got.AMIs, id)
	}
	account := got.AMIs[0].Account
	if account == "" {
		t.Errorf("AMI account: got empty, want the emulator's account")
	}
	want := ib.Image{ARN: arn, Name: "web", Version: "1.0.0/3", State: "AVAILABLE", AMIs: []ib.AMI{
		{ID: id, Region: awstest.Region, Account: account, Name: "web-this-build", State: "available"},
	}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Image (-want +got):\n%s", diff)
	}
	if _, ok := got.AMIIn(awstest.Region, account); !ok {
		t.Errorf("AMIIn(%s, %s): got none, want %s", awstest.Region, account, id)
	}

	_, err = a.Image(t.Context(), "arn:aws:imagebuilder:us-east-1:111122223333:image/web/9.9.9/1")
	if !errors.Is(err, ib.ErrNotFound) {
		t.Errorf("Image(unknown build): got %v, want ErrNotFound", err)
	}
}
