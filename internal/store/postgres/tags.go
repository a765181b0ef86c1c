package postgres

import (
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/custoskms/custos/internal/store"
)

const (
	qTags = `SELECT key, value FROM tags WHERE key_arn = $1 ORDER BY key`
	// qPutTags upserts every tag in one statement, and nothing when the
	// key is missing (instead of failing on the foreign key, which would
	// abort the transaction).
	qPutTags = `INSERT INTO tags (key_arn, key, value)
	SELECT $1::text, k, v FROM unnest($2::text[], $3::text[]) AS u (k, v)
	WHERE EXISTS (SELECT 1 FROM keys WHERE arn = $1::text)
	ON CONFLICT (key_arn, key) DO UPDATE SET value = excluded.value`
	qDeleteTags = `DELETE FROM tags WHERE key_arn = $1 AND key = ANY ($2::text[])`
)

func scanTag(row pgx.Row) (store.Tag, error) {
	var tag store.Tag
	err := row.Scan(&tag.Key, &tag.Value)
	return tag, err
}

func (t *tx) Tags(keyARN string) ([]store.Tag, error) {
	rows, err := t.query(qTags, keyARN)
	out, err := collect(rows, err, scanTag)
	if err != nil {
		return nil, t.fail("tags", err)
	}
	return out, nil
}

func (t *tx) PutTags(keyARN string, tags []store.Tag) error {
	const op = "put tags"
	if err := t.writable(op); err != nil {
		return err
	}
	if len(tags) == 0 {
		return nil
	}
	// One statement may not upsert a row twice: keep the last value of a
	// repeated tag key, in the order of first appearance.
	index := make(map[string]int, len(tags))
	var keys, values []string
	for _, tag := range tags {
		if i, ok := index[tag.Key]; ok {
			values[i] = tag.Value
			continue
		}
		index[tag.Key] = len(keys)
		keys = append(keys, tag.Key)
		values = append(values, tag.Value)
	}
	ok, err := affected(t.exec(qPutTags, keyARN, keys, values))
	if err != nil {
		return t.fail(op, err)
	}
	if !ok {
		// At least one tag, and none inserted or updated: no such key.
		return fmt.Errorf("postgres: %s: key %s: %w", op, keyARN, store.ErrNotFound)
	}
	return nil
}

func (t *tx) DeleteTags(keyARN string, keys []string) error {
	const op = "delete tags"
	if err := t.writable(op); err != nil {
		return err
	}
	if len(keys) == 0 {
		return nil
	}
	if _, err := t.exec(qDeleteTags, keyARN, keys); err != nil {
		return t.fail(op, err)
	}
	return nil
}
