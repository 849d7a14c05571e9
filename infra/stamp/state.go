package stamp

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// StateTTLAttribute is the attribute DynamoDB's TTL reads: idempotency
// claims and cooldown records expire on their own.
const StateTTLAttribute = "expires_at"

// StatePartitionKey is the table's partition key (a string).
const StatePartitionKey = "pk"

// StateProps configures the state table.
type StateProps struct {
	// RemovalPolicy defaults to RETAIN: the table holds in-flight rollout
	// and lifecycle records that a stack update must not lose.
	RemovalPolicy awscdk.RemovalPolicy
	// TableName, optional, is a physical name, for a table its function
	// finds by a name written at synth (the shift stack's); the stamp's own
	// table has none, and must keep none (a new name replaces a table).
	TableName string
}

// State is the DynamoDB table holding idempotency claims, cooldowns and
// rollout state.
type State interface {
	Table() awsdynamodb.ITable
}

type state struct {
	table awsdynamodb.Table
}

// NewState creates the table: on-demand, point-in-time recovery, TTL on
// expires_at, AWS-managed KMS encryption and, unless TableName, no physical
// name.
func NewState(scope constructs.Construct, id string, props *StateProps) State {
	if props == nil {
		props = &StateProps{}
	}
	removal := props.RemovalPolicy
	if removal == "" {
		removal = awscdk.RemovalPolicy_RETAIN
	}
	c := constructs.NewConstruct(scope, &id)
	var name *string
	if props.TableName != "" {
		name = jsii.String(props.TableName)
	}
	table := awsdynamodb.NewTable(c, jsii.String("Table"), &awsdynamodb.TableProps{
		TableName: name,
		PartitionKey: &awsdynamodb.Attribute{
			Name: jsii.String(StatePartitionKey),
			Type: awsdynamodb.AttributeType_STRING,
		},
		BillingMode: awsdynamodb.BillingMode_PAY_PER_REQUEST,
		PointInTimeRecoverySpecification: &awsdynamodb.PointInTimeRecoverySpecification{
			PointInTimeRecoveryEnabled: jsii.Bool(true),
		},
		TimeToLiveAttribute: jsii.String(StateTTLAttribute),
		Encryption:          awsdynamodb.TableEncryption_AWS_MANAGED,
		DeletionProtection:  jsii.Bool(removal == awscdk.RemovalPolicy_RETAIN),
		RemovalPolicy:       removal,
	})
	return &state{table: table}
}

func (s *state) Table() awsdynamodb.ITable { return s.table }
