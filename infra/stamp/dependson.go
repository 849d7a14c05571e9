package stamp

import (
	"fmt"
	"slices"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
)

// dropDependsOnReferenced keeps referenced out of resource's DependsOn.
// For a resource whose properties already Ref or GetAtt referenced, the
// DependsOn adds no ordering and cfn-lint warns of it (W3005). The case
// at hand is awslambda.Function: it depends on its role construct as a
// whole, role and default policy, for the policy's sake; its Role
// property is a GetAtt of the role already.
//
// That dependency is a construct dependency, which CDK turns into
// DependsOn entries only while it prepares the app for synthesis, after
// every constructor has run: CfnResource.RemoveDependency here would find
// nothing to remove. So the DependsOn is rendered by a lazy value,
// resolved once the dependencies are final, that lists them all but
// referenced.
func dropDependsOnReferenced(resource, referenced awscdk.CfnResource) {
	resource.AddOverride(jsii.String("DependsOn"), awscdk.Lazy_List(&dependsOnExcept{
		resource: resource, except: *referenced.Node().Path(),
	}, &awscdk.LazyListValueOptions{OmitEmpty: jsii.Bool(true)}))
}

// dependsOnExcept produces resource's DependsOn without the resource at
// path except.
type dependsOnExcept struct {
	resource awscdk.CfnResource
	except   string
}

func (d *dependsOnExcept) Produce() *[]*string {
	stack := awscdk.Stack_Of(d.resource)
	var ids []string
	for _, dep := range *d.resource.ObtainDependencies() {
		// The other kind is a stack, a dependency between stacks that no
		// DependsOn expresses.
		r, ok := dep.(awscdk.CfnResource)
		if !ok || *r.Node().Path() == d.except {
			continue
		}
		id, ok := stack.Resolve(r.LogicalId()).(string)
		if !ok {
			panic(fmt.Sprintf("dropDependsOnReferenced: the logical id of %s resolves to no string", *r.Node().Path()))
		}
		ids = append(ids, id)
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	return jsii.Strings(ids...)
}
