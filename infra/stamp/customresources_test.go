package stamp

import (
	"fmt"
	"strings"
	"testing"
)

// TestEveryFunctionLogsBounded: every Lambda function in the stack, the
// CDK's own custom resource providers included, logs to a log group of the
// stack that expires its events, and its role holds no AWS managed policy
// (AWSLambdaBasicExecutionRole would let it write to any log group) and
// writes logs to that group only.
func TestEveryFunctionLogsBounded(t *testing.T) {
	f := synth(t)
	functions := f.ofType("AWS::Lambda::Function")
	if len(functions) == 0 {
		t.Fatal("no functions in the template")
	}
	roles := f.ofType("AWS::IAM::Role")
	for id, fn := range functions {
		t.Run(id, func(t *testing.T) {
			p := props(fn)
			logGroup := fmt.Sprint(asMap(p["LoggingConfig"])["LogGroup"])
			groupID := ""
			for gid, g := range f.ofType("AWS::Logs::LogGroup") {
				if logGroup == fmt.Sprint(ref(gid)) {
					groupID = gid
					if props(g)["RetentionInDays"] == nil {
						t.Errorf("log group %s keeps events forever; want a retention", gid)
					}
				}
			}
			if groupID == "" {
				t.Fatalf("LoggingConfig.LogGroup %s: want a Ref to a log group of the stack (else Lambda creates /aws/lambda/<name>, kept forever)", logGroup)
			}
			roleAttr, _ := asMap(p["Role"])["Fn::GetAtt"].([]any)
			if len(roleAttr) != 2 {
				t.Fatalf("Role %v: want a GetAtt of a role of the stack", p["Role"])
			}
			roleID := fmt.Sprint(roleAttr[0])
			role, ok := roles[roleID]
			if !ok {
				t.Fatalf("role %s is not in the template", roleID)
			}
			if arns := props(role)["ManagedPolicyArns"]; arns != nil {
				t.Errorf("role %s has managed policies %v; want its own statements only", roleID, arns)
			}
			statements := f.statements(roleID)
			for _, inline := range asList(props(role)["Policies"]) {
				statements = append(statements, docStatements(asMap(inline)["PolicyDocument"])...)
			}
			wantGroup := fmt.Sprint(getAtt(groupID, "Arn"))
			writes := false
			for _, s := range statements {
				for _, a := range asList(s["Action"]) {
					if !strings.HasPrefix(fmt.Sprint(a), "logs:") {
						continue
					}
					for _, res := range asList(s["Resource"]) {
						if fmt.Sprint(res) != wantGroup {
							t.Errorf("role %s: %v on %v; want its function's log group %s only", roleID, a, res, wantGroup)
						}
					}
					writes = writes || a == "logs:PutLogEvents"
				}
			}
			if !writes {
				t.Errorf("role %s may not write to its function's log group %s", roleID, groupID)
			}
		})
	}
}
