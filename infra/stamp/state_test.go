package stamp

import (
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"
)

func TestState(t *testing.T) {
	f := synth(t)
	check(t, "one table", func() { f.template.ResourceCountIs(jsii.String("AWS::DynamoDB::Table"), num(1)) })
	check(t, "table shape", func() {
		f.template.HasResourceProperties(jsii.String("AWS::DynamoDB::Table"), map[string]any{
			"KeySchema":                        []any{map[string]any{"AttributeName": StatePartitionKey, "KeyType": "HASH"}},
			"AttributeDefinitions":             []any{map[string]any{"AttributeName": StatePartitionKey, "AttributeType": "S"}},
			"BillingMode":                      "PAY_PER_REQUEST",
			"PointInTimeRecoverySpecification": map[string]any{"PointInTimeRecoveryEnabled": true},
			"TimeToLiveSpecification":          map[string]any{"AttributeName": StateTTLAttribute, "Enabled": true},
			"SSESpecification":                 map[string]any{"SSEEnabled": true},
			"TableName":                        assertions.Match_Absent(),
		})
	})
	check(t, "table survives stack deletion", func() {
		f.template.HasResource(jsii.String("AWS::DynamoDB::Table"), map[string]any{
			"DeletionPolicy":      "Retain",
			"UpdateReplacePolicy": "Retain",
		})
	})
}
