package postgres

import (
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/custoskms/custos/internal/store"
)

const (
	documentColumns = `kind, account_id, name, body, version, updated_at`
	qGetDocument    = `SELECT ` + documentColumns + ` FROM documents WHERE kind = $1 AND account_id = $2 AND name = $3`
	qInsertDocument = `INSERT INTO documents (` + documentColumns + `) VALUES ($1, $2, $3, $4, 1, $5)
	ON CONFLICT DO NOTHING`
	qUpdateDocument = `UPDATE documents SET body = $1, version = version + 1, updated_at = $2
	WHERE kind = $3 AND account_id = $4 AND name = $5 AND version = $6
	RETURNING ` + documentColumns
	qDeleteDocument = `DELETE FROM documents WHERE kind = $1 AND account_id = $2 AND name = $3`
	qListDocuments  = `SELECT ` + documentColumns + ` FROM documents
	WHERE kind = $1 AND account_id = $2 AND name > $3 ORDER BY name LIMIT $4`
	qListAllDocuments = `SELECT ` + documentColumns + ` FROM documents
	WHERE kind = $1 ORDER BY account_id, name LIMIT $2`
)

func scanDocument(row pgx.Row) (store.Document, error) {
	var (
		d       store.Document
		updated *int64
	)
	if err := row.Scan(&d.Kind, &d.AccountID, &d.Name, &d.Body, &d.Version, &updated); err != nil {
		return store.Document{}, err
	}
	d.UpdatedAt = timeOf(updated)
	return d, nil
}

func (t *tx) GetDocument(kind, accountID, name string) (store.Document, error) {
	d, err := scanDocument(t.queryRow(qGetDocument, kind, accountID, name))
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Document{}, fmt.Errorf("postgres: get document %s/%s/%s: %w", kind, accountID, name, store.ErrNotFound)
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
	ok, err := affected(t.exec(qInsertDocument, d.Kind, d.AccountID, d.Name, nonNil(d.Body), updated))
	if err != nil {
		return t.fail(op, err)
	}
	if !ok {
		return fmt.Errorf("postgres: %s %s/%s/%s: %w", op, d.Kind, d.AccountID, d.Name, store.ErrExists)
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
	got, err := scanDocument(t.queryRow(qUpdateDocument, nonNil(d.Body), updated, d.Kind, d.AccountID, d.Name, d.Version))
	if err == nil {
		return got, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return store.Document{}, t.fail(op, err)
	}
	// No row matched: tell a missing document from a stale version.
	if _, err := t.GetDocument(d.Kind, d.AccountID, d.Name); err != nil {
		return store.Document{}, err
	}
	return store.Document{}, fmt.Errorf("postgres: %s %s/%s/%s: %w", op, d.Kind, d.AccountID, d.Name, store.ErrConflict)
}

func (t *tx) DeleteDocument(kind, accountID, name string) error {
	const op = "delete document"
	if err := t.writable(op); err != nil {
		return err
	}
	ok, err := affected(t.exec(qDeleteDocument, kind, accountID, name))
	if err != nil {
		return t.fail(op, err)
	}
	if !ok {
		return fmt.Errorf("postgres: %s %s/%s/%s: %w", op, kind, accountID, name, store.ErrNotFound)
	}
	return nil
}

func (t *tx) ListDocuments(kind, accountID, after string, limit int) ([]store.Document, error) {
	var (
		rows pgx.Rows
		err  error
	)
	if accountID == "" {
		rows, err = t.query(qListAllDocuments, kind, sqlLimit(limit))
	} else {
		rows, err = t.query(qListDocuments, kind, accountID, after, sqlLimit(limit))
	}
	out, err := collect(rows, err, scanDocument)
	if err != nil {
		return nil, t.fail("list documents", err)
	}
	return out, nil
}
