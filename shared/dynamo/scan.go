package dynamo

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Scan reads every record whose key starts with prefix, in no particular
// order, skipping expired ones as Get does. It reads the whole table (the
// filter only trims what comes back), with eventually consistent reads: it
// is for operators' views of a small table, never for decisions.
func (s *Store) Scan(ctx context.Context, prefix string) ([]Record, error) {
	in := &dynamodb.ScanInput{
		TableName:                 aws.String(s.table),
		FilterExpression:          aws.String("begins_with(#pk, :prefix)"),
		ExpressionAttributeNames:  map[string]string{"#pk": KeyAttribute},
		ExpressionAttributeValues: map[string]types.AttributeValue{":prefix": &types.AttributeValueMemberS{Value: prefix}},
	}
	now := s.now()
	var out []Record
	for p := dynamodb.NewScanPaginator(s.api, in); p.HasMorePages(); {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("scanning %s for %q: %w", s.table, prefix, err)
		}
		for _, item := range page.Items {
			k, ok := item[KeyAttribute].(*types.AttributeValueMemberS)
			if !ok {
				continue
			}
			r, err := record(k.Value, item)
			if err != nil {
				return nil, fmt.Errorf("decoding %s: %w", k.Value, err)
			}
			if !r.ExpiresAt.IsZero() && !r.ExpiresAt.After(now) {
				continue
			}
			out = append(out, r)
		}
	}
	return out, nil
}
