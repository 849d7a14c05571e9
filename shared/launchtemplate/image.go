// Package launchtemplate adapts the EC2 calls of the stamp pattern: reading a
// baked AMI, stamping it into a new launch template version, and moving the
// template's default version. No SDK type crosses the package boundary.
package launchtemplate

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/stampkit/stampkit/shared/awserr"
)

// API is the subset of *ec2.Client the adapter calls.
type API interface {
	DescribeImages(ctx context.Context, in *ec2.DescribeImagesInput, optFns ...func(*ec2.Options)) (*ec2.DescribeImagesOutput, error)
	DescribeLaunchTemplates(ctx context.Context, in *ec2.DescribeLaunchTemplatesInput, optFns ...func(*ec2.Options)) (*ec2.DescribeLaunchTemplatesOutput, error)
	DescribeLaunchTemplateVersions(ctx context.Context, in *ec2.DescribeLaunchTemplateVersionsInput, optFns ...func(*ec2.Options)) (*ec2.DescribeLaunchTemplateVersionsOutput, error)
	CreateLaunchTemplateVersion(ctx context.Context, in *ec2.CreateLaunchTemplateVersionInput, optFns ...func(*ec2.Options)) (*ec2.CreateLaunchTemplateVersionOutput, error)
	ModifyLaunchTemplate(ctx context.Context, in *ec2.ModifyLaunchTemplateInput, optFns ...func(*ec2.Options)) (*ec2.ModifyLaunchTemplateOutput, error)
}

var _ API = (*ec2.Client)(nil)

// ErrNotFound reports an image, launch template or version that does not
// exist (or that EC2 answered with an empty list, as it does for an AMI
// deregistered a while ago).
var ErrNotFound = errors.New("not found")

// Image states worth naming; EC2 has a few more (invalid, deregistered, error,
// transient, disabled).
const (
	ImageAvailable = "available"
	ImagePending   = "pending"
	ImageFailed    = "failed"
)

// Adapter calls EC2 through an API.
type Adapter struct {
	api API
}

// New returns an Adapter over api, normally an *ec2.Client.
func New(api API) *Adapter {
	return &Adapter{api: api}
}

// Image is what the rollout checks about an AMI before stamping it.
type Image struct {
	ID            string
	Name          string
	State         string // ImageAvailable, …
	Architecture  string // "x86_64", "arm64", …
	CreationDate  time.Time
	RootEncrypted bool // the root device's EBS snapshot is encrypted
	Tags          map[string]string
}

// Image reads one AMI this account owns; a missing one is ErrNotFound, and
// one another account owns (public, or shared by launch permission) is
// ErrNotOwned as well. A rollout trusts an image by its tags, and
// an account may tag a public or shared AMI it does not own: "You can tag
// public or shared resources, but the tags you assign are available only
// to your AWS account" (https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/Using_Tags.html).
// Without the owner, a principal allowed ec2:CreateTags could have any
// public AMI rolled out as the fleet's. An image baked in another account
// is rolled out once copied into this one (CopyImage, or Image Builder
// distribution to the account with targetAccountIds, which copies; not
// launchPermission, which only shares).
func (a *Adapter) Image(ctx context.Context, amiID string) (Image, error) {
	out, err := a.api.DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{amiID}, Owners: []string{"self"}})
	if err != nil {
		return Image{}, fmt.Errorf("describing image %s: %w", amiID, notFound(err))
	}
	if len(out.Images) == 0 {
		return Image{}, a.notOwned(ctx, amiID)
	}
	img := out.Images[0]
	im := Image{
		ID:           aws.ToString(img.ImageId),
		Name:         aws.ToString(img.Name),
		State:        string(img.State),
		Architecture: string(img.Architecture),
		Tags:         map[string]string{},
	}
	if s := aws.ToString(img.CreationDate); s != "" {
		// EC2 sends ISO 8601 with milliseconds ("2026-11-25T14:00:00.000Z");
		// Go's RFC 3339 parser accepts the fraction.
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			return Image{}, fmt.Errorf("parsing creation date of image %s: %w", amiID, err)
		}
		im.CreationDate = t
	}
	for _, bdm := range img.BlockDeviceMappings {
		if aws.ToString(bdm.DeviceName) == aws.ToString(img.RootDeviceName) && bdm.Ebs != nil {
			im.RootEncrypted = aws.ToBool(bdm.Ebs.Encrypted)
		}
	}
	for _, tag := range img.Tags {
		im.Tags[aws.ToString(tag.Key)] = aws.ToString(tag.Value)
	}
	return im, nil
}

// ErrNotOwned reports an AMI that exists but that another account owns.
var ErrNotOwned = errors.New("owned by another account")

// notOwned tells an AMI that does not exist (yet: EC2 is eventually
// consistent) from one another account owns, which no retry will change.
func (a *Adapter) notOwned(ctx context.Context, amiID string) error {
	out, err := a.api.DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{amiID}})
	if err != nil || len(out.Images) == 0 {
		return fmt.Errorf("describing image %s: %w", amiID, ErrNotFound)
	}
	return fmt.Errorf("describing image %s: owner %s: %w: %w", amiID, aws.ToString(out.Images[0].OwnerId), ErrNotFound, ErrNotOwned)
}

// notFound adds ErrNotFound to EC2's not-found errors (InvalidAMIID.NotFound,
// InvalidLaunchTemplateId.VersionNotFound, …) so callers check one sentinel
// whether EC2 answered with an error or with an empty list.
func notFound(err error) error {
	if awserr.IsNotFound(err) {
		return fmt.Errorf("%w: %w", ErrNotFound, err)
	}
	return err
}
