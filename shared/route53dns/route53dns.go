// Package route53dns adapts Route 53 to the calls a weight transition makes:
// read a name's weighted records, change their weights, follow the change
// until it is INSYNC, and read a health check's status.
//
// A Lambda does not wait on a change here: ChangeResourceRecordSets returns
// a change id at once, the caller records it and asks ChangeInSync on its
// next wake-up (the SDK's ResourceRecordSetsChanged waiter would hold the
// function for the minute a change can take). Throttles, including Route
// 53's PriorRequestNotComplete (a change to the same zone still being
// applied), are retried by the SDK's standard retryer
// (retry.DefaultThrottleErrorCodes); one that outlasts it is returned and
// classified by awserr.IsThrottled, and the caller comes back later.
package route53dns

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	"github.com/aws/aws-sdk-go-v2/service/route53/types"

	"github.com/stampkit/stampkit/shared/awserr"
)

// API is the subset of *route53.Client the adapter calls.
type API interface {
	ListResourceRecordSets(ctx context.Context, in *route53.ListResourceRecordSetsInput, optFns ...func(*route53.Options)) (*route53.ListResourceRecordSetsOutput, error)
	ChangeResourceRecordSets(ctx context.Context, in *route53.ChangeResourceRecordSetsInput, optFns ...func(*route53.Options)) (*route53.ChangeResourceRecordSetsOutput, error)
	GetChange(ctx context.Context, in *route53.GetChangeInput, optFns ...func(*route53.Options)) (*route53.GetChangeOutput, error)
	GetHealthCheckStatus(ctx context.Context, in *route53.GetHealthCheckStatusInput, optFns ...func(*route53.Options)) (*route53.GetHealthCheckStatusOutput, error)
}

var _ API = (*route53.Client)(nil)

// ErrChangeRefused reports a change batch Route 53 refused as such
// (InvalidChangeBatch): most often the record changed under the caller
// (another tool deleted or re-created it). Read the records again and
// decide again; sending the same batch fails the same way.
var ErrChangeRefused = errors.New("change batch refused")

// ErrNotWeighted reports a stamp the name has no weighted record for.
var ErrNotWeighted = errors.New("no weighted record for the stamp")

// Adapter calls Route 53 for one hosted zone.
type Adapter struct {
	api  API
	zone string
}

// New returns an Adapter over api, normally a *route53.Client, for the
// hosted zone zone.
func New(api API, zone string) *Adapter { return &Adapter{api: api, zone: zone} }

// Record is one weighted record of a name.
type Record struct {
	// Stamp is the record's SetIdentifier.
	Stamp  string
	Weight int64
	// HealthCheck is the record's health check id; "" when it has none.
	HealthCheck string
	// set is the record as Route 53 returned it: a change deletes it as
	// such and creates it again whole, so the alias target,
	// EvaluateTargetHealth and the health check stay.
	set types.ResourceRecordSet
}

// Weighted returns the weighted records of name and type typ (name fully
// qualified, with or without the trailing dot).
func (a *Adapter) Weighted(ctx context.Context, name, typ string) ([]Record, error) {
	fqdn := strings.ToLower(strings.TrimSuffix(name, ".")) + "."
	pages := route53.NewListResourceRecordSetsPaginator(a.api, &route53.ListResourceRecordSetsInput{
		HostedZoneId:    aws.String(a.zone),
		StartRecordName: aws.String(fqdn),
		StartRecordType: types.RRType(typ),
	})
	var out []Record
	// Records are listed in name then type order, starting at the name:
	// the first other name or type ends the name's records.
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("listing records %s %s in zone %s: %w", fqdn, typ, a.zone, err)
		}
		for _, rs := range page.ResourceRecordSets {
			if !sameName(aws.ToString(rs.Name), fqdn) || string(rs.Type) != typ {
				return out, nil
			}
			if rs.SetIdentifier == nil || rs.Weight == nil {
				continue
			}
			out = append(out, Record{Stamp: aws.ToString(rs.SetIdentifier), Weight: aws.ToInt64(rs.Weight),
				HealthCheck: aws.ToString(rs.HealthCheckId), set: rs})
		}
	}
	return out, nil
}

// sameName compares DNS names as Route 53 lists them: lower case, with
// the trailing dot, octal-escaping characters such as "*" (\052).
func sameName(listed, fqdn string) bool {
	return strings.EqualFold(strings.ReplaceAll(listed, `\052`, "*"), fqdn)
}

// SetWeights changes, in one atomic change batch, the weight of each
// record of records whose stamp weights names, everything else as read. It
// returns the change id to follow with ChangeInSync.
//
// Each record is changed by a DELETE of the record exactly as it was read
// and a CREATE of it with its new weight, not by an UPSERT: a DELETE must
// name all the values the record has, and Route 53 makes all of a batch's
// changes or none ("To delete a resource record set, you must specify all
// the same values that you specified when you created it", "Change
// batches are considered transactional changes", ChangeResourceRecordSets,
// Route 53 API Reference). So a record changed since it was read (a
// deploy that pointed the alias at a new load balancer) makes the batch
// fail with InvalidChangeBatch (ErrChangeRefused), where an UPSERT of the
// stale read would silently put the old alias target back.
func (a *Adapter) SetWeights(ctx context.Context, records []Record, weights map[string]int64, comment string) (string, error) {
	changes := make([]types.Change, 0, 2*len(weights))
	for _, stamp := range slices.Sorted(maps.Keys(weights)) {
		i := indexOf(records, stamp)
		if i < 0 {
			return "", fmt.Errorf("setting weight of %s: %w", stamp, ErrNotWeighted)
		}
		old := records[i].set
		set := old
		set.Weight = aws.Int64(weights[stamp])
		changes = append(changes,
			types.Change{Action: types.ChangeActionDelete, ResourceRecordSet: &old},
			types.Change{Action: types.ChangeActionCreate, ResourceRecordSet: &set})
	}
	out, err := a.api.ChangeResourceRecordSets(ctx, &route53.ChangeResourceRecordSetsInput{
		HostedZoneId: aws.String(a.zone),
		ChangeBatch:  &types.ChangeBatch{Comment: aws.String(comment), Changes: changes},
	})
	if err != nil {
		if awserr.Code(err) == "InvalidChangeBatch" {
			return "", fmt.Errorf("changing weights in zone %s: %w: %w", a.zone, ErrChangeRefused, err)
		}
		return "", fmt.Errorf("changing weights in zone %s: %w", a.zone, err)
	}
	if out.ChangeInfo == nil {
		return "", fmt.Errorf("changing weights in zone %s: no change info in the answer", a.zone)
	}
	return changeID(aws.ToString(out.ChangeInfo.Id)), nil
}

// ChangeActions are the actions of the changes SetWeights sends, as the
// IAM condition key route53:ChangeResourceRecordSetsActions names them: a
// role that may change the record's weights needs these and no other.
func ChangeActions() []string {
	return []string{string(types.ChangeActionDelete), string(types.ChangeActionCreate)}
}

func indexOf(records []Record, stamp string) int {
	for i, r := range records {
		if r.Stamp == stamp {
			return i
		}
	}
	return -1
}

// changeID strips the "/change/" Route 53 puts before a change's id.
func changeID(id string) string { return strings.TrimPrefix(id, "/change/") }

// ChangeInSync reports whether the change id has reached every Route 53
// server of the zone: GetChange's INSYNC, where PENDING is the status of
// every change at first (Route 53 API Reference, GetChange).
func (a *Adapter) ChangeInSync(ctx context.Context, id string) (bool, error) {
	out, err := a.api.GetChange(ctx, &route53.GetChangeInput{Id: aws.String(id)})
	if err != nil {
		return false, fmt.Errorf("getting change %s: %w", id, err)
	}
	if out.ChangeInfo == nil {
		return false, fmt.Errorf("getting change %s: no change info in the answer", id)
	}
	return out.ChangeInfo.Status == types.ChangeStatusInsync, nil
}

// Healthy reports a health check's status as Route 53 decides it: healthy
// when more than 18 % of its health checkers report the endpoint healthy
// ("How Amazon Route 53 determines whether a health check is healthy",
// Route 53 Developer Guide). Each checker's last report starts "Success"
// or "Failure" (GetHealthCheckStatus, StatusReport.Status). A check no
// checker has reported on yet is not healthy.
func (a *Adapter) Healthy(ctx context.Context, healthCheck string) (bool, error) {
	out, err := a.api.GetHealthCheckStatus(ctx, &route53.GetHealthCheckStatusInput{HealthCheckId: aws.String(healthCheck)})
	if err != nil {
		return false, fmt.Errorf("getting health check %s status: %w", healthCheck, err)
	}
	return HealthyShare(statuses(out.HealthCheckObservations)), nil
}

func statuses(obs []types.HealthCheckObservation) []string {
	out := make([]string, 0, len(obs))
	for _, o := range obs {
		if o.StatusReport != nil {
			out = append(out, aws.ToString(o.StatusReport.Status))
		}
	}
	return out
}

// HealthyShare applies Route 53's rule to checkers' reports: healthy when
// more than 18 % start "Success".
func HealthyShare(reports []string) bool {
	if len(reports) == 0 {
		return false
	}
	ok := 0
	for _, r := range reports {
		if strings.HasPrefix(r, "Success") {
			ok++
		}
	}
	return ok*100 > 18*len(reports)
}
