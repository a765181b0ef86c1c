package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/custoskms/custos/internal/store"
)

// migrations is the ordered list of schema migrations; migrations[i] takes
// the schema from version i to version i+1. A released migration never
// changes (a test pins each one's hash): new schema changes are appended.
//
// The tables and their meaning are those of the SQLite store, with
// PostgreSQL's types: text COLLATE "C" (byte-wise order, whatever the
// database's locale), bigint Unix nanoseconds in UTC (NULL for the zero
// time), boolean, bytea. Some tables serve only several nodes: notifications
// (one version counter per change channel, see notify.go), leases (see
// lease.go), and the shared index of audit records (see events.go).
var migrations = []string{
	// 1: initial schema.
	`
CREATE TABLE keys (
	arn                   text    COLLATE "C" NOT NULL PRIMARY KEY,
	account_id            text    COLLATE "C" NOT NULL,
	region                text    COLLATE "C" NOT NULL,
	id                    text    COLLATE "C" NOT NULL,
	created_at            bigint,
	description           text    COLLATE "C" NOT NULL,
	key_spec              text    COLLATE "C" NOT NULL,
	key_usage             text    COLLATE "C" NOT NULL,
	origin                text    COLLATE "C" NOT NULL,
	key_manager           text    COLLATE "C" NOT NULL,
	state                 text    COLLATE "C" NOT NULL,
	deletion_date         bigint,
	pending_window_days   integer NOT NULL,
	multi_region          boolean NOT NULL,
	multi_region_key_type text    COLLATE "C" NOT NULL,
	primary_region        text    COLLATE "C" NOT NULL,
	policy                text    COLLATE "C" NOT NULL,
	current_material_id   text    COLLATE "C" NOT NULL,
	rotation_enabled      boolean NOT NULL,
	rotation_period_days  integer NOT NULL,
	next_rotation         bigint,
	version               bigint  NOT NULL
);
CREATE INDEX keys_by_account_region ON keys (account_id, region, arn);
CREATE INDEX keys_pending_deletion ON keys (deletion_date, arn) WHERE state = 'PendingDeletion';
CREATE INDEX keys_due_for_rotation ON keys (next_rotation, arn) WHERE state = 'Enabled' AND rotation_enabled;

CREATE TABLE materials (
	key_arn    text COLLATE "C" NOT NULL REFERENCES keys (arn) ON DELETE CASCADE,
	id         text COLLATE "C" NOT NULL,
	wrapped    bytea NOT NULL,
	created_at bigint,
	state      text COLLATE "C" NOT NULL,
	PRIMARY KEY (key_arn, id)
);

CREATE TABLE tags (
	key_arn text COLLATE "C" NOT NULL REFERENCES keys (arn) ON DELETE CASCADE,
	key     text COLLATE "C" NOT NULL,
	value   text COLLATE "C" NOT NULL,
	PRIMARY KEY (key_arn, key)
);

CREATE TABLE aliases (
	account_id    text COLLATE "C" NOT NULL,
	region        text COLLATE "C" NOT NULL,
	name          text COLLATE "C" NOT NULL,
	target_key_id text COLLATE "C" NOT NULL,
	created_at    bigint,
	updated_at    bigint,
	PRIMARY KEY (account_id, region, name)
);
CREATE INDEX aliases_by_target ON aliases (account_id, region, target_key_id, name);

CREATE TABLE accounts (
	id         text COLLATE "C" NOT NULL PRIMARY KEY,
	created_at bigint
);

CREATE TABLE credentials (
	access_key_id  text COLLATE "C" NOT NULL PRIMARY KEY,
	account_id     text COLLATE "C" NOT NULL,
	principal_arn  text COLLATE "C" NOT NULL,
	wrapped_secret bytea NOT NULL,
	status         text COLLATE "C" NOT NULL,
	created_at     bigint
);
CREATE INDEX credentials_by_account ON credentials (account_id, access_key_id);

CREATE TABLE documents (
	kind       text   COLLATE "C" NOT NULL,
	account_id text   COLLATE "C" NOT NULL,
	name       text   COLLATE "C" NOT NULL,
	body       bytea  NOT NULL,
	version    bigint NOT NULL,
	updated_at bigint,
	PRIMARY KEY (kind, account_id, name)
);

CREATE TABLE notifications (
	channel text   COLLATE "C" NOT NULL PRIMARY KEY,
	version bigint NOT NULL
);

CREATE TABLE leases (
	name       text COLLATE "C" NOT NULL PRIMARY KEY,
	holder     text COLLATE "C" NOT NULL,
	expires_at timestamptz NOT NULL
);
`,
	// 2: the shared index of audit records (see events.go).
	`
CREATE TABLE audit_chunks (
	node           text    COLLATE "C" NOT NULL,
	first_seq      bigint  NOT NULL,
	last_seq       bigint  NOT NULL,
	events         integer NOT NULL,
	min_time       bigint  NOT NULL,
	max_time       bigint  NOT NULL,
	account_ids    text[]  COLLATE "C" NOT NULL,
	regions        text[]  COLLATE "C" NOT NULL,
	event_ids      text[]  COLLATE "C" NOT NULL,
	event_names    text[]  COLLATE "C" NOT NULL,
	event_sources  text[]  COLLATE "C" NOT NULL,
	usernames      text[]  COLLATE "C" NOT NULL,
	access_key_ids text[]  COLLATE "C" NOT NULL,
	resource_names text[]  COLLATE "C" NOT NULL,
	resource_types text[]  COLLATE "C" NOT NULL,
	body           bytea   NOT NULL,
	PRIMARY KEY (node, first_seq)
);
CREATE INDEX audit_chunks_by_time ON audit_chunks (max_time);
-- Stored out of line without compression: pglz would cost the database
-- more CPU than the events cost the node that records them.
ALTER TABLE audit_chunks ALTER COLUMN body SET STORAGE EXTERNAL, ALTER COLUMN event_ids SET STORAGE EXTERNAL;

CREATE TABLE audit_nodes (
	node            text   COLLATE "C" NOT NULL PRIMARY KEY,
	indexed_through bigint NOT NULL
);

CREATE TABLE key_last_use (
	key_arn    text   COLLATE "C" NOT NULL PRIMARY KEY,
	event_time bigint NOT NULL,
	event_name text   COLLATE "C" NOT NULL,
	event_id   text   COLLATE "C" NOT NULL,
	request_id text   COLLATE "C" NOT NULL
);
`,
}

// qMigrationLock takes a transaction-level advisory lock whose key is
// derived from the schema the tables go in, so that concurrent Opens of
// one schema migrate one after the other and those of different schemas
// do not wait for each other.
const qMigrationLock = `SELECT pg_advisory_xact_lock(hashtextextended('custos migrate ' || COALESCE(current_schema(), ''), 0))`

// migrate brings the database to the newest schema version in one
// transaction: it takes the migration lock, creates schema_migrations if
// needed, and applies each missing migration with its row in
// schema_migrations. Nodes starting together therefore migrate once: the
// first applies the migrations, the others wait for its commit and then
// find nothing to do. PostgreSQL's DDL is transactional, so a failed
// migration leaves nothing behind. migrate refuses a database newer than
// migrations knows.
func migrate(ctx context.Context, pool *pgxpool.Pool) error {
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, qMigrationLock); err != nil {
			return fmt.Errorf("lock: %w", err)
		}
		const create = `CREATE TABLE IF NOT EXISTS schema_migrations (
	version    integer NOT NULL PRIMARY KEY,
	applied_at bigint  NOT NULL
)`
		if _, err := tx.Exec(ctx, create); err != nil {
			return fmt.Errorf("create schema_migrations: %w", err)
		}
		var have int
		if err := tx.QueryRow(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&have); err != nil {
			return fmt.Errorf("read schema version: %w", err)
		}
		if have > len(migrations) {
			return &store.SchemaVersionError{Have: have, Max: len(migrations)}
		}
		for v := have + 1; v <= len(migrations); v++ {
			if _, err := tx.Exec(ctx, migrations[v-1]); err != nil {
				return fmt.Errorf("apply migration %d: %w", v, err)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)`,
				v, time.Now().UnixNano()); err != nil {
				return fmt.Errorf("record migration %d: %w", v, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("migrate: %w", classify(ctx, err))
	}
	return nil
}
