package shifter

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"
)

// ParameterReader reads SSM parameters (ssmparam.Adapter).
type ParameterReader interface {
	Get(ctx context.Context, name string) (string, error)
}

// StateTable returns the Store of a stamp's scaler state table named by
// table, opened with open. A name that starts with "/" is not a table's
// (DynamoDB table names are letters, digits, '_', '-' and '.') but an SSM
// parameter's that holds it: the CDK writes the table's name, which is
// CloudFormation's, to /stampkit/<stamp>/state-table. That parameter is
// read through params (in the stamp's Region) at the first call that needs
// the table, not at cold start, so a stamp whose Region cannot be read
// does not stop the function from rolling another back; a name read is
// kept for the life of the process, a failed read is tried again at the
// next call.
func StateTable(table string, params ParameterReader, open func(table string) Store) Store {
	if !strings.HasPrefix(table, "/") {
		return open(table)
	}
	return &parameterTable{parameter: table, params: params, open: open}
}

// parameterTable is a Store whose table's name is read from an SSM
// parameter on first use.
type parameterTable struct {
	parameter string
	params    ParameterReader
	open      func(table string) Store

	mu    sync.Mutex
	store Store
}

func (p *parameterTable) resolve(ctx context.Context) (Store, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.store != nil {
		return p.store, nil
	}
	name, err := p.params.Get(ctx, p.parameter)
	if err != nil {
		return nil, fmt.Errorf("reading the state table's name from %s: %w", p.parameter, err)
	}
	if name == "" || strings.HasPrefix(name, "/") {
		return nil, fmt.Errorf("the state table's name in %s: %q is not a table's name", p.parameter, name)
	}
	p.store = p.open(name)
	return p.store, nil
}

func (p *parameterTable) Claim(ctx context.Context, key, owner string, ttl time.Duration) (bool, error) {
	s, err := p.resolve(ctx)
	if err != nil {
		return false, err
	}
	return s.Claim(ctx, key, owner, ttl)
}

func (p *parameterTable) Release(ctx context.Context, key, owner string) error {
	s, err := p.resolve(ctx)
	if err != nil {
		return err
	}
	return s.Release(ctx, key, owner)
}

func (p *parameterTable) Load(ctx context.Context, key string) ([]byte, int64, error) {
	s, err := p.resolve(ctx)
	if err != nil {
		return nil, 0, err
	}
	return s.Load(ctx, key)
}

func (p *parameterTable) Save(ctx context.Context, key string, data []byte, version int64) error {
	s, err := p.resolve(ctx)
	if err != nil {
		return err
	}
	return s.Save(ctx, key, data, version)
}
