package awstest

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/stampkit/stampkit/shared/dynamo"
)

// NewTable creates the state table with the schema the dynamo store expects
// (and the CDK stack deploys): partition key dynamo.KeyAttribute, on-demand,
// TTL on dynamo.TTLAttribute.
func NewTable(t testing.TB, cfg aws.Config, name string) {
	t.Helper()
	c := dynamodb.NewFromConfig(cfg)
	_, err := c.CreateTable(t.Context(), &dynamodb.CreateTableInput{
		TableName:            aws.String(name),
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String(dynamo.KeyAttribute), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String(dynamo.KeyAttribute), KeyType: types.KeyTypeHash}},
		BillingMode:          types.BillingModePayPerRequest,
	})
	must(t, "CreateTable", err)
	_, err = c.UpdateTimeToLive(t.Context(), &dynamodb.UpdateTimeToLiveInput{
		TableName: aws.String(name),
		TimeToLiveSpecification: &types.TimeToLiveSpecification{
			AttributeName: aws.String(dynamo.TTLAttribute), Enabled: aws.Bool(true),
		},
	})
	must(t, "UpdateTimeToLive", err)
}
