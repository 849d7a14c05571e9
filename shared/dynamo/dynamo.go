// Package dynamo is stampkit's state store on DynamoDB: one table keyed by a
// string partition key, holding claims (exactly-once markers for effects) and
// versioned JSON records (cooldowns, rollout state) that expire by TTL.
//
// Table schema, which the CDK stack must match: partition key KeyAttribute
// (type S), no sort key, TTL enabled on TTLAttribute. Claims and records share
// the key space, so callers prefix keys by purpose ("claim#…", "cooldown#…").
package dynamo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Attribute names.
const (
	KeyAttribute     = "pk"         // partition key, S
	TTLAttribute     = "expires_at" // epoch seconds, N; the table's TTL attribute
	versionAttribute = "version"    // N, optimistic lock
	dataAttribute    = "data"       // S, the record's JSON
	ownerAttribute   = "owner"      // S, who holds a claim
)

// ErrVersionConflict reports a Put whose expected version no longer matches:
// another writer got there first. Re-read, decide again, retry.
var ErrVersionConflict = errors.New("version conflict")

// API is the subset of *dynamodb.Client the store calls.
type API interface {
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
	Scan(ctx context.Context, in *dynamodb.ScanInput, optFns ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error)
}

var _ API = (*dynamodb.Client)(nil)

// Store reads and writes one table.
type Store struct {
	api   API
	table string
	now   func() time.Time
	// recordTTL, when set, makes every Save'd record expire that long after
	// it was written.
	recordTTL time.Duration
}

// Option adjusts a Store.
type Option func(*Store)

// WithClock replaces time.Now, for tests and the local twin's virtual clock.
func WithClock(now func() time.Time) Option {
	return func(s *Store) { s.now = now }
}

// WithRecordTTL makes records written by Save expire ttl after each write,
// for state that is worthless once the thing it tracks must have ended.
func WithRecordTTL(ttl time.Duration) Option {
	return func(s *Store) { s.recordTTL = ttl }
}

// New returns a Store over api (normally a *dynamodb.Client) and table.
func New(api API, table string, opts ...Option) *Store {
	s := &Store{api: api, table: table, now: time.Now}
	for _, opt := range opts {
		opt(s)
	}
	return s
}

// Record is a versioned JSON document.
type Record struct {
	Key string
	// Version counts writes: 0 for a record never written, n after n Puts.
	Version int64
	Data    []byte // JSON
	// ExpiresAt, when set, is when DynamoDB may delete the record, stored in
	// whole seconds rounded up. The store treats the record as gone from that
	// instant, because TTL deletion itself lags by up to a few days.
	ExpiresAt time.Time
}

// Claim marks key as taken by owner until ttl from now and reports whether
// owner holds it: of several deliveries of one event, each with its own
// owner, only the first gets it. An expired claim can be taken again, and
// its owner may claim it again (the SDK retrying a write that landed, or
// the owner extending its claim). A claim whose effect then fails should
// be Released so a retry can run it.
func (s *Store) Claim(ctx context.Context, key, owner string, ttl time.Duration) (bool, error) {
	now := s.now()
	_, err := s.api.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(s.table),
		Item: map[string]types.AttributeValue{
			KeyAttribute:   &types.AttributeValueMemberS{Value: key},
			TTLAttribute:   epoch(now.Add(ttl)),
			ownerAttribute: &types.AttributeValueMemberS{Value: owner},
		},
		ConditionExpression:      aws.String("attribute_not_exists(#pk) OR #exp <= :now OR #owner = :owner"),
		ExpressionAttributeNames: map[string]string{"#pk": KeyAttribute, "#exp": TTLAttribute, "#owner": ownerAttribute},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":now": nowValue(now), ":owner": &types.AttributeValueMemberS{Value: owner},
		},
	})
	if err != nil {
		var ccf *types.ConditionalCheckFailedException
		if errors.As(err, &ccf) {
			return false, nil
		}
		return false, fmt.Errorf("claiming %s: %w", key, err)
	}
	return true, nil
}

// Release gives up owner's claim on key. A key owner does not hold (gone,
// or claimed by another after it expired) is left as it is, and that is
// not an error.
func (s *Store) Release(ctx context.Context, key, owner string) error {
	_, err := s.api.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName:                 aws.String(s.table),
		Key:                       map[string]types.AttributeValue{KeyAttribute: &types.AttributeValueMemberS{Value: key}},
		ConditionExpression:       aws.String("attribute_not_exists(#pk) OR #owner = :owner"),
		ExpressionAttributeNames:  map[string]string{"#pk": KeyAttribute, "#owner": ownerAttribute},
		ExpressionAttributeValues: map[string]types.AttributeValue{":owner": &types.AttributeValueMemberS{Value: owner}},
	})
	var ccf *types.ConditionalCheckFailedException
	if err != nil && !errors.As(err, &ccf) {
		return fmt.Errorf("releasing %s: %w", key, err)
	}
	return nil
}

// Get reads the record at key with a strongly consistent read, as optimistic
// locking needs. It reports false for a missing or expired record.
func (s *Store) Get(ctx context.Context, key string) (Record, bool, error) {
	out, err := s.api.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(s.table),
		Key:            map[string]types.AttributeValue{KeyAttribute: &types.AttributeValueMemberS{Value: key}},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return Record{}, false, fmt.Errorf("getting %s: %w", key, err)
	}
	if out.Item == nil {
		return Record{}, false, nil
	}
	r, err := record(key, out.Item)
	if err != nil {
		return Record{}, false, fmt.Errorf("decoding %s: %w", key, err)
	}
	if !r.ExpiresAt.IsZero() && !r.ExpiresAt.After(s.now()) {
		return Record{}, false, nil
	}
	return r, true, nil
}

// Put writes r's Data and ExpiresAt at key if the stored version is still
// expectedVersion (0: the record must not exist, or be expired), and stores
// version expectedVersion+1. Otherwise it writes nothing and returns an error
// matching ErrVersionConflict. r.Key and r.Version are ignored.
func (s *Store) Put(ctx context.Context, key string, r Record, expectedVersion int64) error {
	if len(r.Data) > 0 && !json.Valid(r.Data) {
		return fmt.Errorf("putting %s: data is not JSON", key)
	}
	item := map[string]types.AttributeValue{
		KeyAttribute:     &types.AttributeValueMemberS{Value: key},
		versionAttribute: &types.AttributeValueMemberN{Value: strconv.FormatInt(expectedVersion+1, 10)},
	}
	if len(r.Data) > 0 {
		item[dataAttribute] = &types.AttributeValueMemberS{Value: string(r.Data)}
	}
	if !r.ExpiresAt.IsZero() {
		item[TTLAttribute] = epoch(r.ExpiresAt)
	}
	in := &dynamodb.PutItemInput{TableName: aws.String(s.table), Item: item}
	if expectedVersion == 0 {
		in.ConditionExpression = aws.String("attribute_not_exists(#pk) OR #exp <= :now")
		in.ExpressionAttributeNames = map[string]string{"#pk": KeyAttribute, "#exp": TTLAttribute}
		in.ExpressionAttributeValues = map[string]types.AttributeValue{":now": nowValue(s.now())}
	} else {
		in.ConditionExpression = aws.String("#v = :expected")
		in.ExpressionAttributeNames = map[string]string{"#v": versionAttribute}
		in.ExpressionAttributeValues = map[string]types.AttributeValue{
			":expected": &types.AttributeValueMemberN{Value: strconv.FormatInt(expectedVersion, 10)},
		}
	}
	if _, err := s.api.PutItem(ctx, in); err != nil {
		var ccf *types.ConditionalCheckFailedException
		if !errors.As(err, &ccf) {
			return fmt.Errorf("putting %s at version %d: %w", key, expectedVersion, err)
		}
		if s.wroteIt(ctx, key, r.Data, expectedVersion+1) {
			return nil
		}
		return fmt.Errorf("putting %s at version %d: %w", key, expectedVersion, ErrVersionConflict)
	}
	return nil
}

// wroteIt reports whether key already holds data at version: the write a
// failed condition refused is this one's own, made by an earlier attempt
// whose answer was lost (the SDK retries a call that got no answer, and
// the retry then meets its own write). Any doubt is a conflict.
func (s *Store) wroteIt(ctx context.Context, key string, data []byte, version int64) bool {
	cur, ok, err := s.Get(ctx, key)
	return err == nil && ok && cur.Version == version && string(cur.Data) == string(data)
}

func record(key string, item map[string]types.AttributeValue) (Record, error) {
	r := Record{Key: key}
	if v, ok := item[versionAttribute].(*types.AttributeValueMemberN); ok {
		n, err := strconv.ParseInt(v.Value, 10, 64)
		if err != nil {
			return Record{}, fmt.Errorf("version %q: %w", v.Value, err)
		}
		r.Version = n
	}
	if v, ok := item[dataAttribute].(*types.AttributeValueMemberS); ok {
		r.Data = []byte(v.Value)
	}
	if v, ok := item[TTLAttribute].(*types.AttributeValueMemberN); ok {
		n, err := strconv.ParseInt(v.Value, 10, 64)
		if err != nil {
			return Record{}, fmt.Errorf("%s %q: %w", TTLAttribute, v.Value, err)
		}
		r.ExpiresAt = time.Unix(n, 0).UTC()
	}
	return r, nil
}

// epoch is t in the TTL attribute's format: whole epoch seconds, rounded up
// so an item never expires before the instant asked for.
func epoch(t time.Time) types.AttributeValue {
	s := t.Unix()
	if t.Nanosecond() > 0 {
		s++
	}
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(s, 10)}
}

// nowValue is now for comparison with a TTL attribute: rounded down, so an
// item counts as expired only once its expiry has fully passed.
func nowValue(now time.Time) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(now.Unix(), 10)}
}
