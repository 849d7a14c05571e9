package twin

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/stampkit/stampkit/shared/clock"
	"github.com/stampkit/stampkit/shared/config"
	"github.com/stampkit/stampkit/shared/logging"
	"github.com/stampkit/stampkit/shared/memstore"
	"github.com/stampkit/stampkit/shared/scaler"
	"github.com/stampkit/stampkit/shared/scaling"
)

// Invocation is the world one in-process invocation of the scaler sees.
type Invocation struct {
	// Fleet is the fleet's name; empty is FleetName.
	Fleet string
	// GroupName and Group are the Auto Scaling group and its capacity.
	GroupName string
	Group     scaling.Group
	Policy    scaling.Policy
	// Signals is what the Alarms port reports (scheduled ticks read it).
	Signals []scaling.Signal
	// Now is the handler's clock.
	Now time.Time
	// Log receives the handler's JSON log lines and EMF records.
	Log io.Writer
}

// InvokeScaler runs the real scaler handler once on raw, against a group
// with inv's capacity, and returns the group as it is afterwards. Nothing
// launches: the call shows the decision and the capacity it sets.
func InvokeScaler(ctx context.Context, raw []byte, inv Invocation) (scaling.Group, error) {
	cfg := config.Config{Table: "twin", Namespace: config.DefaultNamespace, Fleets: []config.Fleet{{Name: Config{Fleet: inv.Fleet}.fleet(), Group: inv.GroupName, Scaling: inv.Policy}}}
	if err := cfg.Validate(); err != nil {
		return scaling.Group{}, fmt.Errorf("invocation config: %w", err)
	}
	g := &staticGroup{name: inv.GroupName, g: inv.Group}
	clk := clock.NewManual(inv.Now)
	h := &scaler.Handler{
		Config:  cfg,
		Groups:  g,
		Alarms:  staticAlarms(inv.Signals),
		Store:   memstore.New(clk),
		Clock:   clk,
		Log:     logging.New(inv.Log, slog.LevelDebug),
		Metrics: logging.NewMetrics(inv.Log, cfg.Namespace, clk.Now),
	}
	if err := h.Handle(ctx, raw); err != nil {
		return g.g, fmt.Errorf("invoking scaler: %w", err)
	}
	return g.g, nil
}

// staticGroup is a group whose instances come into service at once.
type staticGroup struct {
	name string
	g    scaling.Group
}

var _ scaler.Groups = (*staticGroup)(nil)

func (s *staticGroup) Capacity(_ context.Context, group string) (scaling.Group, error) {
	if group != s.name {
		return scaling.Group{}, fmt.Errorf("auto scaling group %s not found", group)
	}
	return s.g, nil
}

func (s *staticGroup) SetDesiredCapacity(_ context.Context, group string, desired int) error {
	if group != s.name {
		return fmt.Errorf("auto scaling group %s not found", group)
	}
	if desired < s.g.Min || desired > s.g.Max {
		return fmt.Errorf("desired capacity %d is outside min %d and max %d", desired, s.g.Min, s.g.Max)
	}
	s.g.Desired = desired
	return nil
}

type staticAlarms []scaling.Signal

var _ scaler.Alarms = staticAlarms(nil)

func (a staticAlarms) Signals(_ context.Context, names []string) ([]scaling.Signal, error) {
	var out []scaling.Signal
	for _, n := range names {
		for _, s := range a {
			if s.Alarm == n {
				out = append(out, s)
			}
		}
	}
	return out, nil
}

var (
	_ scaler.Groups = groupsPort{}
	_ scaler.Alarms = alarmsPort{}
	_ clock.Clock   = (*sim)(nil)
)
