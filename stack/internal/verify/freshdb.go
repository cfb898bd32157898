package verify

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// FreshDatabase gives one README its own new PostgreSQL database, so that
// its runs print what a reader's first run prints whatever earlier runs
// left in the stack's `app` database (a migration demo already applied,
// say). It creates the database as the admin (DATABASE_ADMIN_URL), owned
// by the role of DATABASE_URL and prepared like `app` in
// stack/postgres/init.sql, and returns the environment overrides that point
// DATABASE_URL and DATABASE_REPLICA_URL at it, and a drop function. With
// either variable unset it returns no overrides.
func FreshDatabase(ctx context.Context, env []string) (overrides []string, drop func(), err error) {
	get := func(k string) string {
		for _, kv := range env {
			if key, v, ok := strings.Cut(kv, "="); ok && key == k {
				return v
			}
		}
		return ""
	}
	appURL, adminURL := get("DATABASE_URL"), get("DATABASE_ADMIN_URL")
	if appURL == "" || adminURL == "" {
		return nil, func() {}, nil
	}
	app, err := url.Parse(appURL)
	if err != nil {
		return nil, nil, fmt.Errorf("DATABASE_URL is not a URL") // the parse error quotes the password
	}
	var suffix [4]byte
	if _, err := rand.Read(suffix[:]); err != nil {
		return nil, nil, fmt.Errorf("fresh database name: %w", err)
	}
	name := "readme_" + hex.EncodeToString(suffix[:])

	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := adminExec(ctx, adminURL, "", fmt.Sprintf("CREATE DATABASE %s OWNER %s",
		pgx.Identifier{name}.Sanitize(), pgx.Identifier{app.User.Username()}.Sanitize())); err != nil {
		return nil, nil, err
	}
	drop = func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = adminExec(ctx, adminURL, "", fmt.Sprintf("DROP DATABASE IF EXISTS %s WITH (FORCE)", pgx.Identifier{name}.Sanitize()))
	}
	// As init.sql prepares `app`: pg_stat_statements, and its reset granted
	// to the app role under whichever signature this server has.
	if err := adminExec(ctx, adminURL, name,
		"CREATE EXTENSION IF NOT EXISTS pg_stat_statements",
		fmt.Sprintf(`DO $$
DECLARE f regprocedure;
BEGIN
  FOR f IN SELECT oid::regprocedure FROM pg_proc WHERE proname = 'pg_stat_statements_reset' LOOP
    EXECUTE format('GRANT EXECUTE ON FUNCTION %%s TO %s', f);
  END LOOP;
END $$`, pgx.Identifier{app.User.Username()}.Sanitize())); err != nil {
		drop()
		return nil, nil, err
	}
	overrides = []string{"DATABASE_URL=" + withDatabase(app, name)}
	if r := get("DATABASE_REPLICA_URL"); r != "" {
		if ru, err := url.Parse(r); err == nil {
			overrides = append(overrides, "DATABASE_REPLICA_URL="+withDatabase(ru, name))
			// The replica replays CREATE DATABASE within milliseconds; wait
			// for it, so a run that reads the replica at once finds it.
			waitConnect(ctx, withDatabase(ru, name))
		}
	}
	return overrides, drop, nil
}

func withDatabase(u *url.URL, name string) string {
	c := *u
	c.Path = "/" + name
	return c.String()
}

// adminExec runs statements on a new connection to the admin URL, on
// database db when db is not empty.
func adminExec(ctx context.Context, adminURL, db string, stmts ...string) error {
	cfg, err := pgx.ParseConfig(adminURL)
	if err != nil {
		return fmt.Errorf("DATABASE_ADMIN_URL does not parse")
	}
	if db != "" {
		cfg.Database = db
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return fmt.Errorf("connect as admin: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	for _, s := range stmts {
		if _, err := conn.Exec(ctx, s); err != nil {
			first, _, _ := strings.Cut(s, "\n")
			return fmt.Errorf("admin %q: %w", first, err)
		}
	}
	return nil
}

func waitConnect(ctx context.Context, dsn string) {
	for ctx.Err() == nil {
		conn, err := pgx.Connect(ctx, dsn)
		if err == nil {
			_ = conn.Close(ctx)
			return
		}
		select {
		case <-ctx.Done():
		case <-time.After(50 * time.Millisecond):
		}
	}
}
