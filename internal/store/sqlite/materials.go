package sqlite

import (
	"database/sql"
	"fmt"

	"github.com/custoskms/custos/internal/store"
)

// Statements, prepared once per connection (see statements).
const (
	qInsertMaterial = `INSERT INTO materials (key_arn, id, wrapped, created_at, state) VALUES (?, ?, ?, ?, ?)`
	qUpdateMaterial = `UPDATE materials SET wrapped = ?, created_at = ?, state = ?
	WHERE key_arn = ? AND id = ?`
	qMaterials = `SELECT key_arn, id, wrapped, created_at, state FROM materials
	WHERE key_arn = ? ORDER BY created_at, id`
)

func (t *tx) InsertMaterial(m store.Material) error {
	const op = "insert material"
	if err := t.writable(op); err != nil {
		return err
	}
	created, err := nanos(m.CreatedAt)
	if err != nil {
		return t.fail(op, err)
	}
	_, err = t.exec(qInsertMaterial,
		m.KeyARN, m.ID, blob(m.Wrapped), created, m.State)
	switch {
	case isUnique(err):
		return fmt.Errorf("sqlite: %s %s of %s: %w", op, m.ID, m.KeyARN, store.ErrExists)
	case isForeignKey(err):
		return fmt.Errorf("sqlite: %s: key %s: %w", op, m.KeyARN, store.ErrNotFound)
	case err != nil:
		return t.fail(op, err)
	}
	return nil
}

func (t *tx) UpdateMaterial(m store.Material) error {
	const op = "update material"
	if err := t.writable(op); err != nil {
		return err
	}
	created, err := nanos(m.CreatedAt)
	if err != nil {
		return t.fail(op, err)
	}
	ok, err := affectedOne(t.exec(qUpdateMaterial, blob(m.Wrapped), created, m.State, m.KeyARN, m.ID))
	if err != nil {
		return t.fail(op, err)
	}
	if !ok {
		return fmt.Errorf("sqlite: %s %s of %s: %w", op, m.ID, m.KeyARN, store.ErrNotFound)
	}
	return nil
}

func (t *tx) Materials(keyARN string) ([]store.Material, error) {
	const op = "materials"
	rows, err := t.query(qMaterials, keyARN)
	if err != nil {
		return nil, t.fail(op, err)
	}
	defer rows.Close()
	var out []store.Material
	for rows.Next() {
		var (
			m       store.Material
			created sql.NullInt64
		)
		if err := rows.Scan(&m.KeyARN, &m.ID, &m.Wrapped, &created, &m.State); err != nil {
			return nil, t.fail(op, err)
		}
		m.CreatedAt = timeOf(created)
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, t.fail(op, err)
	}
	return out, nil
}

// blob returns b, or an empty non-nil slice for nil so that the value is an
// empty BLOB rather than NULL.
func blob(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}
