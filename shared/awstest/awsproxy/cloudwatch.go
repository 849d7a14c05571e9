package awsproxy

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/smithy-go/encoding/cbor"
)

// cloudWatchVersion is the CloudWatch Query API version moto serves.
const cloudWatchVersion = "2010-08-01"

// cloudWatch translates the CloudWatch client's smithy RPC v2 CBOR protocol
// (service/cloudwatch from v1.53; see "Smithy RPC v2 CBOR protocol" in the
// Smithy 2.0 specification and the SDK's awsQueryCompatible error handling),
// which moto answers with 404, into the AWS Query API moto serves, and the
// XML answers back into CBOR. So the toolkit's CloudWatch module moves
// freely, and moto keeps the semantics (its alarms, its metric statistics).
//
// The translation is typed by the Go client itself: an operation's request
// and answer shapes are the input and output structs of the *cloudwatch.Client
// method of that name, whatever the module's version, and their field names
// are the members' names in both protocols. CBOR maps are structures, arrays
// lists (Query "Name.member.N"), tag 1 timestamps (ISO 8601 in Query); in the
// answer, XML elements become the types the output struct declares. Union
// members (no Query form) and members moto does not send are left out.
type cloudWatch struct {
	ops map[string]reflect.Method // by operation name
}

func newCloudWatch() *cloudWatch {
	ops := map[string]reflect.Method{}
	t := reflect.TypeFor[*cloudwatch.Client]()
	for i := range t.NumMethod() {
		m := t.Method(i)
		// func(c, ctx, *XInput, ...func(*Options)) (*XOutput, error)
		if m.Type.NumIn() == 4 && m.Type.NumOut() == 2 && strings.HasSuffix(m.Type.Out(0).Elem().Name(), "Output") {
			ops[m.Name] = m
		}
	}
	return &cloudWatch{ops: ops}
}

func (c *cloudWatch) serve(ctx context.Context, p *Proxy, req *request) (answer, error) {
	a, err := c.translate(ctx, p, req)
	a.model = "cloudwatch cbor"
	return a, err
}

func (c *cloudWatch) translate(ctx context.Context, p *Proxy, req *request) (answer, error) {
	m, ok := c.ops[req.operation]
	if !ok {
		return errorAnswer(req, http.StatusBadRequest, "UnknownOperationException", "unknown operation "+req.operation), nil
	}
	form := url.Values{"Action": {req.operation}, "Version": {cloudWatchVersion}}
	payload := req.body
	if strings.EqualFold(req.http.Header.Get("Content-Encoding"), "gzip") {
		// PutMetricData is compressed (the @requestCompression trait).
		zr, err := gzip.NewReader(bytes.NewReader(payload))
		if err == nil {
			payload, err = io.ReadAll(zr)
		}
		if err != nil {
			return errorAnswer(req, http.StatusBadRequest, "SerializationException", "decompressing the request: "+err.Error()), nil
		}
	}
	if len(payload) > 0 {
		v, err := cbor.Decode(payload)
		if err != nil {
			return errorAnswer(req, http.StatusBadRequest, "SerializationException", "decoding the CBOR request: "+err.Error()), nil
		}
		if err := queryParams(form, "", v, m.Type.In(2)); err != nil {
			return errorAnswer(req, http.StatusBadRequest, "SerializationException", "translating the request: "+err.Error()), nil
		}
	}
	body := []byte(form.Encode())
	q := req.http.Clone(ctx)
	q.Method = http.MethodPost
	q.URL.Path, q.URL.RawPath, q.URL.RawQuery = "/", "", ""
	q.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	for _, h := range []string{"Smithy-Protocol", "Accept", "X-Amzn-Query-Mode", "Content-Encoding"} {
		q.Header.Del(h)
	}
	up, err := p.forward(ctx, q, body)
	if err != nil {
		return answer{}, err
	}
	if up.status >= 300 {
		code, msg := queryError(up.body)
		if code == "" {
			code, msg = "InternalFailure", fmt.Sprintf("the emulator answered %d: %.200s", up.status, up.body)
		}
		return errorAnswer(req, up.status, code, msg), nil
	}
	result, err := resultElement(up.body, req.operation+"Result")
	if err != nil {
		return errorAnswer(req, http.StatusInternalServerError, "InternalFailure", "reading the emulator's answer: "+err.Error()), nil
	}
	out, err := cborValue(result, m.Type.Out(0))
	if err != nil {
		return errorAnswer(req, http.StatusInternalServerError, "InternalFailure", "translating the emulator's answer: "+err.Error()), nil
	}
	h := http.Header{}
	h.Set("Content-Type", "application/cbor")
	h.Set("Smithy-Protocol", "rpc-v2-cbor")
	h.Set("X-Amzn-RequestId", requestID())
	return answer{status: http.StatusOK, header: h, body: cbor.Encode(out)}, nil
}

var timeType = reflect.TypeFor[time.Time]()

// queryParams adds the CBOR value v of Go type t to form under prefix, as the
// Query protocol names members: Struct.Member, List.member.N,
// Map.entry.N.key/value.
func queryParams(form url.Values, prefix string, v cbor.Value, t reflect.Type) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if _, null := v.(*cbor.Nil); null {
		return nil
	}
	join := func(name string) string {
		if prefix == "" {
			return name
		}
		return prefix + "." + name
	}
	switch {
	case t == timeType:
		tm, err := cbor.AsTime(v)
		if err != nil {
			return fmt.Errorf("%s: %w", prefix, err)
		}
		form.Set(prefix, tm.UTC().Format("2006-01-02T15:04:05.999Z"))
	case t.Kind() == reflect.Struct:
		m, ok := v.(cbor.Map)
		if !ok {
			return fmt.Errorf("%s: got %T, want a map for %s", prefix, v, t)
		}
		for name, mv := range m {
			f, ok := t.FieldByName(name)
			if !ok || !f.IsExported() {
				return fmt.Errorf("%s: %s has no member %s", prefix, t, name)
			}
			if err := queryParams(form, join(name), mv, f.Type); err != nil {
				return err
			}
		}
	case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Uint8:
		b, ok := v.(cbor.Slice)
		if !ok {
			return fmt.Errorf("%s: got %T, want a byte string", prefix, v)
		}
		form.Set(prefix, base64.StdEncoding.EncodeToString(b))
	case t.Kind() == reflect.Slice:
		l, ok := v.(cbor.List)
		if !ok {
			return fmt.Errorf("%s: got %T, want an array", prefix, v)
		}
		if len(l) == 0 {
			form.Set(prefix, "") // how the Query protocol sends an empty list
		}
		for i, e := range l {
			if err := queryParams(form, fmt.Sprintf("%s.member.%d", prefix, i+1), e, t.Elem()); err != nil {
				return err
			}
		}
	case t.Kind() == reflect.Map:
		m, ok := v.(cbor.Map)
		if !ok {
			return fmt.Errorf("%s: got %T, want a map", prefix, v)
		}
		i := 0
		for k, mv := range m {
			i++
			form.Set(fmt.Sprintf("%s.entry.%d.key", prefix, i), k)
			if err := queryParams(form, fmt.Sprintf("%s.entry.%d.value", prefix, i), mv, t.Elem()); err != nil {
				return err
			}
		}
	case t.Kind() == reflect.String:
		s, ok := v.(cbor.String)
		if !ok {
			return fmt.Errorf("%s: got %T, want a string", prefix, v)
		}
		form.Set(prefix, string(s))
	case t.Kind() == reflect.Bool:
		b, ok := v.(cbor.Bool)
		if !ok {
			return fmt.Errorf("%s: got %T, want a boolean", prefix, v)
		}
		form.Set(prefix, strconv.FormatBool(bool(b)))
	case t.Kind() == reflect.Float32 || t.Kind() == reflect.Float64:
		f, err := cbor.AsFloat64(v)
		if err != nil {
			return fmt.Errorf("%s: %w", prefix, err)
		}
		form.Set(prefix, strconv.FormatFloat(f, 'f', -1, 64))
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Int64:
		n, err := cbor.AsInt64(v)
		if err != nil {
			return fmt.Errorf("%s: %w", prefix, err)
		}
		form.Set(prefix, strconv.FormatInt(n, 10))
	default:
		return fmt.Errorf("%s: no Query form for %s", prefix, t)
	}
	return nil
}

// node is an XML element: its name, text and child elements.
type node struct {
	name     string
	text     string
	children []*node
}

func (n *node) child(name string) *node {
	for _, c := range n.children {
		if c.name == name {
			return c
		}
	}
	return nil
}

// resultElement parses a Query answer and returns its <name> element; an
// answer without one (an operation with no output) is an empty element.
func resultElement(body []byte, name string) (*node, error) {
	d := xml.NewDecoder(bytes.NewReader(body))
	var stack []*node
	root := &node{}
	stack = append(stack, root)
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			n := &node{name: tok.Name.Local}
			top := stack[len(stack)-1]
			top.children = append(top.children, n)
			stack = append(stack, n)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			top := stack[len(stack)-1]
			top.text += string(tok)
		}
	}
	var find func(*node) *node
	find = func(n *node) *node {
		if n.name == name {
			return n
		}
		for _, c := range n.children {
			if r := find(c); r != nil {
				return r
			}
		}
		return nil
	}
	if r := find(root); r != nil {
		return r, nil
	}
	return &node{name: name}, nil
}

// queryError reads the code and message of a Query error answer.
func queryError(body []byte) (code, msg string) {
	n, err := resultElement(body, "Error")
	if err != nil {
		return "", ""
	}
	if c := n.child("Code"); c != nil {
		code = strings.TrimSpace(c.text)
	}
	if m := n.child("Message"); m != nil {
		msg = strings.TrimSpace(m.text)
	}
	return code, msg
}

// cborValue is the XML element n as the CBOR value of Go type t.
func cborValue(n *node, t reflect.Type) (cbor.Value, error) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	text := strings.TrimSpace(n.text)
	switch {
	case t == timeType:
		tm, err := time.Parse(time.RFC3339Nano, text)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", n.name, err)
		}
		return &cbor.Tag{ID: 1, Value: cbor.Float64(float64(tm.UnixNano()) / 1e9)}, nil
	case t.Kind() == reflect.Struct:
		m := cbor.Map{}
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() || f.Name == "ResultMetadata" || f.Type.Kind() == reflect.Interface {
				continue
			}
			c := n.child(f.Name)
			if c == nil {
				continue
			}
			v, err := cborValue(c, f.Type)
			if err != nil {
				return nil, fmt.Errorf("%s.%w", n.name, err)
			}
			m[f.Name] = v
		}
		return m, nil
	case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Uint8:
		b, err := base64.StdEncoding.DecodeString(text)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", n.name, err)
		}
		return cbor.Slice(b), nil
	case t.Kind() == reflect.Slice:
		l := cbor.List{}
		for _, c := range n.children {
			if c.name != "member" {
				continue
			}
			v, err := cborValue(c, t.Elem())
			if err != nil {
				return nil, fmt.Errorf("%s.%w", n.name, err)
			}
			l = append(l, v)
		}
		return l, nil
	case t.Kind() == reflect.Map:
		m := cbor.Map{}
		for _, e := range n.children {
			k, v := e.child("key"), e.child("value")
			if e.name != "entry" || k == nil || v == nil {
				continue
			}
			cv, err := cborValue(v, t.Elem())
			if err != nil {
				return nil, fmt.Errorf("%s.%w", n.name, err)
			}
			m[strings.TrimSpace(k.text)] = cv
		}
		return m, nil
	case t.Kind() == reflect.String:
		return cbor.String(n.text), nil
	case t.Kind() == reflect.Bool:
		b, err := strconv.ParseBool(text)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", n.name, err)
		}
		return cbor.Bool(b), nil
	case t.Kind() == reflect.Float32:
		f, err := strconv.ParseFloat(text, 32)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", n.name, err)
		}
		return cbor.Float32(f), nil
	case t.Kind() == reflect.Float64:
		f, err := strconv.ParseFloat(text, 64)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", n.name, err)
		}
		return cbor.Float64(f), nil
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Int64:
		i, err := strconv.ParseInt(text, 10, 64)
		if err != nil {
			// moto writes some integers as floats ("60.0").
			f, ferr := strconv.ParseFloat(text, 64)
			if ferr != nil || f != math.Trunc(f) {
				return nil, fmt.Errorf("%s: %w", n.name, err)
			}
			i = int64(f)
		}
		if i < 0 {
			return cbor.NegInt(uint64(-i)), nil
		}
		return cbor.Uint(uint64(i)), nil
	}
	return nil, fmt.Errorf("%s: no CBOR form for %s", n.name, t)
}
