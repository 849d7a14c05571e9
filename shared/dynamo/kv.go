package dynamo

import "context"

// Load reads the record at key as the handlers' state port sees it: its data
// and version, version 0 when it is missing or expired.
func (s *Store) Load(ctx context.Context, key string) ([]byte, int64, error) {
	r, ok, err := s.Get(ctx, key)
	if err != nil || !ok {
		return nil, 0, err
	}
	return r.Data, r.Version, nil
}

// Save writes data at key if the record is still at version (see Put),
// expiring it after the store's record TTL when one is set.
func (s *Store) Save(ctx context.Context, key string, data []byte, version int64) error {
	r := Record{Data: data}
	if s.recordTTL > 0 {
		r.ExpiresAt = s.now().Add(s.recordTTL)
	}
	return s.Put(ctx, key, r, version)
}
