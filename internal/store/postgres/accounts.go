package postgres

import (
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/custoskms/custos/internal/store"
)

const (
	qGetAccount       = `SELECT id, created_at FROM accounts WHERE id = $1`
	qInsertAccount    = `INSERT INTO accounts (id, created_at) VALUES ($1, $2) ON CONFLICT DO NOTHING`
	credentialColumns = `access_key_id, account_id, principal_arn, wrapped_secret, status, created_at`
	qGetCredential    = `SELECT ` + credentialColumns + ` FROM credentials WHERE access_key_id = $1`
	qInsertCredential = `INSERT INTO credentials (` + credentialColumns + `) VALUES ($1, $2, $3, $4, $5, $6)
	ON CONFLICT DO NOTHING`
	qUpdateCredential = `UPDATE credentials SET account_id = $1, principal_arn = $2,
	wrapped_secret = $3, status = $4, created_at = $5 WHERE access_key_id = $6`
	qDeleteCredential = `DELETE FROM credentials WHERE access_key_id = $1`
	qListCredentials  = `SELECT ` + credentialColumns + ` FROM credentials
	WHERE account_id = $1 ORDER BY access_key_id`
)

func (t *tx) GetAccount(id string) (store.Account, error) {
	var (
		a       store.Account
		created *int64
	)
	err := t.queryRow(qGetAccount, id).Scan(&a.ID, &created)
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Account{}, fmt.Errorf("postgres: get account %s: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return store.Account{}, t.fail("get account", err)
	}
	a.CreatedAt = timeOf(created)
	return a, nil
}

func (t *tx) InsertAccount(a store.Account) error {
	const op = "insert account"
	if err := t.writable(op); err != nil {
		return err
	}
	created, err := nanos(a.CreatedAt)
	if err != nil {
		return t.fail(op, err)
	}
	ok, err := affected(t.exec(qInsertAccount, a.ID, created))
	if err != nil {
		return t.fail(op, err)
	}
	if !ok {
		return fmt.Errorf("postgres: %s %s: %w", op, a.ID, store.ErrExists)
	}
	return nil
}

func scanCredential(row pgx.Row) (store.Credential, error) {
	var (
		c       store.Credential
		created *int64
	)
	if err := row.Scan(&c.AccessKeyID, &c.AccountID, &c.PrincipalARN, &c.WrappedSecret, &c.Status, &created); err != nil {
		return store.Credential{}, err
	}
	c.CreatedAt = timeOf(created)
	return c, nil
}

// Error messages name the access key id, which is not secret; the wrapped
// secret never appears in one.

func (t *tx) GetCredential(accessKeyID string) (store.Credential, error) {
	c, err := scanCredential(t.queryRow(qGetCredential, accessKeyID))
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Credential{}, fmt.Errorf("postgres: get credential %s: %w", accessKeyID, store.ErrNotFound)
	}
	if err != nil {
		return store.Credential{}, t.fail("get credential", err)
	}
	return c, nil
}

func (t *tx) InsertCredential(c store.Credential) error {
	const op = "insert credential"
	if err := t.writable(op); err != nil {
		return err
	}
	created, err := nanos(c.CreatedAt)
	if err != nil {
		return t.fail(op, err)
	}
	ok, err := affected(t.exec(qInsertCredential,
		c.AccessKeyID, c.AccountID, c.PrincipalARN, nonNil(c.WrappedSecret), c.Status, created))
	if err != nil {
		return t.fail(op, err)
	}
	if !ok {
		return fmt.Errorf("postgres: %s %s: %w", op, c.AccessKeyID, store.ErrExists)
	}
	return nil
}

func (t *tx) UpdateCredential(c store.Credential) error {
	const op = "update credential"
	if err := t.writable(op); err != nil {
		return err
	}
	created, err := nanos(c.CreatedAt)
	if err != nil {
		return t.fail(op, err)
	}
	ok, err := affected(t.exec(qUpdateCredential,
		c.AccountID, c.PrincipalARN, nonNil(c.WrappedSecret), c.Status, created, c.AccessKeyID))
	if err != nil {
		return t.fail(op, err)
	}
	if !ok {
		return fmt.Errorf("postgres: %s %s: %w", op, c.AccessKeyID, store.ErrNotFound)
	}
	return nil
}

func (t *tx) DeleteCredential(accessKeyID string) error {
	const op = "delete credential"
	if err := t.writable(op); err != nil {
		return err
	}
	ok, err := affected(t.exec(qDeleteCredential, accessKeyID))
	if err != nil {
		return t.fail(op, err)
	}
	if !ok {
		return fmt.Errorf("postgres: %s %s: %w", op, accessKeyID, store.ErrNotFound)
	}
	return nil
}

func (t *tx) ListCredentials(accountID string) ([]store.Credential, error) {
	rows, err := t.query(qListCredentials, accountID)
	out, err := collect(rows, err, scanCredential)
	if err != nil {
		return nil, t.fail("list credentials", err)
	}
	return out, nil
}
