package pgtest

import (
	"errors"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/go-course/part4-infrastructure/testkit"
)

type recorder struct {
	testing.TB
	failed bool
}

func (r *recorder) Helper()               { r.TB.Helper() }
func (r *recorder) Errorf(string, ...any) { r.failed = true }
func (r *recorder) Error(...any)          { r.failed = true }

// testkit.NoSecret finds a password that only the raw ConnString of a wrapped
// ParseConfigError holds, behind errors.Join and %w.
func TestNoSecret(t *testing.T) {
	_, parseErr := pgconn.ParseConfig("postgres://app:s3cret-pw@localhost:54x2/app")
	if parseErr == nil {
		t.Fatal("no parse error")
	}
	tests := []struct {
		name  string
		err   error
		leaks bool
	}{
		{"message_only", errors.New("parse DATABASE_URL: invalid port"), false},
		{"wrapped_parse_error", fmt.Errorf("parse DATABASE_URL: %w", parseErr), true},
		{"joined", errors.Join(errors.New("a"), fmt.Errorf("b: %w", parseErr)), true},
		{"message_of_parse_error", errors.New(parseErr.Error()), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &recorder{TB: t}
			testkit.NoSecret(r, tt.err, "s3cret-pw")
			if r.failed != tt.leaks {
				t.Errorf("NoSecret reported a leak: %t, want %t", r.failed, tt.leaks)
			}
		})
	}
}
