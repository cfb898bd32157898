package main

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-course/part4-infrastructure/01-postgresql/internal/pgtest"
	"github.com/go-course/part4-infrastructure/testkit"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// roleDB is a fresh database and a fresh login role with a random,
// secret-looking password, written to a file as a secret mount has it.
type roleDB struct {
	pgtest.DB
	role, password, file string
}

func newRoleDB(t *testing.T) roleDB {
	t.Helper()
	admin := testkit.Require(t, testkit.PostgresAdmin)
	role := testkit.Name(t)
	password := randomPassword(t)
	pgtest.Exec(t, admin, fmt.Sprintf("CREATE ROLE %s LOGIN PASSWORD '%s'",
		pgx.Identifier{role}.Sanitize(), password))
	t.Cleanup(func() {
		pgtest.Exec(t, admin, fmt.Sprintf("DROP ROLE IF EXISTS %s", pgx.Identifier{role}.Sanitize()))
	})
	db := pgtest.NewDatabase(t)
	pgtest.Exec(t, admin, fmt.Sprintf("GRANT CONNECT ON DATABASE %s TO %s",
		pgx.Identifier{db.Name}.Sanitize(), pgx.Identifier{role}.Sanitize()))
	file := filepath.Join(t.TempDir(), "db-password")
	writeFile(t, file, password+"\n")
	return roleDB{DB: db, role: role, password: password, file: file}
}

func randomPassword(t *testing.T) string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return "s3cret-" + hex.EncodeToString(b[:])
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// url is the database URL for the role, without a password in it.
func (d roleDB) url(t *testing.T) string {
	hp, err := testkit.HostPort(testkit.Postgres, testkit.Require(t, testkit.Postgres))
	if err != nil {
		t.Fatal(err)
	}
	return pgtest.WithDatabase(t, "postgres://"+d.role+"@"+hp+"/", d.Name)
}

func TestRun(t *testing.T) {
	t.Parallel()
	d := newRoleDB(t)
	for _, tt := range []struct{ name, url, file, from string }{
		{"password_in_url", strings.Replace(d.url(t), d.role+"@", d.role+":"+d.password+"@", 1), "", "url"},
		{"password_file", d.url(t), d.file, "file"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var out bytes.Buffer
			getenv := testkit.Getenv(t, map[string]string{
				"DATABASE_URL": tt.url, "DATABASE_PASSWORD_FILE": tt.file, "DATABASE_PASSWORD": ""})
			if err := run(t.Context(), getenv, &out); err != nil {
				t.Fatalf("run: %v\n%s", err, out.String())
			}
			want := fmt.Sprintf(`level=INFO msg=connecting user=%s database=%s password=[REDACTED] password_from=%s
connected as %s
connection 1, password file as mounted: ok
connection 2, file changed: refused (SQLSTATE 28P01)
connection 1, already open: still serves
connection 3, file changed back: ok
`, d.role, d.Name, tt.from, d.role)
			if out.String() != want {
				t.Errorf("output:\n%s\nwant:\n%s", out.String(), want)
			}
			if strings.Contains(out.String(), d.password) {
				t.Error("the password appears in the output")
			}
			if tt.from == "url" {
				// The README's run, with app/app for the test's role and database.
				testkit.CheckReadme(t, 0, strings.ReplaceAll(strings.Replace(out.String(),
					"user="+d.role+" database="+d.Name, "user=app database=app", 1), d.role, "app"))
			}
		})
	}
}

// A rotation: the password changes on the server, then in the file, while
// the pool runs. New connections log in with the new password, the open
// one keeps working, nothing restarts.
func TestRotationReachesNewConnections(t *testing.T) {
	t.Parallel()
	d := newRoleDB(t)
	cfg, from, err := newPoolConfig(testkit.Getenv(t, map[string]string{
		"DATABASE_URL": d.url(t), "DATABASE_PASSWORD_FILE": d.file, "DATABASE_PASSWORD": ""}))
	if err != nil || from != "file" {
		t.Fatalf("config: from=%s err=%v", from, err)
	}
	pool, err := pgxpool.NewWithConfig(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	open, err := pool.Acquire(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer open.Release()

	rotated := randomPassword(t)
	pgtest.Exec(t, testkit.Require(t, testkit.PostgresAdmin), fmt.Sprintf("ALTER ROLE %s PASSWORD '%s'",
		pgx.Identifier{d.role}.Sanitize(), rotated))
	writeFile(t, d.file, rotated+"\n")

	fresh, err := pool.Acquire(t.Context()) // the open one is busy: a new connection
	if err != nil {
		t.Fatalf("new connection after the rotation: %v", err)
	}
	defer fresh.Release()
	for name, c := range map[string]*pgxpool.Conn{"open": open, "new": fresh} {
		if _, err := c.Exec(t.Context(), "SELECT 1"); err != nil {
			t.Errorf("%s connection after the rotation: %v", name, err)
		}
	}
	if got := pool.Stat().TotalConns(); got != 2 {
		t.Errorf("pool has %d connections, want 2", got)
	}
}

func TestRun_Rejects(t *testing.T) {
	t.Parallel()
	d := newRoleDB(t)
	dir := t.TempDir()
	files := map[string]string{
		"empty": "\n", "crlf": d.password + "\r\n", "two-lines": d.password + "\n\n",
		"inner-line": d.password[:8] + "\n" + d.password[8:], "wrong": "not-" + d.password,
	}
	for name, content := range files {
		writeFile(t, filepath.Join(dir, name), content)
	}
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"both_password_sources", map[string]string{"DATABASE_PASSWORD_FILE": d.file, "DATABASE_PASSWORD": d.password},
			"set DATABASE_PASSWORD_FILE or DATABASE_PASSWORD, not both"},
		{"missing_password_file", map[string]string{"DATABASE_PASSWORD_FILE": filepath.Join(dir, "nope")},
			"read DATABASE_PASSWORD_FILE: open"},
		{"empty_password_file", map[string]string{"DATABASE_PASSWORD_FILE": filepath.Join(dir, "empty")}, "is empty"},
		{"windows_line_end", map[string]string{"DATABASE_PASSWORD_FILE": filepath.Join(dir, "crlf")},
			"a line break inside the password"},
		{"second_newline", map[string]string{"DATABASE_PASSWORD_FILE": filepath.Join(dir, "two-lines")},
			"a line break inside the password"},
		{"newline_inside", map[string]string{"DATABASE_PASSWORD_FILE": filepath.Join(dir, "inner-line")},
			"a line break inside the password"},
		{"wrong_password", map[string]string{"DATABASE_PASSWORD_FILE": filepath.Join(dir, "wrong")},
			"password authentication failed"},
		{"malformed_url", map[string]string{"DATABASE_URL": "postgres://" + d.role + ":" + d.password + "@localhost:54x2/app"},
			"parse DATABASE_URL: invalid port"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			env := map[string]string{"DATABASE_URL": d.url(t), "DATABASE_PASSWORD": "", "DATABASE_PASSWORD_FILE": ""}
			for k, v := range tt.env {
				env[k] = v
			}
			var out bytes.Buffer
			err := run(t.Context(), testkit.Getenv(t, env), &out)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("run: got %v, want an error containing %q", err, tt.want)
			}
			testkit.NoSecret(t, err, d.password, d.password[:8], d.password[8:])
			if strings.Contains(out.String(), d.password) {
				t.Errorf("the password leaks into the output:\n%s", out.String())
			}
		})
	}
}

func ExampleSecret() {
	s := Secret("hunter2")
	fmt.Println(s)
	fmt.Printf("%v %q %#v\n", s, s, s)
	slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	})).Info("login", "password", s)
	slog.New(slog.NewJSONHandler(os.Stdout, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	})).Info("login", "password", s)
	// Output:
	// [REDACTED]
	// [REDACTED] "[REDACTED]" [REDACTED]
	// level=INFO msg=login password=[REDACTED]
	// {"level":"INFO","msg":"login","password":"[REDACTED]"}
}
