package kms

import (
	"context"

	"github.com/custoskms/custos/internal/awsproto"
	"github.com/custoskms/custos/internal/store"
)

// Request is what an Authorizer decides on: who asks to do what to which key.
type Request struct {
	Caller            *Caller
	Action            string     // e.g. "kms:Encrypt"
	Key               *store.Key // nil for actions on no key (CreateKey, ListKeys, ...)
	Resource          string     // the resource ARN the action is on ("*" when none)
	EncryptionContext map[string]string
}

// Authorizer decides requests. Authorize returns nil to allow, or an
// AccessDeniedException (an *awsproto.Error) to deny. It must be safe for
// concurrent use and fast: it sits on the hot path.
type Authorizer interface {
	Authorize(ctx context.Context, r *Request) error
}

// AccountAuthorizer is the authorizer until policies are evaluated: the
// principals of an account may do anything to that account's keys, and
// nothing to another account's.
type AccountAuthorizer struct{}

// Authorize implements Authorizer.
func (AccountAuthorizer) Authorize(_ context.Context, r *Request) error {
	if r.Key == nil || r.Key.AccountID == r.Caller.AccountID {
		return nil
	}
	return AccessDenied(r.Caller.ARN, r.Action, r.Resource, "no resource-based policy allows the "+r.Action+" action")
}

// AccessDenied returns AWS's AccessDeniedException for principal, action
// and resource, with the reason AWS gives after "because".
func AccessDenied(principal, action, resource, reason string) error {
	return awsproto.Errorf("AccessDeniedException",
		"User: %s is not authorized to perform: %s on resource: %s because %s", principal, action, resource, reason)
}

// authorize asks the authorizer about an action on key k (nil for none).
func (s *Service) authorize(ctx context.Context, c *Caller, action string, k *store.Key, ec map[string]string) error {
	r := Request{Caller: c, Action: action, Key: k, Resource: "*", EncryptionContext: ec}
	if k != nil {
		r.Resource = k.ARN
	}
	return s.authz.Authorize(ctx, &r)
}
