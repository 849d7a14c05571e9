package launchtemplate

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
)

// Template is a launch template's identity and version pointers.
type Template struct {
	ID             string
	Name           string
	DefaultVersion int64
	LatestVersion  int64
}

// Template reads a launch template; a missing one is ErrNotFound. A rollout
// resolves a group's "$Default" or "$Latest" to a number with it.
func (a *Adapter) Template(ctx context.Context, launchTemplateID string) (Template, error) {
	out, err := a.api.DescribeLaunchTemplates(ctx, &ec2.DescribeLaunchTemplatesInput{
		LaunchTemplateIds: []string{launchTemplateID},
	})
	if err != nil {
		return Template{}, fmt.Errorf("describing launch template %s: %w", launchTemplateID, notFound(err))
	}
	if len(out.LaunchTemplates) == 0 {
		return Template{}, fmt.Errorf("describing launch template %s: %w", launchTemplateID, ErrNotFound)
	}
	lt := out.LaunchTemplates[0]
	return Template{
		ID:             aws.ToString(lt.LaunchTemplateId),
		Name:           aws.ToString(lt.LaunchTemplateName),
		DefaultVersion: aws.ToInt64(lt.DefaultVersionNumber),
		LatestVersion:  aws.ToInt64(lt.LatestVersionNumber),
	}, nil
}

// Version is what a rollout checks about a launch template version.
type Version struct {
	Number int64
	// ImageID is the AMI it launches; empty when it sets none.
	ImageID string
	// InstanceType is empty when the group's overrides choose it.
	InstanceType string
}

// Version reads one version of a launch template ("3", "$Default",
// "$Latest"); a missing one is ErrNotFound.
func (a *Adapter) Version(ctx context.Context, launchTemplateID, version string) (Version, error) {
	v, err := a.version(ctx, launchTemplateID, version)
	if err != nil {
		return Version{}, err
	}
	out := Version{Number: aws.ToInt64(v.VersionNumber)}
	if d := v.LaunchTemplateData; d != nil {
		out.ImageID, out.InstanceType = aws.ToString(d.ImageId), string(d.InstanceType)
	}
	return out, nil
}
