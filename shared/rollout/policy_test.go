package rollout_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/stampkit/stampkit/shared/clock"
	"github.com/stampkit/stampkit/shared/rollout"
)

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		policy rollout.Policy
		want   []string // substrings, one per expected problem; none means valid
	}{
		{name: "zero policy is off and valid", policy: rollout.Policy{}},
		{name: "rolling", policy: rollingPolicy()},
		{name: "blue/green", policy: blueGreenPolicy()},
		{
			name: "rolling zero minimum is valid",
			policy: rollout.Policy{Strategy: rollout.StrategyRolling, Parameter: "/p", Rolling: rollout.Rolling{
				MinHealthyPercentage: new(0), MaxHealthyPercentage: new(100),
			}},
		},
		{
			name:   "unknown strategy and rule",
			policy: rollout.Policy{Strategy: "canary", OnNewer: "drop", Parameter: "/p"},
			want:   []string{`strategy: "canary"`, `onNewer: "drop"`},
		},
		{
			name:   "parameter required",
			policy: rollout.Policy{Strategy: rollout.StrategyRolling},
			want:   []string{"parameter: is empty"},
		},
		{
			name: "rolling percentages and checkpoints",
			policy: rollout.Policy{Strategy: rollout.StrategyRolling, Parameter: "/p", Rolling: rollout.Rolling{
				MinHealthyPercentage: new(101), MaxHealthyPercentage: new(99), Checkpoints: []int{50, 40},
			}},
			want: []string{"minHealthyPercentage: 101", "maxHealthyPercentage: 99", "checkpoints: 40 does not increase"},
		},
		{
			name: "rolling maximum without a minimum",
			policy: rollout.Policy{Strategy: rollout.StrategyRolling, Parameter: "/p", Rolling: rollout.Rolling{
				MaxHealthyPercentage: new(200),
			}},
			want: []string{"maxHealthyPercentage: set without rolling.minHealthyPercentage"},
		},
		{
			name: "rolling spread too wide",
			policy: rollout.Policy{Strategy: rollout.StrategyRolling, Parameter: "/p", Rolling: rollout.Rolling{
				MinHealthyPercentage: new(50), MaxHealthyPercentage: new(200),
			}},
			want: []string{"more than 100 points"},
		},
		{
			name:   "blue/green needs its listener and groups",
			policy: rollout.Policy{Strategy: rollout.StrategyBlueGreen, Parameter: "/p"},
			want:   []string{"blueGreen.listener", "blueGreen.peerGroup", "blueGreen.peerTargetGroup", "blueGreen.targetGroup"},
		},
		{
			name: "blue/green with its ARNs in a parameter",
			policy: func() rollout.Policy {
				p := blueGreenPolicy()
				p.BlueGreen.ResourcesParameter = "/stampkit/web/blue-green-resources"
				p.BlueGreen.Listener, p.BlueGreen.TargetGroup, p.BlueGreen.PeerTargetGroup = "", "", ""
				return p
			}(),
		},
		{
			name: "blue/green with its ARNs both given and in a parameter",
			policy: func() rollout.Policy {
				p := blueGreenPolicy()
				p.BlueGreen.ResourcesParameter = "/stampkit/web/blue-green-resources"
				p.BlueGreen.TargetGroup = ""
				return p
			}(),
			want: []string{"blueGreen.listener: set beside blueGreen.resourcesParameter", "blueGreen.peerTargetGroup: set beside blueGreen.resourcesParameter"},
		},
		{
			name: "blue/green steps must end at 100",
			policy: func() rollout.Policy {
				p := blueGreenPolicy()
				p.BlueGreen.Steps = []int{10, 50}
				return p
			}(),
			want: []string{"blueGreen.steps: the last must be 100"},
		},
		{
			name: "blue/green same target group twice",
			policy: func() rollout.Policy {
				p := blueGreenPolicy()
				p.BlueGreen.PeerTargetGroup = p.BlueGreen.TargetGroup
				return p
			}(),
			want: []string{"same as targetGroup"},
		},
		{
			name: "negative durations and bad architecture",
			policy: func() rollout.Policy {
				p := blueGreenPolicy()
				p.BlueGreen.Bake = clock.Duration(-time.Second)
				p.Checks.Architecture = "sparc"
				p.Checks.RequiredTags = []string{""}
				return p
			}(),
			want: []string{"blueGreen.bake: -1s is negative", `"sparc" is not an EC2 architecture`, "requiredTags[0]: is empty"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.policy.Validate()
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("Validate: got %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate: got nil, want errors containing %q", tt.want)
			}
			lines := strings.Split(err.Error(), "\n")
			if len(lines) != len(tt.want) {
				t.Errorf("Validate: got %d problems %q, want %d", len(lines), lines, len(tt.want))
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Validate: got %q, want it to mention %q", err, w)
				}
			}
		})
	}
}

func TestMatches(t *testing.T) {
	p := rollingPolicy()
	p.Match = rollout.Match{Tags: map[string]string{"app": "web", "env": "prod"}}
	tests := []struct {
		name   string
		policy rollout.Policy
		img    rollout.Image
		want   bool
	}{
		{name: "fleet tag", policy: p, img: rollout.Image{Tags: map[string]string{rollout.FleetTag: "web"}}, want: true},
		{name: "fleet tag of another fleet", policy: p, img: rollout.Image{Tags: map[string]string{rollout.FleetTag: "api"}}},
		{name: "built by a pipeline, untagged", policy: p, img: rollout.Image{Source: "arn:aws:imagebuilder:us-east-1:111122223333:image/web/1.0.0/1"}},
		{name: "all match tags", policy: p, img: rollout.Image{Tags: map[string]string{"app": "web", "env": "prod", "x": "y"}}, want: true},
		{name: "one match tag differs", policy: p, img: rollout.Image{Tags: map[string]string{"app": "web", "env": "dev"}}},
		{name: "no match tags configured", policy: rollingPolicy(), img: rollout.Image{Tags: map[string]string{"app": "web"}}},
		{name: "rollouts off", policy: rollout.Policy{}, img: rollout.Image{Tags: map[string]string{rollout.FleetTag: "web"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.policy.Matches("web", tt.img); got != tt.want {
				t.Errorf("Matches: got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestSides(t *testing.T) {
	bg := blueGreenPolicy()
	blue := rollout.Side{Group: "web-blue", TargetGroup: "tg-blue"}
	green := rollout.Side{Group: "web-green", TargetGroup: "tg-green"}
	tests := []struct {
		name     string
		policy   rollout.Policy
		live     string
		from, to rollout.Side
	}{
		{name: "blue/green first rollout", policy: bg, from: blue, to: green},
		{name: "blue/green after a swap", policy: bg, live: "web-green", from: green, to: blue},
		{name: "blue/green live is the configured group", policy: bg, live: "web-blue", from: blue, to: green},
		{name: "rolling", policy: rollingPolicy(), from: rollout.Side{Group: "web-blue"}, to: rollout.Side{Group: "web-blue"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			from, to := tt.policy.Sides("web-blue", tt.live)
			if diff := cmp.Diff([]rollout.Side{tt.from, tt.to}, []rollout.Side{from, to}); diff != "" {
				t.Errorf("Sides (-want +got):\n%s", diff)
			}
		})
	}
}

func TestArchitectureOf(t *testing.T) {
	tests := map[string]string{
		"t4g.micro": "arm64", "c7gn.large": "arm64", "m6gd.xlarge": "arm64", "is4gen.large": "arm64",
		"im4gn.large": "arm64", "g5g.xlarge": "arm64", "hpc7g.4xlarge": "arm64", "a1.medium": "arm64", "x2gd.large": "arm64",
		"t3.micro": "x86_64", "m7i.large": "x86_64", "g5.xlarge": "x86_64", "g4ad.xlarge": "x86_64", "c7i-flex.large": "x86_64",
		"u-6tb1.metal": "x86_64", "inf2.xlarge": "x86_64", "mac1.metal": "x86_64_mac", "mac2-m2pro.metal": "arm64_mac",
		"": "", "large": "", "t.micro": "",
	}
	for in, want := range tests {
		t.Run(in, func(t *testing.T) {
			if got := rollout.ArchitectureOf(in); got != want {
				t.Errorf("ArchitectureOf(%q): got %q, want %q", in, got, want)
			}
		})
	}
}

func TestCheck(t *testing.T) {
	old := rollout.Image{ID: "ami-old", Created: t0.Add(-24 * time.Hour)}
	good := func() rollout.Image {
		return rollout.Image{
			ID: "ami-new", State: "available", Architecture: "arm64", Created: t0, RootEncrypted: true,
			Tags: map[string]string{"commit": "abc"},
		}
	}
	p := rollingPolicy()
	p.Checks.RequiredTags = []string{"commit"}
	cur := rollout.Current{Image: &old, InstanceType: "t4g.micro"}
	with := func(f func(*rollout.Image)) rollout.Image {
		img := good()
		f(&img)
		return img
	}
	tests := []struct {
		name   string
		policy rollout.Policy
		img    rollout.Image
		cur    rollout.Current
		want   []string
	}{
		{name: "good image", policy: p, img: good(), cur: cur},
		{name: "pending", policy: p, img: with(func(i *rollout.Image) { i.State = "pending" }), cur: cur, want: []string{`image is "pending"`}},
		{
			name: "x86 image for a Graviton fleet", policy: p, img: with(func(i *rollout.Image) { i.Architecture = "x86_64" }), cur: cur,
			want: []string{`architecture "x86_64" does not fit "arm64" (instance type t4g.micro)`},
		},
		{
			name: "architecture from the policy wins", policy: func() rollout.Policy { q := p; q.Checks.Architecture = "x86_64"; return q }(),
			img: good(), cur: cur, want: []string{`does not fit "x86_64" (checks.architecture)`},
		},
		{name: "unknown instance type skips the architecture", policy: p, img: with(func(i *rollout.Image) { i.Architecture = "x86_64" }), cur: rollout.Current{Image: &old}},
		{name: "unencrypted root", policy: p, img: with(func(i *rollout.Image) { i.RootEncrypted = false }), cur: cur, want: []string{"root volume is not encrypted"}},
		{
			name: "unencrypted root allowed", policy: func() rollout.Policy { q := p; q.Checks.AllowUnencryptedRoot = true; return q }(),
			img: with(func(i *rollout.Image) { i.RootEncrypted = false }), cur: cur,
		},
		{name: "required tag missing", policy: p, img: with(func(i *rollout.Image) { i.Tags = nil }), cur: cur, want: []string{`required tag "commit" is missing`}},
		{name: "same as current", policy: p, img: with(func(i *rollout.Image) { i.ID = "ami-old" }), cur: cur, want: []string{"already the fleet's image"}},
		{
			name: "older than current", policy: p, img: with(func(i *rollout.Image) { i.Created = old.Created.Add(-time.Hour) }), cur: cur,
			want: []string{"before the current image ami-old"},
		},
		{
			name: "older but forced", policy: p, cur: cur,
			img: with(func(i *rollout.Image) { i.Created = old.Created.Add(-time.Hour); i.Tags[rollout.ForceTag] = "true" }),
		},
		{
			name: "older but allowed", policy: func() rollout.Policy { q := p; q.Checks.AllowOlder = true; return q }(), cur: cur,
			img: with(func(i *rollout.Image) { i.Created = old.Created.Add(-time.Hour) }),
		},
		{name: "current unknown", policy: p, img: good(), cur: rollout.Current{InstanceType: "t4g.micro"}},
		{
			name: "every problem at once", policy: p, cur: cur,
			img:  rollout.Image{ID: "ami-bad", State: "failed", Architecture: "x86_64", Created: old.Created.Add(-time.Hour)},
			want: []string{"image is", "architecture", "not encrypted", "required tag", "before the current image"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := rollout.Check(tt.policy, tt.img, tt.cur)
			if len(got) != len(tt.want) {
				t.Fatalf("Check: got %d reasons %q, want %d like %q", len(got), got, len(tt.want), tt.want)
			}
			for i, w := range tt.want {
				if !strings.Contains(got[i], w) {
					t.Errorf("Check reason %d: got %q, want it to contain %q", i, got[i], w)
				}
			}
		})
	}
}
