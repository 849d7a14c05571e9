package rollout_test

import (
	"strings"
	"testing"

	"github.com/stampkit/stampkit/shared/rollout"
)

const (
	listenerARN = "arn:aws:elasticloadbalancing:us-east-1:111111111111:listener/app/web/0123456789abcdef/0123456789abcdef"
	blueARN     = "arn:aws:elasticloadbalancing:us-east-1:111111111111:targetgroup/web-blue/0123456789abcdef"
	greenARN    = "arn:aws:elasticloadbalancing:us-east-1:111111111111:targetgroup/web-green/0123456789abcdef"
)

// resourcesValue is the parameter value CloudFormation writes.
const resourcesValue = `{"listener":"` + listenerARN + `","targetGroup":"` + blueARN + `","peerTargetGroup":"` + greenARN + `"}`

func TestParseResources(t *testing.T) {
	tests := []struct {
		name, value string
		wantErr     []string
	}{
		{name: "the three ARNs", value: resourcesValue},
		{name: "not JSON", value: "arn:aws:elasticloadbalancing:…", wantErr: []string{"not {"}},
		{name: "unknown field", value: strings.Replace(resourcesValue, `"listener"`, `"listenerArn"`, 1), wantErr: []string{`unknown field "listenerArn"`}},
		{name: "missing ARN", value: `{"listener":"` + listenerARN + `","targetGroup":"` + blueARN + `"}`, wantErr: []string{"peerTargetGroup: is empty"}},
		{name: "blank ARN", value: strings.Replace(resourcesValue, listenerARN, " ", 1), wantErr: []string{"listener: is empty"}},
		{name: "null", value: "null", wantErr: []string{"listener: is empty", "targetGroup: is empty", "peerTargetGroup: is empty"}},
		{name: "one target group twice", value: strings.Replace(resourcesValue, greenARN, blueARN, 1), wantErr: []string{"peerTargetGroup: is the same as targetGroup"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := rollout.ParseResources(tt.value)
			if len(tt.wantErr) > 0 {
				if err == nil {
					t.Fatalf("got %+v, want an error containing %q", got, tt.wantErr)
				}
				for _, w := range tt.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not contain %q", err, w)
					}
				}
				if got != (rollout.Resources{}) {
					t.Errorf("got %+v beside the error, want no ARNs at all", got)
				}
				return
			}
			want := rollout.Resources{Listener: listenerARN, TargetGroup: blueARN, PeerTargetGroup: greenARN}
			if err != nil || got != want {
				t.Fatalf("got %+v, %v; want %+v", got, err, want)
			}
			bg := rollout.BlueGreen{PeerGroup: "web-b", ResourcesParameter: "/p"}
			if bg.Resolved() {
				t.Errorf("Resolved before WithResources, want not")
			}
			if bg = bg.WithResources(got); !bg.Resolved() || bg.Listener != listenerARN || bg.PeerTargetGroup != greenARN {
				t.Errorf("WithResources: got %+v, want the three ARNs", bg)
			}
		})
	}
}

// FuzzParseResources: whatever the parameter holds, a value without an
// error has three ARNs and two target groups.
func FuzzParseResources(f *testing.F) {
	f.Add(resourcesValue)
	f.Add(`{"listener":"a","targetGroup":"b","peerTargetGroup":"b"}`)
	f.Add(`{}`)
	f.Fuzz(func(t *testing.T, value string) {
		r, err := rollout.ParseResources(value)
		if err != nil {
			return
		}
		bg := rollout.BlueGreen{}.WithResources(r)
		if !bg.Resolved() || r.TargetGroup == r.PeerTargetGroup {
			t.Errorf("ParseResources(%q) = %+v without an error", value, r)
		}
	})
}
