package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/custoskms/custos/internal/store"
)

// migrations is the ordered list of schema migrations; migrations[i] takes
// the schema from version i to version i+1. A released migration never
// changes (a test pins each one's hash): new schema changes are appended.
//
// Encodings: times are INTEGER Unix nanoseconds in UTC, NULL for the zero
// time; booleans are INTEGER 0 or 1; enumerations are TEXT exactly as AWS
// spells them.
var migrations = []string{
	// 1: initial schema.
	`
CREATE TABLE keys (
	arn                   TEXT    NOT NULL PRIMARY KEY,
	account_id            TEXT    NOT NULL,
	region                TEXT    NOT NULL,
	id                    TEXT    NOT NULL,
	created_at            INTEGER,
	description           TEXT    NOT NULL,
	key_spec              TEXT    NOT NULL,
	key_usage             TEXT    NOT NULL,
	origin                TEXT    NOT NULL,
	key_manager           TEXT    NOT NULL,
	state                 TEXT    NOT NULL,
	deletion_date         INTEGER,
	pending_window_days   INTEGER NOT NULL,
	multi_region          INTEGER NOT NULL,
	multi_region_key_type TEXT    NOT NULL,
	primary_region        TEXT    NOT NULL,
	policy                TEXT    NOT NULL,
	current_material_id   TEXT    NOT NULL,
	rotation_enabled      INTEGER NOT NULL,
	rotation_period_days  INTEGER NOT NULL,
	next_rotation         INTEGER,
	version               INTEGER NOT NULL
) STRICT;
CREATE INDEX keys_by_account_region ON keys (account_id, region, arn);
CREATE INDEX keys_pending_deletion ON keys (deletion_date, arn) WHERE state = 'PendingDeletion';

CREATE TABLE materials (
	key_arn    TEXT NOT NULL REFERENCES keys (arn) ON DELETE CASCADE,
	id         TEXT NOT NULL,
	wrapped    BLOB NOT NULL,
	created_at INTEGER,
	state      TEXT NOT NULL,
	PRIMARY KEY (key_arn, id)
) STRICT;

CREATE TABLE tags (
	key_arn TEXT NOT NULL REFERENCES keys (arn) ON DELETE CASCADE,
	key     TEXT NOT NULL,
	value   TEXT NOT NULL,
	PRIMARY KEY (key_arn, key)
) STRICT;

CREATE TABLE aliases (
	account_id    TEXT NOT NULL,
	region        TEXT NOT NULL,
	name          TEXT NOT NULL,
	target_key_id TEXT NOT NULL,
	created_at    INTEGER,
	updated_at    INTEGER,
	PRIMARY KEY (account_id, region, name)
) STRICT;
CREATE INDEX aliases_by_target ON aliases (account_id, region, target_key_id, name);

CREATE TABLE accounts (
	id         TEXT NOT NULL PRIMARY KEY,
	created_at INTEGER
) STRICT;

CREATE TABLE credentials (
	access_key_id  TEXT NOT NULL PRIMARY KEY,
	account_id     TEXT NOT NULL,
	principal_arn  TEXT NOT NULL,
	wrapped_secret BLOB NOT NULL,
	status         TEXT NOT NULL,
	created_at     INTEGER
) STRICT;
CREATE INDEX credentials_by_account ON credentials (account_id, access_key_id);
`,
	// 2: documents (IAM, STS and Organizations entities).
	`
CREATE TABLE documents (
	kind       TEXT    NOT NULL,
	account_id TEXT    NOT NULL,
	name       TEXT    NOT NULL,
	body       BLOB    NOT NULL,
	version    INTEGER NOT NULL,
	updated_at INTEGER,
	PRIMARY KEY (kind, account_id, name)
) STRICT, WITHOUT ROWID;
`,
}

// migrate brings the database to the newest schema version, applying each
// missing migration in its own write transaction together with its row in
// schema_migrations. It refuses a database newer than migrations knows.
func migrate(ctx context.Context, db *sql.DB) error {
	const create = `CREATE TABLE IF NOT EXISTS schema_migrations (
	version    INTEGER NOT NULL PRIMARY KEY,
	applied_at INTEGER NOT NULL
) STRICT`
	if _, err := db.ExecContext(ctx, create); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	for {
		done, err := migrateOne(ctx, db)
		if err != nil || done {
			return err
		}
	}
}

// migrateOne applies the next missing migration, if any, and reports
// whether the schema was already current.
func migrateOne(ctx context.Context, db *sql.DB) (done bool, err error) {
	// The write transaction (BEGIN IMMEDIATE) also serializes concurrent
	// openers, including other processes: each reads the version it will
	// build on under the write lock.
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("migrate: %w", err)
	}
	defer tx.Rollback()

	var have int
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&have); err != nil {
		return false, fmt.Errorf("read schema version: %w", err)
	}
	switch {
	case have > len(migrations):
		return false, &store.SchemaVersionError{Have: have, Max: len(migrations)}
	case have == len(migrations):
		return true, nil
	}
	next := have + 1
	if _, err := tx.ExecContext(ctx, migrations[have]); err != nil {
		return false, fmt.Errorf("apply migration %d: %w", next, err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`,
		next, time.Now().UnixNano()); err != nil {
		return false, fmt.Errorf("record migration %d: %w", next, err)
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("commit migration %d: %w", next, err)
	}
	return false, nil
}
