package shifter_test

import (
	"context"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/stampkit/stampkit/shared/clock"
	"github.com/stampkit/stampkit/shared/memstore"
	"github.com/stampkit/stampkit/shared/shifter"
)

// fakeParams is SSM Parameter Store in one Region: values by name, each
// read recorded; fail fails the next reads.
type fakeParams struct {
	values map[string]string
	fail   int
	reads  []string
}

func (p *fakeParams) Get(_ context.Context, name string) (string, error) {
	p.reads = append(p.reads, name)
	if p.fail > 0 {
		p.fail--
		return "", errors.New("getting parameter: operation error SSM: GetParameter, https response error StatusCode: 503")
	}
	v, ok := p.values[name]
	if !ok {
		return "", errors.New("getting parameter " + name + ": parameter not found")
	}
	return v, nil
}

// tables opens a memstore.Store per table name, recording each open.
type tables struct {
	stores map[string]*memstore.Store
	opened []string
}

func (tb *tables) open(table string) shifter.Store {
	tb.opened = append(tb.opened, table)
	if tb.stores == nil {
		tb.stores = map[string]*memstore.Store{}
	}
	if tb.stores[table] == nil {
		tb.stores[table] = memstore.New(clock.System{})
	}
	return tb.stores[table]
}

// TestStateTable: the CDK names each stamp's state table by the SSM
// parameter that holds its name (the name is CloudFormation's): the
// function reads it in the stamp's Region at the first call that needs the
// table, once, and reaches the table it names; a failed read is an error
// of that call and is tried again at the next; a plain table name (the
// e2e rig, a hand-written shift.json) is used as it is, with no read.
func TestStateTable(t *testing.T) {
	const param, table = "/stampkit/green/state-table", "stampkit-green-StateTable1A2B3C-XYZ"
	tests := []struct {
		name       string
		stateTable string
		fail       int
		// wantErrs is how many of the three calls fail.
		wantErrs   int
		wantReads  []string
		wantOpened []string
	}{
		{name: "parameter read once", stateTable: param, wantReads: []string{param}, wantOpened: []string{table}},
		{name: "failed read retried", stateTable: param, fail: 1, wantErrs: 1,
			wantReads: []string{param, param}, wantOpened: []string{table}},
		{name: "table name as it is", stateTable: "stampkit-e2e-state", wantOpened: []string{"stampkit-e2e-state"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := t.Context()
			params := &fakeParams{values: map[string]string{param: table}, fail: tt.fail}
			tb := &tables{}
			st := shifter.StateTable(tt.stateTable, params, tb.open)
			calls := []func() error{
				func() error { _, err := st.Claim(ctx, "lease", "me", 0); return err },
				func() error { return st.Save(ctx, "k", []byte("v"), 0) },
				func() error { _, _, err := st.Load(ctx, "k"); return err },
			}
			errs := 0
			for _, call := range calls {
				if err := call(); err != nil {
					errs++
				}
			}
			if errs != tt.wantErrs {
				t.Errorf("failed calls: got %d, want %d", errs, tt.wantErrs)
			}
			if diff := cmp.Diff(tt.wantReads, params.reads); diff != "" {
				t.Errorf("parameter reads (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantOpened, tb.opened); diff != "" {
				t.Errorf("tables opened (-want +got):\n%s", diff)
			}
			if err := st.Release(ctx, "lease", "me"); err != nil {
				t.Fatalf("Release: %v", err)
			}
			// The calls reached the table the parameter names.
			name := tt.wantOpened[0]
			if tt.wantErrs == 0 {
				if data, _, _ := tb.stores[name].Load(ctx, "k"); string(data) != "v" {
					t.Errorf("table %s: got %q at k, want %q", name, data, "v")
				}
			}
		})
	}
}

// TestStateTableRefusesAParameterNotATable: a parameter that holds no
// table's name (empty, or another parameter's name) is an error, not a
// table called that.
func TestStateTableRefusesAParameterNotATable(t *testing.T) {
	for _, v := range []string{"", "/stampkit/green/state-table"} {
		params := &fakeParams{values: map[string]string{"/p": v}}
		tb := &tables{}
		if _, _, err := shifter.StateTable("/p", params, tb.open).Load(t.Context(), "k"); err == nil {
			t.Errorf("parameter holding %q: got no error, want one", v)
		}
		if len(tb.opened) != 0 {
			t.Errorf("parameter holding %q: opened %v, want none", v, tb.opened)
		}
	}
}
