// Command runtime benchmarks the functions as Lambda runs them and writes a
// results file in the Go benchmark format (benchstat reads it):
//
//   - BootstrapSize: each function's bootstrap and its deployment zip, for
//     arm64 (what ships) and the host architecture;
//   - ColdStart: under the AWS Lambda Runtime Interface Emulator, the init
//     phase it reports (INIT REPORT durationMs), the first invocation's round
//     trip, and the function process's resident memory right after;
//   - ColdStartRatio: each function's median over the hello-world Lambda's
//     (bench/hello, built the same way) in the same run — the goal is ≤ 1.2;
//   - PackageInit: what the Go packages' initialisation costs before main
//     (GODEBUG=inittrace=1), which explains most of the cold-start gap;
//   - ColdStartFleets: each function's cold start with its fleets in the
//     environment (3) and in the fleets file (1, 3, 100), each over the
//     environment's: what the fleets file costs (issue #18);
//   - WarmInvoke: p50/p99/mean round trip of sequential warm invocations;
//   - SDK calls through our adapters (bench/sdkcall) built as shipped, with
//     only the SDK's service packages not inlined, and with default
//     inlining, and their ratios: what SDKNoInline costs a call;
//   - the in-process decision benchmarks of shared/scaling, shared/scaler and
//     shared/lifecycle (go test -bench), appended verbatim.
//
// The runtime measurements use the host build (RIE runs native binaries);
// the events are real AWS samples the function decodes and routes but does
// not act on (an alarm, a lifecycle action of a group it does not manage),
// so the numbers are the runtime's, the SDK set-up's and the decoder's, not
// the local AWS emulator's. AWS_ENDPOINT_URL points at a closed local port:
// a stray AWS call fails fast and the run says so.
//
// Run it from the module root: go run ./bench/runtime -out bench/results.txt
package main

import (
	"archive/zip"
	"bufio"
	"bytes"
	"compress/flate"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"maps"
	"math"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/stampkit/stampkit/shared/config"
	"github.com/stampkit/stampkit/shared/event"
	"github.com/stampkit/stampkit/shared/runtimetest"
	"github.com/stampkit/stampkit/shared/scaling"
)

// baseline is the hello-world Lambda every cold start is compared with.
const baseline = "hello"

// decisionPackages hold the in-process decision benchmarks.
var decisionPackages = []string{"./shared/scaling", "./shared/scaler", "./shared/lifecycle"}

func main() {
	out := flag.String("out", "bench/results.txt", "results file")
	cold := flag.Int("cold", 15, "cold starts per function")
	warm := flag.Int("warm", 200, "warm invocations per function")
	count := flag.Int("count", 3, "go test -count for the decision benchmarks")
	sdkRounds := flag.Int("sdk-rounds", 5, "alternating rounds of the SDK call benchmarks per build")
	fleetsOnly := flag.Bool("fleets-only", false, "measure only the cold starts by where the fleets are (ColdStartFleets)")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, *out, *cold, *warm, *count, *sdkRounds, *fleetsOnly); err != nil {
		log.Fatalf("bench: %v", err)
	}
}

// profile is how one function is started and invoked for the benchmark.
type profile struct {
	env     map[string]string
	payload []byte
}

func run(ctx context.Context, out string, cold, warm, count, sdkRounds int, fleetsOnly bool) error {
	dir, err := os.MkdirTemp("", "stampkit-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	names, err := functionNames()
	if err != nil {
		return err
	}
	pkgs := []string{"./bench/" + baseline}
	for _, n := range names {
		pkgs = append(pkgs, "./functions/"+n)
	}
	all := append([]string{baseline}, names...)

	var w bytes.Buffer
	writeHeader(&w)

	log.Printf("building %d bootstraps for arm64 and %s, and the runtime emulator", len(pkgs), runtime.GOARCH)
	arm, err := runtimetest.Build(ctx, filepath.Join(dir, "arm64"), "arm64", pkgs...)
	if err != nil {
		return err
	}
	host := arm
	if runtime.GOARCH != "arm64" {
		if host, err = runtimetest.Build(ctx, filepath.Join(dir, runtime.GOARCH), runtime.GOARCH, pkgs...); err != nil {
			return err
		}
	}
	rie, err := runtimetest.BuildRIE(ctx, dir)
	if err != nil {
		return err
	}
	if err := writeSizes(&w, all, map[string]map[string]string{"arm64": arm, runtime.GOARCH: host}); err != nil {
		return err
	}

	profiles, err := profiles()
	if err != nil {
		return err
	}
	var measured []string
	for _, n := range all {
		if _, ok := profiles[n]; ok {
			measured = append(measured, n)
		} else {
			fmt.Fprintf(&w, "# %s: sized only; this benchmark has no start-up profile (environment, event) for it yet\n", n)
		}
	}

	functions := slices.DeleteFunc(slices.Clone(measured), func(n string) bool { return n == baseline })
	if fleetsOnly {
		log.Printf("cold starts by where the fleets are: %d rounds of %s", cold, strings.Join(functions, ", "))
		if err := fleetsColdStarts(ctx, &w, rie, dir, host, profiles, functions, cold); err != nil {
			return err
		}
		return finish(&w, out)
	}
	log.Printf("cold starts: %d rounds of %s", cold, strings.Join(measured, ", "))
	colds, err := coldStarts(ctx, rie, host, profiles, measured, cold)
	if err != nil {
		return err
	}
	writeColdStarts(&w, measured, colds)

	log.Printf("cold starts by where the fleets are: %d rounds of %s", cold, strings.Join(functions, ", "))
	if err := fleetsColdStarts(ctx, &w, rie, dir, host, profiles, functions, cold); err != nil {
		return err
	}

	log.Printf("package initialisation (GODEBUG=inittrace=1)")
	if err := packageInits(ctx, &w, rie, host, profiles, measured, 5); err != nil {
		return err
	}

	log.Printf("warm invocations: %d per function", warm)
	for _, n := range measured {
		lat, err := warmInvokes(ctx, rie, host[n], profiles[n], warm)
		if err != nil {
			return fmt.Errorf("%s: %w", n, err)
		}
		writeWarm(&w, n, lat)
	}

	log.Printf("SDK call cost of the shipped build's %s: %d rounds", runtimetest.SDKNoInline, sdkRounds)
	if err := sdkInliningCost(ctx, &w, sdkRounds); err != nil {
		return err
	}

	log.Printf("decision benchmarks: go test -bench %s", strings.Join(decisionPackages, " "))
	if err := decisionBenchmarks(ctx, &w, count); err != nil {
		return err
	}
	return finish(&w, out)
}

// finish notes the load at the end and writes the results file.
func finish(w *bytes.Buffer, out string) error {
	fmt.Fprintf(w, "\n# load average at end (/proc/loadavg): %s\n", loadAverage())
	if err := os.WriteFile(out, w.Bytes(), 0o644); err != nil {
		return err
	}
	log.Printf("wrote %s", out)
	return nil
}

// functionNames lists functions/<name> directories holding a main.go.
func functionNames() ([]string, error) {
	entries, err := os.ReadDir("functions")
	if err != nil {
		return nil, fmt.Errorf("listing functions (run from the module root): %w", err)
	}
	var names []string
	for _, e := range entries {
		if _, err := os.Stat(filepath.Join("functions", e.Name(), "main.go")); err == nil {
			names = append(names, e.Name())
		}
	}
	return names, nil
}

// profiles gives each function a valid configuration and a real event it
// decodes and deliberately does not act on.
func profiles() (map[string]profile, error) {
	samples, err := event.Samples()
	if err != nil {
		return nil, err
	}
	alarm := samples["cloudwatch-alarm-state-change-single-metric"]
	terminate := samples["autoscaling-terminate-lifecycle-action"]
	amiFailed := samples["ec2-ami-state-change-failed"]
	if alarm == nil || terminate == nil || amiFailed == nil {
		return nil, errors.New("sample events missing from shared/event")
	}
	// The alarm of the sample (ServerCpuTooHigh) and its group (my-asg) are
	// not this fleet's, and a failed AMI is never rolled out: the functions
	// log (and count) them and change nothing.
	c := config.Config{Table: "stampkit-bench", Fleets: []config.Fleet{{
		Name: "web", Group: "stampkit-bench-web",
		Scaling: scaling.Policy{Min: 1, Max: 10, Rules: []scaling.Rule{{
			Alarm: "stampkit-bench-high", Direction: scaling.Out, AdjustmentType: scaling.ChangeInCapacity,
			Steps: []scaling.Step{{Adjustment: 1}},
		}}},
	}}}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	env, err := c.Env()
	if err != nil {
		return nil, err
	}
	// Nothing listens on the discard port: a call that should not happen
	// fails at once instead of reaching anything.
	env["AWS_ENDPOINT_URL"] = "http://127.0.0.1:9"
	with := func(k, v string) map[string]string {
		e := maps.Clone(env)
		e[k] = v
		return e
	}
	return map[string]profile{
		baseline:    {env: env, payload: alarm},
		"scaler":    {env: env, payload: alarm},
		"lifecycle": {env: with(config.EnvWakeQueue, "http://127.0.0.1:9/000000000000/stampkit-bench-wake"), payload: terminate},
		"rollout":   {env: with(config.EnvRolloutQueue, "http://127.0.0.1:9/000000000000/stampkit-bench-rollout"), payload: amiFailed},
	}, nil
}

func writeHeader(w io.Writer) {
	fmt.Fprintf(w, "# stampkit runtime benchmark, %s\n", time.Now().UTC().Format(time.RFC3339))
	fmt.Fprintf(w, "# Produced by `make bench` (go run ./bench/runtime); benchstat reads this file.\n")
	fmt.Fprintf(w, "# Cold start and warm invoke: host bootstraps under aws-lambda-rie (%s), loopback only.\n", runtimetest.RIEPackage)
	// The cpu configuration line comes from go test below; /proc's model
	// name can differ from it, and benchstat would split the tables.
	fmt.Fprintf(w, "# host cpu (/proc/cpuinfo): %s\n", cpuModel())
	// The machine may be shared: the load says how much to trust the
	// absolute times (the ratios come from interleaved runs).
	fmt.Fprintf(w, "# load average at start (/proc/loadavg): %s\n", loadAverage())
	fmt.Fprintf(w, "goos: %s\ngoarch: %s\nncpu: %d\ngo: %s\n", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.Version())
	fmt.Fprintf(w, "buildflags: CGO_ENABLED=0 %s\n", strings.Join(quoted(runtimetest.BuildFlags()), " "))
}

func quoted(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = a
		if strings.ContainsRune(a, ' ') {
			out[i] = `"` + a + `"`
		}
	}
	return out
}

func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	return strings.Join(f[:min(3, len(f))], " ")
}

func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return "unknown"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}

// writeSizes reports each bootstrap's size and its deployment zip's (one
// entry named bootstrap, Deflate at the best compression, as `zip -9`).
func writeSizes(w io.Writer, names []string, builds map[string]map[string]string) error {
	archs := slices.Sorted(maps.Keys(builds))
	fmt.Fprintln(w)
	for _, arch := range archs {
		for _, n := range names {
			path := builds[arch][n]
			fi, err := os.Stat(path)
			if err != nil {
				return err
			}
			zipped, err := zipSize(path)
			if err != nil {
				return err
			}
			fmt.Fprintf(w, "BenchmarkBootstrapSize/fn=%s/arch=%s 1 %d bytes %d zip-bytes\n", n, arch, fi.Size(), zipped)
		}
	}
	return nil
}

func zipSize(path string) (int64, error) {
	bin, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	zw.RegisterCompressor(zip.Deflate, func(w io.Writer) (io.WriteCloser, error) {
		return flate.NewWriter(w, flate.BestCompression)
	})
	h := &zip.FileHeader{Name: "bootstrap", Method: zip.Deflate}
	h.SetMode(0o755)
	f, err := zw.CreateHeader(h)
	if err != nil {
		return 0, err
	}
	if _, err := f.Write(bin); err != nil {
		return 0, err
	}
	if err := zw.Close(); err != nil {
		return 0, err
	}
	return int64(buf.Len()), nil
}

// coldStart is one measured cold start.
type coldStart struct {
	init, first time.Duration
	rss         int64
}

// coldStarts starts each function rounds times, interleaved (hello, scaler,
// lifecycle, hello, …) so that background load on the machine falls on all
// of them alike.
func coldStarts(ctx context.Context, rie string, host map[string]string, profiles map[string]profile, names []string, rounds int) (map[string][]coldStart, error) {
	out := map[string][]coldStart{}
	for range rounds {
		for _, n := range names {
			c, err := oneColdStart(ctx, rie, host[n], profiles[n])
			if err != nil {
				return nil, fmt.Errorf("%s cold start: %w", n, err)
			}
			out[n] = append(out[n], c)
		}
	}
	return out, nil
}

func oneColdStart(ctx context.Context, rie, bootstrap string, p profile) (coldStart, error) {
	rt, err := runtimetest.Start(ctx, runtimetest.Options{RIE: rie, Bootstrap: bootstrap, Env: p.env})
	if err != nil {
		return coldStart{}, err
	}
	defer rt.Stop()
	resp, err := invokeOK(ctx, rt, p.payload)
	if err != nil {
		return coldStart{}, err
	}
	init, ok := rt.InitDuration()
	if !ok {
		return coldStart{}, fmt.Errorf("no INIT REPORT in the emulator's output:\n%s", rt.Output())
	}
	rss, err := rt.RSS()
	if err != nil {
		return coldStart{}, err
	}
	return coldStart{init: init, first: resp.Took, rss: rss}, nil
}

// invokeOK invokes and insists on a successful result: a benchmark of an
// invocation that failed would measure the wrong thing.
func invokeOK(ctx context.Context, rt *runtimetest.Runtime, payload []byte) (runtimetest.Response, error) {
	resp, err := rt.Invoke(ctx, payload)
	if err != nil {
		return resp, err
	}
	if fe, ok := resp.Error(); ok || resp.Status != 200 {
		return resp, fmt.Errorf("invocation failed: HTTP %d %s: %s\n%s", resp.Status, fe.Type, fe.Message, rt.Output())
	}
	return resp, nil
}

func writeColdStarts(w io.Writer, names []string, colds map[string][]coldStart) {
	fmt.Fprintln(w)
	for _, n := range names {
		for _, c := range colds[n] {
			fmt.Fprintf(w, "BenchmarkColdStart/fn=%s 1 %.3f init-ms %.3f first-invoke-ms %.2f rss-MB\n",
				n, ms(c.init), ms(c.first), float64(c.rss)/(1<<20))
		}
	}
	median := func(n string, f func(coldStart) float64) float64 { return medianOf(colds[n], f) }
	fmt.Fprintln(w)
	fmt.Fprintf(w, "# Cold start, median of %d (ratio = function / %s, goal ≤ 1.2):\n", len(colds[baseline]), baseline)
	fmt.Fprintf(w, "# %-10s %9s %7s %16s %7s %8s\n", "function", "init-ms", "ratio", "first-invoke-ms", "ratio", "rss-MB")
	for _, n := range names {
		fmt.Fprintf(w, "# %-10s %9.2f %6.2fx %16.2f %6.2fx %8.1f\n", n,
			median(n, initOf), median(n, initOf)/median(baseline, initOf),
			median(n, firstOf), median(n, firstOf)/median(baseline, firstOf), median(n, rssOf))
	}
	fmt.Fprintln(w)
	for _, n := range names {
		if n == baseline {
			continue
		}
		fmt.Fprintf(w, "BenchmarkColdStartRatio/fn=%s 1 %.3f init-x-hello %.3f first-invoke-x-hello %.3f rss-x-hello\n", n,
			median(n, initOf)/median(baseline, initOf), median(n, firstOf)/median(baseline, firstOf), median(n, rssOf)/median(baseline, rssOf))
	}
}

// initLine is one line of GODEBUG=inittrace=1 output.
var initLine = regexp.MustCompile(`(?m)^init (\S+) @[0-9.]+ ms, ([0-9.]+) ms clock, ([0-9]+) bytes, ([0-9]+) allocs`)

// pkgInit is one package's initialisation.
type pkgInit struct {
	pkg           string
	ms            float64
	bytes, allocs int64
}

// packageInits explains the cold starts: it runs each function under the
// emulator with GODEBUG=inittrace=1 and reports the time and memory its Go
// packages' initialisation takes before main runs, the median of rounds,
// and the packages that allocate most (allocation is deterministic, time is
// not).
func packageInits(ctx context.Context, w io.Writer, rie string, host map[string]string, profiles map[string]profile, names []string, rounds int) error {
	fmt.Fprintln(w)
	type total struct {
		ms    []float64
		inits []pkgInit
	}
	totals := map[string]*total{}
	for range rounds {
		for _, n := range names {
			inits, err := traceInit(ctx, rie, host[n], profiles[n])
			if err != nil {
				return fmt.Errorf("%s: %w", n, err)
			}
			t := totals[n]
			if t == nil {
				t = &total{inits: inits}
				totals[n] = t
			}
			var ms float64
			for _, in := range inits {
				ms += in.ms
			}
			t.ms = append(t.ms, ms)
		}
	}
	for _, n := range names {
		t := totals[n]
		var bytes, allocs int64
		for _, in := range t.inits {
			bytes += in.bytes
			allocs += in.allocs
		}
		fmt.Fprintf(w, "BenchmarkPackageInit/fn=%s 1 %.3f init-ms %d init-B %d init-allocs %d packages\n",
			n, quantile(t.ms, 0.5), bytes, allocs, len(t.inits))
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "# Package initialisation allocating most (bytes; GODEBUG=inittrace=1):\n")
	for _, n := range names {
		inits := slices.Clone(totals[n].inits)
		slices.SortFunc(inits, func(a, b pkgInit) int { return int(b.bytes - a.bytes) })
		var top []string
		for _, in := range inits[:min(4, len(inits))] {
			top = append(top, fmt.Sprintf("%s %d kB", strings.TrimPrefix(in.pkg, "github.com/aws/aws-sdk-go-v2/"), in.bytes>>10))
		}
		fmt.Fprintf(w, "# %-10s %s\n", n, strings.Join(top, ", "))
	}
	return nil
}

func traceInit(ctx context.Context, rie, bootstrap string, p profile) ([]pkgInit, error) {
	env := maps.Clone(p.env)
	env["GODEBUG"] = "inittrace=1"
	rt, err := runtimetest.Start(ctx, runtimetest.Options{RIE: rie, Bootstrap: bootstrap, Env: env})
	if err != nil {
		return nil, err
	}
	defer rt.Stop()
	// The emulator, a Go program too, passes GODEBUG on to the function
	// and traced its own initialisation before it listened: skip that.
	emulator := len(rt.Output())
	if _, err := invokeOK(ctx, rt, p.payload); err != nil {
		return nil, err
	}
	var out []pkgInit
	for _, m := range initLine.FindAllStringSubmatch(rt.Output()[emulator:], -1) {
		ms, _ := strconv.ParseFloat(m[2], 64)
		b, _ := strconv.ParseInt(m[3], 10, 64)
		a, _ := strconv.ParseInt(m[4], 10, 64)
		out = append(out, pkgInit{pkg: m[1], ms: ms, bytes: b, allocs: a})
	}
	if len(out) == 0 {
		return nil, errors.New("no inittrace lines in the output")
	}
	return out, nil
}

// warmInvokes starts the function, takes the cold invocation, and times n
// sequential warm ones.
func warmInvokes(ctx context.Context, rie, bootstrap string, p profile, n int) ([]time.Duration, error) {
	rt, err := runtimetest.Start(ctx, runtimetest.Options{RIE: rie, Bootstrap: bootstrap, Env: p.env})
	if err != nil {
		return nil, err
	}
	defer rt.Stop()
	if _, err := invokeOK(ctx, rt, p.payload); err != nil {
		return nil, err
	}
	lat := make([]time.Duration, 0, n)
	for range n {
		resp, err := invokeOK(ctx, rt, p.payload)
		if err != nil {
			return nil, err
		}
		lat = append(lat, resp.Took)
	}
	return lat, nil
}

func writeWarm(w io.Writer, name string, lat []time.Duration) {
	vs := make([]float64, len(lat))
	var sum time.Duration
	for i, l := range lat {
		vs[i] = ms(l)
		sum += l
	}
	fmt.Fprintf(w, "BenchmarkWarmInvoke/fn=%s %d %d ns/op %.3f p50-ms %.3f p99-ms\n",
		name, len(lat), int64(sum)/int64(len(lat)), quantile(vs, 0.5), quantile(vs, 0.99))
}

// decisionBenchmarks appends the in-process benchmarks' output.
func decisionBenchmarks(ctx context.Context, w io.Writer, count int) error {
	args := append([]string{"test", "-run", "^$", "-bench", ".", "-benchmem", "-count", fmt.Sprint(count)}, decisionPackages...)
	cmd := exec.CommandContext(ctx, "go", args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, out.Bytes())
	}
	fmt.Fprintf(w, "\n# In-process decision latency: go %s\n", strings.Join(args, " "))
	// Keep the benchmark and configuration lines; drop PASS/ok lines.
	for line := range strings.SplitSeq(out.String(), "\n") {
		if line == "PASS" || strings.HasPrefix(line, "ok ") || line == "" {
			continue
		}
		fmt.Fprintln(w, line)
	}
	return nil
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// quantile is the nearest-rank q-quantile of vs.
func quantile(vs []float64, q float64) float64 {
	if len(vs) == 0 {
		return 0
	}
	s := slices.Clone(vs)
	slices.Sort(s)
	i := int(math.Ceil(q*float64(len(s)))) - 1
	return s[max(0, min(i, len(s)-1))]
}

// medianOf is the median of f over cold starts.
func medianOf(cs []coldStart, f func(coldStart) float64) float64 {
	vs := make([]float64, len(cs))
	for i, c := range cs {
		vs[i] = f(c)
	}
	return quantile(vs, 0.5)
}

// What a cold-start table reports of each cold start.
func initOf(c coldStart) float64  { return ms(c.init) }
func firstOf(c coldStart) float64 { return ms(c.first) }
func rssOf(c coldStart) float64   { return float64(c.rss) / (1 << 20) }
