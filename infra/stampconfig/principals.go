package stampconfig

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

var (
	// principalArnRe is an IAM role or user ARN, with its path: what
	// aws:PrincipalArn holds for a role's sessions and a user
	// (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_identifiers.html#identifiers-arns).
	principalArnRe = regexp.MustCompile(`^arn:aws(?:-cn|-us-gov|-iso|-iso-b)?:iam::[0-9]{12}:(?:role|user)(?:/[\w+=,.@-]+)*/[\w+=,.@-]{1,64}$`)
	sessionArnRe   = regexp.MustCompile(`^arn:aws[a-z-]*:sts::[0-9]{12}:assumed-role/([^/]+)/`)
)

// commandBusPolicyLimit is the most the bus's policy may hold, in bytes
// (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-events-eventbuspolicy.html:
// "cannot exceed 10 KB").
const commandBusPolicyLimit = 10 * 1024

// CommandPrincipalErrors reports, naming the context key, each ARN the
// bus policy could not name as the principal meant, and a list too long
// for the policy.
func CommandPrincipalErrors(key string, arns []string) []error {
	var errs []error
	for i, arn := range arns {
		if err := CheckPrincipalArn(arn); err != nil {
			errs = append(errs, fmt.Errorf("context %q: %w", key+"["+strconv.Itoa(i)+"]", err))
		}
	}
	if err := CheckPolicySize(arns); err != nil {
		errs = append(errs, fmt.Errorf("context %q: %w", key, err))
	}
	return errs
}

// CheckPrincipalArn says what is wrong with arn as a principal of the bus
// policy, in the words of someone who wrote it.
func CheckPrincipalArn(arn string) error {
	switch m := sessionArnRe.FindStringSubmatch(arn); {
	case m != nil:
		return fmt.Errorf("got %q, a role session; want the role's ARN (arn:aws:iam::ACCOUNT:role/%s): the bus policy sees every session of a role as the role", arn, m[1])
	case strings.HasSuffix(arn, ":root"):
		return fmt.Errorf("got %q, an account; want the roles or users that may send commands (an account's root ARN admits its root user only). "+
			"Leave the list out to admit any principal of the account that IAM allows", arn)
	case strings.ContainsAny(arn, "*?"):
		return fmt.Errorf("got %q; wildcards are not accepted, list each role or user", arn)
	case !principalArnRe.MatchString(arn):
		return fmt.Errorf("got %q, want an IAM role or user ARN such as arn:aws:iam::123456789012:role/stampkit-operator", arn)
	}
	return nil
}

// CheckPolicySize refuses more ARNs than the bus policy can hold: each is
// written twice, in the Allow's principals and the Deny's condition.
func CheckPolicySize(arns []string) error {
	size := 600 // the policy around the ARNs, generously
	for _, arn := range arns {
		size += 2 * (len(arn) + 4)
	}
	if size > commandBusPolicyLimit {
		return fmt.Errorf("%d ARNs make a bus policy of about %d bytes, over EventBridge's %d; name fewer (a role several people assume)",
			len(arns), size, commandBusPolicyLimit)
	}
	return nil
}
