package twin_test

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/stampkit/stampkit/shared/rollout"
	"github.com/stampkit/stampkit/shared/twin"
	"github.com/stampkit/stampkit/shared/twin/suite"
)

// rolloutEvent returns the first timeline event named what.
func rolloutEvent(r *twin.Result, what string) (twin.RolloutEvent, bool) {
	for _, e := range r.Rollout {
		if e.What == what {
			return e, true
		}
	}
	return twin.RolloutEvent{}, false
}

// TestBlueGreenRollout rolls a good image out blue/green through the real
// rollout handler, under the stampkit scaler and under target tracking:
// the listener's weights move only in the policy's steps, one bake apart,
// and always sum to 100; the old group ends empty and the new one serves
// everything on the new image; the stampkit scaler scales the serving
// group, which the rollout record names.
func TestBlueGreenRollout(t *testing.T) {
	cfg := twin.DefaultConfig()
	bg := twin.BlueGreenPolicy(cfg).BlueGreen
	peer := twin.PeerGroup(cfg)
	for _, pn := range []string{suite.Stampkit, suite.TargetTracking} {
		t.Run(pn, func(t *testing.T) {
			sc := scenario(t, cfg, suite.BlueGreen, 5, 1)
			r := run(t, cfg, sc, policy(t, cfg, pn))

			done, ok := rolloutEvent(r, twin.RolloutPhase+"done")
			if !ok || !strings.Contains(done.Detail, string(rollout.Succeeded)) {
				t.Fatalf("rollout did not succeed: %v", r.Rollout)
			}
			promoted, ok := rolloutEvent(r, twin.RolloutPhase+"retain")
			if !ok {
				t.Fatalf("never promoted: %v", r.Rollout)
			}

			var peers []int
			for i, w := range r.Weights {
				if w.Group+w.Peer != 100 {
					t.Errorf("weights %d + %d at %v, want a sum of 100", w.Group, w.Peer, w.At)
				}
				peers = append(peers, w.Peer)
				if i > 1 {
					if gap := w.At.Sub(r.Weights[i-1].At); gap < bg.Bake.Std() {
						t.Errorf("weights moved %v after the last move, want at least the bake (%v)", gap, bg.Bake.Std())
					}
				}
			}
			if want := append([]int{0}, bg.Steps...); !slices.Equal(peers, want) {
				t.Errorf("weights to %s went %v, want %v (as deployed, then the handler's steps)", peer, peers, want)
			}

			last := r.Samples[len(r.Samples)-1]
			if last.PeerOffered != last.Offered || last.PeerHealthy != last.Healthy || last.Healthy == 0 {
				t.Errorf("last step: %d of %d requests and %d of %d healthy targets on %s, want all", last.PeerOffered, last.Offered, last.PeerHealthy, last.Healthy, peer)
			}
			want := []twin.GroupEnd{
				{Name: cfg.Group, Version: "1", Desired: 0, Images: map[string]int{}},
				{Name: peer, Version: "2", Desired: r.Groups[1].Desired, Images: map[string]int{twin.ImageV2: r.Groups[1].Desired}},
			}
			if d := cmp.Diff(want, r.Groups); d != "" {
				t.Errorf("groups at the end (-want +got):\n%s", d)
			}
			if r.ImageParameter != twin.ImageV2 || r.DefaultVersion != 2 {
				t.Errorf("image parameter %s, default version %d; want %s, 2", r.ImageParameter, r.DefaultVersion, twin.ImageV2)
			}

			if pn != suite.Stampkit {
				return
			}
			var before, after int
			for _, e := range r.Scaling {
				if e.By != suite.Stampkit {
					continue
				}
				serving := cfg.Group
				if !e.At.Before(promoted.At) {
					serving = peer
				}
				if e.Group != serving {
					t.Errorf("%s: the scaler scaled %s, want the serving group %s", e.At.Format("15:04:05"), e.Group, serving)
				}
				if e.At.Before(promoted.At) {
					before++
				} else {
					after++
				}
			}
			if before == 0 || after == 0 {
				t.Errorf("the scaler scaled %d times before the promotion and %d after; the test needs both", before, after)
			}
		})
	}
}

// TestBlueGreenConservation checks that the listener's split loses and
// doubles nothing: every request goes to exactly one group, each group
// serves no more than its healthy targets can (unless it failed open),
// every request not served is a target or a load balancer 5XX, and over
// each period of constant weights the peer gets its weight's share to
// within a request, whether its targets are healthy or not.
func TestBlueGreenConservation(t *testing.T) {
	cfg := twin.DefaultConfig()
	perTarget := int64(math.Floor(cfg.InstanceCapacity * cfg.Step.Seconds()))
	for _, sn := range []string{suite.BlueGreen, suite.BadGreen, suite.GreenCrash, suite.AbortInRetention} {
		t.Run(sn, func(t *testing.T) {
			sc := scenario(t, cfg, sn, 3, 3)
			r := run(t, cfg, sc, policy(t, cfg, suite.Stampkit))
			if len(r.Weights) < 3 {
				t.Fatalf("weights changed %d times; the split was not exercised", len(r.Weights)-1)
			}
			var offered, served, dropped int64
			// weight is the peer's weight for the step starting at i: the
			// listener changes between steps.
			w := 0
			var spanOffered, spanPeer int64
			check := func(i int) {
				want := float64(spanOffered) * float64(w) / 100
				if math.Abs(float64(spanPeer)-want) > 1 {
					t.Errorf("before step %d: the peer got %d of %d requests at weight %d, want %.1f", i, spanPeer, spanOffered, w, want)
				}
				spanOffered, spanPeer = 0, 0
			}
			k := 1
			for i, s := range r.Samples {
				if k < len(r.Weights) && !r.Time(i).Before(r.Weights[k].At) {
					check(i)
					w = r.Weights[k].Peer
					k++
				}
				if s.Served+s.Dropped != s.Offered || s.Dropped != s.TargetErrors+s.ELBErrors {
					t.Fatalf("step %d: served %d + dropped %d (target %d + load balancer %d 5XX), want offered %d", i, s.Served, s.Dropped, s.TargetErrors, s.ELBErrors, s.Offered)
				}
				if s.PeerServed > s.PeerOffered || s.PeerOffered > s.Offered || s.PeerHealthy > s.Healthy {
					t.Fatalf("step %d: peer offered %d served %d healthy %d of %d/%d/%d", i, s.PeerOffered, s.PeerServed, s.PeerHealthy, s.Offered, s.Served, s.Healthy)
				}
				if !s.FailOpen && (s.PeerServed > int64(s.PeerHealthy)*perTarget || s.Served-s.PeerServed > int64(s.Healthy-s.PeerHealthy)*perTarget) {
					t.Fatalf("step %d: a group served more than its healthy targets can", i)
				}
				spanOffered += s.Offered
				spanPeer += s.PeerOffered
				offered += s.Offered
				served += s.Served
				dropped += s.Dropped
			}
			check(len(r.Samples))
			checkTotals(t, cfg, sc, r, offered, served, dropped)
		})
	}
}

// TestBlueGreenDeterminism runs blue/green rollouts twice on one seed: a
// good image under every policy, and under the stampkit scaler one that
// crashes and one an operator aborts.
func TestBlueGreenDeterminism(t *testing.T) {
	cfg := twin.DefaultConfig()
	jobs := [][2]string{{suite.GreenCrash, suite.Stampkit}, {suite.AbortInRetention, suite.Stampkit}}
	for _, pn := range suite.PolicyNames() {
		jobs = append(jobs, [2]string{suite.BlueGreen, pn})
	}
	for _, j := range jobs {
		t.Run(j[0]+"/"+j[1], func(t *testing.T) {
			sn, pn := j[0], j[1]
			sc := scenario(t, cfg, sn, 3, 1)
			a := run(t, cfg, sc, policy(t, cfg, pn))
			b := run(t, cfg, sc, policy(t, cfg, pn))
			if len(a.Weights) < 2 {
				t.Fatal("no weights moved: the blue/green path was not run")
			}
			if d := cmp.Diff(a, b); d != "" {
				t.Errorf("two runs on one seed differ (-first +second):\n%s", d)
			}
		})
	}
}

// TestBadImageRollsBack rolls a faulty image out with each strategy: the
// fleet's health alarm fires while the new image takes traffic; the
// instance refresh rolls itself back (rolling) or the handler shifts the
// weights back during the bake (blue/green); and the fleet ends on the
// old image and launch template version, the parameter restored.
func TestBadImageRollsBack(t *testing.T) {
	cfg := twin.DefaultConfig()
	peer := twin.PeerGroup(cfg)
	tests := []struct {
		name string
		// wantEvents must appear on the timeline in this order.
		wantEvents []string
	}{
		{name: suite.BadImage, wantEvents: []string{"image built", "refresh started", twin.RefreshRollback, "refresh finished", twin.RolloutPhase + "revert", twin.RolloutPhase + "done"}},
		{name: suite.BadGreen, wantEvents: []string{"image built", twin.RolloutPhase + "shift", twin.WeightsSet, twin.RolloutPhase + "done", twin.WeightsSet}},
	}
	for _, tt := range tests {
		for _, pn := range []string{suite.Stampkit, suite.TargetTracking} {
			t.Run(tt.name+"/"+pn, func(t *testing.T) {
				sc := scenario(t, cfg, tt.name, 5, 1)
				r := run(t, cfg, sc, policy(t, cfg, pn))
				var what []string
				for _, e := range r.Rollout {
					what = append(what, e.What)
				}
				rest := what
				for _, w := range tt.wantEvents {
					i := slices.Index(rest, w)
					if i < 0 {
						t.Fatalf("timeline %v lacks %q in order %v", what, w, tt.wantEvents)
					}
					rest = rest[i+1:]
				}
				done, _ := rolloutEvent(r, twin.RolloutPhase+"done")
				if !strings.Contains(done.Detail, string(rollout.RolledBack)) {
					t.Errorf("rollout ended %q, want rolled back", done.Detail)
				}
				fired := false
				for _, a := range r.Alarms {
					fired = fired || (a.Alarm == twin.HealthAlarm(cfg) && a.To == rollout.AlarmFiring && a.At.Before(done.At))
				}
				if !fired {
					t.Error("the health alarm never fired before the rollback")
				}
				for _, g := range r.Groups {
					if n := g.Images[twin.ImageV2]; n > 0 {
						t.Errorf("group %s ends with %d instances on the bad image, want none", g.Name, n)
					}
					// The emptied peer keeps naming the new version (the
					// handler's restore leaves it; the next rollout sets
					// it); the serving group must be back on version 1.
					switch {
					case g.Name == peer && (g.Desired != 0 || len(g.Images) != 0):
						t.Errorf("the peer ends at desired %d with %v, want empty", g.Desired, g.Images)
					case g.Name != peer && g.Version != "1":
						t.Errorf("group %s ends on version %s, want 1", g.Name, g.Version)
					}
				}
				if r.Groups[0].Images[twin.ImageV1] == 0 {
					t.Errorf("group %s ends with no instance on the old image", cfg.Group)
				}
				if r.ImageParameter != twin.ImageV1 || r.DefaultVersion != 1 {
					t.Errorf("image parameter %s, default version %d; want %s, 1", r.ImageParameter, r.DefaultVersion, twin.ImageV1)
				}
				if n := len(r.Weights); n > 0 && (r.Weights[n-1].Group != 100 || r.Weights[n-1].Peer != 0) {
					t.Errorf("weights end at %+v, want all on %s", r.Weights[n-1], cfg.Group)
				}
			})
		}
	}
}
