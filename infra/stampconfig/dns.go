package stampconfig

import (
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/stampkit/stampkit/shared/clock"
)

// CtxDNS is the app's DNS record (dns in cdk.json): the weighted record
// that moves traffic between stamps (DNSConfig). Left out, the app has no
// Route 53 resources and no shift stack.
const CtxDNS = "dns"

// AliasTTL is how long resolvers cache an answer of a stamp's record. An
// alias record has no TTL of its own: "If an alias record points to an AWS
// resource, you can't set the time to live (TTL); Route 53 uses the default
// TTL for the resource" ("Choosing between alias and non-alias records",
// https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/resource-record-sets-choosing-alias-non-alias.html),
// and for a load balancer that is 60 s ("ELB and Amazon S3 Website
// endpoints ... use Alias records which have fixed TTL of 60 seconds",
// Route 53 FAQs, https://aws.amazon.com/route53/faqs/). A shift waits this
// long after each weight change before its bake starts, so dns has no ttl
// key.
const AliasTTL = 60 * time.Second

// ShiftFunctionName is the shift function's: `make build` writes its
// bootstrap to <assetsDir>/shift/bootstrap.
const ShiftFunctionName = "shift"

// Defaults of the keys of dns a config may leave out.
const (
	// DefaultShiftBake is how long each step holds after AliasTTL.
	DefaultShiftBake = 5 * time.Minute
	// DefaultDNSHealthInterval and DefaultDNSFailureThreshold are Route 53's
	// own defaults for a health check ("Values that you specify when you
	// create or update health checks",
	// https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/health-checks-creating-values.html).
	DefaultDNSHealthInterval   = 30
	DefaultDNSFailureThreshold = 3
	// DefaultFirstStampWeight is the first stamp's weight when dns sets no
	// initialWeights; every other stamp starts at 0, and so takes no
	// traffic until a shift gives it some.
	DefaultFirstStampWeight = 100
	// MaxDNSWeight is Route 53's largest weight ("Weight",
	// https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/resource-record-sets-values-weighted.html#rrsets-values-weighted-weight).
	MaxDNSWeight = 255
)

// DefaultShiftSteps are the percentages of traffic a shift gives the
// receiving stamp, one step at a time.
func DefaultShiftSteps() []int { return []int{5, 25, 50, 100} }

// DNSWeightPattern is the SSM AllowedPattern of a stamp's DNS weight
// parameter: an integer 0..255 in decimal (Route 53's range), so Parameter
// Store refuses a weight Route 53 would, before the record is changed.
const DNSWeightPattern = `^(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])$`

// DNSConfig is the weighted record that fronts the app's stamps: one
// weighted alias record per stamp in the hosted zone, named RecordName,
// whose set identifier is the stamp's name and whose target is the load
// balancer of the stamp's Fleet, with a Route 53 health check on that
// fleet's readiness path. The shift function moves weight between them.
//
// Route 53 is global, so each stamp's stack writes its own record, in
// whichever Region it is; but a stack writes only to a zone of its own
// account: every stamp must be in the zone's account (ParseDNS checks
// that the stamps share one; that it is the zone's, only a deploy does).
type DNSConfig struct {
	// HostedZoneID is the public hosted zone's ID (Z0123456789ABCDEFGHIJ).
	HostedZoneID string `json:"hostedZoneId"`
	// ZoneName is the zone's domain name (example.com).
	ZoneName string `json:"zoneName"`
	// RecordName is the record's fully qualified name: ZoneName or a name
	// under it (app.example.com).
	RecordName string `json:"recordName"`
	// Fleet is the fleet of each stamp the record routes to (default: the
	// stamp's fleet, when every stamp has exactly one).
	Fleet string `json:"fleet,omitempty"`
	// Steps are the receiving stamp's share of traffic, in percent, step
	// by step, increasing and ending at 100 (default DefaultShiftSteps).
	Steps []int `json:"steps,omitempty"`
	// Bake is how long each step holds, after AliasTTL, before the next
	// (default DefaultShiftBake).
	Bake clock.Duration `json:"bake,omitempty"`
	// HealthCheck is each stamp's Route 53 health check.
	HealthCheck DNSHealthCheck `json:"healthCheck"`
	// Region is where the shift stack and function live (default: the
	// first stamp's Region).
	Region string `json:"region,omitempty"`
	// InitialWeights are the stamps' weights when their weight parameters
	// are created, by stamp (default: DefaultFirstStampWeight for the first
	// stamp, 0 for the others). Afterwards the shift function owns the
	// weights; a changed entry here is written at the next deploy, as a
	// cutover of its own, without steps or checks (README "Stamp shift:
	// deploy").
	InitialWeights map[string]int `json:"initialWeights,omitempty"`

	// stamps are the stamps' names, in the order stamps[] declares them.
	stamps []string
}

// DNSHealthCheck is a stamp's Route 53 health check: an HTTP request to
// its load balancer's listener (HTTPS when the fleet has a certificate).
type DNSHealthCheck struct {
	// Path is the request's path (default: the fleet's healthCheckPath).
	Path string `json:"path,omitempty"`
	// IntervalSeconds is 10 or 30 (default DefaultDNSHealthInterval).
	IntervalSeconds int `json:"intervalSeconds,omitempty"`
	// FailureThreshold is how many checks in a row change the status,
	// 1..10 (default DefaultDNSFailureThreshold).
	FailureThreshold int `json:"failureThreshold,omitempty"`
}

// Stamps are the names of the stamps the record fronts.
func (d *DNSConfig) Stamps() []string { return slices.Clone(d.stamps) }

// InitialWeight is stamp's weight when its parameter is created.
func (d *DNSConfig) InitialWeight(stamp string) int { return d.InitialWeights[stamp] }

// DNSWeightParameter is the SSM parameter holding the live weight of the
// stamp's record (NewListenerWeights creates it, the shift function writes
// it once Route 53 accepted each change of the record, a deploy reads it).
func (n Names) DNSWeightParameter() string { return n.ParameterRoot() + "/dns-weight" }

// ShiftStackName is the shift stack's name: one per app, as an app has one
// record (CtxDNS).
const ShiftStackName = NamePrefix + "shift"

// ShiftFileName is the shift function's configuration (config.Shift) in
// its code, next to its bootstrap: what STAMPKIT_SHIFT_FILE names.
const ShiftFileName = "shift.json"

// ShiftTableName is the physical name of the shift function's table, for
// the record named record. A name, unlike the stamp's own table: the
// function reads the table from its configuration file, written at synth,
// which cannot hold a token. Table names are unique per account and
// Region, and so is the record's name within an app.
func ShiftTableName(record string) string { return NamePrefix + "shift-" + record }

// StateTableParameter is the SSM parameter, in the stamp's Region, that
// holds the name of the stamp's state table (written by CloudFormation,
// when the app has a DNS record): the shift function raises the floor of
// the receiving fleet there. The table's name is CloudFormation's, known
// only once the stamp's stack is deployed, and it is never renamed (a new
// name replaces a table and loses its state).
func (n Names) StateTableParameter() string { return n.ParameterRoot() + "/state-table" }

// ParseDNS reads CtxDNS through get, fills in its defaults and validates
// it against stamps, reporting every problem at once, each naming its key
// (dns.recordName). Without CtxDNS it returns nil.
func ParseDNS(get func(key string) any, stamps []Config) (*DNSConfig, error) {
	raw := get(CtxDNS)
	if raw == nil {
		return nil, nil
	}
	var d DNSConfig
	if errs := decodeContext(CtxDNS, raw, &d); len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	d = d.WithDefaults(stamps)
	if err := d.validate(stamps); err != nil {
		return nil, err
	}
	return &d, nil
}

// WithDefaults fills in what dns leaves out, for stamps.
func (d DNSConfig) WithDefaults(stamps []Config) DNSConfig {
	d.ZoneName = strings.TrimSuffix(strings.ToLower(d.ZoneName), ".")
	d.RecordName = strings.TrimSuffix(strings.ToLower(d.RecordName), ".")
	if d.Steps == nil {
		d.Steps = DefaultShiftSteps()
	}
	if d.Bake == 0 {
		d.Bake = clock.Duration(DefaultShiftBake)
	}
	if d.HealthCheck.IntervalSeconds == 0 {
		d.HealthCheck.IntervalSeconds = DefaultDNSHealthInterval
	}
	if d.HealthCheck.FailureThreshold == 0 {
		d.HealthCheck.FailureThreshold = DefaultDNSFailureThreshold
	}
	d.stamps = nil
	for _, c := range stamps {
		d.stamps = append(d.stamps, c.Name)
	}
	if len(stamps) > 0 {
		if d.Region == "" {
			d.Region = stamps[0].Region
		}
		if d.Fleet == "" && len(stamps[0].Fleets) == 1 {
			d.Fleet = stamps[0].Fleets[0].Name
		}
		if d.InitialWeights == nil {
			d.InitialWeights = map[string]int{stamps[0].Name: DefaultFirstStampWeight}
		}
	}
	return d
}

var (
	// hostedZoneID: Route 53's IDs are upper-case letters and digits.
	hostedZoneID = regexp.MustCompile(`^Z[A-Z0-9]{1,31}$`)
	// dnsName is a lower-case name of labels of letters, digits and
	// hyphens: exactly the names whose normalized form (the
	// route53:ChangeResourceRecordSetsNormalizedRecordNames condition key)
	// is the name itself, with no octal escapes.
	dnsName = regexp.MustCompile(`^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)
)

func (d DNSConfig) validate(stamps []Config) error {
	key := func(k string) string {
		if k == "" {
			return CtxDNS
		}
		return CtxDNS + "." + k
	}
	var errs []error
	bad := func(k, format string, args ...any) {
		errs = append(errs, fmt.Errorf("context %q: "+format, append([]any{key(k)}, args...)...))
	}
	if !hostedZoneID.MatchString(d.HostedZoneID) {
		bad("hostedZoneId", "got %q, want the hosted zone's ID as Route 53 shows it (Z0123456789ABCDEFGHIJ, without /hostedzone/)", d.HostedZoneID)
	}
	if !dnsName.MatchString(d.ZoneName) {
		bad("zoneName", "got %q, want the zone's domain name (example.com)", d.ZoneName)
	}
	switch {
	case !dnsName.MatchString(d.RecordName):
		bad("recordName", "got %q, want a fully qualified name of letters, digits, hyphens and dots (app.example.com)", d.RecordName)
	case d.RecordName != d.ZoneName && !strings.HasSuffix(d.RecordName, "."+d.ZoneName):
		bad("recordName", "%q is not in zone %q: want the zone's name or a name under it", d.RecordName, d.ZoneName)
	}
	if len(d.Steps) == 0 || d.Steps[len(d.Steps)-1] != 100 {
		bad("steps", "got %v, want increasing percentages ending at 100 ([5, 25, 50, 100])", d.Steps)
	} else {
		for i, s := range d.Steps {
			if s < 1 || s > 100 || (i > 0 && s <= d.Steps[i-1]) {
				bad("steps", "got %v, want increasing percentages from 1 to 100, ending at 100", d.Steps)
				break
			}
		}
	}
	if d.Bake < 0 || d.Bake.Std()%time.Second != 0 {
		bad("bake", "got %v, want whole seconds, 0 or more", d.Bake)
	}
	hc := d.HealthCheck
	if hc.IntervalSeconds != 10 && hc.IntervalSeconds != 30 {
		bad("healthCheck.intervalSeconds", "got %d, want 10 or 30 (Route 53's two request intervals)", hc.IntervalSeconds)
	}
	if hc.FailureThreshold < 1 || hc.FailureThreshold > 10 {
		bad("healthCheck.failureThreshold", "got %d, want 1..10", hc.FailureThreshold)
	}
	if hc.Path != "" && (!strings.HasPrefix(hc.Path, "/") || len(hc.Path) > 255) {
		bad("healthCheck.path", "got %q, want a path starting with / of at most 255 characters", hc.Path)
	}
	if !regionRe.MatchString(d.Region) {
		bad("region", "got %q, want the Region of the shift stack (eu-west-1)", d.Region)
	}
	d.validateStamps(stamps, bad)
	return errors.Join(errs...)
}

// validateStamps checks what dns says of the stamps: each runs the fleet,
// all share an account, and the initial weights name stamps and give one
// of them traffic.
func (d DNSConfig) validateStamps(stamps []Config, bad func(k, format string, args ...any)) {
	if len(stamps) == 0 {
		bad("", "no stamps to route to")
		return
	}
	if d.Fleet == "" {
		bad("fleet", "the first stamp, %s, runs %d fleets: name the one the record routes to", stamps[0].Name, len(stamps[0].Fleets))
	}
	for _, c := range stamps {
		if d.Fleet != "" && !slices.ContainsFunc(c.Fleets, func(f FleetConfig) bool { return f.Name == d.Fleet }) {
			bad("fleet", "stamp %s runs no fleet %q: every stamp must run the fleet the record routes to", c.Name, d.Fleet)
		}
		if c.Account != stamps[0].Account {
			bad("", "stamp %s is in account %s, stamp %s in %s: a stack writes records only to a hosted zone of its own account, so every stamp must be in the zone's",
				c.Name, c.Account, stamps[0].Name, stamps[0].Account)
		}
	}
	sum := 0
	for _, name := range slices.Sorted(maps.Keys(d.InitialWeights)) {
		w := d.InitialWeights[name]
		if !slices.Contains(d.stamps, name) {
			bad("initialWeights."+name, "no stamp %q%s", name, didYouMean(name, d.stamps))
		}
		if w < 0 || w > MaxDNSWeight {
			bad("initialWeights."+name, "got %d, want 0..%d (Route 53's weights)", w, MaxDNSWeight)
		}
		sum += w
	}
	if sum == 0 {
		bad("initialWeights", "every stamp starts at 0: give one of them traffic (Route 53 splits evenly between records all of weight 0)")
	}
}

// ShiftActions are the IAM actions of every AWS call the shift function
// makes (shared/shifter through its adapters): the record's weighted
// records, their change and its status, and the health checks' status in
// Route 53; in each stamp's Region, its weight parameter (written) and the
// parameter naming its state table (read), its fleet's health alarms, its
// group (read and sized), and its state table (the scaler's fleet lease:
// a conditional PutItem and a DeleteItem; the scaler's state and the
// rollout record: GetItem, and a conditional PutItem to hold the floor);
// the function's own table (the same three) and its wake-up queue. The
// shift stack grants exactly these, and the e2e test checks the function
// calls nothing else.
func ShiftActions() []string {
	return []string{
		"autoscaling:DescribeAutoScalingGroups", "autoscaling:SetDesiredCapacity",
		"cloudwatch:DescribeAlarms",
		"dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem",
		"route53:ChangeResourceRecordSets", "route53:GetChange", "route53:GetHealthCheckStatus", "route53:ListResourceRecordSets",
		"sqs:SendMessage",
		"ssm:GetParameter", "ssm:PutParameter",
	}
}
