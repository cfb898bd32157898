package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Secret is a string that prints, logs and marshals as [REDACTED]; only
// Reveal returns the value, at the one place that needs it.
type Secret string

const redacted = "[REDACTED]"

func (Secret) String() string               { return redacted }
func (Secret) GoString() string             { return redacted }
func (Secret) LogValue() slog.Value         { return slog.StringValue(redacted) }
func (Secret) MarshalText() ([]byte, error) { return []byte(redacted), nil }
func (s Secret) Reveal() string             { return string(s) }

// passwordFrom says where the password comes from: the file
// DATABASE_PASSWORD_FILE names (how Docker and Kubernetes mount secrets),
// DATABASE_PASSWORD, or the URL itself.
func passwordFrom(getenv func(string) string) (file, from string, err error) {
	file, env := getenv("DATABASE_PASSWORD_FILE"), getenv("DATABASE_PASSWORD")
	switch {
	case file != "" && env != "":
		return "", "", errors.New("set DATABASE_PASSWORD_FILE or DATABASE_PASSWORD, not both")
	case file != "":
		return file, "file", nil
	case env != "":
		return "", "env", nil
	}
	return "", "url", nil
}

// readSecretFile reads a password file. Editors and `echo` end a file with
// one newline: that one is not part of the secret. Any other line break (a
// second newline, a Windows \r) is refused rather than guessed at. Errors
// name the file, never the value.
func readSecretFile(file string) (Secret, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("read DATABASE_PASSWORD_FILE: %w", err)
	}
	p := strings.TrimSuffix(string(b), "\n")
	switch {
	case p == "":
		return "", fmt.Errorf("DATABASE_PASSWORD_FILE %s is empty", file)
	case strings.ContainsAny(p, "\r\n"):
		return "", fmt.Errorf("DATABASE_PASSWORD_FILE %s: a line break inside the password "+
			"(only one trailing newline is removed)", file)
	}
	return Secret(p), nil
}

// readOnConnect makes every new connection of the pool read the password
// file again: after a rotation (new password on the role, then in the
// file) new connections log in with the new one, and open connections
// keep working, with no restart.
func readOnConnect(cfg *pgxpool.Config, file string) {
	cfg.BeforeConnect = func(_ context.Context, cc *pgx.ConnConfig) error {
		p, err := readSecretFile(file)
		if err != nil {
			return err
		}
		cc.Password = p.Reveal()
		return nil
	}
}
