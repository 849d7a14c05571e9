package rollout

import (
	"fmt"
	"strings"
	"time"
	"unicode"
)

// ImageAvailable is the state an AMI must be in to be rolled out.
const ImageAvailable = "available"

// Image is a candidate AMI as the handler read it.
type Image struct {
	ID            string            `json:"id"`
	Name          string            `json:"name,omitempty"`
	State         string            `json:"state,omitempty"`
	Architecture  string            `json:"architecture,omitempty"`
	Created       time.Time         `json:"created,omitzero"`
	RootEncrypted bool              `json:"rootEncrypted,omitempty"`
	Tags          map[string]string `json:"tags,omitempty"`
	// Source is the Image Builder image ARN the AMI came from, if any.
	Source string `json:"source,omitempty"`
}

// Forced reports whether the image is tagged to replace a newer one.
func (img Image) Forced() bool { return strings.EqualFold(img.Tags[ForceTag], "true") }

// Current is what the fleet runs now, for Check.
type Current struct {
	// Image is the AMI of the live group's launch template version; nil
	// when it cannot be read (deregistered, or the version sets none).
	Image *Image
	// InstanceType is the launch template version's instance type; empty
	// when the template leaves it to the group (mixed instances).
	InstanceType string
}

// Check validates a candidate image for a fleet before anything changes. It
// returns every reason to reject it; none means go. An image must be
// available, fit the fleet's architecture (Checks.Architecture, or the one
// the instance type implies), have an encrypted root volume, carry the
// required tags, differ from the current image, and not be older than it
// unless allowed or forced.
func Check(p Policy, img Image, cur Current) []string {
	var why []string
	if img.State != ImageAvailable {
		why = append(why, fmt.Sprintf("image is %q, not %q", img.State, ImageAvailable))
	}
	want := p.Checks.Architecture
	if want == "" {
		want = ArchitectureOf(cur.InstanceType)
	}
	if want != "" && img.Architecture != want {
		from := "checks.architecture"
		if p.Checks.Architecture == "" {
			from = "instance type " + cur.InstanceType
		}
		why = append(why, fmt.Sprintf("architecture %q does not fit %q (%s)", img.Architecture, want, from))
	}
	if !img.RootEncrypted && !p.Checks.AllowUnencryptedRoot {
		why = append(why, "root volume is not encrypted")
	}
	for _, tag := range p.Checks.RequiredTags {
		if img.Tags[tag] == "" {
			why = append(why, fmt.Sprintf("required tag %q is missing", tag))
		}
	}
	if c := cur.Image; c != nil {
		switch {
		case img.ID == c.ID:
			why = append(why, "already the fleet's image")
		case img.Created.Before(c.Created) && !p.Checks.AllowOlder && !img.Forced():
			why = append(why, fmt.Sprintf("created %s, before the current image %s (%s); tag %s=true to force",
				stamp(img.Created), c.ID, stamp(c.Created), ForceTag))
		}
	}
	return why
}

// ArchitectureOf returns the AMI architecture an instance type runs, from
// its family's naming: a "g" among the attribute letters after the
// generation digit means AWS Graviton (t4g, c7gn, m6gd, is4gen, g5g) and
// arm64, as does a1; mac1 is x86_64_mac and later mac families arm64_mac;
// everything else is x86_64. It returns "" for an empty or unparseable type.
func ArchitectureOf(instanceType string) string {
	family, _, ok := strings.Cut(instanceType, ".")
	if !ok || family == "" {
		return ""
	}
	if strings.HasPrefix(family, "mac") {
		if family == "mac1" {
			return "x86_64_mac"
		}
		return "arm64_mac"
	}
	if family == "a1" {
		return "arm64"
	}
	// Series letters, then the generation digits, then attribute letters.
	i := strings.IndexFunc(family, unicode.IsDigit)
	if i <= 0 {
		return ""
	}
	rest := strings.TrimLeftFunc(family[i:], unicode.IsDigit)
	if strings.ContainsRune(rest, 'g') {
		return "arm64"
	}
	return "x86_64"
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }
