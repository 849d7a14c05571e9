package coldstart_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/stampkit/stampkit/shared/awsclient/lambdaenv"
	"github.com/stampkit/stampkit/shared/coldstart"
	"github.com/stampkit/stampkit/shared/config"
	"github.com/stampkit/stampkit/shared/logging"
)

func TestLoad(t *testing.T) {
	lambda := map[string]string{
		config.EnvTable:     "state",
		config.EnvFleets:    `[{"name":"web","group":"web-asg"}]`,
		"AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "secret", "AWS_REGION": "eu-west-1",
	}
	without := func(key string) map[string]string {
		m := map[string]string{}
		for k, v := range lambda {
			if k != key {
				m[k] = v
			}
		}
		return m
	}
	tests := []struct {
		name    string
		env     map[string]string
		wantErr string
		wantIs  error
	}{
		{name: "the environment Lambda sets"},
		{name: "no table", env: without(config.EnvTable), wantErr: config.EnvTable},
		{name: "no credentials", env: without("AWS_SECRET_ACCESS_KEY"), wantIs: lambdaenv.ErrNoCredentials},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vars := tt.env
			if vars == nil {
				vars = lambda
			}
			var out bytes.Buffer
			env, err := coldstart.Load(func(k string) string { return vars[k] }, &out)
			switch {
			case tt.wantErr != "" || tt.wantIs != nil:
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || (tt.wantIs != nil && !errors.Is(err, tt.wantIs)) {
					t.Fatalf("Load error = %v, want one naming %q (is %v)", err, tt.wantErr, tt.wantIs)
				}
				return
			case err != nil:
				t.Fatalf("Load: %v", err)
			}
			if env.Config.Table != "state" || env.AWS.Region != "eu-west-1" {
				t.Errorf("got table %q region %q, want state, eu-west-1", env.Config.Table, env.AWS.Region)
			}
			env.Log.Info("hello")
			if err := env.Metrics.Emit(nil, logging.Metric{Name: "Decisions", Value: 1, Unit: logging.Count}); err != nil {
				t.Fatalf("Emit: %v", err)
			}
			for _, want := range []string{`"msg":"hello"`, `"Decisions":1`} {
				if !strings.Contains(out.String(), want) {
					t.Errorf("output lacks %s:\n%s", want, out.String())
				}
			}
		})
	}
}

func TestFailLogsOneErrorLine(t *testing.T) {
	var out bytes.Buffer
	if code := coldstart.Fail(&out, "scaler", errors.New("STAMPKIT_FLEETS: invalid JSON")); code != 1 {
		t.Errorf("exit status: got %d, want 1", code)
	}
	var rec map[string]any
	if err := json.Unmarshal(out.Bytes(), &rec); err != nil {
		t.Fatalf("not one JSON line: %q", out.String())
	}
	if rec["level"] != "ERROR" || rec["function"] != "scaler" || !strings.Contains(rec["error"].(string), "STAMPKIT_FLEETS") {
		t.Errorf("line: got %v, want ERROR naming the function and the error", rec)
	}
}
