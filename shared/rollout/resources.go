package rollout

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Resources are a blue/green fleet's listener and target group ARNs, as
// the parameter BlueGreen.ResourcesParameter names holds them:
// {"listener": ARN, "targetGroup": ARN, "peerTargetGroup": ARN}.
type Resources struct {
	Listener        string `json:"listener"`
	TargetGroup     string `json:"targetGroup"`
	PeerTargetGroup string `json:"peerTargetGroup"`
}

// ParseResources decodes and checks a resources parameter's value. Every
// ARN must be there: a rollout acting on an empty one would shift traffic
// nowhere, or fail only half-way.
func ParseResources(value string) (Resources, error) {
	var r Resources
	dec := json.NewDecoder(bytes.NewReader([]byte(value)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return Resources{}, fmt.Errorf(`not {"listener", "targetGroup", "peerTargetGroup"} as JSON: %w`, err)
	}
	var errs []error
	for _, f := range []struct{ name, arn string }{{"listener", r.Listener}, {"targetGroup", r.TargetGroup}, {"peerTargetGroup", r.PeerTargetGroup}} {
		if strings.TrimSpace(f.arn) == "" {
			errs = append(errs, fmt.Errorf("%s: is empty", f.name))
		}
	}
	if r.TargetGroup != "" && r.TargetGroup == r.PeerTargetGroup {
		errs = append(errs, errors.New("peerTargetGroup: is the same as targetGroup"))
	}
	if err := errors.Join(errs...); err != nil {
		return Resources{}, err
	}
	return r, nil
}

// Resolved reports whether b holds its three ARNs, given or read from its
// resources parameter.
func (b BlueGreen) Resolved() bool {
	return b.Listener != "" && b.TargetGroup != "" && b.PeerTargetGroup != ""
}

// WithResources returns b holding r's ARNs.
func (b BlueGreen) WithResources(r Resources) BlueGreen {
	b.Listener, b.TargetGroup, b.PeerTargetGroup = r.Listener, r.TargetGroup, r.PeerTargetGroup
	return b
}
