package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/stampkit/stampkit/shared/event"
)

// image writes the event that marks a baked AMI ready to roll out: the
// last step of a bake (the Packer template sends it once the AMI carries
// its tags), to the stack's command bus like a rollout command. EC2's own
// "AMI State Change" can come before the tags, and an Image Builder image
// rolls out on its pipeline's event instead.
func image(args []string, stdout, stderr io.Writer, now func() time.Time) error {
	fs := newFlagSet("image", synopses["image"], stderr)
	ami := fs.String("ami", "", "the AMI that is ready (required)")
	out := eventFlags(fs)
	switch {
	case len(args) > 0 && isHelp(args[0]):
		fs.Usage()
		return errHelp
	case len(args) == 0 || args[0] != "ready":
		return fmt.Errorf("image: the one action is ready: %w", errUsage)
	}
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	if err := noArgs(fs); err != nil {
		return err
	}
	if !strings.HasPrefix(*ami, "ami-") {
		return fmt.Errorf("image ready: -ami %q is not an AMI ID (ami-…): %w", *ami, errUsage)
	}
	body, err := event.ImageReadyBody(*ami, now())
	if err != nil {
		return err
	}
	return out.write(stdout, "image ready", body)
}
