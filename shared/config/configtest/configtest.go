// Package configtest makes fleet configurations as large as deployed ones,
// for benchmarks and tests of reading them at cold start.
package configtest

import (
	"embed"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/stampkit/stampkit/shared/config"
)

// shipped holds, per function, two fleets as that function reads them:
// cdk.json's "web" (rolling) and the infra tests' "api" (blue/green, its
// ARNs in a resources parameter). The CDK app's own code wrote them
// (infra's lambdaConfig of those fleets, then FleetsFor each function),
// with its stand-ins as long as the names CloudFormation generates.
//
//go:embed testdata/*.json
var shipped embed.FS

// Functions are the functions shipped has fleets for.
func Functions() []string { return []string{"scaler", "lifecycle", "rollout"} }

// Fleets returns n distinct fleets as function reads them, alternately
// like "web" and like "api" under names of their own (web000, api001,
// web002, …): groups, alarms and parameters renamed with them, so that
// together they validate.
func Fleets(function string, n int) ([]config.Fleet, error) {
	raw, err := shipped.ReadFile("testdata/" + function + ".json")
	if err != nil {
		return nil, fmt.Errorf("no fleets for function %q: %w", function, err)
	}
	var templates []json.RawMessage
	if err := json.Unmarshal(raw, &templates); err != nil {
		return nil, fmt.Errorf("decoding the %s fleets: %w", function, err)
	}
	out := make([]config.Fleet, 0, n)
	for i := range n {
		tpl := templates[i%len(templates)]
		var head struct{ Name string }
		if err := json.Unmarshal(tpl, &head); err != nil {
			return nil, err
		}
		name := fmt.Sprintf("%s%03d", head.Name, i)
		renamed := strings.NewReplacer(
			`"`+head.Name+`"`, `"`+name+`"`, "-"+head.Name+"-", "-"+name+"-", "/"+head.Name+"/", "/"+name+"/",
		).Replace(string(tpl))
		var f config.Fleet
		if err := json.Unmarshal([]byte(renamed), &f); err != nil {
			return nil, fmt.Errorf("fleet %s: %w", name, err)
		}
		for j, r := range f.Scaling.Rules {
			// An alarm named outright, not by the stack, is renamed too: two
			// fleets cannot scale on one alarm.
			if !strings.Contains(r.Alarm, name) {
				f.Scaling.Rules[j].Alarm = name + "-" + r.Alarm
			}
		}
		out = append(out, f)
	}
	return out, nil
}

// Config returns a valid configuration of n fleets as function reads them
// (Fleets).
func Config(function string, n int) (config.Config, error) {
	fleets, err := Fleets(function, n)
	if err != nil {
		return config.Config{}, err
	}
	c := config.Config{Table: "stampkit-state", Namespace: config.DefaultNamespace, Fleets: fleets}
	if err := c.Validate(); err != nil {
		return config.Config{}, fmt.Errorf("%s, %d fleets: %w", function, n, err)
	}
	return c, nil
}
