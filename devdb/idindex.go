package main

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	_ "modernc.org/sqlite" // the same SQLite driver FerretDB uses
)

// FerretDB v1's SQLite backend looks documents up by _id (finds, updates, deletes) with
// WHERE _ferretdb_sjson->'$._id' = ? (and, patched, IN (...)), but the unique index it creates
// for _id is on a differently written expression, _ferretdb_sjson->"_id", so SQLite cannot use
// it: every lookup and every update scanned the whole table. keepIDIndexes adds an index on
// exactly the expressions FerretDB queries with, to every collection table, as collections
// appear: the _id's JSON text for equalities, and its SQL text for string ranges (our patch
// 0002; the JSON text orders differently, e.g. "a\"b" escaped).
func keepIDIndexes(ctx context.Context, dir string) {
	dbs := map[string]*sql.DB{}
	defer func() {
		for _, db := range dbs {
			db.Close()
		}
	}()
	ticker := time.NewTicker(500 * time.Millisecond)
	defer ticker.Stop()
	for {
		files, _ := filepath.Glob(filepath.Join(dir, "*.sqlite"))
		for _, file := range files {
			db, ok := dbs[file]
			if !ok {
				var err error
				db, err = sql.Open("sqlite", "file:"+file+"?_pragma=busy_timeout(10000)")
				if err != nil {
					continue
				}
				db.SetMaxOpenConns(1)
				dbs[file] = db
			}
			ensureIDIndexes(ctx, db)
		}
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}

// idIndexExpressions are written exactly as FerretDB's queries write them (metadata.IDColumn,
// and idTextColumn in patches/0002), or SQLite would not use them. The key names the index.
var idIndexExpressions = map[string]string{
	"lookup": `_ferretdb_sjson->'$._id'`,
	"text":   `_ferretdb_sjson->>'$._id'`,
}

func ensureIDIndexes(ctx context.Context, db *sql.DB) {
	rows, err := db.QueryContext(ctx, `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\_ferretdb\_%' ESCAPE '\'`)
	if err != nil {
		return
	}
	var tables []string
	for rows.Next() {
		var name string
		if rows.Scan(&name) == nil {
			tables = append(tables, name)
		}
	}
	rows.Close()
	for _, table := range tables {
		quoted := strings.ReplaceAll(table, `"`, `""`)
		for suffix, expression := range idIndexExpressions {
			q := fmt.Sprintf(`CREATE INDEX IF NOT EXISTS "%s__id_%s" ON "%s" (%s)`, quoted, suffix, quoted, expression)
			_, _ = db.ExecContext(ctx, q)
		}
	}
}
