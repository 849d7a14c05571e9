//go:build !linux

package awstest

import "syscall"

// sysProcAttr has no portable parent-death signal outside Linux; Stop is the
// only cleanup there.
func sysProcAttr() *syscall.SysProcAttr { return nil }
