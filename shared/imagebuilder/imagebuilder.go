// Package imagebuilder adapts EC2 Image Builder to the one call the rollout
// makes: reading an image, because the "EC2 Image Builder Image State
// Change" event names only the image ARN, not the AMIs it produced. No SDK
// type crosses the package boundary.
package imagebuilder

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/imagebuilder"
	"github.com/aws/aws-sdk-go-v2/service/imagebuilder/types"

	"github.com/stampkit/stampkit/shared/awserr"
)

// API is the subset of *imagebuilder.Client the adapter calls.
type API interface {
	GetImage(ctx context.Context, in *imagebuilder.GetImageInput, optFns ...func(*imagebuilder.Options)) (*imagebuilder.GetImageOutput, error)
}

var _ API = (*imagebuilder.Client)(nil)

// ErrNotFound reports an image that does not exist.
var ErrNotFound = errors.New("image not found")

// Adapter calls Image Builder through an API.
type Adapter struct {
	api API
}

// New returns an Adapter over api, normally an *imagebuilder.Client.
func New(api API) *Adapter {
	return &Adapter{api: api}
}

// Image is an Image Builder image: a build of a recipe by a pipeline.
type Image struct {
	ARN     string
	Name    string
	Version string
	// State is the image status ("AVAILABLE", "FAILED", …) and Reason why.
	State, Reason string
	// Pipeline is the ARN of the pipeline that built it; empty for a build
	// started outside a pipeline.
	Pipeline string
	Tags     map[string]string
	// AMIs are the output AMIs, one per distribution region and account.
	AMIs []AMI
}

// AMI is one AMI an image produced.
type AMI struct {
	ID      string
	Region  string
	Account string
	Name    string
	State   string // the AMI's image status, as Image.State
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

// Image reads an image by ARN; a missing one is ErrNotFound.
func (a *Adapter) Image(ctx context.Context, arn string) (Image, error) {
	out, err := a.api.GetImage(ctx, &imagebuilder.GetImageInput{ImageBuildVersionArn: aws.String(arn)})
	if err != nil {
		if awserr.IsNotFound(err) {
			return Image{}, fmt.Errorf("getting image %s: %w: %w", arn, ErrNotFound, err)
		}
		return Image{}, fmt.Errorf("getting image %s: %w", arn, err)
	}
	if out.Image == nil {
		return Image{}, fmt.Errorf("getting image %s: %w", arn, ErrNotFound)
	}
	return image(out.Image), nil
}

func image(in *types.Image) Image {
	im := Image{
		ARN:      aws.ToString(in.Arn),
		Name:     aws.ToString(in.Name),
		Version:  aws.ToString(in.Version),
		Pipeline: aws.ToString(in.SourcePipelineArn),
		Tags:     in.Tags,
	}
	if in.State != nil {
		im.State, im.Reason = string(in.State.Status), aws.ToString(in.State.Reason)
	}
	if in.OutputResources != nil {
		for _, a := range in.OutputResources.Amis {
			ami := AMI{
				ID:      aws.ToString(a.Image),
				Region:  aws.ToString(a.Region),
				Account: aws.ToString(a.AccountId),
				Name:    aws.ToString(a.Name),
			}
			if a.State != nil {
				ami.State = string(a.State.Status)
			}
			im.AMIs = append(im.AMIs, ami)
		}
	}
	return im
}
