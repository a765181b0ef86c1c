package postgres

import (
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/custoskms/custos/internal/store"
)

const (
	qGetKey    = `SELECT ` + keyColumns + ` FROM keys WHERE arn = $1`
	qInsertKey = `INSERT INTO keys (` + keyColumns + `)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, 1)
	ON CONFLICT DO NOTHING`
	qUpdateKey = `UPDATE keys SET
	description = $1, key_spec = $2, key_usage = $3, origin = $4, key_manager = $5, state = $6,
	deletion_date = $7, pending_window_days = $8, multi_region = $9, multi_region_key_type = $10,
	primary_region = $11, policy = $12, current_material_id = $13, rotation_enabled = $14,
	rotation_period_days = $15, next_rotation = $16, version = version + 1
	WHERE arn = $17 AND version = $18
	RETURNING ` + keyColumns
	qKeyVersion       = `SELECT version FROM keys WHERE arn = $1`
	qKeyExists        = `SELECT EXISTS (SELECT 1 FROM keys WHERE arn = $1)`
	qDeleteKey        = `DELETE FROM keys WHERE arn = $1 RETURNING account_id, region, id`
	qDeleteKeyAliases = `DELETE FROM aliases WHERE account_id = $1 AND region = $2 AND target_key_id = $3`
	qListKeys         = `SELECT ` + keyColumns + ` FROM keys
	WHERE account_id = $1 AND region = $2 AND arn > $3
	ORDER BY arn LIMIT $4`
	qKeysPendingDeletion = `SELECT ` + keyColumns + ` FROM keys
	WHERE state = 'PendingDeletion' AND deletion_date <= $1
	ORDER BY deletion_date, arn LIMIT $2`
	qKeysDueForRotation = `SELECT ` + keyColumns + ` FROM keys
	WHERE state = 'Enabled' AND rotation_enabled AND next_rotation <= $1
	ORDER BY next_rotation, arn LIMIT $2`
)

// keyColumns lists the columns of keys in the order scanKey reads them.
const keyColumns = `arn, account_id, region, id, created_at, description, key_spec, key_usage, origin,
	key_manager, state, deletion_date, pending_window_days, multi_region, multi_region_key_type,
	primary_region, policy, current_material_id, rotation_enabled, rotation_period_days,
	next_rotation, version`

// scanKey reads one row of keyColumns.
func scanKey(row pgx.Row) (store.Key, error) {
	var (
		k                       store.Key
		created, deletion, next *int64
	)
	err := row.Scan(&k.ARN, &k.AccountID, &k.Region, &k.ID, &created, &k.Description, &k.KeySpec,
		&k.KeyUsage, &k.Origin, &k.KeyManager, &k.State, &deletion, &k.PendingWindowDays,
		&k.MultiRegion, &k.MultiRegionKeyType, &k.PrimaryRegion, &k.Policy, &k.CurrentMaterialID,
		&k.RotationEnabled, &k.RotationPeriodDays, &next, &k.Version)
	if err != nil {
		return store.Key{}, err
	}
	k.CreatedAt = timeOf(created)
	k.DeletionDate = timeOf(deletion)
	k.NextRotation = timeOf(next)
	return k, nil
}

func (t *tx) GetKey(arn string) (store.Key, error) {
	k, err := scanKey(t.queryRow(qGetKey, arn))
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Key{}, fmt.Errorf("postgres: get key %s: %w", arn, store.ErrNotFound)
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
	ok, err := affected(t.exec(qInsertKey,
		k.ARN, k.AccountID, k.Region, k.ID, ts[0], k.Description, k.KeySpec, k.KeyUsage, k.Origin,
		k.KeyManager, k.State, ts[1], k.PendingWindowDays, k.MultiRegion,
		k.MultiRegionKeyType, k.PrimaryRegion, k.Policy, k.CurrentMaterialID,
		k.RotationEnabled, k.RotationPeriodDays, ts[2]))
	if err != nil {
		return t.fail(op, err)
	}
	if !ok {
		return fmt.Errorf("postgres: %s %s: %w", op, k.ARN, store.ErrExists)
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
		ts[0], k.PendingWindowDays, k.MultiRegion, k.MultiRegionKeyType,
		k.PrimaryRegion, k.Policy, k.CurrentMaterialID, k.RotationEnabled,
		k.RotationPeriodDays, ts[1],
		k.ARN, k.Version))
	if err == nil {
		return stored, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return store.Key{}, t.fail(op, err)
	}
	// No row matched: tell a missing key from a stale version.
	var version int64
	err = t.queryRow(qKeyVersion, k.ARN).Scan(&version)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return store.Key{}, fmt.Errorf("postgres: %s %s: %w", op, k.ARN, store.ErrNotFound)
	case err != nil:
		return store.Key{}, t.fail(op, err)
	}
	return store.Key{}, fmt.Errorf("postgres: %s %s: version %d, stored %d: %w", op, k.ARN, k.Version, version, store.ErrConflict)
}

func (t *tx) DeleteKey(arn string) error {
	const op = "delete key"
	if err := t.writable(op); err != nil {
		return err
	}
	// Materials and tags go by ON DELETE CASCADE; aliases name the key by
	// id, not ARN, so they are deleted here.
	var account, region, id string
	err := t.queryRow(qDeleteKey, arn).Scan(&account, &region, &id)
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("postgres: %s %s: %w", op, arn, store.ErrNotFound)
	}
	if err != nil {
		return t.fail(op, err)
	}
	if _, err := t.exec(qDeleteKeyAliases, account, region, id); err != nil {
		return t.fail(op, err)
	}
	return nil
}

func (t *tx) ListKeys(accountID, region, after string, limit int) ([]store.Key, error) {
	rows, err := t.query(qListKeys, accountID, region, after, sqlLimit(limit))
	keys, err := collect(rows, err, scanKey)
	if err != nil {
		return nil, t.fail("list keys", err)
	}
	return keys, nil
}

func (t *tx) KeysPendingDeletion(due time.Time, limit int) ([]store.Key, error) {
	return t.keysDue("keys pending deletion", qKeysPendingDeletion, due, limit)
}

func (t *tx) KeysDueForRotation(due time.Time, limit int) ([]store.Key, error) {
	return t.keysDue("keys due for rotation", qKeysDueForRotation, due, limit)
}

// keysDue runs q, one of the queries of keys due at a time.
func (t *tx) keysDue(op, q string, due time.Time, limit int) ([]store.Key, error) {
	d, err := nanos(due)
	if err != nil {
		return nil, t.fail(op, err)
	}
	if d == nil {
		return nil, nil // no key has a zero date <= the zero time
	}
	rows, err := t.query(q, *d, sqlLimit(limit))
	keys, err := collect(rows, err, scanKey)
	if err != nil {
		return nil, t.fail(op, err)
	}
	return keys, nil
}
