package elb_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/aws/smithy-go"

	"github.com/stampkit/stampkit/shared/elb"
)

func TestIsNotRegistered(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{name: "target not registered", err: &smithy.GenericAPIError{Code: "InvalidTarget"}, want: true},
		{name: "target group gone", err: &smithy.GenericAPIError{Code: "TargetGroupNotFound"}, want: true},
		{name: "wrapped", err: fmt.Errorf("deregistering: %w", &smithy.GenericAPIError{Code: "InvalidTarget"}), want: true},
		{name: "throttled", err: &smithy.GenericAPIError{Code: "Throttling"}},
		{name: "not an API error", err: errors.New("connection reset")},
		{name: "nil"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := elb.IsNotRegistered(tt.err); got != tt.want {
				t.Errorf("IsNotRegistered(%v): got %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}
