package clock_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stampkit/stampkit/shared/clock"
)

func TestDurationJSON(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    time.Duration
		wantErr bool
	}{
		{name: "seconds", in: `"90s"`, want: 90 * time.Second},
		{name: "minutes", in: `"5m"`, want: 5 * time.Minute},
		{name: "zero", in: `"0s"`, want: 0},
		{name: "bare number is rejected", in: `90`, wantErr: true},
		{name: "unit missing", in: `"90"`, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var d clock.Duration
			err := json.Unmarshal([]byte(tt.in), &d)
			if (err != nil) != tt.wantErr {
				t.Fatalf("Unmarshal(%s) error = %v, wantErr %v", tt.in, err, tt.wantErr)
			}
			if err == nil && d.Std() != tt.want {
				t.Errorf("Unmarshal(%s) = %v, want %v", tt.in, d.Std(), tt.want)
			}
		})
	}
}

func TestDurationRoundTrip(t *testing.T) {
	in := clock.Duration(150 * time.Second)
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatalf("Marshal: %v", err)
	}
	if string(b) != `"2m30s"` {
		t.Errorf("Marshal = %s, want \"2m30s\"", b)
	}
	var out clock.Duration
	if err := json.Unmarshal(b, &out); err != nil || out != in {
		t.Errorf("round trip = %v, %v; want %v", out, err, in)
	}
}

func TestManual(t *testing.T) {
	t0 := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	c := clock.NewManual(t0)
	if got := c.Now(); !got.Equal(t0) {
		t.Fatalf("Now = %s, want %s", got, t0)
	}
	if got, want := c.Add(90*time.Second), t0.Add(90*time.Second); !got.Equal(want) || !c.Now().Equal(want) {
		t.Errorf("Add(90s) = %s, Now %s; want %s", got, c.Now(), want)
	}
	c.Set(t0)
	if got := c.Now(); !got.Equal(t0) {
		t.Errorf("after Set: Now = %s, want %s", got, t0)
	}
}
