package policy

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Documents from AWS's documentation (account numbers as there), which Parse
// must accept.
var validDocs = []struct {
	name string
	kind Kind
	doc  string
}{
	{"KMS default key policy", KeyPolicy, `{
  "Version": "2012-10-17",
  "Id": "key-default-1",
  "Statement": [
    {
      "Sid": "Enable IAM User Permissions",
      "Effect": "Allow",
      "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
      "Action": "kms:*",
      "Resource": "*"
    }
  ]
}`},
	{"KMS console key policy", KeyPolicy, `{
  "Id": "key-consolepolicy-3",
  "Version": "2012-10-17",
  "Statement": [
    {"Sid": "Enable IAM User Permissions", "Effect": "Allow",
     "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "kms:*", "Resource": "*"},
    {"Sid": "Allow access for Key Administrators", "Effect": "Allow",
     "Principal": {"AWS": ["arn:aws:iam::111122223333:role/ExampleAdminRole"]},
     "Action": ["kms:Create*", "kms:Describe*", "kms:Enable*", "kms:List*", "kms:Put*", "kms:Update*",
                "kms:Revoke*", "kms:Disable*", "kms:Get*", "kms:Delete*", "kms:TagResource", "kms:UntagResource",
                "kms:ScheduleKeyDeletion", "kms:CancelKeyDeletion", "kms:RotateKeyOnDemand"],
     "Resource": "*"},
    {"Sid": "Allow use of the key", "Effect": "Allow",
     "Principal": {"AWS": ["arn:aws:iam::111122223333:role/ExampleUserRole", "arn:aws:iam::444455556666:root"]},
     "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"],
     "Resource": "*"},
    {"Sid": "Allow attachment of persistent resources", "Effect": "Allow",
     "Principal": {"AWS": ["arn:aws:iam::111122223333:role/ExampleUserRole", "arn:aws:iam::444455556666:root"]},
     "Action": ["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"],
     "Resource": "*",
     "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}}}
  ]
}`},
	{"KMS key policy 2008 version, account id principal", KeyPolicy, `{"Version":"2008-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":"kms:*","Resource":"*"}]}`},
	{"KMS key policy with service principal and conditions", KeyPolicy, `{
  "Version": "2012-10-17",
  "Statement": [{
    "Sid": "Allow CloudTrail to encrypt logs",
    "Effect": "Allow",
    "Principal": {"Service": "cloudtrail.amazonaws.com"},
    "Action": "kms:GenerateDataKey*",
    "Resource": "*",
    "Condition": {
      "StringEquals": {"aws:SourceArn": "arn:aws:cloudtrail:us-east-1:111122223333:trail/t"},
      "StringLike": {"kms:EncryptionContext:aws:cloudtrail:arn": "arn:aws:cloudtrail:*:111122223333:trail/*"}
    }
  }]
}`},
	{"KMS key policy via service", KeyPolicy, `{
  "Version": "2012-10-17",
  "Statement": [{
    "Effect": "Allow",
    "Principal": {"AWS": "*"},
    "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:CreateGrant", "kms:DescribeKey"],
    "Resource": "*",
    "Condition": {"StringEquals": {"kms:ViaService": "ec2.us-west-2.amazonaws.com", "kms:CallerAccount": "111122223333"}}
  }]
}`},
	{"KMS empty statement list", KeyPolicy, `{"Version":"2012-10-17","Statement":[]}`},
	{"KMS NotPrincipal deny", KeyPolicy, `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","NotPrincipal":{"AWS":["arn:aws:sts::444455556666:assumed-role/cross-account-read-only-role/cross-account-audit-app","arn:aws:iam::444455556666:role/cross-account-read-only-role","arn:aws:iam::444455556666:root"]},"Action":"kms:*","Resource":"*"}]}`},
	{"IAM home directory policy", Identity, `{
  "Version": "2012-10-17",
  "Statement": [
    {"Effect": "Allow", "Action": ["s3:ListAllMyBuckets", "s3:GetBucketLocation"], "Resource": "arn:aws:s3:::*"},
    {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::BUCKET-NAME",
     "Condition": {"StringLike": {"s3:prefix": ["", "home/", "home/${aws:username}/"]}}},
    {"Effect": "Allow", "Action": "s3:*",
     "Resource": ["arn:aws:s3:::BUCKET-NAME/home/${aws:username}", "arn:aws:s3:::BUCKET-NAME/home/${aws:username}/*"]}
  ]
}`},
	{"IAM MFA policy", Identity, `{
  "Version": "2012-10-17",
  "Statement": [{
    "Sid": "DenyAllExceptListedIfNoMFA",
    "Effect": "Deny",
    "NotAction": ["iam:CreateVirtualMFADevice", "iam:EnableMFADevice", "iam:GetUser", "iam:ListMFADevices", "iam:ListVirtualMFADevices", "iam:ResyncMFADevice", "sts:GetSessionToken"],
    "Resource": "*",
    "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}
  }]
}`},
	{"IAM IP and date conditions", Identity, `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"iam:*AccessKey*","Resource":"arn:aws:iam::111122223333:user/*","Condition":{"IpAddress":{"aws:SourceIp":["203.0.113.0/24","2001:DB8:1234:5678::/64"]},"DateGreaterThan":{"aws:TokenIssueTime":"2020-01-01T00:00:01Z"},"NumericLessThanEquals":{"s3:max-keys":10},"Null":{"aws:TokenIssueTime":false}}}}`},
	{"IAM set operators", Identity, `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"iam:TagUser","Resource":"*","Condition":{"ForAnyValue:StringLike":{"aws:TagKeys":["key1*"]},"ForAllValues:StringEqualsIfExists":{"aws:TagKeys":["a","b"]}}}]}`},
	{"IAM policy without version", Identity, `{"Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}]}`},
	{"IAM all operators", Identity, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{
    "StringEquals":{"a:b":"x"},"StringNotEquals":{"a:b":"x"},"StringEqualsIgnoreCase":{"a:b":"x"},"StringNotEqualsIgnoreCase":{"a:b":"x"},
    "StringLike":{"a:b":"x*"},"StringNotLike":{"a:b":"x*"},"NumericEquals":{"a:n":"1"},"NumericNotEquals":{"a:n":"1"},
    "NumericLessThan":{"a:n":"1"},"NumericLessThanEquals":{"a:n":"1"},"NumericGreaterThan":{"a:n":"1"},"NumericGreaterThanEquals":{"a:n":"1"},
    "DateEquals":{"a:d":"2020-01-01"},"DateNotEquals":{"a:d":"1577836800"},"DateLessThan":{"a:d":"2020-01-01T00:00Z"},"DateLessThanEquals":{"a:d":"2020-01-01T00:00:00.123+02:00"},
    "DateGreaterThan":{"a:d":"2020"},"DateGreaterThanEquals":{"a:d":"2020-06"},"Bool":{"a:b":"true"},"BinaryEquals":{"a:b":"AAAA"},
    "IpAddress":{"a:ip":"10.0.0.0/8"},"NotIpAddress":{"a:ip":"::1"},"ArnEquals":{"a:arn":"arn:aws:s3:::b"},"ArnLike":{"a:arn":"arn:aws:s3:::*"},
    "ArnNotEquals":{"a:arn":"arn:aws:s3:::b"},"ArnNotLike":{"a:arn":"arn:aws:s3:::*"},"Null":{"a:b":"true"},
    "StringEqualsIfExists":{"a:b":"x"},"ForAllValues:ArnLikeIfExists":{"a:arn":"arn:*"},"ForAnyValue:NumericLessThan":{"a:n":"3"}}}]}`},
	{"SCP deny regions", SCP, `{
  "Version": "2012-10-17",
  "Statement": [{
    "Sid": "DenyAllOutsideEU",
    "Effect": "Deny",
    "NotAction": ["a4b:*", "acm:*", "aws-marketplace-management:*", "iam:*", "organizations:*", "sts:*"],
    "Resource": "*",
    "Condition": {"StringNotEquals": {"aws:RequestedRegion": ["eu-central-1", "eu-west-1"]},
                  "ArnNotLike": {"aws:PrincipalARN": ["arn:aws:iam::*:role/Role1AllowedToBypassThisSCP"]}}
  }]
}`},
	{"SCP FullAWSAccess", SCP, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`},
	{"SCP allow without Resource", SCP, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["ec2:*","s3:*"]}]}`},
	{"SCP allow with condition (full language)", SCP, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:*","Resource":"arn:aws:kms:*:*:key/*","Condition":{"StringEquals":{"aws:PrincipalTag/team":"blue"}}}]}`},
	{"Trust policy EC2", Trust, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}`},
	{"Trust policy cross-account with external id", Trust, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::444455556666:root"},"Action":["sts:AssumeRole","sts:TagSession"],"Condition":{"StringEquals":{"sts:ExternalId":"Unique ID Assigned by Example Corp"}}}]}`},
	{"Trust policy web identity", Trust, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"cognito-identity.amazonaws.com"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"cognito-identity.amazonaws.com:aud":"us-east-2:12345678-abcd-abcd-abcd-123456790ab"},"ForAnyValue:StringLike":{"cognito-identity.amazonaws.com:amr":"unauthenticated"}}}]}`},
	{"Trust policy SAML", Trust, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::111122223333:saml-provider/ExampleOrgSSOProvider"},"Action":"sts:AssumeRoleWithSAML","Condition":{"StringEquals":{"SAML:aud":"https://signin.aws.amazon.com/saml"}}}]}`},
	{"duplicate condition operator: last wins", Identity, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"StringEquals":{"a:b":"1"},"StringEquals":{"a:c":"2"}}}]}`},
	{"JSON numbers and booleans as condition values", KeyPolicy, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"kms:*","Resource":"*","Condition":{"NumericLessThan":{"a:n":[1, 2.5, -3e2]},"Bool":{"a:b":[true,false]}}}]}`},
}

func TestParseValid(t *testing.T) {
	for _, tc := range validDocs {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Parse(tc.doc, tc.kind)
			if err != nil {
				t.Fatalf("Parse(%s) = %v, want success", tc.kind, err)
			}
			if p.Kind() != tc.kind {
				t.Errorf("Kind() = %v, want %v", p.Kind(), tc.kind)
			}
			if p.Len() == 0 && !strings.Contains(tc.doc, `"Statement":[]`) {
				t.Errorf("Len() = 0")
			}
		})
	}
}

func TestParseMalformed(t *testing.T) {
	const stmt = `"Effect":"Allow","Action":"s3:GetObject","Resource":"*"`
	tests := []struct {
		name string
		kind Kind
		doc  string
		want string // the whole message
	}{
		{"not JSON", Identity, `{"Version":`, "The policy is not valid JSON: unexpected EOF"},
		{"trailing data", Identity, `{"Statement":[]} {}`, "The policy is not valid JSON: unexpected data after the top-level JSON value"},
		{"bad JSON token", KeyPolicy, `{"Statement":[}`, "The policy is not valid JSON: invalid character '}' looking for beginning of value"},
		{"top-level array", Identity, `[]`, "The policy must be a JSON object, not an array."},
		{"top-level string", KeyPolicy, `"x"`, "The policy must be a JSON object, not a string."},
		{"no Statement", KeyPolicy, `{"Version":"2012-10-17"}`, "The policy must contain a Statement element."},
		{"unknown top element", Identity, `{"Version":"2012-10-17","Statements":[]}`, `The policy contains an unknown element "Statements": only Version, Id and Statement are allowed at the top level.`},
		{"bad version", Identity, `{"Version":"2012-10-18","Statement":{` + stmt + `}}`, `Version "2012-10-18" is not valid: use "2012-10-17" or "2008-10-17".`},
		{"version not a string", Identity, `{"Version":2012,"Statement":{` + stmt + `}}`, "Version must be a string, not a number."},
		{"Id not a string", Identity, `{"Id":1,"Statement":{` + stmt + `}}`, "Id must be a string, not a number."},
		{"Statement a string", Identity, `{"Statement":"x"}`, "Statement must be an object or an array of objects, not a string."},
		{"statement not an object", Identity, `{"Statement":[{` + stmt + `}, 3]}`, "Statement[1] must be an object, not a number."},
		{"empty statements for IAM", Identity, `{"Version":"2012-10-17","Statement":[]}`, "Syntax errors in policy. The Statement array is empty."},
		{"missing Effect", Identity, `{"Statement":[{"Action":"s3:*","Resource":"*"}]}`, "Statement[0] is missing required field Effect."},
		{"Effect lower case", Identity, `{"Statement":[{"Sid":"A1","Effect":"allow","Action":"s3:*","Resource":"*"}]}`, `Statement[0] (Sid "A1"): Effect must be "Allow" or "Deny" (case-sensitive), not "allow".`},
		{"Effect not a string", KeyPolicy, `{"Statement":[{"Effect":true,"Principal":"*","Action":"s3:*","Resource":"*"}]}`, `Statement[0]: Effect must be the string "Allow" or "Deny", not a boolean.`},
		{"unknown statement element", Identity, `{"Statement":[{` + stmt + `,"Principals":"*"}]}`, `Statement[0] contains an unknown element "Principals".`},
		{"Action and NotAction", Identity, `{"Statement":[{` + stmt + `,"NotAction":"s3:PutObject"}]}`, "Statement[0] has both Action and NotAction: use one."},
		{"Resource and NotResource", Identity, `{"Statement":[{` + stmt + `,"NotResource":"*"}]}`, "Statement[0] has both Resource and NotResource: use one."},
		{"Principal and NotPrincipal", KeyPolicy, `{"Statement":[{` + stmt + `,"Principal":"*","NotPrincipal":"*"}]}`, "Statement[0] has both Principal and NotPrincipal: use one."},
		{"no Action", Identity, `{"Statement":[{"Effect":"Allow","Resource":"*"}]}`, "Policy statement must contain actions."},
		{"empty Action list", Identity, `{"Statement":[{"Effect":"Allow","Action":[],"Resource":"*"}]}`, "Policy statement must contain actions."},
		{"no Resource in identity policy", Identity, `{"Statement":[{"Effect":"Allow","Action":"s3:*"}]}`, "Policy statement must contain resources."},
		{"empty Resource list", Identity, `{"Statement":[{"Effect":"Allow","Action":"s3:*","Resource":[]}]}`, "Policy statement must contain resources."},
		{"no Resource in key policy", KeyPolicy, `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"kms:*"}]}`, "Policy statement must contain resources."},
		{"Action without vendor", Identity, `{"Statement":[{"Effect":"Allow","Action":"GetObject","Resource":"*"}]}`, "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc."},
		{"Action with two colons", Identity, `{"Statement":[{"Effect":"Allow","Action":"s3:Get:Object","Resource":"*"}]}`, "Actions/Condition can contain only one colon."},
		{"wildcard in vendor", Identity, `{"Statement":[{"Effect":"Allow","Action":"s*:GetObject","Resource":"*"}]}`, "Vendor s* is not valid"},
		{"Action a number", Identity, `{"Statement":[{"Effect":"Allow","Action":5,"Resource":"*"}]}`, "Statement[0]: Action must be a string or an array of strings, not a number."},
		{"Action list with object", Identity, `{"Statement":[{"Effect":"Allow","Action":["s3:*",{}],"Resource":"*"}]}`, "Statement[0]: Action must be a string or an array of strings; element 1 is an object."},
		{"Resource not an ARN", Identity, `{"Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"bucket"}]}`, `Resource bucket must be in ARN format or "*".`},
		{"Resource wrong scheme", Identity, `{"Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"urn:aws:s3:::b"}]}`, `Resource urn:aws:s3:::b must be in ARN format or "*".`},
		{"Resource without vendor", Identity, `{"Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws"}]}`, "Resource vendor must be fully qualified and cannot contain regexes."},
		{"Resource bad partition", Identity, `{"Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"arn:amazon:s3:::b"}]}`, `Partition "amazon" is not valid for resource "arn:amazon:s3:::b".`},
		{"Resource legacy parsing", Identity, `{"Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3::b"}]}`, "The policy failed legacy parsing"},
		{"principal in identity policy", Identity, `{"Statement":[{` + stmt + `,"Principal":"*"}]}`, "Policy document should not specify a principal."},
		{"NotPrincipal in SCP", SCP, `{"Statement":[{` + stmt + `,"NotPrincipal":{"AWS":"*"}}]}`, "Policy document should not specify a principal."},
		{"no principal in key policy", KeyPolicy, `{"Statement":[{` + stmt + `}]}`, "Statement[0] is missing required field Principal: every statement of a key policy names a Principal or NotPrincipal."},
		{"no principal in trust policy", Trust, `{"Statement":[{"Effect":"Allow","Action":"sts:AssumeRole"}]}`, "Missing required field Principal"},
		{"Resource in trust policy", Trust, `{"Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole","Resource":"*"}]}`, "Has prohibited field Resource"},
		{"non-STS action in trust policy", Trust, `{"Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"s3:GetObject"}]}`, "AssumeRole policy may only specify STS AssumeRole actions."},
		{"invalid principal in key policy", KeyPolicy, `{"Statement":[{` + stmt + `,"Principal":{"AWS":"arn:aws:iam::111122223333:user/*"}}]}`, "Policy contains a statement with one or more invalid principals."},
		{"principal string not star", KeyPolicy, `{"Statement":[{` + stmt + `,"Principal":"arn:aws:iam::111122223333:root"}]}`, "Policy contains a statement with one or more invalid principals."},
		{"short account id", KeyPolicy, `{"Statement":[{` + stmt + `,"Principal":{"AWS":"11112222333"}}]}`, "Policy contains a statement with one or more invalid principals."},
		{"group is not a principal", KeyPolicy, `{"Statement":[{` + stmt + `,"Principal":{"AWS":"arn:aws:iam::111122223333:group/devs"}}]}`, "Policy contains a statement with one or more invalid principals."},
		{"unknown principal type", Trust, `{"Statement":[{"Effect":"Allow","Principal":{"Amazon":"x"},"Action":"sts:AssumeRole"}]}`, `Invalid principal in policy: "Amazon"`},
		{"invalid AWS principal in trust policy", Trust, `{"Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::*:root"},"Action":"sts:AssumeRole"}]}`, `Invalid principal in policy: "AWS":"arn:aws:iam::*:root"`},
		{"session wildcard", KeyPolicy, `{"Statement":[{` + stmt + `,"NotPrincipal":{"AWS":"arn:aws:sts::111122223333:assumed-role/R/*"}}]}`, "Policy contains a statement with one or more invalid principals."},
		{"empty principal object", KeyPolicy, `{"Statement":[{` + stmt + `,"Principal":{}}]}`, "Policy contains a statement with one or more invalid principals."},
		{"Sid not alphanumeric in IAM", Identity, `{"Statement":[{"Sid":"my-sid",` + stmt + `}]}`, "Statement IDs (SID) must be alpha-numeric. Check that your input satisfies the regular expression [0-9A-Za-z]*"},
		{"Sid not a string", KeyPolicy, `{"Statement":[{"Sid":1,` + stmt + `,"Principal":"*"}]}`, "Statement[0]: Sid must be a string, not a number."},
		{"duplicate Sid", Identity, `{"Statement":[{"Sid":"A",` + stmt + `},{"Sid":"A",` + stmt + `}]}`, "Statement IDs (SID) in a single policy must be unique."},
		{"unknown operator", Identity, `{"Statement":[{` + stmt + `,"Condition":{"StringEqual":{"a:b":"c"}}}]}`, "Invalid Condition type : StringEqual"},
		{"operator case", Identity, `{"Statement":[{` + stmt + `,"Condition":{"stringequals":{"a:b":"c"}}}]}`, "Invalid Condition type : stringequals"},
		{"NullIfExists", Identity, `{"Statement":[{` + stmt + `,"Condition":{"NullIfExists":{"a:b":"true"}}}]}`, "Invalid Condition type : NullIfExists"},
		{"unknown set operator", Identity, `{"Statement":[{` + stmt + `,"Condition":{"ForEachValue:StringEquals":{"a:b":"c"}}}]}`, "Invalid Condition type : ForEachValue:StringEquals"},
		{"condition key without vendor", Identity, `{"Statement":[{` + stmt + `,"Condition":{"StringEquals":{"SourceIp":"c"}}}]}`, "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc."},
		{"Condition not an object", Identity, `{"Statement":[{` + stmt + `,"Condition":[]}]}`, "Statement[0]: Condition must be an object, not an array."},
		{"operator value not an object", Identity, `{"Statement":[{` + stmt + `,"Condition":{"StringEquals":"x"}}]}`, "Statement[0]: the value of condition operator StringEquals must be an object of keys and values, not a string."},
		{"condition value null", Identity, `{"Statement":[{` + stmt + `,"Condition":{"StringEquals":{"a:b":null}}}]}`, "Statement[0]: the value of a:b in StringEquals must be a string, number, boolean or an array of them, not null."},
		{"condition value nested", Identity, `{"Statement":[{` + stmt + `,"Condition":{"StringEquals":{"a:b":["x",["y"]]}}}]}`, "Statement[0]: the values of a:b in StringEquals must be strings, numbers or booleans; element 1 is an array."},
		{"bad date", Identity, `{"Statement":[{` + stmt + `,"Condition":{"DateLessThan":{"aws:CurrentTime":"2020-13-01"}}}]}`, `Statement[0]: DateLessThan value "2020-13-01" of aws:CurrentTime is not a date: use ISO 8601 (2006-01-02T15:04:05Z) or epoch seconds.`},
		{"too deep", KeyPolicy, `{"Statement":[{"Condition":{"a":{"b":[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]}}}]}`, "The policy is not valid JSON: JSON nested too deeply"},
		{"unknown kind", Kind(9), `{"Statement":[]}`, "unknown policy kind 9"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Parse(tc.doc, tc.kind)
			if err == nil {
				t.Fatalf("Parse(%s, %v) = %v, want error %q", tc.doc, tc.kind, p, tc.want)
			}
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("Parse error %T, want *SyntaxError", err)
			}
			if se.Message != tc.want {
				t.Errorf("Parse(%s) message:\n got %q\nwant %q", tc.doc, se.Message, tc.want)
			}
			if !strings.HasPrefix(err.Error(), "policy: ") {
				t.Errorf("Error() = %q, want the package prefix", err.Error())
			}
		})
	}
}

func TestStatements(t *testing.T) {
	p, err := Parse(`{"Version":"2012-10-17","Id":"k1","Statement":[
	  {"Sid":"S1","Effect":"Allow","Principal":{"AWS":["111122223333","arn:aws:iam::111122223333:user/a"],"Service":"s.amazonaws.com"},"Action":"kms:*","Resource":"*",
	   "Condition":{"StringEquals":{"kms:CallerAccount":["111122223333"]},"Bool":{"aws:SecureTransport":true}}},
	  {"Effect":"Deny","NotPrincipal":"*","NotAction":["kms:Decrypt"],"NotResource":"arn:aws:kms:*:*:key/x"}]}`, KeyPolicy)
	if err != nil {
		t.Fatal(err)
	}
	want := []Statement{
		{
			Sid: "S1", Effect: "Allow",
			Principal: &Principals{AWS: []string{"111122223333", "arn:aws:iam::111122223333:user/a"}, Service: []string{"s.amazonaws.com"}},
			Action:    []string{"kms:*"}, Resource: []string{"*"},
			Condition: []Condition{
				{Operator: "StringEquals", Key: "kms:CallerAccount", Values: []string{"111122223333"}},
				{Operator: "Bool", Key: "aws:SecureTransport", Values: []string{"true"}},
			},
		},
		{Effect: "Deny", NotPrincipal: &Principals{All: true}, NotAction: []string{"kms:Decrypt"}, NotResource: []string{"arn:aws:kms:*:*:key/x"}},
	}
	got := p.Statements()
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Statements() (-want +got):\n%s", diff)
	}
	got[0].Action[0] = "changed"
	if p.Statements()[0].Action[0] != "kms:*" {
		t.Errorf("Statements() shares memory with the policy")
	}
	if p.ID() != "k1" || p.Version() != Version2012 {
		t.Errorf("ID(), Version() = %q, %q", p.ID(), p.Version())
	}
	if !p.HasCondition("KMS:CALLERACCOUNT") || p.HasCondition("kms:ViaService") {
		t.Errorf("HasCondition wrong")
	}
}

func TestParseDate(t *testing.T) {
	tests := []struct {
		in   string
		want int64 // Unix seconds
		ok   bool
	}{
		{"2021-01-01T00:00:00Z", 1609459200, true},
		{"2021-01-01T00:00:00.999Z", 1609459200, true},
		{"2021-01-01T01:00:00+01:00", 1609459200, true},
		{"2021-01-01T01:00:00+0100", 1609459200, true},
		{"2021-01-01T01:00+01", 1609459200, true},
		{"2021-01-01t00:00z", 1609459200, true},
		{"2021-01-01", 1609459200, true},
		{"2021-01", 1609459200, true},
		{"2021", 1609459200, false}, // four digits alone are epoch seconds
		{"1609459200", 1609459200, true},
		{"1609459200.5", 1609459200, true},
		{"2021-02-29", 0, false},
		{"2021-01-01T24:00:00Z", 0, false},
		{"2021-01-01T10", 0, false},
		{"2021-01-01T10:00:00Zjunk", 0, false},
		{"", 0, false},
		{"-5", 0, false},
		{"now", 0, false},
	}
	for _, tc := range tests {
		got, ok := parseDate(tc.in)
		if tc.in == "2021" {
			// Epoch second 2021, not the year 2021.
			if !ok || got.sec != 2021 {
				t.Errorf("parseDate(%q) = %v, %t, want 2021, true", tc.in, got, ok)
			}
			continue
		}
		if ok != tc.ok || ok && got.sec != tc.want {
			t.Errorf("parseDate(%q) = %v, %t, want %d, %t", tc.in, got.sec, ok, tc.want, tc.ok)
		}
	}
}

func TestUsesContext(t *testing.T) {
	tests := []struct {
		doc  string
		want bool
	}{
		{`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::b/*"}}`, false},
		{`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::b/${aws:username}"}}`, true},
		{`{"Version":"2008-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::b/${aws:username}"}}`, false},
		{`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::b/${*}"}}`, false},
		{`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"Null":{"a:b":"true"}}}}`, true},
	}
	for _, tc := range tests {
		p, err := Parse(tc.doc, Identity)
		if err != nil {
			t.Fatal(err)
		}
		if got := p.UsesContext(); got != tc.want {
			t.Errorf("UsesContext(%s) = %t, want %t", tc.doc, got, tc.want)
		}
	}
}
