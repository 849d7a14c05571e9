package event

// ResourceTypeListener is the CloudFormation type of an ALB listener
// (ResourceStatusChange.ResourceType).
const ResourceTypeListener = "AWS::ElasticLoadBalancingV2::Listener"

// Resource statuses (ResourceStatusChange.Status) stampkit looks at; the
// others (…_IN_PROGRESS, …_FAILED, DELETE_…, IMPORT_…) pass through as
// they come.
const (
	ResourceCreateComplete = "CREATE_COMPLETE"
	ResourceUpdateComplete = "UPDATE_COMPLETE"
)

// ResourceStatusChange is one resource of a CloudFormation stack changing
// status during a stack operation ("CloudFormation Resource Status
// Change"). A `cdk deploy` that changes a resource in place reports it
// UPDATE_IN_PROGRESS, then UPDATE_COMPLETE.
type ResourceStatusChange struct {
	// StackID is the stack's ARN.
	StackID string
	// LogicalResourceID names the resource in the template.
	LogicalResourceID string
	// PhysicalResourceID identifies the resource in its service: for an
	// ALB listener, its ARN. Empty while a resource is first being created.
	PhysicalResourceID string
	// ResourceType is the CloudFormation type, for example
	// ResourceTypeListener.
	ResourceType string
	// Status is the resource's status, for example ResourceUpdateComplete;
	// StatusReason explains it when CloudFormation gives a reason.
	Status, StatusReason string
	// ClientRequestToken is shared by every event of one stack operation;
	// empty when the operation was started without one.
	ClientRequestToken string
}

// decodeResourceStatusDetail decodes the detail documented in the
// CloudFormation User Guide, "Resource Status Change event detail".
func decodeResourceStatusDetail(env envelope) (any, error) {
	var d struct {
		StackID            string `json:"stack-id"`
		LogicalResourceID  string `json:"logical-resource-id"`
		PhysicalResourceID string `json:"physical-resource-id"`
		StatusDetails      struct {
			Status       string `json:"status"`
			StatusReason string `json:"status-reason"`
		} `json:"status-details"`
		ResourceType       string `json:"resource-type"`
		ClientRequestToken string `json:"client-request-token"`
	}
	if err := unmarshal(env.Detail, &d, env.path("detail"), ""); err != nil {
		return nil, err
	}
	if err := firstErr(
		need(d.StackID, env.detailPath("stack-id")),
		need(d.LogicalResourceID, env.detailPath("logical-resource-id")),
		need(d.StatusDetails.Status, env.detailPath("status-details.status")),
		need(d.ResourceType, env.detailPath("resource-type")),
	); err != nil {
		return nil, err
	}
	return &ResourceStatusChange{
		StackID:            d.StackID,
		LogicalResourceID:  d.LogicalResourceID,
		PhysicalResourceID: d.PhysicalResourceID,
		ResourceType:       d.ResourceType,
		Status:             d.StatusDetails.Status,
		StatusReason:       d.StatusDetails.StatusReason,
		ClientRequestToken: d.ClientRequestToken,
	}, nil
}
