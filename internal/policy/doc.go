// Package policy implements the AWS IAM policy language: it parses a policy
// document once into a typed form, validates it for the place it is used
// (KMS key policy, IAM identity policy, service control policy, role trust
// policy), and evaluates it against requests as AWS does, explaining every
// decision.
//
// The package is pure: no I/O, no clock (times come in the request Context,
// as aws:CurrentTime and aws:EpochTime), no global mutable state. A *Policy
// is immutable and safe for concurrent use.
//
// Evaluating one policy (Policy.Evaluate) says whether a Deny or an Allow
// statement applies and how the Allow's principal covered the caller. Putting
// the policies of a request together (explicit deny wins, SCPs bound
// everything, key policies must delegate to IAM, cross-account access needs
// both sides) is AWS's cross-policy logic, implemented by Set.Decide.
//
// # Semantics
//
// The references are AWS's IAM User Guide pages "Policy evaluation logic",
// "IAM JSON policy elements: Condition operators", "Conditions with multiple
// context keys or values", "Single-valued vs. multivalued context keys",
// "IAM policy elements: Variables and tags" and "NotPrincipal". In short:
//
//   - Action and condition key names are case-insensitive; Resource ARNs and
//     condition values are case-sensitive (except the *IgnoreCase operators
//     and Bool). * and ? are wildcards in Action, Resource, StringLike and the
//     Arn operators; Resource and Arn values are matched component by
//     component (arn:partition:service:region:account:resource).
//   - Condition: operators are ANDed, keys within an operator are ANDed,
//     values of a key are ORed (NORed for negated operators). A missing key
//     fails the test, except that negated operators (StringNotEquals,
//     NotIpAddress, ArnNotLike, ...) and ...IfExists operators are then true,
//     ForAllValues is true and ForAnyValue is false. Null tests presence.
//   - Policy variables (${aws:username}, ${aws:PrincipalTag/team},
//     ${key, 'default'}, ${*}, ${?}, ${$}) are substituted in Resource and in
//     the values of the String, Arn and Bool operators of 2012-10-17 policies
//     only; they are literal text in 2008-10-17 policies and in policies
//     without a Version. Variables resolve against the request Context: the
//     caller puts aws:username, aws:userid, aws:PrincipalTag/... there. A
//     variable whose key is missing or multivalued, without a default, fails
//     the comparison it is in (AWS: "any attempt to match it fails").
//
// Points where AWS's documentation is silent and this package chose are
// marked UNCERTAIN in the code.
package policy
