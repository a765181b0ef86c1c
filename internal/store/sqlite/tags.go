package sqlite

import (
	"fmt"

	"github.com/custoskms/custos/internal/store"
)

// Statements, prepared once per connection (see statements).
const (
	qTags   = `SELECT key, value FROM tags WHERE key_arn = ? ORDER BY key`
	qPutTag = `INSERT INTO tags (key_arn, key, value) VALUES (?, ?, ?)
	ON CONFLICT (key_arn, key) DO UPDATE SET value = excluded.value`
	qDeleteTag = `DELETE FROM tags WHERE key_arn = ? AND key = ?`
)

func (t *tx) Tags(keyARN string) ([]store.Tag, error) {
	const op = "tags"
	rows, err := t.query(qTags, keyARN)
	if err != nil {
		return nil, t.fail(op, err)
	}
	defer rows.Close()
	var out []store.Tag
	for rows.Next() {
		var tag store.Tag
		if err := rows.Scan(&tag.Key, &tag.Value); err != nil {
			return nil, t.fail(op, err)
		}
		out = append(out, tag)
	}
	if err := rows.Err(); err != nil {
		return nil, t.fail(op, err)
	}
	return out, nil
}

func (t *tx) PutTags(keyARN string, tags []store.Tag) error {
	const op = "put tags"
	if err := t.writable(op); err != nil {
		return err
	}
	// One statement per tag, in order, so that a repeated tag key ends with
	// its last value.
	for _, tag := range tags {
		_, err := t.exec(qPutTag,
			keyARN, tag.Key, tag.Value)
		if isForeignKey(err) {
			return fmt.Errorf("sqlite: %s: key %s: %w", op, keyARN, store.ErrNotFound)
		}
		if err != nil {
			return t.fail(op, err)
		}
	}
	return nil
}

func (t *tx) DeleteTags(keyARN string, keys []string) error {
	const op = "delete tags"
	if err := t.writable(op); err != nil {
		return err
	}
	for _, k := range keys {
		if _, err := t.exec(qDeleteTag, keyARN, k); err != nil {
			return t.fail(op, err)
		}
	}
	return nil
}
