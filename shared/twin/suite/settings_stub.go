package suite

// TEMPORARY: replaced by settings.go from the baselines branch at merge.

import (
	"fmt"

	"github.com/stampkit/stampkit/shared/scaling"
	"github.com/stampkit/stampkit/shared/twin"
)

type Setting struct {
	Policy     string
	Setting    string
	Default    bool
	Autoscaler twin.Autoscaler
}

const BestBaseline = "target-tracking"

func ComparePolicies() []string { return []string{Stampkit, TargetTracking} }

func Settings(policy string, cfg twin.Config) ([]Setting, error) {
	var out []Setting
	for i, target := range []float64{60, 40, 50, 70, 80} {
		s := Setting{Policy: policy, Setting: fmt.Sprintf("target=%g", target), Default: i == 0}
		switch policy {
		case Stampkit:
			s.Autoscaler = twin.Stampkit(scaling.DefaultPolicy(cfg.Group, cfg.Min, cfg.Max, scaling.Target{
				CPU: target, RequestsPerMinute: 60 * cfg.InstanceCapacity * target / 100,
				LoadBalancer: "app/web-alb/50dc6c495c0c9188", TargetGroup: "targetgroup/web/73e2d6bc24d8a067",
			}))
		case TargetTracking:
			s.Autoscaler = twin.TargetTracking(twin.DefaultTargetTracking(target))
		default:
			return nil, fmt.Errorf("unknown policy %q", policy)
		}
		out = append(out, s)
	}
	return out, nil
}
