package stampconfig_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v5"

	"github.com/stampkit/stampkit/infra/stampconfig"
)

// compileSchema compiles the generated schema with a draft 2020-12
// validator, offline: the dialect's meta-schema is built in.
func compileSchema(t *testing.T) (*jsonschema.Schema, map[string]any) {
	t.Helper()
	raw, err := stampconfig.Schema()
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.LoadURL = func(u string) (io.ReadCloser, error) { return nil, fmt.Errorf("no network in tests: %s", u) }
	if err := c.AddResource("cdk.schema.json", bytes.NewReader(raw)); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile("cdk.schema.json")
	if err != nil {
		t.Fatalf("compiling the schema: %v", err)
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	return s, doc
}

// shippedFile is the shipped cdk.json as JSON values.
func shippedFile(t *testing.T) map[string]any {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(readShipped(t), &doc); err != nil {
		t.Fatal(err)
	}
	return doc
}

func clone(v any) any {
	raw, _ := json.Marshal(v)
	var out any
	_ = json.Unmarshal(raw, &out)
	return out
}

// validateContext is `stampkit validate` on file's context, without the
// build output.
func validateContext(file map[string]any) error {
	_, err := stampconfig.ParseContext(file["context"].(map[string]any), false)
	return err
}

func dnsRecord() map[string]any {
	return map[string]any{"hostedZoneId": "Z0123456789ABCDEFGHIJ", "zoneName": "example.com", "recordName": "app.example.com"}
}

// TestSchemaAgreesWithValidate edits the shipped cdk.json and checks that
// the schema and validate take and refuse the same files.
func TestSchemaAgreesWithValidate(t *testing.T) {
	schema, _ := compileSchema(t)
	ctx := func(f map[string]any) map[string]any { return f["context"].(map[string]any) }
	fleet := func(f map[string]any) map[string]any { return ctx(f)["fleets"].([]any)[0].(map[string]any) }
	tests := []struct {
		name  string
		edit  func(f map[string]any)
		valid bool
	}{
		{name: "the shipped file", edit: func(map[string]any) {}, valid: true},
		{name: "a key of the app's own", edit: func(f map[string]any) { ctx(f)["myAppSetting"] = "x" }, valid: true},
		{name: "a CDK feature flag", edit: func(f map[string]any) { ctx(f)["@aws-cdk/core:newFlag"] = true }, valid: true},
		{name: "a stamp changing a fleet", edit: func(f map[string]any) {
			ctx(f)["stamps"] = []any{map[string]any{"name": "eu1", "region": "eu-west-1", "fleets": []any{map[string]any{"fleet": "web", "maxCapacity": 20}}}}
		}, valid: true},
		{name: "a stamp with a fleet of its own", edit: func(f map[string]any) {
			own := clone(fleet(f)).(map[string]any)
			own["name"] = "api"
			ctx(f)["stamps"] = []any{map[string]any{"name": "main", "fleets": []any{"web", own}}}
		}, valid: true},
		{name: "a blue/green rollout", edit: func(f map[string]any) {
			fleet(f)["rollout"] = map[string]any{"strategy": "bluegreen", "blueGreen": map[string]any{"steps": []any{25, 100}, "bake": "10m"}}
		}, valid: true},
		{name: "a warm pool", edit: func(f map[string]any) { fleet(f)["warmPool"] = map[string]any{"minSize": 1, "state": "Running"} }, valid: true},
		{name: "a DNS record", edit: func(f map[string]any) { ctx(f)["dns"] = dnsRecord() }, valid: true},
		{name: "a DNS health check every 20 s", edit: func(f map[string]any) {
			d := dnsRecord()
			d["healthCheck"] = map[string]any{"intervalSeconds": 20}
			ctx(f)["dns"] = d
		}},
		{name: "typo in the DNS record", edit: func(f map[string]any) {
			d := dnsRecord()
			d["recordNmae"] = d["recordName"]
			ctx(f)["dns"] = d
		}},
		{name: "a context key in other letter case", edit: func(f map[string]any) { ctx(f)["maxAZs"] = 2 }},
		{name: "typo in a fleet's key", edit: func(f map[string]any) { fleet(f)["minCapcity"] = 1 }},
		{name: "typo in a stamp's key", edit: func(f map[string]any) { ctx(f)["stamps"].([]any)[0].(map[string]any)["regoin"] = "eu-west-1" }},
		{name: "typo in a stamp's fleet", edit: func(f map[string]any) {
			ctx(f)["stamps"] = []any{map[string]any{"name": "main", "fleets": []any{map[string]any{"fleet": "web", "maxCapcity": 20}}}}
		}},
		{name: "number in quotes", edit: func(f map[string]any) { fleet(f)["maxCapacity"] = "10" }},
		{name: "duration without a unit", edit: func(f map[string]any) { fleet(f)["lifecycle"].(map[string]any)["heartbeatTimeout"] = 300 }},
		{name: "duration in words", edit: func(f map[string]any) { fleet(f)["lifecycle"].(map[string]any)["heartbeatTimeout"] = "5 minutes" }},
		{name: "unknown warm pool state", edit: func(f map[string]any) { fleet(f)["warmPool"] = map[string]any{"state": "Hibernated"} }},
		{name: "a wave, which the stack sets", edit: func(f map[string]any) {
			fleet(f)["rollout"].(map[string]any)["wave"] = map[string]any{"stamp": "main", "parameter": "/x"}
		}},
		{name: "a listener, which the stack sets", edit: func(f map[string]any) {
			fleet(f)["rollout"] = map[string]any{"strategy": "bluegreen", "blueGreen": map[string]any{"listener": "arn:aws:x"}}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := shippedFile(t)
			tt.edit(f)
			schemaErr, validateErr := schema.Validate(clone(f)), validateContext(f)
			if (schemaErr == nil) != tt.valid {
				t.Errorf("schema: got %v, want valid %v", schemaErr, tt.valid)
			}
			if (validateErr == nil) != tt.valid {
				t.Errorf("validate: got %v, want valid %v", validateErr, tt.valid)
			}
		})
	}
}

// site is a key of the shipped cdk.json and its schema.
type site struct {
	path   []any // keys and indexes from the file's root
	schema map[string]any
	// object is the schema of the object holding the key.
	object map[string]any
}

func (s site) key() string {
	var b strings.Builder
	for i, p := range s.path[1:] { // "context" is not part of a key
		switch p := p.(type) {
		case int:
			fmt.Fprintf(&b, "[%d]", p)
		default:
			if i > 0 {
				b.WriteString(".")
			}
			fmt.Fprint(&b, p)
		}
	}
	return b.String()
}

// sites lists every key of v that schema s describes.
func sites(defs map[string]any, s map[string]any, v any, path []any) []site {
	if ref, ok := s["$ref"].(string); ok {
		s = defs[strings.TrimPrefix(ref, "#/$defs/")].(map[string]any)
	}
	var out []site
	switch v := v.(type) {
	case map[string]any:
		props, _ := s["properties"].(map[string]any)
		for _, k := range slices.Sorted(maps.Keys(v)) {
			p, ok := props[k].(map[string]any)
			if !ok {
				continue
			}
			at := append(slices.Clone(path), k)
			out = append(out, site{path: at, schema: p, object: s})
			out = append(out, sites(defs, p, v[k], at)...)
		}
	case []any:
		items, ok := s["items"].(map[string]any)
		if !ok {
			return nil
		}
		for i, item := range v {
			at := append(slices.Clone(path), i)
			out = append(out, site{path: at, schema: items, object: s})
			out = append(out, sites(defs, items, item, at)...)
		}
	}
	return out
}

// set puts v at path in doc; a nil v deletes the key.
func set(doc any, path []any, v any, remove bool) {
	for _, p := range path[:len(path)-1] {
		switch p := p.(type) {
		case int:
			doc = doc.([]any)[p]
		case string:
			doc = doc.(map[string]any)[p]
		}
	}
	switch last := path[len(path)-1].(type) {
	case int:
		doc.([]any)[last] = v
	case string:
		if remove {
			delete(doc.(map[string]any), last)
		} else {
			doc.(map[string]any)[last] = v
		}
	}
}

// dependsOnOthers are keys whose bound Validate also checks against
// another key's value in the shipped file (maxCapacity at least
// minCapacity).
var dependsOnOthers = map[string]bool{"fleets[0].maxCapacity": true}

// TestBoundsAgreeWithValidate takes every key of the shipped cdk.json
// whose schema has a range, allowed values or is required, puts a value
// just outside (or leaves the key out), and checks that both the schema
// and validate refuse it, validate naming the key, and that validate
// takes the bounds themselves: the tables of reference.go say what
// Validate says.
func TestBoundsAgreeWithValidate(t *testing.T) {
	schema, doc := compileSchema(t)
	defs := doc["$defs"].(map[string]any)
	checked := 0
	for _, s := range sites(defs, doc, shippedFile(t), nil) {
		if len(s.path) < 2 {
			continue
		}
		var edits []struct {
			what   string
			v      any
			remove bool
		}
		add := func(what string, v any, remove bool) {
			edits = append(edits, struct {
				what   string
				v      any
				remove bool
			}{what, v, remove})
		}
		// within are the bounds themselves, which validate must take.
		var within []float64
		integer := s.schema["type"] == "integer"
		step := 0.5
		if integer {
			step = 1
		}
		if m, ok := s.schema["minimum"].(float64); ok {
			add("below minimum", m-step, false)
			within = append(within, m)
		}
		if m, ok := s.schema["exclusiveMinimum"].(float64); ok {
			add("at exclusive minimum", m, false)
		}
		if m, ok := s.schema["maximum"].(float64); ok {
			add("above maximum", m+step, false)
			within = append(within, m)
		}
		if _, ok := s.schema["enum"]; ok {
			if integer {
				add("not allowed", -7, false)
			} else {
				add("not allowed", "not-a-value", false)
			}
		}
		if req, _ := s.object["required"].([]any); slices.Contains(req, any(s.path[len(s.path)-1])) {
			add("left out", nil, true)
		}
		for _, v := range within {
			t.Run(fmt.Sprintf("%s at %g", s.key(), v), func(t *testing.T) {
				f := shippedFile(t)
				set(f, s.path, v, false)
				key := strings.TrimRight(s.key(), "[]0123456789")
				if err := validateContext(f); err != nil && strings.Contains(err.Error(), `"`+key+`": got`) && !dependsOnOthers[key] {
					t.Errorf("validate refuses the schema's bound: %v", err)
				}
			})
		}
		for _, e := range edits {
			if v, isNumber := e.v.(float64); isNumber && v == 0 && !e.remove && s.schema["default"] != nil {
				// validate reads a zero as left out: the default.
				continue
			}
			name := fmt.Sprintf("%s %s", s.key(), e.what)
			t.Run(name, func(t *testing.T) {
				checked++
				f := shippedFile(t)
				set(f, s.path, e.v, e.remove)
				if err := schema.Validate(clone(f)); err == nil {
					t.Errorf("the schema takes it")
				}
				err := validateContext(f)
				key := strings.TrimRight(s.key(), "[]0123456789")
				if err == nil || !strings.Contains(err.Error(), `"`+key) {
					t.Errorf("validate: got %v, want an error naming %q", err, key)
				}
			})
		}
	}
	if checked < 20 {
		t.Errorf("checked %d keys, want the shipped cdk.json's bounded keys (20 or more)", checked)
	}
}
