package route53dns_test

import (
	"errors"
	"os"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	"github.com/aws/aws-sdk-go-v2/service/route53/types"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/stampkit/stampkit/shared/awstest"
	"github.com/stampkit/stampkit/shared/route53dns"
)

var emu = awstest.New()

func TestMain(m *testing.M) { os.Exit(emu.Run(m)) }

// albZone is the canonical hosted zone of ALBs in us-east-1 (Elastic Load
// Balancing endpoints and quotas).
const albZone = "Z35SXDOTRQ7X7K"

// weightedZone creates a hosted zone with a weighted alias record per stamp, each
// with a health check, as the CDK side declares them; it returns the
// zone's id and each stamp's health check id.
func weightedZone(t *testing.T, client *route53.Client, weights map[string]int64) (string, map[string]string) {
	t.Helper()
	ctx := t.Context()
	zone, err := client.CreateHostedZone(ctx, &route53.CreateHostedZoneInput{Name: aws.String("example.com"), CallerReference: aws.String(t.Name())})
	if err != nil {
		t.Fatalf("CreateHostedZone: %v", err)
	}
	checks := map[string]string{}
	var changes []types.Change
	for stamp, w := range weights {
		hc, err := client.CreateHealthCheck(ctx, &route53.CreateHealthCheckInput{
			CallerReference: aws.String(t.Name() + stamp),
			HealthCheckConfig: &types.HealthCheckConfig{Type: types.HealthCheckTypeHttps,
				FullyQualifiedDomainName: aws.String(stamp + ".example.com"), ResourcePath: aws.String("/readyz")},
		})
		if err != nil {
			t.Fatalf("CreateHealthCheck: %v", err)
		}
		checks[stamp] = aws.ToString(hc.HealthCheck.Id)
		changes = append(changes, types.Change{Action: types.ChangeActionCreate, ResourceRecordSet: &types.ResourceRecordSet{
			Name: aws.String("www.example.com."), Type: types.RRTypeA, SetIdentifier: aws.String(stamp), Weight: aws.Int64(w),
			HealthCheckId: aws.String(checks[stamp]),
			AliasTarget: &types.AliasTarget{HostedZoneId: aws.String(albZone), DNSName: aws.String(stamp + "-alb.us-east-1.elb.amazonaws.com."),
				EvaluateTargetHealth: true},
		}})
	}
	// A record of another type and another name: not the record's.
	changes = append(changes,
		types.Change{Action: types.ChangeActionCreate, ResourceRecordSet: &types.ResourceRecordSet{Name: aws.String("www.example.com."), Type: types.RRTypeTxt,
			TTL: aws.Int64(60), ResourceRecords: []types.ResourceRecord{{Value: aws.String(`"v=1"`)}}}},
		types.Change{Action: types.ChangeActionCreate, ResourceRecordSet: &types.ResourceRecordSet{Name: aws.String("wwx.example.com."), Type: types.RRTypeA,
			TTL: aws.Int64(60), ResourceRecords: []types.ResourceRecord{{Value: aws.String("192.0.2.1")}}}})
	if _, err := client.ChangeResourceRecordSets(ctx, &route53.ChangeResourceRecordSetsInput{HostedZoneId: zone.HostedZone.Id,
		ChangeBatch: &types.ChangeBatch{Changes: changes}}); err != nil {
		t.Fatalf("creating records: %v", err)
	}
	return aws.ToString(zone.HostedZone.Id), checks
}

func TestWeightsEmulator(t *testing.T) {
	cfg := emu.Fresh(t)
	client := route53.NewFromConfig(cfg)
	ctx := t.Context()
	zone, checks := weightedZone(t, client, map[string]int64{"blue": 100, "green": 0, "red": 20})
	a := route53dns.New(client, zone)

	records, err := a.Weighted(ctx, "WWW.example.com", "A")
	if err != nil {
		t.Fatalf("Weighted: %v", err)
	}
	got := map[string]int64{}
	for _, r := range records {
		got[r.Stamp] = r.Weight
		if r.HealthCheck != checks[r.Stamp] {
			t.Errorf("%s health check %q, want %q", r.Stamp, r.HealthCheck, checks[r.Stamp])
		}
	}
	if len(got) != 3 || got["blue"] != 100 || got["green"] != 0 || got["red"] != 20 {
		t.Fatalf("weights %v, want blue 100, green 0, red 20 and nothing else", got)
	}

	id, err := a.SetWeights(ctx, records, map[string]int64{"blue": 75, "green": 25}, "stampkit shift")
	if err != nil {
		t.Fatalf("SetWeights: %v", err)
	}
	if in, err := a.ChangeInSync(ctx, id); err != nil || !in {
		t.Errorf("ChangeInSync(%s) = %v, %v; want true (moto: INSYNC at once)", id, in, err)
	}
	// What Route 53 holds now: the new weights, the alias target, health
	// check and EvaluateTargetHealth as they were, red untouched.
	out, err := client.ListResourceRecordSets(ctx, &route53.ListResourceRecordSetsInput{HostedZoneId: aws.String(zone)})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int64{"blue": 75, "green": 25, "red": 20}
	seen := 0
	for _, rs := range out.ResourceRecordSets {
		if rs.SetIdentifier == nil {
			continue
		}
		seen++
		stamp := aws.ToString(rs.SetIdentifier)
		if aws.ToInt64(rs.Weight) != want[stamp] {
			t.Errorf("%s weight %d, want %d", stamp, aws.ToInt64(rs.Weight), want[stamp])
		}
		if rs.AliasTarget == nil || !rs.AliasTarget.EvaluateTargetHealth || aws.ToString(rs.AliasTarget.DNSName) != stamp+"-alb.us-east-1.elb.amazonaws.com." {
			t.Errorf("%s alias target %+v, want its ALB with EvaluateTargetHealth", stamp, rs.AliasTarget)
		}
		if aws.ToString(rs.HealthCheckId) != checks[stamp] {
			t.Errorf("%s health check %q, want %q kept", stamp, aws.ToString(rs.HealthCheckId), checks[stamp])
		}
	}
	if seen != 3 {
		t.Errorf("%d weighted records after the change, want 3", seen)
	}
	if ok, err := a.Healthy(ctx, checks["green"]); err != nil || !ok {
		t.Errorf("Healthy(green) = %v, %v; want true (moto reports one Success)", ok, err)
	}
	if _, err := a.SetWeights(ctx, records, map[string]int64{"purple": 5}, ""); !errors.Is(err, route53dns.ErrNotWeighted) {
		t.Errorf("SetWeights(purple): %v, want ErrNotWeighted", err)
	}
}

// Successive changes of the same records, with a change made outside in
// between (a deploy pointed green at a new ALB), each from a fresh read:
// every change deletes the record as read and creates it again, so the new
// target stays. moto does not check that a DELETE matches the record's
// values (it deletes by SetIdentifier), so the refusal of a stale read is
// checked on the exact batch sent (TestSetWeightsDeletesAsRead); and moto
// refuses a CREATE identical to an earlier one in the zone's change
// journal, so the weights here never repeat.
func TestSetWeightsFreshReadsEmulator(t *testing.T) {
	cfg := emu.Fresh(t)
	client := route53.NewFromConfig(cfg)
	ctx := t.Context()
	zone, checks := weightedZone(t, client, map[string]int64{"blue": 100, "green": 0})
	a := route53dns.New(client, zone)
	change := func(w map[string]int64) {
		t.Helper()
		records, err := a.Weighted(ctx, "www.example.com.", "A")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := a.SetWeights(ctx, records, w, "stampkit shift"); err != nil {
			t.Fatalf("SetWeights(%v): %v", w, err)
		}
	}
	change(map[string]int64{"blue": 95, "green": 5})
	moved := "green-alb-2.us-east-1.elb.amazonaws.com."
	if _, err := client.ChangeResourceRecordSets(ctx, &route53.ChangeResourceRecordSetsInput{HostedZoneId: aws.String(zone),
		ChangeBatch: &types.ChangeBatch{Changes: []types.Change{{Action: types.ChangeActionUpsert, ResourceRecordSet: &types.ResourceRecordSet{
			Name: aws.String("www.example.com."), Type: types.RRTypeA, SetIdentifier: aws.String("green"), Weight: aws.Int64(5),
			HealthCheckId: aws.String(checks["green"]),
			AliasTarget:   &types.AliasTarget{HostedZoneId: aws.String(albZone), DNSName: aws.String(moved), EvaluateTargetHealth: true},
		}}}}}); err != nil {
		t.Fatalf("the deploy's change: %v", err)
	}
	change(map[string]int64{"blue": 75, "green": 25})
	out, err := client.ListResourceRecordSets(ctx, &route53.ListResourceRecordSetsInput{HostedZoneId: aws.String(zone)})
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	for _, rs := range out.ResourceRecordSets {
		switch aws.ToString(rs.SetIdentifier) {
		case "green":
			seen++
			if aws.ToInt64(rs.Weight) != 25 || aws.ToString(rs.AliasTarget.DNSName) != moved || aws.ToString(rs.HealthCheckId) != checks["green"] {
				t.Errorf("green: weight %d, target %s, check %s; want 25 on %s with its check", aws.ToInt64(rs.Weight), aws.ToString(rs.AliasTarget.DNSName), aws.ToString(rs.HealthCheckId), moved)
			}
		case "blue":
			seen++
			if aws.ToInt64(rs.Weight) != 75 {
				t.Errorf("blue weight %d, want 75", aws.ToInt64(rs.Weight))
			}
		}
	}
	if seen != 2 {
		t.Errorf("%d weighted records, want 2", seen)
	}
}

// The batch deletes each record exactly as read and creates it with its
// new weight, so that Route 53 refuses it (InvalidChangeBatch) when the
// record changed since the read, instead of putting the read back.
func TestSetWeightsDeletesAsRead(t *testing.T) {
	read := types.ResourceRecordSet{Name: aws.String("www.example.com."), Type: types.RRTypeA, SetIdentifier: aws.String("green"), Weight: aws.Int64(0),
		HealthCheckId: aws.String("hc-green"),
		AliasTarget:   &types.AliasTarget{HostedZoneId: aws.String(albZone), DNSName: aws.String("green-alb.us-east-1.elb.amazonaws.com."), EvaluateTargetHealth: true}}
	stub := awstest.NewStub().
		On("ListResourceRecordSets", &route53.ListResourceRecordSetsOutput{ResourceRecordSets: []types.ResourceRecordSet{read}}).
		On("ChangeResourceRecordSets", &route53.ChangeResourceRecordSetsOutput{ChangeInfo: &types.ChangeInfo{Id: aws.String("/change/C1")}})
	a := route53dns.New(route53.NewFromConfig(stub.Config()), "Z1")
	records, err := a.Weighted(t.Context(), "www.example.com.", "A")
	if err != nil {
		t.Fatal(err)
	}
	if id, err := a.SetWeights(t.Context(), records, map[string]int64{"green": 10}, "c"); err != nil || id != "C1" {
		t.Fatalf("SetWeights: %q, %v", id, err)
	}
	calls := stub.Calls()
	in := calls[len(calls)-1].Input.(*route53.ChangeResourceRecordSetsInput)
	created := read
	created.Weight = aws.Int64(10)
	want := []types.Change{{Action: types.ChangeActionDelete, ResourceRecordSet: &read}, {Action: types.ChangeActionCreate, ResourceRecordSet: &created}}
	if diff := cmp.Diff(want, in.ChangeBatch.Changes, cmpopts.IgnoreUnexported(types.Change{}, types.ResourceRecordSet{}, types.AliasTarget{})); diff != "" {
		t.Errorf("change batch (-want +got):\n%s", diff)
	}
	// The shift stack's IAM condition allows these actions only.
	var actions []string
	for _, c := range in.ChangeBatch.Changes {
		if !slices.Contains(actions, string(c.Action)) {
			actions = append(actions, string(c.Action))
		}
	}
	if diff := cmp.Diff(route53dns.ChangeActions(), actions); diff != "" {
		t.Errorf("the batch's actions are not ChangeActions (-want +got):\n%s", diff)
	}
}

func TestSetWeightsRefused(t *testing.T) {
	stub := awstest.NewStub().
		On("ListResourceRecordSets", &route53.ListResourceRecordSetsOutput{ResourceRecordSets: []types.ResourceRecordSet{
			{Name: aws.String("www.example.com."), Type: types.RRTypeA, SetIdentifier: aws.String("blue"), Weight: aws.Int64(100)},
		}}).
		// Route 53 refuses a batch that no longer fits the zone with
		// InvalidChangeBatch (ChangeResourceRecordSets, Errors).
		On("ChangeResourceRecordSets", &smithy.GenericAPIError{Code: "InvalidChangeBatch", Message: "Tried to upsert a record set that conflicts"})
	a := route53dns.New(route53.NewFromConfig(stub.Config()), "Z1")
	records, err := a.Weighted(t.Context(), "www.example.com.", "A")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.SetWeights(t.Context(), records, map[string]int64{"blue": 0}, ""); !errors.Is(err, route53dns.ErrChangeRefused) {
		t.Errorf("SetWeights: %v, want ErrChangeRefused", err)
	}
}

func TestHealthyShare(t *testing.T) {
	ok, fail := "Success: HTTP Status Code 200, OK", "Failure: Connection timed out."
	cases := []struct {
		name    string
		reports []string
		want    bool
	}{
		{"none reported", nil, false},
		{"all fail", []string{fail, fail}, false},
		{"1 of 6 (16.7 %) is not enough", []string{ok, fail, fail, fail, fail, fail}, false},
		{"1 of 5 (20 %) is", []string{ok, fail, fail, fail, fail}, true},
		{"all succeed", []string{ok, ok, ok}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := route53dns.HealthyShare(tc.reports); got != tc.want {
				t.Errorf("HealthyShare = %v, want %v", got, tc.want)
			}
		})
	}
}
