package awstest

import "syscall"

// sysProcAttr makes the kernel kill moto when the test binary dies without
// reaching Stop (a panic, or go test's -timeout), so no server outlives it.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
