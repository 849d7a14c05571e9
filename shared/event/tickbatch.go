package event

import (
	"encoding/json"
	"fmt"
	"slices"
)

// TickBatchSize is the most fleets one tick batch names. The stack's
// per-minute re-evaluation tick is not one schedule rule over every fleet
// but one rule per batch (TickBatches), each of whose targets delivers its
// batch to the scaler (TickInput): no invocation evaluates more fleets than
// this, and a fleet count that grows adds rules, not work per invocation.
//
// The scaler evaluates a batch's fleets at once, so a batch lasts as long
// as its slowest fleet rather than the sum of them. Ten is what fits:
//   - Time: the scaler's timeout is 30 s, 28 s once invocation.Headroom is
//     kept back, and the scaler cuts each fleet at its share of that. What
//     a fleet waits for is bounded: a decision waits at most 5 s for the
//     fleet's lease, the forecast's history read is cut at 5 s, and a tick
//     makes at most two decisions (an alarm in ALARM, the forecast floor),
//     so 15 s and a few dozen calls at worst: a batch fits even when every
//     fleet in it is that slow.
//   - Connections: the SDK's HTTP client keeps at most 10 idle connections
//     per host (aws-sdk-go-v2 DefaultHTTPTransportMaxIdleConnsPerHost), so
//     ten fleets at once reuse a warm function's connections tick after
//     tick where more would open new ones every minute.
//   - Rules: fewer fleets per batch means more rules and more invocations
//     in the same second. EventBridge allows 300 rules per event bus by
//     default ("Amazon EventBridge quotas",
//     https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-quota.html);
//     at ten, 1,000 fleets take 100 of them.
const TickBatchSize = 10

// TickBatches splits fleets into tick batches of at most size fleets each,
// in the order given: the same fleets in the same order give the same
// batches, so a redeploy moves no fleet between rules, and a fleet added at
// the end of the list changes only the last batch. The CDK app passes the
// fleets in the order of its configuration, with TickBatchSize. It panics
// if size is less than 1, as slices.Chunk does.
func TickBatches(fleets []string, size int) [][]string {
	if size < 1 {
		panic(fmt.Sprintf("event.TickBatches: batch size %d, want at least 1", size))
	}
	var batches [][]string
	for b := range slices.Chunk(fleets, size) {
		batches = append(batches, slices.Clone(b))
	}
	return batches
}

// InputTransformer is an EventBridge rule target's input transformer, as
// AWS::Events::Rule's Target.InputTransformer takes it: the variables
// InputPathsMap takes from the matched event, and the InputTemplate that
// places them.
type InputTransformer struct {
	InputPathsMap map[string]string
	InputTemplate string
}

// maxInputTemplate is EventBridge's limit on an InputTemplate, in
// characters ("InputTransformer",
// https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_InputTransformer.html).
const maxInputTemplate = 8192

// TickInput returns the input transformer of the scaler target of the
// schedule rule that ticks fleets, one of TickBatches' batches. The scaler
// receives the rule's own "Scheduled Event" — its id, time, region, account
// and resources (the rule's ARN) kept — with its empty detail replaced by
//
//	{"fleets": ["web", "api", …]}
//
// which Decode reads into Tick.Fleets. Each variable is an unquoted
// placeholder in a JSON template, which EventBridge fills with the value
// as JSON: a string with its quotes, resources as an array ("Amazon
// EventBridge input transformation", the "Simple JSON" example,
// https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-transform-target-input.html).
// A schedule rule's event has every one of those fields, so none is left
// out for a path that matches nothing.
//
// fleets must be valid fleet names, none twice, and not empty: an empty
// list would read as every fleet.
func TickInput(fleets []string) (InputTransformer, error) {
	if err := checkTickFleets(fleets, "fleets"); err != nil {
		return InputTransformer{}, fmt.Errorf("tick batch: %w", err)
	}
	detail, err := json.Marshal(map[string][]string{"fleets": fleets})
	if err != nil {
		return InputTransformer{}, fmt.Errorf("encoding tick batch %v: %w", fleets, err)
	}
	literal := func(s string) string { b, _ := json.Marshal(s); return string(b) } // a string always encodes
	template := `{"version":"0","id":<id>,"detail-type":` + literal(DetailTypeScheduled) +
		`,"source":` + literal(SourceEvents) +
		`,"account":<account>,"time":<time>,"region":<region>,"resources":<resources>,"detail":` + string(detail) + `}`
	if len(template) > maxInputTemplate {
		return InputTransformer{}, fmt.Errorf("tick batch of %d fleets: input template of %d characters is over EventBridge's %d", len(fleets), len(template), maxInputTemplate)
	}
	return InputTransformer{
		InputPathsMap: map[string]string{
			"id": "$.id", "account": "$.account", "time": "$.time", "region": "$.region", "resources": "$.resources",
		},
		InputTemplate: template,
	}, nil
}
