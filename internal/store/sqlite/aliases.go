package sqlite

import (
	"database/sql"
	"errors"
	"fmt"

	"github.com/custoskms/custos/internal/store"
)

// Statements, prepared once per connection (see statements).
const (
	qGetAlias = `SELECT ` + aliasColumns + ` FROM aliases
	WHERE account_id = ? AND region = ? AND name = ?`
	qInsertAlias = `INSERT INTO aliases (` + aliasColumns + `) VALUES (?, ?, ?, ?, ?, ?)`
	qUpdateAlias = `UPDATE aliases SET target_key_id = ?, updated_at = ?
	WHERE account_id = ? AND region = ? AND name = ?`
	qDeleteAlias = `DELETE FROM aliases WHERE account_id = ? AND region = ? AND name = ?`
	qListAliases = `SELECT ` + aliasColumns + ` FROM aliases
	WHERE account_id = ? AND region = ? AND name > ?
	ORDER BY name LIMIT ?`
	qListAliasesByTarget = `SELECT ` + aliasColumns + ` FROM aliases
	WHERE account_id = ? AND region = ? AND target_key_id = ? AND name > ?
	ORDER BY name LIMIT ?`
	qCountAliases = `SELECT COUNT(*) FROM aliases
	WHERE account_id = ? AND region = ? AND (? = '' OR target_key_id = ?)`
)

const aliasColumns = `account_id, region, name, target_key_id, created_at, updated_at`

func scanAlias(row scanner) (store.Alias, error) {
	var (
		a                store.Alias
		created, updated sql.NullInt64
	)
	if err := row.Scan(&a.AccountID, &a.Region, &a.Name, &a.TargetKeyID, &created, &updated); err != nil {
		return store.Alias{}, err
	}
	a.CreatedAt = timeOf(created)
	a.UpdatedAt = timeOf(updated)
	return a, nil
}

func (t *tx) GetAlias(accountID, region, name string) (store.Alias, error) {
	a, err := scanAlias(t.queryRow(qGetAlias, accountID, region, name))
	if errors.Is(err, sql.ErrNoRows) {
		return store.Alias{}, fmt.Errorf("sqlite: get alias %s: %w", name, store.ErrNotFound)
	}
	if err != nil {
		return store.Alias{}, t.fail("get alias", err)
	}
	return a, nil
}

func (t *tx) InsertAlias(a store.Alias) error {
	const op = "insert alias"
	if err := t.writable(op); err != nil {
		return err
	}
	ts, err := nanosAll(a.CreatedAt, a.UpdatedAt)
	if err != nil {
		return t.fail(op, err)
	}
	_, err = t.exec(qInsertAlias,
		a.AccountID, a.Region, a.Name, a.TargetKeyID, ts[0], ts[1])
	if isUnique(err) {
		return fmt.Errorf("sqlite: %s %s: %w", op, a.Name, store.ErrExists)
	}
	if err != nil {
		return t.fail(op, err)
	}
	return nil
}

func (t *tx) UpdateAlias(a store.Alias) error {
	const op = "update alias"
	if err := t.writable(op); err != nil {
		return err
	}
	updated, err := nanos(a.UpdatedAt)
	if err != nil {
		return t.fail(op, err)
	}
	ok, err := affectedOne(t.exec(qUpdateAlias,
		a.TargetKeyID, updated, a.AccountID, a.Region, a.Name))
	if err != nil {
		return t.fail(op, err)
	}
	if !ok {
		return fmt.Errorf("sqlite: %s %s: %w", op, a.Name, store.ErrNotFound)
	}
	return nil
}

func (t *tx) DeleteAlias(accountID, region, name string) error {
	const op = "delete alias"
	if err := t.writable(op); err != nil {
		return err
	}
	ok, err := affectedOne(t.exec(qDeleteAlias,
		accountID, region, name))
	if err != nil {
		return t.fail(op, err)
	}
	if !ok {
		return fmt.Errorf("sqlite: %s %s: %w", op, name, store.ErrNotFound)
	}
	return nil
}

func (t *tx) ListAliases(accountID, region, targetKeyID, after string, limit int) ([]store.Alias, error) {
	const op = "list aliases"
	var (
		rows *sql.Rows
		err  error
	)
	if targetKeyID == "" {
		rows, err = t.query(qListAliases, accountID, region, after, sqlLimit(limit))
	} else {
		rows, err = t.query(qListAliasesByTarget, accountID, region, targetKeyID, after, sqlLimit(limit))
	}
	if err != nil {
		return nil, t.fail(op, err)
	}
	defer rows.Close()
	var out []store.Alias
	for rows.Next() {
		a, err := scanAlias(rows)
		if err != nil {
			return nil, t.fail(op, err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, t.fail(op, err)
	}
	return out, nil
}

func (t *tx) CountAliases(accountID, region, targetKeyID string) (int, error) {
	var n int
	err := t.queryRow(qCountAliases,
		accountID, region, targetKeyID, targetKeyID).Scan(&n)
	if err != nil {
		return 0, t.fail("count aliases", err)
	}
	return n, nil
}
