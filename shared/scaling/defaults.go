package scaling

import (
	"time"

	"github.com/stampkit/stampkit/shared/clock"
)

// Target is what DefaultPolicy holds a fleet at.
type Target struct {
	// CPU is the average CPU utilisation to hold, in percent (what a target
	// tracking policy's TargetValue would be).
	CPU float64
	// RequestsPerMinute is the load balancer requests per minute one
	// instance serves at CPU. Zero leaves out the request-count rule.
	RequestsPerMinute float64
	// LoadBalancer and TargetGroup are the dimension values of the load
	// balancer's metrics: the ARN suffixes "app/NAME/ID" and
	// "targetgroup/NAME/ID".
	LoadBalancer, TargetGroup string
}

// DefaultPolicy returns stampkit's default scaling policy for the Auto
// Scaling group named group, holding it near t between min and max
// instances. It has three rules:
//
//   - group-cpu-high scales out when the group's CPU (CloudWatch agent
//     cpu_usage_active, a 10 s high-resolution metric) is above
//     t.CPU+5 for 3 of 3 datapoints, by 10 %, 25 % or 50 % of the warm
//     capacity as the CPU is 0–10, 10–25 or 25+ points past the threshold.
//   - group-requests-high scales out when RequestCountPerTarget over one
//     minute is 10 % above t.RequestsPerMinute, by steps of 15 % to 350 %
//     that follow the ratio of the measured load to the target load.
//   - group-cpu-low scales in when CPU is below 80 % of t.CPU for 5 of 5
//     one-minute datapoints and has stayed so for 10 minutes, by 15 %,
//     25 %, 40 % or 50 % as the CPU is 0–5, 5–15, 15–25 or 25+ points
//     under the threshold, at most once every 10 minutes.
//
// With t.RequestsPerMinute it also has a Forecast on the load balancer's
// per-minute RequestCount: on each tick the floor is the median of the
// same five minutes over the last 14 days (the same time of week counted
// twice), scaled by the last hour's level, at its busiest over the next 15
// minutes (Lead 5m, Window 10m), at 1.2 × t.RequestsPerMinute per
// instance. The floor only raises capacity, and reactive scale-in stops at
// it.
//
// Why: on the local twin (shared/twin, `make demo`) AWS target tracking
// loses most of its SLO minutes to detection, not to launching: its high
// alarm needs 3 one-minute datapoints, and its CPU signal saturates at
// 100 %, so a surge of 3× is answered with +67 % per warm-up. The
// high-resolution CPU alarm detects a breach in 30 s, and the request-count
// alarm, which does not saturate, sizes a surge in one step. Scale-out
// steps are measured from the capacity before the last scale-out while it
// warms up (Policy.Warmup), so repeated breaches add only what is missing.
// Scale-in is where target tracking flaps: it lands exactly on the target,
// and the next burst of traffic takes it back out. Here scale-in waits for
// sustained low load (5 minutes below the low threshold plus a 10-minute
// hold), removes a share that grows with the distance below the threshold
// but lands below the target, and the 5-point band between target and the
// high threshold absorbs ordinary bursts.
//
// How it was tuned: on the twin's five generated scenarios (diurnal, spike,
// ramp, step, flash crowd, with ±5 % one-minute and ±12 % five-minute
// traffic noise) over three seeds, against target tracking at the same
// CPU target with AWS's 300 s warm-up. Among some fifty variants (alarm
// periods and datapoints, thresholds, step tables, hold and cooldowns, with
// and without the request-count rule) this one gave the fewest
// SLO-violation minutes with fewer capacity reversals than target
// tracking: over the 15 runs, 51 against 156 SLO minutes and 13 against 74
// reversals within 10 minutes, for 7 % more instance-hours
// (suite.TestDefaultPolicyBeatsTargetTracking keeps it so). The NASA-HTTP
// week was held out: there it has 74 against 323 SLO minutes for 5 % more
// instance-hours. A first round, tuned on generators without the
// five-minute noise, flapped on the real trace; that noise was then added
// to the generators to match the trace's burstiness, and the policy was
// re-tuned on the generators.
//
// The forecast was tuned on the first four weeks of the NASA-HTTP trace
// (minutes 0–40319, 1–28 July 1995, peak scaled to 60 instances, seed 1;
// `stampkit simulate -trace`), against target tracking at the same 60 %
// target: 1318 SLO minutes for 7008 instance-hours; the rules alone: 350
// for 7294. Its first parameters (the 0.8 quantile of the daily samples,
// a 15-minute window, 1.0 × the target load per instance) cut the SLO
// minutes to 36 but cost 8778 instance-hours (+20 %). Floors sized at the
// median and above the target load per instance cost far less for most of
// the gain: 1.2 × the target load, median, 10-minute window gave 203 SLO
// minutes for 7366 instance-hours (−42 % SLO minutes for +1.0 %
// instance-hours against the rules alone; −85 % for +5.1 % against target
// tracking); 1.1 × gave 172 for 7427, 1.0 × 125 for 7610, the 0.6
// quantile 169 for 7446. Lead 3m or 5m, the same time of week counted
// once or twice, and 7 or 14 days of lookback moved SLO minutes by less
// than 20 and instance-hours by less than 0.5 %. At a 60 % target no
// setting matched target tracking's instance-hours, because the rules
// alone already cost 4 % more; a fleet that wants both runs the rules
// hotter: t.CPU 10 points above target tracking's (70 against 60) with
// this forecast gave 498 against 1318 SLO minutes for 7010 against 7008
// instance-hours (the rules alone at 70: 1045 for 6881; at 65 with the
// forecast: 365 for 7157). On one week alone (15–21 July, peak rescaled,
// the twin starting with no history, so six days of forecast): target
// tracking 467 SLO minutes for 3785 instance-hours, the rules alone 143
// for 4027, with the forecast 121 for 4107; at 70, 208 for 3907.
// DefaultPolicy does not move t.CPU itself: in
// runs shorter than a day the forecast has no history, and at a hotter
// target the rules alone lose to target tracking on the generated
// scenarios (113 against 176 SLO minutes, 98 against 74 reversals). The
// forecast's parameters saw the NASA week above (it lies in July), which
// is no longer held out for them; August 1995 (minutes from 40320) was
// not looked at.
func DefaultPolicy(group string, min, max int, t Target) Policy {
	cpu := func(period time.Duration, points int, threshold float64) *Trigger {
		return &Trigger{
			Namespace: "CWAgent", Metric: "cpu_usage_active",
			Dimensions: map[string]string{"AutoScalingGroupName": group},
			Statistic:  "Average", Period: clock.Duration(period),
			EvaluationPeriods: points, DatapointsToAlarm: points, Threshold: threshold,
		}
	}
	p := Policy{
		Min: min, Max: max,
		// Scale-out may repeat quickly: while capacity warms up, Decide
		// measures a repeated breach from the capacity before it.
		ScaleOutCooldown: clock.Duration(30 * time.Second),
		ScaleInCooldown:  clock.Duration(10 * time.Minute),
		// Launch (about 100 s) plus health checks plus a margin.
		Warmup:      clock.Duration(3 * time.Minute),
		ScaleInHold: clock.Duration(10 * time.Minute),
		Rules: []Rule{
			{
				Alarm: group + "-cpu-high", Direction: Out,
				AdjustmentType: PercentChangeInCapacity, MinAdjustmentMagnitude: 1,
				Steps:   []Step{{Upper: 10, Adjustment: 10}, {Lower: 10, Upper: 25, Adjustment: 25}, {Lower: 25, Adjustment: 50}},
				Trigger: cpu(10*time.Second, 3, t.CPU+5),
			},
			{
				Alarm: group + "-cpu-low", Direction: In,
				AdjustmentType: PercentChangeInCapacity, MinAdjustmentMagnitude: 1,
				Steps:   []Step{{Upper: 5, Adjustment: 15}, {Lower: 5, Upper: 15, Adjustment: 25}, {Lower: 15, Upper: 25, Adjustment: 40}, {Lower: 25, Adjustment: 50}},
				Trigger: cpu(time.Minute, 5, 0.8*t.CPU),
			},
		},
	}
	if r := t.RequestsPerMinute; r > 0 {
		// Distance past the threshold (1.1 r) in units of r: a band
		// [a, b) means the fleet carries 1.1+a to 1.1+b times its target
		// load; each step adds about the lower end of what the band needs.
		bands := []struct{ from, add float64 }{{0, 15}, {0.2, 35}, {0.4, 60}, {0.7, 90}, {1, 130}, {1.5, 180}, {2, 250}, {3, 350}}
		steps := make([]Step, len(bands))
		for i, b := range bands {
			steps[i] = Step{Lower: b.from * r, Adjustment: int(b.add)}
			if i+1 < len(bands) {
				steps[i].Upper = bands[i+1].from * r
			}
		}
		p.Rules = append(p.Rules, Rule{
			Alarm: group + "-requests-high", Direction: Out,
			AdjustmentType: PercentChangeInCapacity, MinAdjustmentMagnitude: 1,
			Steps: steps,
			Trigger: &Trigger{
				Namespace: "AWS/ApplicationELB", Metric: "RequestCountPerTarget",
				Dimensions: map[string]string{"LoadBalancer": t.LoadBalancer, "TargetGroup": t.TargetGroup},
				Statistic:  "Sum", Period: clock.Duration(time.Minute),
				EvaluationPeriods: 1, DatapointsToAlarm: 1, Threshold: 1.1 * r,
			},
		})
		p.Forecast = &Forecast{
			Metric: Metric{
				Namespace: "AWS/ApplicationELB", Name: "RequestCount",
				// The load balancer's, not the target group's: a
				// blue/green rollout moves the load from one target group
				// to the other, and each fleet has a load balancer of its
				// own.
				Dimensions: map[string]string{"LoadBalancer": t.LoadBalancer},
			},
			// Sized at 1.2 × the target load: the floor keeps what the
			// season will bring within what an instance serves before
			// latency breaks, and the rules bring it to the target.
			PerInstance: 1.2 * r, LookbackDays: 14,
			Lead: clock.Duration(5 * time.Minute), Window: clock.Duration(10 * time.Minute),
			Quantile: 0.5, WeeklyWeight: 2,
		}
	}
	return p
}
