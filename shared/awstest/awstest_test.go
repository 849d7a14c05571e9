package awstest_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/stampkit/stampkit/shared/awserr"
	"github.com/stampkit/stampkit/shared/awstest"
)

var emu = awstest.New()

func TestMain(m *testing.M) { os.Exit(emu.Run(m)) }

func TestResetWipesState(t *testing.T) {
	cfg := emu.Fresh(t)
	t.Logf("emulator start time: %s", emu.StartTime())
	if emu.StartTime() <= 0 {
		t.Errorf("start time: got %s, want > 0", emu.StartTime())
	}
	client := ssm.NewFromConfig(cfg)
	if _, err := client.PutParameter(t.Context(), &ssm.PutParameterInput{
		Name: aws.String("/stampkit/probe"), Value: aws.String("v1"), Type: "String",
	}); err != nil {
		t.Fatalf("PutParameter: %v", err)
	}
	if _, err := client.GetParameter(t.Context(), &ssm.GetParameterInput{Name: aws.String("/stampkit/probe")}); err != nil {
		t.Fatalf("GetParameter before reset: %v", err)
	}

	began := time.Now()
	emu.Reset(t)
	t.Logf("reset time: %s", time.Since(began))

	_, err := client.GetParameter(t.Context(), &ssm.GetParameterInput{Name: aws.String("/stampkit/probe")})
	if !awserr.IsNotFound(err) {
		t.Errorf("GetParameter after reset: got error %v, want a not-found error", err)
	}
}

// recorder captures Skipf/Fatalf instead of ending the real test, so the
// missing-emulator paths can be checked without skipping or failing this test.
type recorder struct {
	testing.TB
	skipped, fatal string
}

func (r *recorder) Helper() {}
func (r *recorder) Skipf(format string, args ...any) {
	r.skipped = fmt.Sprintf(format, args...)
	runtime.Goexit()
}
func (r *recorder) Fatalf(format string, args ...any) {
	r.fatal = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func TestMissingMoto(t *testing.T) {
	if testing.Short() {
		t.Skip("the -short check runs before the moto check")
	}
	cases := []struct {
		name      string
		require   string
		wantSkip  bool
		wantFatal bool
	}{
		{name: "skips by default", require: "", wantSkip: true},
		{name: "fails when required", require: "1", wantFatal: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// A python3 that cannot import anything stands in for a machine
			// without moto.
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "python3"), []byte("#!/bin/sh\necho 'No module named moto' >&2\nexit 1\n"), 0o755); err != nil {
				t.Fatal(err)
			}
			t.Setenv("PATH", dir)
			t.Setenv(awstest.RequireEnv, tc.require)

			e := awstest.New()
			defer e.Stop()
			r := &recorder{TB: t}
			var wg sync.WaitGroup
			wg.Go(func() { e.Endpoint(r) })
			wg.Wait()
			if got := r.skipped != ""; got != tc.wantSkip {
				t.Errorf("skipped: got %v (%q), want %v", got, r.skipped, tc.wantSkip)
			}
			if got := r.fatal != ""; got != tc.wantFatal {
				t.Errorf("fatal: got %v (%q), want %v", got, r.fatal, tc.wantFatal)
			}
		})
	}
}

// TestResetTiming measures what every emulator test pays up front: a reset of
// a populated emulator, then building the standard fleet.
func TestResetTiming(t *testing.T) {
	cfg := emu.Fresh(t)
	began := time.Now()
	f := awstest.NewFleet(t, cfg) // warms the EC2, ELB and Auto Scaling backends
	t.Logf("first NewFleet (moto loads its backends lazily): %s", time.Since(began))
	if f.GroupName == "" || f.ListenerARN == "" {
		t.Fatalf("fleet: got %+v, want a group and a listener", f)
	}
	const rounds = 5
	var reset, fleet time.Duration
	for range rounds {
		began := time.Now()
		emu.Reset(t)
		reset += time.Since(began)
		began = time.Now()
		awstest.NewFleet(t, cfg)
		fleet += time.Since(began)
	}
	t.Logf("populated reset: %s on average; NewFleet: %s on average (%d rounds)", reset/rounds, fleet/rounds, rounds)
}

// The emulator config retries a dropped connection, and nothing else: a
// test must see every AWS error as it is.
func TestConfigRetriesOnlyBrokenConnections(t *testing.T) {
	var requests atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch requests.Add(1) {
		case 1: // drop the connection mid-request
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.Close()
			}
		case 2:
			w.Header().Set("Content-Type", "application/x-amz-json-1.0")
			fmt.Fprint(w, `{}`)
		default:
			w.Header().Set("Content-Type", "application/x-amz-json-1.0")
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `{"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException","message":"slow down"}`)
		}
	}))
	defer srv.Close()
	db := dynamodb.NewFromConfig(awstest.ConfigFor(srv.URL))
	get := &dynamodb.GetItemInput{TableName: aws.String("t"), Key: map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "k"}}}
	if _, err := db.GetItem(t.Context(), get); err != nil {
		t.Fatalf("GetItem after a dropped connection: %v", err)
	}
	if n := requests.Load(); n != 2 {
		t.Errorf("requests: got %d, want 2 (the dropped one retried)", n)
	}
	if _, err := db.GetItem(t.Context(), get); err == nil {
		t.Fatal("GetItem: got nil, want the throttling error")
	}
	if n := requests.Load(); n != 3 {
		t.Errorf("requests: got %d, want 3 (a throttling error is not retried)", n)
	}
}
