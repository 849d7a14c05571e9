package dynamo_test

import (
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/google/go-cmp/cmp"

	"github.com/stampkit/stampkit/shared/awserr"
	"github.com/stampkit/stampkit/shared/awstest"
	"github.com/stampkit/stampkit/shared/awstest/awsproxy"
	"github.com/stampkit/stampkit/shared/dynamo"
)

var emu = awstest.New()

func TestMain(m *testing.M) { os.Exit(emu.Run(m)) }

// clock is a settable clock for dynamo.WithClock.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func newStore(t *testing.T) (*dynamo.Store, *clock) {
	t.Helper()
	cfg := emu.Fresh(t)
	c := dynamodb.NewFromConfig(cfg)
	awstest.NewTable(t, cfg, "stampkit-state")
	clk := &clock{t: time.Now().Truncate(time.Second)}
	return dynamo.New(c, "stampkit-state", dynamo.WithClock(clk.now)), clk
}

func TestClaimEmulator(t *testing.T) {
	s, clk := newStore(t)
	ctx := t.Context()
	claim := func(key, owner string, want bool) {
		t.Helper()
		got, err := s.Claim(ctx, key, owner, time.Minute)
		if err != nil {
			t.Fatalf("Claim(%s, %s): %v", key, owner, err)
		}
		if got != want {
			t.Errorf("Claim(%s, %s) at %s: got %v, want %v", key, owner, clk.t.Format(time.TimeOnly), got, want)
		}
	}
	claim("claim#evt-1", "a", true)
	claim("claim#evt-1", "b", false) // the duplicate delivery
	claim("claim#evt-1", "a", true)  // its owner again: the SDK retrying a write that landed
	claim("claim#evt-2", "b", true)  // another event

	clk.t = clk.t.Add(59 * time.Second)
	claim("claim#evt-1", "b", false) // still held
	clk.t = clk.t.Add(time.Second)
	claim("claim#evt-1", "b", true) // expired, TTL deletion not run yet

	// Only the owner releases.
	claim("claim#evt-3", "b", true)
	if err := s.Release(ctx, "claim#evt-3", "a"); err != nil {
		t.Fatalf("Release by another owner: %v", err)
	}
	claim("claim#evt-3", "a", false)
	if err := s.Release(ctx, "claim#evt-3", "b"); err != nil {
		t.Fatalf("Release: %v", err)
	}
	claim("claim#evt-3", "a", true)
	if err := s.Release(ctx, "claim#never", "a"); err != nil {
		t.Errorf("Release(missing): got %v, want nil", err)
	}
}

func TestOptimisticLockEmulator(t *testing.T) {
	s, clk := newStore(t)
	ctx := t.Context()
	key := "rollout#web"

	if _, ok, err := s.Get(ctx, key); ok || err != nil {
		t.Fatalf("Get(missing): got ok=%v, %v, want false, nil", ok, err)
	}
	exp := clk.t.Add(time.Hour)
	if err := s.Put(ctx, key, dynamo.Record{Data: []byte(`{"phase":"bake"}`), ExpiresAt: exp}, 0); err != nil {
		t.Fatalf("Put(create): %v", err)
	}
	got, ok, err := s.Get(ctx, key)
	if err != nil || !ok {
		t.Fatalf("Get: got ok=%v, %v, want the record", ok, err)
	}
	want := dynamo.Record{Key: key, Version: 1, Data: []byte(`{"phase":"bake"}`), ExpiresAt: exp.UTC()}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Get after create (-want +got):\n%s", diff)
	}

	if err := s.Put(ctx, key, dynamo.Record{Data: []byte(`{"phase":"shift"}`)}, 1); err != nil {
		t.Fatalf("Put(version 1): %v", err)
	}
	// A writer still holding version 1, and a second create, both lose.
	for _, expected := range []int64{1, 0, 5} {
		err := s.Put(ctx, key, dynamo.Record{Data: []byte(`{"phase":"stale"}`)}, expected)
		if !errors.Is(err, dynamo.ErrVersionConflict) {
			t.Errorf("Put(stale version %d): got %v, want dynamo.ErrVersionConflict", expected, err)
		}
	}
	got, _, err = s.Get(ctx, key)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	want = dynamo.Record{Key: key, Version: 2, Data: []byte(`{"phase":"shift"}`)}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Get after conflicts (-want +got):\n%s", diff)
	}
}

func TestExpiredRecordEmulator(t *testing.T) {
	s, clk := newStore(t)
	ctx := t.Context()
	key := "cooldown#web"
	if err := s.Put(ctx, key, dynamo.Record{Data: []byte(`{}`), ExpiresAt: clk.t.Add(5 * time.Minute)}, 0); err != nil {
		t.Fatalf("Put: %v", err)
	}
	clk.t = clk.t.Add(5 * time.Minute)
	if _, ok, err := s.Get(ctx, key); ok || err != nil {
		t.Errorf("Get(expired): got ok=%v, %v, want false, nil", ok, err)
	}
	// Expired counts as absent for a create, too.
	if err := s.Put(ctx, key, dynamo.Record{Data: []byte(`{"n":2}`)}, 0); err != nil {
		t.Fatalf("Put(create over expired): %v", err)
	}
	got, ok, err := s.Get(ctx, key)
	if err != nil || !ok || got.Version != 1 || string(got.Data) != `{"n":2}` {
		t.Errorf("Get: got %+v, ok=%v, %v, want version 1 with the new data", got, ok, err)
	}
}

func TestMissingTableEmulator(t *testing.T) {
	cfg := emu.Fresh(t)
	s := dynamo.New(dynamodb.NewFromConfig(cfg), "no-such-table")
	_, err := s.Claim(t.Context(), "k", "owner-1", time.Minute)
	if !awserr.IsNotFound(err) {
		t.Errorf("Claim(missing table): got %v (code %q), want a not-found error", err, awserr.Code(err))
	}
}

// Load and Save are the handlers' view of the store: data and version, with
// records optionally expiring a fixed time after each write.
func TestLoadSaveEmulator(t *testing.T) {
	cfg := emu.Fresh(t)
	awstest.NewTable(t, cfg, "stampkit-state")
	clk := &clock{t: time.Now().Truncate(time.Second)}
	s := dynamo.New(dynamodb.NewFromConfig(cfg), "stampkit-state", dynamo.WithClock(clk.now), dynamo.WithRecordTTL(time.Hour))
	ctx := t.Context()

	if data, v, err := s.Load(ctx, "r"); err != nil || data != nil || v != 0 {
		t.Fatalf("Load(missing) = %q, %d, %v; want nil, 0, nil", data, v, err)
	}
	if err := s.Save(ctx, "r", []byte(`{"n":1}`), 0); err != nil {
		t.Fatalf("Save: %v", err)
	}
	if err := s.Save(ctx, "r", []byte(`{"n":2}`), 0); !errors.Is(err, dynamo.ErrVersionConflict) {
		t.Errorf("Save at a stale version = %v, want ErrVersionConflict", err)
	}
	data, v, err := s.Load(ctx, "r")
	if err != nil || string(data) != `{"n":1}` || v != 1 {
		t.Errorf("Load = %q, %d, %v; want {\"n\":1}, 1, nil", data, v, err)
	}
	clk.t = clk.t.Add(time.Hour + time.Second)
	if data, v, err := s.Load(ctx, "r"); err != nil || data != nil || v != 0 {
		t.Errorf("Load after the record TTL = %q, %d, %v; want it gone", data, v, err)
	}
}

// TestSaveWhoseAnswerWasLostEmulator: DynamoDB applied the write, the
// answer never came, and the SDK's retry met its own write as a failed
// condition. That is a save that happened, not a conflict: reported as a
// conflict it failed the invocation for an effect already done.
func TestSaveWhoseAnswerWasLostEmulator(t *testing.T) {
	cfg := emu.Fresh(t)
	awstest.NewTable(t, cfg, "stampkit-state")
	s := dynamo.New(dynamodb.NewFromConfig(cfg), "stampkit-state")
	ctx := t.Context()
	if err := s.Save(ctx, "r", []byte(`{"n":1}`), 0); err != nil {
		t.Fatalf("Save: %v", err)
	}
	emu.Proxy(t).Fail(awsproxy.Call{Service: awsproxy.DynamoDB, Operation: "PutItem", Nth: 1}, awsproxy.DropResponse)
	if err := s.Save(ctx, "r", []byte(`{"n":2}`), 1); err != nil {
		t.Fatalf("Save whose first answer was lost: %v", err)
	}
	if n := emu.Proxy(t).Count(awsproxy.DynamoDB, "PutItem"); n < 3 {
		t.Fatalf("PutItem attempts: %d, want the lost one and its retry after the first save", n)
	}
	// A real conflict is still one.
	if err := s.Save(ctx, "r", []byte(`{"n":3}`), 1); !errors.Is(err, dynamo.ErrVersionConflict) {
		t.Errorf("Save at a stale version = %v, want ErrVersionConflict", err)
	}
	if data, v, err := s.Load(ctx, "r"); err != nil || string(data) != `{"n":2}` || v != 2 {
		t.Errorf("Load = %q, %d, %v; want {\"n\":2}, 2", data, v, err)
	}
}

// Scan lists the live records under a prefix: other prefixes, claims and
// expired records stay out.
func TestScanEmulator(t *testing.T) {
	s, clk := newStore(t)
	ctx := t.Context()
	for _, key := range []string{"scaler#web", "scaler#api", "scaler-lease#web", "rollout#web"} {
		if err := s.Put(ctx, key, dynamo.Record{Data: []byte(`{"k":"` + key + `"}`)}, 0); err != nil {
			t.Fatalf("Put(%s): %v", key, err)
		}
	}
	if err := s.Put(ctx, "scaler#old", dynamo.Record{Data: []byte(`{}`), ExpiresAt: clk.t.Add(time.Minute)}, 0); err != nil {
		t.Fatalf("Put(scaler#old): %v", err)
	}
	if _, err := s.Claim(ctx, "scaler#claim", "a", time.Minute); err != nil {
		t.Fatalf("Claim: %v", err)
	}
	clk.t = clk.t.Add(2 * time.Minute) // scaler#old and the claim expire

	got, err := s.Scan(ctx, "scaler#")
	if err != nil {
		t.Fatalf("Scan: %v", err)
	}
	slices.SortFunc(got, func(a, b dynamo.Record) int { return strings.Compare(a.Key, b.Key) })
	want := []dynamo.Record{
		{Key: "scaler#api", Version: 1, Data: []byte(`{"k":"scaler#api"}`)},
		{Key: "scaler#web", Version: 1, Data: []byte(`{"k":"scaler#web"}`)},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Scan(scaler#) (-want +got):\n%s", diff)
	}
	if got, err := s.Scan(ctx, "nothing#"); err != nil || len(got) != 0 {
		t.Errorf("Scan(nothing#): got %v, %v, want none", got, err)
	}
}
