package testkit

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
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

// hidden implements every interface a secret type needs; leaky forgets
// GoString, so %#v prints its content.
type hidden string

func (hidden) String() string                 { return Mask }
func (hidden) GoString() string               { return `"` + Mask + `"` }
func (hidden) LogValue() slog.Value           { return slog.StringValue(Mask) }
func (hidden) MarshalText() ([]byte, error)   { return []byte(Mask), nil }
func (h hidden) MarshalJSON() ([]byte, error) { return json.Marshal(h.String()) }

type leaky string

func (leaky) String() string               { return Mask }
func (leaky) LogValue() slog.Value         { return slog.StringValue(Mask) }
func (leaky) MarshalText() ([]byte, error) { return []byte(Mask), nil }

type config struct{ Password hidden }

func TestRedacted(t *testing.T) {
	const pw = "s3cret-Pa55"
	r := &leakRecorder{TB: t}
	Redacted(r, pw, config{Password: hidden(pw)}, hidden(pw))
	if r.failed {
		t.Error("Redacted reported a leak for a type that hides it everywhere")
	}
	r = &leakRecorder{TB: t}
	Redacted(r, pw, leaky(pw))
	if !r.failed {
		t.Error("Redacted missed the GoString leak of a type without GoString")
	}
	r = &leakRecorder{TB: t}
	Redacted(r, pw, "no secret, no mask")
	if !r.failed {
		t.Error("Redacted passed a value that shows no mask")
	}
}

func TestSecretFilePolicy(t *testing.T) {
	// The rule itself, as a reader of secret files should implement it.
	read := func(_ *testing.T, path string) (string, error) {
		b, err := os.ReadFile(path)
		if err != nil {
			return "", err
		}
		s := strings.TrimSuffix(string(b), "\n")
		switch {
		case s == "":
			return "", fmt.Errorf("secret file %s is empty", path)
		case strings.ContainsAny(s, "\r\n"):
			return "", fmt.Errorf("secret file %s has a line break inside", path)
		}
		return s, nil
	}
	SecretFilePolicy(t, read, func(path string) string { return "secret file " + path + " " })
}
