package stamp

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/aws/constructs-go/constructs/v10"

	"github.com/stampkit/stampkit/infra/stampconfig"
)

// The dns block's types, parsing and validation live in infra/stampconfig
// (dns.go) with the rest of the configuration.
type (
	// DNSConfig is the app's weighted record (stampconfig.DNSConfig).
	DNSConfig = stampconfig.DNSConfig
	// DNSHealthCheck is a stamp's Route 53 health check
	// (stampconfig.DNSHealthCheck).
	DNSHealthCheck = stampconfig.DNSHealthCheck
)

// The dns block's key, defaults and bounds (stampconfig's).
const (
	CtxDNS                     = stampconfig.CtxDNS
	AliasTTL                   = stampconfig.AliasTTL
	ShiftFunctionName          = stampconfig.ShiftFunctionName
	DefaultShiftBake           = stampconfig.DefaultShiftBake
	DefaultDNSHealthInterval   = stampconfig.DefaultDNSHealthInterval
	DefaultDNSFailureThreshold = stampconfig.DefaultDNSFailureThreshold
	DefaultFirstStampWeight    = stampconfig.DefaultFirstStampWeight
	MaxDNSWeight               = stampconfig.MaxDNSWeight
	DNSWeightPattern           = stampconfig.DNSWeightPattern
)

// DefaultShiftSteps are the percentages of traffic a shift gives the
// receiving stamp, one step at a time (stampconfig.DefaultShiftSteps).
func DefaultShiftSteps() []int { return stampconfig.DefaultShiftSteps() }

// ParseDNS reads the dns block through get (stampconfig.ParseDNS).
func ParseDNS(get func(key string) any, stamps []Config) (*DNSConfig, error) {
	return stampconfig.ParseDNS(get, stamps)
}

// LoadDNS reads and validates the app's DNS record from a construct's
// context (the App's node in main), for the stamps LoadStamps returned:
// nil without CtxDNS.
//
// With two stamps or more it also checks that `make build` wrote the
// shift function's bootstrap, which the shift stack uploads.
func LoadDNS(node constructs.Node, stamps []Config) (*DNSConfig, error) {
	return loadDNS(func(key string) any { return node.TryGetContext(&key) }, stamps)
}

// loadDNS is LoadDNS reading the context through get.
func loadDNS(get func(key string) any, stamps []Config) (*DNSConfig, error) {
	d, err := ParseDNS(get, stamps)
	if err != nil || d == nil || len(stamps) < 2 {
		return d, err
	}
	bootstrap := filepath.Join(stamps[0].AssetsDir, ShiftFunctionName, "bootstrap")
	if _, err := os.Stat(bootstrap); err != nil {
		return nil, fmt.Errorf("context %q: %s is missing (run `make build`, or pass -c assetsDir=DIR): %w", CtxAssetsDir, bootstrap, err)
	}
	return d, nil
}
