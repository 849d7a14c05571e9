package logging

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"sync"
	"time"
)

// Unit is a CloudWatch metric unit.
type Unit string

// Units the toolkit emits.
const (
	Count        Unit = "Count"
	Milliseconds Unit = "Milliseconds"
	Seconds      Unit = "Seconds"
	None         Unit = "None"
	Percent      Unit = "Percent"
)

// Metric is one value of an Embedded Metric Format record.
type Metric struct {
	Name  string
	Value float64
	Unit  Unit
}

// Metrics writes CloudWatch Embedded Metric Format records: one JSON line per
// call, which the Lambda log pipeline turns into metrics without an API call
// (no PutMetricData latency or throttling in the handler's path).
type Metrics struct {
	mu        sync.Mutex
	w         io.Writer
	namespace string
	now       func() time.Time
}

// NewMetrics returns an EMF writer for namespace. now stamps the records; the
// twin passes its virtual clock.
func NewMetrics(w io.Writer, namespace string, now func() time.Time) *Metrics {
	return &Metrics{w: w, namespace: namespace, now: now}
}

// Emit writes one record with the given dimensions and metrics. Dimension
// values are written as properties too, as EMF requires.
func (m *Metrics) Emit(dims map[string]string, metrics ...Metric) error {
	if len(metrics) == 0 {
		return nil
	}
	rec := make(map[string]any, len(dims)+len(metrics)+1)
	defs := make([]map[string]string, 0, len(metrics))
	for _, mt := range metrics {
		rec[mt.Name] = mt.Value
		unit := mt.Unit
		if unit == "" {
			unit = None
		}
		defs = append(defs, map[string]string{"Name": mt.Name, "Unit": string(unit)})
	}
	for k, v := range dims {
		rec[k] = v
	}
	// An empty dimension set must be [] ("no dimensions"); a nil slice
	// would encode as null, which CloudWatch rejects.
	dimNames := append([]string{}, slices.Sorted(maps.Keys(dims))...)
	rec["_aws"] = map[string]any{
		"Timestamp": m.now().UnixMilli(),
		"CloudWatchMetrics": []map[string]any{{
			"Namespace":  m.namespace,
			"Dimensions": [][]string{dimNames},
			"Metrics":    defs,
		}},
	}
	line, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("encoding metric record: %w", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, err := m.w.Write(append(line, '\n')); err != nil {
		return fmt.Errorf("writing metric record: %w", err)
	}
	return nil
}
