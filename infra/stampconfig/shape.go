package stampconfig

import (
	"encoding"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/stampkit/stampkit/shared/clock"
)

// The shape check says what encoding/json would only say of the first
// problem, in Go's words ("cannot unmarshal string into Go struct field
// FleetConfig.maxCapacity of type int"): every key a type does not have,
// with the nearest it has, and every value of the wrong kind, each under
// its key and in the words of someone writing cdk.json.

var (
	durationType        = reflect.TypeFor[clock.Duration]()
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// shapeErrors lists what in v, a value json.Unmarshal read into an any
// (with UseNumber), does not fit a value of type t, each error naming its
// key under key.
func shapeErrors(key string, v any, t reflect.Type) []error {
	bad := func(format string, args ...any) []error {
		return []error{fmt.Errorf("context %q: "+format, append([]any{key}, args...)...)}
	}
	if t.Kind() == reflect.Pointer {
		if v == nil {
			return nil
		}
		t = t.Elem()
	}
	if t == durationType {
		return durationErrors(key, v)
	}
	if reflect.PointerTo(t).Implements(textUnmarshalerType) {
		s, ok := v.(string)
		if !ok {
			return bad("got %s, want %s", describeValue(v), Expectation(t))
		}
		if err := reflect.New(t).Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(s)); err != nil {
			return bad("%v", err)
		}
		return nil
	}
	switch t.Kind() {
	case reflect.Struct:
		obj, ok := v.(map[string]any)
		if !ok {
			return bad("got %s, want %s", describeValue(v), Expectation(t))
		}
		fields := jsonFields(t)
		var names []string
		for _, f := range fields {
			names = append(names, f.name)
		}
		var errs []error
		for _, k := range sortedKeys(obj) {
			i := slices.IndexFunc(fields, func(f jsonField) bool { return f.name == k })
			if i < 0 {
				errs = append(errs, fmt.Errorf("context %q: not a key of %s%s", key+"."+k, noun(t), didYouMean(k, names)))
				continue
			}
			errs = append(errs, shapeErrors(key+"."+k, obj[k], fields[i].typ)...)
		}
		return errs
	case reflect.Slice, reflect.Array:
		list, ok := v.([]any)
		if !ok {
			return bad("got %s, want %s", describeValue(v), Expectation(t))
		}
		var errs []error
		for i, e := range list {
			errs = append(errs, shapeErrors(fmt.Sprintf("%s[%d]", key, i), e, t.Elem())...)
		}
		return errs
	case reflect.Map:
		obj, ok := v.(map[string]any)
		if !ok {
			return bad("got %s, want %s", describeValue(v), Expectation(t))
		}
		var errs []error
		for _, k := range sortedKeys(obj) {
			errs = append(errs, shapeErrors(key+"."+k, obj[k], t.Elem())...)
		}
		return errs
	case reflect.String:
		if _, ok := v.(string); !ok {
			return bad("got %s, want %s", describeValue(v), Expectation(t))
		}
	case reflect.Bool:
		if _, ok := v.(bool); !ok {
			return bad("got %s, want %s%s", describeValue(v), Expectation(t), unquoteHint(v))
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		n, ok := v.(json.Number)
		if !ok {
			return bad("got %s, want %s%s", describeValue(v), Expectation(t), unquoteHint(v))
		}
		if _, err := strconv.ParseInt(n.String(), 10, 64); err != nil {
			return bad("got %s, want %s", n, Expectation(t))
		}
	case reflect.Float32, reflect.Float64:
		if _, ok := v.(json.Number); !ok {
			return bad("got %s, want %s%s", describeValue(v), Expectation(t), unquoteHint(v))
		}
	}
	return nil
}

// durationErrors checks a duration, which cdk.json writes as Go does:
// "90s", "5m", "1h30m".
func durationErrors(key string, v any) []error {
	s, ok := v.(string)
	if !ok {
		hint := ""
		if n, isNumber := v.(json.Number); isNumber {
			hint = fmt.Sprintf(`; write "%ss" for %s seconds`, n, n)
		}
		return []error{fmt.Errorf("context %q: got %s, want %s%s", key, describeValue(v), Expectation(durationType), hint)}
	}
	var d clock.Duration
	if err := d.UnmarshalText([]byte(s)); err != nil {
		hint := ""
		if _, err := strconv.ParseFloat(s, 64); err == nil {
			hint = fmt.Sprintf(`; write "%ss" for %s seconds`, s, s)
		}
		return []error{fmt.Errorf("context %q: got %q, want %s%s", key, s, Expectation(durationType), hint)}
	}
	return nil
}

// Expectation says what a value of type t is, in the words of cdk.json.
func Expectation(t reflect.Type) string {
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == durationType {
		return `a duration like "5m" (units h, m, s, ms)`
	}
	switch t.Kind() {
	case reflect.Struct, reflect.Map:
		return "an object {…}"
	case reflect.Slice, reflect.Array:
		return "a list […]"
	case reflect.String:
		return "text in quotes"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	case reflect.Float32, reflect.Float64:
		return "a number"
	}
	return "a value"
}

// unquoteHint points at the quotes around a number or a boolean.
func unquoteHint(v any) string {
	if s, ok := v.(string); ok && json.Valid([]byte(s)) && !strings.HasPrefix(strings.TrimSpace(s), `"`) {
		return " (leave out the quotes)"
	}
	return ""
}

// describeValue shows a JSON value as cdk.json would have it, shortened.
func describeValue(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case map[string]any:
		return "an object"
	case []any:
		return "a list"
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return abbreviate(raw)
}

// jsonField is a struct field as encoding/json sees it.
type jsonField struct {
	name string
	typ  reflect.Type
	// field is the Go field, for its documentation (ConfigReference).
	field reflect.StructField
	// owner is the struct type that declares it.
	owner reflect.Type
}

// jsonFields lists t's fields under their JSON names, those of embedded
// structs included, in declaration order; unexported fields and fields
// tagged "-" are left out.
func jsonFields(t reflect.Type) []jsonField {
	var out []jsonField
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch {
		case name == "-":
			continue
		case f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct:
			out = append(out, jsonFields(f.Type)...)
			continue
		case !f.IsExported():
			continue
		case name == "":
			name = f.Name
		}
		out = append(out, jsonField{name: name, typ: f.Type, field: f, owner: t})
	}
	return out
}

// nouns name the configuration's objects in errors about their keys.
var nouns = map[string]string{
	"stampconfig.FleetConfig":   "a fleet",
	"stampconfig.WarmPool":      "a warm pool",
	"stampconfig.ScalingTarget": "a scaling target",
	"stampconfig.HealthAlarms":  "the health alarms",
	"scaling.Policy":            "a scaling policy",
	"scaling.Rule":              "a scaling rule",
	"scaling.Step":              "a step",
	"scaling.Trigger":           "a trigger",
	"scaling.Forecast":          "a forecast",
	"lifecycle.Policy":          "a lifecycle policy",
	"lifecycle.Launch":          "the launch gate",
	"lifecycle.Terminate":       "the drain",
	"lifecycle.Probe":           "a probe",
	"rollout.Policy":            "a rollout policy",
	"rollout.Rolling":           "a rolling rollout",
	"rollout.BlueGreen":         "a blue/green rollout",
	"rollout.Checks":            "the image checks",
	"rollout.Match":             "the image match",
}

func noun(t reflect.Type) string {
	if n, ok := nouns[t.String()]; ok {
		return n
	}
	return "this object"
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
