package stampconfig

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// CtxStamps lists the stamps the app deploys (stamps[] in cdk.json). Each
// entry names its stamp and its fleets; what it leaves out it takes from
// the top-level keys of the same name. Left out altogether, the app
// deploys one stamp, named by CtxStamp, of every fleet in CtxFleets.
const CtxStamps = "stamps"

// stampFleetRef is the key of a fleet entry of a stamp that starts from
// the definition of that name in the top-level fleets[] and changes the
// keys it sets beside it: {"fleet": "web", "maxCapacity": 20}.
const stampFleetRef = "fleet"

// stampSettings are the keys a stamp may set for itself, and where each
// goes; every other setting (assetsDir, appVersion) is the app's.
func stampSettings(c *Config) map[string]any {
	return map[string]any{
		CtxStackName: &c.StackName, CtxAccount: &c.Account, CtxRegion: &c.Region, CtxProfile: &c.Profile,
		CtxMaxAzs: &c.MaxAzs, CtxNatGateways: &c.NatGateways, CtxInterfaceEndpoints: &c.InterfaceEndpoints,
		CtxLogRetentionDays: &c.LogRetentionDays, CtxScalerReservedConcurrency: &c.ScalerReservedConcurrency,
		CtxAlarmEmail: &c.AlarmEmail, CtxCommandPrincipals: &c.CommandPrincipals, CtxImageKmsKeyArns: &c.ImageKmsKeyArns,
	}
}

// contextKeys say where in cdk.json a stamp's settings and fleets are
// declared, so that an error names the key to change.
type contextKeys struct {
	// stamp is the stamp's entry, "stamps[1]".
	stamp string
	// set are the settings the entry sets itself.
	set map[string]bool
	// fleets are the keys of the stamp's fleets: "fleets[0]" for a
	// definition used as it is, "stamps[1].fleets[2]" for one the entry
	// declares or changes.
	fleets []string
}

// key is where cdk.json declares setting for this stamp: in its stamps[]
// entry if it sets it there (and always its fleets), at the top level
// otherwise.
func (c Config) key(setting string) string {
	switch {
	case c.keys == nil:
		return setting
	case setting == CtxStamp:
		return c.keys.stamp + ".name"
	case c.keys.set[setting] || setting == CtxFleets:
		return c.keys.stamp + "." + setting
	}
	return setting
}

// fleetKey is the key of the stamp's i-th fleet.
func (c Config) fleetKey(i int) string {
	if c.keys == nil || i >= len(c.keys.fleets) {
		return CtxFleets + "[" + strconv.Itoa(i) + "]"
	}
	return c.keys.fleets[i]
}

// ParseStamps reads the stamps through get, as ParseConfig reads one
// stamp. Without CtxStamps it returns ParseConfig's one stamp. Every
// problem is reported at once, each naming its key (stamps[1].fleets[0]).
func ParseStamps(get func(key string) any) ([]Config, error) { return parseStamps(get, false) }

// parseStamps is ParseStamps, checking the build output unless skipAssets.
func parseStamps(get func(key string) any, skipAssets bool) ([]Config, error) {
	raw := get(CtxStamps)
	if raw == nil {
		c, err := parseConfig(get, skipAssets)
		if err != nil {
			return nil, err
		}
		return []Config{c}, nil
	}
	var entries []map[string]json.RawMessage
	if errs := decodeContext(CtxStamps, raw, &entries); len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if len(entries) == 0 {
		return nil, fmt.Errorf("context %q: no stamps declared (leave the key out for one stamp of every fleet)", CtxStamps)
	}
	// The top-level settings every stamp starts from, and the fleet
	// definitions its entries name.
	base, errs := parseSettings(get)
	base.skipAssets = skipAssets
	defs, defErrs := fleetDefinitions(get(CtxFleets))
	errs = append(errs, defErrs...)
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	var stamps []Config
	for i, entry := range entries {
		c, entryErrs := parseStamp(fmt.Sprintf("%s[%d]", CtxStamps, i), entry, base, defs)
		errs = append(errs, entryErrs...)
		stamps = append(stamps, c)
	}
	// A definition no stamp uses is checked too: it is in the file, and
	// will be used.
	for _, name := range slices.Sorted(maps.Keys(defs)) {
		_, defErrs := decodeFleet(defs[name].key, defs[name].fields)
		errs = append(errs, defErrs...)
	}
	if len(errs) == 0 {
		errs = append(errs, checkAcrossStamps(stamps)...)
		errs = append(errs, CheckImageKeys(stamps)...)
	}
	if len(errs) > 0 {
		return nil, errors.Join(dedupe(errs)...)
	}
	return stamps, nil
}

// parseSettings reads the top-level settings (ParseConfig's, but the
// fleets), with their defaults.
func parseSettings(get func(key string) any) (Config, []error) {
	c := Config{}.withSettingDefaults()
	var errs []error
	settings := stampSettings(&c)
	settings[CtxAssetsDir] = &c.AssetsDir
	settings[CtxAppVersion] = &c.AppVersion
	for _, key := range slices.Sorted(maps.Keys(settings)) {
		errs = append(errs, decodeContext(key, get(key), settings[key])...)
	}
	for _, k := range []string{CtxStamp, CtxStackName} {
		if get(k) != nil {
			errs = append(errs, fmt.Errorf("context %q: names one stamp; with %s set each stamp's (stamps[].name, stamps[].stackName)", k, CtxStamps))
		}
	}
	return c, errs
}

// fleetDefinition is one entry of the top-level fleets[], kept as JSON so
// that a stamp can change some of its keys.
type fleetDefinition struct {
	key    string
	fields map[string]json.RawMessage
}

// fleetDefinitions reads the top-level fleets[] as definitions by name.
func fleetDefinitions(raw any) (map[string]fleetDefinition, []error) {
	var list []map[string]json.RawMessage
	if errs := decodeContext(CtxFleets, raw, &list); len(errs) > 0 {
		return nil, errs
	}
	defs := map[string]fleetDefinition{}
	var errs []error
	for i, fields := range list {
		key := fmt.Sprintf("%s[%d]", CtxFleets, i)
		var name string
		if err := json.Unmarshal(fields["name"], &name); err != nil || name == "" {
			errs = append(errs, fmt.Errorf("context %q: a fleet definition needs its name", key+".name"))
			continue
		}
		if other, dup := defs[name]; dup {
			errs = append(errs, fmt.Errorf("context %q: %q is also %s's name", key+".name", name, other.key))
			continue
		}
		defs[name] = fleetDefinition{key: key, fields: fields}
	}
	return defs, errs
}

// parseStamp reads one stamps[] entry over base: its name, the settings
// it sets, and its fleets (names of definitions, changed definitions, or
// fleets of its own), then validates the stamp as a whole.
func parseStamp(key string, entry map[string]json.RawMessage, base Config, defs map[string]fleetDefinition) (Config, []error) {
	c := base
	c.CommandPrincipals = slices.Clone(base.CommandPrincipals)
	c.ImageKmsKeyArns = maps.Clone(base.ImageKmsKeyArns)
	keys := &contextKeys{stamp: key, set: map[string]bool{}}
	var errs []error
	settings := stampSettings(&c)
	allowed := append(slices.Sorted(maps.Keys(settings)), "name", CtxFleets)
	for _, k := range slices.Sorted(maps.Keys(entry)) {
		switch dst, ok := settings[k]; {
		case k == "name":
			if err := json.Unmarshal(entry[k], &c.Name); err != nil {
				errs = append(errs, fmt.Errorf("context %q: got %s, want the stamp's name", key+".name", entry[k]))
			}
		case k == CtxFleets:
		case ok:
			errs = append(errs, decodeContext(key+"."+k, entry[k], dst)...)
			keys.set[k] = true
		default:
			errs = append(errs, fmt.Errorf("context %q: not a key of a stamp%s (a stamp sets %s)", key+"."+k, didYouMean(k, allowed), strings.Join(allowed, ", ")))
		}
	}
	if _, named := entry["name"]; !named {
		errs = append(errs, fmt.Errorf("context %q: every stamp needs a name (lowercase letters and digits, such as eu1)", key+".name"))
	}
	var refs []json.RawMessage
	if err := json.Unmarshal(entry[CtxFleets], &refs); err != nil || len(refs) == 0 {
		errs = append(errs, fmt.Errorf("context %q: want a list of fleets (names of %s entries, or fleet objects)", key+"."+CtxFleets, CtxFleets))
	}
	c.Fleets = nil
	for j, ref := range refs {
		fkey := fmt.Sprintf("%s.%s[%d]", key, CtxFleets, j)
		f, fleetKey, fleetErrs := stampFleet(fkey, ref, defs)
		if len(fleetErrs) > 0 {
			errs = append(errs, fleetErrs...)
			continue
		}
		c.Fleets = append(c.Fleets, f)
		keys.fleets = append(keys.fleets, fleetKey)
	}
	if len(errs) > 0 {
		return c, errs
	}
	c = c.withFleetDefaults()
	c.keys = keys
	if err := c.Validate(); err != nil {
		errs = append(errs, unjoin(err)...)
	}
	return c, errs
}

// stampFleet reads one entry of a stamp's fleets: a definition's name, an
// object starting from a definition ({"fleet": NAME, ...}), or a fleet
// object of its own. It returns the fleet and the key its errors name.
func stampFleet(key string, raw json.RawMessage, defs map[string]fleetDefinition) (FleetConfig, string, []error) {
	var name string
	if json.Unmarshal(raw, &name) == nil {
		def, ok := defs[name]
		if !ok {
			return FleetConfig{}, "", []error{fmt.Errorf("context %q: no fleet %q in %q%s", key, name, CtxFleets, didYouMean(name, slices.Sorted(maps.Keys(defs))))}
		}
		f, errs := decodeFleet(def.key, def.fields)
		return f, def.key, errs
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return FleetConfig{}, "", []error{fmt.Errorf("context %q: got %s, want a fleet's name or a fleet object", key, abbreviate(raw))}
	}
	if ref, ok := fields[stampFleetRef]; ok {
		var from string
		if err := json.Unmarshal(ref, &from); err != nil {
			return FleetConfig{}, "", []error{fmt.Errorf("context %q: got %s, want the name of a %s entry", key+"."+stampFleetRef, ref, CtxFleets)}
		}
		def, ok := defs[from]
		if !ok {
			return FleetConfig{}, "", []error{fmt.Errorf("context %q: no fleet %q in %q%s", key+"."+stampFleetRef, from, CtxFleets, didYouMean(from, slices.Sorted(maps.Keys(defs))))}
		}
		changed := maps.Clone(def.fields)
		for k, v := range fields {
			if k != stampFleetRef {
				changed[k] = v
			}
		}
		fields = changed
	}
	f, errs := decodeFleet(key, fields)
	return f, key, errs
}

// decodeFleet decodes the fleet object of key, refusing keys FleetConfig
// does not know as cdk.json's fleets[] does.
func decodeFleet(key string, fields map[string]json.RawMessage) (FleetConfig, []error) {
	raw, err := json.Marshal(fields)
	if err != nil {
		return FleetConfig{}, []error{fmt.Errorf("context %q: encoding the fleet: %w", key, err)}
	}
	var f FleetConfig
	return f, decodeStrict(key, raw, &f)
}

// checkAcrossStamps reports what no stamp shows alone: two stamps of one
// name or stack name, and two stamps in one account and Region that name
// the same SSM parameter for a fleet (their rollouts would write each
// other's AMI, their listeners read each other's weights).
func checkAcrossStamps(stamps []Config) []error {
	var errs []error
	names, stacks := map[string]string{}, map[string]string{}
	params := map[string]string{}
	for _, c := range stamps {
		k := c.keys.stamp
		if other, dup := names[c.Name]; dup {
			errs = append(errs, fmt.Errorf("context %q: %q is also %s's name", k+".name", c.Name, other))
		}
		names[c.Name] = k
		if other, dup := stacks[c.StackName]; dup {
			errs = append(errs, fmt.Errorf("context %q: stack %q is also %s's (set stackName)", k+"."+CtxStackName, c.StackName, other))
		}
		stacks[c.StackName] = k
		env := c.Account + "/" + c.Region
		for _, f := range c.Fleets {
			for _, p := range []string{f.ParameterPrefix, f.AmiParameter} {
				where := fmt.Sprintf("fleet %s of stamp %s", f.Name, c.Name)
				if other, dup := params[env+p]; dup && other != where {
					errs = append(errs, fmt.Errorf("context %q: fleet %s: SSM parameter %s is also that of %s, in the same account and Region (%s): "+
						"leave parameterPrefix and amiParameter out (their defaults carry the stamp) or set them apart", k, f.Name, p, other, env))
				}
				params[env+p] = where
			}
		}
	}
	return errs
}

// imageKeyShortfall is the keys a build stamp lacks for some of its fleets.
type imageKeyShortfall struct {
	build                     *Config
	missing, accounts, fleets []string
}

// CheckImageKeys refuses a fleet whose image would cross accounts
// without a customer managed KMS key in every Region it is built and
// distributed in. The image's root volume is encrypted, by default with
// the account's default EBS key, which cannot be shared; Image Builder
// re-encrypts each cross-account copy with "the designated key for that
// Region", which must be the source account's customer managed key, in
// every Region it builds and distributes in, shared with the destination
// accounts ("Set up cross-account AMI distribution with Image Builder",
// EC2 Image Builder User Guide). Without it the distribution fails, and a
// failed distribution fails the image ("Use enhanced AMI distribution
// capabilities"): the build stamp would never roll an image out.
func CheckImageKeys(stamps []Config) []error {
	var errs []error
	var fleets, order []string
	short := map[string]imageKeyShortfall{}
	for _, c := range stamps {
		for _, f := range c.Fleets {
			if !slices.Contains(fleets, f.Name) {
				fleets = append(fleets, f.Name)
			}
		}
	}
	for _, name := range fleets {
		var build *Config
		var regions, accounts []string
		for i, c := range stamps {
			if !slices.ContainsFunc(c.Fleets, func(f FleetConfig) bool { return f.Name == name }) {
				continue
			}
			if build == nil {
				build = &stamps[i]
			}
			if !slices.Contains(regions, c.Region) {
				regions = append(regions, c.Region)
			}
			if c.Account != build.Account && !slices.Contains(accounts, c.Account) {
				accounts = append(accounts, c.Account)
			}
		}
		if len(accounts) == 0 {
			continue
		}
		var missing []string
		for _, r := range regions {
			if build.ImageKmsKeyArns[r] == "" {
				missing = append(missing, r)
			}
		}
		if len(missing) == 0 {
			continue
		}
		// One error for all the fleets a stamp builds alike.
		k := build.Name + "|" + strings.Join(missing, ",") + "|" + strings.Join(accounts, ",")
		if _, seen := short[k]; !seen {
			order = append(order, k)
		}
		short[k] = imageKeyShortfall{build: build, missing: missing, accounts: accounts, fleets: append(short[k].fleets, name)}
	}
	for _, k := range order {
		f := short[k]
		example := make([]string, len(f.missing))
		for i, r := range f.missing {
			example[i] = fmt.Sprintf("%q: \"arn:aws:kms:%s:%s:key/…\"", r, r, f.build.Account)
		}
		accounts := strings.Join(f.accounts, ", ")
		errs = append(errs, fmt.Errorf("context %q: fleet %s is built by stamp %s (account %s) and copied into account %s, "+
			"but an AMI encrypted with the default EBS key cannot be shared: set %s to a customer managed KMS key of account %s "+
			"in each Region the fleet runs in, missing %s ({%s}), each with a key policy that lets accounts %s use it "+
			"(README, Stamps in many Regions)",
			f.build.key(CtxImageKmsKeyArns), strings.Join(f.fleets, ", "), f.build.Name, f.build.Account, accounts,
			CtxImageKmsKeyArns, f.build.Account, strings.Join(f.missing, ", "), strings.Join(example, ", "), accounts))
	}
	return errs
}

// didYouMean suggests the candidate closest to got, if one is close.
func didYouMean(got string, candidates []string) string {
	best, bestDist := "", len(got)/2+2
	for _, c := range candidates {
		if d := editDistance(got, c); d < bestDist {
			best, bestDist = c, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf("; did you mean %q?", best)
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

// dedupe drops repeated errors: a definition several stamps use reports
// its problems once.
func dedupe(errs []error) []error {
	seen := map[string]bool{}
	var out []error
	for _, e := range errs {
		if !seen[e.Error()] {
			seen[e.Error()] = true
			out = append(out, e)
		}
	}
	return out
}
