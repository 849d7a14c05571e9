package stamp

import (
	"maps"
	"slices"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
)

// StampTagKey tags every resource of a stamp with the stamp's name
// (Props.Name), for cost allocation; FleetTagKey narrows it to a fleet.
const StampTagKey = "stampkit:stamp"

// tagProps keeps the stamp's and fleets' tags off the resources that must
// not have them:
//   - Image Builder components and recipes are immutable: a change of
//     their tags replaces them, and their replacement, under the same name
//     and version, fails. Their names change with what goes into them (the
//     fleet's and app version's tags included, NewImagePipeline), and they
//     cost nothing to allocate.
//   - CDK takes load balancer listeners and their rules, and dashboards,
//     for taggable, but CloudFormation's schemas, as cfn-lint reads them,
//     have no Tags for them (E3002).
func tagProps() *awscdk.TagProps {
	return &awscdk.TagProps{ExcludeResourceTypes: jsii.Strings(
		"AWS::ImageBuilder::Component", "AWS::ImageBuilder::ImageRecipe",
		"AWS::ElasticLoadBalancingV2::Listener", "AWS::ElasticLoadBalancingV2::ListenerRule", "AWS::CloudWatch::Dashboard",
	)}
}

// stampTags tags every resource of stack with the stamp's name and extra.
func stampTags(stack awscdk.Stack, name string, extra map[string]string) {
	awscdk.Tags_Of(stack).Add(jsii.String(StampTagKey), jsii.String(name), tagProps())
	for _, k := range slices.Sorted(maps.Keys(extra)) {
		awscdk.Tags_Of(stack).Add(jsii.String(k), jsii.String(extra[k]), tagProps())
	}
}
