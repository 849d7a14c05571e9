package launchtemplate

// Internal test: requestData is unexported, and the property checked here,
// that the JSON round trip copies every field, is about the implementation.

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/google/go-cmp/cmp"
)

// responseOnly lists the fields of ResponseLaunchTemplateData that have no
// counterpart in RequestLaunchTemplateData. All are read-only status that EC2
// computes, so dropping them loses nothing a new version could carry. "*"
// steps into a list.
var responseOnly = [][]string{
	{"MetadataOptions", "State"},
	{"NetworkInterfaces", "*", "Ipv6Addresses", "*", "IsPrimaryIpv6"},
	{"Operator", "HiddenByDefault"},
	{"Operator", "Managed"},
}

var timeType = reflect.TypeOf(time.Time{})

func elem(t reflect.Type) (reflect.Type, bool) {
	list := false
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
		if t.Kind() == reflect.Slice {
			list = true
		}
		t = t.Elem()
	}
	return t, list
}

// unmatched walks resp and req together and reports each response field
// without a request field of the same name, and each pair whose kinds JSON
// cannot map onto each other.
func unmatched(path []string, resp, req reflect.Type) (missing [][]string, clash []string) {
	resp, respList := elem(resp)
	req, reqList := elem(req)
	if resp.Kind() != req.Kind() || respList != reqList || resp.Kind() == reflect.Interface || resp.Kind() == reflect.Map {
		return nil, []string{strings.Join(path, ".") + ": " + resp.String() + " vs " + req.String()}
	}
	if resp.Kind() != reflect.Struct || resp == timeType {
		return nil, nil
	}
	for i := range resp.NumField() {
		f := resp.Field(i)
		if !f.IsExported() {
			continue
		}
		p := slices.Clone(path)
		p = append(p, f.Name)
		if _, list := elem(f.Type); list {
			p = append(p, "*")
		}
		g, ok := req.FieldByName(f.Name)
		if !ok {
			missing = append(missing, trimStar(p))
			continue
		}
		m, c := unmatched(p, f.Type, g.Type)
		missing, clash = append(missing, m...), append(clash, c...)
	}
	return missing, clash
}

func trimStar(p []string) []string {
	if len(p) > 0 && p[len(p)-1] == "*" {
		return p[:len(p)-1]
	}
	return p
}

func TestRequestDataTypesMirror(t *testing.T) {
	missing, clash := unmatched(nil,
		reflect.TypeOf(types.ResponseLaunchTemplateData{}),
		reflect.TypeOf(types.RequestLaunchTemplateData{}))
	if len(clash) > 0 {
		t.Errorf("fields JSON cannot copy: got %v, want none", clash)
	}
	if diff := cmp.Diff(responseOnly, missing); diff != "" {
		t.Errorf("response-only fields changed with the SDK (-want +got):\n%s\nReview each new one: copy it by hand or add it to responseOnly.", diff)
	}
}

// fill sets every exported field reachable from v to a non-zero value: one
// element per list, the field's name for strings.
func fill(v reflect.Value, name string) {
	switch v.Kind() {
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(v.Elem(), name)
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 1, 1))
		fill(v.Index(0), name)
	case reflect.String:
		v.SetString("v-" + name)
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(7)
	case reflect.Float32, reflect.Float64:
		v.SetFloat(1.5)
	case reflect.Struct:
		if v.Type() == timeType {
			v.Set(reflect.ValueOf(time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)))
			return
		}
		for i := range v.NumField() {
			if f := v.Type().Field(i); f.IsExported() {
				fill(v.Field(i), f.Name)
			}
		}
	}
}

func asMap(t *testing.T, v any) map[string]any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func drop(v any, path []string) {
	switch x := v.(type) {
	case map[string]any:
		if len(path) == 1 {
			delete(x, path[0])
			return
		}
		drop(x[path[0]], path[1:])
	case []any:
		for _, e := range x {
			drop(e, path[1:]) // path[0] is "*"
		}
	}
}

func TestRequestDataCopiesEveryField(t *testing.T) {
	var resp types.ResponseLaunchTemplateData
	fill(reflect.ValueOf(&resp).Elem(), "root")

	req, err := requestData(&resp)
	if err != nil {
		t.Fatalf("requestData: %v", err)
	}
	want := asMap(t, &resp)
	for _, p := range responseOnly {
		drop(want, p)
	}
	if diff := cmp.Diff(want, asMap(t, req)); diff != "" {
		t.Errorf("request data differs from response data (-want +got):\n%s", diff)
	}
}

func TestRequestDataNil(t *testing.T) {
	got, err := requestData(nil)
	if err != nil || got == nil || !reflect.ValueOf(*got).IsZero() {
		t.Errorf("requestData(nil): got %+v, %v, want empty data, nil", got, err)
	}
}
