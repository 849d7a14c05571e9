package stampconfig

import (
	"fmt"
	"strings"
)

// Profiles say what a stack is for (CtxProfile). The demo is cheap and
// easy to tear down; production requires, and turns on, what a production
// review asks of the stack (README "Profiles").
const (
	ProfileDemo       = "demo"
	ProfileProduction = "production"
)

// How long each profile keeps the load balancers' access logs. A year in
// production: long enough to answer for a request a quarter or a year
// later, as audits ask; the demo's 90 days cost less and cover a test run.
const (
	DemoAccessLogDays       = 90
	ProductionAccessLogDays = 365
)

// MinProductionLogRetentionDays is the least log retention production
// accepts: the Lambdas', the app's and the VPC flow logs.
const MinProductionLogRetentionDays = 90

// Production reports whether the stack runs the production profile.
func (c Config) Production() bool { return c.Profile == ProfileProduction }

// AccessLogDays is how long the fleets' load balancer access logs are kept.
func (c Config) AccessLogDays() int {
	if c.Production() {
		return ProductionAccessLogDays
	}
	return DemoAccessLogDays
}

// shortfall is a setting production requires and the configuration lacks:
// the context key and what to set it to.
type shortfall struct{ key, fix string }

// productionShortfalls lists, in key order, what the production profile
// requires that c does not give. Every one is a setting only the user
// can choose (an address, a certificate, what to pay for); what production
// merely turns on is in the stack (NewStack).
func (c Config) productionShortfalls() []shortfall {
	var out []shortfall
	if c.AlarmEmail == "" {
		out = append(out, shortfall{c.key(CtxAlarmEmail),
			"no one is told of the operator alarms (dead letters, fleet health); set an address such as ops@example.com"})
	}
	if len(c.CommandPrincipals) == 0 {
		out = append(out, shortfall{c.key(CtxCommandPrincipals),
			"any principal of the account whose IAM allows events:PutEvents may abort or promote a rollout; " +
				"name the operator roles and the bake's role (arn:aws:iam::ACCOUNT:role/NAME)"})
	}
	if c.LogRetentionDays < MinProductionLogRetentionDays {
		out = append(out, shortfall{c.key(CtxLogRetentionDays),
			fmt.Sprintf("got %d; set %d or more (90, 120, 150, 180, 365, …)", c.LogRetentionDays, MinProductionLogRetentionDays)})
	}
	if c.NatGateways < c.MaxAzs && !c.InterfaceEndpoints {
		out = append(out, shortfall{c.key(CtxNatGateways),
			fmt.Sprintf("got %d for %d zones and no interface endpoints: the lifecycle function reaches AWS through one zone's NAT gateway; "+
				"set %s to %d (one per zone) or %s to true (README \"Network\")", c.NatGateways, c.MaxAzs, CtxNatGateways, c.MaxAzs, CtxInterfaceEndpoints)})
	}
	for i, f := range c.Fleets {
		key := c.fleetKey(i)
		if f.CertificateArn == "" {
			out = append(out, shortfall{key + ".certificateArn",
				"the listener serves plain HTTP; set an ACM certificate ARN (arn:aws:acm:REGION:ACCOUNT:certificate/ID) to serve HTTPS"})
		}
		if f.MinCapacity < 2 {
			out = append(out, shortfall{key + ".minCapacity",
				fmt.Sprintf("got %d: one instance is a single point of failure; set 2 or more", f.MinCapacity)})
		}
	}
	return out
}

// validateProfile checks the profile and, for production, reports each
// of its shortfalls as an error naming its key.
func (c Config) validateProfile() []error {
	switch c.Profile {
	case ProfileDemo:
		return nil
	case ProfileProduction:
		var errs []error
		for _, s := range c.productionShortfalls() {
			errs = append(errs, fmt.Errorf("context %q: profile %q requires it: %s", s.key, ProfileProduction, s.fix))
		}
		return errs
	}
	return []error{fmt.Errorf("context %q: got %q, want %q or %q", c.key(CtxProfile), c.Profile, ProfileDemo, ProfileProduction)}
}

// DemoWarning is what a demo stack warns of at synth: that it is a demo,
// what production would require of its configuration, and what production
// would turn on.
func (c Config) DemoWarning() string {
	var b strings.Builder
	fmt.Fprintf(&b, "stampkit: profile %q, not for production. ", ProfileDemo)
	if s := c.productionShortfalls(); len(s) > 0 {
		b.WriteString("Production would require: ")
		for i, s := range s {
			if i > 0 {
				b.WriteString("; ")
			}
			fmt.Fprintf(&b, "%s (%s)", s.key, s.fix)
		}
		b.WriteString(". ")
	}
	fmt.Fprintf(&b, "Production would turn on load balancer deletion protection, stack termination protection and %d days of access logs (here %d). "+
		"Set %q to %q in cdk.json to deploy for production.", ProductionAccessLogDays, DemoAccessLogDays, CtxProfile, ProfileProduction)
	return b.String()
}
