package awsproxy

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"github.com/aws/smithy-go/encoding/cbor"
)

// protocol is a wire protocol of the AWS SDK.
type protocol int

const (
	protoREST     protocol = iota // anything not below: REST-JSON, REST-XML
	protoQuery                    // awsQuery: form body with Action=, XML answers
	protoEC2Query                 // ec2Query: as awsQuery, another error shape
	protoJSON10                   // awsJson1_0: X-Amz-Target, JSON
	protoJSON11                   // awsJson1_1
	protoCBOR                     // smithy rpcv2Cbor: /service/<svc>/operation/<op>
)

func (p protocol) String() string {
	return [...]string{"REST", "Query", "EC2 Query", "JSON 1.0", "JSON 1.1", "RPC v2 CBOR"}[p]
}

// credentialScope finds the service in a SigV4 Authorization header:
// "AWS4-HMAC-SHA256 Credential=AKID/20261201/us-east-1/autoscaling/aws4_request, …".
var credentialScope = regexp.MustCompile(`Credential=[^/,]*/[0-9]{8}/([^/,]+)/([^/,]+)/aws4_request`)

// cborPath is the RPC v2 CBOR request path.
var cborPath = regexp.MustCompile(`^/service/([^/]+)/operation/([^/]+)$`)

// identify names r's service, operation and protocol.
func identify(r *http.Request, body []byte) *request {
	req := &request{http: r, body: body, service: "unknown", region: "us-east-1"}
	if m := credentialScope.FindStringSubmatch(r.Header.Get("Authorization")); m != nil {
		req.region, req.service = m[1], m[2]
	}
	contentType, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch target := r.Header.Get("X-Amz-Target"); {
	case target != "":
		// "DynamoDB_20120810.PutItem", "AmazonSSM.GetParameter".
		req.operation = target[strings.LastIndexByte(target, '.')+1:]
		req.proto = protoJSON10
		if contentType == "application/x-amz-json-1.1" {
			req.proto = protoJSON11
		}
	case cborPath.MatchString(r.URL.Path):
		req.operation = cborPath.FindStringSubmatch(r.URL.Path)[2]
		req.proto = protoCBOR
	case r.Method == http.MethodPost && contentType == "application/x-www-form-urlencoded":
		form, err := url.ParseQuery(string(body))
		if err == nil && form.Get("Action") != "" {
			req.form = form
			req.operation = form.Get("Action")
			req.proto = protoQuery
			if req.service == EC2 {
				req.proto = protoEC2Query
			}
			break
		}
		fallthrough
	default:
		req.operation = r.Method + " " + r.URL.Path
		req.proto = protoREST
	}
	return req
}

// requestID returns a random AWS-style request id.
func requestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// errorAnswer is an AWS error in req's protocol: what each protocol's SDK
// deserializer reads the code and message from.
func errorAnswer(req *request, status int, code, message string) answer {
	h := http.Header{}
	h.Set("X-Amzn-RequestId", requestID())
	var body []byte
	fault := "Sender"
	if status >= 500 {
		fault = "Receiver"
	}
	switch req.proto {
	case protoQuery:
		h.Set("Content-Type", "text/xml")
		body = fmt.Appendf(nil, `<ErrorResponse><Error><Type>%s</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>%s</RequestId></ErrorResponse>`,
			fault, escape(code), escape(message), h.Get("X-Amzn-RequestId"))
	case protoEC2Query:
		h.Set("Content-Type", "text/xml;charset=UTF-8")
		body = fmt.Appendf(nil, `<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>%s</Code><Message>%s</Message></Error></Errors><RequestID>%s</RequestID></Response>`,
			escape(code), escape(message), h.Get("X-Amzn-RequestId"))
	case protoJSON10, protoJSON11:
		h.Set("Content-Type", map[protocol]string{protoJSON10: "application/x-amz-json-1.0", protoJSON11: "application/x-amz-json-1.1"}[req.proto])
		h.Set("X-Amzn-ErrorType", code)
		body, _ = json.Marshal(map[string]string{"__type": code, "message": message})
	case protoCBOR:
		h.Set("Content-Type", "application/cbor")
		h.Set("Smithy-Protocol", "rpc-v2-cbor")
		// The services on CBOR that came from Query (CloudWatch) are
		// awsQueryCompatible: the SDK takes the Query code from this header.
		h.Set("X-Amzn-Query-Error", code+";"+fault)
		body = cbor.Encode(cbor.Map{"__type": cbor.String(code), "message": cbor.String(message)})
	default:
		h.Set("Content-Type", "application/json")
		h.Set("X-Amzn-ErrorType", code)
		body, _ = json.Marshal(map[string]string{"message": message})
	}
	return answer{status: status, header: h, body: body}
}

func escape(s string) string {
	var b bytes.Buffer
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

var xmlCode = regexp.MustCompile(`<Code>([^<]*)</Code>`)

// errorCode returns the AWS error code of an error answer, "" for a success.
func errorCode(proto protocol, a answer) string {
	if a.status < 300 {
		return ""
	}
	if c := a.header.Get("X-Amzn-ErrorType"); c != "" {
		return c
	}
	switch proto {
	case protoQuery, protoEC2Query:
		if m := xmlCode.FindSubmatch(a.body); m != nil {
			return string(m[1])
		}
	case protoJSON10, protoJSON11, protoREST:
		var e struct {
			Type string `json:"__type"`
		}
		if json.Unmarshal(a.body, &e) == nil && e.Type != "" {
			return e.Type[strings.LastIndexByte(e.Type, '#')+1:]
		}
	case protoCBOR:
		if v, err := cbor.Decode(a.body); err == nil {
			if m, ok := v.(cbor.Map); ok {
				if s, ok := m["__type"].(cbor.String); ok {
					return string(s)
				}
			}
		}
	}
	return http.StatusText(a.status)
}

// queryResult is a successful Query answer to op, result being the XML inside
// <opResult>.
func queryResult(op, xmlns, result string) answer {
	id := requestID()
	h := http.Header{}
	h.Set("Content-Type", "text/xml")
	h.Set("X-Amzn-RequestId", id)
	body := fmt.Appendf(nil, `<%[1]sResponse xmlns="%[2]s"><%[1]sResult>%[3]s</%[1]sResult><ResponseMetadata><RequestId>%[4]s</RequestId></ResponseMetadata></%[1]sResponse>`,
		op, xmlns, result, id)
	return answer{status: http.StatusOK, header: h, body: body}
}

// members returns the list a Query form sends as prefix.member.1,
// prefix.member.2, …, in order.
func members(form url.Values, prefix string) []string {
	var out []string
	for i := 1; ; i++ {
		k := fmt.Sprintf("%s.member.%d", prefix, i)
		if !form.Has(k) {
			return out
		}
		out = append(out, form.Get(k))
	}
}
