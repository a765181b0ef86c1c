// Package iam holds the identities Custos authenticates and authorizes, and
// serves the IAM and STS APIs over them: accounts and their roots, IAM
// users, groups, roles, managed and inline policies, permissions
// boundaries, access keys and assumed-role sessions, with AWS's request and
// response shapes, errors and authorization.
//
// Every entity is a store.Document (kinds "iam/user", "iam/role",
// "iam/group", "iam/policy", "sts/session"); access keys are
// store.Credentials whose secrets are wrapped under the root key.
package iam

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base32"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/custoskms/custos/internal/awsproto"
	"github.com/custoskms/custos/internal/caller"
	"github.com/custoskms/custos/internal/keyring"
	"github.com/custoskms/custos/internal/store"
)

// Principal types, as CloudTrail's userIdentity.type spells them.
const (
	TypeRoot        = caller.TypeRoot
	TypeIAMUser     = caller.TypeIAMUser
	TypeAssumedRole = caller.TypeAssumedRole
)

// Principal is an authenticated identity: what an access key (and, for
// temporary credentials, its session token) proves.
type Principal struct {
	AccountID   string
	ARN         string
	Type        string // TypeRoot, TypeIAMUser, TypeAssumedRole
	UserID      string // CloudTrail's principalId: the account id, AIDA..., or AROA...:session
	UserName    string // IAM user name, for users
	AccessKeyID string

	// Assumed-role sessions.
	RoleARN        string
	RoleName       string
	SessionName    string
	SessionToken   string // the token the request must carry
	SessionIssued  time.Time
	SessionExpires time.Time

	// Principal tags (aws:PrincipalTag/*): a user's tags, or a role's tags
	// overridden by the session's tags. Shared: never modify it.
	Tags map[string]string
}

// RootARN returns the ARN of an account's root principal.
func RootARN(account string) string { return "arn:aws:iam::" + account + ":root" }

type credential struct {
	principal Principal
	secret    []byte
	active    bool
}

// Directory finds the principal and secret behind an access key id. Secrets
// are stored wrapped under the root key and cached unwrapped in memory; the
// cache forgets a credential in the same call that changes or deletes it
// or its principal, so that a deleted or deactivated key stops working at
// once. It is safe for concurrent use.
type Directory struct {
	store store.Store
	root  *keyring.Root
	rand  io.Reader
	now   func() time.Time

	mu    sync.RWMutex
	creds map[string]*credential // nil entry: known not to exist
	epoch uint64                 // +1 on every forget: a load that began before one is not cached
}

// NewDirectory returns a Directory over st.
func NewDirectory(st store.Store, root *keyring.Root, rnd io.Reader, now func() time.Time) *Directory {
	return &Directory{store: st, root: root, rand: rnd, now: now, creds: make(map[string]*credential)}
}

func secretAAD(accessKeyID string) []byte {
	return []byte("custos/credential/v1\x00" + accessKeyID)
}

// EnsureAccount creates account id if it does not exist yet and reports
// whether it did.
func (d *Directory) EnsureAccount(ctx context.Context, id string) (bool, error) {
	created := false
	err := d.store.Update(ctx, func(tx store.Tx) error {
		_, err := tx.GetAccount(id)
		if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		created = true
		return tx.InsertAccount(store.Account{ID: id, CreatedAt: d.now().UTC()})
	})
	if err != nil {
		return false, fmt.Errorf("iam: ensure account %s: %w", id, err)
	}
	return created, nil
}

// RootCredentials returns the access key id of account's root credentials,
// creating a new random pair if it has none. The secret is returned only
// when created (as AWS returns a secret once).
func (d *Directory) RootCredentials(ctx context.Context, account string) (accessKeyID string, secret []byte, created bool, err error) {
	var have []store.Credential
	err = d.store.View(ctx, func(tx store.Tx) error {
		var err error
		have, err = tx.ListCredentials(account)
		return err
	})
	if err != nil {
		return "", nil, false, fmt.Errorf("iam: list credentials: %w", err)
	}
	for _, c := range have {
		if c.PrincipalARN == RootARN(account) && c.Status == statusActive {
			return c.AccessKeyID, nil, false, nil
		}
	}
	id, sec, err := NewAccessKey(d.rand)
	if err != nil {
		return "", nil, false, err
	}
	if err := d.PutRootCredentials(ctx, account, id, sec); err != nil {
		return "", nil, false, err
	}
	return id, sec, true, nil
}

// PutRootCredentials makes (accessKeyID, secret) a credential of account's
// root, replacing the secret if the key id exists.
func (d *Directory) PutRootCredentials(ctx context.Context, account, accessKeyID string, secret []byte) error {
	c, err := d.newCredential(account, RootARN(account), accessKeyID, secret)
	if err != nil {
		return err
	}
	err = d.store.Update(ctx, func(tx store.Tx) error {
		old, err := tx.GetCredential(accessKeyID)
		switch {
		case errors.Is(err, store.ErrNotFound):
			return tx.InsertCredential(c)
		case err != nil:
			return err
		}
		if old.AccountID != account || old.PrincipalARN != c.PrincipalARN {
			return fmt.Errorf("iam: access key %s belongs to another principal", accessKeyID)
		}
		c.CreatedAt = old.CreatedAt
		return tx.UpdateCredential(c)
	})
	if err != nil {
		return fmt.Errorf("iam: put root credentials: %w", err)
	}
	d.forgetKey(accessKeyID)
	return nil
}

// newCredential returns an active credential of principal with secret
// wrapped under the root key.
func (d *Directory) newCredential(account, principalARN, accessKeyID string, secret []byte) (store.Credential, error) {
	wrapped, err := d.root.Wrap(d.rand, secret, secretAAD(accessKeyID))
	if err != nil {
		return store.Credential{}, fmt.Errorf("iam: wrap secret: %w", err)
	}
	return store.Credential{
		AccessKeyID:   accessKeyID,
		AccountID:     account,
		PrincipalARN:  principalARN,
		WrappedSecret: wrapped,
		Status:        statusActive,
		CreatedAt:     d.now().UTC(),
	}, nil
}

// Lookup returns the secret and principal of an active access key.
// ok is false for an unknown or inactive key, or a key whose principal no
// longer exists; err reports a store failure.
func (d *Directory) Lookup(ctx context.Context, accessKeyID string) (secret []byte, p Principal, ok bool, err error) {
	d.mu.RLock()
	c, cached := d.creds[accessKeyID]
	d.mu.RUnlock()
	if !cached {
		d.mu.RLock()
		epoch := d.epoch
		d.mu.RUnlock()
		if c, err = d.load(ctx, accessKeyID); err != nil {
			return nil, Principal{}, false, err
		}
		d.mu.Lock()
		if d.epoch == epoch {
			if len(d.creds) > 100_000 {
				clear(d.creds)
			}
			d.creds[accessKeyID] = c
		}
		d.mu.Unlock()
	}
	if c == nil || !c.active {
		return nil, Principal{}, false, nil
	}
	return c.secret, c.principal, true, nil
}

// Resolve returns the principal an authenticated request's access key and
// session token prove. It returns AWS's errors: UnrecognizedClientException
// for an unknown or inactive key, a key whose principal is gone, or a token
// that does not belong to it (compared in constant time);
// ExpiredTokenException for an expired session.
func (d *Directory) Resolve(ctx context.Context, accessKeyID, sessionToken string) (Principal, error) {
	_, p, ok, err := d.Lookup(ctx, accessKeyID)
	if err != nil {
		return Principal{}, err
	}
	if !ok || len(sessionToken) != len(p.SessionToken) ||
		subtle.ConstantTimeCompare([]byte(sessionToken), []byte(p.SessionToken)) != 1 {
		return Principal{}, awsproto.Errorf("UnrecognizedClientException", "The security token included in the request is invalid.")
	}
	if p.SessionToken != "" && !d.now().Before(p.SessionExpires) {
		return Principal{}, awsproto.Errorf("ExpiredTokenException", "The security token included in the request is expired")
	}
	return p, nil
}

// ForgetAll drops every cached credential: another node changed some.
func (d *Directory) ForgetAll() {
	d.mu.Lock()
	clear(d.creds)
	d.epoch++
	d.mu.Unlock()
}

// forgetKey drops one access key from the cache.
func (d *Directory) forgetKey(accessKeyID string) {
	d.mu.Lock()
	delete(d.creds, accessKeyID)
	d.epoch++
	d.mu.Unlock()
}

// forget drops from the cache every credential whose principal (ARN or,
// for sessions, role ARN) is arn.
func (d *Directory) forget(arn string) {
	d.mu.Lock()
	for id, c := range d.creds {
		if c != nil && (c.principal.ARN == arn || c.principal.RoleARN == arn) {
			delete(d.creds, id)
		}
	}
	d.epoch++
	d.mu.Unlock()
}

func (d *Directory) load(ctx context.Context, accessKeyID string) (*credential, error) {
	var (
		sc    store.Credential
		p     Principal
		found bool
	)
	err := d.store.View(ctx, func(tx store.Tx) error {
		var err error
		sc, err = tx.GetCredential(accessKeyID)
		if errors.Is(err, store.ErrNotFound) {
			found = false
			return nil
		}
		if err != nil {
			return err
		}
		p, found, err = d.principalOf(tx, sc)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("iam: load credential: %w", err)
	}
	if !found {
		return nil, nil
	}
	secret, err := d.root.Unwrap(sc.WrappedSecret, secretAAD(accessKeyID))
	if err != nil {
		return nil, fmt.Errorf("iam: unwrap secret of %s: %w", accessKeyID, err)
	}
	return &credential{principal: p, secret: secret.Bytes(), active: sc.Status == statusActive}, nil
}

// principalOf returns the principal of a stored credential, and false if
// that principal no longer exists.
func (d *Directory) principalOf(tx store.Tx, sc store.Credential) (Principal, bool, error) {
	p := Principal{AccountID: sc.AccountID, ARN: sc.PrincipalARN, AccessKeyID: sc.AccessKeyID}
	if sc.PrincipalARN == RootARN(sc.AccountID) {
		p.Type, p.UserID = TypeRoot, sc.AccountID
		return p, true, nil
	}
	a, ok := parseARN(sc.PrincipalARN)
	if !ok || a.Account != sc.AccountID {
		return p, false, nil
	}
	switch {
	case a.Service == "iam" && strings.HasPrefix(a.Resource, "user/"):
		_, _, name := pathAndName(a.Resource)
		u, _, ok, err := getDoc[userDoc](tx, kindUser, sc.AccountID, name)
		if err != nil || !ok || u.ARN != sc.PrincipalARN {
			return p, false, err
		}
		p.Type, p.UserID, p.UserName, p.Tags = TypeIAMUser, u.ID, u.Name, tagMap(u.Tags)
		return p, true, nil
	case a.Service == "sts" && strings.HasPrefix(a.Resource, "assumed-role/"):
		s, _, ok, err := getDoc[sessionDoc](tx, kindSession, sc.AccountID, sc.AccessKeyID)
		if err != nil || !ok {
			return p, false, err
		}
		r, _, ok, err := getDoc[roleDoc](tx, kindRole, sc.AccountID, s.RoleName)
		if err != nil || !ok || r.ID != s.RoleID {
			return p, false, err
		}
		token, err := d.root.Unwrap(s.Token, tokenAAD(sc.AccessKeyID))
		if err != nil {
			return p, false, fmt.Errorf("iam: unwrap session token of %s: %w", sc.AccessKeyID, err)
		}
		p.Type = TypeAssumedRole
		p.UserID = r.ID + ":" + s.SessionName
		p.RoleARN, p.RoleName, p.SessionName = r.ARN, r.Name, s.SessionName
		p.SessionToken = string(token.Bytes())
		p.SessionIssued, p.SessionExpires = s.Issued, s.Expires
		p.Tags = tagMap(setTags(append([]tag(nil), r.Tags...), s.Tags))
		return p, true, nil
	}
	return p, false, nil
}

// NewAccessKey returns a new access key id ("AKIA" and 16 base32
// characters, AWS's shape) and a 40-character secret access key.
func NewAccessKey(rnd io.Reader) (string, []byte, error) {
	return newKeyPair(rnd, "AKIA")
}

// newKeyPair returns prefix and 16 base32 characters, and a 40-character
// secret access key.
func newKeyPair(rnd io.Reader, prefix string) (string, []byte, error) {
	if rnd == nil {
		rnd = rand.Reader
	}
	var id [10]byte
	var sec [30]byte
	if _, err := io.ReadFull(rnd, id[:]); err != nil {
		return "", nil, fmt.Errorf("iam: random: %w", err)
	}
	if _, err := io.ReadFull(rnd, sec[:]); err != nil {
		return "", nil, fmt.Errorf("iam: random: %w", err)
	}
	secret := make([]byte, base64.StdEncoding.EncodedLen(len(sec)))
	base64.StdEncoding.Encode(secret, sec[:])
	return prefix + base32.StdEncoding.EncodeToString(id[:]), secret, nil
}
