// Package iam holds the identities Custos authenticates: accounts and their
// access keys. For now every account has one principal, its root; users,
// roles and policies come with the authorization work.
package iam

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/custoskms/custos/internal/awsproto"
	"github.com/custoskms/custos/internal/keyring"
	"github.com/custoskms/custos/internal/store"
)

// Principal types, as CloudTrail's userIdentity.type spells them.
const (
	TypeRoot = "Root"
)

// Principal is an authenticated identity: what an access key (and, for
// temporary credentials, its session token) proves.
type Principal struct {
	AccountID   string
	ARN         string
	Type        string // caller.TypeRoot, caller.TypeIAMUser, caller.TypeAssumedRole
	UserID      string // CloudTrail's principalId
	UserName    string // IAM user name, for users
	AccessKeyID string

	// Assumed-role sessions.
	RoleARN        string
	RoleName       string
	SessionName    string
	SessionToken   string // the token the request must carry
	SessionIssued  time.Time
	SessionExpires time.Time

	Tags map[string]string // principal tags (user's or role's, overridden by session tags)
}

// RootARN returns the ARN of an account's root principal.
func RootARN(account string) string { return "arn:aws:iam::" + account + ":root" }

type credential struct {
	principal Principal
	secret    []byte
	active    bool
}

// Directory finds the principal and secret behind an access key id. Secrets
// are stored wrapped under the root key and cached unwrapped in memory. It
// is safe for concurrent use.
type Directory struct {
	store store.Store
	root  *keyring.Root
	rand  io.Reader
	now   func() time.Time

	mu    sync.RWMutex
	creds map[string]*credential // nil entry: known not to exist
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
		if c.PrincipalARN == RootARN(account) && c.Status == "Active" {
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
	wrapped, err := d.root.Wrap(d.rand, secret, secretAAD(accessKeyID))
	if err != nil {
		return fmt.Errorf("iam: wrap secret: %w", err)
	}
	c := store.Credential{
		AccessKeyID:   accessKeyID,
		AccountID:     account,
		PrincipalARN:  RootARN(account),
		WrappedSecret: wrapped,
		Status:        "Active",
		CreatedAt:     d.now().UTC(),
	}
	err = d.store.Update(ctx, func(tx store.Tx) error {
		old, err := tx.GetCredential(accessKeyID)
		switch {
		case errors.Is(err, store.ErrNotFound):
			return tx.InsertCredential(c)
		case err != nil:
			return err
		}
		if old.AccountID != account {
			return fmt.Errorf("iam: access key %s belongs to another account", accessKeyID)
		}
		c.CreatedAt = old.CreatedAt
		return tx.UpdateCredential(c)
	})
	if err != nil {
		return fmt.Errorf("iam: put root credentials: %w", err)
	}
	d.mu.Lock()
	delete(d.creds, accessKeyID)
	d.mu.Unlock()
	return nil
}

// Lookup returns the secret and principal of an active access key.
// ok is false for an unknown or inactive key; err reports a store failure.
func (d *Directory) Lookup(ctx context.Context, accessKeyID string) (secret []byte, p Principal, ok bool, err error) {
	d.mu.RLock()
	c, cached := d.creds[accessKeyID]
	d.mu.RUnlock()
	if !cached {
		if c, err = d.load(ctx, accessKeyID); err != nil {
			return nil, Principal{}, false, err
		}
		d.mu.Lock()
		if len(d.creds) > 100_000 {
			clear(d.creds)
		}
		d.creds[accessKeyID] = c
		d.mu.Unlock()
	}
	if c == nil || !c.active {
		return nil, Principal{}, false, nil
	}
	return c.secret, c.principal, true, nil
}

// Resolve returns the principal an authenticated request's access key and
// session token prove. It returns AWS's errors: UnrecognizedClientException
// for an unknown or inactive key or a token that does not belong to it,
// ExpiredTokenException for an expired session.
func (d *Directory) Resolve(ctx context.Context, accessKeyID, sessionToken string) (Principal, error) {
	_, p, ok, err := d.Lookup(ctx, accessKeyID)
	if err != nil {
		return Principal{}, err
	}
	if !ok || sessionToken != p.SessionToken {
		return Principal{}, awsproto.Errorf("UnrecognizedClientException", "The security token included in the request is invalid.")
	}
	return p, nil
}

func (d *Directory) load(ctx context.Context, accessKeyID string) (*credential, error) {
	var sc store.Credential
	err := d.store.View(ctx, func(tx store.Tx) error {
		var err error
		sc, err = tx.GetCredential(accessKeyID)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("iam: load credential: %w", err)
	}
	secret, err := d.root.Unwrap(sc.WrappedSecret, secretAAD(accessKeyID))
	if err != nil {
		return nil, fmt.Errorf("iam: unwrap secret of %s: %w", accessKeyID, err)
	}
	p := Principal{AccountID: sc.AccountID, ARN: sc.PrincipalARN, AccessKeyID: accessKeyID}
	if sc.PrincipalARN == RootARN(sc.AccountID) {
		p.Type, p.UserID = TypeRoot, sc.AccountID
	}
	return &credential{principal: p, secret: secret.Bytes(), active: sc.Status == "Active"}, nil
}

// NewAccessKey returns a new access key id ("AKIA" and 16 base32
// characters, AWS's shape) and a 40-character secret access key.
func NewAccessKey(rnd io.Reader) (string, []byte, error) {
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
	return "AKIA" + base32.StdEncoding.EncodeToString(id[:]), secret, nil
}
