package event

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// DetailTypeImageReady is stampkit's own "this AMI is baked, tagged and
// tested" event (source stampkit). A bake tool sends it as its last step:
// EC2's "AMI State Change" (available) can arrive before the tool has
// tagged the AMI (Packer tags it after it is available), so it cannot be
// what marks an image ready.
const DetailTypeImageReady = "Image Ready"

// ImageReady names an AMI whose bake is complete.
type ImageReady struct {
	ImageID string
}

type imageReadyJSON struct {
	ImageID string `json:"imageId"`
}

func decodeImageReadyDetail(env envelope) (any, error) {
	var d imageReadyJSON
	if err := unmarshal(env.Detail, &d, env.path("detail"), ""); err != nil {
		return nil, err
	}
	if err := need(d.ImageID, env.detailPath("imageId")); err != nil {
		return nil, err
	}
	if !strings.HasPrefix(d.ImageID, "ami-") {
		return nil, malformed(env.detailPath("imageId"), "%q is not an AMI ID (ami-…)", d.ImageID)
	}
	return &ImageReady{ImageID: d.ImageID}, nil
}

// ImageReadyBody is the EventBridge event marking ami ready, as the CLI
// writes it for `aws events put-events`. Its id is derived from the AMI,
// so sending it twice is acted on once.
func ImageReadyBody(ami string, at time.Time) ([]byte, error) {
	body, err := json.Marshal(map[string]any{
		"version":     "0",
		"id":          stableID(ami),
		"source":      SourceStampkit,
		"detail-type": DetailTypeImageReady,
		"account":     "",
		"region":      "",
		"time":        at.UTC().Format(time.RFC3339Nano),
		"resources":   []string{},
		"detail":      imageReadyJSON{ImageID: ami},
	})
	if err != nil {
		return nil, fmt.Errorf("encoding image ready event for %s: %w", ami, err)
	}
	return body, nil
}
