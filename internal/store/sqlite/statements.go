package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// statements lists every statement a tx runs. Open prepares each on both
// connection pools; database/sql then prepares it once per connection and
// reuses it, which saves SQLite's parse and plan on every call (about half
// the cost of a small read).
//
// Statements are prepared eagerly because preparing on a pool needs a free
// connection, which a running transaction on the single writer connection
// would never get.
var statements = []string{
	qGetKey, qInsertKey, qUpdateKey, qKeyVersion, qDeleteKey, qDeleteKeyAliases, qListKeys, qKeysPendingDeletion, qKeysDueForRotation,
	qInsertMaterial, qUpdateMaterial, qMaterials,
	qGetAlias, qInsertAlias, qUpdateAlias, qDeleteAlias, qListAliases, qListAliasesByTarget, qCountAliases,
	qTags, qPutTag, qDeleteTag,
	qGetAccount, qInsertAccount,
	qGetDocument, qInsertDocument, qUpdateDocument, qDeleteDocument, qListDocuments, qListAllDocuments,
	qGetCredential, qInsertCredential, qUpdateCredential, qDeleteCredential, qListCredentials,
}

// prepared maps each of statements to its prepared form on one pool. It is
// not modified after prepare returns.
type prepared map[string]*sql.Stmt

func prepare(ctx context.Context, db *sql.DB) (prepared, error) {
	p := make(prepared, len(statements))
	for _, q := range statements {
		st, err := db.PrepareContext(ctx, q)
		if err != nil {
			p.close()
			return nil, fmt.Errorf("prepare %q: %w", q, err)
		}
		p[q] = st
	}
	return p, nil
}

func (p prepared) close() error {
	var errs []error
	for _, st := range p {
		errs = append(errs, st.Close())
	}
	return errors.Join(errs...)
}
