package stampconfig

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// ErrMissingAssets marks the error of a build output synth uploads that is
// not there (`make build` writes it): not a mistake in cdk.json, which
// `stampkit validate` reports as a note.
var ErrMissingAssets = errors.New("missing build output")

// missingAsset is the error of a missing build output: it reads as the
// file system's error and is ErrMissingAssets.
type missingAsset struct{ err error }

func (m missingAsset) Error() string        { return m.err.Error() }
func (m missingAsset) Unwrap() error        { return m.err }
func (m missingAsset) Is(target error) bool { return target == ErrMissingAssets }

// ContextKeys lists the context keys stampkit reads.
func ContextKeys() []string {
	return []string{
		CtxStamp, CtxStamps, CtxStackName, CtxAccount, CtxRegion, CtxAssetsDir, CtxMaxAzs,
		CtxNatGateways, CtxLogRetentionDays, CtxScalerReservedConcurrency, CtxFleets,
		CtxAppVersion, CtxAlarmEmail, CtxProfile, CtxInterfaceEndpoints, CtxCommandPrincipals, CtxDNS,
	}
}

// ParseContext reads the stamps from a whole context, as cdk.json's
// "context" holds it (ParseStamps), and also refuses a key that is not
// stampkit's but is one letter or two from one of them ("maxAZs"): such a
// key is a setting silently not applied. Keys of the CDK's own ("@aws-cdk/…",
// "availability-zones:…") and keys far from any of stampkit's, which an
// app of the user's may read, pass.
//
// Unless checkAssets, the build output synth uploads is left out
// (Config.MissingAssets lists it): `stampkit validate` checks the file.
func ParseContext(ctx map[string]any, checkAssets bool) ([]Config, error) {
	var errs []error
	known := ContextKeys()
	for _, k := range sortedKeys(ctx) {
		if slices.Contains(known, k) || strings.HasPrefix(k, "@") || strings.Contains(k, ":") {
			continue
		}
		for _, want := range known {
			if strings.EqualFold(k, want) || editDistance(k, want) <= max(1, len(want)/4) {
				errs = append(errs, fmt.Errorf("context %q: not a key stampkit reads; did you mean %q?", k, want))
				break
			}
		}
	}
	get := func(key string) any { return ctx[key] }
	stamps, err := parseStamps(get, !checkAssets)
	if err != nil {
		errs = append(errs, unjoin(err)...)
	} else if _, err := ParseDNS(get, stamps); err != nil {
		errs = append(errs, unjoin(err)...)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return stamps, nil
}
