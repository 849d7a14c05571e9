package twin

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/stampkit/stampkit/shared/invocation"
	"github.com/stampkit/stampkit/shared/memstore"
	"github.com/stampkit/stampkit/shared/scaling"
	"github.com/stampkit/stampkit/shared/stamper"
)

// stateStore is the state table (DynamoDB in AWS) as the handlers reach
// it: through the chaos, with claims that expire on whole seconds, as the
// dynamo adapter's epoch-second TTL attribute keeps them.
type stateStore struct {
	s    *sim
	next *memstore.Store
}

func (s *sim) store(m *memstore.Store) stateStore { return stateStore{s: s, next: m} }

// isLease reports whether key is a fleet's lease (invocation.Lease)
// rather than the claim of an effect (invocation.Once).
func isLease(key string) bool {
	return strings.HasPrefix(key, scaling.LeaseKey("")) || strings.HasPrefix(key, stamper.LeaseKey(""))
}

// Claim claims key for owner. invocation.Once and Lease ask for claims
// that last as long as the invocation can run, reading it off the
// invocation's wall-clock deadline; rounded to the second, the same run
// gives the same expiries.
func (st stateStore) Claim(ctx context.Context, key, owner string, ttl time.Duration) (bool, error) {
	ttl = ttl.Round(time.Second)
	ok, err := callValue(st.s, ctx, svcDynamoDB, "PutItem", true, func() (bool, error) {
		return st.next.Claim(ctx, key, owner, ttl)
	})
	switch {
	case err != nil:
		return false, err
	case ok && !isLease(key) && st.s.inv != nil:
		// What the invocation changes next, it changes for this claim.
		st.s.inv.claim = key
	case !ok && isLease(key):
		// The twin runs one invocation at a time: a lease held is one an
		// invocation left behind when its release failed, until it
		// expires. invocation.Lease would poll it for its wait, in
		// wall-clock time the virtual clock does not share, then give up
		// with ErrBusy; the twin gives up at once, as it would end.
		return false, fmt.Errorf("lease %s held by an earlier invocation: %w", key, invocation.ErrBusy)
	}
	return ok, nil
}

// Release drops owner's claim on key.
func (st stateStore) Release(ctx context.Context, key, owner string) error {
	return st.s.call(ctx, svcDynamoDB, "DeleteItem", true, func() error { return st.next.Release(ctx, key, owner) })
}

// Load reads a record.
func (st stateStore) Load(ctx context.Context, key string) ([]byte, int64, error) {
	type loaded struct {
		data    []byte
		version int64
	}
	r, err := callValue(st.s, ctx, svcDynamoDB, "GetItem", false, func() (loaded, error) {
		data, version, err := st.next.Load(ctx, key)
		return loaded{data, version}, err
	})
	return r.data, r.version, err
}

// Save writes a record at version.
func (st stateStore) Save(ctx context.Context, key string, data []byte, version int64) error {
	return st.s.call(ctx, svcDynamoDB, "PutItem", true, func() error { return st.next.Save(ctx, key, data, version) })
}
