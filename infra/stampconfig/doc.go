// Package stampconfig is the configuration of a stampkit app as cdk.json
// declares it: the stamps, their settings and fleets (Config,
// FleetConfig), read from the CDK context (ParseStamps, ParseConfig) and
// validated whole, every problem at once, each naming its key.
//
// It imports no CDK: the stampkit CLI reads and checks cdk.json with it
// without jsii or Node, and the construct library infra/stamp builds the
// stacks from what it returns (infra/stamp aliases its types).
package stampconfig
