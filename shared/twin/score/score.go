// Package score rates a twin run: the SPEC Research Group's elasticity
// metrics, SLO-violation minutes, instance-hours and cost.
//
// The elasticity metrics follow Herbst et al., "Quantifying Cloud
// Performance and Dependability: Taxonomy, Metric Design, and Emerging
// Challenges" (SPEC RG Cloud, arXiv:1604.03470). With demand d_t and supply
// s_t in instances over steps of length Δt and total time T:
//
//	θU = 100/T · Σ max(d_t − s_t, 0)/max(d_t, ε) · Δt   under-provisioning accuracy
//	θO = 100/T · Σ max(s_t − d_t, 0)/max(d_t, ε) · Δt   over-provisioning accuracy
//	τU = 100/T · Σ [d_t > s_t] · Δt                     under-provisioning timeshare
//	τO = 100/T · Σ [s_t > d_t] · Δt                     over-provisioning timeshare
//	υ  = 100/(T−Δt) · Σ_{t>0} min(|sgn Δs_t − sgn Δd_t|, 1) · Δt   instability
//
// Demand is the instances the step's requests need at the target
// utilisation, rounded up; supply is the healthy targets serving them, so
// instances still booting or in health checks count as under-provisioning
// (they are billed, which instance-hours and cost show). ε is one instance.
package score

import (
	"math"
	"time"

	"github.com/stampkit/stampkit/shared/twin"
)

// Scores rate one run. Percentages are 0–100.
type Scores struct {
	// UnderAccuracy (θU) and OverAccuracy (θO) are the mean shortfall and
	// excess of supply, as a percentage of demand.
	UnderAccuracy, OverAccuracy float64
	// UnderTimeshare (τU) and OverTimeshare (τO) are the percentages of time
	// with too little and too much supply.
	UnderTimeshare, OverTimeshare float64
	// Instability (υ) is the percentage of time supply and demand move in
	// different directions.
	Instability float64
	// SLOViolationMinutes is the time the service broke its SLO.
	SLOViolationMinutes float64
	// DroppedPercent is the share of requests not served.
	DroppedPercent float64
	// InstanceHours is the billed time; Cost prices it.
	InstanceHours, Cost float64
	// ScalingActions counts the policy's changes of desired capacity (not
	// a rollout's); Flaps counts
	// reversals (a scale-in within 10 minutes of a scale-out, or the
	// reverse).
	ScalingActions, Flaps int
	// PeakInstances is the most instances billed at once.
	PeakInstances int
}

// FlapWindow is how soon a reversal of direction counts as a flap.
const FlapWindow = 10 * time.Minute

// Compute scores r.
func Compute(r *twin.Result) Scores {
	var sc Scores
	cfg := r.Config
	n := len(r.Samples)
	if n == 0 {
		return sc
	}
	dt := cfg.Step.Seconds()
	total := float64(n) * dt
	var under, over, tUnder, tOver, unstable float64
	var prevD, prevS int
	for i, smp := range r.Samples {
		d := cfg.DemandInstances(float64(smp.Offered) / dt)
		s := smp.Healthy
		eps := float64(max(d, 1))
		if d > s {
			under += float64(d-s) / eps * dt
			tUnder += dt
		}
		if s > d {
			over += float64(s-d) / eps * dt
			tOver += dt
		}
		if i > 0 && min(abs(sgn(s-prevS)-sgn(d-prevD)), 1) == 1 {
			unstable += dt
		}
		prevD, prevS = d, s
		if smp.Violation {
			sc.SLOViolationMinutes += dt / 60
		}
		sc.PeakInstances = max(sc.PeakInstances, smp.InService+smp.Pending+smp.Draining)
	}
	sc.UnderAccuracy = 100 * under / total
	sc.OverAccuracy = 100 * over / total
	sc.UnderTimeshare = 100 * tUnder / total
	sc.OverTimeshare = 100 * tOver / total
	if n > 1 {
		sc.Instability = 100 * unstable / (total - dt)
	}
	if r.Offered > 0 {
		sc.DroppedPercent = 100 * float64(r.Dropped) / float64(r.Offered)
	}
	sc.InstanceHours = r.InstanceSeconds / 3600
	sc.Cost = sc.InstanceHours * cfg.PricePerHour
	// The policy's own actions: a blue/green rollout's resizes of the two
	// groups are the rollout's, not the policy's.
	var acts []twin.ScalingEvent
	for _, e := range r.Scaling {
		if e.By != twin.ByRollout {
			acts = append(acts, e)
		}
	}
	sc.ScalingActions = len(acts)
	for i := 1; i < len(acts); i++ {
		a, b := acts[i-1], acts[i]
		if sgn(a.To-a.From) != sgn(b.To-b.From) && b.At.Sub(a.At) < FlapWindow {
			sc.Flaps++
		}
	}
	return sc
}

func sgn(x int) int {
	switch {
	case x > 0:
		return 1
	case x < 0:
		return -1
	}
	return 0
}

func abs(x int) int { return int(math.Abs(float64(x))) }
