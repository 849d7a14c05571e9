// Package imagebuilder answers the one question the rollout asks about an
// EC2 Image Builder image: which AMIs did it produce? The "EC2 Image Builder
// Image State Change" event names only the image ARN, not its AMIs.
//
// It asks EC2, not Image Builder. Image Builder tags every AMI it
// distributes with "Ec2ImageBuilderArn" = the image build-version ARN and
// "CreatedBy" = "EC2 Image Builder"
// (https://docs.aws.amazon.com/imagebuilder/latest/userguide/tag-resources.html),
// so one DescribeImages filtered on that tag finds them. That keeps the
// Image Builder SDK client, and its share of the rollout bootstrap and cold
// start, out of the Lambda, and the local emulator (which has no Image
// Builder) can serve it. No SDK type crosses the package boundary.
package imagebuilder

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/stampkit/stampkit/shared/awserr"
)

// ARNTag is the tag Image Builder puts on every output AMI, holding the
// build-version ARN of the image that produced it.
const ARNTag = "Ec2ImageBuilderArn"

// API is the subset of *ec2.Client the adapter calls.
type API interface {
	DescribeImages(ctx context.Context, in *ec2.DescribeImagesInput, optFns ...func(*ec2.Options)) (*ec2.DescribeImagesOutput, error)
}

var _ API = (*ec2.Client)(nil)

// ErrNotFound reports an image that does not exist, or that has no AMI this
// account owns in this region (all the rollout could use).
var ErrNotFound = errors.New("image not found")

// Adapter finds Image Builder images' AMIs through an EC2 API.
type Adapter struct {
	api    API
	region string
}

// New returns an Adapter over api, normally an *ec2.Client, whose region is
// region: EC2 lists only that region's AMIs, so that is where they all are.
func New(api API, region string) *Adapter {
	return &Adapter{api: api, region: region}
}

// Image is an Image Builder image: a build of a recipe by a pipeline.
type Image struct {
	ARN     string
	Name    string
	Version string
	// State is the image status ("AVAILABLE", "FAILED", …) and Reason why.
	// Read from EC2 it is the AMIs' state upper-cased (EC2's "available",
	// "pending" and "failed" are Image Builder's names too): AVAILABLE when
	// every AMI is, otherwise the first other state and its reason.
	State, Reason string
	// AMIs are the output AMIs, one per distribution region and account.
	AMIs []AMI
}

// AMI is one AMI an image produced.
type AMI struct {
	ID      string
	Region  string
	Account string
	Name    string
	// State is the AMI's state as its source reports it: Image Builder's
	// image status ("AVAILABLE"), or EC2's image state ("available").
	State string
}

// AMIIn returns the image's AMI in region (and, when account is not empty,
// that account). An image distributed to one region only has one AMI, which
// is returned whatever its region field says.
func (im Image) AMIIn(region, account string) (AMI, bool) {
	for _, a := range im.AMIs {
		if a.Region == region && (account == "" || a.Account == "" || a.Account == account) {
			return a, true
		}
	}
	if len(im.AMIs) == 1 && im.AMIs[0].Region == "" {
		return im.AMIs[0], true
	}
	return AMI{}, false
}

// Image reads the image with build-version ARN arn as the AMIs this account
// owns in the adapter's region that Image Builder tagged with it. None is
// ErrNotFound.
func (a *Adapter) Image(ctx context.Context, arn string) (Image, error) {
	im := Image{ARN: arn}
	im.Name, im.Version = nameVersion(arn)
	var token *string
	for {
		out, err := a.api.DescribeImages(ctx, &ec2.DescribeImagesInput{
			Owners:    []string{"self"},
			Filters:   []types.Filter{{Name: aws.String("tag:" + ARNTag), Values: []string{arn}}},
			NextToken: token,
		})
		if err != nil {
			if awserr.IsNotFound(err) {
				return Image{}, fmt.Errorf("describing the AMIs of image %s: %w: %w", arn, ErrNotFound, err)
			}
			return Image{}, fmt.Errorf("describing the AMIs of image %s: %w", arn, err)
		}
		for _, img := range out.Images {
			im.AMIs = append(im.AMIs, AMI{
				ID:      aws.ToString(img.ImageId),
				Region:  a.region,
				Account: aws.ToString(img.OwnerId),
				Name:    aws.ToString(img.Name),
				State:   string(img.State),
			})
			if im.State == "" || (im.State == string(types.ImageStateAvailable) && img.State != types.ImageStateAvailable) {
				im.State, im.Reason = string(img.State), ""
				if img.StateReason != nil {
					im.Reason = aws.ToString(img.StateReason.Message)
				}
			}
		}
		// Without MaxResults EC2 answers in one page; follow a token anyway.
		if aws.ToString(out.NextToken) == "" {
			break
		}
		token = out.NextToken
	}
	if len(im.AMIs) == 0 {
		return Image{}, fmt.Errorf("describing the AMIs of image %s: %w: no AMI owned here is tagged %s with it", arn, ErrNotFound, ARNTag)
	}
	im.State = strings.ToUpper(im.State)
	return im, nil
}

// nameVersion splits a build-version ARN
// ("arn:aws:imagebuilder:REGION:ACCOUNT:image/NAME/1.0.0/3") into the
// image name and its version with the build ("1.0.0/3"), as GetImage
// reports them; anything else gives empty strings.
func nameVersion(arn string) (name, version string) {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 {
		return "", ""
	}
	res, ok := strings.CutPrefix(parts[5], "image/")
	if !ok {
		return "", ""
	}
	name, version, _ = strings.Cut(res, "/")
	return name, version
}
