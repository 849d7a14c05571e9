package awsproxy

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestIdentify names calls the emulator tests make rarely or never: REST
// calls, CBOR paths, and calls without a signature.
func TestIdentify(t *testing.T) {
	const auth = "AWS4-HMAC-SHA256 Credential=testing/20261201/eu-west-1/%s/aws4_request, SignedHeaders=host, Signature=0"
	tests := []struct {
		name                       string
		method, path, ctype, body  string
		header                     map[string]string
		wantService, wantOperation string
		wantRegion                 string
		wantProto                  protocol
	}{
		{name: "query", method: "POST", path: "/", ctype: "application/x-www-form-urlencoded; charset=utf-8",
			body: "Action=DescribeAlarms&Version=2010-08-01", header: map[string]string{"Authorization": strings.Replace(auth, "%s", "monitoring", 1)},
			wantService: CloudWatch, wantOperation: "DescribeAlarms", wantRegion: "eu-west-1", wantProto: protoQuery},
		{name: "ec2 query", method: "POST", path: "/", ctype: "application/x-www-form-urlencoded",
			body: "Action=DescribeVpcs&Version=2016-11-15", header: map[string]string{"Authorization": strings.Replace(auth, "%s", "ec2", 1)},
			wantService: EC2, wantOperation: "DescribeVpcs", wantRegion: "eu-west-1", wantProto: protoEC2Query},
		{name: "json 1.1", method: "POST", path: "/", ctype: "application/x-amz-json-1.1", body: "{}",
			header:      map[string]string{"X-Amz-Target": "AmazonSSM.GetParameter", "Authorization": strings.Replace(auth, "%s", "ssm", 1)},
			wantService: SSM, wantOperation: "GetParameter", wantRegion: "eu-west-1", wantProto: protoJSON11},
		{name: "cbor", method: "POST", path: "/service/GraniteServiceVersion20100801/operation/GetMetricData", ctype: "application/cbor",
			header:      map[string]string{"Smithy-Protocol": "rpc-v2-cbor", "Authorization": strings.Replace(auth, "%s", "monitoring", 1)},
			wantService: CloudWatch, wantOperation: "GetMetricData", wantRegion: "eu-west-1", wantProto: protoCBOR},
		{name: "rest", method: "GET", path: "/2019-12-02/images/arn%3Aaws%3Aimagebuilder", header: map[string]string{"Authorization": strings.Replace(auth, "%s", "imagebuilder", 1)},
			wantService: "imagebuilder", wantOperation: "GET /2019-12-02/images/arn:aws:imagebuilder", wantRegion: "eu-west-1", wantProto: protoREST},
		{name: "form without an action", method: "POST", path: "/upload", ctype: "application/x-www-form-urlencoded", body: "a=b",
			wantService: "unknown", wantOperation: "POST /upload", wantRegion: "us-east-1", wantProto: protoREST},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(tt.method, tt.path, strings.NewReader(tt.body))
			if tt.ctype != "" {
				r.Header.Set("Content-Type", tt.ctype)
			}
			for k, v := range tt.header {
				r.Header.Set(k, v)
			}
			got := identify(r, []byte(tt.body))
			if got.service != tt.wantService || got.operation != tt.wantOperation || got.region != tt.wantRegion || got.proto != tt.wantProto {
				t.Errorf("got %s %s in %s over %s, want %s %s in %s over %s",
					got.service, got.operation, got.region, got.proto, tt.wantService, tt.wantOperation, tt.wantRegion, tt.wantProto)
			}
		})
	}
}

// TestErrorAnswerCodes: the code of each protocol's error answer reads back.
func TestErrorAnswerCodes(t *testing.T) {
	for _, proto := range []protocol{protoQuery, protoEC2Query, protoJSON10, protoJSON11, protoCBOR, protoREST} {
		a := errorAnswer(&request{proto: proto}, http.StatusBadRequest, "Throttling", "Rate <exceeded>")
		a.header.Del("X-Amzn-ErrorType")
		if got := errorCode(proto, a); got != "Throttling" && !(proto == protoREST && got == "Bad Request") {
			t.Errorf("%s: code got %q, want Throttling", proto, got)
		}
	}
}
