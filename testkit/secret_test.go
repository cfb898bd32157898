package testkit

import (
	"errors"
	"fmt"
	"testing"
)

// configError is shaped like pgconn.ParseConfigError: its message is
// clean, an exported field holds the raw connection string.
type configError struct {
	ConnString string
	msg        string
}

func (e *configError) Error() string { return e.msg }

type leakRecorder struct {
	testing.TB
	failed bool
}

func (r *leakRecorder) Helper()               { r.TB.Helper() }
func (r *leakRecorder) Errorf(string, ...any) { r.failed = true }
func (r *leakRecorder) Error(...any)          { r.failed = true }

// NoSecret finds a password that only an exported field of a wrapped error
// holds, behind errors.Join and %w, and passes clean messages.
func TestNoSecret(t *testing.T) {
	parseErr := &configError{ConnString: "postgres://app:s3cret-pw@localhost:54x2/app", msg: "cannot parse: invalid port"}
	tests := []struct {
		name  string
		err   error
		leaks bool
	}{
		{"message_only", errors.New("parse DATABASE_URL: invalid port"), false},
		{"wrapped_config_error", fmt.Errorf("parse DATABASE_URL: %w", parseErr), true},
		{"joined", errors.Join(errors.New("a"), fmt.Errorf("b: %w", parseErr)), true},
		{"message_of_config_error", errors.New(parseErr.Error()), false},
		{"in_the_message", fmt.Errorf("dial postgres://app:s3cret-pw@db: refused"), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &leakRecorder{TB: t}
			NoSecret(r, tt.err, "s3cret-pw")
			if r.failed != tt.leaks {
				t.Errorf("NoSecret reported a leak: %t, want %t", r.failed, tt.leaks)
			}
		})
	}
}
