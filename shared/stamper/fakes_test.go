package stamper_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stampkit/stampkit/shared/asg"
	"github.com/stampkit/stampkit/shared/clock"
	"github.com/stampkit/stampkit/shared/config"
	"github.com/stampkit/stampkit/shared/cwalarm"
	"github.com/stampkit/stampkit/shared/elb"
	"github.com/stampkit/stampkit/shared/imagebuilder"
	"github.com/stampkit/stampkit/shared/launchtemplate"
	"github.com/stampkit/stampkit/shared/logging"
	"github.com/stampkit/stampkit/shared/memstore"
	"github.com/stampkit/stampkit/shared/rollout"
	"github.com/stampkit/stampkit/shared/scaling"
	"github.com/stampkit/stampkit/shared/ssmparam"
	"github.com/stampkit/stampkit/shared/stamper"
)

// Hand-written fakes of the handler's ports over one small in-memory AWS.
// Instance refresh has no emulator support (moto answers HTTP 500), so
// every test of what the handler does with a refresh goes through fakeAWS.
// Every effect is recorded in one ordered list, as a line such as
// "SetDefaultVersion lt-1 4", so tests check the sequence across services.

type wake struct {
	Key string
	At  time.Time
}

// fakeAWS is the world the handler acts on.
type fakeAWS struct {
	mu      sync.Mutex
	effects []string
	// errs fails the next call of an operation (by name) once per entry.
	errs map[string][]error

	groups    map[string]*asg.Group
	refreshes map[string]*asg.Refresh // by ID
	refreshN  int
	specs     []asg.RefreshSpec

	images   map[string]launchtemplate.Image
	template launchtemplate.Template
	versions map[int64]launchtemplate.Version

	builds map[string]imagebuilder.Image
	params map[string]string

	weights      map[string]int // target group → weight
	sticky       bool
	otherActions []string
	health       map[string][]elb.Target

	alarms map[string]string
	wakes  []wake
}

func (f *fakeAWS) effect(format string, args ...any) {
	f.effects = append(f.effects, fmt.Sprintf(format, args...))
}

// fail makes op's next call return err.
func (f *fakeAWS) fail(op string, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.errs[op] = append(f.errs[op], err)
}

func (f *fakeAWS) injected(op string) error {
	if q := f.errs[op]; len(q) > 0 {
		f.errs[op] = q[1:]
		return q[0]
	}
	return nil
}

// Effects returns the effects so far and forgets them.
func (f *fakeAWS) Effects() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := f.effects
	f.effects = nil
	return out
}

// --- Groups ---

type fakeGroups struct{ *fakeAWS }

func (f fakeGroups) Describe(_ context.Context, name string) (asg.Group, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.injected("Describe"); err != nil {
		return asg.Group{}, err
	}
	g, ok := f.groups[name]
	if !ok {
		return asg.Group{}, fmt.Errorf("describing %s: %w", name, asg.ErrNotFound)
	}
	out := *g
	out.Instances = slices.Clone(g.Instances)
	return out, nil
}

func (f fakeGroups) SetLaunchTemplateVersion(_ context.Context, group, lt, version string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.injected("SetLaunchTemplateVersion"); err != nil {
		return err
	}
	f.effect("SetLaunchTemplateVersion %s %s %s", group, lt, version)
	f.groups[group].LaunchTemplate = asg.LaunchTemplate{ID: lt, Version: version}
	return nil
}

// Resize sets the size and makes the instances match at once, on the
// group's launch template version.
func (f fakeGroups) Resize(_ context.Context, group string, s asg.Size) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.injected("Resize"); err != nil {
		return err
	}
	f.effect("Resize %s %d/%d/%d", group, s.Min, s.Max, s.Desired)
	g := f.groups[group]
	g.Min, g.Desired = int32(s.Min), int32(s.Desired)
	if s.Max > 0 {
		g.Max = int32(s.Max)
	}
	setInstances(g, s.Desired, g.LaunchTemplate.Version)
	return nil
}

func setInstances(g *asg.Group, n int, version string) {
	g.Instances = nil
	for i := range n {
		g.Instances = append(g.Instances, asg.Instance{
			ID: fmt.Sprintf("i-%s-%d", g.Name, i), LifecycleState: asg.StateInService, HealthStatus: "Healthy", LaunchTemplateVersion: version,
		})
	}
}

func (f fakeGroups) StartInstanceRefresh(_ context.Context, s asg.RefreshSpec) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.injected("StartInstanceRefresh"); err != nil {
		return "", err
	}
	f.refreshN++
	id := "refresh-" + strconv.Itoa(f.refreshN)
	f.specs = append(f.specs, s)
	f.refreshes[id] = &asg.Refresh{ID: id, Group: s.Group, Status: rollout.RefreshPending}
	f.effect("StartInstanceRefresh %s %s %s", s.Group, s.LaunchTemplate.ID, s.LaunchTemplate.Version)
	return id, nil
}

func (f fakeGroups) DescribeInstanceRefresh(_ context.Context, group, id string) (asg.Refresh, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.injected("DescribeInstanceRefresh"); err != nil {
		return asg.Refresh{}, err
	}
	r, ok := f.refreshes[id]
	if !ok || r.Group != group {
		return asg.Refresh{}, fmt.Errorf("describing refresh %s: %w", id, asg.ErrNotFound)
	}
	return *r, nil
}

func (f fakeGroups) LatestInstanceRefresh(_ context.Context, group string) (asg.Refresh, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for n := f.refreshN; n > 0; n-- {
		if r := f.refreshes["refresh-"+strconv.Itoa(n)]; r != nil && r.Group == group {
			return *r, nil
		}
	}
	return asg.Refresh{}, asg.ErrNotFound
}

func (f fakeGroups) CancelInstanceRefresh(_ context.Context, group string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.injected("CancelInstanceRefresh"); err != nil {
		return "", err
	}
	f.effect("CancelInstanceRefresh %s", group)
	return "", nil
}

func (f fakeGroups) RollbackInstanceRefresh(_ context.Context, group string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.injected("RollbackInstanceRefresh"); err != nil {
		return "", err
	}
	f.effect("RollbackInstanceRefresh %s", group)
	return "", nil
}

// setRefresh moves a refresh to status and the group's instances to
// onNew instances on version.
func (f *fakeAWS) setRefresh(id, status string, onNew int, version string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	r := f.refreshes[id]
	r.Status = status
	g := f.groups[r.Group]
	for i := range g.Instances {
		g.Instances[i].LaunchTemplateVersion = g.LaunchTemplate.Version
		if i < onNew {
			g.Instances[i].LaunchTemplateVersion = version
		}
	}
	if status == rollout.RefreshSuccessful {
		g.LaunchTemplate.Version = version
	}
}

// --- Templates ---

type fakeTemplates struct{ *fakeAWS }

func (f fakeTemplates) Image(_ context.Context, id string) (launchtemplate.Image, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.injected("Image"); err != nil {
		return launchtemplate.Image{}, err
	}
	im, ok := f.images[id]
	if !ok {
		return launchtemplate.Image{}, fmt.Errorf("describing image %s: %w", id, launchtemplate.ErrNotFound)
	}
	return im, nil
}

func (f fakeTemplates) Template(_ context.Context, id string) (launchtemplate.Template, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if id != f.template.ID {
		return launchtemplate.Template{}, launchtemplate.ErrNotFound
	}
	return f.template, nil
}

func (f fakeTemplates) Version(_ context.Context, id, version string) (launchtemplate.Version, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	n, err := strconv.ParseInt(version, 10, 64)
	v, ok := f.versions[n]
	if err != nil || id != f.template.ID || !ok {
		return launchtemplate.Version{}, launchtemplate.ErrNotFound
	}
	return v, nil
}

// CreateVersionWithImage returns the same version for the same request,
// as EC2 does for a repeated client token.
func (f fakeTemplates) CreateVersionWithImage(_ context.Context, id, source, ami, desc string) (int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.injected("CreateVersionWithImage"); err != nil {
		return 0, err
	}
	n, _ := strconv.ParseInt(source, 10, 64)
	src := f.versions[n]
	for num, v := range f.versions {
		if v.ImageID == ami && v.InstanceType == src.InstanceType && num > n {
			f.effect("CreateVersionWithImage %s %s %s (repeat)", id, source, ami)
			return num, nil
		}
	}
	f.template.LatestVersion++
	num := f.template.LatestVersion
	f.versions[num] = launchtemplate.Version{Number: num, ImageID: ami, InstanceType: src.InstanceType}
	f.effect("CreateVersionWithImage %s %s %s", id, source, ami)
	return num, nil
}

func (f fakeTemplates) SetDefaultVersion(_ context.Context, id string, v int64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.injected("SetDefaultVersion"); err != nil {
		return err
	}
	f.template.DefaultVersion = v
	f.effect("SetDefaultVersion %s %d", id, v)
	return nil
}

// --- the rest ---

type fakeBuilds struct{ *fakeAWS }

func (f fakeBuilds) Image(_ context.Context, arn string) (imagebuilder.Image, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	b, ok := f.builds[arn]
	if !ok {
		return imagebuilder.Image{}, imagebuilder.ErrNotFound
	}
	return b, nil
}

type fakeParams struct{ *fakeAWS }

func (f fakeParams) Get(_ context.Context, name string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	v, ok := f.params[name]
	if !ok {
		return "", ssmparam.ErrNotFound
	}
	return v, nil
}

func (f fakeParams) Put(_ context.Context, name, value string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.injected("Put"); err != nil {
		return err
	}
	f.params[name] = value
	f.effect("Put %s %s", name, value)
	return nil
}

func (f fakeParams) PutImage(_ context.Context, name, ami string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.injected("PutImage"); err != nil {
		return err
	}
	f.params[name] = ami
	f.effect("PutImage %s %s", name, ami)
	return nil
}

type fakeListeners struct{ *fakeAWS }

func (f fakeListeners) SetForwardWeights(_ context.Context, listener string, ws []elb.Weighted) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.injected("SetForwardWeights"); err != nil {
		return err
	}
	var parts []string
	for _, w := range ws {
		f.weights[w.TargetGroupARN] = int(w.Weight)
		parts = append(parts, fmt.Sprintf("%s=%d", w.TargetGroupARN, w.Weight))
	}
	f.effect("SetForwardWeights %s %s", listener, strings.Join(parts, " "))
	return nil
}

func (f fakeListeners) Forward(_ context.Context, listener string) (elb.Forward, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.injected("Forward"); err != nil {
		return elb.Forward{}, err
	}
	out := elb.Forward{Sticky: f.sticky, Others: f.otherActions}
	for _, tg := range []string{tgBlue, tgGreen} {
		out.Weights = append(out.Weights, elb.Weighted{TargetGroupARN: tg, Weight: int32(f.weights[tg])})
	}
	return out, nil
}

func (f fakeListeners) TargetHealth(_ context.Context, tg string) ([]elb.Target, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.injected("TargetHealth"); err != nil {
		return nil, err
	}
	if ts, ok := f.health[tg]; ok {
		return ts, nil
	}
	// By default every instance of the group behind tg is healthy.
	var out []elb.Target
	for _, g := range f.groups {
		if slices.Contains(g.TargetGroupARNs, tg) {
			for _, in := range g.Instances {
				out = append(out, elb.Target{ID: in.ID, State: elb.StateHealthy})
			}
		}
	}
	return out, nil
}

type fakeAlarms struct{ *fakeAWS }

func (f fakeAlarms) Alarms(_ context.Context, names []string) ([]cwalarm.Alarm, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.injected("Alarms"); err != nil {
		return nil, err
	}
	var out []cwalarm.Alarm
	for _, n := range names {
		if s, ok := f.alarms[n]; ok {
			out = append(out, cwalarm.Alarm{Name: n, State: s})
		}
	}
	return out, nil
}

type fakeScheduler struct{ *fakeAWS }

func (f fakeScheduler) WakeAt(_ context.Context, key string, at time.Time) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.injected("WakeAt"); err != nil {
		return err
	}
	f.wakes = append(f.wakes, wake{key, at})
	return nil
}

// lastWake is the latest wake-up scheduled.
func (f *fakeAWS) lastWake(t *testing.T) wake {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.wakes) == 0 {
		t.Fatal("no wake-up scheduled")
	}
	return f.wakes[len(f.wakes)-1]
}

// --- harness ---

var t0 = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

const (
	lt        = "lt-0123"
	oldAMI    = "ami-old"
	newAMI    = "ami-new"
	param     = "/stampkit/web/ami"
	blueASG   = "web-blue"
	greenASG  = "web-green"
	tgBlue    = "tg-blue"
	tgGreen   = "tg-green"
	listener  = "listener-1"
	alarm5xx  = "web-5xx"
	pipeline  = "arn:aws:imagebuilder:us-west-2:111122223333:image-pipeline/web"
	buildARN  = "arn:aws:imagebuilder:us-west-2:111122223333:image/cmkencryptedworkflowtest-a1b2c3d4-5678-90ab-cdef-EXAMPLE22222/1.0.0/1"
	fleetName = "web"
)

type harness struct {
	h     *stamper.Handler
	aws   *fakeAWS
	store *memstore.Store
	clock *clock.Manual
	logs  *bytes.Buffer
	emf   *bytes.Buffer
}

func rollingPolicy() rollout.Policy {
	return rollout.Policy{
		Strategy: rollout.StrategyRolling, Parameter: param, Alarms: []string{alarm5xx},
		Checks:       rollout.Checks{RequiredTags: []string{"commit"}},
		PollInterval: clock.Duration(time.Minute),
		Rolling: rollout.Rolling{MinHealthyPercentage: new(90), MaxHealthyPercentage: new(120), Warmup: clock.Duration(90 * time.Second),
			Checkpoints: []int{50, 100}, CheckpointDelay: clock.Duration(5 * time.Minute)},
	}
}

func blueGreenPolicy() rollout.Policy {
	return rollout.Policy{
		Strategy: rollout.StrategyBlueGreen, Parameter: param, Alarms: []string{alarm5xx},
		PollInterval: clock.Duration(time.Minute),
		BlueGreen: rollout.BlueGreen{
			Listener: listener, TargetGroup: tgBlue, PeerGroup: greenASG, PeerTargetGroup: tgGreen,
			Steps: []int{10, 50, 100}, Bake: clock.Duration(5 * time.Minute),
			HealthTimeout: clock.Duration(10 * time.Minute), Retention: clock.Duration(time.Hour),
		},
	}
}

// newHarness builds a handler over the fakes for one fleet on group
// web-blue (launch template version 3, image ami-old, 2 instances), with
// web-green empty.
func newHarness(t *testing.T, p rollout.Policy, dryRun bool) *harness {
	t.Helper()
	f := &fakeAWS{
		errs:      map[string][]error{},
		groups:    map[string]*asg.Group{},
		refreshes: map[string]*asg.Refresh{},
		images: map[string]launchtemplate.Image{
			oldAMI: {ID: oldAMI, Name: "web-1", State: "available", Architecture: "arm64", CreationDate: t0.Add(-24 * time.Hour), RootEncrypted: true, Tags: map[string]string{"commit": "aaa"}},
			newAMI: {ID: newAMI, Name: "web-2", State: "available", Architecture: "arm64", CreationDate: t0.Add(-time.Hour), RootEncrypted: true,
				Tags: map[string]string{"commit": "bbb", rollout.FleetTag: fleetName}},
		},
		template: launchtemplate.Template{ID: lt, Name: "web", DefaultVersion: 3, LatestVersion: 3},
		versions: map[int64]launchtemplate.Version{
			1: {Number: 1, ImageID: "ami-ancient", InstanceType: "t4g.micro"},
			2: {Number: 2, ImageID: "ami-ancient", InstanceType: "t4g.micro"},
			3: {Number: 3, ImageID: oldAMI, InstanceType: "t4g.micro"},
		},
		builds:  map[string]imagebuilder.Image{},
		params:  map[string]string{param: oldAMI},
		weights: map[string]int{tgBlue: 100, tgGreen: 0},
		health:  map[string][]elb.Target{},
		alarms:  map[string]string{alarm5xx: cwalarm.StateOK},
	}
	blue := &asg.Group{Name: blueASG, Min: 1, Max: 4, Desired: 2, TargetGroupARNs: []string{tgBlue}, LaunchTemplate: asg.LaunchTemplate{ID: lt, Version: "3"}}
	setInstances(blue, 2, "3")
	green := &asg.Group{Name: greenASG, Min: 0, Max: 4, Desired: 0, TargetGroupARNs: []string{tgGreen}, LaunchTemplate: asg.LaunchTemplate{ID: lt, Version: "3"}}
	f.groups[blueASG], f.groups[greenASG] = blue, green

	c := clock.NewManual(t0)
	store := memstore.New(c)
	logs, emf := &bytes.Buffer{}, &bytes.Buffer{}
	cfg := config.Config{Table: "state", Fleets: []config.Fleet{{
		Name: fleetName, Group: blueASG, DryRun: dryRun, Rollout: p,
		Scaling: scaling.Policy{Min: 1, Max: 4, Rules: []scaling.Rule{{Alarm: "cpu-high", Direction: scaling.Out, AdjustmentType: scaling.ChangeInCapacity, Steps: []scaling.Step{{Adjustment: 1}}}}},
	}}}
	h := &stamper.Handler{
		Config: cfg, Region: "us-west-2",
		Groups: fakeGroups{f}, Templates: fakeTemplates{f}, Builds: fakeBuilds{f}, Parameters: fakeParams{f},
		Listeners: fakeListeners{f}, Alarms: fakeAlarms{f}, Scheduler: fakeScheduler{f},
		Store: store, Clock: c,
		Log:     slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Metrics: logging.NewMetrics(emf, "Stampkit", c.Now),
	}
	return &harness{h: h, aws: f, store: store, clock: c, logs: logs, emf: emf}
}

// handle invokes the handler with payload and fails the test on error.
func (hs *harness) handle(t *testing.T, payload []byte) {
	t.Helper()
	if err := hs.h.Handle(t.Context(), payload); err != nil {
		t.Fatalf("Handle: %v", err)
	}
}

// state loads the fleet's rollout record.
func (hs *harness) state(t *testing.T) (rollout.State, int64) {
	t.Helper()
	data, v, err := hs.store.Load(t.Context(), rollout.Key(fleetName))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	var s rollout.State
	if len(data) > 0 {
		if err := json.Unmarshal(data, &s); err != nil {
			t.Fatalf("decoding state: %v", err)
		}
	}
	return s, v
}

// hold is the hold the scaler derives from the fleet's rollout record.
func (hs *harness) hold(t *testing.T) *scaling.Hold {
	t.Helper()
	s, _ := hs.state(t)
	return s.Hold(blueASG)
}

// metric sums the values of the named metric in the EMF output.
func (hs *harness) metric(t *testing.T, name string) float64 {
	t.Helper()
	var sum float64
	for line := range strings.Lines(hs.emf.String()) {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("EMF line %q: %v", line, err)
		}
		if v, ok := rec[name].(float64); ok {
			sum += v
		}
	}
	return sum
}

// tick delivers the wake-up last scheduled, at its due time.
func (hs *harness) tick(t *testing.T) {
	t.Helper()
	w := hs.aws.lastWake(t)
	if hs.clock.Now().Before(w.At) {
		hs.clock.Set(w.At)
	}
	hs.handle(t, tickBody(t, w.Key, w.At))
}

func tickBody(t *testing.T, key string, at time.Time) []byte {
	t.Helper()
	b, err := json.Marshal(map[string]any{
		"version": "0", "id": "tick-" + at.Format(time.RFC3339Nano), "source": "stampkit", "detail-type": "Tick",
		"account": "", "region": "", "time": at.Format(time.RFC3339Nano), "resources": []string{},
		"detail": map[string]string{"at": at.Format(time.RFC3339Nano), "key": key},
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// amiEvent is the EC2 AMI State Change sample with another image and id.
func amiEvent(t *testing.T, id, ami, state string) []byte {
	t.Helper()
	return eventBridge(t, id, "aws.ec2", "EC2 AMI State Change", "us-west-2",
		map[string]any{"RequestId": "r", "ImageId": ami, "State": state, "ErrorMessage": ""},
		"arn:aws:ec2:us-west-2::image/"+ami)
}

func buildEvent(t *testing.T, id, status string) []byte {
	t.Helper()
	return eventBridge(t, id, "aws.imagebuilder", "EC2 Image Builder Image State Change", "us-west-2",
		map[string]any{"previous-state": map[string]any{"status": "TESTING"}, "state": map[string]any{"status": status}}, buildARN)
}

func refreshEvent(t *testing.T, id, detailType, refreshID string) []byte {
	t.Helper()
	return eventBridge(t, id, "aws.autoscaling", detailType, "us-west-2",
		map[string]any{"InstanceRefreshId": refreshID, "AutoScalingGroupName": blueASG}, "auto-scaling-group-arn")
}

func eventBridge(t *testing.T, id, source, detailType, region string, detail map[string]any, resources ...string) []byte {
	t.Helper()
	b, err := json.Marshal(map[string]any{
		"version": "0", "id": id, "source": source, "detail-type": detailType, "account": "111122223333",
		"time": t0.Format(time.RFC3339), "region": region, "resources": resources, "detail": detail,
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}
