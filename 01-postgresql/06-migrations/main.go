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

	"github.com/jackc/pgx/v5/stdlib"
)

// The versions the program stops at: expand (nullable column, dual-write
// trigger), everything short of the contract, and the contract.
const (
	versionExpand   = 2
	versionIndexed  = 6
	versionContract = 7
)

// Migrations and the desired schema travel inside the binary.
//
//go:embed *.sql schema.hcl atlas.sum
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
		if errors.Is(err, flag.ErrHelp) {
			return nil // -help printed the usage
		}
		return err
	}
	if *lockTimeout <= 0 {
		return fmt.Errorf("-lock-timeout must be positive, got %v", *lockTimeout)
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	n, err := verifySum(files)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "atlas.sum: %d migrations match\n", n)

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
	if version < versionIndexed {
		if err := m.To(ctx, versionExpand); err != nil {
			return err
		}
		rows, batches, err := backfill(ctx, conn, 250, 10*time.Millisecond)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "backfill: %d rows in %d batches of 250\n", rows, batches)
	}
	if err := m.To(ctx, versionIndexed); err != nil {
		return err
	}
	if version == versionContract {
		fmt.Fprintf(stdout, "contract: already applied, schema at version %d\n", version)
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
	if err := m.To(ctx, versionContract); err != nil {
		return err
	}
	// The contract was the last difference: the live schema is schema.hcl.
	if stmts, _, err = plan(ctx, db, hcl, "profiles"); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "atlas: %d change(s) to reach schema.hcl\n", len(stmts))
	return nil
}

// errLockTimeout is how a migration reports giving up on its lock.
var errLockTimeout = errors.New("lock_timeout")
