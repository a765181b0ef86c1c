package storetest

import (
	"errors"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/custoskms/custos/internal/store"
)

// fullKey returns a key with every field non-zero.
func fullKey() store.Key {
	k := newKey(acct1, reg1, "mrk-0123456789abcdef0123456789abcdef")
	k.Description = "Ünïcode déscription, \"quoted\", 'single', \\ and 中文"
	k.KeySpec = "ECC_NIST_P256"
	k.KeyUsage = "SIGN_VERIFY"
	k.Origin = "EXTERNAL"
	k.State = "PendingDeletion"
	k.DeletionDate = at(7 * day)
	k.PendingWindowDays = 7
	k.MultiRegion = true
	k.MultiRegionKeyType = "PRIMARY"
	k.PrimaryRegion = reg1
	k.Policy = "{\n  \"Version\" : \"2012-10-17\",\n  \"Statement\" : [ ]\n}\n"
	k.RotationEnabled = true
	k.RotationPeriodDays = 90
	k.NextRotation = at(90 * day)
	k.Version = 42 // ignored by InsertKey
	return k
}

func testKeyRoundTrip(t *testing.T, s store.Store) {
	k := fullKey()
	want := stored(k)[0]
	update(t, s, func(tx store.Tx) error {
		if err := tx.InsertKey(k); err != nil {
			return err
		}
		got, err := tx.GetKey(k.ARN)
		if err != nil {
			t.Errorf("GetKey in the inserting transaction: %v", err)
		} else if d := cmp.Diff(want, got); d != "" {
			t.Errorf("GetKey in the inserting transaction: mismatch (-want +got):\n%s", d)
		}
		return nil
	})
	got := getKey(t, s, k.ARN)
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("GetKey(%q) mismatch (-want +got):\n%s", k.ARN, d)
	}
	checkUTC(t, "GetKey", got.CreatedAt, got.DeletionDate, got.NextRotation)
}

func testKeyZeroTimes(t *testing.T, s store.Store) {
	k := newKey(acct1, reg1, "zero")
	k.CreatedAt = time.Time{}
	insertKeys(t, s, k)
	got := getKey(t, s, k.ARN)
	for name, tm := range map[string]time.Time{
		"CreatedAt": got.CreatedAt, "DeletionDate": got.DeletionDate, "NextRotation": got.NextRotation,
	} {
		if !tm.IsZero() {
			t.Errorf("GetKey: %s = %v, want the zero time", name, tm)
		}
	}
}

func testTimePrecision(t *testing.T, s store.Store) {
	zone := time.FixedZone("UTC+5:30", 5*3600+1800)
	tests := []struct {
		name  string
		in    time.Time
		exact bool // whole milliseconds must round-trip exactly
	}{
		{"utc millis", at(0), true},
		{"other zone millis", time.Date(2024, 2, 29, 23, 59, 59, 999_000_000, zone), true},
		{"nanoseconds", time.Date(2025, 1, 2, 3, 4, 5, 123_456_789, time.UTC), false},
		{"nanoseconds other zone", time.Date(2025, 1, 2, 3, 4, 5, 987_654_321, zone), false},
		{"epoch", time.Unix(0, 0), true},
		{"before epoch", time.Date(1969, 7, 20, 20, 17, 40, 0, time.UTC), true},
		{"far future", time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC), true},
		{"monotonic clock reading", time.Now(), false},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			k := newKey(acct1, reg1, "time-"+string(rune('a'+i)))
			k.CreatedAt, k.DeletionDate, k.NextRotation = tc.in, tc.in, tc.in
			insertKeys(t, s, k)
			got := getKey(t, s, k.ARN)
			checkUTC(t, "GetKey", got.CreatedAt, got.DeletionDate, got.NextRotation)
			for name, tm := range map[string]time.Time{
				"CreatedAt": got.CreatedAt, "DeletionDate": got.DeletionDate, "NextRotation": got.NextRotation,
			} {
				d := tm.Sub(tc.in)
				if tc.exact && d != 0 || d <= -time.Millisecond || d >= time.Millisecond {
					t.Errorf("GetKey: %s = %v, want %v", name, tm, tc.in)
				}
			}
		})
	}
}

func testInsertKeyExists(t *testing.T, s store.Store) {
	k := newKey(acct1, reg1, "dup")
	insertKeys(t, s, k)
	k2 := k
	k2.Description = "second"
	err := s.Update(t.Context(), func(tx store.Tx) error { return tx.InsertKey(k2) })
	wantErr(t, "InsertKey(existing)", err, store.ErrExists)
	if got := getKey(t, s, k.ARN); got.Description != k.Description {
		t.Errorf("after failed InsertKey: Description = %q, want %q", got.Description, k.Description)
	}
}

func testGetKeyNotFound(t *testing.T, s store.Store) {
	insertKeys(t, s, newKey(acct1, reg1, "present"))
	for _, arn := range []string{keyARN(acct1, reg1, "absent"), keyARN(acct1, reg2, "present"), ""} {
		err := s.View(t.Context(), func(tx store.Tx) error {
			_, err := tx.GetKey(arn)
			return err
		})
		wantErr(t, "GetKey("+arn+")", err, store.ErrNotFound)
	}
}

func testUpdateKey(t *testing.T, s store.Store) {
	k := newKey(acct1, reg1, "upd")
	insertKeys(t, s, k)

	changed := fullKey() // every mutable field differs from k
	changed.ARN = k.ARN
	changed.Version = 1
	// Immutable fields; UpdateKey must ignore these.
	changed.AccountID, changed.Region, changed.ID = acct2, reg2, "other"
	changed.CreatedAt = at(-day)

	want := changed
	want.AccountID, want.Region, want.ID, want.CreatedAt = k.AccountID, k.Region, k.ID, k.CreatedAt
	want.Version = 2

	var got store.Key
	update(t, s, func(tx store.Tx) error {
		var err error
		got, err = tx.UpdateKey(changed)
		return err
	})
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("UpdateKey returned mismatch (-want +got):\n%s", d)
	}
	checkUTC(t, "UpdateKey", got.CreatedAt, got.DeletionDate, got.NextRotation)
	if d := cmp.Diff(want, getKey(t, s, k.ARN)); d != "" {
		t.Errorf("GetKey after UpdateKey mismatch (-want +got):\n%s", d)
	}

	// Back to zero times and false booleans, twice in one transaction.
	update(t, s, func(tx store.Tx) error {
		back := k
		back.Version = 2
		got, err := tx.UpdateKey(back)
		if err != nil {
			return err
		}
		got.Description = "again"
		got, err = tx.UpdateKey(got)
		if err != nil {
			return err
		}
		if got.Version != 4 {
			t.Errorf("second UpdateKey in one transaction: Version = %d, want 4", got.Version)
		}
		return nil
	})
	want = k
	want.Description = "again"
	want.Version = 4
	if d := cmp.Diff(want, getKey(t, s, k.ARN)); d != "" {
		t.Errorf("GetKey after two UpdateKeys mismatch (-want +got):\n%s", d)
	}
}

func testUpdateKeyConflict(t *testing.T, s store.Store) {
	k := newKey(acct1, reg1, "conflict")
	insertKeys(t, s, k)
	first := stored(k)[0]
	first.Description = "first writer"
	update(t, s, func(tx store.Tx) error {
		_, err := tx.UpdateKey(first)
		return err
	})
	for _, version := range []int64{0, 1, 3, -1} {
		stale := first
		stale.Description = "stale writer"
		stale.Version = version
		err := s.Update(t.Context(), func(tx store.Tx) error {
			_, err := tx.UpdateKey(stale)
			return err
		})
		wantErr(t, fmt.Sprintf("UpdateKey(Version %d)", version), err, store.ErrConflict)
	}
	got := getKey(t, s, k.ARN)
	if got.Description != "first writer" || got.Version != 2 {
		t.Errorf("after conflicts: Description, Version = %q, %d, want %q, 2", got.Description, got.Version, "first writer")
	}
}

func testUpdateKeyNotFound(t *testing.T, s store.Store) {
	k := stored(newKey(acct1, reg1, "absent"))[0]
	err := s.Update(t.Context(), func(tx store.Tx) error {
		_, err := tx.UpdateKey(k)
		return err
	})
	wantErr(t, "UpdateKey(absent)", err, store.ErrNotFound)
}

func testDeleteKeyCascade(t *testing.T, s store.Store) {
	const id = "1234abcd-12ab-34cd-56ef-1234567890ab"
	victim := newKey(acct1, reg1, id)
	other := newKey(acct1, reg1, "other")
	replica := newKey(acct1, reg2, id) // same id, other Region
	foreign := newKey(acct2, reg1, id) // same id, other account
	keys := []store.Key{victim, other, replica, foreign}
	aliases := []store.Alias{
		{AccountID: acct1, Region: reg1, Name: "alias/victim-1", TargetKeyID: id, CreatedAt: at(0), UpdatedAt: at(0)},
		{AccountID: acct1, Region: reg1, Name: "alias/victim-2", TargetKeyID: id, CreatedAt: at(0), UpdatedAt: at(0)},
		{AccountID: acct1, Region: reg1, Name: "alias/other", TargetKeyID: "other", CreatedAt: at(0), UpdatedAt: at(0)},
		{AccountID: acct1, Region: reg2, Name: "alias/victim-1", TargetKeyID: id, CreatedAt: at(0), UpdatedAt: at(0)},
		{AccountID: acct2, Region: reg1, Name: "alias/victim-1", TargetKeyID: id, CreatedAt: at(0), UpdatedAt: at(0)},
	}
	update(t, s, func(tx store.Tx) error {
		for i, k := range keys {
			if err := tx.InsertKey(k); err != nil {
				return err
			}
			m := store.Material{KeyARN: k.ARN, ID: k.CurrentMaterialID, Wrapped: []byte{byte(i), 1, 2}, CreatedAt: at(0), State: "CURRENT"}
			if err := tx.InsertMaterial(m); err != nil {
				return err
			}
			if err := tx.PutTags(k.ARN, []store.Tag{{Key: "owner", Value: k.ARN}}); err != nil {
				return err
			}
		}
		for _, a := range aliases {
			if err := tx.InsertAlias(a); err != nil {
				return err
			}
		}
		return nil
	})

	update(t, s, func(tx store.Tx) error { return tx.DeleteKey(victim.ARN) })

	view(t, s, func(tx store.Tx) error {
		if _, err := tx.GetKey(victim.ARN); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("GetKey(deleted) = %v, want %v", err, store.ErrNotFound)
		}
		if ms, err := tx.Materials(victim.ARN); err != nil || len(ms) != 0 {
			t.Errorf("Materials(deleted) = %v, %v, want none", ms, err)
		}
		if tags, err := tx.Tags(victim.ARN); err != nil || len(tags) != 0 {
			t.Errorf("Tags(deleted) = %v, %v, want none", tags, err)
		}
		for _, a := range aliases {
			_, err := tx.GetAlias(a.AccountID, a.Region, a.Name)
			gone := a.AccountID == acct1 && a.Region == reg1 && a.TargetKeyID == id
			switch {
			case gone && !errors.Is(err, store.ErrNotFound):
				t.Errorf("GetAlias(%s %s %s) = %v, want %v", a.AccountID, a.Region, a.Name, err, store.ErrNotFound)
			case !gone && err != nil:
				t.Errorf("GetAlias(%s %s %s) = %v, want kept", a.AccountID, a.Region, a.Name, err)
			}
		}
		for _, k := range keys[1:] {
			if _, err := tx.GetKey(k.ARN); err != nil {
				t.Errorf("GetKey(%q) = %v, want kept", k.ARN, err)
			}
			if ms, err := tx.Materials(k.ARN); err != nil || len(ms) != 1 {
				t.Errorf("Materials(%q) = %v, %v, want 1 kept", k.ARN, ms, err)
			}
			if tags, err := tx.Tags(k.ARN); err != nil || len(tags) != 1 {
				t.Errorf("Tags(%q) = %v, %v, want 1 kept", k.ARN, tags, err)
			}
		}
		return nil
	})
}

func testDeleteKeyNotFound(t *testing.T, s store.Store) {
	k := newKey(acct1, reg1, "once")
	insertKeys(t, s, k)
	update(t, s, func(tx store.Tx) error { return tx.DeleteKey(k.ARN) })
	err := s.Update(t.Context(), func(tx store.Tx) error { return tx.DeleteKey(k.ARN) })
	wantErr(t, "DeleteKey(deleted)", err, store.ErrNotFound)
}

func testReinsertAfterDelete(t *testing.T, s store.Store) {
	k := newKey(acct1, reg1, "phoenix")
	update(t, s, func(tx store.Tx) error {
		if err := tx.InsertKey(k); err != nil {
			return err
		}
		if err := tx.InsertMaterial(store.Material{KeyARN: k.ARN, ID: k.CurrentMaterialID, Wrapped: []byte{1}, CreatedAt: at(0), State: "CURRENT"}); err != nil {
			return err
		}
		if err := tx.PutTags(k.ARN, []store.Tag{{Key: "a", Value: "b"}}); err != nil {
			return err
		}
		u := stored(k)[0]
		u.Description = "changed"
		if _, err := tx.UpdateKey(u); err != nil {
			return err
		}
		return tx.DeleteKey(k.ARN)
	})
	insertKeys(t, s, k)
	if d := cmp.Diff(stored(k)[0], getKey(t, s, k.ARN)); d != "" {
		t.Errorf("GetKey(reinserted) mismatch (-want +got):\n%s", d)
	}
	view(t, s, func(tx store.Tx) error {
		if ms, err := tx.Materials(k.ARN); err != nil || len(ms) != 0 {
			t.Errorf("Materials(reinserted) = %v, %v, want none", ms, err)
		}
		if tags, err := tx.Tags(k.ARN); err != nil || len(tags) != 0 {
			t.Errorf("Tags(reinserted) = %v, %v, want none", tags, err)
		}
		return nil
	})
}

func testSameIDTwoRegions(t *testing.T, s store.Store) {
	const id = "mrk-00000000000000000000000000000001"
	primary := newKey(acct1, reg1, id)
	primary.MultiRegion, primary.MultiRegionKeyType, primary.PrimaryRegion = true, "PRIMARY", reg1
	replica := newKey(acct1, reg2, id)
	replica.MultiRegion, replica.MultiRegionKeyType, replica.PrimaryRegion = true, "REPLICA", reg1
	insertKeys(t, s, primary, replica)

	u := stored(replica)[0]
	u.State = "Disabled"
	update(t, s, func(tx store.Tx) error {
		_, err := tx.UpdateKey(u)
		return err
	})
	if got := getKey(t, s, primary.ARN); got.State != "Enabled" || got.Version != 1 {
		t.Errorf("primary after replica update: State, Version = %q, %d, want Enabled, 1", got.State, got.Version)
	}
	if got := getKey(t, s, replica.ARN); got.State != "Disabled" || got.Version != 2 {
		t.Errorf("replica after update: State, Version = %q, %d, want Disabled, 2", got.State, got.Version)
	}
	view(t, s, func(tx store.Tx) error {
		for _, k := range []store.Key{primary, replica} {
			got, err := tx.ListKeys(acct1, k.Region, "", 0)
			if err != nil || len(got) != 1 || got[0].ARN != k.ARN {
				t.Errorf("ListKeys(%s) = %v, %v, want only %s", k.Region, got, err, k.ARN)
			}
		}
		return nil
	})
}

func testListKeys(t *testing.T, s store.Store) {
	// Ids chosen so that byte order differs from case-insensitive or
	// locale order: "Z" < "a" < "mrk-" < "é".
	ids := []string{"e", "a", "mrk-1", "Z", "c", "é", "b"}
	var mine []store.Key
	for _, id := range ids {
		mine = append(mine, newKey(acct1, reg1, id))
	}
	insertKeys(t, s, mine...)
	insertKeys(t, s, newKey(acct1, reg2, "a"), newKey(acct2, reg1, "a"), newKey(acct2, reg1, "zz"))
	sort.Slice(mine, func(i, j int) bool { return mine[i].ARN < mine[j].ARN })
	all := stored(mine...)

	tests := []struct {
		name                   string
		account, region, after string
		limit                  int
		want                   []store.Key
	}{
		{"all, no limit", acct1, reg1, "", 0, all},
		{"all, negative limit", acct1, reg1, "", -1, all},
		{"first page", acct1, reg1, "", 3, all[:3]},
		{"middle page", acct1, reg1, all[2].ARN, 3, all[3:6]},
		{"last page", acct1, reg1, all[5].ARN, 3, all[6:]},
		{"after the last", acct1, reg1, all[6].ARN, 3, nil},
		{"after an absent ARN", acct1, reg1, keyARN(acct1, reg1, "b0"), 2, all[3:5]},
		{"after the ARN prefix", acct1, reg1, keyARN(acct1, reg1, ""), 1, all[:1]},
		{"limit above count", acct1, reg1, "", 1000, all},
		{"other Region", acct1, reg2, "", 0, stored(newKey(acct1, reg2, "a"))},
		{"other account", acct2, reg1, "", 0, stored(newKey(acct2, reg1, "a"), newKey(acct2, reg1, "zz"))},
		{"unknown account", "333333333333", reg1, "", 0, nil},
	}
	view(t, s, func(tx store.Tx) error {
		for _, tc := range tests {
			got, err := tx.ListKeys(tc.account, tc.region, tc.after, tc.limit)
			if err != nil {
				t.Errorf("%s: ListKeys = %v", tc.name, err)
				continue
			}
			if d := diff(tc.want, got); d != "" {
				t.Errorf("%s: ListKeys(%q, %q, %q, %d) mismatch (-want +got):\n%s",
					tc.name, tc.account, tc.region, tc.after, tc.limit, d)
			}
		}
		return nil
	})

	// Paging through with the last ARN of each page visits every key once.
	var paged []store.Key
	view(t, s, func(tx store.Tx) error {
		after := ""
		for range len(all) + 1 {
			page, err := tx.ListKeys(acct1, reg1, after, 2)
			if err != nil || len(page) == 0 {
				return err
			}
			paged = append(paged, page...)
			after = page[len(page)-1].ARN
		}
		return nil
	})
	if d := diff(all, paged); d != "" {
		t.Errorf("paging by 2 mismatch (-want +got):\n%s", d)
	}
}

func testKeysPendingDeletion(t *testing.T, s store.Store) {
	due := at(10 * day)
	pending := func(account, region, id string, when time.Time) store.Key {
		k := newKey(account, region, id)
		k.State, k.DeletionDate, k.PendingWindowDays = "PendingDeletion", when, 7
		return k
	}
	early := pending(acct2, reg2, "early", at(1*day))
	midB := pending(acct1, reg1, "mid-b", at(5*day))
	midA := pending(acct2, reg1, "mid-a", at(5*day)) // same date as midB: ARN decides
	onDue := pending(acct1, reg2, "on-due", due)
	late := pending(acct1, reg1, "late", due.Add(time.Millisecond))
	enabled := newKey(acct1, reg1, "enabled")
	enabled.DeletionDate = at(1 * day) // not PendingDeletion: ignored
	undated := pending(acct1, reg1, "undated", time.Time{})
	insertKeys(t, s, early, midB, midA, onDue, late, enabled, undated)

	mid := stored(midB, midA)
	if mid[1].ARN < mid[0].ARN {
		mid[0], mid[1] = mid[1], mid[0]
	}
	all := append(append(stored(early), mid...), stored(onDue)...)

	tests := []struct {
		name  string
		due   time.Time
		limit int
		want  []store.Key
	}{
		{"all due", due, 0, all},
		{"limit", due, 2, all[:2]},
		{"limit above count", due, 100, all},
		{"nothing due yet", at(0), 0, nil},
		{"exactly on the first date", at(1 * day), 0, all[:1]},
		{"zero due", time.Time{}, 0, nil},
		{"later", due.Add(time.Hour), 0, append(append([]store.Key{}, all...), stored(late)...)},
	}
	view(t, s, func(tx store.Tx) error {
		for _, tc := range tests {
			got, err := tx.KeysPendingDeletion(tc.due, tc.limit)
			if err != nil {
				t.Errorf("%s: KeysPendingDeletion = %v", tc.name, err)
				continue
			}
			if d := diff(tc.want, got); d != "" {
				t.Errorf("%s: KeysPendingDeletion(%v, %d) mismatch (-want +got):\n%s", tc.name, tc.due, tc.limit, d)
			}
		}
		return nil
	})
}

func testKeysDueForRotation(t *testing.T, s store.Store) {
	due := at(10 * day)
	rotating := func(id string, when time.Time) store.Key {
		k := newKey(acct1, reg1, id)
		k.RotationEnabled, k.RotationPeriodDays, k.NextRotation = true, 90, when
		return k
	}
	early := rotating("early", at(1*day))
	onDue := rotating("on-due", due)
	late := rotating("late", due.Add(time.Millisecond))
	disabled := rotating("disabled", at(1*day))
	disabled.State = "Disabled"
	off := newKey(acct2, reg2, "off")
	off.NextRotation = at(1 * day) // rotation not enabled: ignored
	undated := rotating("undated", time.Time{})
	insertKeys(t, s, early, onDue, late, disabled, off, undated)

	tests := []struct {
		name  string
		due   time.Time
		limit int
		want  []store.Key
	}{
		{"all due", due, 0, stored(early, onDue)},
		{"limit", due, 1, stored(early)},
		{"nothing due yet", at(0), 0, nil},
		{"zero due", time.Time{}, 0, nil},
		{"later", due.Add(time.Hour), 0, stored(early, onDue, late)},
	}
	view(t, s, func(tx store.Tx) error {
		for _, tc := range tests {
			got, err := tx.KeysDueForRotation(tc.due, tc.limit)
			if err != nil {
				t.Errorf("%s: KeysDueForRotation = %v", tc.name, err)
				continue
			}
			if d := diff(tc.want, got); d != "" {
				t.Errorf("%s: KeysDueForRotation(%v, %d) mismatch (-want +got):\n%s", tc.name, tc.due, tc.limit, d)
			}
		}
		return nil
	})
}
