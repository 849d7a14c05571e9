package asg_test

import (
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/stampkit/stampkit/shared/asg"
	"github.com/stampkit/stampkit/shared/awserr"
	"github.com/stampkit/stampkit/shared/awstest"
	"github.com/stampkit/stampkit/shared/awstest/awsproxy"
)

// TestLifecycleActionsEmulator runs the adapter's lifecycle calls against the
// proxy's lifecycle model (moto has none): a heartbeat and a completion by
// token, then the errors a handler sees when someone else finished the job.
func TestLifecycleActionsEmulator(t *testing.T) {
	cfg := emu.Fresh(t)
	f := awstest.NewFleet(t, cfg)
	a := asg.New(autoscaling.NewFromConfig(cfg))
	g, err := a.Describe(t.Context(), f.GroupName)
	if err != nil {
		t.Fatal(err)
	}
	instance := g.Instances[0].ID
	models := emu.Proxy(t).Lifecycle()
	models.Pend(awsproxy.LifecycleAction{Group: f.GroupName, Hook: "launch", InstanceID: instance, Token: "tok-1", HeartbeatTimeout: time.Minute})

	action := asg.LifecycleAction{Group: f.GroupName, Hook: "launch", Token: "tok-1", InstanceID: instance}
	if err := a.RecordHeartbeat(t.Context(), action); err != nil {
		t.Fatalf("RecordHeartbeat: %v", err)
	}
	done := asg.LifecycleCompletion{Group: f.GroupName, Hook: "launch", Token: "tok-1", InstanceID: instance, Result: asg.ResultContinue}
	if err := a.CompleteLifecycleAction(t.Context(), done); err != nil {
		t.Fatalf("CompleteLifecycleAction: %v", err)
	}
	if got, ok := models.Outcome("tok-1"); !ok || got.Result != asg.ResultContinue || got.Heartbeats != 1 {
		t.Errorf("outcome: got %+v, %v; want CONTINUE after one heartbeat", got, ok)
	}
	if err := a.CompleteLifecycleAction(t.Context(), done); !awserr.IsNoActiveLifecycleAction(err) {
		t.Errorf("completing twice: got %v, want awserr.IsNoActiveLifecycleAction", err)
	}
	if err := a.RecordHeartbeat(t.Context(), asg.LifecycleAction{Group: f.GroupName, Hook: "launch", InstanceID: instance}); !awserr.IsNoActiveLifecycleAction(err) {
		t.Errorf("heartbeat by instance after completion: got %v, want awserr.IsNoActiveLifecycleAction", err)
	}
}

// TestInstanceRefreshEmulator runs the adapter's refresh calls against the
// proxy's refresh model: start with a desired configuration, the conflict of
// a second start, reads by ID and latest, rollback, and what a group with
// none reads as.
func TestInstanceRefreshEmulator(t *testing.T) {
	cfg := emu.Fresh(t)
	f := awstest.NewFleet(t, cfg)
	if _, err := ec2.NewFromConfig(cfg).CreateLaunchTemplateVersion(t.Context(), &ec2.CreateLaunchTemplateVersionInput{
		LaunchTemplateId: aws.String(f.LaunchTemplateID), LaunchTemplateData: &ec2types.RequestLaunchTemplateData{ImageId: aws.String(f.ImageID)},
	}); err != nil {
		t.Fatalf("CreateLaunchTemplateVersion: %v", err)
	}
	a := asg.New(autoscaling.NewFromConfig(cfg))
	ctx := t.Context()
	if _, err := a.LatestInstanceRefresh(ctx, f.GroupName); !errors.Is(err, asg.ErrNotFound) {
		t.Errorf("latest refresh of a group with none: got %v, want asg.ErrNotFound", err)
	}
	if _, err := a.CancelInstanceRefresh(ctx, f.GroupName); !awserr.IsNotFound(err) {
		t.Errorf("cancel with none: got %v, want a not-found error", err)
	}

	spec := asg.RefreshSpec{Group: f.GroupName, LaunchTemplate: asg.LaunchTemplate{ID: f.LaunchTemplateID, Version: "2"},
		MinHealthy: aws.Int32(100), MaxHealthy: aws.Int32(200), Checkpoints: []int32{50, 100}, AutoRollback: true}
	id, err := a.StartInstanceRefresh(ctx, spec)
	if err != nil {
		t.Fatalf("StartInstanceRefresh: %v", err)
	}
	if _, err := a.StartInstanceRefresh(ctx, spec); !awserr.IsConflict(err) {
		t.Errorf("a second refresh: got %v, want awserr.IsConflict", err)
	}
	got, err := a.DescribeInstanceRefresh(ctx, f.GroupName, id)
	if err != nil || got.ID != id || got.Status != "Pending" || got.InstancesToUpdate != awstest.FleetDesired {
		t.Errorf("DescribeInstanceRefresh: got %+v, %v; want %s Pending with %d to update", got, err, id, awstest.FleetDesired)
	}
	if _, err := a.DescribeInstanceRefresh(ctx, f.GroupName, "nope"); !errors.Is(err, asg.ErrNotFound) {
		t.Errorf("an unknown refresh: got %v, want asg.ErrNotFound", err)
	}
	if err := emu.Proxy(t).Refreshes().Advance(ctx, f.GroupName, types.InstanceRefreshStatusInProgress, ""); err != nil {
		t.Fatal(err)
	}
	if rid, err := a.RollbackInstanceRefresh(ctx, f.GroupName); err != nil || rid != id {
		t.Fatalf("RollbackInstanceRefresh: got %q, %v; want %s", rid, err, id)
	}
	if latest, err := a.LatestInstanceRefresh(ctx, f.GroupName); err != nil || latest.Status != "RollbackInProgress" {
		t.Errorf("latest after rollback: got %+v, %v; want RollbackInProgress", latest, err)
	}

	// A refresh without a desired configuration cannot be rolled back.
	if err := emu.Proxy(t).Refreshes().Advance(ctx, f.GroupName, types.InstanceRefreshStatusRollbackSuccessful, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := a.StartInstanceRefresh(ctx, asg.RefreshSpec{Group: f.GroupName}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.RollbackInstanceRefresh(ctx, f.GroupName); !awserr.IsRejected(err) {
		t.Errorf("rolling back a refresh without a desired configuration: got %v, want awserr.IsRejected", err)
	}
}
