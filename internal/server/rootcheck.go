package server

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/custoskms/custos/internal/keyring"
	"github.com/custoskms/custos/internal/store"
)

// The root key check is a document of the store: 32 random bytes wrapped
// under the root key, with rootCheckAAD as additional data. The first start
// on a store writes it; every later start, on any node, must unwrap it.
const (
	rootCheckKind = "custos/root-key-check"
	rootCheckName = "root-key"
)

var rootCheckAAD = []byte("custos root key check v1")

// errRootKeyMismatch is wrapped by New's error when the root key does not
// unwrap the store's check value.
var errRootKeyMismatch = errors.New("server: the root key is not the one this store's keys are wrapped under")

// checkRootKey makes sure that root is the key the store's secrets are
// wrapped under. A node started with a root key of its own (a second node
// whose root.key was not copied from the first) then refuses to start,
// instead of failing every request that touches key material.
func (s *Server) checkRootKey(ctx context.Context, st store.Store, root *keyring.Root) error {
	var wrapped []byte
	err := st.Update(ctx, func(tx store.Tx) error {
		d, err := tx.GetDocument(rootCheckKind, "", rootCheckName)
		if err == nil {
			wrapped = d.Body
			return nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		check := make([]byte, 32)
		if _, err := rand.Read(check); err != nil {
			return err
		}
		if wrapped, err = root.Wrap(rand.Reader, check, rootCheckAAD); err != nil {
			return err
		}
		return tx.InsertDocument(store.Document{Kind: rootCheckKind, Name: rootCheckName, Body: wrapped, UpdatedAt: s.cfg.Now()})
	})
	if err != nil {
		return fmt.Errorf("server: root key check: %w", err)
	}
	if _, err := root.Unwrap(wrapped, rootCheckAAD); err != nil {
		return fmt.Errorf("%w: copy %s from a node that serves this store (Unwrap: %w)",
			errRootKeyMismatch, filepath.Join(s.cfg.DataDir, "root.key"), err)
	}
	return nil
}
