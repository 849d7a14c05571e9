// Command hello is the baseline Lambda of the runtime benchmark: the smallest
// Go function built the way the toolkit's functions are (lambda.norpc,
// -trimpath, -s -w, CGO off), so that each function's cold start can be
// reported as a ratio to what the Go runtime and aws-lambda-go cost alone.
package main

import (
	"context"
	"encoding/json"

	"github.com/aws/aws-lambda-go/lambda"
)

// handle echoes the payload's size: it decodes the event, as every real
// function does, without touching AWS.
func handle(_ context.Context, raw json.RawMessage) (map[string]int, error) {
	return map[string]int{"bytes": len(raw)}, nil
}

func main() {
	lambda.Start(handle)
}
