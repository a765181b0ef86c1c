package org

import (
	"net/http"

	"github.com/custoskms/custos/internal/awsproto"
)

// The errors a client sees, named and worded as AWS Organizations names and
// words them. AWS also sends a Reason member with InvalidInputException and
// ConstraintViolationException; the JSON error shape of awsproto carries only
// the message, so the reason is told in the message instead.

func notInUse() error {
	return awsproto.Errorf("AWSOrganizationsNotInUseException", "Your account is not a member of an organization.")
}

func alreadyInOrganization() error {
	return awsproto.Errorf("AlreadyInOrganizationException", "The AWS account is already a member of an organization.")
}

func accessDenied() error {
	return awsproto.Errorf("AccessDeniedException", "You don't have permissions to access this resource.")
}

func accountNotFound() error {
	return awsproto.Errorf("AccountNotFoundException", "You specified an account that doesn't exist.")
}

func ouNotFound() error {
	return awsproto.Errorf("OrganizationalUnitNotFoundException", "We can't find an OU with the OrganizationalUnitId that you specified.")
}

func parentNotFound() error {
	return awsproto.Errorf("ParentNotFoundException", "We can't find a root or OU with the ParentId that you specified.")
}

func childNotFound() error {
	return awsproto.Errorf("ChildNotFoundException", "We can't find an organizational unit (OU) or AWS account with the ChildId that you specified.")
}

func rootNotFound() error {
	return awsproto.Errorf("RootNotFoundException", "We can't find a root with the RootId that you specified.")
}

func policyNotFound() error {
	return awsproto.Errorf("PolicyNotFoundException", "We can't find a policy with the PolicyId that you specified.")
}

func targetNotFound() error {
	return awsproto.Errorf("TargetNotFoundException", "We can't find a root, OU, account, or email target with the TargetId that you specified.")
}

func createAccountStatusNotFound() error {
	return awsproto.Errorf("CreateAccountStatusNotFoundException", "We can't find an create account request with the CreateAccountRequestId that you specified.")
}

func duplicatePolicyAttachment() error {
	return awsproto.Errorf("DuplicatePolicyAttachmentException", "The selected policy is already attached to the specified target.")
}

func duplicatePolicy() error {
	return awsproto.Errorf("DuplicatePolicyException", "A policy with the same name already exists.")
}

func duplicateOU() error {
	return awsproto.Errorf("DuplicateOrganizationalUnitException", "An OU with the same name already exists.")
}

func duplicateAccount() error {
	return awsproto.Errorf("DuplicateAccountException", "That account is already present in the specified destination.")
}

func policyNotAttached() error {
	return awsproto.Errorf("PolicyNotAttachedException", "The policy isn't attached to the specified target in the specified root.")
}

func policyInUse() error {
	return awsproto.Errorf("PolicyInUseException",
		"The policy is attached to one or more entities. You must detach it from all roots, OUs, and accounts before performing this operation.")
}

func policyTypeNotEnabled() error {
	return awsproto.Errorf("PolicyTypeNotEnabledException",
		"The specified policy type isn't currently enabled in this root. You can't attach policies of the specified type to entities in a root until you enable that type in the root.")
}

func policyTypeAlreadyEnabled() error {
	return awsproto.Errorf("PolicyTypeAlreadyEnabledException", "The specified policy type is already enabled.")
}

func policyTypeNotAvailable() error {
	return awsproto.Errorf("PolicyTypeNotAvailableForOrganizationException",
		"You can't use the specified policy type with the feature set currently enabled for this organization. Custos supports only SERVICE_CONTROL_POLICY.")
}

func ouNotEmpty() error {
	return awsproto.Errorf("OrganizationalUnitNotEmptyException", "The specified OU is not empty. Move all accounts to another root or to other OUs, remove all child OUs, and try the operation again.")
}

func organizationNotEmpty() error {
	return awsproto.Errorf("OrganizationNotEmptyException",
		"The organization isn't empty. To delete an organization, you must first remove all accounts except the management account.")
}

func malformedPolicy(detail string) error {
	msg := "The provided policy document doesn't meet the requirements of the specified policy type."
	if detail != "" {
		msg += " " + detail
	}
	return awsproto.Errorf("MalformedPolicyDocumentException", "%s", msg)
}

// Reasons of ConstraintViolationException, as AWS names them.
const (
	reasonOUDepth        = "OU_DEPTH_LIMIT_EXCEEDED"
	reasonOUNumber       = "OU_NUMBER_LIMIT_EXCEEDED"
	reasonPolicyNumber   = "POLICY_NUMBER_LIMIT_EXCEEDED"
	reasonPolicyContent  = "POLICY_CONTENT_LIMIT_EXCEEDED"
	reasonMaxAttachments = "MAX_POLICY_TYPE_ATTACHMENT_LIMIT_EXCEEDED"
	reasonMinAttachments = "MIN_POLICY_TYPE_ATTACHMENT_LIMIT_EXCEEDED"
	reasonAccountNumber  = "ACCOUNT_NUMBER_LIMIT_EXCEEDED"
)

var constraintMessages = map[string]string{
	reasonOUDepth:        "You attempted to create an OU tree that is too many levels deep.",
	reasonOUNumber:       "You attempted to exceed the number of OUs that you can have in an organization.",
	reasonPolicyNumber:   "You attempted to exceed the number of policies that you can have in an organization.",
	reasonPolicyContent:  "You attempted to create a policy that is larger than the maximum size (5120 characters).",
	reasonMaxAttachments: "You attempted to exceed the number of policies of a certain type that can be attached to an entity at one time.",
	reasonMinAttachments: "You attempted to detach a policy from an entity that would cause the entity to have fewer than the minimum number of policies of a certain type required: every root, OU and account must have at least one SCP attached.",
	reasonAccountNumber:  "You attempted to exceed the limit on the number of accounts in an organization.",
}

// constraint returns a ConstraintViolationException for reason.
func constraint(reason string) error {
	return awsproto.Errorf("ConstraintViolationException", "%s (%s)", constraintMessages[reason], reason)
}

// Reasons of InvalidInputException, as AWS names them.
const (
	reasonInputRequired     = "INPUT_REQUIRED"
	reasonInvalidPattern    = "INVALID_PATTERN"
	reasonInvalidTargetID   = "INVALID_PATTERN_TARGET_ID"
	reasonInvalidEnum       = "INVALID_ENUM"
	reasonInvalidPolicyType = "INVALID_ENUM_POLICY_TYPE"
	reasonMinLength         = "MIN_LENGTH_EXCEEDED"
	reasonMaxLength         = "MAX_LENGTH_EXCEEDED"
	reasonMinValue          = "MIN_VALUE_EXCEEDED"
	reasonMaxValue          = "MAX_VALUE_EXCEEDED"
	reasonNextToken         = "INVALID_NEXT_TOKEN"
	reasonImmutablePolicy   = "IMMUTABLE_POLICY"
)

var inputMessages = map[string]string{
	reasonInputRequired:     "You must specify a value for this parameter.",
	reasonInvalidPattern:    "You provided a value that doesn't match the required pattern.",
	reasonInvalidTargetID:   "You specified a policy target ID that doesn't match the required pattern.",
	reasonInvalidEnum:       "You specified an invalid value.",
	reasonInvalidPolicyType: "You specified an invalid policy type string.",
	reasonMinLength:         "You provided a string parameter that is shorter than allowed.",
	reasonMaxLength:         "You provided a string parameter that is longer than allowed.",
	reasonMinValue:          "You provided a numeric parameter that has a smaller value than allowed.",
	reasonMaxValue:          "You provided a numeric parameter that has a larger value than allowed.",
	reasonNextToken:         "You specified an invalid value for the NextToken parameter.",
	reasonImmutablePolicy:   "You specified a policy that is managed by AWS and can't be modified.",
}

// invalidInput returns an InvalidInputException for reason about the
// request member field (AWS's member name, or "" to name none).
func invalidInput(reason, field string) error {
	msg := inputMessages[reason]
	if field != "" {
		msg += " Parameter: " + field + "."
	}
	return awsproto.Errorf("InvalidInputException", "%s (%s)", msg, reason)
}

// serviceError is what a client sees for a fault of Custos itself.
func serviceError() error {
	return &awsproto.Error{
		Code:    "ServiceException",
		Message: "AWS Organizations can't complete your request because of an internal service error. Try again later.",
		Status:  http.StatusInternalServerError,
	}
}
