package runtimetest_test

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"

	"github.com/stampkit/stampkit/shared/runtimetest"
)

func TestResponseError(t *testing.T) {
	tests := []struct {
		name   string
		body   string
		want   runtimetest.FunctionError
		wantOK bool
	}{
		{name: "function error", body: `{"errorMessage":"decoding: bad","errorType":"wrapError"}`,
			want: runtimetest.FunctionError{Type: "wrapError", Message: "decoding: bad"}, wantOK: true},
		{name: "result object", body: `{"bytes":7}`},
		{name: "null result", body: `null`},
		{name: "not JSON", body: `ok`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := runtimetest.Response{Status: 200, Body: []byte(tt.body)}.Error()
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("got %+v, %v; want %+v, %v", got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

// TestHelloUnderEmulator builds the hello-world baseline and the emulator,
// and checks the whole life of a Runtime: the cold start starts the
// function's process, invocations answer, the init report and memory are
// read, and Stop leaves no process behind.
func TestHelloUnderEmulator(t *testing.T) {
	rie, hello := buildHello(t)
	rt, err := runtimetest.Start(t.Context(), runtimetest.Options{RIE: rie, Bootstrap: hello, Env: map[string]string{"EXTRA": "1"}})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Stop()
	if _, err := rt.FunctionPID(); err == nil {
		t.Errorf("a function process exists before the first invocation, want a lazy cold start")
	}
	if _, ok := rt.InitDuration(); ok {
		t.Errorf("init reported before the first invocation")
	}

	for i, payload := range []string{`{"a":1}`, `{"abc":[1,2,3]}`} {
		resp, err := rt.Invoke(t.Context(), []byte(payload))
		if err != nil {
			t.Fatalf("invoke %d: %v", i, err)
		}
		if got, want := string(resp.Body), fmt.Sprintf(`{"bytes":%d}`, len(payload)); resp.Status != 200 || got != want {
			t.Errorf("invoke %d: got HTTP %d %s, want 200 %s", i, resp.Status, got, want)
		}
		if resp.Took <= 0 {
			t.Errorf("invoke %d: round trip %s, want > 0", i, resp.Took)
		}
	}
	if d, ok := rt.InitDuration(); !ok || d <= 0 {
		t.Errorf("InitDuration: got %s, %v; want > 0, true\n%s", d, ok, rt.Output())
	}
	rss, err := rt.RSS()
	if err != nil || rss < 1<<20 || rss > 1<<30 {
		t.Errorf("RSS: got %d, %v; want 1 MiB to 1 GiB", rss, err)
	}
	pid, err := rt.FunctionPID()
	if err != nil {
		t.Fatalf("FunctionPID: %v", err)
	}
	rt.Stop()
	if alive(pid) {
		t.Errorf("function process %d still running after Stop", pid)
	}
}

// buildHello builds the emulator and the hello-world bootstrap into a
// temporary directory; it skips the test under -short and off Linux.
func buildHello(t *testing.T) (rie, hello string) {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the emulator and a bootstrap; skipped in -short mode")
	}
	if runtime.GOOS != "linux" {
		t.Skip("the runtime interface emulator runs on Linux only")
	}
	dir := t.TempDir()
	rie, err := runtimetest.BuildRIE(t.Context(), dir)
	if err != nil {
		t.Fatal(err)
	}
	bins, err := runtimetest.Build(t.Context(), dir, runtime.GOARCH, "github.com/stampkit/stampkit/bench/hello")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(bins["hello"], "/hello/bootstrap") {
		t.Fatalf("built %v, want hello/bootstrap", bins)
	}
	return rie, bins["hello"]
}

// alive reports whether pid runs (a zombie awaiting its reaper does not).
func alive(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	i := strings.LastIndexByte(string(stat), ')')
	return i >= 0 && !strings.HasPrefix(strings.TrimSpace(string(stat[i+1:])), "Z")
}

// TestRuntimesSideBySide starts two emulators at once and invokes both: each
// serves its Runtime API on its own port, where the emulator's default
// (127.0.0.1:9001) would let only the first start its function. `go test
// ./...` runs the e2e and runtimetest packages in parallel, and `make
// bench` may run beside them; so does CI (`make test-e2e` runs both
// packages at once).
func TestRuntimesSideBySide(t *testing.T) {
	rie, hello := buildHello(t)
	var rts []*runtimetest.Runtime
	for range 2 {
		rt, err := runtimetest.Start(t.Context(), runtimetest.Options{RIE: rie, Bootstrap: hello})
		if err != nil {
			t.Fatal(err)
		}
		defer rt.Stop()
		rts = append(rts, rt)
	}
	for i, rt := range rts {
		resp, err := rt.Invoke(t.Context(), []byte(`{}`))
		if err != nil {
			t.Fatalf("runtime %d: %v", i, err)
		}
		if resp.Status != 200 || string(resp.Body) != `{"bytes":2}` {
			t.Errorf("runtime %d: got HTTP %d %s, want 200 {\"bytes\":2}\n%s", i, resp.Status, resp.Body, rt.Output())
		}
	}
}
