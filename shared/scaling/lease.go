package scaling

// LeaseKey is the state-table key of the lease a fleet's capacity decisions
// hold. The scaler holds it while it reads which group serves and sizes
// it; a blue/green rollout holds it while it moves that role, so a
// decision never sizes a group the rollout has just made idle.
func LeaseKey(fleet string) string { return "scaler-lease#" + fleet }
