// Command 06-migrations renames a column without downtime, Expand/Contract
// style: versioned tern migrations (nullable column + dual-write trigger,
// batched backfill, NOT NULL via CHECK NOT VALID + VALIDATE, CREATE INDEX
// CONCURRENTLY), every DDL under lock_timeout with retry, and an Atlas plan
// of the remaining change that refuses destructive steps.
package main

import (
	"cmp"
	"context"
	"embed"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// Migrations and the desired schema travel inside the binary.
//
//go:embed *.sql schema.hcl
var files embed.FS

func main() {
	if err := run(context.Background(), os.Args[1:], os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fs := flag.NewFlagSet("06-migrations", flag.ContinueOnError)
	fs.SetOutput(stdout)
	contract := fs.Bool("contract", false, "apply the destructive contract step (no deployed version reads name)")
	lockTimeout := fs.Duration("lock-timeout", 2*time.Second, "lock_timeout of every migration statement")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *lockTimeout <= 0 {
		return fmt.Errorf("-lock-timeout must be positive, got %v", *lockTimeout)
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()

	conn, err := connect(ctx, cmp.Or(getenv("DATABASE_URL"), "postgres://app:app@localhost:5432/app"), *lockTimeout)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	m, err := newMigrator(ctx, conn, stdout)
	if err != nil {
		return err
	}

	version, err := m.Version(ctx)
	if err != nil {
		return err
	}
	if version < 1 {
		if err := m.To(ctx, 1); err != nil {
			return err
		}
		if err := seed(ctx, conn, stdout); err != nil {
			return err
		}
	}
	// Expand, then backfill; the new version of the application can be
	// deployed once the expand step is in.
	if version < 5 {
		if err := m.To(ctx, 2); err != nil {
			return err
		}
		rows, batches, err := backfill(ctx, conn, 250)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "backfill: %d rows in %d batches of 250\n", rows, batches)
	}
	if err := m.To(ctx, 5); err != nil {
		return err
	}
	if version == 6 {
		fmt.Fprintln(stdout, "contract: already applied, schema at version 6")
		return nil
	}

	// What is left to reach schema.hcl, planned by Atlas and linted.
	hcl, err := files.ReadFile("schema.hcl")
	if err != nil {
		return fmt.Errorf("read schema.hcl: %w", err)
	}
	db := stdlib.OpenDB(*conn.Config())
	defer db.Close()
	stmts, findings, err := plan(ctx, db, hcl, "profiles")
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "atlas: %d change(s) to reach schema.hcl\n", len(stmts))
	for _, s := range stmts {
		fmt.Fprintf(stdout, "atlas:   %s\n", s)
	}
	for _, f := range findings {
		fmt.Fprintf(stdout, "lint: %s\n", f)
	}
	if len(findings) > 0 && !*contract {
		fmt.Fprintln(stdout, `contract: refused (destructive); run with -contract once no deployed version reads "name"`)
		return nil
	}
	if err := m.To(ctx, 6); err != nil {
		return err
	}
	// The contract was the last difference: the live schema is schema.hcl.
	if stmts, _, err = plan(ctx, db, hcl, "profiles"); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "atlas: %d change(s) to reach schema.hcl\n", len(stmts))
	return nil
}

// connect opens the migration connection. lock_timeout as a startup
// parameter survives tern's RESET ALL between migrations: a DDL that would
// queue behind a long transaction — and block every query queued behind it
// — gives up instead.
func connect(ctx context.Context, dsn string, lockTimeout time.Duration) (*pgx.Conn, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("parse DATABASE_URL: %w", err)
	}
	cfg.RuntimeParams["lock_timeout"] = fmt.Sprint(lockTimeout.Milliseconds())
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	return conn, nil
}

// seed stands for the rows the old application wrote before the change.
func seed(ctx context.Context, conn *pgx.Conn, stdout io.Writer) error {
	tag, err := conn.Exec(ctx, `INSERT INTO profiles (name)
		SELECT 'user ' || i FROM generate_series(1, 1000) AS i
		WHERE NOT EXISTS (SELECT FROM profiles)`)
	if err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	fmt.Fprintf(stdout, "seed: %d profiles written by the old version\n", tag.RowsAffected())
	return nil
}

// backfill copies name into display_name in small batches, each its own
// short transaction: row locks are held for one batch only, and SKIP LOCKED
// steps around rows the application is writing right now.
func backfill(ctx context.Context, conn *pgx.Conn, batch int) (rows int64, batches int, err error) {
	for {
		tag, err := conn.Exec(ctx, `WITH b AS (
				SELECT id FROM profiles WHERE display_name IS NULL
				ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED)
			UPDATE profiles p SET display_name = p.name FROM b WHERE p.id = b.id`, batch)
		if err != nil {
			return rows, batches, fmt.Errorf("backfill: %w", err)
		}
		if tag.RowsAffected() == 0 {
			return rows, batches, nil
		}
		rows += tag.RowsAffected()
		batches++
	}
}

// errLockTimeout is how a migration reports giving up on its lock.
var errLockTimeout = errors.New("lock_timeout")
