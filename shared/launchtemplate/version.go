package launchtemplate

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// CreateVersionWithImage stamps an AMI into a launch template: it creates a
// new version holding a full copy of sourceVersion's data ("3", "$Latest",
// "$Default") with ImageId replaced, and returns the new version number.
//
// The copy is made here rather than with CreateLaunchTemplateVersion's
// SourceVersion parameter, so the new version is the same whichever EC2
// implementation merges it: the local emulator ignores SourceVersion and
// would silently drop everything but the image.
func (a *Adapter) CreateVersionWithImage(ctx context.Context, launchTemplateID, sourceVersion, amiID, description string) (int64, error) {
	src, err := a.version(ctx, launchTemplateID, sourceVersion)
	if err != nil {
		return 0, err
	}
	data, err := requestData(src.LaunchTemplateData)
	if err != nil {
		return 0, fmt.Errorf("copying launch template %s version %s: %w", launchTemplateID, sourceVersion, err)
	}
	data.ImageId = aws.String(amiID)
	token, err := clientToken(launchTemplateID, description, data)
	if err != nil {
		return 0, fmt.Errorf("copying launch template %s version %s: %w", launchTemplateID, sourceVersion, err)
	}
	out, err := a.api.CreateLaunchTemplateVersion(ctx, &ec2.CreateLaunchTemplateVersionInput{
		LaunchTemplateId:   aws.String(launchTemplateID),
		VersionDescription: optional(description),
		LaunchTemplateData: data,
		ClientToken:        aws.String(token),
	})
	if err != nil {
		return 0, fmt.Errorf("creating launch template %s version with image %s: %w", launchTemplateID, amiID, err)
	}
	if out.LaunchTemplateVersion == nil {
		return 0, fmt.Errorf("creating launch template %s version with image %s: empty response", launchTemplateID, amiID)
	}
	return aws.ToInt64(out.LaunchTemplateVersion.VersionNumber), nil
}

// VersionImage returns the AMI a launch template version launches ("" when
// the version sets none), so a rollout can tell whether an image is already
// stamped.
func (a *Adapter) VersionImage(ctx context.Context, launchTemplateID, version string) (string, error) {
	v, err := a.version(ctx, launchTemplateID, version)
	if err != nil {
		return "", err
	}
	if v.LaunchTemplateData == nil {
		return "", nil
	}
	return aws.ToString(v.LaunchTemplateData.ImageId), nil
}

// DefaultVersion returns the template's default version number.
func (a *Adapter) DefaultVersion(ctx context.Context, launchTemplateID string) (int64, error) {
	out, err := a.api.DescribeLaunchTemplates(ctx, &ec2.DescribeLaunchTemplatesInput{
		LaunchTemplateIds: []string{launchTemplateID},
	})
	if err != nil {
		return 0, fmt.Errorf("describing launch template %s: %w", launchTemplateID, notFound(err))
	}
	if len(out.LaunchTemplates) == 0 {
		return 0, fmt.Errorf("describing launch template %s: %w", launchTemplateID, ErrNotFound)
	}
	return aws.ToInt64(out.LaunchTemplates[0].DefaultVersionNumber), nil
}

// SetDefaultVersion makes version the template's default, which groups
// tracking "$Default" launch from next.
func (a *Adapter) SetDefaultVersion(ctx context.Context, launchTemplateID string, version int64) error {
	_, err := a.api.ModifyLaunchTemplate(ctx, &ec2.ModifyLaunchTemplateInput{
		LaunchTemplateId: aws.String(launchTemplateID),
		DefaultVersion:   aws.String(strconv.FormatInt(version, 10)),
	})
	if err != nil {
		return fmt.Errorf("setting default version of launch template %s to %d: %w", launchTemplateID, version, err)
	}
	return nil
}

func (a *Adapter) version(ctx context.Context, launchTemplateID, version string) (types.LaunchTemplateVersion, error) {
	out, err := a.api.DescribeLaunchTemplateVersions(ctx, &ec2.DescribeLaunchTemplateVersionsInput{
		LaunchTemplateId: aws.String(launchTemplateID),
		Versions:         []string{version},
	})
	if err != nil {
		return types.LaunchTemplateVersion{}, fmt.Errorf("describing launch template %s version %s: %w", launchTemplateID, version, notFound(err))
	}
	if len(out.LaunchTemplateVersions) == 0 {
		return types.LaunchTemplateVersion{}, fmt.Errorf("describing launch template %s version %s: %w", launchTemplateID, version, ErrNotFound)
	}
	return out.LaunchTemplateVersions[0], nil
}

// requestData converts the launch template data EC2 returns into the shape it
// accepts. The two SDK types mirror each other field by field (same names,
// same JSON-compatible kinds) except for a few read-only status fields, so a
// JSON round trip copies everything a version can carry; the tests walk both
// types by reflection and fail if a new SDK release breaks that.
func requestData(in *types.ResponseLaunchTemplateData) (*types.RequestLaunchTemplateData, error) {
	out := &types.RequestLaunchTemplateData{}
	if in == nil {
		return out, nil
	}
	b, err := json.Marshal(in)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, out); err != nil {
		return nil, err
	}
	return out, nil
}

// clientToken derives CreateLaunchTemplateVersion's idempotency token from
// everything the new version holds. A rollout retried after a crash (the event
// is delivered again) sends the same request and EC2 returns the version it
// already made instead of a duplicate; a different image or source data makes
// a different token, so a real change is never mistaken for a retry.
func clientToken(launchTemplateID, description string, data *types.RequestLaunchTemplateData) (string, error) {
	b, err := json.Marshal(data)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	for _, part := range [][]byte{[]byte(launchTemplateID), []byte(description), b} {
		h.Write(part)
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)), nil // 64 characters; EC2 allows 128
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return aws.String(s)
}
