package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/tern/v2/migrate"
)

// Migrator applies the embedded migrations with tern, retrying a step that
// hit lock_timeout.
type Migrator struct {
	m        *migrate.Migrator
	attempts int           // per target version
	pause    time.Duration // before the first retry; doubles
}

func newMigrator(ctx context.Context, conn *pgx.Conn, stdout io.Writer) (*Migrator, error) {
	m, err := migrate.NewMigrator(ctx, conn, "public.profiles_schema_version")
	if err != nil {
		return nil, fmt.Errorf("migrator: %w", err)
	}
	if err := m.LoadMigrations(files); err != nil {
		return nil, fmt.Errorf("load migrations: %w", err)
	}
	m.OnStart = func(_ int32, name, _, _ string) { fmt.Fprintf(stdout, "migrate: %s\n", name) }
	return &Migrator{m: m, attempts: 5, pause: 500 * time.Millisecond}, nil
}

// To migrates up to version target; at or past it, it does nothing (it
// never migrates down). Each migration is its own transaction
// (except those marked disable-tx), so a step that times out on its lock is
// rolled back whole and can simply run again.
func (mg *Migrator) To(ctx context.Context, target int32) error {
	current, err := mg.Version(ctx)
	if err != nil || current >= target {
		return err
	}
	pause := mg.pause
	for attempt := 1; ; attempt++ {
		err := mg.m.MigrateTo(ctx, target)
		var pgErr *pgconn.PgError
		if err == nil {
			return nil
		}
		if !errors.As(err, &pgErr) || pgErr.Code != "55P03" { // lock_not_available
			return fmt.Errorf("migrate to %d: %w", target, err)
		}
		if attempt == mg.attempts {
			return fmt.Errorf("migrate to %d: %w after %d attempts: %w", target, errLockTimeout, attempt, err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("migrate to %d: %w", target, ctx.Err())
		case <-time.After(pause):
		}
		pause *= 2
	}
}

// Version is the version recorded in the database.
func (mg *Migrator) Version(ctx context.Context) (int32, error) {
	v, err := mg.m.GetCurrentVersion(ctx)
	if err != nil {
		return 0, fmt.Errorf("read schema version: %w", err)
	}
	return v, nil
}
