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
	claims  map[string]claim
	records map[string]record
}

type claim struct {
	owner   string
	expires time.Time
}

type record struct {
	data    []byte
	version int64
}

// New returns an empty store whose claims expire by c.
func New(c clock.Clock) *Store {
	return &Store{clock: c, claims: map[string]claim{}, records: map[string]record{}}
}

// Claim records key for owner unless a live claim of another owner holds
// it; it reports whether owner holds it. The owner of a claim may claim it
// again, extending it.
func (s *Store) Claim(_ context.Context, key, owner string, ttl time.Duration) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock.Now()
	if c, ok := s.claims[key]; ok && now.Before(c.expires) && c.owner != owner {
		return false, nil
	}
	s.claims[key] = claim{owner: owner, expires: now.Add(ttl)}
	return true, nil
}

// Release drops owner's claim on key; another owner's is left as it is.
func (s *Store) Release(_ context.Context, key, owner string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.claims[key]; ok && c.owner == owner {
		delete(s.claims, key)
	}
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
