package event

import (
	"encoding/json"
	"math"
)

// ReasonValues extracts the newest datapoint and the threshold from the
// JSON reason data CloudWatch attaches to a metric alarm's state (the
// EventBridge detail's state.reasonData, DescribeAlarms' StateReasonData).
// CloudWatch lists recentDatapoints oldest first. ok is false when the data
// holds no threshold (composite and some expression alarms, SNS
// notifications); with a threshold but no datapoint, the value is the
// threshold itself.
func ReasonValues(reasonData string) (value, threshold float64, ok bool) {
	var rd struct {
		Threshold        *float64  `json:"threshold"`
		RecentDatapoints []float64 `json:"recentDatapoints"`
	}
	if err := json.Unmarshal([]byte(reasonData), &rd); err != nil || rd.Threshold == nil {
		return 0, 0, false
	}
	n := len(rd.RecentDatapoints)
	if n == 0 || math.IsNaN(rd.RecentDatapoints[n-1]) {
		return *rd.Threshold, *rd.Threshold, true
	}
	return rd.RecentDatapoints[n-1], *rd.Threshold, true
}
