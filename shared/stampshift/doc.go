// Package stampshift decides how traffic moves from one stamp to another by
// Route 53 weighted records: the weight transition pattern, between whole
// environments. A new stamp takes over from an old one, a Region is drained
// for maintenance, a stamp is rolled back as a unit.
//
// It is pure, like the scaling and rollout packages: Step takes the policy,
// a record's transition State and what the handler observed (the record's
// live weights, whether the pending change is INSYNC, each stamp's health
// check, health alarms and in-service capacity) and returns the actions to
// apply, the next state and when to step again. No I/O, no SDK types, time
// passed in.
//
// # A step counts only when confirmed and baked
//
// Each step sets the weights of the sending stamp (From) and the receiving
// stamp (To) so that To carries Steps[i] percent of the weight the two
// carried when the transition began; other stamps of the record keep
// theirs. The handler sends the change (Action SetWeights) and records
// Route 53's change id (State.Sent); the step starts baking only when
// GetChange says INSYNC, and counts after the record's TTL plus the bake
// have passed with To healthy: resolvers keep the old answer for up to a
// TTL (Route 53 "Values specific for weighted records", TTL), so health
// seen before then says little about To under its new share.
//
// Before a step's weights are sent, To must have in service what the step
// needs: the step's share of the capacity From had at the start. The
// reducer asks for it ahead (Action RaiseFloor, for the next step's share as
// each step is sent) and waits for it up to CapacityTimeout, then rolls back.
//
// # Rollback
//
// An unhealthy health check or a health alarm in ALARM on To, To's health
// unread for UnreadTimeout, an operator's abort, a step Route 53 refuses
// (State.Refused) SendAttempts times, or capacity that never comes: the
// weights go back to From (all of the moved weight, To at 0), confirmed
// INSYNC and then a TTL, and the transition ends RolledBack. Safety is
// decided on what was read even when the rest was not (From's Region may
// be the impaired one), and never paused: a paused transition still rolls
// back on alarm. A rollback never gives up: past SendAttempts tries it
// backs off and is Stuck.
//
// # One transition per record; commands; repeats
//
// A record's State is one item in the shift table, saved with a version
// check under a lease held by the handler. Begin refuses a second
// transition on a record while one runs (ErrBusy) and takes a repeated
// start of the running or finished one as a no-op; a start sent before the
// last transition began (Start.At) is ErrStale, one whose stamps were not
// observed ErrUnobserved. Control applies pause,
// resume, abort and promote (straight to 100 %, still gated on capacity);
// a command that does not apply (a second pause, an abort of a finished
// transition) is ErrNotApplicable or ErrNotActive and changes nothing.
// An observation older than the last one Step saw is ignored, and a
// GetChange answer for another change id confirms nothing. Weights that
// change outside the transition (another tool, a person in the console)
// pause it; resume sends the step's weights again.
package stampshift
