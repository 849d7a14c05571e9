package config_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/stampkit/stampkit/shared/clock"
	"github.com/stampkit/stampkit/shared/config"
	"github.com/stampkit/stampkit/shared/rollout"
)

// withRollout puts a rollout section into the test fleet.
func withRollout(section string) string {
	return strings.Replace(fleetsJSON, `"group":"web-asg",`, `"group":"web-asg","rollout":`+section+`,`, 1)
}

func TestFromEnvRollout(t *testing.T) {
	tests := []struct {
		name    string
		fleets  string
		want    config.Rollout
		wantErr []string
	}{
		{name: "absent section turns rollouts off", fleets: fleetsJSON},
		{
			name: "rolling",
			fleets: withRollout(`{"strategy":"rolling","parameter":"/stampkit/web/ami","alarms":["web-5xx"],` +
				`"checks":{"requiredTags":["commit"]},"rolling":{"minHealthyPercentage":90,"warmup":"2m","checkpoints":[50,100]}}`),
			want: rollout.Policy{
				Strategy: rollout.StrategyRolling, Parameter: "/stampkit/web/ami", Alarms: []string{"web-5xx"},
				Checks:  rollout.Checks{RequiredTags: []string{"commit"}},
				Rolling: rollout.Rolling{MinHealthyPercentage: new(90), Warmup: clock.Duration(2 * time.Minute), Checkpoints: []int{50, 100}},
			},
		},
		{
			name: "blue/green",
			fleets: withRollout(`{"strategy":"bluegreen","parameter":"/p","onNewer":"supersede","blueGreen":{"listener":"l",` +
				`"targetGroup":"tg-a","peerGroup":"web-asg-b","peerTargetGroup":"tg-b","steps":[25,100],"bake":"10m"}}`),
			want: rollout.Policy{
				Strategy: rollout.StrategyBlueGreen, Parameter: "/p", OnNewer: rollout.Supersede,
				BlueGreen: rollout.BlueGreen{Listener: "l", TargetGroup: "tg-a", PeerGroup: "web-asg-b", PeerTargetGroup: "tg-b",
					Steps: []int{25, 100}, Bake: clock.Duration(10 * time.Minute)},
			},
		},
		{
			name: "blue/green with its ARNs in a parameter",
			fleets: withRollout(`{"strategy":"bluegreen","parameter":"/p","blueGreen":{"resourcesParameter":"/stampkit/web/blue-green-resources",` +
				`"peerGroup":"web-asg-b"}}`),
			want: rollout.Policy{
				Strategy: rollout.StrategyBlueGreen, Parameter: "/p",
				BlueGreen: rollout.BlueGreen{ResourcesParameter: "/stampkit/web/blue-green-resources", PeerGroup: "web-asg-b"},
			},
		},
		{
			name:    "problems name the full key",
			fleets:  withRollout(`{"strategy":"bluegreen","parameter":"/p","blueGreen":{"listener":"l","targetGroup":"a","peerGroup":"web-asg","peerTargetGroup":"b","steps":[50]}}`),
			wantErr: []string{"STAMPKIT_FLEETS[0].rollout.blueGreen.steps: the last must be 100", `STAMPKIT_FLEETS[0].rollout.blueGreen.peerGroup: "web-asg" is the fleet's own group`},
		},
		{
			name:    "unknown strategy",
			fleets:  withRollout(`{"strategy":"canary","parameter":"/p"}`),
			wantErr: []string{`STAMPKIT_FLEETS[0].rollout.strategy: "canary"`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := config.FromEnv(env(map[string]string{config.EnvTable: "state", config.EnvFleets: tt.fleets}))
			if len(tt.wantErr) > 0 {
				for _, w := range tt.wantErr {
					if err == nil || !strings.Contains(err.Error(), w) {
						t.Errorf("got error %v, want one containing %q", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("FromEnv: %v", err)
			}
			if diff := cmp.Diff(tt.want, got.Fleets[0].Rollout); diff != "" {
				t.Errorf("rollout (-want +got):\n%s", diff)
			}
			back, err := got.Env()
			if err != nil {
				t.Fatalf("Env: %v", err)
			}
			if !tt.want.Enabled() && strings.Contains(back[config.EnvFleets], `"rollout"`) {
				t.Errorf("Env wrote an empty rollout section: %s", back[config.EnvFleets])
			}
			again, err := config.FromEnv(env(back))
			if err != nil {
				t.Fatalf("FromEnv(Env()): %v", err)
			}
			if diff := cmp.Diff(got, again, sameFleets); diff != "" {
				t.Errorf("round trip (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRolloutQueueFromEnv(t *testing.T) {
	tests := []struct {
		name, value, want, wantErr string
	}{
		{name: "queue URL", value: "https://sqs.us-east-1.amazonaws.com/111111111111/rollout", want: "https://sqs.us-east-1.amazonaws.com/111111111111/rollout"},
		{name: "unset", wantErr: "STAMPKIT_ROLLOUT_QUEUE_URL: is not set"},
		{name: "a name, not a URL", value: "rollout", wantErr: `STAMPKIT_ROLLOUT_QUEUE_URL: "rollout" is not a queue URL`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := config.RolloutQueueFromEnv(env(map[string]string{config.EnvRolloutQueue: tt.value}))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got %q, %v; want error containing %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}
