package config_test

import (
	"testing"

	"github.com/stampkit/stampkit/shared/config"
)

func TestCheckFleetName(t *testing.T) {
	tests := []struct {
		name string
		ok   bool
	}{
		{"web", true},
		{"api2", true},
		{"a", true},
		{"abcdefghijklmnopqrst", true},
		{"abcdefghijklmnopqrstu", false},
		{"", false},
		{"Web", false},
		{"2web", false},
		{"web-api", false},
		{"web api", false},
	}
	for _, tt := range tests {
		if err := config.CheckFleetName(tt.name); (err == nil) != tt.ok {
			t.Errorf("CheckFleetName(%q) = %v, want ok %v", tt.name, err, tt.ok)
		}
	}
}

func TestCheckStampName(t *testing.T) {
	tests := []struct {
		name string
		ok   bool
	}{
		{"main", true},
		{"eu1", true},
		{"abcdefghijklmnopqrst", true},
		{"abcdefghijklmnopqrstu", false},
		{"", false},
		{"Prod", false},
		{"1prod", false},
		// A hyphen would make stampkit-prod- a prefix of prod-eu's names.
		{"prod-eu", false},
	}
	for _, tt := range tests {
		if err := config.CheckStampName(tt.name); (err == nil) != tt.ok {
			t.Errorf("CheckStampName(%q) = %v, want ok %v", tt.name, err, tt.ok)
		}
	}
}
