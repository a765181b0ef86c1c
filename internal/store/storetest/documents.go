package storetest

import (
	"errors"
	"testing"

	"github.com/custoskms/custos/internal/store"
)

func testDocuments(t *testing.T, s store.Store) {
	doc := func(kind, account, name, body string) store.Document {
		return store.Document{Kind: kind, AccountID: account, Name: name, Body: []byte(body), UpdatedAt: at(day)}
	}
	update(t, s, func(tx store.Tx) error {
		for _, d := range []store.Document{
			doc("iam/user", acct1, "bob", `{"n":1}`),
			doc("iam/user", acct1, "alice", `{}`),
			doc("iam/user", acct2, "carol", `{}`),
			doc("iam/role", acct1, "bob", `{"role":true}`),
		} {
			if err := tx.InsertDocument(d); err != nil {
				t.Fatalf("InsertDocument(%s/%s/%s) = %v", d.Kind, d.AccountID, d.Name, err)
			}
		}
		if err := tx.InsertDocument(doc("iam/user", acct1, "bob", `{}`)); !errors.Is(err, store.ErrExists) {
			t.Errorf("InsertDocument of an existing document = %v, want ErrExists", err)
		}
		return nil
	})
	view(t, s, func(tx store.Tx) error {
		d, err := tx.GetDocument("iam/user", acct1, "bob")
		if err != nil || string(d.Body) != `{"n":1}` || d.Version != 1 || !d.UpdatedAt.Equal(at(day)) {
			t.Errorf("GetDocument = %+v, %v", d, err)
		}
		if _, err := tx.GetDocument("iam/user", acct2, "bob"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("GetDocument of another account's name = %v, want ErrNotFound", err)
		}
		names := func(ds []store.Document) []string {
			var out []string
			for _, d := range ds {
				out = append(out, d.AccountID+"/"+d.Name)
			}
			return out
		}
		for _, tc := range []struct {
			name             string
			kind, acct, from string
			limit            int
			want             []string
		}{
			{"one account", "iam/user", acct1, "", 0, []string{acct1 + "/alice", acct1 + "/bob"}},
			{"after", "iam/user", acct1, "alice", 0, []string{acct1 + "/bob"}},
			{"limit", "iam/user", acct1, "", 1, []string{acct1 + "/alice"}},
			{"every account", "iam/user", "", "", 0, []string{acct1 + "/alice", acct1 + "/bob", acct2 + "/carol"}},
			{"other kind", "iam/role", acct1, "", 0, []string{acct1 + "/bob"}},
		} {
			got, err := tx.ListDocuments(tc.kind, tc.acct, tc.from, tc.limit)
			if err != nil {
				t.Errorf("%s: ListDocuments = %v", tc.name, err)
				continue
			}
			if d := diff(tc.want, names(got)); d != "" {
				t.Errorf("%s: ListDocuments mismatch (-want +got):\n%s", tc.name, d)
			}
		}
		if err := tx.InsertDocument(doc("x", acct1, "y", "")); err == nil {
			t.Error("InsertDocument inside View succeeded")
		}
		return nil
	})
	update(t, s, func(tx store.Tx) error {
		d, err := tx.GetDocument("iam/user", acct1, "bob")
		if err != nil {
			return err
		}
		d.Body = []byte(`{"n":2}`)
		got, err := tx.UpdateDocument(d)
		if err != nil || got.Version != 2 || string(got.Body) != `{"n":2}` {
			t.Errorf("UpdateDocument = %+v, %v", got, err)
		}
		if _, err := tx.UpdateDocument(d); !errors.Is(err, store.ErrConflict) {
			t.Errorf("UpdateDocument with a stale version = %v, want ErrConflict", err)
		}
		if _, err := tx.UpdateDocument(doc("iam/user", acct1, "nobody", "")); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("UpdateDocument of a missing document = %v, want ErrNotFound", err)
		}
		if err := tx.DeleteDocument("iam/user", acct1, "alice"); err != nil {
			t.Errorf("DeleteDocument = %v", err)
		}
		if err := tx.DeleteDocument("iam/user", acct1, "alice"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("DeleteDocument twice = %v, want ErrNotFound", err)
		}
		return nil
	})
}
