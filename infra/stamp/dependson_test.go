package stamp

import (
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestNoDependsOnWhatIsReferenced holds what cfn-lint's W3005 checks, also
// where cfn-lint is not installed: no function depends on the role its
// Role property already names, and each still waits for its role's policy
// (and the lifecycle function for its subnets' routes).
func TestNoDependsOnWhatIsReferenced(t *testing.T) {
	f := synth(t)
	hs := f.stack.Handlers()
	for name, h := range map[string]Handler{"scaler": hs.Scaler(), "lifecycle": hs.Lifecycle(), "rollout": hs.Rollout()} {
		t.Run(name, func(t *testing.T) {
			fn := f.resources[f.logicalID(t, h.Function.FunctionArn())]
			role := f.logicalID(t, h.Role.RoleArn())
			dependsOn := asList(fn["DependsOn"])
			if slices.Contains(dependsOn, any(role)) {
				t.Errorf("DependsOn %v names the role %s, which the Role property references", dependsOn, role)
			}
			policies := 0
			for id, p := range f.ofType("AWS::IAM::Policy") {
				if !slices.ContainsFunc(asList(props(p)["Roles"]), func(r any) bool { return cmp.Equal(r, any(ref(role))) }) {
					continue
				}
				policies++
				if !slices.Contains(dependsOn, any(id)) {
					t.Errorf("DependsOn %v: want the role's policy %s, which grants what the function calls", dependsOn, id)
				}
			}
			if policies == 0 {
				t.Errorf("no policy is attached to the role %s", role)
			}
			if name == "lifecycle" && len(dependsOn) < 2 {
				t.Errorf("DependsOn %v: want the private subnets' routes too (a VPC function needs its egress)", dependsOn)
			}
		})
	}
	for id, fn := range f.ofType("AWS::Lambda::Function") {
		role, _ := props(fn)["Role"].(map[string]any)
		ga, ok := role["Fn::GetAtt"].([]any)
		if !ok {
			continue
		}
		if slices.Contains(asList(fn["DependsOn"]), ga[0]) {
			t.Errorf("function %s depends on %s, which its Role property references", id, ga[0])
		}
	}
}
