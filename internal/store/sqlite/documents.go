package sqlite

import (
	"database/sql"
	"errors"
	"fmt"

	"github.com/custoskms/custos/internal/store"
)

// Statements, prepared once per connection (see statements).
const (
	documentColumns = `kind, account_id, name, body, version, updated_at`
	qGetDocument    = `SELECT ` + documentColumns + ` FROM documents WHERE kind = ? AND account_id = ? AND name = ?`
	qInsertDocument = `INSERT INTO documents (` + documentColumns + `) VALUES (?, ?, ?, ?, 1, ?)`
	qUpdateDocument = `UPDATE documents SET body = ?, version = version + 1, updated_at = ?
	WHERE kind = ? AND account_id = ? AND name = ? AND version = ?`
	qDeleteDocument   = `DELETE FROM documents WHERE kind = ? AND account_id = ? AND name = ?`
	qListDocuments    = `SELECT ` + documentColumns + ` FROM documents WHERE kind = ? AND account_id = ? AND name > ? ORDER BY name LIMIT ?`
	qListAllDocuments = `SELECT ` + documentColumns + ` FROM documents WHERE kind = ? ORDER BY account_id, name LIMIT ?`
)

func scanDocument(row scanner) (store.Document, error) {
	var (
		d       store.Document
		updated sql.NullInt64
	)
	if err := row.Scan(&d.Kind, &d.AccountID, &d.Name, &d.Body, &d.Version, &updated); err != nil {
		return store.Document{}, err
	}
	d.UpdatedAt = timeOf(updated)
	return d, nil
}

func (t *tx) GetDocument(kind, accountID, name string) (store.Document, error) {
	d, err := scanDocument(t.queryRow(qGetDocument, kind, accountID, name))
	if errors.Is(err, sql.ErrNoRows) {
		return store.Document{}, fmt.Errorf("sqlite: get document %s/%s/%s: %w", kind, accountID, name, store.ErrNotFound)
	}
	if err != nil {
		return store.Document{}, t.fail("get document", err)
	}
	return d, nil
}

func (t *tx) InsertDocument(d store.Document) error {
	const op = "insert document"
	if err := t.writable(op); err != nil {
		return err
	}
	updated, err := nanos(d.UpdatedAt)
	if err != nil {
		return t.fail(op, err)
	}
	_, err = t.exec(qInsertDocument, d.Kind, d.AccountID, d.Name, blob(d.Body), updated)
	if isUnique(err) {
		return fmt.Errorf("sqlite: %s %s/%s/%s: %w", op, d.Kind, d.AccountID, d.Name, store.ErrExists)
	}
	if err != nil {
		return t.fail(op, err)
	}
	return nil
}

func (t *tx) UpdateDocument(d store.Document) (store.Document, error) {
	const op = "update document"
	if err := t.writable(op); err != nil {
		return store.Document{}, err
	}
	updated, err := nanos(d.UpdatedAt)
	if err != nil {
		return store.Document{}, t.fail(op, err)
	}
	res, err := t.exec(qUpdateDocument, blob(d.Body), updated, d.Kind, d.AccountID, d.Name, d.Version)
	if err != nil {
		return store.Document{}, t.fail(op, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return store.Document{}, t.fail(op, err)
	} else if n == 0 {
		if _, err := t.GetDocument(d.Kind, d.AccountID, d.Name); err != nil {
			return store.Document{}, err
		}
		return store.Document{}, fmt.Errorf("sqlite: %s %s/%s/%s: %w", op, d.Kind, d.AccountID, d.Name, store.ErrConflict)
	}
	return t.GetDocument(d.Kind, d.AccountID, d.Name)
}

func (t *tx) DeleteDocument(kind, accountID, name string) error {
	const op = "delete document"
	if err := t.writable(op); err != nil {
		return err
	}
	res, err := t.exec(qDeleteDocument, kind, accountID, name)
	if err != nil {
		return t.fail(op, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return t.fail(op, err)
	} else if n == 0 {
		return fmt.Errorf("sqlite: %s %s/%s/%s: %w", op, kind, accountID, name, store.ErrNotFound)
	}
	return nil
}

func (t *tx) ListDocuments(kind, accountID, after string, limit int) ([]store.Document, error) {
	const op = "list documents"
	var (
		rows *sql.Rows
		err  error
	)
	if accountID == "" {
		rows, err = t.query(qListAllDocuments, kind, sqlLimit(limit))
	} else {
		rows, err = t.query(qListDocuments, kind, accountID, after, sqlLimit(limit))
	}
	if err != nil {
		return nil, t.fail(op, err)
	}
	defer rows.Close()
	var out []store.Document
	for rows.Next() {
		d, err := scanDocument(rows)
		if err != nil {
			return nil, t.fail(op, err)
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, t.fail(op, err)
	}
	return out, nil
}
