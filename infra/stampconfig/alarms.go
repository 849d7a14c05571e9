package stampconfig

// Construct ids of a fleet's health alarms: its alarms' names derive
// from them (HealthAlarmNames), which the rollout policy lists.
const (
	Target5xxAlarmID      = "Target5xxAlarm"
	Elb5xxAlarmID         = "Elb5xxAlarm"
	LatencyAlarmID        = "LatencyAlarm"
	BlueUnhealthyAlarmID  = "BlueUnhealthyHostsAlarm"
	GreenUnhealthyAlarmID = "GreenUnhealthyHostsAlarm"
)

// HealthAlarmKind names the health alarm of construct id id
// (Names.HealthAlarm).
func HealthAlarmKind(id string) string { return healthAlarmKinds[id] }

// healthAlarmKinds name each health alarm by its construct id.
var healthAlarmKinds = map[string]string{
	Target5xxAlarmID:      "target-5xx",
	Elb5xxAlarmID:         "elb-5xx",
	LatencyAlarmID:        "latency",
	BlueUnhealthyAlarmID:  "blue-unhealthy",
	GreenUnhealthyAlarmID: "green-unhealthy",
}

// HealthAlarmNames are the names of a fleet's health alarms, in the order
// of HealthAlarmIDs.
func HealthAlarmNames(names Names, cfg FleetConfig) []string {
	var out []string
	for _, id := range HealthAlarmIDs(cfg) {
		out = append(out, names.HealthAlarm(cfg.Name, HealthAlarmKind(id)))
	}
	return out
}

// HealthAlarmIDs are the construct ids of a fleet's health alarms, in the
// order Fleet.HealthAlarms returns them and the rollout policy lists them:
// an unhealthy-targets alarm per target group that can carry traffic (the
// green one only on a blue/green fleet).
func HealthAlarmIDs(cfg FleetConfig) []string {
	ids := []string{Target5xxAlarmID, Elb5xxAlarmID, LatencyAlarmID, BlueUnhealthyAlarmID}
	if cfg.BlueGreen() {
		ids = append(ids, GreenUnhealthyAlarmID)
	}
	return ids
}
