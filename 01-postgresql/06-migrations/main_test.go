package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"ariga.io/atlas/sql/migrate"
	"ariga.io/atlas/sql/schema"
	"github.com/go-course/part4-infrastructure/01-postgresql/internal/pgtest"
	"github.com/go-course/part4-infrastructure/testkit"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

func TestRun(t *testing.T) {
	t.Parallel()
	db := pgtest.NewDatabase(t)
	getenv := testkit.Getenv(t, map[string]string{"DATABASE_URL": db.URL})

	var out bytes.Buffer
	if err := run(t.Context(), nil, getenv, &out); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	want := `atlas.sum: 7 migrations match
migrate: 001_create_profiles.sql
seed: 1000 profiles written by the old version
migrate: 002_expand_display_name.sql
backfill: 1000 rows in 4 batches of 250
migrate: 003_display_name_check_not_valid.sql
migrate: 004_validate_check.sql
migrate: 005_set_not_null.sql
migrate: 006_index_concurrently.sql
atlas: 1 change(s) to reach schema.hcl
atlas:   ALTER TABLE "public"."profiles" DROP COLUMN "name"
lint: DS103 Dropping non-virtual column "name"
contract: refused (destructive); run with -contract once no deployed version reads "name"
`
	if out.String() != want {
		t.Errorf("output:\n%s\nwant:\n%s", out.String(), want)
	}
	testkit.CheckReadme(t, 0, out.String())
	if got := query(t, db.URL, `SELECT (SELECT version FROM profiles_schema_version) || ' ' ||
		count(*) || ' ' || count(*) FILTER (WHERE display_name = name) FROM profiles`); got != "6 1000 1000" {
		t.Errorf("version, rows, backfilled = %s, want 6 1000 1000", got)
	}
	if got := query(t, db.URL, `SELECT indisvalid::text FROM pg_index
		WHERE indexrelid = 'profiles_display_name_idx'::regclass`); got != "true" {
		t.Errorf("index valid = %s", got)
	}

	out.Reset()
	if err := run(t.Context(), []string{"-contract"}, getenv, &out); err != nil {
		t.Fatalf("run -contract: %v\n%s", err, out.String())
	}
	want = `atlas.sum: 7 migrations match
atlas: 1 change(s) to reach schema.hcl
atlas:   ALTER TABLE "public"."profiles" DROP COLUMN "name"
lint: DS103 Dropping non-virtual column "name"
migrate: 007_contract_drop_name.sql
atlas: 0 change(s) to reach schema.hcl
`
	if out.String() != want {
		t.Errorf("output:\n%s\nwant:\n%s", out.String(), want)
	}
	testkit.CheckReadme(t, 1, out.String())
	if got := query(t, db.URL, `SELECT string_agg(column_name, ',' ORDER BY ordinal_position)
		FROM information_schema.columns WHERE table_name = 'profiles'`); got != "id,display_name" {
		t.Errorf("columns = %s", got)
	}
	if got := query(t, db.URL, "SELECT count(*) FROM profiles WHERE display_name LIKE 'user %'"); got != "1000" {
		t.Errorf("rows kept = %s, want 1000", got)
	}
}

func TestRun_Help(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	if err := run(t.Context(), []string{"-help"}, testkit.Getenv(t, nil), &out); err != nil ||
		!strings.Contains(out.String(), "-contract") {
		t.Errorf("-help: err=%v output=%q", err, out.String())
	}
}

func TestRun_RejectsBadInput(t *testing.T) {
	t.Parallel()
	db := pgtest.NewDatabase(t)
	tests := []struct {
		name string
		args []string
		url  string
		want string
	}{
		{"zero_lock_timeout", []string{"-lock-timeout=0s"}, db.URL, "-lock-timeout must be positive, got 0s"},
		{"unparsable_lock_timeout", []string{"-lock-timeout=soon"}, db.URL, `invalid value "soon" for flag -lock-timeout`},
		{"unknown_flag", []string{"-nope"}, db.URL, "flag provided but not defined: -nope"},
		{"bad_database_url", nil, "postgres://%zz", "parse DATABASE_URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			err := run(t.Context(), tt.args, testkit.Getenv(t, map[string]string{"DATABASE_URL": tt.url}), &out)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("run %v: err = %v, want it to contain %q", tt.args, err, tt.want)
			}
		})
	}
	// Nothing was migrated by the rejected runs.
	if got := query(t, db.URL, "SELECT count(*)::text FROM pg_tables WHERE schemaname = 'public'"); got != "0" {
		t.Errorf("tables after rejected runs = %s, want 0", got)
	}
}

func query(t *testing.T, dsn, sql string) string {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(t.Context())
	var s string
	if err := conn.QueryRow(t.Context(), sql).Scan(&s); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return s
}

// app is one deployed version of the application, writing and reading
// profiles in a loop until stopped.
type app struct {
	ops, errs atomic.Int64
	mu        sync.Mutex
	firstErr  error
	stop      func()
}

func startApp(t *testing.T, dsn string, op func(ctx context.Context, pool *pgxpool.Pool, i int64) error) *app {
	t.Helper()
	pool, err := pgxpool.New(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	a := &app{}
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := int64(0); ctx.Err() == nil; i++ {
			err := op(ctx, pool, i)
			switch {
			case err == nil:
				a.ops.Add(1)
			case ctx.Err() == nil:
				a.errs.Add(1)
				a.mu.Lock()
				a.firstErr = cmpErr(a.firstErr, err)
				a.mu.Unlock()
			}
		}
	})
	var once sync.Once
	a.stop = func() { once.Do(func() { cancel(); wg.Wait(); pool.Close() }) }
	t.Cleanup(a.stop)
	return a
}

func cmpErr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// progress waits until every app has done n more operations.
func progress(t *testing.T, n int64, apps ...*app) {
	t.Helper()
	start := make([]int64, len(apps))
	for i, a := range apps {
		start[i] = a.ops.Load()
	}
	deadline := time.Now().Add(30 * time.Second)
	for i, a := range apps {
		for a.ops.Load() < start[i]+n {
			if time.Now().After(deadline) {
				t.Fatalf("app %d stalled at %d ops (errors %d)", i, a.ops.Load(), a.errs.Load())
			}
			select {
			case <-time.After(5 * time.Millisecond): // paces the polling only
			case <-t.Context().Done():
			}
		}
	}
}

// oldOp is the old version: it knows name only.
func oldOp(ctx context.Context, pool *pgxpool.Pool, i int64) error {
	want := fmt.Sprintf("old %d", i)
	var id int64
	if err := pool.QueryRow(ctx, "INSERT INTO profiles (name) VALUES ($1) RETURNING id", want).Scan(&id); err != nil {
		return fmt.Errorf("old insert: %w", err)
	}
	var got string
	if err := pool.QueryRow(ctx, "SELECT name FROM profiles WHERE id = $1", id).Scan(&got); err != nil {
		return fmt.Errorf("old read: %w", err)
	}
	if got != want {
		return fmt.Errorf("old read %q, want %q", got, want)
	}
	return nil
}

// newOp is the new version: it writes and reads display_name only; the
// trigger fills name for the old version until the contract step.
func newOp(ctx context.Context, pool *pgxpool.Pool, i int64) error {
	want := fmt.Sprintf("new %d", i)
	var id int64
	if err := pool.QueryRow(ctx, "INSERT INTO profiles (display_name) VALUES ($1) RETURNING id", want).Scan(&id); err != nil {
		return fmt.Errorf("new insert: %w", err)
	}
	var got string
	if err := pool.QueryRow(ctx, "SELECT display_name FROM profiles WHERE id = $1", id).Scan(&got); err != nil {
		return fmt.Errorf("new read: %w", err)
	}
	if got != want {
		return fmt.Errorf("new read %q, want %q", got, want)
	}
	return nil
}

// Both versions run through every step and see no error.
func TestExpandContractUnderTraffic(t *testing.T) {
	t.Parallel()
	db := pgtest.NewDatabase(t)
	ctx := t.Context()
	conn, err := connect(ctx, db.URL, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	m, err := newMigrator(ctx, conn, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	step := func(v int32) {
		t.Helper()
		if err := m.To(ctx, v); err != nil {
			t.Fatalf("migrate to %d: %v", v, err)
		}
	}

	step(1)
	if err := seed(ctx, conn, io.Discard); err != nil {
		t.Fatal(err)
	}
	old := startApp(t, db.URL, oldOp)
	progress(t, 20, old)
	step(2)
	progress(t, 20, old)
	if _, _, err := backfill(ctx, conn, 100, time.Millisecond); err != nil {
		t.Fatal(err)
	}
	cur := startApp(t, db.URL, newOp)
	progress(t, 20, old, cur)
	for _, v := range []int32{3, 4, 5, 6} {
		step(v)
		progress(t, 20, old, cur)
	}
	// Dual write: whichever version wrote a row, both columns agree, so
	// either version reads every row correctly.
	if got := query(t, db.URL, `SELECT (count(*) FILTER (WHERE name LIKE 'old %') > 0 AND
		count(*) FILTER (WHERE name LIKE 'new %') > 0 AND
		count(*) FILTER (WHERE display_name IS DISTINCT FROM name) = 0)::text FROM profiles`); got != "true" {
		t.Errorf("rows from both versions, all with display_name = name: %s", got)
	}
	old.stop() // the last instance of the old version is gone
	step(7)
	progress(t, 20, cur)
	cur.stop()

	for name, a := range map[string]*app{"old": old, "new": cur} {
		if a.errs.Load() != 0 {
			t.Errorf("%s version: %d errors, first: %v", name, a.errs.Load(), a.firstErr)
		}
	}
	if got := query(t, db.URL, "SELECT count(*) FILTER (WHERE display_name LIKE 'user %')::text FROM profiles"); got != "1000" {
		t.Errorf("seeded rows kept through the contract = %s, want 1000", got)
	}
}

// A migration queued behind a long transaction gives up at lock_timeout
// (after its retries) instead of blocking the table, and runs once the
// transaction ends.
func TestLockTimeoutFailsFast(t *testing.T) {
	t.Parallel()
	db := pgtest.NewDatabase(t)
	ctx := t.Context()
	conn, err := connect(ctx, db.URL, 100*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	m, err := newMigrator(ctx, conn, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	m.attempts, m.pause = 2, 10*time.Millisecond
	if err := m.To(ctx, 1); err != nil {
		t.Fatal(err)
	}

	// A long transaction: it read profiles, so it holds ACCESS SHARE until it ends.
	long, err := pgx.Connect(ctx, db.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer long.Close(context.WithoutCancel(ctx))
	tx, err := long.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, "SELECT count(*) FROM profiles"); err != nil {
		t.Fatal(err)
	}

	err = m.To(ctx, 2)
	if !errors.Is(err, errLockTimeout) || !strings.Contains(err.Error(), "after 2 attempts") ||
		!strings.Contains(err.Error(), "55P03") {
		t.Fatalf("migrate under a long transaction: %v, want lock_timeout (55P03) after 2 attempts", err)
	}
	if v, err := m.Version(ctx); err != nil || v != 1 {
		t.Errorf("version = %d (%v), want 1: the failed step rolled back", v, err)
	}
	if got := query(t, db.URL, `SELECT count(*)::text FROM information_schema.columns
		WHERE table_name = 'profiles' AND column_name = 'display_name'`); got != "0" {
		t.Errorf("display_name columns = %s, want 0: the failed step rolled back", got)
	}

	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if err := m.To(ctx, 2); err != nil {
		t.Fatalf("migrate after the transaction ended: %v", err)
	}
}

func TestLint(t *testing.T) {
	t.Parallel()
	users, audit := schema.NewTable("users"), schema.NewTable("audit")
	schema.New("public").AddTables(users, audit)
	col := func(name string, null bool) *schema.Column {
		return &schema.Column{Name: name, Type: &schema.ColumnType{Null: null}}
	}
	changes := []schema.Change{
		&schema.DropTable{T: audit},
		&schema.ModifyTable{T: users, Changes: []schema.Change{
			&schema.DropColumn{C: col("name", false)},
			&schema.RenameColumn{From: col("mail", true), To: col("email", true)},
			&schema.ModifyColumn{From: col("email", true), To: col("email", false), Change: schema.ChangeNull},
			&schema.AddIndex{I: &schema.Index{Name: "users_email_idx"}},
			&schema.AddColumn{C: col("bio", true)}, // safe: not flagged
		}},
	}
	var got []string
	findings, err := lint(t.Context(), nil, changes)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range findings {
		got = append(got, f.String())
	}
	// Atlas's analyzers, in their order: destructive, data-dependent,
	// constraint drop, backward-incompatible.
	want := []string{
		`DS102 Dropping table "audit"`,
		`DS103 Dropping non-virtual column "name"`,
		`MF104 Modifying nullable column "email" to non-nullable might fail in case it contains NULL values`,
		`BC102 Renaming column "mail" to "email"`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("lint:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// A migration edited after release, or one added without atlas migrate
// hash, is refused before anything runs.
func TestVerifySum(t *testing.T) {
	t.Parallel()
	mapFS := func() fstest.MapFS {
		m := fstest.MapFS{}
		names, err := fs.Glob(files, "*")
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range names {
			b, err := files.ReadFile(n)
			if err != nil {
				t.Fatal(err)
			}
			m[n] = &fstest.MapFile{Data: b}
		}
		return m
	}
	if n, err := verifySum(files); err != nil || n != 7 {
		t.Fatalf("committed files: n=%d err=%v, want 7 and no error", n, err)
	}
	edited := mapFS()
	edited["004_validate_check.sql"].Data = append(edited["004_validate_check.sql"].Data, "-- edited\n"...)
	added := mapFS()
	added["008_new.sql"] = &fstest.MapFile{Data: []byte("SELECT 1;\n")}
	for name, fsys := range map[string]fs.FS{"edited_migration": edited, "added_without_hash": added} {
		if _, err := verifySum(fsys); !errors.Is(err, migrate.ErrChecksumMismatch) {
			t.Errorf("%s: err = %v, want %v", name, err, migrate.ErrChecksumMismatch)
		}
	}
}

// Rows that a writer holds locked are skipped by SKIP LOCKED; the backfill
// waits for them instead of ending with NULLs left, which VALIDATE (004)
// would then refuse.
func TestBackfillWaitsForLockedRows(t *testing.T) {
	t.Parallel()
	db := pgtest.NewDatabase(t)
	ctx := t.Context()
	conn, err := connect(ctx, db.URL, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	m, err := newMigrator(ctx, conn, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.To(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if err := seed(ctx, conn, io.Discard); err != nil {
		t.Fatal(err)
	}
	if err := m.To(ctx, 2); err != nil {
		t.Fatal(err)
	}
	// A writer holds the last row.
	writer, err := pgx.Connect(ctx, db.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer writer.Close(context.WithoutCancel(ctx))
	tx, err := writer.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	if _, err := tx.Exec(ctx, "SELECT FROM profiles WHERE id = (SELECT max(id) FROM profiles) FOR UPDATE"); err != nil {
		t.Fatal(err)
	}

	type result struct {
		rows int64
		err  error
	}
	done := make(chan result, 1)
	go func() {
		rows, _, err := backfill(ctx, conn, 100, time.Millisecond)
		done <- result{rows, err}
	}()
	// Every row but the locked one is done; then the writer commits.
	testkit.Eventually(t, 30*time.Second, func() error {
		if got := query(t, db.URL, "SELECT count(*)::text FROM profiles WHERE display_name IS NULL"); got != "1" {
			return fmt.Errorf("%s rows left, want the locked one", got)
		}
		return nil
	})
	select {
	case r := <-done:
		t.Fatalf("backfill ended with a NULL row left: %d rows, %v", r.rows, r.err)
	default:
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	r := <-done
	if r.err != nil || r.rows != 1000 {
		t.Errorf("backfill: %d rows, %v; want 1000", r.rows, r.err)
	}
	if got := query(t, db.URL, "SELECT count(*)::text FROM profiles WHERE display_name IS NULL"); got != "0" {
		t.Errorf("%s NULL rows left", got)
	}
}
