package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/stampkit/stampkit/shared/runtimetest"
)

// sdkCallPackage holds the SDK call benchmarks: our adapters over real SDK
// clients against a loopback server with canned responses.
const sdkCallPackage = "./bench/sdkcall"

// benchLine is one go test -bench result line: name (GOMAXPROCS suffix
// dropped) and ns/op.
var benchLine = regexp.MustCompile(`(?m)^(Benchmark\S+?)(?:-\d+)?\s+\d+\s+([0-9.]+) ns/op`)

// servicesNoInline is the narrower scope SDKNoInline had before the waves:
// the generated service packages alone. Measured beside the shipped scope
// so that the wider one's cost stays on record.
const servicesNoInline = "github.com/aws/aws-sdk-go-v2/service/...=-l"

// sdkInliningCost measures what the shipped build's SDKNoInline costs a
// call: the SDK call benchmarks built as shipped, with servicesNoInline and
// with the compiler's default inlining, alternating one round of each so
// drift on a shared machine hits all, and each benchmark's median over the
// rounds of the round's ratios shipped / inlined and shipped / services (a
// round's builds share the machine's state).
func sdkInliningCost(ctx context.Context, w io.Writer, rounds int) error {
	builds := []struct{ name, gcflags string }{
		{"shipped", runtimetest.SDKNoInline},
		{"services", servicesNoInline},
		{"inlined", ""},
	}
	nsop := map[string]map[string][]float64{} // build -> benchmark -> ns/op
	var order []string
	fmt.Fprintf(w, "\n# SDK calls (%s), built as shipped (-gcflags %s), services (-gcflags %s) and inlined (no -gcflags), %d alternating rounds:\n",
		sdkCallPackage, runtimetest.SDKNoInline, servicesNoInline, rounds)
	for range rounds {
		for _, b := range builds {
			args := []string{"test", "-run", "^$", "-bench", ".", "-count", "1", "-gcflags", b.gcflags, sdkCallPackage}
			cmd := exec.CommandContext(ctx, "go", args...)
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			if err := cmd.Run(); err != nil {
				return fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, out.Bytes())
			}
			for _, m := range benchLine.FindAllStringSubmatch(out.String(), -1) {
				v, err := strconv.ParseFloat(m[2], 64)
				if err != nil {
					return fmt.Errorf("%s: ns/op %q: %w", m[1], m[2], err)
				}
				if nsop[b.name] == nil {
					nsop[b.name] = map[string][]float64{}
				}
				if !slices.Contains(order, m[1]) {
					order = append(order, m[1])
				}
				nsop[b.name][m[1]] = append(nsop[b.name][m[1]], v)
				fmt.Fprintf(w, "%s/build=%s 1 %.0f ns/op\n", m[1], b.name, v)
			}
		}
	}
	if len(order) == 0 {
		return fmt.Errorf("go test -bench %s reported no benchmarks", sdkCallPackage)
	}
	fmt.Fprintln(w)
	for _, name := range order {
		shipped, services, inlined := nsop["shipped"][name], nsop["services"][name], nsop["inlined"][name]
		if len(shipped) != rounds || len(services) != rounds || len(inlined) != rounds {
			return fmt.Errorf("%s: %d shipped, %d services and %d inlined results, want %d of each",
				name, len(shipped), len(services), len(inlined), rounds)
		}
		xInlined, xServices := make([]float64, rounds), make([]float64, rounds)
		for i := range rounds {
			xInlined[i] = shipped[i] / inlined[i]
			xServices[i] = shipped[i] / services[i]
		}
		fmt.Fprintf(w, "%sRatio 1 %.3f shipped-x-inlined %.3f shipped-x-services\n", name, quantile(xInlined, 0.5), quantile(xServices, 0.5))
	}
	return nil
}
