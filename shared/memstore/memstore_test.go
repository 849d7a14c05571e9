package memstore_test

import (
	"errors"
	"testing"
	"time"

	"github.com/stampkit/stampkit/shared/clock"
	"github.com/stampkit/stampkit/shared/memstore"
)

func TestClaimExpiresAndReleases(t *testing.T) {
	clk := clock.NewManual(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	s := memstore.New(clk)
	ctx := t.Context()
	steps := []struct {
		name    string
		advance time.Duration
		release string // the owner releasing before the claim
		owner   string
		want    bool
	}{
		{name: "first claim wins", owner: "a", want: true},
		{name: "second claim loses", owner: "b", want: false},
		{name: "its owner claims again", owner: "a", want: true},
		{name: "claim after expiry wins", advance: time.Hour, owner: "b", want: true},
		{name: "release by another owner keeps it", release: "a", owner: "a", want: false},
		{name: "claim after release wins", release: "b", owner: "a", want: true},
	}
	for _, st := range steps {
		clk.Add(st.advance)
		if st.release != "" {
			if err := s.Release(ctx, "k", st.release); err != nil {
				t.Fatalf("%s: Release: %v", st.name, err)
			}
		}
		got, err := s.Claim(ctx, "k", st.owner, time.Minute)
		if err != nil || got != st.want {
			t.Errorf("%s: Claim = %v, %v; want %v", st.name, got, err, st.want)
		}
	}
}

func TestSaveIsOptimistic(t *testing.T) {
	s := memstore.New(clock.NewManual(time.Time{}))
	ctx := t.Context()
	if _, v, _ := s.Load(ctx, "r"); v != 0 {
		t.Fatalf("absent record version = %d, want 0", v)
	}
	if err := s.Save(ctx, "r", []byte("a"), 0); err != nil {
		t.Fatalf("first Save: %v", err)
	}
	if err := s.Save(ctx, "r", []byte("b"), 0); !errors.Is(err, memstore.ErrVersionConflict) {
		t.Errorf("stale Save = %v, want ErrVersionConflict", err)
	}
	data, v, _ := s.Load(ctx, "r")
	if string(data) != "a" || v != 1 {
		t.Errorf("Load = %q v%d, want \"a\" v1", data, v)
	}
}
