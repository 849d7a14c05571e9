package event_test

import (
	"testing"

	"github.com/stampkit/stampkit/shared/event"
)

func TestReasonValues(t *testing.T) {
	tests := []struct {
		name       string
		in         string
		wantValue  float64
		wantThresh float64
		wantOK     bool
	}{
		{name: "newest datapoint is last", in: `{"recentDatapoints":[61.5,72.25],"threshold":60}`, wantValue: 72.25, wantThresh: 60, wantOK: true},
		{name: "no datapoints", in: `{"threshold":60}`, wantValue: 60, wantThresh: 60, wantOK: true},
		{name: "no threshold", in: `{"recentDatapoints":[1]}`},
		{name: "not JSON", in: `Threshold Crossed`},
		{name: "empty", in: ``},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, th, ok := event.ReasonValues(tt.in)
			if v != tt.wantValue || th != tt.wantThresh || ok != tt.wantOK {
				t.Errorf("ReasonValues = %g, %g, %v; want %g, %g, %v", v, th, ok, tt.wantValue, tt.wantThresh, tt.wantOK)
			}
		})
	}
}

// The samples are AWS's own: the reason data of each alarm sample must
// yield its threshold.
func TestReasonValuesOfSamples(t *testing.T) {
	samples, err := event.Samples()
	if err != nil {
		t.Fatalf("Samples: %v", err)
	}
	for _, name := range []string{"cloudwatch-alarm-state-change-single-metric"} {
		evs, err := event.Decode(samples[name])
		if err != nil {
			t.Fatalf("Decode(%s): %v", name, err)
		}
		a := evs[0].Detail.(*event.AlarmStateChange)
		if _, th, ok := event.ReasonValues(a.State.ReasonData); !ok || th == 0 {
			t.Errorf("%s: threshold %g, %v from the AWS sample's reason data %q", name, th, ok, a.State.ReasonData)
		}
	}
}
