package stampconfig

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/stampkit/stampkit/shared/lifecycle"
	"github.com/stampkit/stampkit/shared/rollout"
	"github.com/stampkit/stampkit/shared/scaling"
)

// The reference of cdk.json (Reference, Schema) is found by reflection
// over the types the context decodes into, so that a field added to
// FleetConfig or to a shared policy appears in the JSON Schema and in
// docs/config.md without anyone writing it down twice. What reflection
// cannot see is in the tables below: the doc comments (docTable, generated
// from the source by `make docs`), the allowed values of the enums, the
// ranges Validate enforces, and the keys a value needs.

// Section is one object of the configuration: the keys of a fleet, of a
// scaling policy, of a stamps[] entry.
type Section struct {
	// Title is the object's key path where it first appears:
	// "fleets[].lifecycle".
	Title string
	// Paths are every key path the object appears at.
	Paths []string
	// Doc describes the object.
	Doc string
	// Extends is the Title of the Section whose keys the object also
	// takes (a stamp's fleet entry takes a fleet's); Keys are its own.
	Extends string
	Keys    []Key
}

// Key is one key of an object, with what its value may be.
type Key struct {
	Name string
	// Type is what the value is, in the words of cdk.json: "integer",
	// "duration", "list of strings", "object".
	Type string
	// Object is the Title of the Section that lists the value's keys, when
	// the value (or its items) is an object.
	Object string
	// Default is the value in effect when the key is left out, as JSON
	// ("<stamp>" and "<name>" stand for the stamp's and the fleet's names);
	// "" when there is none.
	Default string
	// Allowed are the values Validate accepts, when it limits them: "2–3",
	// "`rolling`, `bluegreen`".
	Allowed  string
	Required bool
	Doc      string
}

// Reference lists every key of cdk.json's context that stampkit reads:
// first the top-level keys, then each object's, in the order a reader
// meets them.
func Reference() []Section {
	b := build()
	out := make([]Section, 0, len(b.order))
	for _, o := range b.order {
		s := Section{Title: o.paths[0], Paths: o.paths, Doc: o.doc}
		props := o.props
		if o.extends != nil {
			s.Extends = o.extends.paths[0]
			props = props[:len(props)-len(o.extends.props)]
		}
		for _, p := range props {
			s.Keys = append(s.Keys, Key{
				Name: p.name, Type: p.v.typeText(), Object: p.v.objectTitle(), Default: p.def.text(),
				Allowed: p.v.allowedText(), Required: slices.Contains(o.required, p.name), Doc: p.doc,
			})
		}
		out = append(out, s)
	}
	return out
}

// SchemaURL is the JSON Schema dialect Schema speaks.
const SchemaURL = "https://json-schema.org/draft/2020-12/schema"

// Schema returns the JSON Schema (draft 2020-12) of a whole cdk.json,
// indented, as `stampkit schema` prints it and docs/cdk.schema.json holds
// it. It refuses what validate refuses where a schema can say so; what it
// cannot (a key several letters from stampkit's, a value that depends on
// another, such as natGateways at most maxAzs) only validate reports.
func Schema() ([]byte, error) {
	b := build()
	defs := map[string]any{"duration": map[string]any{
		"type": "string", "pattern": durationPattern, "description": Expectation(durationType),
	}}
	for _, o := range b.order {
		if o.name != contextDef {
			defs[o.name] = o.schema()
		}
	}
	doc := map[string]any{
		"$schema":     SchemaURL,
		"title":       "cdk.json of a stampkit app",
		"description": "The CDK CLI's settings and the context stampkit reads its stamps and fleets from (docs/config.md).",
		"type":        "object",
		"properties": map[string]any{
			"app":     map[string]any{"type": "string", "description": "The command the CDK CLI runs to synthesize the app, such as \"go run ./infra\"."},
			"output":  map[string]any{"type": "string", "description": "Where the CDK CLI writes the cloud assembly."},
			"context": b.context.schema(),
		},
		"required": []string{"context"},
		"$defs":    defs,
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	// "<stamp>" and "${group}" read as written.
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return nil, fmt.Errorf("encoding the schema: %w", err)
	}
	return buf.Bytes(), nil
}

// durationPattern is what clock.Duration reads (time.ParseDuration),
// without a sign: no duration in the configuration may be negative.
const durationPattern = `^(0|(([0-9]+(\.[0-9]*)?|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h))+)$`

// contextDef names the context object, which the schema puts under
// "context" and not in $defs.
const contextDef = "context"

// stampFleetsDoc describes stamps[].fleets, which no Go field declares
// (parseStamp reads it).
const stampFleetsDoc = `The stamp's fleets: each the name of a fleets[] entry ("web"), ` +
	`an object that starts from one and changes the keys it sets ({"fleet": "web", "maxCapacity": 20}), ` +
	`or a fleet object of its own.`

// enums are the values a key of a named string type (by type) or of a
// plain one (by field) may take.
var enums = map[string][]any{
	"scaling.Direction":                          {scaling.Out, scaling.In},
	"scaling.AdjustmentType":                     {scaling.ChangeInCapacity, scaling.PercentChangeInCapacity, scaling.ExactCapacity},
	"lifecycle.ProbeKind":                        {lifecycle.HTTP, lifecycle.SSM, lifecycle.EC2Status},
	"rollout.Strategy":                           {rollout.StrategyRolling, rollout.StrategyBlueGreen},
	"rollout.NewerRule":                          {rollout.Queue, rollout.Supersede},
	"stampconfig.Config.Profile":                 {ProfileDemo, ProfileProduction},
	"stampconfig.Config.LogRetentionDays":        intsAsAny(retentionDays),
	"stampconfig.WarmPool.State":                 {WarmPoolStopped, WarmPoolRunning},
	"stampconfig.DNSHealthCheck.IntervalSeconds": {10, 30},
}

// bounds is a numeric range Validate enforces.
type bounds struct {
	min, max     *float64
	exclusiveMin bool
}

func atLeast(n float64) bounds      { return bounds{min: &n} }
func above(n float64) bounds        { return bounds{min: &n, exclusiveMin: true} }
func between(lo, hi float64) bounds { return bounds{min: &lo, max: &hi} }

// ranges are the bounds Validate (and the shared packages' Validate)
// puts on a number, by field; "[]" is each item of a list. Bounds that
// depend on another key (desiredCapacity within the capacities) are left
// to validate. TestRangesAgreeWithValidate checks them against Validate.
var ranges = map[string]bounds{
	"stampconfig.Config.MaxAzs":                          between(2, 3),
	"stampconfig.Config.NatGateways":                     between(1, 3),
	"stampconfig.Config.ScalerReservedConcurrency":       atLeast(0),
	"stampconfig.FleetConfig.MinCapacity":                atLeast(0),
	"stampconfig.FleetConfig.MaxCapacity":                atLeast(1),
	"stampconfig.FleetConfig.DesiredCapacity":            atLeast(0),
	"stampconfig.FleetConfig.AppPort":                    between(1024, 65535),
	"stampconfig.FleetConfig.DeregistrationDelaySeconds": between(0, 3600),
	"stampconfig.FleetConfig.RootVolumeGiB":              between(8, 1024),
	"stampconfig.HealthAlarms.Target5xxPerMinute":        atLeast(1),
	"stampconfig.HealthAlarms.Elb5xxPerMinute":           atLeast(1),
	"stampconfig.HealthAlarms.P99LatencySeconds":         above(0),
	"stampconfig.HealthAlarms.UnhealthyHostMinutes":      between(1, MaxUnhealthyHostMinutes),
	"stampconfig.WarmPool.MinSize":                       atLeast(0),
	"stampconfig.WarmPool.MaxPrepared":                   atLeast(1),
	"stampconfig.ScalingTarget.CPU":                      {min: ptr(0.0), max: ptr(95.0), exclusiveMin: true},
	"stampconfig.ScalingTarget.RequestsPerMinute":        atLeast(0),
	"scaling.Policy.Min":                                 atLeast(0),
	"scaling.Policy.Max":                                 atLeast(0),
	"scaling.Policy.MaxStepOut":                          atLeast(0),
	"scaling.Policy.MaxStepIn":                           atLeast(0),
	"scaling.Rule.MinAdjustmentMagnitude":                atLeast(0),
	"scaling.Step.Adjustment":                            atLeast(0),
	"scaling.Trigger.EvaluationPeriods":                  atLeast(1),
	"scaling.Trigger.DatapointsToAlarm":                  atLeast(1),
	"scaling.Forecast.PerInstance":                       above(0),
	"scaling.Forecast.LookbackDays":                      between(1, 14),
	"scaling.Forecast.Quantile":                          between(0.5, 0.99),
	"scaling.Forecast.Spare":                             between(0, 5),
	"scaling.Forecast.WeeklyWeight":                      between(0, 14),
	"lifecycle.Probe.Port":                               between(0, 65535),
	"lifecycle.Probe.AllowedFailures":                    atLeast(0),
	"rollout.Rolling.MinHealthyPercentage":               between(0, 100),
	"rollout.Rolling.MaxHealthyPercentage":               between(100, 200),
	"rollout.Rolling.Checkpoints[]":                      between(1, 100),
	"rollout.BlueGreen.Steps[]":                          between(1, 100),
	"stampconfig.DNSConfig.Steps[]":                      between(1, 100),
	"stampconfig.DNSConfig.InitialWeights[]":             between(0, MaxDNSWeight),
	"stampconfig.DNSHealthCheck.FailureThreshold":        between(1, 10),
}

// required are the keys an object cannot do without: those Validate
// refuses at their zero value and that have no default.
var required = map[string][]string{
	"stamp":                     {"name", CtxFleets},
	"fleetOverride":             {stampFleetRef},
	"stampconfig.FleetConfig":   {"name", "instanceType", "maxCapacity", "appPort"},
	"stampconfig.ScalingTarget": {"cpu"},
	"scaling.Policy":            {"rules"},
	"scaling.Rule":              {"alarm", "direction", "adjustmentType", "steps"},
	"scaling.Trigger":           {"namespace", "metric", "statistic", "period", "evaluationPeriods", "datapointsToAlarm"},
	"scaling.Forecast":          {"namespace", "metric", "perInstance", "lookbackDays", "window", "quantile"},
	"lifecycle.Probe":           {"kind"},
	"stampconfig.DNSConfig":     {"hostedZoneId", "zoneName", "recordName"},
}

// stackOwned are the fields the stack fills in and validate refuses in
// cdk.json: neither the schema nor the reference lists them.
var stackOwned = []string{
	"rollout.Policy.Wave",
	"rollout.BlueGreen.Listener", "rollout.BlueGreen.TargetGroup", "rollout.BlueGreen.PeerGroup",
	"rollout.BlueGreen.PeerTargetGroup", "rollout.BlueGreen.ResourcesParameter", "rollout.BlueGreen.WeightParameters",
}

func ptr[T any](v T) *T { return &v }

func intsAsAny(ns []int) []any {
	out := make([]any, len(ns))
	for i, n := range ns {
		out[i] = n
	}
	return out
}

// object is a JSON object of the configuration: a struct type's fields,
// or the context's and a stamps[] entry's keys.
type object struct {
	name     string
	paths    []string
	doc      string
	props    []*property
	required []string
	// open objects take keys they do not list (the context).
	open bool
	// extends is the object whose keys end props.
	extends *object
}

type property struct {
	name string
	doc  string
	v    *value
	def  defaultValue
}

// value is what a key holds.
type value struct {
	// kind is "string", "integer", "number", "boolean", "duration",
	// "list", "map", "object" or "fleet" (a stamp's fleet entry).
	kind   string
	obj    *object
	items  *value
	enum   []any
	bounds bounds
	// alts are a stamp's fleet entry's shapes.
	alts []*value
}

// builder walks the configuration's types once.
type builder struct {
	objects  map[string]*object
	order    []*object
	defaults defaultTable
	context  *object
	// looked are the doc keys looked up, and packages the import paths
	// of the packages they name, for the doc table's generator.
	looked   []string
	packages map[string]string
}

func build() *builder {
	b := &builder{objects: map[string]*object{}, defaults: collectDefaults(),
		packages: map[string]string{"stampconfig": reflect.TypeFor[Config]().PkgPath()}}
	b.context = b.contextObject()
	return b
}

// doc is the doc comment of a field ("scaling.Policy.Min"), a type
// ("scaling.Policy") or a constant ("stampconfig.CtxStamp"), with its
// leading Go name replaced by the key it is in cdk.json.
func (b *builder) doc(key, jsonName string) string {
	b.looked = append(b.looked, key)
	d := docTable[key]
	goName := key[strings.LastIndex(key, ".")+1:]
	if jsonName != "" && (strings.HasPrefix(d, goName+" ") || strings.HasPrefix(d, goName+",")) {
		d = jsonName + d[len(goName):]
	}
	return d
}

// contextObject is cdk.json's context: the keys stampkit reads, each
// where Config holds it, stamps[] beside them.
func (b *builder) contextObject() *object {
	o := &object{name: contextDef, paths: []string{"context"}, open: true, required: required[contextDef]}
	b.order = append(b.order, o)
	b.objects[o.name] = o
	config := reflect.TypeFor[Config]()
	// stamps[] last: its fleets are the top-level fleets[] entries.
	keys := slices.DeleteFunc(ContextKeys(), func(k string) bool { return k == CtxStamps })
	for _, key := range append(keys, CtxStamps) {
		if key == CtxStamps {
			o.props = append(o.props, &property{name: key, doc: b.doc("stampconfig.CtxStamps", key),
				v: &value{kind: "list", items: &value{kind: "object", obj: b.stampObject()}}})
			continue
		}
		field := key
		if key == CtxStamp {
			field = "name"
		}
		doc := b.doc(contextDocKey+key, key)
		f, ok := jsonFieldNamed(config, field)
		switch t, own := contextTypes[key]; {
		case ok:
			if doc == "" {
				doc = b.doc(docKey(f), key)
			}
			o.props = append(o.props, &property{name: key, doc: doc, v: b.value(f.typ, key, docKey(f)), def: b.defaults[docKey(f)]})
		case own:
			o.props = append(o.props, &property{name: key, doc: doc, v: b.value(t, key, "")})
		default:
			// A key this walk cannot type: listed with no description, for
			// TestEveryKeyDocumented to name.
			o.props = append(o.props, &property{name: key, v: &value{kind: "any"}})
		}
	}
	return o
}

// contextTypes are the types of the context keys that Config does not
// hold (ParseContext reads them apart).
var contextTypes = map[string]reflect.Type{
	CtxDNS: reflect.TypeFor[DNSConfig](),
}

// contextDocKey starts the doc table's name for the doc comment of the
// constant whose value is a context key ("context:maxAzs" is CtxMaxAzs's).
const contextDocKey = "context:"

// stampObject is a stamps[] entry: its name, its fleets, and the settings
// a stamp may set for itself (stampSettings).
func (b *builder) stampObject() *object {
	o := &object{name: "stamp", paths: []string{"stamps[]"}, required: required["stamp"], doc: b.doc("stampconfig.CtxStamps", "stamps[]")}
	b.objects[o.name] = o
	b.order = append(b.order, o)
	config := reflect.TypeFor[Config]()
	name, _ := jsonFieldNamed(config, "name")
	o.props = append(o.props, &property{name: "name", doc: b.doc(docKey(name), "name"), v: b.value(name.typ, "stamps[].name", docKey(name))})
	settings := stampSettings(&Config{})
	for _, f := range jsonFields(config) {
		if _, ok := settings[f.name]; ok {
			o.props = append(o.props, &property{name: f.name, doc: b.doc(docKey(f), f.name),
				v: b.value(f.typ, "stamps[]."+f.name, docKey(f)), def: b.defaults[docKey(f)]})
		}
	}
	fleet := b.value(reflect.TypeFor[FleetConfig](), "stamps[].fleets[]", "")
	override := &object{name: "fleetOverride", paths: []string{"stamps[].fleets[]"}, required: required["fleetOverride"],
		doc: b.doc("stampconfig.stampFleetRef", stampFleetRef)}
	b.objects[override.name] = override
	b.order = append(b.order, override)
	override.props = append(override.props, &property{name: stampFleetRef, doc: override.doc, v: &value{kind: "string"}})
	override.props = append(override.props, fleet.obj.props...)
	override.extends = fleet.obj
	o.props = append(o.props, &property{name: CtxFleets, doc: stampFleetsDoc, v: &value{kind: "list", items: &value{
		kind: "fleet", alts: []*value{{kind: "string"}, {kind: "object", obj: override}, fleet},
	}}})
	return o
}

// value is the value of a field of type t at path, known by key in the
// tables ("scaling.Policy.Min").
func (b *builder) value(t reflect.Type, path, key string) *value {
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	v := &value{bounds: ranges[key], enum: enums[key]}
	if t.PkgPath() != "" && t.Kind() == reflect.String {
		v.enum = enums[t.String()]
	}
	switch {
	case t == durationType:
		v.kind = "duration"
	case t.Kind() == reflect.Struct:
		v.kind, v.obj = "object", b.object(t, path)
	case t.Kind() == reflect.Slice:
		v.kind, v.items = "list", b.value(t.Elem(), path+"[]", key+"[]")
	case t.Kind() == reflect.Map:
		v.kind, v.items = "map", b.value(t.Elem(), path+".*", key+"[]")
	case t.Kind() == reflect.String:
		v.kind = "string"
	case t.Kind() == reflect.Bool:
		v.kind = "boolean"
	case t.Kind() == reflect.Float32 || t.Kind() == reflect.Float64:
		v.kind = "number"
	default:
		v.kind = "integer"
	}
	return v
}

// object is the object of struct type t, first met at path.
func (b *builder) object(t reflect.Type, path string) *object {
	if o, ok := b.objects[t.String()]; ok {
		o.paths = append(o.paths, path)
		return o
	}
	pkg, _, _ := strings.Cut(t.String(), ".")
	b.packages[pkg] = t.PkgPath()
	o := &object{name: t.String(), paths: []string{path}, required: required[t.String()], doc: b.doc(t.String(), "")}
	b.objects[o.name] = o
	b.order = append(b.order, o)
	for _, f := range jsonFields(t) {
		key := docKey(f)
		if slices.Contains(stackOwned, key) {
			continue
		}
		o.props = append(o.props, &property{name: f.name, doc: b.doc(key, f.name), v: b.value(f.typ, path+"."+f.name, key), def: b.defaults[key]})
	}
	return o
}

// docKey names f in the tables: "scaling.Policy.Min".
func docKey(f jsonField) string { return f.owner.String() + "." + f.field.Name }

func jsonFieldNamed(t reflect.Type, name string) (jsonField, bool) {
	for _, f := range jsonFields(t) {
		if f.name == name {
			return f, true
		}
	}
	return jsonField{}, false
}

// schema is the object's JSON Schema.
func (o *object) schema() map[string]any {
	props := map[string]any{}
	for _, p := range o.props {
		s := p.v.schema()
		if p.doc != "" {
			s["description"] = p.doc
		}
		if d, ok := p.def.literal(); ok {
			s["default"] = d
		}
		props[p.name] = s
	}
	s := map[string]any{"type": "object", "properties": props}
	if o.doc != "" {
		s["description"] = o.doc
	}
	if len(o.required) > 0 {
		s["required"] = o.required
	}
	if !o.open {
		s["additionalProperties"] = false
		return s
	}
	// validate takes keys of the CDK's ("@aws-cdk/…",
	// "availability-zones:…") and of the app's own, but refuses one
	// that is one of stampkit's in other letter case ("maxAZs"). The
	// schema refuses the same; validate also refuses a key a letter or
	// two from one, which a pattern cannot say.
	var names []any
	var folded []string
	for _, p := range o.props {
		names = append(names, p.name)
		folded = append(folded, caseless(p.name))
	}
	s["propertyNames"] = map[string]any{"anyOf": []any{
		map[string]any{"enum": names},
		map[string]any{"not": map[string]any{"pattern": "^(" + strings.Join(folded, "|") + ")$"}},
	}}
	return s
}

// caseless is a pattern matching s in any letter case.
func caseless(s string) string {
	var b strings.Builder
	for _, r := range s {
		lo, up := strings.ToLower(string(r)), strings.ToUpper(string(r))
		if lo == up {
			b.WriteString(regexpQuote(string(r)))
			continue
		}
		b.WriteString("[" + lo + up + "]")
	}
	return b.String()
}

func regexpQuote(s string) string {
	if strings.ContainsAny(s, `\.+*?()|[]{}^$`) {
		return `\` + s
	}
	return s
}

// schema is the value's JSON Schema.
func (v *value) schema() map[string]any {
	s := map[string]any{}
	switch v.kind {
	case "duration":
		s["$ref"] = "#/$defs/duration"
	case "object":
		s["$ref"] = "#/$defs/" + v.obj.name
	case "list":
		s["type"], s["items"] = "array", v.items.schema()
	case "map":
		s["type"], s["additionalProperties"] = "object", v.items.schema()
	case "any":
	case "fleet":
		var alts []any
		for _, a := range v.alts {
			alts = append(alts, a.schema())
		}
		s["anyOf"] = alts
	default:
		s["type"] = v.kind
	}
	if len(v.enum) > 0 {
		s["enum"] = v.enum
	}
	if v.bounds.min != nil {
		if v.bounds.exclusiveMin {
			s["exclusiveMinimum"] = *v.bounds.min
		} else {
			s["minimum"] = *v.bounds.min
		}
	}
	if v.bounds.max != nil {
		s["maximum"] = *v.bounds.max
	}
	return s
}

// typeText says what the value is, in the words of cdk.json.
func (v *value) typeText() string {
	switch v.kind {
	case "list":
		return "list of " + plural(v.items.typeText())
	case "map":
		return "map of " + plural(v.items.typeText())
	case "fleet":
		return "fleet name or object"
	}
	return v.kind
}

func plural(s string) string {
	if strings.HasPrefix(s, "list") || strings.HasPrefix(s, "map") || strings.HasPrefix(s, "fleet") {
		return s
	}
	return s + "s"
}

// objectTitle is the Title of the Section listing the value's keys.
func (v *value) objectTitle() string {
	switch {
	case v.obj != nil:
		return v.obj.paths[0]
	case v.items != nil:
		return v.items.objectTitle()
	}
	for _, a := range v.alts {
		if a.obj != nil {
			return a.obj.paths[0]
		}
	}
	return ""
}

// allowedText says which values Validate accepts, when it limits them.
func (v *value) allowedText() string {
	if v.items != nil && v.kind == "list" {
		if s := v.items.allowedText(); s != "" {
			return "each " + s
		}
		return ""
	}
	if len(v.enum) > 0 {
		var out []string
		for _, e := range v.enum {
			raw, _ := json.Marshal(e)
			out = append(out, "`"+string(raw)+"`")
		}
		return strings.Join(out, ", ")
	}
	num := func(p *float64) string { return strconv.FormatFloat(*p, 'g', -1, 64) }
	switch lo, hi := v.bounds.min, v.bounds.max; {
	case lo != nil && hi != nil && v.bounds.exclusiveMin:
		return "> " + num(lo) + ", ≤ " + num(hi)
	case lo != nil && hi != nil:
		return num(lo) + "–" + num(hi)
	case lo != nil && v.bounds.exclusiveMin:
		return "> " + num(lo)
	case lo != nil:
		return "≥ " + num(lo)
	}
	return ""
}
