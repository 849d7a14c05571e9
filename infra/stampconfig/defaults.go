package stampconfig

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"

	"github.com/stampkit/stampkit/shared/lifecycle"
	"github.com/stampkit/stampkit/shared/rollout"
)

// The defaults the reference shows are the code's: each root type is
// filled in by the function the stack and the Lambdas use (WithDefaults,
// applyDefaults), and whatever that changed is a default. Placeholders
// stand for the names a default derives from.
const (
	stampPlaceholder = "<stamp>"
	fleetPlaceholder = "<name>"
)

// defaultValue is a key's default, as JSON; several when it depends on
// another key (a probe's timeout on its kind), each labelled with it.
type defaultValue []labelled

type labelled struct{ json, label string }

// literal is the default as a JSON value for the schema, when it is one
// value and derives from no other.
func (d defaultValue) literal() (any, bool) {
	if len(d) != 1 || d[0].label != "" || strings.Contains(d[0].json, "<") {
		return nil, false
	}
	var v any
	if json.Unmarshal([]byte(d[0].json), &v) != nil {
		return nil, false
	}
	return v, true
}

// text is the default as the reference shows it.
func (d defaultValue) text() string {
	var parts []string
	for _, l := range d {
		if l.label == "" {
			parts = append(parts, l.json)
		} else {
			parts = append(parts, l.json+" ("+l.label+")")
		}
	}
	return strings.Join(parts, ", ")
}

// defaultTable holds each field's default ("scaling.Policy.Min").
type defaultTable map[string]defaultValue

// sample is a root value before and after its defaults are filled in.
type sample struct{ before, after any }

// defaultSamples are the roots whose defaults the reference shows. A fleet
// with a rollout strategy shows what an enabled rollout derives.
func defaultSamples() []sample {
	names := NamesOf(stampPlaceholder)
	fleet := func(f FleetConfig) sample {
		after := f
		after.applyDefaults(names)
		return sample{f, after}
	}
	return []sample{
		{Config{}, Config{}.withSettingDefaults()},
		{Config{Name: stampPlaceholder}, Config{Name: stampPlaceholder}.WithDefaults()},
		fleet(FleetConfig{Name: fleetPlaceholder}),
		fleet(FleetConfig{Name: fleetPlaceholder, Rollout: rollout.Policy{Strategy: rollout.StrategyRolling}}),
		{DNSConfig{}, DNSConfig{}.WithDefaults(nil)},
	}
}

// nested fill in the defaults of a policy the roots hold, as the Lambdas
// do when they read it; seed gives it the items whose defaults depend on
// their kind.
var nested = map[reflect.Type]struct {
	seed, fill func(reflect.Value) reflect.Value
}{
	reflect.TypeFor[lifecycle.Policy](): {
		seed: func(v reflect.Value) reflect.Value {
			p := v.Interface().(lifecycle.Policy)
			p.Launch.Probes = []lifecycle.Probe{{Kind: lifecycle.HTTP}, {Kind: lifecycle.SSM}, {Kind: lifecycle.EC2Status}}
			p.Terminate.Command = &lifecycle.Probe{Kind: lifecycle.SSM}
			return reflect.ValueOf(p)
		},
		fill: func(v reflect.Value) reflect.Value {
			return reflect.ValueOf(v.Interface().(lifecycle.Policy).WithDefaults())
		},
	},
	reflect.TypeFor[rollout.Policy](): {
		seed: func(v reflect.Value) reflect.Value { return v },
		fill: func(v reflect.Value) reflect.Value {
			return reflect.ValueOf(v.Interface().(rollout.Policy).WithDefaults())
		},
	},
}

func collectDefaults() defaultTable {
	d := defaultTable{}
	for _, s := range defaultSamples() {
		d.walk(reflect.ValueOf(s.before), reflect.ValueOf(s.after), "")
	}
	return d
}

// walk records every field of after that differs from before, labelled
// label, and goes into the objects both hold.
func (d defaultTable) walk(before, after reflect.Value, label string) {
	t := after.Type()
	if n, ok := nested[t]; ok {
		before, after = n.seed(before), n.fill(n.seed(after))
	}
	for _, f := range jsonFields(t) {
		b, a := before.FieldByName(f.field.Name), after.FieldByName(f.field.Name)
		key := docKey(f)
		switch {
		case a.Kind() == reflect.Struct && f.typ != durationType:
			d.walk(b, a, label)
		case a.Kind() == reflect.Pointer && !b.IsNil() && !a.IsNil() && a.Elem().Kind() == reflect.Struct:
			d.walk(b.Elem(), a.Elem(), kindOf(a.Elem(), label))
		case a.Kind() == reflect.Slice && a.Type().Elem().Kind() == reflect.Struct && b.Len() == a.Len():
			for i := range a.Len() {
				d.walk(b.Index(i), a.Index(i), kindOf(a.Index(i), label))
			}
		case !a.IsZero() && !reflect.DeepEqual(b.Interface(), a.Interface()):
			d.add(key, a.Interface(), label)
		}
	}
}

// kindOf labels an item by its kind (a probe's), if it has one.
func kindOf(v reflect.Value, label string) string {
	if k := v.FieldByName("Kind"); k.IsValid() && k.Kind() == reflect.String {
		return k.String()
	}
	return label
}

func (d defaultTable) add(key string, v any, label string) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if enc.Encode(v) != nil {
		return
	}
	l := labelled{json: strings.TrimSpace(buf.String()), label: label}
	for _, have := range d[key] {
		if have == l {
			return
		}
	}
	d[key] = append(d[key], l)
}
