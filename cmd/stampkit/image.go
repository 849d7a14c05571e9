package main

import (
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/stampkit/stampkit/shared/event"
)

// image writes the event that marks a baked AMI ready to roll out: the
// last step of a bake (the Packer template sends it once the AMI carries
// its tags). EC2's own "AMI State Change" can come before the tags, and an
// Image Builder image rolls out on its pipeline's event instead.
func image(args []string, stdout io.Writer, now func() time.Time) error {
	fs := flag.NewFlagSet("image", flag.ContinueOnError)
	fs.SetOutput(stdout)
	ami := fs.String("ami", "", "the AMI that is ready (required)")
	format := formatFlag(fs)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: stampkit image ready -ami ami-… [-format put-events|lambda]")
		fs.PrintDefaults()
	}
	if len(args) == 0 || args[0] != "ready" {
		fs.Usage()
		return errUsage
	}
	if err := fs.Parse(args[1:]); err != nil {
		return errUsage
	}
	if !strings.HasPrefix(*ami, "ami-") {
		return fmt.Errorf("image ready: -ami %q is not an AMI ID (ami-…): %w", *ami, errUsage)
	}
	body, err := event.ImageReadyBody(*ami, now())
	if err != nil {
		return err
	}
	return writeEvent(stdout, "image ready", body, *format)
}
