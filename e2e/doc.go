// Package e2e holds the end-to-end tests: every function built as the Lambda
// `bootstrap` it ships as (host architecture, the shipped build flags), run
// under the AWS Lambda Runtime Interface Emulator, invoked over its HTTP API
// with real EventBridge event JSON, and talking to the local AWS emulator
// (moto) through the test's AWS proxy (AWS_ENDPOINT_URL; awstest/awsproxy),
// which fills moto's gaps and injects the faults a test scripts. The tests
// assert the effects in moto and the decisions in the functions' own JSON
// logs.
//
// `go test -short` skips them; without moto they skip unless
// STAMPKIT_REQUIRE_EMULATOR=1. The package has no code outside its tests.
package e2e
