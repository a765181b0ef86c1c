package sqlite

import (
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/custoskms/custos/internal/store"
)

// Statements, prepared once per connection (see statements).
const (
	qGetKey    = `SELECT ` + keyColumns + ` FROM keys WHERE arn = ?`
	qInsertKey = `INSERT INTO keys (` + keyColumns + `)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)`
	qUpdateKey = `UPDATE keys SET
	description = ?, key_spec = ?, key_usage = ?, origin = ?, key_manager = ?, state = ?,
	deletion_date = ?, pending_window_days = ?, multi_region = ?, multi_region_key_type = ?,
	primary_region = ?, policy = ?, current_material_id = ?, rotation_enabled = ?,
	rotation_period_days = ?, next_rotation = ?, version = version + 1
	WHERE arn = ? AND version = ?
	RETURNING ` + keyColumns
	qKeyVersion       = `SELECT version FROM keys WHERE arn = ?`
	qDeleteKey        = `DELETE FROM keys WHERE arn = ? RETURNING account_id, region, id`
	qDeleteKeyAliases = `DELETE FROM aliases WHERE account_id = ? AND region = ? AND target_key_id = ?`
	qListKeys         = `SELECT ` + keyColumns + ` FROM keys
	WHERE account_id = ? AND region = ? AND arn > ?
	ORDER BY arn LIMIT ?`
	qKeysPendingDeletion = `SELECT ` + keyColumns + ` FROM keys
	WHERE state = 'PendingDeletion' AND deletion_date <= ?
	ORDER BY deletion_date, arn LIMIT ?`
	qKeysDueForRotation = `SELECT ` + keyColumns + ` FROM keys
	WHERE state = 'Enabled' AND rotation_enabled = 1 AND next_rotation <= ?
	ORDER BY next_rotation, arn LIMIT ?`
)

// keyColumns lists the columns of keys in the order scanKey reads them.
const keyColumns = `arn, account_id, region, id, created_at, description, key_spec, key_usage, origin,
	key_manager, state, deletion_date, pending_window_days, multi_region, multi_region_key_type,
	primary_region, policy, current_material_id, rotation_enabled, rotation_period_days,
	next_rotation, version`

// scanKey reads one row of keyColumns.
func scanKey(row scanner) (store.Key, error) {
	var (
		k                            store.Key
		created, deletion, next      sql.NullInt64
		multiRegion, rotationEnabled int
	)
	err := row.Scan(&k.ARN, &k.AccountID, &k.Region, &k.ID, &created, &k.Description, &k.KeySpec,
		&k.KeyUsage, &k.Origin, &k.KeyManager, &k.State, &deletion, &k.PendingWindowDays,
		&multiRegion, &k.MultiRegionKeyType, &k.PrimaryRegion, &k.Policy, &k.CurrentMaterialID,
		&rotationEnabled, &k.RotationPeriodDays, &next, &k.Version)
	if err != nil {
		return store.Key{}, err
	}
	k.CreatedAt = timeOf(created)
	k.DeletionDate = timeOf(deletion)
	k.NextRotation = timeOf(next)
	k.MultiRegion = multiRegion != 0
	k.RotationEnabled = rotationEnabled != 0
	return k, nil
}

// scanKeys reads every row of keyColumns and closes rows.
func scanKeys(rows *sql.Rows) ([]store.Key, error) {
	defer rows.Close()
	var keys []store.Key
	for rows.Next() {
		k, err := scanKey(rows)
		if err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	return keys, rows.Err()
}

func (t *tx) GetKey(arn string) (store.Key, error) {
	k, err := scanKey(t.queryRow(qGetKey, arn))
	if errors.Is(err, sql.ErrNoRows) {
		return store.Key{}, fmt.Errorf("sqlite: get key %s: %w", arn, store.ErrNotFound)
	}
	if err != nil {
		return store.Key{}, t.fail("get key", err)
	}
	return k, nil
}

func (t *tx) InsertKey(k store.Key) error {
	const op = "insert key"
	if err := t.writable(op); err != nil {
		return err
	}
	ts, err := nanosAll(k.CreatedAt, k.DeletionDate, k.NextRotation)
	if err != nil {
		return t.fail(op, err)
	}
	_, err = t.exec(qInsertKey,
		k.ARN, k.AccountID, k.Region, k.ID, ts[0], k.Description, k.KeySpec, k.KeyUsage, k.Origin,
		k.KeyManager, k.State, ts[1], k.PendingWindowDays, boolInt(k.MultiRegion),
		k.MultiRegionKeyType, k.PrimaryRegion, k.Policy, k.CurrentMaterialID,
		boolInt(k.RotationEnabled), k.RotationPeriodDays, ts[2])
	if isUnique(err) {
		return fmt.Errorf("sqlite: %s %s: %w", op, k.ARN, store.ErrExists)
	}
	if err != nil {
		return t.fail(op, err)
	}
	return nil
}

func (t *tx) UpdateKey(k store.Key) (store.Key, error) {
	const op = "update key"
	if err := t.writable(op); err != nil {
		return store.Key{}, err
	}
	ts, err := nanosAll(k.DeletionDate, k.NextRotation)
	if err != nil {
		return store.Key{}, t.fail(op, err)
	}
	stored, err := scanKey(t.queryRow(qUpdateKey,
		k.Description, k.KeySpec, k.KeyUsage, k.Origin, k.KeyManager, k.State,
		ts[0], k.PendingWindowDays, boolInt(k.MultiRegion), k.MultiRegionKeyType,
		k.PrimaryRegion, k.Policy, k.CurrentMaterialID, boolInt(k.RotationEnabled),
		k.RotationPeriodDays, ts[1],
		k.ARN, k.Version))
	if err == nil {
		return stored, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return store.Key{}, t.fail(op, err)
	}
	// No row matched: tell a missing key from a stale version.
	var version int64
	err = t.queryRow(qKeyVersion, k.ARN).Scan(&version)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return store.Key{}, fmt.Errorf("sqlite: %s %s: %w", op, k.ARN, store.ErrNotFound)
	case err != nil:
		return store.Key{}, t.fail(op, err)
	}
	return store.Key{}, fmt.Errorf("sqlite: %s %s: version %d, stored %d: %w", op, k.ARN, k.Version, version, store.ErrConflict)
}

func (t *tx) DeleteKey(arn string) error {
	const op = "delete key"
	if err := t.writable(op); err != nil {
		return err
	}
	// Materials and tags go by ON DELETE CASCADE; aliases name the key by
	// id, not ARN, so they are deleted here.
	var account, region, id string
	err := t.queryRow(qDeleteKey, arn).
		Scan(&account, &region, &id)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("sqlite: %s %s: %w", op, arn, store.ErrNotFound)
	}
	if err != nil {
		return t.fail(op, err)
	}
	if _, err := t.exec(qDeleteKeyAliases,
		account, region, id); err != nil {
		return t.fail(op, err)
	}
	return nil
}

func (t *tx) ListKeys(accountID, region, after string, limit int) ([]store.Key, error) {
	rows, err := t.query(qListKeys, accountID, region, after, sqlLimit(limit))
	if err != nil {
		return nil, t.fail("list keys", err)
	}
	keys, err := scanKeys(rows)
	if err != nil {
		return nil, t.fail("list keys", err)
	}
	return keys, nil
}

func (t *tx) KeysPendingDeletion(due time.Time, limit int) ([]store.Key, error) {
	const op = "keys pending deletion"
	d, err := nanos(due)
	if err != nil {
		return nil, t.fail(op, err)
	}
	if !d.Valid {
		return nil, nil // no key has a zero DeletionDate <= the zero time
	}
	// The literal state lets SQLite use the partial index keys_pending_deletion.
	rows, err := t.query(qKeysPendingDeletion, d.Int64, sqlLimit(limit))
	if err != nil {
		return nil, t.fail(op, err)
	}
	keys, err := scanKeys(rows)
	if err != nil {
		return nil, t.fail(op, err)
	}
	return keys, nil
}

func (t *tx) KeysDueForRotation(due time.Time, limit int) ([]store.Key, error) {
	const op = "keys due for rotation"
	d, err := nanos(due)
	if err != nil {
		return nil, t.fail(op, err)
	}
	if !d.Valid {
		return nil, nil
	}
	rows, err := t.query(qKeysDueForRotation, d.Int64, sqlLimit(limit))
	if err != nil {
		return nil, t.fail(op, err)
	}
	keys, err := scanKeys(rows)
	if err != nil {
		return nil, t.fail(op, err)
	}
	return keys, nil
}
