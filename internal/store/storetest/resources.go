package storetest

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/custoskms/custos/internal/store"
)

func materialID(c byte) string { return strings.Repeat(string(c), 64) }

func testMaterials(t *testing.T, s store.Store) {
	k := newKey(acct1, reg1, "mat")
	other := newKey(acct1, reg1, "mat-other")
	insertKeys(t, s, k, other)
	// Inserted out of order; Materials orders by CreatedAt then ID.
	late := store.Material{KeyARN: k.ARN, ID: materialID('b'), Wrapped: []byte{0x00, 0xff, 0x10, 0x00}, CreatedAt: at(2 * day), State: "CURRENT"}
	early := store.Material{KeyARN: k.ARN, ID: materialID('c'), Wrapped: []byte("wrapped-early"), CreatedAt: at(day), State: "NON_CURRENT"}
	lateTie := store.Material{KeyARN: k.ARN, ID: materialID('a'), Wrapped: []byte("wrapped-tie"), CreatedAt: at(2 * day), State: "NON_CURRENT"}
	sameID := store.Material{KeyARN: other.ARN, ID: materialID('b'), Wrapped: []byte("other key"), CreatedAt: at(0), State: "CURRENT"}
	update(t, s, func(tx store.Tx) error {
		for _, m := range []store.Material{late, early, lateTie, sameID} {
			if err := tx.InsertMaterial(m); err != nil {
				return err
			}
		}
		return nil
	})

	view(t, s, func(tx store.Tx) error {
		got, err := tx.Materials(k.ARN)
		if err != nil {
			t.Errorf("Materials = %v", err)
		} else if d := cmp.Diff([]store.Material{early, lateTie, late}, got); d != "" {
			t.Errorf("Materials(%q) mismatch (-want +got):\n%s", k.ARN, d)
		}
		for _, m := range got {
			checkUTC(t, "Materials", m.CreatedAt)
		}
		if got, err := tx.Materials(other.ARN); err != nil || len(got) != 1 {
			t.Errorf("Materials(other) = %v, %v, want 1", got, err)
		}
		if got, err := tx.Materials(keyARN(acct1, reg1, "absent")); err != nil || len(got) != 0 {
			t.Errorf("Materials(absent key) = %v, %v, want none", got, err)
		}
		return nil
	})

	dup := late
	dup.Wrapped = []byte("different")
	err := s.Update(t.Context(), func(tx store.Tx) error { return tx.InsertMaterial(dup) })
	wantErr(t, "InsertMaterial(duplicate)", err, store.ErrExists)

	orphan := store.Material{KeyARN: keyARN(acct1, reg1, "absent"), ID: materialID('d'), Wrapped: []byte{1}, State: "CURRENT"}
	err = s.Update(t.Context(), func(tx store.Tx) error { return tx.InsertMaterial(orphan) })
	wantErr(t, "InsertMaterial(absent key)", err, store.ErrNotFound)

	changed := late
	changed.State, changed.Wrapped, changed.CreatedAt = "NON_CURRENT", []byte("rewrapped"), at(3*day)
	update(t, s, func(tx store.Tx) error { return tx.UpdateMaterial(changed) })
	view(t, s, func(tx store.Tx) error {
		got, err := tx.Materials(k.ARN)
		if err != nil {
			return err
		}
		if d := cmp.Diff([]store.Material{early, lateTie, changed}, got); d != "" {
			t.Errorf("Materials after UpdateMaterial mismatch (-want +got):\n%s", d)
		}
		return nil
	})
	missing := late
	missing.ID = materialID('e')
	err = s.Update(t.Context(), func(tx store.Tx) error { return tx.UpdateMaterial(missing) })
	wantErr(t, "UpdateMaterial(absent)", err, store.ErrNotFound)
}

func testAliases(t *testing.T, s store.Store) {
	a := store.Alias{AccountID: acct1, Region: reg1, Name: "alias/one", TargetKeyID: "k1", CreatedAt: at(0), UpdatedAt: at(time.Hour)}
	update(t, s, func(tx store.Tx) error { return tx.InsertAlias(a) })
	getAlias := func(accountID, region, name string) (store.Alias, error) {
		var got store.Alias
		err := s.View(t.Context(), func(tx store.Tx) error {
			var err error
			got, err = tx.GetAlias(accountID, region, name)
			return err
		})
		return got, err
	}
	got, err := getAlias(acct1, reg1, "alias/one")
	if err != nil {
		t.Fatalf("GetAlias = %v", err)
	}
	if d := cmp.Diff(a, got); d != "" {
		t.Errorf("GetAlias mismatch (-want +got):\n%s", d)
	}
	checkUTC(t, "GetAlias", got.CreatedAt, got.UpdatedAt)

	dup := a
	dup.TargetKeyID = "k2"
	err = s.Update(t.Context(), func(tx store.Tx) error { return tx.InsertAlias(dup) })
	wantErr(t, "InsertAlias(duplicate)", err, store.ErrExists)

	// The same name elsewhere is another alias.
	elsewhere := []store.Alias{
		{AccountID: acct1, Region: reg2, Name: "alias/one", TargetKeyID: "k9"},
		{AccountID: acct2, Region: reg1, Name: "alias/one", TargetKeyID: "k8"},
	}
	update(t, s, func(tx store.Tx) error {
		for _, e := range elsewhere {
			if err := tx.InsertAlias(e); err != nil {
				return err
			}
		}
		return nil
	})

	moved := a
	moved.TargetKeyID = "k2"
	moved.UpdatedAt = at(day)
	moved.CreatedAt = at(5 * day) // ignored: CreatedAt never changes
	update(t, s, func(tx store.Tx) error { return tx.UpdateAlias(moved) })
	want := moved
	want.CreatedAt = a.CreatedAt
	if got, err := getAlias(acct1, reg1, "alias/one"); err != nil || !cmp.Equal(want, got) {
		t.Errorf("GetAlias after UpdateAlias = %+v, %v, want %+v", got, err, want)
	}
	for _, e := range elsewhere {
		if got, err := getAlias(e.AccountID, e.Region, e.Name); err != nil || !cmp.Equal(e, got) {
			t.Errorf("GetAlias(%s %s) = %+v, %v, want %+v", e.AccountID, e.Region, got, err, e)
		}
	}

	absent := store.Alias{AccountID: acct1, Region: reg1, Name: "alias/absent", TargetKeyID: "k1"}
	err = s.Update(t.Context(), func(tx store.Tx) error { return tx.UpdateAlias(absent) })
	wantErr(t, "UpdateAlias(absent)", err, store.ErrNotFound)
	_, err = getAlias(acct1, reg1, "alias/absent")
	wantErr(t, "GetAlias(absent)", err, store.ErrNotFound)

	update(t, s, func(tx store.Tx) error { return tx.DeleteAlias(acct1, reg1, "alias/one") })
	_, err = getAlias(acct1, reg1, "alias/one")
	wantErr(t, "GetAlias(deleted)", err, store.ErrNotFound)
	err = s.Update(t.Context(), func(tx store.Tx) error { return tx.DeleteAlias(acct1, reg1, "alias/one") })
	wantErr(t, "DeleteAlias(deleted)", err, store.ErrNotFound)
	for _, e := range elsewhere {
		if _, err := getAlias(e.AccountID, e.Region, e.Name); err != nil {
			t.Errorf("GetAlias(%s %s) after deleting the one in %s %s = %v, want kept", e.AccountID, e.Region, acct1, reg1, err)
		}
	}
}

func testListAliases(t *testing.T, s store.Store) {
	mk := func(account, region, name, target string) store.Alias {
		return store.Alias{AccountID: account, Region: region, Name: name, TargetKeyID: target, CreatedAt: at(0), UpdatedAt: at(0)}
	}
	// Byte order: "alias/B" < "alias/D" < "alias/a" < "alias/c" < ... < "alias/é".
	mine := []store.Alias{
		mk(acct1, reg1, "alias/a", "k1"),
		mk(acct1, reg1, "alias/B", "k2"),
		mk(acct1, reg1, "alias/c", "k1"),
		mk(acct1, reg1, "alias/é", "k2"),
		mk(acct1, reg1, "alias/e", "k1"),
		mk(acct1, reg1, "alias/D", "k1"),
	}
	update(t, s, func(tx store.Tx) error {
		for _, a := range append(mine, mk(acct1, reg2, "alias/a", "k1"), mk(acct2, reg1, "alias/x", "k1")) {
			if err := tx.InsertAlias(a); err != nil {
				return err
			}
		}
		return nil
	})
	aB, aa, ac, aé, ae, aD := mine[1], mine[0], mine[2], mine[3], mine[4], mine[5]
	tests := []struct {
		name                           string
		account, region, target, after string
		limit                          int
		want                           []store.Alias
	}{
		{"all", acct1, reg1, "", "", 0, []store.Alias{aB, aD, aa, ac, ae, aé}},
		{"first page", acct1, reg1, "", "", 3, []store.Alias{aB, aD, aa}},
		{"next page", acct1, reg1, "", "alias/a", 2, []store.Alias{ac, ae}},
		{"last page", acct1, reg1, "", "alias/e", 2, []store.Alias{aé}},
		{"after all", acct1, reg1, "", "alias/é", 2, nil},
		{"by target", acct1, reg1, "k1", "", 0, []store.Alias{aD, aa, ac, ae}},
		{"by target paged", acct1, reg1, "k1", "alias/a", 1, []store.Alias{ac}},
		{"by target first page", acct1, reg1, "k1", "", 2, []store.Alias{aD, aa}},
		{"by other target", acct1, reg1, "k2", "", 0, []store.Alias{aB, aé}},
		{"unknown target", acct1, reg1, "k3", "", 0, nil},
		{"other Region", acct1, reg2, "", "", 0, []store.Alias{mk(acct1, reg2, "alias/a", "k1")}},
		{"other account by target", acct2, reg1, "k1", "", 0, []store.Alias{mk(acct2, reg1, "alias/x", "k1")}},
	}
	counts := []struct {
		account, region, target string
		want                    int
	}{
		{acct1, reg1, "", 6},
		{acct1, reg1, "k1", 4},
		{acct1, reg1, "k2", 2},
		{acct1, reg1, "k3", 0},
		{acct1, reg2, "k1", 1},
		{acct2, reg2, "", 0},
	}
	view(t, s, func(tx store.Tx) error {
		for _, tc := range tests {
			got, err := tx.ListAliases(tc.account, tc.region, tc.target, tc.after, tc.limit)
			if err != nil {
				t.Errorf("%s: ListAliases = %v", tc.name, err)
				continue
			}
			if d := diff(tc.want, got); d != "" {
				t.Errorf("%s: ListAliases(%q, %q, %q, %q, %d) mismatch (-want +got):\n%s",
					tc.name, tc.account, tc.region, tc.target, tc.after, tc.limit, d)
			}
		}
		for _, c := range counts {
			if got, err := tx.CountAliases(c.account, c.region, c.target); err != nil || got != c.want {
				t.Errorf("CountAliases(%q, %q, %q) = %d, %v, want %d", c.account, c.region, c.target, got, err, c.want)
			}
		}
		return nil
	})
}

func testTags(t *testing.T, s store.Store) {
	k := newKey(acct1, reg1, "tagged")
	other := newKey(acct1, reg1, "other")
	insertKeys(t, s, k, other)
	tags := func(arn string) []store.Tag {
		t.Helper()
		var got []store.Tag
		view(t, s, func(tx store.Tx) error {
			var err error
			got, err = tx.Tags(arn)
			return err
		})
		return got
	}

	update(t, s, func(tx store.Tx) error {
		if err := tx.PutTags(k.ARN, tagsOf("b", "1", "A", "2", "é", "3", "a", "4", "empty", "", "B", "5")); err != nil {
			return err
		}
		return tx.PutTags(other.ARN, tagsOf("b", "other"))
	})
	want := tagsOf("A", "2", "B", "5", "a", "4", "b", "1", "empty", "", "é", "3")
	if d := diff(want, tags(k.ARN)); d != "" {
		t.Errorf("Tags after PutTags mismatch (-want +got):\n%s", d)
	}

	update(t, s, func(tx store.Tx) error {
		return tx.PutTags(k.ARN, tagsOf("b", "replaced", "c", "first", "c", "last"))
	})
	want = tagsOf("A", "2", "B", "5", "a", "4", "b", "replaced", "c", "last", "empty", "", "é", "3")
	if d := diff(want, tags(k.ARN)); d != "" {
		t.Errorf("Tags after upsert mismatch (-want +got):\n%s", d)
	}

	update(t, s, func(tx store.Tx) error {
		if err := tx.DeleteTags(k.ARN, []string{"a", "missing", "empty"}); err != nil {
			return err
		}
		if err := tx.DeleteTags(k.ARN, nil); err != nil {
			return err
		}
		return tx.PutTags(k.ARN, nil)
	})
	want = tagsOf("A", "2", "B", "5", "b", "replaced", "c", "last", "é", "3")
	if d := diff(want, tags(k.ARN)); d != "" {
		t.Errorf("Tags after DeleteTags mismatch (-want +got):\n%s", d)
	}
	if d := diff(tagsOf("b", "other"), tags(other.ARN)); d != "" {
		t.Errorf("Tags of the other key mismatch (-want +got):\n%s", d)
	}
	if got := tags(keyARN(acct1, reg1, "absent")); len(got) != 0 {
		t.Errorf("Tags(absent key) = %v, want none", got)
	}
	err := s.Update(t.Context(), func(tx store.Tx) error {
		return tx.PutTags(keyARN(acct1, reg1, "absent"), tagsOf("a", "b"))
	})
	wantErr(t, "PutTags(absent key)", err, store.ErrNotFound)
	err = s.Update(t.Context(), func(tx store.Tx) error {
		return tx.DeleteTags(keyARN(acct1, reg1, "absent"), []string{"a"})
	})
	if err != nil {
		t.Errorf("DeleteTags(absent key) = %v, want nil", err)
	}
}

func testAccounts(t *testing.T, s store.Store) {
	accounts := []store.Account{{ID: acct1, CreatedAt: at(0)}, {ID: acct2}}
	update(t, s, func(tx store.Tx) error {
		for _, a := range accounts {
			if err := tx.InsertAccount(a); err != nil {
				return err
			}
		}
		return nil
	})
	view(t, s, func(tx store.Tx) error {
		for _, want := range accounts {
			got, err := tx.GetAccount(want.ID)
			if err != nil || !cmp.Equal(want, got) {
				t.Errorf("GetAccount(%q) = %+v, %v, want %+v", want.ID, got, err, want)
			}
			checkUTC(t, "GetAccount", got.CreatedAt)
		}
		_, err := tx.GetAccount("333333333333")
		wantErr(t, "GetAccount(absent)", err, store.ErrNotFound)
		return nil
	})
	err := s.Update(t.Context(), func(tx store.Tx) error { return tx.InsertAccount(store.Account{ID: acct1, CreatedAt: at(day)}) })
	wantErr(t, "InsertAccount(duplicate)", err, store.ErrExists)
}

func testCredentials(t *testing.T, s store.Store) {
	c1 := store.Credential{AccessKeyID: "AKIAEXAMPLE2", AccountID: acct1, PrincipalARN: "arn:aws:iam::" + acct1 + ":user/alice",
		WrappedSecret: []byte{0x01, 0x00, 0xfe}, Status: "Active", CreatedAt: at(0)}
	c2 := store.Credential{AccessKeyID: "AKIAEXAMPLE1", AccountID: acct1, PrincipalARN: "arn:aws:iam::" + acct1 + ":root",
		WrappedSecret: []byte("wrapped-2"), Status: "Inactive", CreatedAt: at(day)}
	c3 := store.Credential{AccessKeyID: "AKIAEXAMPLE3", AccountID: acct2, PrincipalARN: "arn:aws:iam::" + acct2 + ":root",
		WrappedSecret: []byte("wrapped-3"), Status: "Active"}
	update(t, s, func(tx store.Tx) error {
		for _, c := range []store.Credential{c1, c2, c3} {
			if err := tx.InsertCredential(c); err != nil {
				return err
			}
		}
		return nil
	})
	list := func(account string) []store.Credential {
		t.Helper()
		var got []store.Credential
		view(t, s, func(tx store.Tx) error {
			var err error
			got, err = tx.ListCredentials(account)
			return err
		})
		return got
	}
	get := func(id string) (store.Credential, error) {
		var got store.Credential
		err := s.View(t.Context(), func(tx store.Tx) error {
			var err error
			got, err = tx.GetCredential(id)
			return err
		})
		return got, err
	}

	if got, err := get(c1.AccessKeyID); err != nil || !cmp.Equal(c1, got) {
		t.Errorf("GetCredential(%q) = %+v, %v, want %+v", c1.AccessKeyID, got, err, c1)
	} else {
		checkUTC(t, "GetCredential", got.CreatedAt)
	}
	if d := diff([]store.Credential{c2, c1}, list(acct1)); d != "" {
		t.Errorf("ListCredentials(%q) mismatch (-want +got):\n%s", acct1, d)
	}
	if d := diff([]store.Credential{c3}, list(acct2)); d != "" {
		t.Errorf("ListCredentials(%q) mismatch (-want +got):\n%s", acct2, d)
	}
	if got := list("333333333333"); len(got) != 0 {
		t.Errorf("ListCredentials(absent) = %v, want none", got)
	}

	dup := c1
	dup.AccountID = acct2
	err := s.Update(t.Context(), func(tx store.Tx) error { return tx.InsertCredential(dup) })
	wantErr(t, "InsertCredential(duplicate)", err, store.ErrExists)

	changed := c1
	changed.Status, changed.WrappedSecret, changed.PrincipalARN = "Inactive", []byte("rewrapped"), "arn:aws:iam::"+acct1+":user/bob"
	update(t, s, func(tx store.Tx) error { return tx.UpdateCredential(changed) })
	if got, err := get(c1.AccessKeyID); err != nil || !cmp.Equal(changed, got) {
		t.Errorf("GetCredential after UpdateCredential = %+v, %v, want %+v", got, err, changed)
	}
	absent := c1
	absent.AccessKeyID = "AKIAABSENT"
	err = s.Update(t.Context(), func(tx store.Tx) error { return tx.UpdateCredential(absent) })
	wantErr(t, "UpdateCredential(absent)", err, store.ErrNotFound)

	update(t, s, func(tx store.Tx) error { return tx.DeleteCredential(c1.AccessKeyID) })
	_, err = get(c1.AccessKeyID)
	wantErr(t, "GetCredential(deleted)", err, store.ErrNotFound)
	err = s.Update(t.Context(), func(tx store.Tx) error { return tx.DeleteCredential(c1.AccessKeyID) })
	wantErr(t, "DeleteCredential(deleted)", err, store.ErrNotFound)
	if d := diff([]store.Credential{c2}, list(acct1)); d != "" {
		t.Errorf("ListCredentials after delete mismatch (-want +got):\n%s", d)
	}
}
