package awsproxy

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
)

// Refreshes models Auto Scaling instance refreshes, which moto does not serve
// (StartInstanceRefresh, DescribeInstanceRefreshes, CancelInstanceRefresh and
// RollbackInstanceRefresh answer HTTP 500 NotImplemented). It follows the
// Amazon EC2 Auto Scaling API Reference for those four calls and for
// RefreshPreferences, and the user guide's "Use an instance refresh to update
// instances in an Auto Scaling group" and "Undo changes with a rollback":
//
//   - a group has at most one refresh in progress (Pending, InProgress,
//     Baking, Cancelling, RollbackInProgress); starting another is the error
//     InstanceRefreshInProgress;
//   - preferences are checked as AWS checks them: MinHealthyPercentage 0–100,
//     MaxHealthyPercentage 100–200 and only with MinHealthyPercentage, at most
//     100 apart; checkpoints ascending, 1–100; auto-rollback needs a desired
//     configuration on a numbered launch template version;
//   - a refresh does nothing by itself: the test moves it through its statuses
//     (Advance), Pending → InProgress → Baking → Successful, or Failed,
//     Cancelling → Cancelled, RollbackInProgress → RollbackSuccessful or
//     RollbackFailed; a failure with auto-rollback on rolls back instead;
//   - success applies the desired configuration to the group (moto's
//     UpdateAutoScalingGroup, so DescribeAutoScalingGroups shows it); a
//     rollback leaves the group as it was, since nothing was applied;
//   - cancelling or rolling back with no refresh in progress is
//     ActiveInstanceRefreshNotFound; rolling back a refresh without a desired
//     configuration, or on "$Latest"/"$Default", is IrreversibleInstanceRefresh.
//
// Instances are not replaced: moto's keep their launch template version.
type Refreshes struct {
	p  *Proxy
	mu sync.Mutex
	// byGroup holds each group's refreshes, oldest first.
	byGroup map[string][]*refresh
	n       int
}

type refresh struct {
	types.InstanceRefresh
	region string
}

func newRefreshes(p *Proxy) *Refreshes { return &Refreshes{p: p, byGroup: map[string][]*refresh{}} }

func (rs *Refreshes) reset() {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	rs.byGroup = map[string][]*refresh{}
}

// active are the statuses of a refresh in progress.
var active = []types.InstanceRefreshStatus{
	types.InstanceRefreshStatusPending, types.InstanceRefreshStatusInProgress, types.InstanceRefreshStatusBaking,
	types.InstanceRefreshStatusCancelling, types.InstanceRefreshStatusRollbackInProgress,
}

// transitions are the moves Advance allows, by status.
var transitions = map[types.InstanceRefreshStatus][]types.InstanceRefreshStatus{
	types.InstanceRefreshStatusPending:            {types.InstanceRefreshStatusInProgress, types.InstanceRefreshStatusFailed},
	types.InstanceRefreshStatusInProgress:         {types.InstanceRefreshStatusBaking, types.InstanceRefreshStatusSuccessful, types.InstanceRefreshStatusFailed},
	types.InstanceRefreshStatusBaking:             {types.InstanceRefreshStatusSuccessful, types.InstanceRefreshStatusFailed},
	types.InstanceRefreshStatusCancelling:         {types.InstanceRefreshStatusCancelled},
	types.InstanceRefreshStatusRollbackInProgress: {types.InstanceRefreshStatusRollbackSuccessful, types.InstanceRefreshStatusRollbackFailed},
}

// Latest returns the group's most recent refresh; ok is false when it never
// had one.
func (rs *Refreshes) Latest(group string) (r types.InstanceRefresh, ok bool) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	all := rs.byGroup[group]
	if len(all) == 0 {
		return types.InstanceRefresh{}, false
	}
	return all[len(all)-1].InstanceRefresh, true
}

// Count returns how many refreshes the group has had.
func (rs *Refreshes) Count(group string) int {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return len(rs.byGroup[group])
}

// Advance moves the group's most recent refresh to status, with reason as
// its StatusReason, as Auto Scaling would as it works: see Refreshes for the
// moves allowed. Failed, for a refresh with auto-rollback on, becomes
// RollbackInProgress. Successful applies the desired configuration to the
// group in the emulator.
func (rs *Refreshes) Advance(ctx context.Context, group string, status types.InstanceRefreshStatus, reason string) error {
	now := rs.p.clock()
	rs.mu.Lock()
	all := rs.byGroup[group]
	if len(all) == 0 {
		rs.mu.Unlock()
		return fmt.Errorf("advancing the refresh of %s: the group has none", group)
	}
	r := all[len(all)-1]
	if !slices.Contains(transitions[r.Status], status) {
		rs.mu.Unlock()
		return fmt.Errorf("advancing refresh %s of %s: %s cannot become %s (it may become %v)", aws.ToString(r.InstanceRefreshId), group, r.Status, status, transitions[r.Status])
	}
	if status == types.InstanceRefreshStatusFailed && r.Preferences != nil && aws.ToBool(r.Preferences.AutoRollback) {
		status = types.InstanceRefreshStatusRollbackInProgress
	}
	desired, region := r.DesiredConfiguration, r.region
	rs.mu.Unlock()

	if status == types.InstanceRefreshStatusSuccessful && desired != nil && desired.LaunchTemplate != nil {
		// Outside the lock: a call to the emulator.
		if _, err := rs.p.upstreamAutoScaling(region).UpdateAutoScalingGroup(ctx, &autoscaling.UpdateAutoScalingGroupInput{
			AutoScalingGroupName: aws.String(group), LaunchTemplate: desired.LaunchTemplate,
		}); err != nil {
			return fmt.Errorf("applying the desired configuration of %s: %w", group, err)
		}
	}

	rs.mu.Lock()
	defer rs.mu.Unlock()
	r.Status = status
	r.StatusReason = optional(reason)
	switch status {
	case types.InstanceRefreshStatusSuccessful:
		r.PercentageComplete = aws.Int32(100)
		r.EndTime = aws.Time(now)
	case types.InstanceRefreshStatusFailed, types.InstanceRefreshStatusCancelled,
		types.InstanceRefreshStatusRollbackSuccessful, types.InstanceRefreshStatusRollbackFailed:
		r.EndTime = aws.Time(now)
	}
	return nil
}

// Progress sets the group's most recent refresh's PercentageComplete.
func (rs *Refreshes) Progress(group string, percent int32) error {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	all := rs.byGroup[group]
	if len(all) == 0 {
		return fmt.Errorf("setting the progress of the refresh of %s: the group has none", group)
	}
	all[len(all)-1].PercentageComplete = aws.Int32(percent)
	return nil
}

func (rs *Refreshes) handles(op string) bool {
	switch op {
	case "StartInstanceRefresh", "DescribeInstanceRefreshes", "CancelInstanceRefresh", "RollbackInstanceRefresh":
		return true
	}
	return false
}

func (rs *Refreshes) serve(ctx context.Context, req *request) answer {
	var a answer
	switch req.operation {
	case "StartInstanceRefresh":
		a = rs.start(ctx, req)
	case "DescribeInstanceRefreshes":
		a = rs.describe(req)
	case "CancelInstanceRefresh":
		a = rs.cancel(req)
	case "RollbackInstanceRefresh":
		a = rs.rollback(ctx, req)
	}
	a.model = "refresh"
	return a
}

func (rs *Refreshes) start(ctx context.Context, req *request) answer {
	f := req.form
	group := f.Get("AutoScalingGroupName")
	g, err := rs.p.group(ctx, req.region, group)
	if err != nil {
		return errorAnswer(req, http.StatusInternalServerError, "InternalFailure", "reading the group from the emulator: "+err.Error())
	}
	if g == nil {
		return groupNotFound(req, group)
	}
	prefs, err := preferences(f)
	if err != nil {
		return errorAnswer(req, http.StatusBadRequest, "ValidationError", err.Error())
	}
	desired := desiredConfiguration(f)
	if aws.ToBool(prefs.AutoRollback) {
		if desired == nil || desired.LaunchTemplate == nil {
			return errorAnswer(req, http.StatusBadRequest, "ValidationError", "You must specify a desired configuration to enable auto rollback.")
		}
		if v := aws.ToString(desired.LaunchTemplate.Version); v == "$Latest" || v == "$Default" || v == "" {
			return errorAnswer(req, http.StatusBadRequest, "ValidationError", "Auto rollback requires a specific launch template version, not $Latest or $Default.")
		}
	}
	strategy := types.RefreshStrategy(f.Get("Strategy"))
	if strategy == "" {
		strategy = types.RefreshStrategyRolling
	}

	now := rs.p.clock()
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if all := rs.byGroup[group]; len(all) > 0 && slices.Contains(active, all[len(all)-1].Status) {
		return errorAnswer(req, http.StatusBadRequest, "InstanceRefreshInProgress", "An Instance Refresh is already in progress and blocks the execution of this Instance Refresh.")
	}
	rs.n++
	id := fmt.Sprintf("%08x-0000-4000-8000-%012x", now.Unix()&0xffffffff, rs.n)
	rs.byGroup[group] = append(rs.byGroup[group], &refresh{region: req.region, InstanceRefresh: types.InstanceRefresh{
		InstanceRefreshId:    aws.String(id),
		AutoScalingGroupName: aws.String(group),
		Status:               types.InstanceRefreshStatusPending,
		StartTime:            aws.Time(now),
		PercentageComplete:   aws.Int32(0),
		InstancesToUpdate:    aws.Int32(int32(len(g.Instances))),
		Preferences:          prefs,
		DesiredConfiguration: desired,
		Strategy:             strategy,
	}})
	return queryResult(req.operation, autoScalingXMLNS, "<InstanceRefreshId>"+id+"</InstanceRefreshId>")
}

func (rs *Refreshes) describe(req *request) answer {
	f := req.form
	group := f.Get("AutoScalingGroupName")
	ids := members(f, "InstanceRefreshIds")
	limit := 50
	if s := f.Get("MaxRecords"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 100 {
			return errorAnswer(req, http.StatusBadRequest, "ValidationError", "MaxRecords must be between 1 and 100.")
		}
		limit = n
	}
	from := 0
	if s := f.Get("NextToken"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return errorAnswer(req, http.StatusBadRequest, "InvalidNextToken", "The token '"+s+"' is invalid.")
		}
		from = n
	}
	rs.mu.Lock()
	var matched []types.InstanceRefresh
	all := rs.byGroup[group]
	for i := len(all) - 1; i >= 0; i-- { // newest first
		if len(ids) == 0 || slices.Contains(ids, aws.ToString(all[i].InstanceRefreshId)) {
			matched = append(matched, all[i].InstanceRefresh)
		}
	}
	rs.mu.Unlock()

	var b strings.Builder
	b.WriteString("<InstanceRefreshes>")
	end := min(from+limit, len(matched))
	for _, r := range matched[min(from, len(matched)):end] {
		b.WriteString("<member>")
		writeRefresh(&b, r)
		b.WriteString("</member>")
	}
	b.WriteString("</InstanceRefreshes>")
	if end < len(matched) {
		b.WriteString("<NextToken>" + strconv.Itoa(end) + "</NextToken>")
	}
	return queryResult(req.operation, autoScalingXMLNS, b.String())
}

func (rs *Refreshes) cancel(req *request) answer {
	group := req.form.Get("AutoScalingGroupName")
	rs.mu.Lock()
	defer rs.mu.Unlock()
	r := rs.inProgress(group, types.InstanceRefreshStatusPending, types.InstanceRefreshStatusInProgress,
		types.InstanceRefreshStatusBaking, types.InstanceRefreshStatusRollbackInProgress)
	if r == nil {
		return noActiveRefresh(req, group)
	}
	r.Status = types.InstanceRefreshStatusCancelling
	return queryResult(req.operation, autoScalingXMLNS, "<InstanceRefreshId>"+aws.ToString(r.InstanceRefreshId)+"</InstanceRefreshId>")
}

func (rs *Refreshes) rollback(ctx context.Context, req *request) answer {
	group := req.form.Get("AutoScalingGroupName")
	g, err := rs.p.group(ctx, req.region, group)
	if err != nil {
		return errorAnswer(req, http.StatusInternalServerError, "InternalFailure", "reading the group from the emulator: "+err.Error())
	}
	if g == nil {
		return groupNotFound(req, group)
	}
	rs.mu.Lock()
	defer rs.mu.Unlock()
	r := rs.inProgress(group, types.InstanceRefreshStatusPending, types.InstanceRefreshStatusInProgress, types.InstanceRefreshStatusBaking)
	if r == nil {
		return noActiveRefresh(req, group)
	}
	if r.DesiredConfiguration == nil || r.DesiredConfiguration.LaunchTemplate == nil {
		return errorAnswer(req, http.StatusBadRequest, "IrreversibleInstanceRefresh", "The instance refresh cannot be rolled back: it has no desired configuration.")
	}
	for _, v := range []string{aws.ToString(r.DesiredConfiguration.LaunchTemplate.Version), groupVersion(g)} {
		if v == "$Latest" || v == "$Default" {
			return errorAnswer(req, http.StatusBadRequest, "IrreversibleInstanceRefresh", "The instance refresh cannot be rolled back: the group uses the launch template version "+v+".")
		}
	}
	r.Status = types.InstanceRefreshStatusRollbackInProgress
	r.StatusReason = aws.String("Rollback requested")
	return queryResult(req.operation, autoScalingXMLNS, "<InstanceRefreshId>"+aws.ToString(r.InstanceRefreshId)+"</InstanceRefreshId>")
}

// inProgress returns the group's latest refresh if it has one of statuses.
func (rs *Refreshes) inProgress(group string, statuses ...types.InstanceRefreshStatus) *refresh {
	all := rs.byGroup[group]
	if len(all) == 0 || !slices.Contains(statuses, all[len(all)-1].Status) {
		return nil
	}
	return all[len(all)-1]
}

func noActiveRefresh(req *request, group string) answer {
	return errorAnswer(req, http.StatusBadRequest, "ActiveInstanceRefreshNotFound", "No in progress or pending Instance Refresh found for Auto Scaling group "+group)
}

// groupNotFound is Auto Scaling's answer about a group that does not exist;
// awserr.IsNotFound recognises it.
func groupNotFound(req *request, group string) answer {
	return errorAnswer(req, http.StatusBadRequest, "ValidationError", "AutoScalingGroup name not found - AutoScalingGroup '"+group+"' not found")
}

func groupVersion(g *types.AutoScalingGroup) string {
	if g.LaunchTemplate == nil {
		return ""
	}
	return aws.ToString(g.LaunchTemplate.Version)
}

// preferences reads and checks StartInstanceRefresh's Preferences.
func preferences(f map[string][]string) (*types.RefreshPreferences, error) {
	get := func(k string) string {
		if v := f["Preferences."+k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	p := &types.RefreshPreferences{}
	ints := []struct {
		name     string
		dst      **int32
		min, max int
	}{
		{"MinHealthyPercentage", &p.MinHealthyPercentage, 0, 100},
		{"MaxHealthyPercentage", &p.MaxHealthyPercentage, 100, 200},
		{"InstanceWarmup", &p.InstanceWarmup, 0, 1 << 31},
		{"CheckpointDelay", &p.CheckpointDelay, 0, 172800},
		{"BakeTime", &p.BakeTime, 0, 172800},
	}
	for _, in := range ints {
		s := get(in.name)
		if s == "" {
			continue
		}
		n, err := strconv.Atoi(s)
		if err != nil || n < in.min || n > in.max {
			return nil, fmt.Errorf("%s must be between %d and %d, got %q", in.name, in.min, in.max, s)
		}
		*in.dst = aws.Int32(int32(n))
	}
	if p.MaxHealthyPercentage != nil {
		if p.MinHealthyPercentage == nil {
			return nil, fmt.Errorf("MinHealthyPercentage must be specified when MaxHealthyPercentage is")
		}
		if *p.MaxHealthyPercentage-*p.MinHealthyPercentage > 100 {
			return nil, fmt.Errorf("the difference between MaxHealthyPercentage and MinHealthyPercentage cannot be greater than 100")
		}
	}
	for i, s := range members(f, "Preferences.CheckpointPercentages") {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 100 || i > 0 && int32(n) <= p.CheckpointPercentages[i-1] {
			return nil, fmt.Errorf("CheckpointPercentages must be ascending values between 1 and 100")
		}
		p.CheckpointPercentages = append(p.CheckpointPercentages, int32(n))
	}
	for k, dst := range map[string]**bool{"SkipMatching": &p.SkipMatching, "AutoRollback": &p.AutoRollback} {
		if s := get(k); s != "" {
			*dst = aws.Bool(s == "true")
		}
	}
	if alarms := members(f, "Preferences.AlarmSpecification.Alarms"); len(alarms) > 0 {
		p.AlarmSpecification = &types.AlarmSpecification{Alarms: alarms}
	}
	p.ScaleInProtectedInstances = types.ScaleInProtectedInstances(get("ScaleInProtectedInstances"))
	p.StandbyInstances = types.StandbyInstances(get("StandbyInstances"))
	return p, nil
}

// desiredConfiguration reads StartInstanceRefresh's DesiredConfiguration
// launch template, nil when there is none.
func desiredConfiguration(f map[string][]string) *types.DesiredConfiguration {
	lt := &types.LaunchTemplateSpecification{}
	for k, dst := range map[string]**string{"LaunchTemplateId": &lt.LaunchTemplateId, "LaunchTemplateName": &lt.LaunchTemplateName, "Version": &lt.Version} {
		if v := f["DesiredConfiguration.LaunchTemplate."+k]; len(v) > 0 {
			*dst = aws.String(v[0])
		}
	}
	if *lt == (types.LaunchTemplateSpecification{}) {
		return nil
	}
	return &types.DesiredConfiguration{LaunchTemplate: lt}
}

// writeRefresh writes r's members as the Query API's XML.
func writeRefresh(b *strings.Builder, r types.InstanceRefresh) {
	el := func(name, v string) { b.WriteString("<" + name + ">" + escape(v) + "</" + name + ">") }
	opt := func(name string, v *string) {
		if v != nil {
			el(name, *v)
		}
	}
	num := func(name string, v *int32) {
		if v != nil {
			el(name, strconv.Itoa(int(*v)))
		}
	}
	when := func(name string, v *time.Time) {
		if v != nil {
			el(name, v.UTC().Format("2006-01-02T15:04:05.000Z"))
		}
	}
	opt("InstanceRefreshId", r.InstanceRefreshId)
	opt("AutoScalingGroupName", r.AutoScalingGroupName)
	el("Status", string(r.Status))
	opt("StatusReason", r.StatusReason)
	when("StartTime", r.StartTime)
	when("EndTime", r.EndTime)
	num("PercentageComplete", r.PercentageComplete)
	num("InstancesToUpdate", r.InstancesToUpdate)
	el("Strategy", string(r.Strategy))
	if p := r.Preferences; p != nil {
		b.WriteString("<Preferences>")
		num("MinHealthyPercentage", p.MinHealthyPercentage)
		num("MaxHealthyPercentage", p.MaxHealthyPercentage)
		num("InstanceWarmup", p.InstanceWarmup)
		num("CheckpointDelay", p.CheckpointDelay)
		num("BakeTime", p.BakeTime)
		if len(p.CheckpointPercentages) > 0 {
			b.WriteString("<CheckpointPercentages>")
			for _, c := range p.CheckpointPercentages {
				el("member", strconv.Itoa(int(c)))
			}
			b.WriteString("</CheckpointPercentages>")
		}
		if p.SkipMatching != nil {
			el("SkipMatching", strconv.FormatBool(*p.SkipMatching))
		}
		if p.AutoRollback != nil {
			el("AutoRollback", strconv.FormatBool(*p.AutoRollback))
		}
		if p.AlarmSpecification != nil {
			b.WriteString("<AlarmSpecification><Alarms>")
			for _, a := range p.AlarmSpecification.Alarms {
				el("member", a)
			}
			b.WriteString("</Alarms></AlarmSpecification>")
		}
		if p.ScaleInProtectedInstances != "" {
			el("ScaleInProtectedInstances", string(p.ScaleInProtectedInstances))
		}
		if p.StandbyInstances != "" {
			el("StandbyInstances", string(p.StandbyInstances))
		}
		b.WriteString("</Preferences>")
	}
	if d := r.DesiredConfiguration; d != nil && d.LaunchTemplate != nil {
		b.WriteString("<DesiredConfiguration><LaunchTemplate>")
		opt("LaunchTemplateId", d.LaunchTemplate.LaunchTemplateId)
		opt("LaunchTemplateName", d.LaunchTemplate.LaunchTemplateName)
		opt("Version", d.LaunchTemplate.Version)
		b.WriteString("</LaunchTemplate></DesiredConfiguration>")
	}
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return aws.String(s)
}

// upstreamAutoScaling is an Auto Scaling client straight to the emulator,
// for the models' own reads and writes.
func (p *Proxy) upstreamAutoScaling(region string) *autoscaling.Client {
	return autoscaling.New(autoscaling.Options{
		Region:       region,
		Credentials:  credentials.NewStaticCredentialsProvider("testing", "testing", ""),
		BaseEndpoint: aws.String(p.upstream.String()),
		HTTPClient:   p.client,
		Retryer:      aws.NopRetryer{},
	})
}

// group reads a group from the emulator; nil when it does not exist.
func (p *Proxy) group(ctx context.Context, region, name string) (*types.AutoScalingGroup, error) {
	out, err := p.upstreamAutoScaling(region).DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{
		AutoScalingGroupNames: []string{name},
	})
	if err != nil {
		return nil, err
	}
	if len(out.AutoScalingGroups) == 0 {
		return nil, nil
	}
	return &out.AutoScalingGroups[0], nil
}
