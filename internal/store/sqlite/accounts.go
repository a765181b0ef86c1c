package sqlite

import (
	"database/sql"
	"errors"
	"fmt"

	"github.com/custoskms/custos/internal/store"
)

// Statements, prepared once per connection (see statements).
const (
	qGetAccount    = `SELECT id, created_at FROM accounts WHERE id = ?`
	qInsertAccount = `INSERT INTO accounts (id, created_at) VALUES (?, ?)`
	qGetCredential = `SELECT ` + credentialColumns + ` FROM credentials
	WHERE access_key_id = ?`
	qInsertCredential = `INSERT INTO credentials (` + credentialColumns + `) VALUES (?, ?, ?, ?, ?, ?)`
	qUpdateCredential = `UPDATE credentials SET account_id = ?, principal_arn = ?,
	wrapped_secret = ?, status = ?, created_at = ? WHERE access_key_id = ?`
	qDeleteCredential = `DELETE FROM credentials WHERE access_key_id = ?`
	qListCredentials  = `SELECT ` + credentialColumns + ` FROM credentials
	WHERE account_id = ? ORDER BY access_key_id`
)

func (t *tx) GetAccount(id string) (store.Account, error) {
	var (
		a       store.Account
		created sql.NullInt64
	)
	err := t.queryRow(qGetAccount, id).Scan(&a.ID, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return store.Account{}, fmt.Errorf("sqlite: get account %s: %w", id, store.ErrNotFound)
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
	_, err = t.exec(qInsertAccount, a.ID, created)
	if isUnique(err) {
		return fmt.Errorf("sqlite: %s %s: %w", op, a.ID, store.ErrExists)
	}
	if err != nil {
		return t.fail(op, err)
	}
	return nil
}

const credentialColumns = `access_key_id, account_id, principal_arn, wrapped_secret, status, created_at`

func scanCredential(row scanner) (store.Credential, error) {
	var (
		c       store.Credential
		created sql.NullInt64
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
	if errors.Is(err, sql.ErrNoRows) {
		return store.Credential{}, fmt.Errorf("sqlite: get credential %s: %w", accessKeyID, store.ErrNotFound)
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
	_, err = t.exec(qInsertCredential,
		c.AccessKeyID, c.AccountID, c.PrincipalARN, blob(c.WrappedSecret), c.Status, created)
	if isUnique(err) {
		return fmt.Errorf("sqlite: %s %s: %w", op, c.AccessKeyID, store.ErrExists)
	}
	if err != nil {
		return t.fail(op, err)
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
	ok, err := affectedOne(t.exec(qUpdateCredential,
		c.AccountID, c.PrincipalARN, blob(c.WrappedSecret), c.Status, created, c.AccessKeyID))
	if err != nil {
		return t.fail(op, err)
	}
	if !ok {
		return fmt.Errorf("sqlite: %s %s: %w", op, c.AccessKeyID, store.ErrNotFound)
	}
	return nil
}

func (t *tx) DeleteCredential(accessKeyID string) error {
	const op = "delete credential"
	if err := t.writable(op); err != nil {
		return err
	}
	ok, err := affectedOne(t.exec(qDeleteCredential, accessKeyID))
	if err != nil {
		return t.fail(op, err)
	}
	if !ok {
		return fmt.Errorf("sqlite: %s %s: %w", op, accessKeyID, store.ErrNotFound)
	}
	return nil
}

func (t *tx) ListCredentials(accountID string) ([]store.Credential, error) {
	const op = "list credentials"
	rows, err := t.query(qListCredentials, accountID)
	if err != nil {
		return nil, t.fail(op, err)
	}
	defer rows.Close()
	var out []store.Credential
	for rows.Next() {
		c, err := scanCredential(rows)
		if err != nil {
			return nil, t.fail(op, err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, t.fail(op, err)
	}
	return out, nil
}
