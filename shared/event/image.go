package event

import "strings"

// Image Builder image statuses (ImageStateChange.State and PreviousState).
const (
	ImageStatusPending      = "PENDING"
	ImageStatusCreating     = "CREATING"
	ImageStatusBuilding     = "BUILDING"
	ImageStatusTesting      = "TESTING"
	ImageStatusDistributing = "DISTRIBUTING"
	ImageStatusIntegrating  = "INTEGRATING"
	ImageStatusAvailable    = "AVAILABLE"
	ImageStatusCancelled    = "CANCELLED"
	ImageStatusFailed       = "FAILED"
	ImageStatusDeprecated   = "DEPRECATED"
	ImageStatusDeleted      = "DELETED"
)

// AMI states (AMIStateChange.State).
const (
	AMIStateAvailable    = "available"
	AMIStateFailed       = "failed"
	AMIStateDeregistered = "deregistered"
	AMIStateDisabled     = "disabled"
)

// ImageStateChange is an EC2 Image Builder image changing status
// ("EC2 Image Builder Image State Change").
type ImageStateChange struct {
	// ImageARN is the Image Builder image
	// ("arn:aws:imagebuilder:REGION:ACCOUNT:image/NAME/VERSION/BUILD"). The
	// event carries no AMI id: resolve it with imagebuilder:GetImage.
	ImageARN string
	// State and PreviousState are ImageStatus* values.
	State, PreviousState string
	// Reason explains the state when Image Builder gives one (failures).
	Reason string
}

// AMIStateChange is an AMI changing state ("EC2 AMI State Change").
type AMIStateChange struct {
	ImageID string
	// State is one of the AMIState* values.
	State        string
	ErrorMessage string
	RequestID    string
}

type imageStateJSON struct {
	Status string `json:"status"`
	Reason string `json:"reason"`
}

func decodeImageDetail(env envelope) (any, error) {
	var d struct {
		State    imageStateJSON `json:"state"`
		Previous imageStateJSON `json:"previous-state"`
	}
	if err := unmarshal(env.Detail, &d, env.path("detail"), ""); err != nil {
		return nil, err
	}
	if err := need(d.State.Status, env.detailPath("state.status")); err != nil {
		return nil, err
	}
	arn := imageARN(env.Resources)
	if arn == "" {
		return nil, malformed(env.path("resources"), "missing the image ARN")
	}
	return &ImageStateChange{
		ImageARN:      arn,
		State:         d.State.Status,
		PreviousState: d.Previous.Status,
		Reason:        d.State.Reason,
	}, nil
}

// imageARN picks the image's ARN from resources, which may also list the
// pipeline or workflow.
func imageARN(resources []string) string {
	for _, r := range resources {
		if strings.HasPrefix(r, "arn:") && strings.Contains(r, ":image/") {
			return r
		}
	}
	return ""
}

func decodeAMIDetail(env envelope) (any, error) {
	var d struct {
		ImageID      string `json:"ImageId"`
		State        string `json:"State"`
		ErrorMessage string `json:"ErrorMessage"`
		RequestID    string `json:"RequestId"`
	}
	if err := unmarshal(env.Detail, &d, env.path("detail"), ""); err != nil {
		return nil, err
	}
	if err := firstErr(
		need(d.ImageID, env.detailPath("ImageId")),
		need(d.State, env.detailPath("State")),
	); err != nil {
		return nil, err
	}
	return &AMIStateChange{ImageID: d.ImageID, State: d.State, ErrorMessage: d.ErrorMessage, RequestID: d.RequestID}, nil
}
