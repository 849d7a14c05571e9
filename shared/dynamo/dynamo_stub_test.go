package dynamo_test

import (
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"

	"github.com/stampkit/stampkit/shared/awserr"
	"github.com/stampkit/stampkit/shared/awstest"
	"github.com/stampkit/stampkit/shared/dynamo"
)

// at is 2026-11-25T10:00:00.5Z: half a second past, to show the rounding.
var at = time.Date(2026, 11, 25, 10, 0, 0, 5e8, time.UTC)

func n(v string) types.AttributeValue { return &types.AttributeValueMemberN{Value: v} }
func s(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }

func stubStore(stub *awstest.Stub) *dynamo.Store {
	return dynamo.New(dynamodb.NewFromConfig(stub.Config()), "state", dynamo.WithClock(func() time.Time { return at }))
}

func TestRequestShapes(t *testing.T) {
	sec := at.Unix() // 10:00:00
	cases := []struct {
		name string
		call func(*testing.T, *dynamo.Store) error
		want any
	}{
		{
			name: "claim",
			call: func(t *testing.T, st *dynamo.Store) error {
				_, err := st.Claim(t.Context(), "claim#e1", "owner-1", 90*time.Second)
				return err
			},
			want: &dynamodb.PutItemInput{
				TableName: aws.String("state"),
				// Expiry 10:01:30.5 rounds up; "now" rounds down.
				Item:                      map[string]types.AttributeValue{"pk": s("claim#e1"), "expires_at": n(itoa(sec + 91)), "owner": s("owner-1")},
				ConditionExpression:       aws.String("attribute_not_exists(#pk) OR #exp <= :now OR #owner = :owner"),
				ExpressionAttributeNames:  map[string]string{"#pk": "pk", "#exp": "expires_at", "#owner": "owner"},
				ExpressionAttributeValues: map[string]types.AttributeValue{":now": n(itoa(sec)), ":owner": s("owner-1")},
			},
		},
		{
			name: "create",
			call: func(t *testing.T, st *dynamo.Store) error {
				return st.Put(t.Context(), "k", dynamo.Record{Data: []byte(`{"a":1}`), ExpiresAt: at.Add(time.Hour)}, 0)
			},
			want: &dynamodb.PutItemInput{
				TableName: aws.String("state"),
				Item: map[string]types.AttributeValue{
					"pk": s("k"), "version": n("1"), "data": s(`{"a":1}`), "expires_at": n(itoa(sec + 3601)),
				},
				ConditionExpression:       aws.String("attribute_not_exists(#pk) OR #exp <= :now"),
				ExpressionAttributeNames:  map[string]string{"#pk": "pk", "#exp": "expires_at"},
				ExpressionAttributeValues: map[string]types.AttributeValue{":now": n(itoa(sec))},
			},
		},
		{
			name: "update without expiry or data",
			call: func(t *testing.T, st *dynamo.Store) error {
				return st.Put(t.Context(), "k", dynamo.Record{Key: "ignored", Version: 99}, 7)
			},
			want: &dynamodb.PutItemInput{
				TableName:                 aws.String("state"),
				Item:                      map[string]types.AttributeValue{"pk": s("k"), "version": n("8")},
				ConditionExpression:       aws.String("#v = :expected"),
				ExpressionAttributeNames:  map[string]string{"#v": "version"},
				ExpressionAttributeValues: map[string]types.AttributeValue{":expected": n("7")},
			},
		},
		{
			name: "get reads consistently",
			call: func(t *testing.T, st *dynamo.Store) error {
				_, _, err := st.Get(t.Context(), "k")
				return err
			},
			want: &dynamodb.GetItemInput{
				TableName: aws.String("state"), Key: map[string]types.AttributeValue{"pk": s("k")}, ConsistentRead: aws.Bool(true),
			},
		},
		{
			name: "release",
			call: func(t *testing.T, st *dynamo.Store) error { return st.Release(t.Context(), "k", "owner-1") },
			want: &dynamodb.DeleteItemInput{
				TableName: aws.String("state"), Key: map[string]types.AttributeValue{"pk": s("k")},
				ConditionExpression:       aws.String("attribute_not_exists(#pk) OR #owner = :owner"),
				ExpressionAttributeNames:  map[string]string{"#pk": "pk", "#owner": "owner"},
				ExpressionAttributeValues: map[string]types.AttributeValue{":owner": s("owner-1")},
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			stub := awstest.NewStub().
				On("PutItem", &dynamodb.PutItemOutput{}).
				On("GetItem", &dynamodb.GetItemOutput{}).
				On("DeleteItem", &dynamodb.DeleteItemOutput{})
			if err := tc.call(t, stubStore(stub)); err != nil {
				t.Fatalf("call: %v", err)
			}
			calls := stub.Calls()
			if len(calls) != 1 {
				t.Fatalf("calls: got %d, want 1", len(calls))
			}
			if diff := awstest.Diff(tc.want, calls[0].Input); diff != "" {
				t.Errorf("input (-want +got):\n%s", diff)
			}
		})
	}
}

func TestErrors(t *testing.T) {
	throttled := &smithy.GenericAPIError{Code: "ProvisionedThroughputExceededException"}
	ccf := &types.ConditionalCheckFailedException{Message: aws.String("The conditional request failed")}

	t.Run("claim lost is not an error", func(t *testing.T) {
		got, err := stubStore(awstest.NewStub().On("PutItem", ccf)).Claim(t.Context(), "k", "owner-1", time.Minute)
		if got || err != nil {
			t.Errorf("Claim: got %v, %v, want false, nil", got, err)
		}
	})
	t.Run("claim throttled is an error", func(t *testing.T) {
		got, err := stubStore(awstest.NewStub().On("PutItem", throttled)).Claim(t.Context(), "k", "owner-1", time.Minute)
		if got || !awserr.IsThrottled(err) {
			t.Errorf("Claim: got %v, %v, want false and a throttling error", got, err)
		}
	})
	t.Run("put conflict", func(t *testing.T) {
		err := stubStore(awstest.NewStub().On("PutItem", ccf)).Put(t.Context(), "k", dynamo.Record{}, 3)
		if !errors.Is(err, dynamo.ErrVersionConflict) {
			t.Errorf("Put: got %v, want dynamo.ErrVersionConflict", err)
		}
	})
	t.Run("put throttled is not a conflict", func(t *testing.T) {
		err := stubStore(awstest.NewStub().On("PutItem", throttled)).Put(t.Context(), "k", dynamo.Record{}, 3)
		if errors.Is(err, dynamo.ErrVersionConflict) || !awserr.IsThrottled(err) {
			t.Errorf("Put: got %v, want a throttling error that is not a conflict", err)
		}
	})
	t.Run("put rejects non-JSON data before calling", func(t *testing.T) {
		stub := awstest.NewStub()
		err := stubStore(stub).Put(t.Context(), "k", dynamo.Record{Data: []byte("not json")}, 0)
		if err == nil || len(stub.Calls()) != 0 {
			t.Errorf("Put: got %v with %d calls, want an error and no call", err, len(stub.Calls()))
		}
	})
	for name, item := range map[string]map[string]types.AttributeValue{
		"bad version": {"pk": s("k"), "version": n("one")},
		"bad expiry":  {"pk": s("k"), "expires_at": n("soon")},
	} {
		t.Run("get "+name, func(t *testing.T) {
			_, ok, err := stubStore(awstest.NewStub().On("GetItem", &dynamodb.GetItemOutput{Item: item})).Get(t.Context(), "k")
			if ok || err == nil {
				t.Errorf("Get: got ok=%v, %v, want a decode error", ok, err)
			}
		})
	}
}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }
