package postgres

import (
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/custoskms/custos/internal/store"
)

const (
	aliasColumns = `account_id, region, name, target_key_id, created_at, updated_at`
	qGetAlias    = `SELECT ` + aliasColumns + ` FROM aliases
	WHERE account_id = $1 AND region = $2 AND name = $3`
	qInsertAlias = `INSERT INTO aliases (` + aliasColumns + `) VALUES ($1, $2, $3, $4, $5, $6)
	ON CONFLICT DO NOTHING`
	qUpdateAlias = `UPDATE aliases SET target_key_id = $1, updated_at = $2
	WHERE account_id = $3 AND region = $4 AND name = $5`
	qDeleteAlias = `DELETE FROM aliases WHERE account_id = $1 AND region = $2 AND name = $3`
	qListAliases = `SELECT ` + aliasColumns + ` FROM aliases
	WHERE account_id = $1 AND region = $2 AND name > $3
	ORDER BY name LIMIT $4`
	qListAliasesByTarget = `SELECT ` + aliasColumns + ` FROM aliases
	WHERE account_id = $1 AND region = $2 AND target_key_id = $3 AND name > $4
	ORDER BY name LIMIT $5`
	qCountAliases = `SELECT COUNT(*) FROM aliases
	WHERE account_id = $1 AND region = $2 AND ($3::text = '' OR target_key_id = $3::text)`
)

func scanAlias(row pgx.Row) (store.Alias, error) {
	var (
		a                store.Alias
		created, updated *int64
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
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Alias{}, fmt.Errorf("postgres: get alias %s: %w", name, store.ErrNotFound)
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
	ok, err := affected(t.exec(qInsertAlias, a.AccountID, a.Region, a.Name, a.TargetKeyID, ts[0], ts[1]))
	if err != nil {
		return t.fail(op, err)
	}
	if !ok {
		return fmt.Errorf("postgres: %s %s: %w", op, a.Name, store.ErrExists)
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
	ok, err := affected(t.exec(qUpdateAlias, a.TargetKeyID, updated, a.AccountID, a.Region, a.Name))
	if err != nil {
		return t.fail(op, err)
	}
	if !ok {
		return fmt.Errorf("postgres: %s %s: %w", op, a.Name, store.ErrNotFound)
	}
	return nil
}

func (t *tx) DeleteAlias(accountID, region, name string) error {
	const op = "delete alias"
	if err := t.writable(op); err != nil {
		return err
	}
	ok, err := affected(t.exec(qDeleteAlias, accountID, region, name))
	if err != nil {
		return t.fail(op, err)
	}
	if !ok {
		return fmt.Errorf("postgres: %s %s: %w", op, name, store.ErrNotFound)
	}
	return nil
}

func (t *tx) ListAliases(accountID, region, targetKeyID, after string, limit int) ([]store.Alias, error) {
	var (
		rows pgx.Rows
		err  error
	)
	if targetKeyID == "" {
		rows, err = t.query(qListAliases, accountID, region, after, sqlLimit(limit))
	} else {
		rows, err = t.query(qListAliasesByTarget, accountID, region, targetKeyID, after, sqlLimit(limit))
	}
	out, err := collect(rows, err, scanAlias)
	if err != nil {
		return nil, t.fail("list aliases", err)
	}
	return out, nil
}

func (t *tx) CountAliases(accountID, region, targetKeyID string) (int, error) {
	var n int
	if err := t.queryRow(qCountAliases, accountID, region, targetKeyID).Scan(&n); err != nil {
		return 0, t.fail("count aliases", err)
	}
	return n, nil
}
