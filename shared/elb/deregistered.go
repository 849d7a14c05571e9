package elb

import "github.com/stampkit/stampkit/shared/awserr"

// IsNotRegistered reports whether Deregister failed because there was
// nothing to deregister: the target is not (or no longer) in the target
// group ("InvalidTarget"), or the target group itself is gone. A drain
// treats both as done: Auto Scaling deregisters a terminating instance on
// its own, so the race is expected.
func IsNotRegistered(err error) bool {
	return awserr.Code(err) == "InvalidTarget" || awserr.IsNotFound(err)
}
