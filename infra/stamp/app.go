package stamp

import (
	"github.com/aws/constructs-go/constructs/v10"
)

// AppStacks are the stacks AddStamps adds.
type AppStacks struct {
	// Stamps are the stamps' stacks, in the order of stamps[].
	Stamps []Stack
	// DNS is the app's weighted record; nil without CtxDNS.
	DNS *DNSConfig
	// Shift is the shift stack; nil without CtxDNS or with one stamp.
	Shift Shift
}

// AddStamps adds to app (an App, or a Stage) what its context declares,
// as stampkit's infra/ app does: a stack per stamp (LoadStamps, NewStack),
// in waves (PlanWaves), and with a DNS record (LoadDNS) each stamp's record in it and, for two
// stamps or more, the shift stack (NewShiftStack). It returns a context
// that does not validate as an error, naming each key.
func AddStamps(app constructs.Construct) (AppStacks, error) {
	stamps, err := LoadStamps(app.Node())
	if err != nil {
		return AppStacks{}, err
	}
	dns, err := LoadDNS(app.Node(), stamps)
	if err != nil {
		return AppStacks{}, err
	}
	out := AppStacks{DNS: dns}
	// The first stamp of each fleet builds its images for all; the stamps
	// roll them out in the order stamps[] gives (PlanWaves).
	waves := PlanWaves(stamps)
	for i, cfg := range stamps {
		out.Stamps = append(out.Stamps, NewStack(app, cfg.StackName, &Props{Config: cfg, DNS: dns, Wave: waves[i]}))
	}
	if dns != nil {
		out.Shift = NewShiftStack(app, ShiftStackName, &ShiftProps{DNS: dns, Stamps: stamps, StampStacks: out.Stamps})
	}
	return out, nil
}
