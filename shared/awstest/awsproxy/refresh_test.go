package awsproxy_test

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/stampkit/stampkit/shared/awserr"
	"github.com/stampkit/stampkit/shared/awstest"
	"github.com/stampkit/stampkit/shared/awstest/awsproxy"
)

type refreshRig struct {
	c     *autoscaling.Client
	p     *awsproxy.Proxy
	fleet awstest.Fleet
	now   time.Time
}

func newRefreshRig(t *testing.T) *refreshRig {
	t.Helper()
	cfg := emu.Fresh(t)
	r := &refreshRig{c: autoscaling.NewFromConfig(cfg), p: emu.Proxy(t), fleet: awstest.NewFleet(t, cfg), now: time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)}
	r.p.SetClock(func() time.Time { return r.now })
	// Version 2 of the fleet's template, the refresh's desired configuration.
	if _, err := ec2.NewFromConfig(cfg).CreateLaunchTemplateVersion(t.Context(), &ec2.CreateLaunchTemplateVersionInput{
		LaunchTemplateId:   aws.String(r.fleet.LaunchTemplateID),
		LaunchTemplateData: &ec2types.RequestLaunchTemplateData{ImageId: aws.String(r.fleet.ImageID)},
	}); err != nil {
		t.Fatalf("CreateLaunchTemplateVersion: %v", err)
	}
	return r
}

func (r *refreshRig) start(t *testing.T, version string, prefs *types.RefreshPreferences) (string, error) {
	t.Helper()
	in := &autoscaling.StartInstanceRefreshInput{AutoScalingGroupName: aws.String(r.fleet.GroupName), Preferences: prefs}
	if version != "" {
		in.DesiredConfiguration = &types.DesiredConfiguration{LaunchTemplate: &types.LaunchTemplateSpecification{
			LaunchTemplateId: aws.String(r.fleet.LaunchTemplateID), Version: aws.String(version),
		}}
	}
	out, err := r.c.StartInstanceRefresh(t.Context(), in)
	if err != nil {
		return "", err
	}
	return aws.ToString(out.InstanceRefreshId), nil
}

func (r *refreshRig) describe(t *testing.T) []types.InstanceRefresh {
	t.Helper()
	out, err := r.c.DescribeInstanceRefreshes(t.Context(), &autoscaling.DescribeInstanceRefreshesInput{AutoScalingGroupName: aws.String(r.fleet.GroupName)})
	if err != nil {
		t.Fatalf("DescribeInstanceRefreshes: %v", err)
	}
	return out.InstanceRefreshes
}

func (r *refreshRig) groupVersion(t *testing.T) string {
	t.Helper()
	out, err := r.c.DescribeAutoScalingGroups(t.Context(), &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{r.fleet.GroupName}})
	if err != nil || len(out.AutoScalingGroups) != 1 {
		t.Fatalf("DescribeAutoScalingGroups: %v", err)
	}
	return aws.ToString(out.AutoScalingGroups[0].LaunchTemplate.Version)
}

func (r *refreshRig) advance(t *testing.T, to types.InstanceRefreshStatus) {
	t.Helper()
	if err := r.p.Refreshes().Advance(t.Context(), r.fleet.GroupName, to, ""); err != nil {
		t.Fatal(err)
	}
}

// TestRefreshSucceeds: a refresh reads back as sent, one at a time per group;
// its success puts the desired configuration on the group in the emulator.
func TestRefreshSucceeds(t *testing.T) {
	r := newRefreshRig(t)
	prefs := &types.RefreshPreferences{
		MinHealthyPercentage: aws.Int32(100), MaxHealthyPercentage: aws.Int32(200), InstanceWarmup: aws.Int32(60),
		CheckpointPercentages: []int32{50, 100}, CheckpointDelay: aws.Int32(300), SkipMatching: aws.Bool(true), AutoRollback: aws.Bool(true),
		AlarmSpecification: &types.AlarmSpecification{Alarms: []string{"web-5xx"}},
	}
	id, err := r.start(t, "2", prefs)
	if err != nil {
		t.Fatalf("StartInstanceRefresh: %v", err)
	}
	if _, err := r.start(t, "2", nil); !awserr.IsConflict(err) || awserr.Code(err) != "InstanceRefreshInProgress" {
		t.Errorf("a second refresh: got %v, want InstanceRefreshInProgress (awserr.IsConflict)", err)
	}
	want := types.InstanceRefresh{
		InstanceRefreshId: aws.String(id), AutoScalingGroupName: aws.String(r.fleet.GroupName),
		Status: types.InstanceRefreshStatusPending, StartTime: aws.Time(r.now), PercentageComplete: aws.Int32(0),
		InstancesToUpdate: aws.Int32(awstest.FleetDesired), Preferences: prefs, Strategy: types.RefreshStrategyRolling,
		DesiredConfiguration: &types.DesiredConfiguration{LaunchTemplate: &types.LaunchTemplateSpecification{
			LaunchTemplateId: aws.String(r.fleet.LaunchTemplateID), Version: aws.String("2"),
		}},
	}
	opts := cmpopts.IgnoreUnexported(types.InstanceRefresh{}, types.RefreshPreferences{}, types.AlarmSpecification{},
		types.DesiredConfiguration{}, types.LaunchTemplateSpecification{})
	if diff := cmp.Diff([]types.InstanceRefresh{want}, r.describe(t), opts); diff != "" {
		t.Errorf("DescribeInstanceRefreshes (-want +got):\n%s", diff)
	}

	r.advance(t, types.InstanceRefreshStatusInProgress)
	if err := r.p.Refreshes().Progress(r.fleet.GroupName, 50); err != nil {
		t.Fatal(err)
	}
	if got := r.describe(t)[0]; got.Status != types.InstanceRefreshStatusInProgress || aws.ToInt32(got.PercentageComplete) != 50 {
		t.Errorf("in progress: got %s at %d%%, want InProgress at 50%%", got.Status, aws.ToInt32(got.PercentageComplete))
	}
	if v := r.groupVersion(t); v != "1" {
		t.Errorf("group version during the refresh: got %q, want \"1\"", v)
	}
	r.now = r.now.Add(10 * time.Minute)
	r.advance(t, types.InstanceRefreshStatusSuccessful)
	got := r.describe(t)[0]
	if got.Status != types.InstanceRefreshStatusSuccessful || aws.ToInt32(got.PercentageComplete) != 100 || !aws.ToTime(got.EndTime).Equal(r.now) {
		t.Errorf("after success: got %s at %d%% ending %v, want Successful at 100%% ending %v", got.Status, aws.ToInt32(got.PercentageComplete), got.EndTime, r.now)
	}
	if v := r.groupVersion(t); v != "2" {
		t.Errorf("group version after the refresh: got %q, want \"2\" (the desired configuration)", v)
	}
	if _, err := r.start(t, "", nil); err != nil {
		t.Errorf("a new refresh after success: %v", err)
	}
	if all := r.describe(t); len(all) != 2 || aws.ToString(all[1].InstanceRefreshId) != id {
		t.Errorf("refreshes: got %d, want 2, newest first", len(all))
	}
}

// TestRefreshCancelAndRollback covers the unkind paths: cancel and rollback
// with nothing in progress, a rollback that cannot be, a failure that rolls
// back by itself, and transitions AWS would never make.
func TestRefreshCancelAndRollback(t *testing.T) {
	r := newRefreshRig(t)
	ctx := t.Context()
	group := aws.String(r.fleet.GroupName)
	if _, err := r.c.CancelInstanceRefresh(ctx, &autoscaling.CancelInstanceRefreshInput{AutoScalingGroupName: group}); awserr.Code(err) != "ActiveInstanceRefreshNotFound" || !awserr.IsNotFound(err) {
		t.Errorf("cancel with none: got %v, want ActiveInstanceRefreshNotFound", err)
	}
	if _, err := r.c.RollbackInstanceRefresh(ctx, &autoscaling.RollbackInstanceRefreshInput{AutoScalingGroupName: group}); awserr.Code(err) != "ActiveInstanceRefreshNotFound" {
		t.Errorf("rollback with none: got %v, want ActiveInstanceRefreshNotFound", err)
	}

	// No desired configuration: cannot be rolled back; can be cancelled.
	if _, err := r.start(t, "", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := r.c.RollbackInstanceRefresh(ctx, &autoscaling.RollbackInstanceRefreshInput{AutoScalingGroupName: group}); awserr.Code(err) != "IrreversibleInstanceRefresh" || !awserr.IsRejected(err) {
		t.Errorf("rollback without a desired configuration: got %v, want IrreversibleInstanceRefresh", err)
	}
	if _, err := r.c.CancelInstanceRefresh(ctx, &autoscaling.CancelInstanceRefreshInput{AutoScalingGroupName: group}); err != nil {
		t.Fatalf("cancel: %v", err)
	}
	if err := r.p.Refreshes().Advance(ctx, r.fleet.GroupName, types.InstanceRefreshStatusSuccessful, ""); err == nil {
		t.Error("Cancelling became Successful, want the move refused")
	}
	if _, err := r.start(t, "2", nil); awserr.Code(err) != "InstanceRefreshInProgress" {
		t.Errorf("a refresh while one is cancelling: got %v, want InstanceRefreshInProgress", err)
	}
	r.advance(t, types.InstanceRefreshStatusCancelled)

	// A numbered version: rolled back on request.
	if _, err := r.start(t, "2", nil); err != nil {
		t.Fatal(err)
	}
	r.advance(t, types.InstanceRefreshStatusInProgress)
	if _, err := r.c.RollbackInstanceRefresh(ctx, &autoscaling.RollbackInstanceRefreshInput{AutoScalingGroupName: group}); err != nil {
		t.Fatalf("rollback: %v", err)
	}
	r.advance(t, types.InstanceRefreshStatusRollbackSuccessful)
	if v := r.groupVersion(t); v != "1" {
		t.Errorf("group version after the rollback: got %q, want \"1\"", v)
	}

	// Auto-rollback: a failure rolls back.
	if _, err := r.start(t, "2", &types.RefreshPreferences{AutoRollback: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	r.advance(t, types.InstanceRefreshStatusInProgress)
	r.advance(t, types.InstanceRefreshStatusFailed)
	if got := r.describe(t)[0].Status; got != types.InstanceRefreshStatusRollbackInProgress {
		t.Errorf("a failed refresh with auto-rollback: got %s, want RollbackInProgress", got)
	}
	if err := r.p.Refreshes().Advance(ctx, r.fleet.GroupName, types.InstanceRefreshStatusInProgress, ""); err == nil {
		t.Error("RollbackInProgress became InProgress, want the move refused")
	}
}

// TestRefreshRejectsPreferences: preferences AWS refuses are a ValidationError
// and start nothing.
func TestRefreshRejectsPreferences(t *testing.T) {
	r := newRefreshRig(t)
	tests := []struct {
		name    string
		version string
		prefs   *types.RefreshPreferences
	}{
		{"max without min", "2", &types.RefreshPreferences{MaxHealthyPercentage: aws.Int32(150)}},
		{"max and min over 100 apart", "2", &types.RefreshPreferences{MinHealthyPercentage: aws.Int32(50), MaxHealthyPercentage: aws.Int32(200)}},
		{"max below 100", "2", &types.RefreshPreferences{MinHealthyPercentage: aws.Int32(50), MaxHealthyPercentage: aws.Int32(90)}},
		{"checkpoints descending", "2", &types.RefreshPreferences{CheckpointPercentages: []int32{50, 20}}},
		{"auto-rollback without a desired configuration", "", &types.RefreshPreferences{AutoRollback: aws.Bool(true)}},
		{"auto-rollback on $Latest", "$Latest", &types.RefreshPreferences{AutoRollback: aws.Bool(true)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := r.start(t, tt.version, tt.prefs); awserr.Code(err) != "ValidationError" {
				t.Errorf("got %v, want a ValidationError", err)
			}
		})
	}
	if _, ok := r.p.Refreshes().Latest(r.fleet.GroupName); ok {
		t.Error("a rejected start left a refresh")
	}
	if _, err := r.c.StartInstanceRefresh(t.Context(), &autoscaling.StartInstanceRefreshInput{AutoScalingGroupName: aws.String("nope")}); !awserr.IsNotFound(err) {
		t.Errorf("a missing group: got %v, want a not-found ValidationError", err)
	}
}

// TestRefreshPaging: DescribeInstanceRefreshes pages by MaxRecords; Count
// counts every refresh the group had.
func TestRefreshPaging(t *testing.T) {
	r := newRefreshRig(t)
	var ids []string
	for range 3 {
		id, err := r.start(t, "", nil)
		if err != nil {
			t.Fatal(err)
		}
		ids = append([]string{id}, ids...)
		r.advance(t, types.InstanceRefreshStatusFailed)
	}
	if n := r.p.Refreshes().Count(r.fleet.GroupName); n != 3 {
		t.Errorf("Count: got %d, want 3", n)
	}
	p := autoscaling.NewDescribeInstanceRefreshesPaginator(r.c, &autoscaling.DescribeInstanceRefreshesInput{
		AutoScalingGroupName: aws.String(r.fleet.GroupName), MaxRecords: aws.Int32(2),
	})
	var got []string
	pages := 0
	for p.HasMorePages() {
		page, err := p.NextPage(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, ir := range page.InstanceRefreshes {
			got = append(got, aws.ToString(ir.InstanceRefreshId))
		}
	}
	if diff := cmp.Diff(ids, got); diff != "" || pages != 2 {
		t.Errorf("paged refreshes in %d pages (want 2), (-want +got):\n%s", pages, diff)
	}
	one, err := r.c.DescribeInstanceRefreshes(t.Context(), &autoscaling.DescribeInstanceRefreshesInput{
		AutoScalingGroupName: aws.String(r.fleet.GroupName), InstanceRefreshIds: []string{ids[1]},
	})
	if err != nil || len(one.InstanceRefreshes) != 1 || aws.ToString(one.InstanceRefreshes[0].InstanceRefreshId) != ids[1] {
		t.Errorf("by ID: got %v, %v; want %s alone", one, err, ids[1])
	}
}
