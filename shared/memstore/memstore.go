// Package memstore is an in-memory state store with the semantics of the
// DynamoDB one: conditional claims with expiry and optimistic versioning.
// The local twin runs on it, and tests use it where DynamoDB is not the
// point.
package memstore

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/stampkit/stampkit/shared/clock"
)

// Store is safe for concurrent use.
type Store struct {
	clock   clock.Clock
	mu      sync.Mutex
	claims  map[string]time.Time
	records map[string]record
}

type record struct {
	data    []byte
	version int64
}

// New returns an empty store whose claims expire by c.
func New(c clock.Clock) *Store {
	return &Store{clock: c, claims: map[string]time.Time{}, records: map[string]record{}}
}

// Claim records key unless a live claim holds it; it reports whether this
// call made the claim.
func (s *Store) Claim(_ context.Context, key string, ttl time.Duration) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock.Now()
	if exp, ok := s.claims[key]; ok && now.Before(exp) {
		return false, nil
	}
	s.claims[key] = now.Add(ttl)
	return true, nil
}

// Release drops a claim.
func (s *Store) Release(_ context.Context, key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.claims, key)
	return nil
}

// Load returns a record and its version; version 0 means absent.
func (s *Store) Load(_ context.Context, key string) ([]byte, int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.records[key]
	return r.data, r.version, nil
}

// Save stores data if the record is still at version, as version+1.
func (s *Store) Save(_ context.Context, key string, data []byte, version int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if cur := s.records[key].version; cur != version {
		return fmt.Errorf("saving %s: %w (stored version %d, loaded %d)", key, ErrVersionConflict, cur, version)
	}
	s.records[key] = record{data: append([]byte(nil), data...), version: version + 1}
	return nil
}

// ErrVersionConflict means another writer saved the record since it was
// loaded.
var ErrVersionConflict = errors.New("version conflict")
