package stamp

import (
	"encoding/json"
	"path"
	"strings"
	"testing"
)

// stampsContext is validContext with shared fleet definitions (web, api)
// and the stamps given as JSON.
func stampsContext(t *testing.T, stamps string) map[string]any {
	t.Helper()
	ctx := validContext(t)
	var defs, list any
	if err := json.Unmarshal([]byte(`[
		{"name": "web", "instanceType": "t4g.small", "minCapacity": 2, "maxCapacity": 10, "appPort": 8080},
		{"name": "api", "instanceType": "c7g.large", "minCapacity": 1, "maxCapacity": 6, "appPort": 9090}
	]`), &defs); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(stamps), &list); err != nil {
		t.Fatalf("stamps %s: %v", stamps, err)
	}
	ctx[CtxFleets], ctx[CtxStamps] = defs, list
	return ctx
}

func TestParseStamps(t *testing.T) {
	ctx := stampsContext(t, `[
		{"name": "main", "fleets": ["web", "api"]},
		{"name": "eu1", "region": "eu-west-1", "alarmEmail": "eu@example.com", "fleets": [
			"web",
			{"fleet": "api", "maxCapacity": 20},
			{"name": "batch", "instanceType": "m7g.large", "minCapacity": 0, "maxCapacity": 4, "appPort": 8081}
		]},
		{"name": "us2", "account": "222222222222", "region": "us-west-2", "stackName": "edge-us2", "fleets": [{"fleet": "web", "name": "web2"}]}
	]`)
	ctx[CtxAlarmEmail] = "ops@example.com"
	stamps, err := ParseStamps(getter(ctx))
	if err != nil {
		t.Fatalf("ParseStamps: %v", err)
	}
	if len(stamps) != 3 {
		t.Fatalf("got %d stamps, want 3", len(stamps))
	}
	main, eu1, us2 := stamps[0], stamps[1], stamps[2]
	type want struct{ name, stack, account, region, email string }
	for i, w := range []want{
		{"main", "stampkit-main", DefaultAccount, DefaultRegion, "ops@example.com"},
		{"eu1", "stampkit-eu1", DefaultAccount, "eu-west-1", "eu@example.com"},
		{"us2", "edge-us2", "222222222222", "us-west-2", "ops@example.com"},
	} {
		c := stamps[i]
		if got := (want{c.Name, c.StackName, c.Account, c.Region, c.AlarmEmail}); got != w {
			t.Errorf("stamps[%d]: got %+v, want %+v (what a stamp leaves out comes from the top level)", i, got, w)
		}
	}
	fleets := func(c Config) (out []string) {
		for _, f := range c.Fleets {
			out = append(out, f.Name)
		}
		return strings.Fields(strings.Join(out, " "))
	}
	if got := strings.Join(fleets(eu1), ","); got != "web,api,batch" {
		t.Errorf("eu1 fleets: got %s, want web,api,batch", got)
	}
	if got := eu1.Fleets[1].MaxCapacity; got != 20 {
		t.Errorf("eu1 api maxCapacity: got %d, want the stamp's 20 over the definition's 6", got)
	}
	if got := main.Fleets[1].MaxCapacity; got != 6 {
		t.Errorf("main api maxCapacity: got %d, want the definition's 6: one stamp's change is not another's", got)
	}
	if got := us2.Fleets[0]; got.Name != "web2" || got.InstanceType != "t4g.small" {
		t.Errorf("us2 fleet: got %s (%s), want web2 made from web", got.Name, got.InstanceType)
	}
	// Parameters are the stamp's own.
	if got, want := eu1.Fleets[0].AmiParameter, "/stampkit/eu1/web/ami"; got != want {
		t.Errorf("eu1 web amiParameter: got %s, want %s", got, want)
	}
	if got, want := main.Fleets[0].AmiParameter, "/stampkit/main/web/ami"; got != want {
		t.Errorf("main web amiParameter: got %s, want %s", got, want)
	}
}

// TestParseStampsErrorsNameTheKey: every problem names the key to change,
// in the stamp's entry or the definition it uses, and an unknown name
// gets a suggestion.
func TestParseStampsErrorsNameTheKey(t *testing.T) {
	tests := []struct {
		name, stamps string
		change       func(ctx map[string]any)
		want         []string
	}{
		{
			name:   "an unknown fleet",
			stamps: `[{"name": "main", "fleets": ["web"]}, {"name": "eu1", "fleets": ["wbe"]}]`,
			want:   []string{`"stamps[1].fleets[0]": no fleet "wbe" in "fleets"; did you mean "web"?`},
		},
		{
			name:   "an unknown fleet to start from",
			stamps: `[{"name": "main", "fleets": [{"fleet": "apj", "maxCapacity": 3}]}]`,
			want:   []string{`"stamps[0].fleets[0].fleet": no fleet "apj" in "fleets"; did you mean "api"?`},
		},
		{
			name:   "an unknown key",
			stamps: `[{"name": "main", "regoin": "eu-west-1", "fleets": ["web"]}]`,
			want:   []string{`"stamps[0].regoin": not a key of a stamp; did you mean "region"?`},
		},
		{
			name:   "no name",
			stamps: `[{"fleets": ["web"]}]`,
			want:   []string{`"stamps[0].name": every stamp needs a name`},
		},
		{
			name:   "a name with a hyphen",
			stamps: `[{"name": "eu-1", "fleets": ["web"]}]`,
			want:   []string{`"stamps[0].name": got "eu-1"`},
		},
		{
			name:   "no fleets",
			stamps: `[{"name": "main"}]`,
			want:   []string{`"stamps[0].fleets": want a list of fleets`},
		},
		{
			name:   "two stamps of one name",
			stamps: `[{"name": "eu1", "fleets": ["web"]}, {"name": "eu1", "region": "eu-west-2", "fleets": ["api"]}]`,
			want:   []string{`"stamps[1].name": "eu1" is also stamps[0]'s name`},
		},
		{
			name:   "two stacks of one name",
			stamps: `[{"name": "a", "stackName": "s", "fleets": ["web"]}, {"name": "b", "stackName": "s", "fleets": ["api"]}]`,
			want:   []string{`"stamps[1].stackName": stack "s" is also stamps[0]'s`},
		},
		{
			name:   "a setting the stamp sets",
			stamps: `[{"name": "main", "region": "Europe", "fleets": ["web"]}]`,
			want:   []string{`"stamps[0].region": got "Europe"`},
		},
		{
			name:   "a setting the stamp takes from the top level",
			stamps: `[{"name": "main", "fleets": ["web"]}]`,
			change: func(ctx map[string]any) { ctx[CtxMaxAzs] = 7 },
			want:   []string{`"maxAzs": got 7`},
		},
		{
			name:   "an inline fleet",
			stamps: `[{"name": "main", "fleets": [{"name": "batch", "instanceType": "m7g.large", "maxCapacity": 0, "appPort": 8081}]}]`,
			want:   []string{`"stamps[0].fleets[0].maxCapacity": got 0`},
		},
		{
			name:   "a definition a stamp uses",
			stamps: `[{"name": "main", "fleets": ["web"]}, {"name": "eu1", "region": "eu-west-1", "fleets": ["web"]}]`,
			change: func(ctx map[string]any) { ctx[CtxFleets].([]any)[0].(map[string]any)["appPort"] = 80 },
			want:   []string{`"fleets[0].appPort": got 80`},
		},
		{
			name:   "a key no fleet has",
			stamps: `[{"name": "main", "fleets": [{"fleet": "web", "maxCapacit": 3}]}]`,
			want:   []string{`"stamps[0].fleets[0].maxCapacit": not a key of a fleet; did you mean "maxCapacity"?`},
		},
		{
			name:   "two stamps of one AMI parameter in one Region",
			stamps: `[{"name": "main", "fleets": ["web"]}, {"name": "eu1", "fleets": ["web"]}]`,
			change: func(ctx map[string]any) { ctx[CtxFleets].([]any)[0].(map[string]any)["amiParameter"] = "/images/web" },
			want:   []string{`"stamps[1]": fleet web: SSM parameter /images/web is also that of fleet web of stamp main, in the same account and Region`},
		},
		{
			name:   "one stamp's key at the top level",
			stamps: `[{"name": "main", "fleets": ["web"]}]`,
			change: func(ctx map[string]any) { ctx[CtxStamp] = "main" },
			want:   []string{`"stamp": names one stamp; with stamps set each stamp's`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := stampsContext(t, tt.stamps)
			if tt.change != nil {
				tt.change(ctx)
			}
			_, err := ParseStamps(getter(ctx))
			if err == nil {
				t.Fatalf("ParseStamps: got no error, want %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("ParseStamps error:\n%v\nwant it to contain %s", err, w)
				}
			}
		})
	}
}

// TestParseStampsApart: stamps in different Regions may share an AMI
// parameter's name (Parameter Store is regional), and without stamps[]
// the app is one stamp of every fleet, as before.
func TestParseStampsApart(t *testing.T) {
	ctx := stampsContext(t, `[{"name": "main", "fleets": ["web"]}, {"name": "eu1", "region": "eu-west-1", "fleets": ["web"]}]`)
	ctx[CtxFleets].([]any)[0].(map[string]any)["amiParameter"] = "/images/web"
	if _, err := ParseStamps(getter(ctx)); err != nil {
		t.Errorf("two Regions, one parameter name: %v", err)
	}
	one := validContext(t)
	stamps, err := ParseStamps(getter(one))
	if err != nil || len(stamps) != 1 || stamps[0].Name != DefaultStampName || stamps[0].StackName != "stampkit-"+DefaultStampName {
		t.Errorf("without stamps[]: got %d stamps (%v), want one named %s", len(stamps), err, DefaultStampName)
	}
}

// TestShippedStamps: cdk.json's stamps deploy with `cdk deploy
// 'stampkit-*'`, and synth needs no credentials for any of them: each
// one's account and Region has its availability zones in the context.
func TestShippedStamps(t *testing.T) {
	ctx := shippedContext(t)
	stamps, err := ParseStamps(getter(ctx))
	if err != nil {
		t.Fatalf("cdk.json: %v", err)
	}
	for _, c := range stamps {
		if ok, _ := path.Match("stampkit-*", c.StackName); !ok {
			t.Errorf("stamp %s: stack %s does not match 'stampkit-*'", c.Name, c.StackName)
		}
		if key := "availability-zones:account=" + c.Account + ":region=" + c.Region; ctx[key] == nil {
			t.Errorf("stamp %s: cdk.json has no %q: synth would look the zones up, with credentials", c.Name, key)
		}
	}
}
