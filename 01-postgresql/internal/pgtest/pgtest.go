// Package pgtest gives each test of the section a database of its own on the
// stack's PostgreSQL, created by the superuser and dropped at cleanup, so
// tests run in parallel and again without touching each other's tables.
//
// Only tests import it; examples connect with DATABASE_URL like any service.
package pgtest

import (
	"context"
	"fmt"
	"net/url"
	"testing"
	"time"

	"github.com/go-course/part4-infrastructure/testkit"
	"github.com/jackc/pgx/v5"
)

// DB is a fresh database owned by the app role.
type DB struct {
	Name string
	// URL is DATABASE_URL pointed at the new database (role app).
	URL string
	// AdminURL is DATABASE_ADMIN_URL pointed at the new database (superuser).
	AdminURL string
	// ReplicaURL is DATABASE_REPLICA_URL pointed at the new database; the
	// streaming replica receives CREATE DATABASE like any other change.
	ReplicaURL string
}

// setupTimeout bounds CREATE and DROP DATABASE: a stuck server fails the
// test instead of hanging it.
const setupTimeout = 30 * time.Second

// NewDatabase creates a database named testkit.Name(t), owned by the role of
// DATABASE_URL, and drops it (WITH FORCE) when the test ends.
func NewDatabase(t testing.TB) DB {
	t.Helper()
	appURL := testkit.Require(t, testkit.Postgres)
	adminURL := testkit.Require(t, testkit.PostgresAdmin)
	owner, err := url.Parse(appURL)
	if err != nil {
		t.Fatalf("parse DATABASE_URL: %v", err)
	}
	db := DB{Name: testkit.Name(t)}
	db.URL = WithDatabase(t, appURL, db.Name)
	db.AdminURL = WithDatabase(t, adminURL, db.Name)
	db.ReplicaURL = WithDatabase(t, testkit.Endpoint(testkit.Replica), db.Name)

	Exec(t, adminURL, fmt.Sprintf("CREATE DATABASE %s OWNER %s",
		pgx.Identifier{db.Name}.Sanitize(), pgx.Identifier{owner.User.Username()}.Sanitize()))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
		defer cancel()
		conn, err := pgx.Connect(ctx, adminURL)
		if err != nil {
			t.Errorf("drop database %s: %v", db.Name, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, fmt.Sprintf("DROP DATABASE IF EXISTS %s WITH (FORCE)",
			pgx.Identifier{db.Name}.Sanitize())); err != nil {
			t.Errorf("drop database %s: %v", db.Name, err)
		}
	})
	return db
}

// Exec runs statements on a new connection to dsn, each in its own
// implicit transaction, and fails the test on the first error. It works in
// t.Cleanup too, where t.Context() is already canceled.
func Exec(t testing.TB, dsn string, stmts ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer conn.Close(ctx)
	for _, s := range stmts {
		if _, err := conn.Exec(ctx, s); err != nil {
			t.Fatalf("exec %q: %v", s, err)
		}
	}
}

// WithDatabase returns dsn with its database (the URL path) replaced.
func WithDatabase(t testing.TB, dsn, name string) string {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatalf("parse %s: %v", testkit.Redact(dsn), err)
	}
	u.Path = "/" + name
	return u.String()
}

// WithParams returns dsn with query parameters set (sslmode, user, ...).
func WithParams(t testing.TB, dsn string, kv ...string) string {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatalf("parse %s: %v", testkit.Redact(dsn), err)
	}
	q := u.Query()
	for i := 0; i+1 < len(kv); i += 2 {
		q.Set(kv[i], kv[i+1])
	}
	u.RawQuery = q.Encode()
	return u.String()
}
