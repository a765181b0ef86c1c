package postgres

import (
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/custoskms/custos/internal/store"
)

const (
	// qInsertMaterial inserts nothing when the key is missing or the
	// material exists, instead of failing (which would abort the
	// transaction); the caller tells the two apart.
	qInsertMaterial = `INSERT INTO materials (key_arn, id, wrapped, created_at, state)
	SELECT $1::text, $2::text, $3::bytea, $4::bigint, $5::text
	WHERE EXISTS (SELECT 1 FROM keys WHERE arn = $1::text)
	ON CONFLICT DO NOTHING`
	qUpdateMaterial = `UPDATE materials SET wrapped = $1, created_at = $2, state = $3
	WHERE key_arn = $4 AND id = $5`
	qMaterials = `SELECT key_arn, id, wrapped, created_at, state FROM materials
	WHERE key_arn = $1 ORDER BY created_at, id`
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
	ok, err := affected(t.exec(qInsertMaterial, m.KeyARN, m.ID, nonNil(m.Wrapped), created, m.State))
	if err != nil {
		return t.fail(op, err)
	}
	if ok {
		return nil
	}
	keyExists, err := t.exists(qKeyExists, m.KeyARN)
	switch {
	case err != nil:
		return t.fail(op, err)
	case !keyExists:
		return fmt.Errorf("postgres: %s: key %s: %w", op, m.KeyARN, store.ErrNotFound)
	}
	return fmt.Errorf("postgres: %s %s of %s: %w", op, m.ID, m.KeyARN, store.ErrExists)
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
	ok, err := affected(t.exec(qUpdateMaterial, nonNil(m.Wrapped), created, m.State, m.KeyARN, m.ID))
	if err != nil {
		return t.fail(op, err)
	}
	if !ok {
		return fmt.Errorf("postgres: %s %s of %s: %w", op, m.ID, m.KeyARN, store.ErrNotFound)
	}
	return nil
}

func scanMaterial(row pgx.Row) (store.Material, error) {
	var (
		m       store.Material
		created *int64
	)
	if err := row.Scan(&m.KeyARN, &m.ID, &m.Wrapped, &created, &m.State); err != nil {
		return store.Material{}, err
	}
	m.CreatedAt = timeOf(created)
	return m, nil
}

func (t *tx) Materials(keyARN string) ([]store.Material, error) {
	rows, err := t.query(qMaterials, keyARN)
	out, err := collect(rows, err, scanMaterial)
	if err != nil {
		return nil, t.fail("materials", err)
	}
	return out, nil
}
